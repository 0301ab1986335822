"""What the Kernel tab's page events get back, by KernelTab field name: a fresh view of new settings,
or the last good one kept with one message beside the control at fault; the tables resized; the
controls of an operation; every control filled from a preset or from a Stages tab's unit."""
from __future__ import annotations

import html

import gradio as gr
import numpy as np

from explorer.core.sliding import pytorch_code
from explorer.core.words import pick, say
from explorer.drawing.kernel_frames import FrameRenderer
from explorer.drawing.kernel_presets import PRESET_CHINESE, PRESET_NAMES, preset
from explorer.ui.kernel_api import input_error
from explorer.ui.kernel_live import live_value
from explorer.ui.kernel_settings import (
    SETTING_FIELDS,
    SETTING_NAMES,
    clamp,
    code_file,
    code_file_name,
    compute,
    describe,
    resize,
    settings_of,
    slide_settings,
)
from explorer.ui.words import t

FROM_STAGES = "From the Stages tab's unit"      # the preset box's value then (its words: preset_choices)
MESSAGE_SLOTS = ("matrix", "kernel", "settings")   # where a message appears: beside the control at fault
STALE_NOTE = dict(en="Not updated: the animation, the formula and the code still show the last settings that "
                     "worked. Fix the value marked in red below.",
                  zh="未更新：动画、公式和代码仍显示上一次可用的设置。请修改下面标红的值。")
# What fresh_view fills (kept_view only the last four), by KernelTab field name.
VIEW_FIELDS = ("live", "info", "code", "code_download", "stale", "matrix_msg", "kernel_msg", "settings_msg")
# Everything a preset (or a Stages tab's unit) fills: the settings, the note, the table sizes, the view, the box.
CONTROL_FIELDS = (*SETTING_FIELDS.values(), "note", "matrix_rows", "matrix_cols", "kernel_rows", "kernel_cols",
                  *VIEW_FIELDS, "preset")


def headers(cols: int) -> list[str]:
    """A table's column headers as Gradio names them ("1", "2", ...: the public endpoints' defaults keep
    them); the page shows them counted from 0, as PyTorch indexes them (the tab's STYLE, class count-from-0)."""
    return [str(c + 1) for c in range(cols)]


def preset_choices(from_stages: bool = False, in_update: bool = False) -> list[tuple]:
    """The preset box's choices in the visitor's language (their values stay the English names); with
    `from_stages`, the entry saying the numbers came from the Stages tab's unit. `in_update`: for a
    handler's update, as plain text in the language spoken (Gradio 6.31 shows a translation marker in an
    update's choices as its key)."""
    words = say if in_update else t
    choices = [(words(name, PRESET_CHINESE[name]), name) for name in PRESET_NAMES]
    return choices + [(words(FROM_STAGES, "来自“阶段”页所选的单元"), FROM_STAGES)] if from_stages else choices


def download_words(s) -> str:
    """The code download's button text, naming its file."""
    return say("Download the code: {name}", "下载代码：{name}", name=code_file_name(s))


def message_slot(message: str) -> str:
    """Which control a ValueError's message is about, by the name it starts with."""
    first = message.replace(":", " ").split()[0] if message.strip() else ""
    return first if first in ("matrix", "kernel") else "settings"


def messages(message: str | None = None) -> dict:
    """The three message boxes: `message` in the one beside the control at fault, the others empty."""
    slot = message_slot(message) if message else None
    return {f"{name}_msg": gr.HTML(f'<div class="input-msg" role="alert">{html.escape(message)}</div>', visible=True)
            if name == slot else gr.HTML("", visible=False) for name in MESSAGE_SLOTS}


def fresh_view(r: FrameRenderer, k: int = 1) -> dict:
    """The animation's data opening on step k, the formula in words, the code and its download; no note,
    no message."""
    return dict(live=live_value(r.s, k), info=describe(r.s), code=pytorch_code(r.s),
                code_download=gr.DownloadButton(download_words(r.s), value=code_file(r.s)),
                stale=gr.HTML("", visible=False), **messages())


