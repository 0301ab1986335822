"""The Kernel tab: a kernel or pooling window sliding over the learner's own matrix, step by step."""
from __future__ import annotations

import hashlib
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from explorer.core import budgets
from explorer.core.recent import Recent
from explorer.core.sliding import MAX_SIDE, OP_NAMES, Slide, SlideSettings, pytorch_code, replay
from explorer.core.state import STORES
from explorer.drawing.kernel_frames import FrameRenderer, GifStopped
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.ui.gradio_patches import abandoned
from explorer.ui.number_inputs import SliderInput
from explorer.ui.queues import MODEL_QUEUE

TITLE = "Kernel"

OP_CHOICES = [("Convolution", "conv"), ("Max pooling", "max"), ("Average pooling", "avg")]
PAIR_CHOICES = ["0", "1", "2", "3", "4", "5", "1,2", "2,1", "2,3", "3,2"]
DEFAULT_SPEED = 2.0            # steps per second
FROM_STAGES = "From the Stages tab's unit"
PLAY, PAUSE = "▶ Play", "❚❚ Pause"     # U+23F8 (the pause sign) is in no font a Debian Chromium has
MESSAGE_SLOTS = ("matrix", "kernel", "settings")   # where a message appears: beside the control at fault
STALE_NOTE = ("Not updated: the frame, the steps, the formula and the code below still show the last "
              "settings that worked. Fix the value marked in red above.")
# Page-wide (the Architecture tab's "Other layers" panel uses .input-msg too). CodeMirror sizes its
# line numbers from a line height it guessed (14 px) when it did not measure the 17 px lines: number 20
# then sat 53 px above line 20. Each number takes its own line height instead; the hidden spacer none.
# Long weights break inside their cell instead of pushing the last column out of the table.
STYLE = """
#kernel_style {display: none}
.input-msg {color: #b42318; background: #fef3f2; border-left: 4px solid #d92d20; padding: 6px 10px;
             border-radius: 4px; font-size: 14px; margin: 4px 0}
.kernel-stale {color: #7a2e0e; background: #fffaeb; border-left: 4px solid #f79009; padding: 6px 10px;
               border-radius: 4px; font-size: 14px}
#kernel_code .cm-lineNumbers .cm-gutterElement {height: auto !important}
#kernel_code .cm-lineNumbers .cm-gutterElement[style*="hidden"] {height: 0 !important}
#kernel_buttons button {white-space: nowrap}
#kernel_preset input {padding-right: 28px; text-overflow: ellipsis}
#kernel_weights .cell-wrap {word-break: break-all; white-space: normal !important}
"""

# A renderer keeps three pictures of the frame's size (up to 58 MB at 32x32 with padding 16): the store is
# bounded in bytes too, so sixteen large settings in a row cannot keep close to a gigabyte.
_RENDERERS = STORES.register("kernel.renderers", Recent(max_entries=16, max_bytes=256 << 20, size_of=lambda r: 3 * 3 * r.width * r.height),
                             "frame renderers of recent slides: stepping through frames redraws nothing")

# The tab's settings controls, in the order every event passes them (and /slide takes them).
SETTING_NAMES = ("matrix", "kernel", "op", "kernel_size", "stride", "padding", "dilation", "bias", "ceil_mode")


# --- the settings: the nine controls' values, checked once --------------------------------------------

def slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode) -> SlideSettings:
    """The tab's nine controls as checked SlideSettings; a ValueError names the control at fault.

    Controls hidden for the chosen operation are ignored: the kernel table and bias for pooling,
    the pooling window size and ceil_mode for convolution."""
    if op not in OP_NAMES:
        raise ValueError(f"op: must be one of {', '.join(OP_NAMES)}, got {op!r}")
    if op == "conv":
        return SlideSettings.checked(_rows(matrix), _rows(kernel, "kernel"), op="conv", stride=stride,
                                     padding=padding, dilation=dilation, bias=0.0 if bias is None else bias)
    return SlideSettings.checked(_rows(matrix), op=op, kernel_size=kernel_size, stride=stride, padding=padding,
                                 dilation=dilation, ceil_mode=bool(ceil_mode))


def _rows(table, name: str = "matrix"):
    """The table's rows, whichever form the Dataframe (or an API caller) sends."""
    if isinstance(table, dict) and "data" in table:         # {"headers": [...], "data": [[...]]}
        table = table["data"]
    if table is None:
        raise ValueError(f"{name} is empty")
    return table


