"""A view (explorer.ui.view_link.View: a link's, or a lesson page's Try it) put on screen: each tab's
part is computed by the same handlers its own events call, and returned by the tab's component names
with the tab's prefix ("kernel.matrix", "stages.grid", ...; explorer.ui.app builds that mapping).

`READS` names what each part needs from the page (the counts and colour scales the visitor chose, the
Saliency tab's settings); `WRITES` everything a view may change."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import gradio as gr

from explorer.core.recent import Recent, picture_key
from explorer.core.state import STORES
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.ui import architecture_tab, saliency_tab
from explorer.ui import stages_events as stages_on
from explorer.ui.kernel_settings import SETTING_NAMES, compute, slide_settings
from explorer.ui.kernel_view import CONTROL_FIELDS, filled_controls, fresh_view
from explorer.ui.stages_inspections import cached_inspection
from explorer.ui.stages_views import STAGE_VIEWS, UNIT_VIEWS, stage_views, unit_views
from explorer.ui.view_link import View, picture_value

# A view whose picture the picture input is still computing, per visitor (the visitor's session).
PENDING = STORES.register("ui.pending_views", Recent(max_entries=256),
                          "views waiting for their picture to be computed, per session")
PENDING_SECONDS = 60
TAB_IDS = {"kernel": "kernel_tab", "stages": "stages_tab", "saliency": "saliency_tab",
           "architecture": "architecture_tab"}
# what a new picture, a stage, a channel and a unit change in the Stages tab
STAGES_SHOWN = tuple(dict.fromkeys(("note", "label", "stage", "stage_row", "label_title") + STAGE_VIEWS
                                   + UNIT_VIEWS))
READS = {"stages": ("picture", "model", "count", "scale"),
         "saliency": saliency_tab.REQUEST,
         "architecture": ("shown",)}
WRITES = {"kernel": CONTROL_FIELDS,
          "stages": ("photo", "sketch", "sources", "picture", "model") + STAGES_SHOWN,
          "saliency": ("photo", "sketch", "sources", "picture", "model") + saliency_tab.EXPLAINED,
          "architecture": ("model", "height", "width", "parts", "picked") + architecture_tab.IN_PAGE}


def _prefixed(tab: str, values: dict) -> dict:
    return {f"{tab}.{name}": value for name, value in values.items()}


def kernel_part(view: View) -> dict:
    """The Kernel tab at the view's preset (the chapter's first when none), with its op, stride and
    padding, the animation at its step."""
    if not view.kernel_set():
        return {}
    name = view.preset or PRESET_NAMES[0]
    p = preset(name) | {"preset": name}
    given = {"matrix": view.matrix, "kernel": view.kernel, "op": view.op, "kernel_size": view.pool,
             "stride": view.stride, "padding": view.padding, "dilation": view.dilation}
    p.update({k: ([list(row) for row in v] if k in ("matrix", "kernel") else v)
              for k, v in given.items() if v is not None})
    filled = filled_controls(p)
    if view.step:
        r = compute(slide_settings(**{n: p[n] for n in SETTING_NAMES}))
        filled.update(fresh_view(r, min(view.step, len(r))))
    return _prefixed("kernel", filled)


def content(picture) -> str | None:
    """What a picture is, whatever file holds it: a photo's bytes, a drawing's pixels."""
    if picture is None:
        return None
    if isinstance(picture, str):
        try:
            return hashlib.sha1(Path(picture).read_bytes()).hexdigest()
        except OSError:
            return None
    return picture_key(picture)


def _stage_number(inspection, stage) -> int:
    """The slider's number (1-based) of a stage given by number or by name (1 for a name not there)."""
    if isinstance(stage, str):
        names = [s.name for s in inspection.stages]
        return names.index(stage) + 1 if stage in names else 1
    return stage or 1


def _stage_views(view: View, values: dict) -> dict:
    """The Stages tab at the view's stage, channel and unit, for the picture and model in `values`."""
    inspection = cached_inspection(values["picture"], values["model"])
    last = len(inspection.stages)
    stage = min(_stage_number(inspection, view.stage), last)
    out = stage_views(inspection, stage, values["count"], values["scale"], view.channel)
    out |= {"stage": gr.Slider(value=stage, minimum=1, maximum=last, step=1), "shown_stage": stage}
    if view.channel is not None:
        out |= stages_on.on_channel(values | {"stage": stage, "channel": view.channel, "shown_channel": None})
    if view.unit is not None:
        out |= unit_views(inspection, stage, view.channel or 0, *view.unit)
    return out


