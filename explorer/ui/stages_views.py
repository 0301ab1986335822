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
from explorer.core.unit_words import kind_name
from explorer.core.words import current, say
from explorer.drawing import feature_maps as fm
from explorer.drawing.unit_drawing import render_unit
from explorer.ui.stages_inspections import stage_index, user_error

UNIT_HINT = ("Click any unit of the enlarged channel (or of a grid cell) to see how its number was made.",
             "点击放大通道（或网格中某一格）里的任意单元，看看它的数是怎么算出来的。")
# The headings of the channel row, before a unit is clicked (its strongest unit) and after (the chosen unit),
# as (English, Chinese): the page's first words are these (explorer.ui.words.t), the events' say(*pair).
HEADING = {False: ("### One channel, and where its strongest unit looks", "### 一个通道，以及它最强的单元看向哪里"),
           True: ("### One channel, and where the chosen unit looks", "### 一个通道，以及选中的单元看向哪里")}
OVERLAY_HEADING = {
    False: ("**Over the picture the model saw:** the channel's colours (more opaque where stronger); the yellow box "
            "is what its strongest unit (yellow dot) sees",
            "**叠在模型看到的图片上**：通道的颜色（越强越不透明）；黄框是它最强的单元（黄点）看到的区域"),
    True: ("**Over the picture the model saw:** the channel's colours (more opaque where stronger); the yellow box "
           "is what the chosen unit (yellow dot) sees",
           "**叠在模型看到的图片上**：通道的颜色（越强越不透明）；黄框是选中的单元（黄点）看到的区域")}
# The heading over the unit's picture: a convolution's kernel slices; a pooling unit has a window, no kernel.
UNIT_HEADING = {
    "conv": ("**The strongest input channels:** the window each reads, its kernel slice, their products and the "
             "partial sum", "**最强的几个输入通道**：各自读取的窗口、对应的卷积核切片、两者的乘积和部分和"),
    "max": ("**The window it reads:** max pooling has no kernel and no weights; it takes the window's largest value",
            "**它读取的窗口**：最大池化没有卷积核，也没有权重；它取窗口中最大的值"),
    "avg": ("**The window it reads:** average pooling has no kernel and no weights; it takes the window's mean",
            "**它读取的窗口**：平均池化没有卷积核，也没有权重；它取窗口的平均值")}


def headings(chosen: bool) -> dict:
    """The channel row's headings: about the strongest unit, or about the unit the visitor chose."""
    return dict(channel_heading=say(*HEADING[chosen]), overlay_heading=say(*OVERLAY_HEADING[chosen]))


# --- words --------------------------------------------------------------------------------------

def _shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


SMALL_INPUT = 64      # a model reading pictures this small (the digit model's 28x28) shows blocky maps


def _blocks_text(inspection: Inspection, index: int) -> str:
    """Why a small model's maps look like blocks (its maps are a few units wide, each drawn as a block)."""
    width, height = inspection.seen.size
    if max(width, height) > SMALL_INPUT:
        return ""
    widths = sorted({s.output_shape[2] for s in inspection.stages}, reverse=True)
    _, h, w = inspection.stages[index].output_shape
    return say("  \n**Why blocks?** This model reads {width}×{height} pictures, so its feature maps are only "
               "{widths} units wide (this stage's: {h}×{w}); each unit is drawn as one square block.",
               "  \n**为什么是方块？** 这个模型读的是 {width}×{height} 的图片，所以它的特征图只有 {widths} 个单元宽"
               "（这个阶段是 {h}×{w}）；每个单元画成一个方块。",
               width=width, height=height, widths=say(", ", "、").join(map(str, widths)), h=h, w=w)


def stage_text(inspection: Inspection, index: int, grid: fm.FeatureGrid) -> str:
    stage = inspection.stages[index]
    width, height = inspection.seen.size
    rf_h, rf_w = stage.receptive_field
    jump_h, jump_w = stage.jump
    n = dict(no=index + 1, of=len(inspection.stages), name=stage.name, kind=kind_name(stage.kind), layer=stage.layer,
             shape_in=_shape(stage.input_shape), shape_out=_shape(stage.output_shape), rf=f"{rf_h}×{rf_w}",
             width=width, height=height, legend=grid.legend, down=_num(jump_h), across=_num(jump_w))
    jump = (_num(jump_h) if jump_h == jump_w else say("{down} down, {across} across", "纵向 {down}、横向 {across}", **n))
    wider = (say(" — wider than the picture itself: border units also see padding",
                 "——比图片本身还大：边缘的单元也看到填充") if rf_h > height or rf_w > width else "")
    text = say("### Stage {no} of {of}: `{name}` ({kind})\n**Layer:** `{layer}`  \n"
               "**Shape (channels × height × width):** {shape_in} → {shape_out}  \n"
               "**Receptive field:** each unit of this stage sees {rf} pixels of the {width}×{height} input{wider}; "
               "neighbouring units are {jump} input pixels apart (the jump, the product of the strides so far).  \n"
               "**Feature maps below:** {legend}.",
               "### 阶段 {no} / {of}：`{name}`（{kind}）\n**层**：`{layer}`  \n"
               "**形状（通道 × 高 × 宽）**：{shape_in} → {shape_out}  \n"
               "**感受野**：这个阶段的每个单元看到 {width}×{height} 输入中的 {rf} 个像素{wider}；"
               "相邻单元在输入上相隔 {jump} 个像素（跳距，即到这里为止各步幅的乘积）。  \n"
               "**下面的特征图**：{legend}。", wider=wider, jump=jump, **n)
    if stage.kind == "conv":
        text += say("  \nA conv stage is its output before the activation that follows it (ReLU and the like are "
                    "not stages), so it can be negative; a pooling stage after a ReLU only sees values of 0 or more.",
                    "  \n卷积阶段是它后面的激活函数之前的输出（ReLU 之类不算阶段），所以可以是负数；"
                    "ReLU 之后的池化阶段只看到 0 或更大的值。")
    return text + _blocks_text(inspection, index)