def compute(settings: SlideSettings) -> FrameRenderer:
    """The renderer of these settings (cached: the timer asks for one frame at a time); a ValueError
    when PyTorch refuses them."""
    found = _RENDERERS.get(settings)
    if found is not None:
        return found
    renderer = FrameRenderer(replay(settings))
    _RENDERERS.put(settings, renderer)
    return renderer


# --- words and files about a Slide ----------------------------------------------------------------

def describe(s: Slide) -> str:
    """The output-size formula with the user's numbers, and the input no window reads, in words."""
    oh, ow = s.output.shape
    lines = [f"**Output {oh}x{ow}**, from PyTorch's formula "
             f"`{'ceil' if s.ceil_mode else 'floor'}((n + 2p - d(k-1) - 1) / s) + 1`:",
             f"- rows: {s.formulas[0]}", f"- columns: {s.formulas[1]}", ""]
    parts = []
    if s.unused_rows:
        parts.append(f"row{'s' * (len(s.unused_rows) > 1)} {_listing(s.unused_rows)}")
    if s.unused_cols:
        parts.append(f"column{'s' * (len(s.unused_cols) > 1)} {_listing(s.unused_cols)}")
    if parts:
        lines.append(f"**Never read:** input {' and '.join(parts)} (grey in the picture). No window "
                     "reaches them, and PyTorch drops them without a warning. Padding or another stride "
                     "would bring them in.")
    else:
        lines.append("Every input cell is read by at least one window.")
    if s.op == "max" and any(s.padding):
        lines.append("\nMax pooling pads with -inf, so the padding never wins.")
    if s.op == "avg" and any(s.padding):
        lines.append("\nAverage pooling counts the padding zeros in the mean (count_include_pad=True).")
    return "\n".join(lines)


def _listing(indices: list[int]) -> str:
    """0-based indices as the 1-based numbers the tables show: "1, 2 and 5"."""
    nums = [str(i + 1) for i in indices]
    return nums[0] if len(nums) == 1 else f"{', '.join(nums[:-1])} and {nums[-1]}"


def code_file_name(s: Slide) -> str:
    """What the code download holds, as its name: conv2d_4x4_input_2x2_kernel.py, max_pool2d_..."""
    h, w = s.matrix.shape
    kh, kw = s.kernel_size
    what = {"conv": "conv2d", "max": "max_pool2d", "avg": "avg_pool2d"}[s.op]
    return f"{what}_{h}x{w}_input_{kh}x{kw}_{'kernel' if s.op == 'conv' else 'window'}.py"


def code_file(s: Slide) -> str:
    """The PyTorch code of `s` as a .py file named after what it holds (the same code, the same file), in
    Gradio's cache, which serves it and deletes it with the rest (delete_cache)."""
    text = pytorch_code(s)
    path = _gradio_cache() / "kernel-code" / hashlib.sha256(text.encode()).hexdigest()[:16] / code_file_name(s)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)


def _gradio_cache() -> Path:
    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the API's endpoints: an error for a bad setting -----------------------------------------------

def _error(e: ValueError) -> gr.Error:
    return gr.Error(str(e), title="Please check the input")


def run_slide(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Step 1 of the animation, the size formula and unused input in words, the PyTorch code, and
    the step slider reset to 1 of N."""
    try:
        r = compute(slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode))
    except ValueError as e:
        raise _error(e) from None
    n = len(r)
    return r.frame(0), describe(r.s), pytorch_code(r.s), gr.Slider(minimum=1, maximum=max(n, 2), value=1,
                                                                    label=f"Step (1 to {n})")


def show_step(step, matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Frame `step` (1-based, clamped to the steps there are) of these settings' animation."""
    try:
        return frame_at(slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias,
                                       ceil_mode), step)
    except ValueError as e:
        raise _error(e) from None


def frame_at(settings: SlideSettings, step) -> tuple:
    """(step, its frame): `step` clamped to the steps there are."""
    r = compute(settings)
    k = _clamp(step, len(r))
    return k, r.frame(k - 1)


def _clamp(step, n: int) -> int:
    try:
        k = int(step)
    except (TypeError, ValueError):
        k = 1
    return min(max(k, 1), n)


