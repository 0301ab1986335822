"""The Saliency tab: which pixels decided the model's answer (explorer.core.attribution, through Captum), and
beside each map a check of how far to trust it (explorer.core.trust).

Every event is wired by name (explorer.ui.by_name.event): its handler gets the values it reads as one
dict {name: value} (the names of SaliencyTab.components()), and returns {name: value} for the components
that change (the others stay as they are). An Explain's values become one ExplainRequest; each event's
names are listed once below (REQUEST, EXPLAINED, ...) for both its wiring and its checks.

Top to bottom: what one Explain asks for, the steps behind the events, the handlers the events call,
then the wiring; the page's components are placed by explorer.ui.saliency_page and /attribute
is explorer.ui.saliency_api. `build()` places, then wires."""
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image

from explorer.core import attribution as at
from explorer.core import trust
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.words import pick, say
from explorer.drawing.saliency import (
    MapLook,
    curve_figure,
    download_name,
    draw_sheet,
    gallery_items,
    trust_table,
    wipe_choices,
    wipe_label,
    wipe_pair,
)
from explorer.ui import saliency_api
from explorer.ui.by_name import event
from explorer.ui.cancel import Stop, stopping_progress
from explorer.ui.predictions import as_label, top_five
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.saliency_page import (
    DEFAULT_METHODS,
    SaliencyTab,
    hint_words,
    layout,
    method_choices,
    methods_info,
)
from explorer.ui.saliency_runs import cancel_flag, explained, image_of, is_running, running, trust_rows
from explorer.ui.words import t

TITLE = t("Saliency", "显著图")
SIGN_WORDS = {"absolute": {"en": "how strongly (either way)", "zh": "影响有多强（不论方向）"},
              "positive": {"en": "for the class", "zh": "支持这个类别"},
              "negative": {"en": "against the class", "zh": "反对这个类别"}}


# --- what one Explain asks for ------------------------------------------------------------------------

@dataclass(frozen=True)
class MethodSettings:
    """The "Method options" controls (0 or empty = the method's default), by their names on the page."""
    layer: str | None
    ig_steps: int
    sg_samples: int
    sg_noise: float
    occ_window: int | None
    occ_stride: int | None

    def options_for(self, method: str) -> dict:
        """The settings as the options `method` takes (the others are left out)."""
        given = {"layer": self.layer or None, "n_steps": self.ig_steps, "nt_samples": self.sg_samples,
                 "stdevs": self.sg_noise, "window": self.occ_window or None, "stride": self.occ_stride or None}
        spec = at.METHODS[method]
        allowed = set(spec.options) | ({"layer"} if spec.uses_layer else set())
        return {k: v for k, v in given.items() if k in allowed and v is not None}


@dataclass(frozen=True)
class ExplainRequest:
    """One Explain: the picture (a Gradio upload path or a sketch dict; None before any), the model, the
    class (a name or an index; empty = the top-1), the methods ticked, their settings and how the maps
    are painted."""
    picture: object
    model_name: str
    target: str | None
    methods: tuple[str, ...]
    settings: MethodSettings
    look: MapLook

    @classmethod
    def from_values(cls, values: dict) -> "ExplainRequest":
        """The request from the controls' values by name (REQUEST's names: SaliencyTab.components()')."""
        settings = MethodSettings(**{f.name: values[f.name] for f in fields(MethodSettings)})
        look = MapLook(values["sign"], values["opacity"], values["cmap"])
        return cls(values["picture"], values["model"], values["target"], tuple(values["methods"] or ()), settings, look)


def methods_update(model_name: str, ticked) -> gr.CheckboxGroup:
    choices = method_choices(model_name, in_update=True)
    valid = [name for _, name in choices]
    return gr.CheckboxGroup(choices=choices, value=[m for m in (ticked or []) if m in valid] or DEFAULT_METHODS,
                            info=methods_info(model_name))


def _decided(wanted: ExplainRequest, model, reset: bool) -> tuple[ExplainRequest, int | None]:
    """The request as it runs, and its class index (None: the top-1). A new picture or model (reset) starts
    from its top-1 class and the last conv layer with the methods ticked that it can compute; otherwise
    the class and the methods are checked (ValueError naming what is refused)."""
    valid = at.methods_of(model.name)
    if reset:
        methods = tuple(m for m in (wanted.methods or DEFAULT_METHODS) if m in valid) or tuple(DEFAULT_METHODS)
        settings = replace(wanted.settings, layer=at.conv_layers(model)[-1])
        return replace(wanted, methods=methods, settings=settings), None
    target_index = at.resolve_target(model, wanted.target)
    if not wanted.methods:
        raise ValueError(say("methods: tick at least one method", "methods：请至少勾选一种方法"))
    unknown = [m for m in wanted.methods if m not in valid]
    if unknown:
        raise ValueError(say("methods: {names} cannot be computed correctly on {model}: {why}",
                             "methods：{names} 在 {model} 上算不对：{why}",
                             names=say(", ", "、").join(at.method_title(m) for m in unknown),
                             model=model.display_name, why=at.guided_backprop_check(model)[1]))
    return wanted, target_index