def stages_part(view: View, v: dict, session: str | None) -> dict:
    """The Stages tab on the view's picture and model, at its stage, channel and unit. A new picture is
    put in the picture input, whose own events compute it (at stage 1) and then call `pending_stage`,
    which moves to the view's stage; the same picture is computed here at once."""
    if not any(getattr(view, k) is not None for k in ("model", "picture", "stage", "channel", "unit")):
        return {}
    picture, shown = picture_value(view.picture) if view.picture else (v["picture"], {})
    model = view.model or v["model"]
    out = {"model": model}
    if picture is None:
        return _prefixed("stages", out)
    if view.picture and content(picture) != content(v["picture"]):
        PENDING.put(session, (time.monotonic(), content(picture), model, view))
        return _prefixed("stages", out | shown)
    values = {"picture": picture, "model": model, "count": v["count"], "scale": v["scale"]}
    out |= stages_on.on_new_picture(values) | _stage_views(view, values)
    return _prefixed("stages", out)


def pending_stage(v: dict, session: str | None) -> dict:
    """After the picture input computed a new picture (at stage 1): the stage, channel and unit of a view
    that put this picture there in the last PENDING_SECONDS (the picture input may compute it more than
    once); nothing otherwise."""
    waiting = PENDING.get(session)
    if waiting is None or time.monotonic() - waiting[0] > PENDING_SECONDS:
        return {}
    if (waiting[1], waiting[2]) != (content(v["picture"]), v["model"]):
        return {}
    return _stage_views(waiting[3], v)


def saliency_part(view: View, v: dict, request: gr.Request | None = None) -> dict:
    """The Saliency tab on the view's picture and model, with its method ticked, explained: by the
    picture input's own events for a new picture, here for the same one."""
    if not any(getattr(view, k) is not None for k in ("model", "picture", "method")) or view.tab != "saliency":
        return {}
    picture, shown = picture_value(view.picture) if view.picture else (v["picture"], {})
    values = dict(v, model=view.model or v["model"], picture=picture)
    if view.method:
        values["methods"] = [view.method]
    out = {"model": values["model"], "methods": values["methods"]}
    if view.picture and content(picture) != content(v["picture"]):
        return _prefixed("saliency", out | shown)
    if picture is not None:
        out |= saliency_tab.explain(saliency_tab.ExplainRequest.from_values(values), reset=True, request=request)
    return _prefixed("saliency", out)


def architecture_part(view: View, v: dict) -> dict:
    """The Architecture tab at the view's part, showing its model (and block), with its models compared."""
    if view.tab != "architecture" or all(getattr(view, k) is None for k in ("model", "view", "block", "compare")):
        return {}
    out = {"parts": gr.Tabs(selected=view.view)} if view.view else {}
    if view.compare:
        out["picked"] = list(view.compare)
    if view.model:
        out |= {"model": view.model} | architecture_tab.pick_model({"model": view.model, "shown": v["shown"]})
        choices = getattr(out.get("block"), "choices", None) or []
        if view.block and view.block in [c[1] if isinstance(c, (tuple, list)) else c for c in choices]:
            out |= architecture_tab.block_in_page({"block": view.block, "shown": out["shown"]})
            out["block"] = gr.Dropdown(choices=choices, value=view.block, interactive=True)
    return _prefixed("architecture", out)


def restored(view: View, values: dict, request: gr.Request | None = None) -> dict:
    """Every tab's part of `view` (values: READS by prefixed name) and the tab to show."""
    def of(tab):
        return {name: values[f"{tab}.{name}"] for name in READS[tab]}

    session = getattr(request, "session_hash", None)
    out = kernel_part(view) | stages_part(view, of("stages"), session) | saliency_part(view, of("saliency"), request)
    out |= architecture_part(view, of("architecture"))
    if view.tab:
        out["tabs"] = gr.Tabs(selected=TAB_IDS[view.tab])
    return out