def make_gif(speed, matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode,
             request: gr.Request = None) -> str:
    """The whole animation as a GIF file, `speed` steps per second, refused beyond the GIF budget. It is
    written in Gradio's cache, which serves it and deletes it with the rest (delete_cache); a GIF
    nobody waits for any more is stopped and removed."""
    try:
        settings = slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
        return write_gif(settings, speed, keep_going=lambda: not abandoned(request))
    except ValueError as e:
        raise _error(e) from None


def write_gif(settings: SlideSettings, speed, keep_going) -> str:
    """The GIF of these settings at `speed` steps per second, in a folder of its own in Gradio's cache;
    ValueError beyond the GIF budget, gr.Error when keep_going() says nobody waits for it any more."""
    r = compute(settings)
    budgets.check_gif(len(r), r.width, r.height)
    folder = Path(tempfile.mkdtemp(prefix="kernel-gif-", dir=_gradio_cache()))
    step_ms = int(1000 / max(0.5, min(float(speed or DEFAULT_SPEED), 20)))
    try:
        return str(r.gif(folder / f"{r.s.op}_{len(r)}_steps.gif", step_ms=step_ms, keep_going=keep_going))
    except GifStopped as stopped:
        raise gr.Error(f"{stopped}: nobody was waiting for it.", title="Cancelled") from None
    finally:
        if not any(folder.iterdir()):
            folder.rmdir()


# --- what the browser's events get back: a fresh view, or the last good one kept -------------------

def message_slot(message: str) -> str:
    """Which control a ValueError's message is about, by the name it starts with."""
    first = message.replace(":", " ").split()[0] if message.strip() else ""
    return first if first in ("matrix", "kernel") else "settings"


def _messages(message: str | None = None) -> tuple:
    """The three message boxes: `message` in the one beside the control at fault, the others empty."""
    slot = message_slot(message) if message else None
    return tuple(gr.HTML(f'<div class="input-msg" role="alert">{html.escape(message)}</div>', visible=True)
                 if name == slot else gr.HTML("", visible=False) for name in MESSAGE_SLOTS)


def fresh_view(r: FrameRenderer, k: int = 1) -> tuple:
    """frame, formula text, code, step slider, code download, stale note, and the three message boxes."""
    n = len(r)
    name = code_file_name(r.s)
    return (r.frame(k - 1), describe(r.s), pytorch_code(r.s),
            gr.Slider(minimum=1, maximum=max(n, 2), value=k, label=f"Step (1 to {n})"),
            gr.DownloadButton(f"Download the code: {name}", value=code_file(r.s)),
            gr.HTML("", visible=False), *_messages())


def kept_view(message: str) -> tuple:
    """The last good frame, steps, formula and code stay; a note says they are not updated, and the
    message stands beside the control at fault."""
    note = gr.HTML(f'<div class="kernel-stale" role="status">{STALE_NOTE}</div>', visible=True)
    return (*(gr.skip(),) * 5, note, *_messages(message))


def slide_view(*controls) -> tuple:
    """The browser's answer to a change of the nine settings controls: step 1 of the new animation, or
    the last good result kept and the one message beside the control at fault (no toast)."""
    try:
        r = compute(slide_settings(*controls))
    except ValueError as e:
        return kept_view(str(e))
    return fresh_view(r)


def step_view(step, *controls):
    """The frame at `step` of the settings' animation; nothing changes while the settings are bad
    (their message is already beside the control at fault)."""
    try:
        return frame_at(slide_settings(*controls), step)
    except ValueError:
        return gr.skip(), gr.skip()


def resize(table, rows, cols, name: str) -> list[list]:
    """The table cut or grown (with zeros) to rows x cols, keeping what the learner typed."""
    data = _rows(table, name)
    rows, cols = min(max(int(rows), 1), MAX_SIDE), min(max(int(cols), 1), MAX_SIDE)
    out = [[0] * cols for _ in range(rows)]
    for r, row in enumerate(list(data)[:rows]):
        for c, v in enumerate(list(row)[:cols]):
            out[r][c] = v
    return out


def resize_matrix(table, rows, cols, *other_controls) -> tuple:
    """The matrix cut or grown to rows x cols, and the view of the settings with it."""
    new = resize(table, rows, cols, "matrix")
    return _table(new), *slide_view(new, *other_controls)


def resize_kernel(table, rows, cols, matrix, *other_controls) -> tuple:
    """The kernel cut or grown to rows x cols, and the view of the settings with it."""
    new = resize(table, rows, cols, "kernel")
    return _table(new), *slide_view(matrix, new, *other_controls)


