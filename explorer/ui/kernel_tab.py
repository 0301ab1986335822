"""The Kernel tab: a kernel or pooling window sliding over the learner's own matrix, step by step.

This module lays the tab out and wires it; its jobs live beside it: kernel_settings (the controls'
values checked, the renderer, the words and the code file), kernel_api (the public endpoints /slide,
/kernel_step, /kernel_gif), kernel_view (what the page's events get back) and kernel_live (the animation,
drawn and played by the browser: no request while it plays). Every page event reads a set of components
and returns a dict by name."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from explorer.core.sliding import MAX_SIDE, pytorch_code
from explorer.core.words import COUNTING
from explorer.drawing.kernel_frames import FrameRenderer
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.ui import kernel_view
from explorer.ui.by_name import Components, event
from explorer.ui.fixed_words import both
from explorer.ui.kernel_api import make_gif, run_slide, show_step, step_label
from explorer.ui.kernel_live import PAUSE, PLAY, live_player
from explorer.ui.kernel_settings import (
    _RENDERERS,
    DEFAULT_SPEED,
    OP_CHOICES,
    PAIR_CHOICES,
    SETTING_FIELDS,
    SETTING_NAMES,
    code_file,
    compute,
    describe,
    settings_from_unit,
    slide_settings,
)
from explorer.ui.kernel_view import (
    CONTROL_FIELDS,
    FROM_STAGES,
    VIEW_FIELDS,
    download_words,
    filled_controls,
    headers,
    preset_choices,
)
from explorer.ui.number_inputs import SliderInput
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.words import t

# What other modules and tests reach through this module: the Stages tab's "Animate this" (PLAY, PAUSE,
# KernelTab, CONTROL_FIELDS, filled_controls, settings_from_unit), tests/core/test_budgets (compute, slide_settings,
# _RENDERERS).
__all__ = ["CONTROL_FIELDS", "FROM_STAGES", "PAUSE", "PLAY", "TITLE", "KernelTab", "_RENDERERS", "build", "compute",
           "filled_controls", "settings_from_unit", "slide_settings"]

TITLE = t("Kernel", "卷积核")
SETTINGS = tuple(SETTING_FIELDS.values())     # the settings controls' names, in SETTING_NAMES' order

# Page-wide (the Architecture tab's "Other layers" panel uses .input-msg too). CodeMirror sizes its
# line numbers and fold arrows from a line height it guessed (14 px) when it did not measure the 17 px lines:
# number 20 then sat 53 px above line 20. Each number takes its own line height instead; the hidden spacer
# none. The fold arrows (placed by margins from the same guess) sat two lines off after line 10: a program
# of 20-40 lines has nothing worth folding, so the fold gutter is not shown.
# Long weights break inside their cell instead of pushing the last column out of the table. Gradio numbers
# a table's rows and columns from 1: a table of class count-from-0 shows them from 0, as PyTorch counts
# (its row cells show their 0-based data-row, its headers a counter; the headers' values stay Gradio's).
STYLE = """
#kernel_style {display: none}
.input-msg {color: #b42318; background: #fef3f2; border-left: 4px solid #d92d20; padding: 6px 10px;
             border-radius: 4px; font-size: 14px; margin: 4px 0}
.kernel-stale {color: #7a2e0e; background: #fffaeb; border-left: 4px solid #f79009; padding: 6px 10px;
               border-radius: 4px; font-size: 14px}