# What each event reads and changes, by name (SaliencyTab.components()): its wiring takes them from here, and its
# handler returns some of its outputs (tests/ui/test_saliency_tab.py checks no other).
REQUEST = ("picture", "model", "target", "methods", "sign", "opacity", "cmap") + tuple(f.name for f in fields(MethodSettings))
EXPLAINED = ("header", "note", "label", "target", "layer", "methods", "gallery", "maps", "trust", "plot", "download")
LOOK = ("picture", "maps", "sign", "opacity", "cmap")
PAINTED = ("gallery", "download")
TRUST_OF = ("picture", "maps", "sign")
CHECKED = ("trust", "plot", "ranking", "wipe_step", "wipe", "checks")
WIPE_OF = ("wipe_step", "checks", "maps", "cmap")


# --- the sheet and the words around the maps ---------------------------------------------------------

def sheet_file(items: list, name: str) -> str:
    """All maps side by side, captioned, as one PNG file named `name`, in a folder of its own (visitors'
    files never collide) in Gradio's cache: the download button serves it from there and delete_cache
    removes it with the rest."""
    folder = Path(get_upload_folder()) / "saliency-sheets"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=folder)) / name
    draw_sheet(items).save(path, format="PNG")
    return str(path)


def empty_maps_note(results) -> str:
    """A sentence for each map that is zero (or constant) everywhere, whatever the sign shown."""
    notes = [trust.blank_map(r.method, r.input_map, "absolute", r.layer) for r in results]
    return "".join(say("\n\n**Empty map.** {note}: it cannot show which pixels decided the answer.",
                       "\n\n**空图。** {note}：它没法显示是哪些像素决定了答案。", note=note)
                   for note in notes if note)


def _probability(predictions, label) -> str:
    for name, p in predictions:
        if name == label:
            return f"{p:.1%}"
    return say("below the top 5", "不在前 5 名")


def _header(model, predictions, wanted: ExplainRequest, results) -> str:
    return (say("**{model}** explains class **“{label}”** (probability {p}). Colour = {colour}.",
                "**{model}** 解释类别 **“{label}”**（概率 {p}）。颜色 = {colour}。", model=model.display_name,
                label=results[0].label, p=_probability(predictions, results[0].label),
                colour=pick(SIGN_WORDS[wanted.look.sign]))
            + "".join(say(" {method} looks at layer `{layer}`.", "{method} 看的是 `{layer}` 层。",
                          method=at.method_title(r.method), layer=r.layer) for r in results if r.layer)
            + empty_maps_note(results))


# --- the steps behind the events: values by name in, changes by name out ---------------------------

def _maps(model_name: str, wanted: ExplainRequest, image: Image.Image, target_index, flag, progress) -> list:
    """Each method's map, answered from the store of recent maps when it was computed before."""
    results = []
    for i, method in enumerate(wanted.methods):
        label = say("{method} ({i} of {n})", "{method}（第 {i} 种，共 {n} 种）", method=at.method_title(method), i=i + 1,
                    n=len(wanted.methods))
        results.append(explained(model_name, wanted.picture, image, method, target_index,
                                 wanted.settings.options_for(method), stopping_progress(progress, flag, label)))
    return results