def kept_view(message: str) -> dict:
    """The last good animation, formula and code stay (left out); a note says they are not updated,
    and the message stands beside the control at fault."""
    note = gr.HTML(f'<div class="kernel-stale" role="status">{pick(STALE_NOTE)}</div>', visible=True)
    return dict(stale=note, **messages(message))


def slide_view(values: dict) -> dict:
    """The answer to a change of the settings: step 1 of the new animation, or the last good result kept
    and the one message beside the control at fault (no toast)."""
    try:
        r = compute(settings_of(values))
    except ValueError as e:
        return kept_view(str(e))
    return fresh_view(r)


def _table(values) -> gr.Dataframe:
    values = np.asarray(values, dtype=object).tolist()
    cols = len(values[0]) if values else 0
    return gr.Dataframe(value=values, headers=headers(cols))


def resize_matrix(values: dict) -> dict:
    """The matrix cut or grown to the size sliders' rows x cols, and the view of the settings with it."""
    new = resize(values["matrix"], values["matrix_rows"], values["matrix_cols"], "matrix")
    return {**slide_view({**values, "matrix": new}), "matrix": _table(new)}


def resize_kernel(values: dict) -> dict:
    """The kernel cut or grown to the size sliders' rows x cols, and the view of the settings with it."""
    new = resize(values["kernel"], values["kernel_rows"], values["kernel_cols"], "kernel")
    return {**slide_view({**values, "kernel": new}), "kernel": _table(new)}


def op_controls(values: dict) -> dict:
    """The controls of the chosen operation shown, the others hidden."""
    conv = values["op"] == "conv"
    return dict(kernel=gr.Dataframe(visible=conv), kernel_size_row=gr.Row(visible=conv),
                pool_size=gr.Dropdown(visible=not conv), bias=gr.Number(visible=conv),
                ceil_mode=gr.Checkbox(visible=not conv))


def filled_controls(p: dict) -> dict:
    """Every control (CONTROL_FIELDS) for preset-like settings `p`: the settings, the note, the table sizes,
    the animation at p["position"] (the output cell, 0-based; default the first) and the preset box,
    showing p["preset"] or, without one, that the numbers came from the Stages tab. gr.Error for
    settings PyTorch refuses."""
    try:
        r = compute(slide_settings(**{name: p[name] for name in SETTING_NAMES}))
    except ValueError as e:
        raise input_error(e) from None
    row, col = p.get("position") or (0, 0)
    k = clamp(row * r.s.output.shape[1] + col + 1, len(r))
    note = p["note"]
    if p.get("position"):
        note += say("\n\n**Step {k}** (output row {row}, column {col}) gives **{v}**.",
                    "\n\n**第 {k} 步**（输出第 {row} 行第 {col} 列）得到 **{v}**。",
                    k=k, row=row, col=col, v=f"{float(r.s.output[row, col]):.6g}")
    name = p.get("preset")
    box = (gr.Dropdown(choices=preset_choices(in_update=True), value=name) if name in PRESET_NAMES else
           gr.Dropdown(choices=preset_choices(from_stages=True, in_update=True), value=FROM_STAGES))
    m = np.asarray(p["matrix"])
    filled = {field: p[name] for name, field in SETTING_FIELDS.items() if name not in ("matrix", "kernel")}
    filled.update(matrix=_table(p["matrix"]), note=note, matrix_rows=m.shape[0], matrix_cols=m.shape[1],
                  **fresh_view(r, k), preset=box)
    if p["kernel"] is not None:          # pooling from the Stages tab: the kernel table keeps its numbers
        kernel = np.asarray(p["kernel"])
        filled.update(kernel=_table(p["kernel"]), kernel_rows=kernel.shape[0], kernel_cols=kernel.shape[1])
    return filled


def pick_preset(values: dict) -> dict:
    """Every control for the preset picked; the Stages tab's entry changes nothing (its numbers are
    already there)."""
    name = values["preset"]
    return filled_controls({**preset(name), "preset": name}) if name in PRESET_NAMES else {}

