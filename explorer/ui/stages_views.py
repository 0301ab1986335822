"""What the Stages tab shows of a stage, a channel and a unit, from an inspection's cached activations
(no forward pass): the words, and the views as dicts keyed by the tab's component names
(explorer.ui.stages_tab.StagesTab), which its events return."""
import weakref

import gradio as gr
import numpy as np
from PIL import Image

from explorer.core.bridge import Unit, describe_unit, explain_unit
from explorer.core.models import Inspection
from explorer.core.recent import Recent
from explorer.core.state import STORES
from explorer.drawing import feature_maps as fm
from explorer.drawing.unit_drawing import render_unit
from explorer.ui.stages_inspections import stage_index, user_error

UNIT_HINT = "Click any unit of the enlarged channel (or of a grid cell) to see how its number was made."


# --- words --------------------------------------------------------------------------------------

def _shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def stage_text(inspection: Inspection, index: int, grid: fm.FeatureGrid) -> str:
    stage = inspection.stages[index]
    width, height = inspection.seen.size
    rf_h, rf_w = stage.receptive_field
    jump_h, jump_w = stage.jump
    rf = f"{rf_h}×{rf_w}" if rf_h != rf_w else f"{rf_h}×{rf_h}"
    jump = _num(jump_h) if jump_h == jump_w else f"{_num(jump_h)} down, {_num(jump_w)} across"
    wider = (" — wider than the picture itself: border units also see padding"
             if rf_h > height or rf_w > width else "")
    return (
        f"### Stage {index + 1} of {len(inspection.stages)}: `{stage.name}` ({stage.kind})\n"
        f"**Layer:** `{stage.layer}`  \n"
        f"**Shape (channels × height × width):** {_shape(stage.input_shape)} → {_shape(stage.output_shape)}  \n"
        f"**Receptive field:** each unit of this stage sees {rf} pixels of the {width}×{height} input{wider}; "
        f"neighbouring units are {jump} input pixels apart (the jump, the product of the strides so far).  \n"
        f"**Feature maps below:** {grid.legend}."
        + ("  \nA conv stage is its output before the activation that follows it (ReLU and the like are not "
           "stages), so it can be negative; a pooling stage after a ReLU only sees values of 0 or more." if stage.kind == "conv" else "")
    )


def channel_text(inspection: Inspection, index: int, channel: int, view: fm.ChannelView,
                 chosen: bool = False) -> str:
    stage = inspection.stages[index]
    ranks = fm.rank_channels(stage.activation)
    rank = int(np.flatnonzero(ranks == channel)[0]) + 1
    mean = float(fm.channel_means(stage.activation)[channel])
    width, height = inspection.seen.size
    left, top, right, bottom = view.box
    outside = left < 0 or top < 0 or right > width or bottom > height
    return (
        f"**Channel {channel}** of `{stage.name}`: rank {rank} of {len(ranks)} by mean activation "
        f"(mean {mean:.3g}; values {view.value_range[0]:.3g} to {view.value_range[1]:.3g}).  \n"
        f"**{'Chosen' if chosen else 'Strongest'} unit:** row {view.unit[0]}, column {view.unit[1]}, value "
        f"{view.value:.3g}. The yellow box is what it sees: input pixels x {_num(left)} to {_num(right)}, "
        f"y {_num(top)} to {_num(bottom)} ({stage.receptive_field[1]}×{stage.receptive_field[0]})"
        + (", partly beyond the picture's edge (padding)." if outside else ".") + f"  \n{UNIT_HINT}"
    )


def stages_summary(inspection: Inspection) -> list[dict]:
    return [{"stage": k + 1, "name": s.name, "kind": s.kind, "layer": s.layer,
             "input_shape": list(s.input_shape), "output_shape": list(s.output_shape),
             "receptive_field": list(s.receptive_field), "jump": list(s.jump)}
            for k, s in enumerate(inspection.stages)]


def label_title(model_title: str | None = None) -> str:
    return f"**Top-5 predictions of {model_title}**" if model_title else "**Top-5 predictions**"


# --- the overview strip ---------------------------------------------------------------------------

# The overview strip of each recent inspection, drawn once; each stage change only frames its cell.
_STRIPS = STORES.register("stages.strips", Recent(max_entries=8), "drawn feature-map strips of cached inspections")


def overview_strip(inspection: Inspection, stage_no) -> Image.Image:
    found = _STRIPS.get(id(inspection))
    if found is None or found[0]() is not inspection:      # an id can be reused once an inspection is gone
        found = (weakref.ref(inspection), *fm.overview_indices(inspection.stages))
        _STRIPS.put(id(inspection), found)
    _, indices, layout = found
    return fm.to_image(fm.mark_cell(indices, layout, stage_index(inspection, stage_no)))


# --- the views, by component name -----------------------------------------------------------------

# what stage_views fills: the stage's words, its grid, the strip, the channel box and the channel's views
STAGE_VIEWS = ("stage_md", "grid", "strip", "channel", "large", "overlay", "channel_md", "shown_channel",
               "shown_stage")
# what unit_views fills: the channel with the unit framed, the unit, and the panel "How this number was made"
UNIT_VIEWS = ("large", "overlay", "channel_md", "unit", "unit_panel", "unit_words", "unit_picture", "animate")


def stage_views(inspection: Inspection, stage_no, count, scale, channel=None) -> dict:
    """Stage `stage_no` (1-based, kept within the stages): its words, grid and strip cell, and the
    channel `channel` (the strongest when None or out of range) enlarged and over the picture."""
    index = stage_index(inspection, stage_no)
    stage = inspection.stages[index]
    grid = fm.render_grid(stage.activation, count, scale)
    if channel is None or not 0 <= int(channel) < stage.output_shape[0]:
        channel = grid.channels[0]
    channel = int(channel)
    view = fm.render_channel(stage, channel, inspection.seen)
    return dict(stage_md=stage_text(inspection, index, grid), grid=grid.image,
                strip=overview_strip(inspection, stage_no), channel=channel, large=view.large,
                overlay=view.overlay, channel_md=channel_text(inspection, index, channel, view),
                shown_channel=channel, shown_stage=index + 1)


def explain_shown_unit(inspection: Inspection, stage_no, channel, row, col) -> Unit:
    """The unit's explanation from the cached inspection (no forward pass); gr.Error on bad input."""
    try:
        return explain_unit(None, inspection, stage_index(inspection, stage_no), channel, row, col)
    except ValueError as error:
        raise user_error(error)


def unit_views(inspection: Inspection, stage_no, channel, row, col) -> dict:
    """The channel with unit (row, col) framed and its box drawn, and the panel "How this number was
    made" (stage_no 1-based; channel, row, col 0-based); gr.Error on a unit that does not exist."""
    index = stage_index(inspection, stage_no)
    u = explain_shown_unit(inspection, stage_no, channel, row, col)
    view = fm.render_channel(inspection.stages[index], u.channel, inspection.seen, unit=(u.row, u.col))
    try:
        u.kernel_tab()
        animate = gr.Button("Animate this in the Kernel tab", visible=True, interactive=True)
    except ValueError as error:
        animate = gr.Button(f"Not in the Kernel tab: {error}"[:120], visible=True, interactive=False)
    return dict(large=view.large, overlay=view.overlay,
                channel_md=channel_text(inspection, index, u.channel, view, chosen=True),
                unit=[index + 1, u.channel, u.row, u.col], unit_panel=gr.Column(visible=True),
                unit_words=describe_unit(u), unit_picture=render_unit(u), animate=animate)