def explain(wanted: ExplainRequest, *, reset: bool, request: gr.Request | None = None, progress=None) -> dict:
    """The maps and what surrounds them, by name (some of EXPLAINED); the trust check follows as its own
    queued step (trust_checked), so that other visitors' requests wait behind one shorter job, not one
    long one. reset: a new picture or model (its top-1 class, the last conv layer)."""
    flag = cancel_flag(request)
    flag.clear()
    progress = progress or (lambda *a, **k: None)
    if wanted.picture is None:     # a model chosen before any picture: its own methods, decided now
        return {"header": "### " + hint_words(), "methods": methods_update(wanted.model_name, list(wanted.methods)),
                "gallery": [], "maps": None, "trust": "", "plot": curve_figure([])}
    try:
        with running("maps", request):
            model, note = get_model(wanted.model_name or DEFAULT_MODEL)
            image = image_of(wanted.picture)
            predictions = top_five(model.name, image)
            wanted, target_index = _decided(wanted, model, reset)
            results = _maps(model.name, wanted, image, target_index, flag, progress)
            items = gallery_items(model, image, results, wanted.look)
    except Stop:
        return stopped()
    except ValueError as error:
        return kept_maps(str(error))
    layers = at.conv_layers(model)
    return {"header": _header(model, predictions, wanted, results),
            "note": gr.Markdown(note, visible=bool(note)), "label": as_label(predictions),
            "target": gr.Dropdown(choices=model.labels, value=results[0].label),
            "layer": gr.Dropdown(choices=layers, value=wanted.settings.layer or layers[-1]),
            "methods": methods_update(model.name, list(wanted.methods)),
            "gallery": items, "maps": {"model": model.name, "results": results},
            "trust": say("*Checking how far to trust the maps…*", "*正在检验这些图有多可信……*"), "plot": curve_figure([]),
            "download": gr.DownloadButton(value=sheet_file(items, download_name(model.name, results)))}


def kept_maps(message: str) -> dict:
    """A setting refused: one message where the maps' header stands, saying what is wrong, and the last
    maps, classes and trust check left on screen as they were (no toast, no error badge over them)."""
    return {"header": say("⚠️ **Not updated: {message}.** The maps below are still the last ones computed; change the "
                          "setting named and explain again.", "⚠️ **没有更新：{message}。** 下面仍是上次算出的图；请修改"
                          "提到的设置，再点“解释”。", message=message)}


def trust_stopped() -> str:
    return say("*Trust check stopped: press **Explain** to check the maps again.*",
               "*可信度检验已停止：点 **解释** 重新检验这些图。*")


def stopped() -> dict:
    """Cancel pressed while the maps were being computed: said where the maps' header stands (no toast, no
    error), the last maps left as they were."""
    return {"header": say("**Stopped.** The maps below are still the last ones computed; press **Explain** to "
                          "compute the new ones.", "**已停止。** 下面仍是上次算出的图；点 **解释** 重新计算。")}


def repainted(shown: dict) -> dict:
    """Opacity, colour map or sign changed (LOOK's values): the stored maps repainted (PAINTED), no model run."""
    maps, picture = shown["maps"], shown["picture"]
    if not maps or picture is None:
        return {}
    look = MapLook(shown["sign"], shown["opacity"], shown["cmap"])
    try:
        items = gallery_items(get_model(maps["model"])[0], image_of(picture), maps["results"], look)
    except ValueError as error:
        raise gr.Error(str(error), title=say("Cannot use this", "无法使用"))
    return {"gallery": items, "download": gr.DownloadButton(value=sheet_file(items, download_name(maps["model"],
                                                                                                   maps["results"])))}


def trust_checked(shown: dict, request: gr.Request | None = None, progress=None) -> dict:
    """The trust check (CHECKED) of the maps shown (TRUST_OF's values), after the maps or when the sign changes."""
    maps, picture = shown["maps"], shown["picture"]
    flag = cancel_flag(request)
    if not maps or picture is None or flag.is_set():     # Cancel pressed before it began: what is shown stays
        return {}
    try:
        with running("trust", request):
            rows = trust_rows(maps["model"], picture, image_of(picture), maps, shown["sign"], progress, flag)
    except Stop:
        return {"trust": trust_stopped(), "plot": curve_figure([])}
    except ValueError as error:
        raise gr.Error(str(error), title=say("Cannot use this", "无法使用"))
    choices = wipe_choices(rows)
    first = next((value for _, value in reversed(choices) if value.startswith("0:")), None)
    checks = {"rows": rows, "sign": shown["sign"]}
    return {"trust": trust_table(rows), "plot": curve_figure(rows),
            "ranking": trust.ranking_words([(r["title"], r["check"]) for r in rows]),
            "wipe_step": gr.Dropdown(choices=choices, value=first), "checks": checks,
            "wipe": wiped({"wipe_step": first, "checks": checks, "maps": maps, "cmap": "inferno"}).get("wipe")}


def wiped(shown: dict) -> dict:
    """The wipe (WIPE_OF's values): the real map against the chosen step of its randomisation cascade."""
    checks, step, maps = shown.get("checks"), shown.get("wipe_step"), shown.get("maps")
    if not checks or not step or not maps:
        return {"wipe": None}
    row, k = (int(n) for n in str(step).split(":"))
    check, result = checks["rows"][row]["check"], maps["results"][row]
    if k >= len(check.randomisation.steps):
        return {"wipe": None}
    cascade = check.randomisation.steps[k]
    pair = wipe_pair(check, result, k, checks["sign"], shown.get("cmap") or "inferno")
    return {"wipe": gr.update(value=pair, label=wipe_label(checks["rows"][row]["title"], len(cascade.layers),
                                                           cascade.correlation))}