#kernel_code .cm-gutter .cm-gutterElement {height: auto !important}
#kernel_code .cm-gutter .cm-gutterElement[style*="hidden"] {height: 0 !important}
#kernel_code .cm-foldGutter {display: none !important}
#kernel_buttons button {white-space: nowrap}
#kernel_preset input {padding-right: 28px; text-overflow: ellipsis}
#kernel_weights .cell-wrap {word-break: break-all; white-space: normal !important}
.count-from-0 .row-number-cell[data-row] {font-size: 0 !important}
.count-from-0 .row-number-cell[data-row]::before {content: attr(data-row); font-size: var(--text-sm)}
.count-from-0 thead tr {counter-reset: column -1}
.count-from-0 th.header-cell {counter-increment: column}
.count-from-0 th.header-cell .header.text {font-size: 0 !important}
.count-from-0 th.header-cell .header-content::before {content: counter(column)}
"""


@dataclass(frozen=True)
class KernelTab(Components):
    """The tab's components, by name (`components()`). Other tabs use its matrix (the Architecture tab's
    other layers run on it) and the components named by CONTROL_FIELDS, which filled_controls fills
    (the outputs of the Stages tab's "Animate this")."""
    matrix: gr.Dataframe
    matrix_msg: gr.HTML
    matrix_rows: SliderInput
    matrix_cols: SliderInput
    kernel: gr.Dataframe
    kernel_msg: gr.HTML
    kernel_size_row: gr.Row
    kernel_rows: SliderInput
    kernel_cols: SliderInput
    preset: gr.Dropdown
    note: gr.Markdown
    op: gr.Radio
    pool_size: gr.Dropdown
    stride: gr.Dropdown
    padding: gr.Dropdown
    dilation: gr.Dropdown
    bias: gr.Number
    ceil_mode: gr.Checkbox
    settings_msg: gr.HTML
    stale: gr.HTML
    live: gr.HTML                    # the animation, drawn and played by the browser (kernel_live)
    step: SliderInput                # hidden: the public /slide and /kernel_step's step
    frame: gr.Image                  # hidden: the public /slide and /kernel_step's PNG of one step
    info: gr.Markdown
    speed: SliderInput               # the GIF's speed
    gif_button: gr.Button
    gif_file: gr.File
    code: gr.Code
    code_download: gr.DownloadButton

    @property
    def settings(self) -> list:
        """The nine settings controls in the public endpoints' parameter order (SETTING_NAMES)."""
        return [getattr(self, name) for name in SETTINGS]


def build() -> KernelTab:
    tab = layout()
    wire(tab)
    return tab


def layout() -> KernelTab:
    """The tab's components, showing the first preset."""
    first = preset(PRESET_NAMES[0])
    r0 = compute(slide_settings(**{name: first[name] for name in SETTING_NAMES}))
    gr.HTML(f"<style>{STYLE}</style>", elem_id="kernel_style")     # styles the page, takes no room
    picture = _picture(r0)                          # the animation first: on the first screen at any size
    gr.Markdown(t(
        "Type your own numbers, pick a kernel or a pooling window, and watch it slide exactly as "
        "PyTorch computes it: each step multiplies the window by the kernel and adds up the products "
        "(or takes the max / the mean). " + COUNTING["en"] + " Steps are counted from 1.",
        "输入你自己的数字，选一个卷积核或池化窗口，看它像 PyTorch 计算时那样一步步滑动：每一步把窗口与卷积核"
        "对应相乘再求和（或取最大值 / 平均值）。" + COUNTING["zh"] + "步数从 1 开始数。"))
    with gr.Row(equal_height=False):
        tables = _tables(first)
        settings = _settings_column(first)
    return KernelTab(**tables, **settings, **picture, **_results(r0))


def _tables(first: dict) -> dict:
    """The matrix and the kernel, each with its message box and its size sliders."""
    with gr.Column(scale=3, min_width=320):
        matrix = gr.Dataframe(value=first["matrix"], headers=headers(len(first["matrix"][0])),
                              type="array", datatype="number", interactive=True,
                              label=t("Input matrix (edit any cell)", "输入矩阵（每个格都可以改）"), show_row_numbers=True,
                              elem_classes=["count-from-0"],
                              max_height=420, key="kernel_matrix", elem_id="kernel_matrix")
        matrix_msg = gr.HTML("", visible=False, elem_id="kernel_matrix_msg")
        with gr.Row():
            matrix_rows = SliderInput(1, MAX_SIDE, value=4, step=1, label=t("Input rows", "输入的行数"),
                                      elem_id="kernel_rows")
            matrix_cols = SliderInput(1, MAX_SIDE, value=4, step=1, label=t("Input columns", "输入的列数"),
                                      elem_id="kernel_cols")
    with gr.Column(scale=2, min_width=260):
        kernel = gr.Dataframe(value=first["kernel"], headers=headers(2), type="array",
                              datatype="number", interactive=True, show_row_numbers=True, wrap=True,
                              label=t("Kernel (weights)", "卷积核（权重）"), elem_classes=["count-from-0"], max_height=300, key="kernel_weights",
                              elem_id="kernel_weights")
        kernel_msg = gr.HTML("", visible=False, elem_id="kernel_weights_msg")
        with gr.Row() as kernel_size_row:
            kernel_rows = SliderInput(1, MAX_SIDE, value=2, step=1, label=t("Kernel rows", "核的行数"))
            kernel_cols = SliderInput(1, MAX_SIDE, value=2, step=1, label=t("Kernel columns", "核的列数"))
    return dict(matrix=matrix, matrix_msg=matrix_msg, matrix_rows=matrix_rows, matrix_cols=matrix_cols,
                kernel=kernel, kernel_msg=kernel_msg, kernel_size_row=kernel_size_row, kernel_rows=kernel_rows,
                kernel_cols=kernel_cols)


def _settings_column(first: dict) -> dict:
    """The preset box and its note, the operation and its settings, and their message box."""
    with gr.Column(scale=2, min_width=280):
        preset_box = gr.Dropdown(preset_choices(), value=PRESET_NAMES[0], label=t("Preset", "预设"),
                                 elem_id="kernel_preset")
        note = gr.Markdown(t(first["notes"]["en"], first["notes"]["zh"]))
        op = gr.Radio(OP_CHOICES, value="conv", label=t("Operation", "运算"))
        with gr.Row():
            pool_size = gr.Dropdown(PAIR_CHOICES[1:], value="2", allow_custom_value=True,
                                    label=t("Pooling window (k or h,w)", "池化窗口（k 或 h,w）"), visible=False)
            stride = gr.Dropdown(PAIR_CHOICES[1:], value="2", allow_custom_value=True,
                                 label=t("Stride (s or h,w)", "步幅（s 或 h,w）"))
            padding = gr.Dropdown(PAIR_CHOICES, value="0", allow_custom_value=True,
                                  label=t("Padding (p or h,w)", "填充（p 或 h,w）"))
            dilation = gr.Dropdown(PAIR_CHOICES[1:], value="1", allow_custom_value=True,
                                   label=t("Dilation (d or h,w)", "膨胀（d 或 h,w）"))
        with gr.Row():
            bias = gr.Number(0.0, label=t("Bias (added to every output)", "偏置（加到每个输出上）"))  # slide() names a bad bias
            ceil_mode = gr.Checkbox(False, label=t("ceil_mode (round the size up)", "ceil_mode（输出大小向上取整）"),
                                    visible=False)
        settings_msg = gr.HTML("", visible=False, elem_id="kernel_settings_msg")
    return dict(preset=preset_box, note=note, op=op, pool_size=pool_size, stride=stride, padding=padding,
                dilation=dilation, bias=bias, ceil_mode=ceil_mode, settings_msg=settings_msg)


def _picture(r0: FrameRenderer) -> dict:
    """The animation drawn by the browser with its own controls, the formula beside it, the stale note;
    the public endpoints' step and PNG frame, hidden."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            stale = gr.HTML("", visible=False, elem_id="kernel_stale")
            live = live_player(r0.s)
        with gr.Column(scale=2, min_width=260):
            info = gr.Markdown(both(describe, r0.s), elem_id="kernel_info")
    step = SliderInput(1, max(len(r0), 2), value=1, step=1, label=both(step_label, len(r0)), visible=False,
                       elem_id="kernel_step")
    frame = gr.Image(type="pil", format="png", label=t("Step by step", "逐步"), interactive=False, visible=False,
                     elem_id="kernel_frame")
    return dict(stale=stale, live=live, step=step, frame=frame, info=info)


def _results(r0: FrameRenderer) -> dict:
    """The GIF with its speed, and the PyTorch code with its download."""
    with gr.Row(equal_height=False):
        gif_button = gr.Button(t("Make a GIF of the whole animation", "把整段动画做成 GIF"), scale=1)
        speed = SliderInput(0.5, 10, value=DEFAULT_SPEED, step=0.5, label=t("GIF speed (steps per second)",
                            "GIF 速度（每秒几步）"), scale=1, elem_id="kernel_speed")
        gif_file = gr.File(label=t("GIF of the animation", "动画的 GIF"), interactive=False, height=90, scale=1)
    code = gr.Code(pytorch_code(r0.s), language="python", interactive=False, buttons=["copy"],
                   label=t("PyTorch code that gives the same output", "得到相同输出的 PyTorch 代码"), elem_id="kernel_code")
    code_download = gr.DownloadButton(both(download_words, r0.s), value=code_file(r0.s),
                                      size="sm", elem_id="kernel_code_download")
    return dict(speed=speed, gif_button=gif_button, gif_file=gif_file, code=code, code_download=code_download)


def wire(tab: KernelTab) -> None:
    """Every event of the tab, in the order Gradio numbers them (the API's endpoints first)."""
    _wire_api(tab)
    _wire_settings(tab)
    gr.on([], make_gif, [tab.speed] + tab.settings, tab.gif_file, api_name="kernel_gif", **MODEL_QUEUE)
    # the page's button: the same GIF, drawn in the visitor's language; progress shows on the button, a
    # refusal is one message, and the last GIF made stays shown. Its name has no "kernel_" prefix: a GIF
    # is no small request (explorer.ui.lanes)
    tab.gif_button.click(**event(tab.components(), gif_in_page, ("speed",) + SETTINGS, ("gif_file",)),
                         api_name="gif_in_page", api_visibility="private", show_progress="minimal",
                         show_progress_on=tab.gif_button, **MODEL_QUEUE)


def gif_in_page(values: dict, request: gr.Request = None) -> dict:
    """The page's GIF of the settings on screen (make_gif), its words in the visitor's language."""
    return dict(gif_file=make_gif(values["speed"], *(values[name] for name in SETTINGS), request=request))


def _wire_api(tab: KernelTab) -> None:
    # The API's endpoints first, called by name and never by the page; their parameters are positional
    # (a contract: tests/ui/api_contract.json). Gradio's front end (6.31) checks the first event's
    # arguments against /predict's two: a page event there warns "Too many arguments provided for the
    # endpoint." in the browser's console on every call.
    gr.on([], run_slide, tab.settings, [tab.frame, tab.info, tab.code, tab.step], api_name="slide", **MODEL_QUEUE)
    gr.on([], show_step, [tab.step] + tab.settings, [tab.step, tab.frame], api_name="kernel_step")


def _wire_settings(tab: KernelTab) -> None:
    """A changed setting, operation, preset or table size redraws the view."""
    c = tab.components()
    # Every event that redraws the view goes through the one queue, first come first served: leaving a
    # box and then picking a preset must not let the older answer land last.
    gr.on([tab.matrix.input, tab.kernel.input, tab.op.input, tab.pool_size.input, tab.pool_size.blur,
           tab.stride.input, tab.stride.blur, tab.padding.input, tab.padding.blur, tab.dilation.input,
           tab.dilation.blur, tab.bias.submit, tab.bias.blur, tab.ceil_mode.input],
          **event(c, kernel_view.slide_view, SETTINGS, VIEW_FIELDS), api_name="kernel_view", api_visibility="private",
          trigger_mode="always_last", **MODEL_QUEUE)
    tab.op.change(**event(c, kernel_view.op_controls, ("op",),
                          ("kernel", "kernel_size_row", "pool_size", "bias", "ceil_mode")),
                  api_name="kernel_op_controls", api_visibility="private")
    tab.preset.select(**event(c, kernel_view.pick_preset, ("preset",), CONTROL_FIELDS),   # once per pick
                      api_name="kernel_preset", api_visibility="private", **MODEL_QUEUE)
    for slider, axis in ((tab.matrix_rows, "rows"), (tab.matrix_cols, "cols")):
        slider.input(**event(c, kernel_view.resize_matrix, SETTINGS + ("matrix_rows", "matrix_cols"),
                             VIEW_FIELDS + ("matrix",)),
                     api_name=f"kernel_resize_matrix_{axis}", api_visibility="private", trigger_mode="always_last",
                     **MODEL_QUEUE)
    for slider, axis in ((tab.kernel_rows, "rows"), (tab.kernel_cols, "cols")):
        slider.input(**event(c, kernel_view.resize_kernel, SETTINGS + ("kernel_rows", "kernel_cols"),
                             VIEW_FIELDS + ("kernel",)),
                     api_name=f"kernel_resize_kernel_{axis}", api_visibility="private",
                     trigger_mode="always_last", **MODEL_QUEUE)
