"""The Kernel tab: a kernel or pooling window sliding over the learner's own matrix, step by step."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from explorer import budgets
from explorer.gpu import MODEL_QUEUE
from explorer.gradio_patches import abandoned
from explorer.kernel_frames import FrameRenderer, GifStopped
from explorer.kernel_presets import PRESET_NAMES, preset
from explorer.number_inputs import SliderInput
from explorer.recent import Recent
from explorer.sliding import MAX_SIDE, OP_NAMES, Slide, pytorch_code, slide

TITLE = "Kernel"

OP_CHOICES = [("Convolution", "conv"), ("Max pooling", "max"), ("Average pooling", "avg")]
PAIR_CHOICES = ["0", "1", "2", "3", "4", "5", "1,2", "2,1", "2,3", "3,2"]
DEFAULT_SPEED = 2.0            # steps per second

# A renderer keeps three pictures of the frame's size (up to 58 MB at 32x32 with padding 16): the store is
# bounded in bytes too, so sixteen large settings in a row cannot keep close to a gigabyte.
_RENDERERS = Recent(max_entries=16, max_bytes=256 << 20, size_of=lambda r: 3 * 3 * r.width * r.height)


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
    """Preset-like settings from explorer.bridge's Unit.kernel_tab(), with `note` saying where they came from."""
    return dict(matrix=k["matrix"], kernel=k["kernel"], op=k["op"],
                kernel_size=_pair_text(k["kernel_size"] or 2), stride=_pair_text(k["stride"]), padding="0",
                dilation=_pair_text(k["dilation"]), bias=0.0, ceil_mode=False, note=note, position=k["position"])


def load_settings(p: dict) -> tuple:
    """Every control of the tab for preset-like settings `p`, and the animation at p["position"] (the
    output cell, 0-based; default the first): the values for settings + [note, sizes] + shown."""
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
    return (_table(p["matrix"]), tables[0], p["op"], p["kernel_size"], p["stride"], p["padding"], p["dilation"],
            p["bias"], p["ceil_mode"], note, m.shape[0], m.shape[1], tables[1], tables[2],
            r.frame(k - 1), describe(r.s), pytorch_code(r.s),
            gr.Slider(minimum=1, maximum=max(len(r), 2), value=k, label=f"Step (1 to {len(r)})"))