# --- the handlers the events call: values by name in, changes by name out ---------------------------

def on_new_picture(values: dict, request: gr.Request, progress=gr.Progress()) -> dict:
    """A new picture or model: explained from its top-1 class and the last conv layer."""
    return explain(ExplainRequest.from_values(values), reset=True, request=request, progress=progress)


def on_explain(values: dict, request: gr.Request, progress=gr.Progress()) -> dict:
    return explain(ExplainRequest.from_values(values), reset=False, request=request, progress=progress)


def on_look(values: dict, request: gr.Request = None) -> dict:
    cancel_flag(request).clear()          # a new look starts afresh: the trust check that follows runs
    return repainted(values)


def on_trust(values: dict, request: gr.Request = None, progress=gr.Progress()) -> dict:
    return trust_checked(values, request, progress)


def on_cancel(_values: dict, request: gr.Request = None) -> dict:
    """Stops the maps or the trust check running (between two passes), and says so where they stand."""
    cancel_flag(request).set()
    said = stopped() if is_running("maps", request) else {}
    return said | ({"trust": trust_stopped()} if is_running("trust", request) else {})


def on_pick_class(_values: dict, evt: gr.SelectData) -> dict:
    return {"target": evt.value}


# --- the page: wiring ----------------------------------------------------------------------------------

QUIET = dict(api_visibility="private")


def _then_trust(tab: SaliencyTab, drawn_event, name: str):
    """The trust check of the maps an event drew, as its own queued step."""
    return drawn_event.success(**event(tab.components(), on_trust, TRUST_OF, CHECKED), api_name=f"{name}_trust",
                               **QUIET, **MODEL_QUEUE)


def _wire_explain(tab: SaliencyTab) -> list:
    """Every event that draws the maps, each followed by its trust check: the events, for Cancel."""
    c = tab.components()
    drawn = []
    for name, shown in tab.picture.on_new_input(**event(c, on_new_picture, REQUEST, EXPLAINED),
                                                show_progress="minimal", **MODEL_QUEUE).items():
        drawn += [shown, _then_trust(tab, shown, name)]
    for trigger, name, mode in [(tab.run.click, "saliency_explain", "once"),
                                (tab.target.input, "saliency_target", "always_last")]:
        explained_event = trigger(**event(c, on_explain, REQUEST, EXPLAINED), api_name=name, trigger_mode=mode,
                                  **QUIET, **MODEL_QUEUE)
        drawn += [explained_event, _then_trust(tab, explained_event, name)]
    picked = tab.label.select(**event(c, on_pick_class, (), ("target",)), api_name="saliency_pick_class", **QUIET)
    explained_event = picked.then(**event(c, on_explain, REQUEST, EXPLAINED), api_name="saliency_explain_picked",
                                  **QUIET, **MODEL_QUEUE)
    return drawn + [explained_event, _then_trust(tab, explained_event, "saliency_explain_picked")]


def _wire_look(tab: SaliencyTab) -> list:
    """A new sign repaints the maps and checks the part now shown; opacity and colour map only repaint.
    The events that run a trust check, for Cancel."""
    look = event(tab.components(), on_look, LOOK, PAINTED)      # one handler: one queue
    repainted_event = tab.sign.input(**look, api_name="saliency_sign", **QUIET)
    checked_again = _then_trust(tab, repainted_event, "saliency_sign")
    for control, name in ((tab.opacity, "saliency_opacity"), (tab.cmap, "saliency_colormap")):
        control.input(**look, api_name=name, trigger_mode="always_last", show_progress="hidden", **QUIET)
    return [checked_again]


def wire(tab: SaliencyTab) -> None:
    """Connects the tab's events (and the /attribute endpoint) to its components."""
    drawing = _wire_explain(tab) + _wire_look(tab)
    tab.cancel.click(**event(tab.components(), on_cancel, (), ("header", "trust")), cancels=drawing,
                     api_name="saliency_cancel", **QUIET)
    tab.wipe_step.input(**event(tab.components(), wiped, inputs=WIPE_OF, outputs=("wipe",)), api_name="saliency_wipe",
                        show_progress="hidden", **QUIET)
    saliency_api.wire(tab.api)


def build() -> SaliencyTab:
    tab = layout()
    wire(tab)
    return tab
