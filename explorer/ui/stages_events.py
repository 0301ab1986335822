"""The Stages tab's page events, by name: each handler takes its inputs as one dict keyed by the tab's
component names (explorer.ui.stages_tab.StagesTab.components) and returns a dict of the components
it changes; explorer.ui.by_name wires them. A new picture, stepping through the stages (typed, jumped
to, played), a channel typed, a unit clicked."""
import gradio as gr

from explorer.core.bridge import arrival_words
from explorer.core.models import get_model
from explorer.core.words import say
from explorer.drawing import feature_maps as fm
from explorer.ui.predictions import as_label
from explorer.ui.stages_inspections import (
    cached_inspection,
    cannot_use,
    hint,
    inspection_for,
    is_sketch,
    stage_index,
    user_error,
)
from explorer.ui.stages_views import channel_text, explain_shown_unit, headings, label_title, stage_views, unit_views

# The player's button, (English, Chinese). U+23F8 (the pause sign) is in no font a Debian Chromium has.
PLAY, PAUSE = ("▶ Play", "▶ 播放"), ("❚❚ Pause", "❚❚ 暂停")

# --- a new picture or model -----------------------------------------------------------------------

def _empty(message: str) -> dict:
    """No picture: no predictions, no stage slider (there are no stages yet), the hint."""
    return dict(note=gr.Markdown(visible=False), label=None, stage=gr.Slider(value=1), stage_md=f"### {message}",
                grid=None, strip=None, channel=None, large=None, overlay=None, channel_md="", shown_channel=None,
                shown_stage=None, stage_row=gr.Row(visible=False), label_title=label_title())


def on_new_picture(v: dict) -> dict:
    """A new picture or model: one forward pass, then everything for stage 1."""
    picture, model_name = v["picture"], v["model"]
    if picture is None:
        return _empty(hint())
    try:
        inspection = inspection_for(model_name, picture)
    except ValueError as error:
        if is_sketch(picture):  # an emptied canvas is a state, not a mistake
            return _empty(say("{error}. {hint}", "{error}。{hint}", error=error, hint=hint()))
        raise user_error(error)
    model, note = get_model(model_name)
    return dict(note=gr.Markdown(note, visible=bool(note)), label=as_label(inspection.predictions),
                stage=gr.Slider(value=1, minimum=1, maximum=len(inspection.stages), step=1),
                **stage_views(inspection, 1, v["count"], v["scale"]), stage_row=gr.Row(visible=True),
                label_title=label_title(model.display_name))


# --- stepping through the stages ------------------------------------------------------------------

def on_stage(v: dict) -> dict:
    """Another count of channels or colour scale: the stage shown, again, keeping the channel shown."""
    return stage_views(cached_inspection(v["picture"], v["model"]), v["stage"], v["count"], v["scale"],
                       v.get("channel")) | headings(chosen=False)


def on_stage_typed(v: dict) -> dict:
    """The slider moved, or a number typed in its box. It arrives unchecked (preprocess=False): a stage
    that does not exist gets one warning and the box goes back to the stage shown, where Gradio's own
    range check would leave the bad number in the box."""
    inspection = cached_inspection(v["picture"], v["model"])
    typed, shown_stage, last = v["stage"], v.get("shown_stage"), len(inspection.stages)
    whole = isinstance(typed, (int, float)) and not isinstance(typed, bool) and float(typed).is_integer()
    if not whole or not 1 <= typed <= last:
        n = dict(typed=repr(typed), last=last, shown=shown_stage)
        text = (say("stage: no number was given; this model has stages 1 to {last}.",
                    "stage：没有填数字；这个模型的阶段是 1 到 {last}。", **n) if typed is None else
                say("stage: {typed} does not exist; this model has stages 1 to {last}.",
                    "stage：阶段 {typed} 不存在；这个模型的阶段是 1 到 {last}。", **n))
        still = say(" Still showing stage {shown}.", "仍显示阶段 {shown}。", **n) if shown_stage else ""
        gr.Warning(text + still, title=cannot_use())
        return {"stage": shown_stage} if shown_stage else {}
    return stage_views(inspection, int(typed), v["count"], v["scale"])