def build(shared: dict) -> None:
    first = preset(PRESET_NAMES[0])
    r0 = compute(first["matrix"], first["kernel"], first["op"], first["kernel_size"], first["stride"],
                 first["padding"], first["dilation"], first["bias"], first["ceil_mode"])
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
                                  max_height=420, key="kernel_matrix")
            with gr.Row():
                m_rows = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input rows")
                m_cols = SliderInput(1, MAX_SIDE, value=4, step=1, label="Input columns")
        with gr.Column(scale=2, min_width=260):
            kernel = gr.Dataframe(value=first["kernel"], headers=["1", "2"], type="array",
                                  datatype="number", interactive=True, show_row_numbers=True,
                                  label="Kernel (weights)", max_height=300, key="kernel_weights")
            with gr.Row() as kernel_size_row:
                k_rows = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel rows")
                k_cols = SliderInput(1, MAX_SIDE, value=2, step=1, label="Kernel columns")
        with gr.Column(scale=2, min_width=280):
            preset_box = gr.Dropdown(list(PRESET_NAMES), value=PRESET_NAMES[0], label="Preset")
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
                bias = gr.Number(0.0, label="Bias (added to every output)")  # run_slide names a bad bias itself
                ceil_mode = gr.Checkbox(False, label="ceil_mode (round the size up)", visible=False)

    with gr.Row(equal_height=True):
        play = gr.Button("▶ Play", variant="primary", scale=1, min_width=100)
        back = gr.Button("◀ Step back", scale=1, min_width=100)
        forward = gr.Button("Step forward ▶", scale=1, min_width=100)
        step = SliderInput(1, max(len(r0), 2), value=1, step=1, label=f"Step (1 to {len(r0)})", scale=4)
        speed = SliderInput(0.5, 10, value=DEFAULT_SPEED, step=0.5, label="Speed (steps per second)", scale=2)
    timer = gr.Timer(1 / DEFAULT_SPEED, active=False)
    playing = gr.State(False)

    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            frame = gr.Image(r0.frame(0), type="pil", format="png", label="Step by step", show_label=False,
                             interactive=False, buttons=["fullscreen", "download"], elem_id="kernel_frame")
        with gr.Column(scale=2, min_width=300):
            info = gr.Markdown(describe(r0.s))
            gif_button = gr.Button("Make a GIF of the whole animation")
            gif_file = gr.File(label="GIF of the animation", interactive=False, height=90)
    code = gr.Code(pytorch_code(r0.s), language="python", interactive=False,
                   label="PyTorch code that gives the same output")

    settings = [matrix, kernel, op, pool_size, stride, padding, dilation, bias, ceil_mode]
    shown = [frame, info, code, step]
    shared["matrix"] = matrix

    gr.on([matrix.input, kernel.input, op.input, pool_size.input, stride.input, padding.input,
           dilation.input, bias.submit, bias.blur, ceil_mode.input],
          run_slide, settings, shown, api_name="slide", trigger_mode="always_last", **MODEL_QUEUE)

    def on_op(op_value):
        conv = op_value == "conv"
        return (gr.Dataframe(visible=conv), gr.Row(visible=conv), gr.Dropdown(visible=not conv),
                gr.Number(visible=conv), gr.Checkbox(visible=not conv))
    op.change(on_op, op, [kernel, kernel_size_row, pool_size, bias, ceil_mode],
              api_name="kernel_op_controls", api_visibility="private")

    loaded = settings + [note, m_rows, m_cols, k_rows, k_cols] + shown
    shared["kernel_controls"] = loaded + [preset_box]   # the Stages tab's "Animate this" fills them
    preset_box.input(lambda name: load_settings(preset(name)), preset_box, loaded,
                     api_name="kernel_preset", api_visibility="private")

    def on_resize_matrix(table, rows, cols, *rest):
        new = resize(table, rows, cols, "matrix")
        return _table(new), *run_slide(new, *rest)
    for slider in (m_rows, m_cols):
        slider.release(on_resize_matrix, [matrix, m_rows, m_cols] + settings[1:], [matrix] + shown,
                       api_name=f"kernel_resize_matrix_{'rows' if slider is m_rows else 'cols'}",
                       api_visibility="private")

    def on_resize_kernel(table, rows, cols, m, *rest):
        new = resize(table, rows, cols, "kernel")
        return _table(new), *run_slide(m, new, *rest)
    for slider in (k_rows, k_cols):
        slider.release(on_resize_kernel, [kernel, k_rows, k_cols, matrix] + settings[2:], [kernel] + shown,
                       api_name=f"kernel_resize_kernel_{'rows' if slider is k_rows else 'cols'}",
                       api_visibility="private")

    step.release(show_step, [step] + settings, [step, frame], api_name="kernel_step")

    back.click(lambda k, *s: show_step(_clamp(k, 10 ** 6) - 1, *s), [step] + settings, [step, frame],
               api_name="kernel_step_back", api_visibility="private")
    forward.click(lambda k, *s: show_step(_clamp(k, 10 ** 6) + 1, *s), [step] + settings, [step, frame],
                  api_name="kernel_step_forward", api_visibility="private")

    def on_play(is_playing, current, *s):
        if is_playing:
            return False, gr.Timer(active=False), gr.Button("▶ Play"), gr.skip(), gr.skip()
        try:
            r = compute(*s)
        except ValueError as e:
            raise _error(e) from None
        k = _clamp(current, len(r))
        if k >= len(r):                                   # at the end: play again from the start
            k = 1
        return True, gr.Timer(active=True), gr.Button("⏸ Pause"), k, r.frame(k - 1)
    play.click(on_play, [playing, step] + settings, [playing, timer, play, step, frame],
               api_name="kernel_play", api_visibility="private")

    def on_tick(current, *s):
        try:
            r = compute(*s)
        except ValueError:                                # the edit that broke it already said why
            return gr.skip(), gr.skip(), False, gr.Timer(active=False), gr.Button("▶ Play")
        k = _clamp(current, len(r)) + 1
        if k >= len(r):
            return len(r), r.frame(len(r) - 1), False, gr.Timer(active=False), gr.Button("▶ Play")
        return k, r.frame(k - 1), gr.skip(), gr.skip(), gr.skip()
    timer.tick(on_tick, [step] + settings, [step, frame, playing, timer, play],
               api_name="kernel_tick", api_visibility="private", trigger_mode="always_last")

    speed.release(lambda v: gr.Timer(value=1 / max(float(v), 0.5)), speed, timer,
                  api_name="kernel_speed", api_visibility="private")
    # progress shows on the button: a refusal is then one message, and the last GIF made stays shown
    gif_button.click(make_gif, [speed] + settings, gif_file, api_name="kernel_gif", show_progress="minimal",
                     show_progress_on=gif_button, **MODEL_QUEUE)