def _table(values) -> gr.Dataframe:
    values = np.asarray(values, dtype=object).tolist()
    cols = len(values[0]) if values else 0
    return gr.Dataframe(value=values, headers=[str(c + 1) for c in range(cols)])


def op_controls(op: str) -> tuple:
    """The controls of this operation shown, the others hidden: kernel, its size, pooling window, bias,
    ceil_mode."""
    conv = op == "conv"
    return (gr.Dataframe(visible=conv), gr.Row(visible=conv), gr.Dropdown(visible=not conv),
            gr.Number(visible=conv), gr.Checkbox(visible=not conv))


# --- presets and the Stages tab's units ----------------------------------------------------------

def _pair_text(pair) -> str:
    a, b = pair if isinstance(pair, (list, tuple)) else (pair, pair)
    return str(a) if a == b else f"{a},{b}"


def settings_from_unit(k: dict, note: str) -> dict:
    """Preset-like settings from explorer.core.bridge's Unit.kernel_tab(), with `note` saying where they came from."""
    return dict(matrix=k["matrix"], kernel=k["kernel"], op=k["op"],
                kernel_size=_pair_text(k["kernel_size"] or 2), stride=_pair_text(k["stride"]), padding="0",
                dilation=_pair_text(k["dilation"]), bias=0.0, ceil_mode=False, note=note, position=k["position"])


def load_settings(p: dict) -> tuple:
    """Every control of the tab for preset-like settings `p`, and the animation at p["position"] (the
    output cell, 0-based; default the first): the values for settings + [note, sizes] + the view +
    [the preset box, showing p["preset"] or, without one, that the numbers came from the Stages tab]."""
    try:
        r = compute(slide_settings(*(p[name] for name in SETTING_NAMES)))
    except ValueError as e:
        raise _error(e) from None
    row, col = p.get("position") or (0, 0)
    k = _clamp(row * r.s.output.shape[1] + col + 1, len(r))
    m = np.asarray(p["matrix"])
    kernel = np.asarray(p["kernel"]) if p["kernel"] is not None else None
    tables = (_table(p["kernel"]), kernel.shape[0], kernel.shape[1]) if kernel is not None else (gr.skip(),) * 3
    note = p["note"]
    if p.get("position"):
        note += (f"\n\n**Step {k}** (output row {row + 1}, column {col + 1}, counting from 1) gives "
                 f"**{float(r.s.output[row, col]):.6g}**.")
    name = p.get("preset")
    box = (gr.Dropdown(choices=list(PRESET_NAMES), value=name) if name in PRESET_NAMES else
           gr.Dropdown(choices=[*PRESET_NAMES, FROM_STAGES], value=FROM_STAGES))
    return (_table(p["matrix"]), tables[0], p["op"], p["kernel_size"], p["stride"], p["padding"], p["dilation"],
            p["bias"], p["ceil_mode"], note, m.shape[0], m.shape[1], tables[1], tables[2],
            *fresh_view(r, k), box)


def pick_preset(name: str, outputs: int) -> tuple:
    """Every control for the preset `name`; the Stages tab's entry changes none of the `outputs` (its
    numbers are already there)."""
    if name not in PRESET_NAMES:
        return (gr.skip(),) * outputs
    return load_settings({**preset(name), "preset": name})


# --- Play / Pause and the timer's ticks ------------------------------------------------------------

def play_or_pause(state: dict, current, *controls) -> tuple:
    """Pause when playing; otherwise play from the step shown (from the start when it is the last).
    Returns the timer, the button, the step and its frame."""
    if state["on"]:
        state["on"] = False
        return gr.Timer(active=False), gr.Button(PLAY), gr.skip(), gr.skip()
    try:
        r = compute(slide_settings(*controls))
    except ValueError:                          # its message is already beside the control at fault
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    k = _clamp(current, len(r))
    if k >= len(r):                                   # at the end: play again from the start
        k = 1
    state["on"] = True
    return gr.Timer(active=True), gr.Button(PAUSE), k, r.frame(k - 1)


