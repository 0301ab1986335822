"""The Kernel tab's settings: the nine controls' values checked once, the renderer they share, and
what the tab says and writes about a Slide (the size formula in words, the PyTorch code as a file)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from gradio.utils import get_upload_folder

from explorer.core.recent import Recent
from explorer.core.sliding import MAX_SIDE, OP_NAMES, Slide, SlideSettings, pytorch_code, replay
from explorer.core.state import STORES
from explorer.core.words import current, say
from explorer.drawing.kernel_frames import FrameRenderer
from explorer.ui.words import t

OP_CHOICES = [(t("Convolution", "卷积"), "conv"), (t("Max pooling", "最大池化"), "max"),
              (t("Average pooling", "平均池化"), "avg")]
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
        raise ValueError(say("op: must be one of {ops}, got {op!r}", "op：应为 {ops} 之一，收到的是 {op!r}",
                             ops=", ".join(OP_NAMES), op=op))
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
        raise ValueError(say("{name} is empty", "{name}：是空的；请至少填一个数", name=name))
    return table


def compute(settings: SlideSettings) -> FrameRenderer:
    """The renderer of these settings, drawing its words in the language spoken (cached: the timer asks
    for one frame at a time); a ValueError when PyTorch refuses them."""
    key = (settings, current())
    found = _RENDERERS.get(key)
    if found is not None:
        return found
    renderer = FrameRenderer(replay(settings))
    _RENDERERS.put(key, renderer)
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
    note += say("\n\nThe numbers are rounded to {n} significant digits.", "\n\n数字四舍五入到 {n} 位有效数字。",
                n=SHOWN_DIGITS)
    return dict(matrix=_short(k["matrix"]), kernel=_short(k["kernel"]), op=k["op"],
                kernel_size=_pair_text(k["kernel_size"] or 2), stride=_pair_text(k["stride"]), padding="0",
                dilation=_pair_text(k["dilation"]), bias=0.0, ceil_mode=False, note=note, position=k["position"])


# --- words and files about a Slide ----------------------------------------------------------------

def describe(s: Slide) -> str:
    """The output-size formula with the user's numbers, and the input no window reads, in words (rows and
    columns counted from 0, as the tables and PyTorch count them)."""
    oh, ow = s.output.shape
    rnd = "ceil" if s.ceil_mode else "floor"
    lines = [say("**Output {oh}x{ow}**, from PyTorch's formula `{rnd}((n + 2p - d(k-1) - 1) / s) + 1`:",
                 "**输出 {oh}x{ow}**，由 PyTorch 的公式 `{rnd}((n + 2p - d(k-1) - 1) / s) + 1` 算出：",
                 oh=oh, ow=ow, rnd=rnd),
             say("- rows: {f}", "- 行：{f}", f=s.formulas[0]), say("- columns: {f}", "- 列：{f}", f=s.formulas[1]), ""]
    parts = []
    if s.unused_rows:
        parts.append(say("row{s} {n}", "第 {n} 行", s="s" * (len(s.unused_rows) > 1), n=_listing(s.unused_rows)))
    if s.unused_cols:
        parts.append(say("column{s} {n}", "第 {n} 列", s="s" * (len(s.unused_cols) > 1), n=_listing(s.unused_cols)))
    if parts:
        lines.append(say("**Never read:** input {parts} (grey in the picture). No window reaches them, and PyTorch "
                         "drops them without a warning. Padding or another stride would bring them in.",
                         "**从未读到：**输入的{parts}（图中灰色）。没有窗口到达那里，PyTorch 会不加提示地丢弃它们。"
                         "加填充或换个步幅就能把它们包括进来。", parts=say(" and ", "和").join(parts)))
    else:
        lines.append(say("Every input cell is read by at least one window.", "每个输入格都至少被一个窗口读到。"))
    if s.op == "max" and any(s.padding):
        lines.append(say("\nMax pooling pads with -inf, so the padding never wins.",
                         "\n最大池化用 -inf 填充，所以填充永远不会被选中。"))
    if s.op == "avg" and any(s.padding):
        lines.append(say("\nAverage pooling counts the padding zeros in the mean (count_include_pad=True).",
                         "\n平均池化把填充的 0 也算进平均值（count_include_pad=True）。"))
    return "\n".join(lines)


def _listing(indices: list[int]) -> str:
    """0-based indices as the tables show them: "0, 1 and 4" ("0、1 和 4")."""
    nums = [str(i) for i in indices]
    return nums[0] if len(nums) == 1 else say("{a} and {b}", "{a} 和 {b}", a=say(", ", "、").join(nums[:-1]), b=nums[-1])


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
