"""The Kernel tab's settings: the nine controls' values checked once, the renderer they share, and
what the tab says and writes about a Slide (the size formula in words, the PyTorch code as a file)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from gradio.utils import get_upload_folder

from explorer.core.recent import Recent
from explorer.core.sliding import MAX_SIDE, OP_NAMES, Slide, SlideSettings, pytorch_code, replay
from explorer.core.state import STORES
from explorer.drawing.kernel_frames import FrameRenderer

OP_CHOICES = [("Convolution", "conv"), ("Max pooling", "max"), ("Average pooling", "avg")]
PAIR_CHOICES = ["0", "1", "2", "3", "4", "5", "1,2", "2,1", "2,3", "3,2"]
DEFAULT_SPEED = 2.0            # steps per second

# The settings by their /slide parameter name, and the KernelTab field of the control holding each.
SETTING_FIELDS = dict(matrix="matrix", kernel="kernel", op="op", kernel_size="pool_size", stride="stride",
                      padding="padding", dilation="dilation", bias="bias", ceil_mode="ceil_mode")
SETTING_NAMES = tuple(SETTING_FIELDS)

# A renderer keeps three pictures of the frame's size (up to 58 MB at 32x32 with padding 16): the store is
# bounded in bytes too, so sixteen large settings in a row cannot keep close to a gigabyte.
_RENDERERS = STORES.register("kernel.renderers", Recent(max_entries=16, max_bytes=256 << 20, size_of=lambda r: 3 * 3 * r.width * r.height),
                             "frame renderers of recent slides: stepping through frames redraws nothing")


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


def settings_of(values: dict) -> SlideSettings:
    """slide_settings of a page event's values, keyed by KernelTab field name."""
    return slide_settings(**{name: values[field] for name, field in SETTING_FIELDS.items()})


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


def clamp(step, n: int) -> int:
    """`step` as a whole number from 1 to n (1 when it is no number)."""
    try:
        k = int(step)
    except (TypeError, ValueError):
        k = 1
    return min(max(k, 1), n)


def frame_at(settings: SlideSettings, step) -> tuple:
    """(step, its frame): `step` clamped to the steps there are."""
    r = compute(settings)
    k = clamp(step, len(r))
    return k, r.frame(k - 1)


def resize(table, rows, cols, name: str) -> list[list]:
    """The table cut or grown (with zeros) to rows x cols, keeping what the learner typed."""
    data = _rows(table, name)
    rows, cols = min(max(int(rows), 1), MAX_SIDE), min(max(int(cols), 1), MAX_SIDE)
    out = [[0] * cols for _ in range(rows)]
    for r, row in enumerate(list(data)[:rows]):
        for c, v in enumerate(list(row)[:cols]):
            out[r][c] = v
    return out


def _pair_text(pair) -> str:
    a, b = pair if isinstance(pair, (list, tuple)) else (pair, pair)
    return str(a) if a == b else f"{a},{b}"


SHOWN_DIGITS = 4              # significant digits of the numbers a Stages tab's unit brings


def _short(table):
    """The table's numbers rounded to SHOWN_DIGITS significant digits (None stays None): the tables show
    them whole, and the animation computes with exactly what they show."""
    if table is None:
        return None
    return [[float(f"{float(v):.{SHOWN_DIGITS}g}") for v in row] for row in table]


def settings_from_unit(k: dict, note: str) -> dict:
    """Preset-like settings from explorer.core.bridge's Unit.kernel_tab(), with `note` saying where they
    came from; the numbers rounded to SHOWN_DIGITS significant digits (the note says so)."""
    note += f"\n\nThe numbers are rounded to {SHOWN_DIGITS} significant digits."
    return dict(matrix=_short(k["matrix"]), kernel=_short(k["kernel"]), op=k["op"],
                kernel_size=_pair_text(k["kernel_size"] or 2), stride=_pair_text(k["stride"]), padding="0",
                dilation=_pair_text(k["dilation"]), bias=0.0, ceil_mode=False, note=note, position=k["position"])


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
    path = gradio_cache() / "kernel-code" / hashlib.sha256(text.encode()).hexdigest()[:16] / code_file_name(s)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)


def gradio_cache() -> Path:
    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    return folder