def tick(state: dict, current, *controls) -> tuple:
    """The next step and its frame; the timer stops at the last step, or when the settings went bad.
    Returns the step, its frame, the timer and the button."""
    if not state["on"]:                               # a tick sent before the Pause
        return (gr.skip(),) * 4
    try:
        r = compute(slide_settings(*controls))
    except ValueError:
        state["on"] = False
        return gr.skip(), gr.skip(), gr.Timer(active=False), gr.Button(PLAY)
    k = min(_clamp(current, len(r)) + 1, len(r))
    out = (k, r.frame(k - 1))
    if k >= len(r):
        state["on"] = False
        return (*out, gr.Timer(active=False), gr.Button(PLAY))
    return (*out, gr.skip(), gr.skip())


# --- the tab: its components, laid out, then wired -------------------------------------------------

@dataclass(frozen=True)
class KernelTab:
    """The tab's components. Other tabs use its matrix (the Architecture tab's other layers run on it)
    and `controls`, the outputs a preset fills, in load_settings' order (the Stages tab's "Animate this")."""
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
    play: gr.Button
    back: gr.Button
    forward: gr.Button
    step: SliderInput
    speed: SliderInput
    timer: gr.Timer
    playing: gr.State
    frame: gr.Image
    info: gr.Markdown
    gif_button: gr.Button
    gif_file: gr.File
    code: gr.Code
    code_download: gr.DownloadButton

    @property
    def settings(self) -> list:
        """The nine settings controls, in SETTING_NAMES' order."""
        return [self.matrix, self.kernel, self.op, self.pool_size, self.stride, self.padding, self.dilation,
                self.bias, self.ceil_mode]

    @property
    def view(self) -> list:
        """What fresh_view and kept_view fill, in their order."""
        return [self.frame, self.info, self.code, self.step, self.code_download, self.stale, self.matrix_msg,
                self.kernel_msg, self.settings_msg]

    @property
    def controls(self) -> list:
        return (self.settings + [self.note, self.matrix_rows, self.matrix_cols, self.kernel_rows, self.kernel_cols]
                + self.view + [self.preset])


def build() -> KernelTab:
    tab = layout()
    wire(tab)
    return tab


def layout() -> KernelTab:
    """The tab's components, showing the first preset."""
    first = preset(PRESET_NAMES[0])
    r0 = compute(slide_settings(*(first[name] for name in SETTING_NAMES)))
    gr.HTML(f"<style>{STYLE}</style>", elem_id="kernel_style")     # styles the page, takes no room
    gr.Markdown(
        "Type your own numbers, pick a kernel or a pooling window, and watch it slide exactly as "
        "PyTorch computes it: each step multiplies the window by the kernel and adds up the products "
        "(or takes the max / the mean). Numbers count from 1 here; PyTorch's indices start at 0."
    )
    with gr.Row(equal_height=False):
        tables = _tables(first)
        settings = _settings_column(first)
    return KernelTab(**tables, **settings, **_player(r0), **_results(r0))


def _tables(first: dict) -> dict:
    """The matrix and the kernel, each with its message box and its size sliders."""
    with gr.Column(scale=3, min_width=320):
        matrix = gr.Dataframe(value=first["matrix"], headers=[str(c + 1) for c in range(len(first["matrix"][0]))],
                              type="array", datatype="number", interactive=True,
                              label="Input matrix (edit any cell)", show_row_numbers=True,
                              max_height=420, key="kernel_matrix", elem_id="kernel_matrix")
        matrix_msg = gr.HTML("", visible=False, elem_id="kernel_matrix_msg")
        with gr.Row():
            matrix_rows = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input rows", elem_id="kernel_rows")
            matrix_cols = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input columns", elem_id="kernel_cols")
    with gr.Column(scale=2, min_width=260):
        kernel = gr.Dataframe(value=first["kernel"], headers=["1", "2"], type="array",
                              datatype="number", interactive=True, show_row_numbers=True, wrap=True,
                              label="Kernel (weights)", max_height=300, key="kernel_weights",
                              elem_id="kernel_weights")
        kernel_msg = gr.HTML("", visible=False, elem_id="kernel_weights_msg")
        with gr.Row() as kernel_size_row:
            kernel_rows = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel rows")
            kernel_cols = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel columns")
    return dict(matrix=matrix, matrix_msg=matrix_msg, matrix_rows=matrix_rows, matrix_cols=matrix_cols,
                kernel=kernel, kernel_msg=kernel_msg, kernel_size_row=kernel_size_row, kernel_rows=kernel_rows,
                kernel_cols=kernel_cols)


