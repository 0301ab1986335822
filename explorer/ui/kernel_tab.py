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
from explorer.core.gpu import MODEL_QUEUE
from explorer.ui.gradio_patches import abandoned
from explorer.drawing.kernel_frames import FrameRenderer, GifStopped
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.ui.number_inputs import SliderInput
from explorer.core.recent import Recent
from explorer.core.sliding import MAX_SIDE, OP_NAMES, Slide, pytorch_code, slide
from explorer.core.state import STORES

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


def compute(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode) -> FrameRenderer:
    """The renderer of these settings (cached: the timer asks for one frame at a time).

    Controls hidden for the chosen operation are ignored: the kernel table and bias for pooling,
    the pooling window size and ceil_mode for convolution."""
    key = repr((matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode))
    found = _RENDERERS.get(key)
    if found is not None:
        return found
    if op not in OP_NAMES:
        raise ValueError(f"op: must be one of {', '.join(OP_NAMES)}, got {op!r}")
    if op == "conv":
        s = slide(_rows(matrix), _rows(kernel, "kernel"), op="conv", stride=stride, padding=padding,
                  dilation=dilation, bias=0.0 if bias is None else bias)
    else:
        s = slide(_rows(matrix), op=op, kernel_size=kernel_size, stride=stride, padding=padding,
                  dilation=dilation, ceil_mode=bool(ceil_mode))
    renderer = FrameRenderer(s)
    _RENDERERS.put(key, renderer)
    return renderer


def _rows(table, name: str = "matrix"):
    """The table's rows, whichever form the Dataframe (or an API caller) sends."""
    if isinstance(table, dict) and "data" in table:         # {"headers": [...], "data": [[...]]}
        table = table["data"]
    if table is None:
        raise ValueError(f"{name} is empty")
    return table


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


def _error(e: ValueError) -> gr.Error:
    return gr.Error(str(e), title="Please check the input")