def on_overview_click(v: dict, evt: gr.SelectData) -> dict:
    """A stage clicked in the strip of all stages: that stage."""
    inspection = cached_inspection(v["picture"], v["model"])
    k = fm.overview_layout(len(inspection.stages)).cell_at(*evt.index)
    if k is None:
        return {}
    return dict(stage=k + 1, **stage_views(inspection, k + 1, v["count"], v["scale"]))


def on_play(v: dict) -> dict:
    """Play from the current stage (from the first when at the end), or pause."""
    if v["playing"]:
        return dict(playing=False, timer=gr.Timer(active=False), play=gr.Button(value=say(*PLAY)))
    if v["picture"] is None:
        raise gr.Error(hint().replace("**", ""), title=say("No picture yet", "还没有图片"))
    last = len(cached_inspection(v["picture"], v["model"]).stages)
    start = {"stage": 1} if int(v["stage"] or 1) >= last else {}
    return dict(playing=True, timer=gr.Timer(active=True), play=gr.Button(value=say(*PAUSE)), **start)


def on_tick(v: dict) -> dict:
    """The player's next stage; it stops after the last."""
    inspection = cached_inspection(v["picture"], v["model"])
    following = int(v["stage"] or 1) + 1
    if following > len(inspection.stages):
        return dict(playing=False, timer=gr.Timer(active=False), play=gr.Button(value=say(*PLAY)))
    return dict(stage=following, **stage_views(inspection, following, v["count"], v["scale"]))


# --- one channel, one unit ------------------------------------------------------------------------

def on_channel(v: dict) -> dict:
    """The channel typed in the box; one that does not exist gets a warning, and the box goes back to the
    channel still shown (`shown_channel`)."""
    inspection = cached_inspection(v["picture"], v["model"])
    index = stage_index(inspection, v["stage"])
    shown = v.get("shown_channel")
    channel = int(v["channel"] or 0)
    try:
        view = fm.render_channel(inspection.stages[index], channel, inspection.seen)
    except ValueError as error:
        gr.Warning(say("{error}. Still showing channel {shown}.", "{error}。仍显示通道 {shown}。", error=error,
                       shown=shown) if shown is not None else str(error), title=cannot_use())
        return {"channel": shown}
    return dict(large=view.large, overlay=view.overlay, channel_md=channel_text(inspection, index, channel, view),
                shown_channel=channel)


def on_large_click(v: dict, evt: gr.SelectData) -> dict:
    """A unit clicked in the enlarged channel: how its number was made."""
    inspection = cached_inspection(v["picture"], v["model"])
    stage = inspection.stages[stage_index(inspection, v["stage"])]
    found = fm.unit_in_large(stage.output_shape, *evt.index)
    if found is None:
        return {}
    return unit_views(inspection, v["stage"], int(v["channel"] or 0), *found)


def on_grid_click(v: dict, evt: gr.SelectData) -> dict:
    """A unit clicked in a cell of the grid: its channel opened, and how the unit's number was made."""
    inspection = cached_inspection(v["picture"], v["model"])
    x, y = evt.index
    found = fm.unit_at(inspection.stages[stage_index(inspection, v["stage"])].activation, v["count"], x, y)
    if found is None:
        return {}
    return dict(channel=found[0], shown_channel=found[0], **unit_views(inspection, v["stage"], *found))


def on_hide_unit(v: dict) -> dict:
    """Another picture, stage or channel: the unit explained is no longer on screen, and the headings
    speak of the strongest unit again."""
    return dict(unit_panel=gr.Column(visible=False), unit=None, **headings(chosen=False))


def unit_for_kernel_tab(picture, model_name, unit) -> tuple[dict, str]:
    """The Kernel tab's numbers for the unit explained (`unit`: [stage (1-based), channel, row, col]), as
    explorer.core.bridge.Unit.kernel_tab gives them, and the words saying where they came from;
    gr.Error when no unit is chosen or it cannot be replayed there."""
    if not unit:
        raise gr.Error(say("unit: none is chosen; click a unit of the enlarged channel first",
                           "unit：还没有选中单元；请先点击放大通道里的一个单元"), title=say("No unit chosen", "没有选中单元"))
    u = explain_shown_unit(cached_inspection(picture, model_name), *unit)
    model, _ = get_model(model_name)
    try:
        return u.kernel_tab(), arrival_words(u, model.display_name)
    except ValueError as error:
        raise user_error(error)