def _settings_column(first: dict) -> dict:
    """The preset box and its note, the operation and its settings, and their message box."""
    with gr.Column(scale=2, min_width=280):
        preset_box = gr.Dropdown(list(PRESET_NAMES), value=PRESET_NAMES[0], label="Preset",
                                 elem_id="kernel_preset")
        note = gr.Markdown(first["note"])
        op = gr.Radio(OP_CHOICES, value="conv", label="Operation")
        with gr.Row():
            pool_size = gr.Dropdown(PAIR_CHOICES[1:], value="2", allow_custom_value=True,
                                    label="Pooling window (k or h,w)", visible=False)
            stride = gr.Dropdown(PAIR_CHOICES[1:], value="2", allow_custom_value=True,
                                 label="Stride (s or h,w)")
            padding = gr.Dropdown(PAIR_CHOICES, value="0", allow_custom_value=True,
                                  label="Padding (p or h,w)")
            dilation = gr.Dropdown(PAIR_CHOICES[1:], value="1", allow_custom_value=True,
                                   label="Dilation (d or h,w)")
        with gr.Row():
            bias = gr.Number(0.0, label="Bias (added to every output)")  # slide() names a bad bias itself
            ceil_mode = gr.Checkbox(False, label="ceil_mode (round the size up)", visible=False)
        settings_msg = gr.HTML("", visible=False, elem_id="kernel_settings_msg")
    return dict(preset=preset_box, note=note, op=op, pool_size=pool_size, stride=stride, padding=padding,
                dilation=dilation, bias=bias, ceil_mode=ceil_mode, settings_msg=settings_msg)


def _player(r0: FrameRenderer) -> dict:
    """The stale note, Play / Pause, the step buttons, the step and speed sliders, and the timer."""
    stale = gr.HTML("", visible=False, elem_id="kernel_stale")
    with gr.Row(equal_height=True, elem_id="kernel_buttons"):
        play = gr.Button(PLAY, variant="primary", scale=1, min_width=130, elem_id="kernel_play")
        back = gr.Button("◀ Step back", scale=1, min_width=130, elem_id="kernel_back")
        forward = gr.Button("Step forward ▶", scale=1, min_width=150, elem_id="kernel_forward")
        step = SliderInput(1, max(len(r0), 2), value=1, step=1, label=f"Step (1 to {len(r0)})", scale=4,
                           elem_id="kernel_step")
        speed = SliderInput(0.5, 10, value=DEFAULT_SPEED, step=0.5, label="Speed (steps per second)", scale=2,
                            elem_id="kernel_speed")
    timer = gr.Timer(1 / DEFAULT_SPEED, active=False)
    # a dict changed in place: a tick queued before a Pause sees it when it runs
    playing = gr.State({"on": False})
    return dict(stale=stale, play=play, back=back, forward=forward, step=step, speed=speed, timer=timer,
                playing=playing)