def run_slide(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Step 1 of the animation, the size formula and unused input in words, the PyTorch code, and
    the step slider reset to 1 of N."""
    try:
        r = compute(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
    except ValueError as e:
        raise _error(e) from None
    n = len(r)
    return r.frame(0), describe(r.s), pytorch_code(r.s), gr.Slider(minimum=1, maximum=max(n, 2), value=1,
                                                                    label=f"Step (1 to {n})")


def show_step(step, matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Frame `step` (1-based, clamped to the steps there are) of these settings' animation."""
    try:
        r = compute(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
    except ValueError as e:
        raise _error(e) from None
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
        r = compute(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
        budgets.check_gif(len(r), r.width, r.height)
    except ValueError as e:
        raise _error(e) from None
    folder = Path(tempfile.mkdtemp(prefix="kernel-gif-", dir=_gradio_cache()))
    step_ms = int(1000 / max(0.5, min(float(speed or DEFAULT_SPEED), 20)))
    try:
        return str(r.gif(folder / f"{r.s.op}_{len(r)}_steps.gif", step_ms=step_ms,
                         keep_going=lambda: not abandoned(request)))
    except GifStopped as stopped:
        raise gr.Error(f"{stopped}: nobody was waiting for it.", title="Cancelled") from None
    finally:
        if not any(folder.iterdir()):
            folder.rmdir()


def _gradio_cache() -> Path:
    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resize(table, rows, cols, name: str) -> list[list]:
    """The table cut or grown (with zeros) to rows x cols, keeping what the learner typed."""
    data = _rows(table, name)
    rows, cols = min(max(int(rows), 1), MAX_SIDE), min(max(int(cols), 1), MAX_SIDE)
    out = [[0] * cols for _ in range(rows)]
    for r, row in enumerate(list(data)[:rows]):
        for c, v in enumerate(list(row)[:cols]):
            out[r][c] = v
    return out


def _table(values) -> gr.Dataframe:
    values = np.asarray(values, dtype=object).tolist()
    cols = len(values[0]) if values else 0
    return gr.Dataframe(value=values, headers=[str(c + 1) for c in range(cols)])


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
        r = compute(p["matrix"], p["kernel"], p["op"], p["kernel_size"], p["stride"], p["padding"],
                    p["dilation"], p["bias"], p["ceil_mode"])
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


# --- what the browser's events get back: a fresh view, or the last good one kept -------------------

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


def slide_view(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode) -> tuple:
    """The browser's answer to a change of settings: step 1 of the new animation, or the last good
    result kept and the one message beside the control at fault (no toast)."""
    try:
        r = compute(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
    except ValueError as e:
        return kept_view(str(e))
    return fresh_view(r)


def step_view(step, *settings):
    """The frame at `step` of the settings' animation; nothing changes while the settings are bad
    (their message is already beside the control at fault)."""
    try:
        return show_step(step, *settings)
    except gr.Error:
        return gr.skip(), gr.skip()


@dataclass(frozen=True)
class KernelTab:
    """What other tabs use of the Kernel tab: its matrix (the Architecture tab's other layers run on it)
    and `controls`, the outputs a preset fills, in on_preset's order (the Stages tab's "Animate this")."""
    matrix: gr.Dataframe
    controls: list


def build() -> KernelTab:
    first = preset(PRESET_NAMES[0])
    r0 = compute(first["matrix"], first["kernel"], first["op"], first["kernel_size"], first["stride"],
                 first["padding"], first["dilation"], first["bias"], first["ceil_mode"])
    gr.HTML(f"<style>{STYLE}</style>", elem_id="kernel_style")     # styles the page, takes no room
    gr.Markdown(
        "Type your own numbers, pick a kernel or a pooling window, and watch it slide exactly as "
        "PyTorch computes it: each step multiplies the window by the kernel and adds up the products "
        "(or takes the max / the mean). Numbers count from 1 here; PyTorch's indices start at 0."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            matrix = gr.Dataframe(value=first["matrix"], headers=[str(c + 1) for c in range(len(first["matrix"][0]))],
                                  type="array", datatype="number", interactive=True,
                                  label="Input matrix (edit any cell)", show_row_numbers=True,
                                  max_height=420, key="kernel_matrix", elem_id="kernel_matrix")
            matrix_msg = gr.HTML("", visible=False, elem_id="kernel_matrix_msg")
            with gr.Row():
                m_rows = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input rows", elem_id="kernel_rows")
                m_cols = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input columns", elem_id="kernel_cols")
        with gr.Column(scale=2, min_width=260):
            kernel = gr.Dataframe(value=first["kernel"], headers=["1", "2"], type="array",
                                  datatype="number", interactive=True, show_row_numbers=True, wrap=True,
                                  label="Kernel (weights)", max_height=300, key="kernel_weights",
                                  elem_id="kernel_weights")
            kernel_msg = gr.HTML("", visible=False, elem_id="kernel_weights_msg")
            with gr.Row() as kernel_size_row:
                k_rows = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel rows")
                k_cols = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel columns")
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

    settings = [matrix, kernel, op, pool_size, stride, padding, dilation, bias, ceil_mode]
    view = [frame, info, code, step, code_download, stale, matrix_msg, kernel_msg, settings_msg]

    # The API's endpoints first, called by name and never by the page. Gradio's front end (6.31) checks
    # the first event's arguments against /predict's two: a page event there warns "Too many arguments
    # provided for the endpoint." in the browser's console on every call.
    gr.on([], run_slide, settings, [frame, info, code, step], api_name="slide", **MODEL_QUEUE)
    gr.on([], show_step, [step] + settings, [step, frame], api_name="kernel_step")

    # Every event that redraws the view goes through the one queue, first come first served: leaving a
    # box and then picking a preset must not let the older answer land last.
    gr.on([matrix.input, kernel.input, op.input, pool_size.input, pool_size.blur, stride.input, stride.blur,
           padding.input, padding.blur, dilation.input, dilation.blur, bias.submit, bias.blur, ceil_mode.input],
          slide_view, settings, view, api_name="kernel_view", api_visibility="private",
          trigger_mode="always_last", **MODEL_QUEUE)

    def on_op(op_value):
        conv = op_value == "conv"
        return (gr.Dataframe(visible=conv), gr.Row(visible=conv), gr.Dropdown(visible=not conv),
                gr.Number(visible=conv), gr.Checkbox(visible=not conv))
    op.change(on_op, op, [kernel, kernel_size_row, pool_size, bias, ceil_mode],
              api_name="kernel_op_controls", api_visibility="private")

    loaded = settings + [note, m_rows, m_cols, k_rows, k_cols] + view + [preset_box]

    def on_preset(name):
        if name not in PRESET_NAMES:            # the Stages tab's entry: its numbers are already there
            return (gr.skip(),) * len(loaded)
        return load_settings({**preset(name), "preset": name})
    preset_box.input(on_preset, preset_box, loaded, api_name="kernel_preset", api_visibility="private",
                     **MODEL_QUEUE)

    def on_resize_matrix(table, rows, cols, *rest):
        new = resize(table, rows, cols, "matrix")
        return _table(new), *slide_view(new, *rest)
    for slider in (m_rows, m_cols):
        slider.input(on_resize_matrix, [matrix, m_rows, m_cols] + settings[1:], [matrix] + view,
                     api_name=f"kernel_resize_matrix_{'rows' if slider is m_rows else 'cols'}",
                     api_visibility="private", trigger_mode="always_last", **MODEL_QUEUE)

    def on_resize_kernel(table, rows, cols, m, *rest):
        new = resize(table, rows, cols, "kernel")
        return _table(new), *slide_view(m, new, *rest)
    for slider in (k_rows, k_cols):
        slider.input(on_resize_kernel, [kernel, k_rows, k_cols, matrix] + settings[2:], [kernel] + view,
                     api_name=f"kernel_resize_kernel_{'rows' if slider is k_rows else 'cols'}",
                     api_visibility="private", trigger_mode="always_last", **MODEL_QUEUE)

    # typing + Enter, leaving the box, dragging and the arrow keys all send `input`
    step.input(lambda k, *s: step_view(k, *s)[1], [step] + settings, frame, api_name="kernel_step_view",
               api_visibility="private", trigger_mode="always_last")
    back.click(lambda k, *s: step_view(_clamp(k, 10 ** 6) - 1, *s), [step] + settings, [step, frame],
               api_name="kernel_step_back", api_visibility="private")
    forward.click(lambda k, *s: step_view(_clamp(k, 10 ** 6) + 1, *s), [step] + settings, [step, frame],
                  api_name="kernel_step_forward", api_visibility="private")

    def on_play(state, current, *s):
        if state["on"]:
            state["on"] = False
            return gr.Timer(active=False), gr.Button(PLAY), gr.skip(), gr.skip()
        try:
            r = compute(*s)
        except ValueError:                          # its message is already beside the control at fault
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        k = _clamp(current, len(r))
        if k >= len(r):                                   # at the end: play again from the start
            k = 1
        state["on"] = True
        return gr.Timer(active=True), gr.Button(PAUSE), k, r.frame(k - 1)
    # Play/Pause and the ticks take turns: a tick's frame is drawn, encoded and sent before a Pause
    # runs, so no step arrives after the button reads Play again.
    animation = dict(concurrency_id="kernel_animation", concurrency_limit=1)
    play.click(on_play, [playing, step] + settings, [timer, play, step, frame],
               api_name="kernel_play", api_visibility="private", **animation)

    def on_tick(state, current, *s):
        if not state["on"]:                               # a tick sent before the Pause
            return (gr.skip(),) * 4
        try:
            r = compute(*s)
        except ValueError:
            state["on"] = False
            return gr.skip(), gr.skip(), gr.Timer(active=False), gr.Button(PLAY)
        k = min(_clamp(current, len(r)) + 1, len(r))
        out = (k, r.frame(k - 1))
        if k >= len(r):
            state["on"] = False
            return (*out, gr.Timer(active=False), gr.Button(PLAY))
        return (*out, gr.skip(), gr.skip())
    timer.tick(on_tick, [playing, step] + settings, [step, frame, timer, play],
               api_name="kernel_tick", api_visibility="private", trigger_mode="always_last", **animation)

    speed.input(lambda v: gr.Timer(value=1 / max(float(v), 0.5)), speed, timer,
                api_name="kernel_speed", api_visibility="private", trigger_mode="always_last")
    # progress shows on the button: a refusal is then one message, and the last GIF made stays shown
    gif_button.click(make_gif, [speed] + settings, gif_file, api_name="kernel_gif", show_progress="minimal",
                     show_progress_on=gif_button, **MODEL_QUEUE)
    return KernelTab(matrix=matrix, controls=loaded)