def channel_text(inspection: Inspection, index: int, channel: int, view: fm.ChannelView,
                 chosen: bool = False) -> str:
    stage = inspection.stages[index]
    ranks = fm.rank_channels(stage.activation)
    rank = int(np.flatnonzero(ranks == channel)[0]) + 1
    mean = float(fm.channel_means(stage.activation)[channel])
    width, height = inspection.seen.size
    left, top, right, bottom = view.box
    outside = left < 0 or top < 0 or right > width or bottom > height
    n = dict(channel=channel, name=stage.name, rank=rank, of=len(ranks), mean=f"{mean:.3g}",
             low=f"{view.value_range[0]:.3g}", high=f"{view.value_range[1]:.3g}", row=view.unit[0],
             col=view.unit[1], value=f"{view.value:.3g}", left=_num(left), right=_num(right), top=_num(top),
             bottom=_num(bottom), rf=f"{stage.receptive_field[1]}×{stage.receptive_field[0]}")
    text = say("**Channel {channel}** of `{name}`: rank {rank} of {of} by mean activation "
               "(mean {mean}; values {low} to {high}).  \n", "`{name}` 的**通道 {channel}**：按平均激活值排第 {rank} / {of}"
               "（平均 {mean}；数值从 {low} 到 {high}）。  \n", **n)
    text += (say("**Chosen unit:** row {row}, column {col}, value {value}. ", "**选中的单元**：第 {row} 行，第 {col} 列，"
                 "值 {value}。", **n) if chosen else
             say("**Strongest unit:** row {row}, column {col}, value {value}. ", "**最强的单元**：第 {row} 行，第 {col} 列，"
                 "值 {value}。", **n))
    text += say("The yellow box is what it sees: input pixels x {left} to {right}, y {top} to {bottom} ({rf})",
                "黄框是它看到的区域：输入像素 x 从 {left} 到 {right}，y 从 {top} 到 {bottom}（{rf}）", **n)
    return (text + (say(", partly beyond the picture's edge (padding).", "，部分超出了图片边缘（填充）。") if outside
                    else say(".", "。")) + "  \n" + say(*UNIT_HINT))


def stages_summary(inspection: Inspection) -> list[dict]:
    return [{"stage": k + 1, "name": s.name, "kind": s.kind, "layer": s.layer,
             "input_shape": list(s.input_shape), "output_shape": list(s.output_shape),
             "receptive_field": list(s.receptive_field), "jump": list(s.jump)}
            for k, s in enumerate(inspection.stages)]


# The top-5's title; in Chinese it says once that the ImageNet class names stay English (no maintained Chinese list).
TOP5 = ("**Top-5 predictions**", "**前 5 个预测**（ImageNet 类别名保留英文）")


def label_title(model_title: str | None = None) -> str:
    """The top-5's title for the model shown (the page's first title is TOP5, with no model yet)."""
    if model_title is None:
        return say(*TOP5)
    return say("**Top-5 predictions of {model}**", "**{model} 的前 5 个预测**（ImageNet 类别名保留英文）",
               model=model_title)


ANIMATE = ("Animate this in the Kernel tab", "在卷积核标签页中演示这一步")


# --- the overview strip ---------------------------------------------------------------------------

# The overview strip of each recent inspection, drawn once; each stage change only frames its cell.
_STRIPS = STORES.register("stages.strips", Recent(max_entries=8), "drawn feature-map strips of cached inspections")


def overview_strip(inspection: Inspection, stage_no) -> Image.Image:
    key = (id(inspection), current())                      # its labels are in the visitor's language
    found = _STRIPS.get(key)
    if found is None or found[0]() is not inspection:      # an id can be reused once an inspection is gone
        found = (weakref.ref(inspection), *fm.overview_indices(inspection.stages))
        _STRIPS.put(key, found)
    _, indices, layout = found
    return fm.to_image(fm.mark_cell(indices, layout, stage_index(inspection, stage_no)))


# --- the views, by component name -----------------------------------------------------------------

# what stage_views fills: the stage's words, its grid, the strip, the channel box and the channel's views
STAGE_VIEWS = ("stage_md", "grid", "strip", "channel", "large", "overlay", "channel_md", "shown_channel",
               "shown_stage")
# the channel row's headings (`headings`): about the chosen unit once one is clicked (unit_views), about the
# strongest unit again when it is no longer on screen (stages_events.on_hide_unit) or the channel is redrawn
HEADINGS = ("channel_heading", "overlay_heading")
# what unit_views fills: the channel with the unit framed, the unit, and the panel "How this number was made"
UNIT_VIEWS = ("large", "overlay", "channel_md", "unit", "unit_panel", "unit_words", "unit_picture", "animate",
              "unit_heading") + HEADINGS


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
        animate = gr.Button(say(*ANIMATE), visible=True, interactive=True)
    except ValueError as error:
        animate = gr.Button(say("Not in the Kernel tab: {why}", "无法在卷积核标签页中演示：{why}", why=error)[:120],
                            visible=True, interactive=False)
    kind = "conv" if u.kind == "conv" else "max" if "max" in u.op else "avg"
    return dict(large=view.large, overlay=view.overlay,
                channel_md=channel_text(inspection, index, u.channel, view, chosen=True),
                unit=[index + 1, u.channel, u.row, u.col], unit_panel=gr.Column(visible=True),
                unit_words=describe_unit(u), unit_picture=render_unit(u), animate=animate,
                unit_heading=say(*UNIT_HEADING[kind]), **headings(chosen=True))