def _results(r0: FrameRenderer) -> dict:
    """The frame, the formula in words, the GIF, and the PyTorch code with its download."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            frame = gr.Image(r0.frame(0), type="pil", format="png", label="Step by step", show_label=False,
                             interactive=False, buttons=["fullscreen", "download"], elem_id="kernel_frame")
        with gr.Column(scale=2, min_width=300):
            info = gr.Markdown(describe(r0.s), elem_id="kernel_info")
            gif_button = gr.Button("Make a GIF of the whole animation")
            gif_file = gr.File(label="GIF of the animation", interactive=False, height=90)
    code = gr.Code(pytorch_code(r0.s), language="python", interactive=False, buttons=["copy"],
                   label="PyTorch code that gives the same output", elem_id="kernel_code")
    code_download = gr.DownloadButton(f"Download the code: {code_file_name(r0.s)}", value=code_file(r0.s),
                                      size="sm", elem_id="kernel_code_download")
    return dict(frame=frame, info=info, gif_button=gif_button, gif_file=gif_file, code=code,
                code_download=code_download)


def wire(tab: KernelTab) -> None:
    """Every event of the tab, in the order Gradio numbers them (the API's endpoints first)."""
    _wire_api(tab)
    _wire_settings(tab)
    _wire_steps(tab)
    _wire_play(tab)
    # progress shows on the button: a refusal is then one message, and the last GIF made stays shown
    tab.gif_button.click(make_gif, [tab.speed] + tab.settings, tab.gif_file, api_name="kernel_gif",
                         show_progress="minimal", show_progress_on=tab.gif_button, **MODEL_QUEUE)


def _wire_api(tab: KernelTab) -> None:
    # The API's endpoints first, called by name and never by the page. Gradio's front end (6.31) checks
    # the first event's arguments against /predict's two: a page event there warns "Too many arguments
    # provided for the endpoint." in the browser's console on every call.
    gr.on([], run_slide, tab.settings, [tab.frame, tab.info, tab.code, tab.step], api_name="slide", **MODEL_QUEUE)
    gr.on([], show_step, [tab.step] + tab.settings, [tab.step, tab.frame], api_name="kernel_step")


def _wire_settings(tab: KernelTab) -> None:
    """A changed setting, operation, preset or table size redraws the view."""
    # Every event that redraws the view goes through the one queue, first come first served: leaving a
    # box and then picking a preset must not let the older answer land last.
    gr.on([tab.matrix.input, tab.kernel.input, tab.op.input, tab.pool_size.input, tab.pool_size.blur,
           tab.stride.input, tab.stride.blur, tab.padding.input, tab.padding.blur, tab.dilation.input,
           tab.dilation.blur, tab.bias.submit, tab.bias.blur, tab.ceil_mode.input],
          slide_view, tab.settings, tab.view, api_name="kernel_view", api_visibility="private",
          trigger_mode="always_last", **MODEL_QUEUE)
    tab.op.change(op_controls, tab.op, [tab.kernel, tab.kernel_size_row, tab.pool_size, tab.bias, tab.ceil_mode],
                  api_name="kernel_op_controls", api_visibility="private")
    controls = tab.controls
    tab.preset.select(lambda name: pick_preset(name, len(controls)), tab.preset, controls,  # once per pick
                      api_name="kernel_preset", api_visibility="private", **MODEL_QUEUE)
    sizes = [tab.matrix, tab.matrix_rows, tab.matrix_cols]
    for slider, axis in ((tab.matrix_rows, "rows"), (tab.matrix_cols, "cols")):
        slider.input(resize_matrix, sizes + tab.settings[1:], [tab.matrix] + tab.view,
                     api_name=f"kernel_resize_matrix_{axis}", api_visibility="private", trigger_mode="always_last",
                     **MODEL_QUEUE)
    sizes = [tab.kernel, tab.kernel_rows, tab.kernel_cols, tab.matrix]
    for slider, axis in ((tab.kernel_rows, "rows"), (tab.kernel_cols, "cols")):
        slider.input(resize_kernel, sizes + tab.settings[2:], [tab.kernel] + tab.view,
                     api_name=f"kernel_resize_kernel_{axis}", api_visibility="private", trigger_mode="always_last",
                     **MODEL_QUEUE)


def _wire_steps(tab: KernelTab) -> None:
    inputs = [tab.step] + tab.settings
    # typing + Enter, leaving the box, dragging and the arrow keys all send `input`
    tab.step.input(lambda k, *s: step_view(k, *s)[1], inputs, tab.frame, api_name="kernel_step_view",
                   api_visibility="private", trigger_mode="always_last")
    tab.back.click(lambda k, *s: step_view(_clamp(k, 10 ** 6) - 1, *s), inputs, [tab.step, tab.frame],
                   api_name="kernel_step_back", api_visibility="private")
    tab.forward.click(lambda k, *s: step_view(_clamp(k, 10 ** 6) + 1, *s), inputs, [tab.step, tab.frame],
                      api_name="kernel_step_forward", api_visibility="private")


def _wire_play(tab: KernelTab) -> None:
    # Play/Pause and the ticks take turns: a tick's frame is drawn, encoded and sent before a Pause
    # runs, so no step arrives after the button reads Play again.
    animation = dict(concurrency_id="kernel_animation", concurrency_limit=1)
    inputs = [tab.playing, tab.step] + tab.settings
    tab.play.click(play_or_pause, inputs, [tab.timer, tab.play, tab.step, tab.frame],
                   api_name="kernel_play", api_visibility="private", **animation)
    tab.timer.tick(tick, inputs, [tab.step, tab.frame, tab.timer, tab.play],
                   api_name="kernel_tick", api_visibility="private", trigger_mode="always_last", **animation)
    tab.speed.input(lambda v: gr.Timer(value=1 / max(float(v), 0.5)), tab.speed, tab.timer,
                    api_name="kernel_speed", api_visibility="private", trigger_mode="always_last")
