"""A kernel or pooling window sliding over a small matrix, computed by PyTorch and replayed step by step.

`slide()` checks every argument the way PyTorch would (but with a ValueError that names the argument or
the cell), asks PyTorch for the output (float64), and lists one step per output cell with the input
values under the kernel taps, so the UI can animate exactly what PyTorch did.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.budgets import echo
from explorer.core.words import say

MAX_SIDE = 32          # the largest matrix or kernel side the app accepts
MAX_PADDING = 16       # keeps the padded input (and the number of steps) small enough to animate
OPS = ("conv", "max", "avg")
OP_NAMES = {"conv": "convolution", "max": "max pooling", "avg": "average pooling"}
AXES = ("rows", "columns")


@dataclass(frozen=True)
class Step:
    """One output cell: where it is, the values under the kernel taps, and the value they give."""
    position: tuple[int, int]          # (row, column) of the output cell
    window: np.ndarray                 # values under the taps (padding included; NaN = beyond the
                                       # padded input, which only ceil_mode windows reach)
    value: float                       # computed here from `window`, independently of PyTorch
    rows: np.ndarray                   # row of each tap row in the padded input
    cols: np.ndarray                   # column of each tap column in the padded input


@dataclass(frozen=True)
class Slide:
    matrix: np.ndarray                 # the input as given (float64)
    kernel: np.ndarray | None          # conv weights; None for pooling
    op: str
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    bias: float
    ceil_mode: bool
    padded: np.ndarray                 # the padded input (0 for conv/avg, -inf for max)
    output: np.ndarray                 # what PyTorch returned
    steps: list[Step] = field(repr=False)
    unused_rows: list[int]             # input rows (0-based) that no kernel tap reads
    unused_cols: list[int]
    formulas: tuple[str, str]          # output-size formula per axis with the user's numbers

    def expression(self, index: int, max_terms: int | None = None, times: str = "x") -> str:
        """The written computation of step `index`, e.g. "(10x1)+(11x0)+(2x1)+(123x0)=12".

        With more than `max_terms` terms the middle ones are replaced by "...[N more]..."."""
        step = self.steps[index]
        result = fmt(float(self.output[step.position]))
        values = step.window.ravel()
        inside = ~np.isnan(values)
        if self.op == "conv":
            terms = [f"({fmt(v)}{times}{fmt(w)})" for v, w in zip(values, self.kernel.ravel())]
            body = _abbreviate(terms, "+", max_terms)
            if self.bias:
                body += f"+{fmt(self.bias)}" if self.bias > 0 else fmt(self.bias)
            return f"{body}={result}"
        terms = [fmt(v) for v in values[inside]]
        if self.op == "max":
            return f"max({_abbreviate(terms, ',', max_terms)})={result}"
        return f"({_abbreviate(terms, '+', max_terms)})/{len(terms)}={result}"


@dataclass(frozen=True)
class SlideSettings:
    """slide()'s arguments, checked: a Slide of them can be computed. Tables are tuples of rows of floats,
    so two settings compare and hash by value (the Kernel tab keeps a renderer per settings)."""
    matrix: tuple[tuple[float, ...], ...]
    kernel: tuple[tuple[float, ...], ...] | None     # conv weights; None for pooling
    op: str
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    bias: float
    ceil_mode: bool

    @classmethod
    def checked(cls, matrix, kernel=None, *, op="conv", kernel_size=None, stride=1, padding=0, dilation=1,
                bias=0.0, ceil_mode=False) -> SlideSettings:
        """slide()'s arguments checked the way PyTorch would, in this order, with a ValueError that names
        the argument or the cell at fault."""
        if op not in OPS:
            raise ValueError(say("op: must be one of {ops}, got {op!r}", "op：应为 {ops} 之一，收到的是 {op!r}",
                                 ops=", ".join(OPS), op=op))
        x = as_matrix(matrix, "matrix")
        stride = as_pair(stride, "stride", minimum=1, maximum=MAX_SIDE + 2 * MAX_PADDING)
        padding = as_pair(padding, "padding", minimum=0, maximum=MAX_PADDING)
        dilation = as_pair(dilation, "dilation", minimum=1, maximum=MAX_SIDE)
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise ValueError(say("ceil_mode: must be True or False, got {v!r}", "ceil_mode：应为 True 或 False，收到的是 {v!r}",
                                 v=ceil_mode))
        bias = _as_number(bias, "bias")
        if op == "conv":
            w = _conv_kernel(kernel, kernel_size, bool(ceil_mode))
            ksize, kernel_name = w.shape, "kernel"
        else:
            w, kernel_name = None, "kernel_size"
            ksize = _pooling_window(op, kernel, kernel_size, bias, dilation, padding)
        _check_window_fits(x.shape, ksize, stride, padding, dilation, bool(ceil_mode), op, kernel_name)
        return cls(matrix=_table(x), kernel=None if w is None else _table(w), op=op, kernel_size=tuple(ksize),
                   stride=stride, padding=padding, dilation=dilation, bias=bias, ceil_mode=bool(ceil_mode))


def _table(a: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(map(tuple, a.tolist()))


def _conv_kernel(kernel, kernel_size, ceil_mode: bool) -> np.ndarray:
    """The convolution's weights, checked against a kernel_size given with them."""
    if kernel is None:
        raise ValueError(say("kernel: convolution needs a kernel (a table of weights)",
                             "kernel：卷积需要一个卷积核（一张权重表）"))
    w = as_matrix(kernel, "kernel")
    if kernel_size is not None and as_pair(kernel_size, "kernel_size", minimum=1) != w.shape:
        raise ValueError(say("kernel_size: {k!r} does not match the kernel's {h}x{w} shape",
                             "kernel_size：{k!r} 与卷积核的形状 {h}x{w} 不符", k=kernel_size, h=w.shape[0], w=w.shape[1]))
    if ceil_mode:
        raise ValueError(say("ceil_mode: only pooling has ceil_mode; convolution always rounds down",
                             "ceil_mode：只有池化有 ceil_mode；卷积总是向下取整"))
    return w


def _pooling_window(op: str, kernel, kernel_size, bias: float, dilation, padding) -> tuple[int, int]:
    """The pooling window's size (from the kernel table's shape when no size is given), checked with the
    settings pooling refuses."""
    if kernel_size is None:
        if kernel is None:
            raise ValueError(say("kernel_size: pooling needs a window size", "kernel_size：池化需要窗口大小"))
        kernel_size = as_matrix(kernel, "kernel").shape
    ksize = as_pair(kernel_size, "kernel_size", minimum=1, maximum=MAX_SIDE)
    if bias:
        raise ValueError(say("bias: pooling has no bias; set it to 0", "bias：池化没有偏置；请设为 0"))
    if op == "avg" and dilation != (1, 1):
        raise ValueError(say("dilation: average pooling has no dilation in PyTorch; set it to 1",
                             "dilation：PyTorch 的平均池化没有膨胀（dilation）；请设为 1"))
    for axis, k, p in zip(AXES, ksize, padding):
        if p > k // 2:
            raise ValueError(say("padding: pooling pads at most half the window ({axis}: window {k} allows padding "
                                 "up to {half}, got {p})",
                                 "padding：池化的填充最多是窗口的一半（{axis}：窗口 {k} 最多填充 {half}，收到的是 {p}）",
                                 axis=_axis(axis), k=k, half=k // 2, p=p))
    return ksize


def _check_window_fits(shape, ksize, stride, padding, dilation, ceil_mode: bool, op: str, kernel_name: str):
    """Conv needs the whole window inside the padded input; a ceil_mode pooling window may overhang, as
    long as there is one output cell."""
    for axis, n, k, s, p, d in zip(AXES, shape, ksize, stride, padding, dilation):
        span = d * (k - 1) + 1
        if span > n + 2 * p if op == "conv" else output_size(n, k, s, p, d, ceil_mode) < 1:
            dil = say(" with dilation {d}", "（膨胀 {d}）", d=d) if d > 1 else ""
            raise ValueError(say("{name}: the window spans {span} {axis}{dil} but the padded input has only {n2} "
                                 "{axis} ({n} + 2x{p} padding)",
                                 "{name}：窗口跨 {span} {axis}{dil}，但填充后的输入只有 {n2} {axis}（{n} + 2x{p} 填充）",
                                 name=kernel_name, span=span, axis=_axis(axis), dil=dil, n2=n + 2 * p, n=n, p=p))


def slide(matrix, kernel=None, *, op="conv", kernel_size=None, stride=1, padding=0,
          dilation=1, bias=0.0, ceil_mode=False) -> Slide:
    """Slide a convolution kernel or a pooling window over a matrix, step by step, as PyTorch computes it.

    The output is computed by ``F.conv2d``, ``F.max_pool2d`` or ``F.avg_pool2d`` in float64; the steps
    are read from the same padded input, one per output cell. Settings follow PyTorch's defaults
    (max pooling pads with -inf, average pooling counts the padding).

    Args:
        matrix: The input, a table of numbers (a list of rows, a 2-D numpy array or a pandas
            DataFrame), 1x1 to 32x32; cells may be numbers or numeric text such as ``"2.5"``.
        kernel: The convolution's weights, a table like ``matrix``. Required for ``op="conv"``; for
            pooling, its shape gives the window when ``kernel_size`` is None.
        op (str): ``"conv"`` (default), ``"max"`` (max pooling) or ``"avg"`` (average pooling).
        kernel_size: The window, an int, an (h, w) pair or text such as ``"2,3"``. For convolution it
            must match the kernel's shape; for pooling it is the window (default: the kernel's shape).
        stride: An int, an (h, w) pair or text such as ``"2"`` or ``"2,1"``; at least 1. Default 1.
        padding: Same forms; at least 0 (pooling: at most half the window). Default 0.
        dilation: Same forms; at least 1 (average pooling takes only 1). Default 1.
        bias (float): Added to every convolution output; must be 0 for pooling. Default 0.0.
        ceil_mode (bool): Pooling only: round the output size up, as PyTorch's ``ceil_mode``.

    Returns:
        Slide: ``output`` (2-D float64 numpy array, what PyTorch returned), ``steps`` (one per output
        cell, row-major: ``position``, ``window``, ``value``), ``padded``, ``unused_rows`` and
        ``unused_cols`` (0-based input rows and columns that no tap reads), ``formulas`` (the
        output-size formula per axis with these numbers) and ``expression(k)`` (the written sum of step
        k, e.g. ``"(10x1)+(11x0)+(2x1)+(123x0)=12"``).

    Raises:
        ValueError: naming the argument (or the matrix cell) and what to change: an empty, ragged or
            non-numeric matrix, NaN or infinite cells, a matrix over 32x32, an unknown op, a stride of 0,
            a window larger than the padded input, a bias or ceil_mode where the op has none.
    """
    return replay(SlideSettings.checked(matrix, kernel, op=op, kernel_size=kernel_size, stride=stride,
                                        padding=padding, dilation=dilation, bias=bias, ceil_mode=ceil_mode))


def replay(settings: SlideSettings) -> Slide:
    """The Slide of checked settings: PyTorch's output (float64) and one step per output cell."""
    c = settings
    x = np.array(c.matrix, dtype=float)
    w = None if c.kernel is None else np.array(c.kernel, dtype=float)
    out_shape = tuple(output_size(n, k, s, p, d, c.ceil_mode)
                      for n, k, s, p, d in zip(x.shape, c.kernel_size, c.stride, c.padding, c.dilation))
    fill = -math.inf if c.op == "max" else 0.0
    padded = np.pad(x, [(c.padding[0],) * 2, (c.padding[1],) * 2], constant_values=fill)
    output = _torch_output(x, w, c)
    if output.shape != out_shape:       # our formula must be PyTorch's
        raise AssertionError(say("output size {a} != formula {b}", "输出大小 {a} != 公式 {b}", a=output.shape, b=out_shape))
    rows, cols = (_taps(size, s, d, k) for size, s, d, k in zip(out_shape, c.stride, c.dilation, c.kernel_size))
    windows = _windows(padded, rows, cols)
    values = _step_values(windows, w, c.op, c.bias)
    steps = [Step((i, j), windows[i, j], float(values[i, j]), rows[i], cols[j])
             for i in range(len(rows)) for j in range(len(cols))]
    return Slide(
        matrix=x, kernel=w, op=c.op, kernel_size=c.kernel_size, stride=c.stride, padding=c.padding,
        dilation=c.dilation, bias=c.bias, ceil_mode=c.ceil_mode, padded=padded, output=output, steps=steps,
        unused_rows=_unused(rows, c.padding[0], x.shape[0]),
        unused_cols=_unused(cols, c.padding[1], x.shape[1]),
        formulas=tuple(size_formula(n, k, s, p, d, c.ceil_mode)
                       for n, k, s, p, d in zip(x.shape, c.kernel_size, c.stride, c.padding, c.dilation)),
    )


def _taps(out_size: int, stride: int, dilation: int, k: int) -> np.ndarray:
    """(out_size, k): the padded input's index under each tap, per output index along one axis."""
    return np.array([np.arange(i * stride, i * stride + dilation * k, dilation) for i in range(out_size)])


def _windows(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(out rows, out cols, kh, kw): the values under the taps. ceil_mode windows may run past the
    padded input: those taps read NaN ("not there")."""
    extended = np.full((max(padded.shape[0], rows[-1][-1] + 1), max(padded.shape[1], cols[-1][-1] + 1)),
                       np.nan)
    extended[:padded.shape[0], :padded.shape[1]] = padded
    return extended[rows[:, None, :, None], cols[None, :, None, :]]


def output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """PyTorch's output length along one axis (pooling_output_shape; conv is the floor case)."""
    top = n + 2 * p - d * (k - 1) - 1
    size = (-(-top // s) if ceil_mode else top // s) + 1
    if ceil_mode and (size - 1) * s >= n + p:   # the last window would start in the right padding
        size -= 1
    return size


def size_formula(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> str:
    """The output-size formula with these numbers filled in, ending in the result."""
    top = n + 2 * p - d * (k - 1) - 1
    rnd = "ceil" if ceil_mode else "floor"
    text = (f"{rnd}(({n} + 2x{p} - {d}x({k}-1) - 1) / {s}) + 1 = {rnd}({top}/{s}) + 1 = "
            f"{(-(-top // s) if ceil_mode else top // s) + 1}")
    size = output_size(n, k, s, p, d, ceil_mode)
    if ceil_mode and (-(-top // s)) + 1 != size:
        text += say(" - 1 = {size} (a last window starting in the padding is dropped)",
                    " - 1 = {size}（从填充里开始的最后一个窗口被丢弃）", size=size)
    return text


def fmt(v: float) -> str:
    """A number as short as it can be written without hiding its value: 12, 0.5, -1.25, 1.23e+05."""
    if math.isnan(v):
        return "?"
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    if 1e-3 <= abs(v) < 1e6:
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return f"{v:.3g}"


def as_matrix(value, name: str = "matrix", max_side: int = MAX_SIDE) -> np.ndarray:
    """A 2-D float64 array from a table of numbers (lists, numpy, strings from a Dataframe)."""
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):   # a pandas DataFrame
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        if value.ndim != 2:
            raise ValueError(say("{name} must be a table of rows and columns, got {n} dimension(s)",
                                 "{name}：应是一张有行有列的表，收到的是 {n} 维", name=name, n=value.ndim))
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValueError(say("{name} must be a table (a list of rows of numbers), got {t}",
                             "{name}：应是一张表（由数字行组成的列表），收到的是 {t}", name=name, t=type(value).__name__))
    if not value:
        raise ValueError(say("{name} is empty", "{name}：是空的；请至少填一个数",
                             name=name))
    if len(value) > max_side:
        raise ValueError(say("{name} has {n} rows; at most {most} are allowed", "{name}：有 {n} 行；最多允许 {most} 行",
                             name=name, n=len(value), most=max_side))
    width = None
    for r, row in enumerate(value):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise ValueError(say("{name} row {r} is not a row of numbers ({row!r})", "{name} 第 {r} 行：不是一行数字（{row!r}）",
                                 name=name, r=r, row=row))
        if not row:
            raise ValueError(say("{name} row {r} is empty", "{name} 第 {r} 行：是空的", name=name, r=r))
        if width is None:
            width = len(row)
            if width > max_side:
                raise ValueError(say("{name} has {n} columns; at most {most} are allowed",
                                     "{name}：有 {n} 列；最多允许 {most} 列", name=name, n=width, most=max_side))
        elif len(row) != width:
            raise ValueError(say("{name} row {r} has {n} cell{s} but row 0 has {width} (every row needs the same "
                                 "number of cells)", "{name} 第 {r} 行：有 {n} 个格，而第 0 行有 {width} 个（每行的格数须相同）",
                                 name=name, r=r, n=len(row), s="s" * (len(row) != 1), width=width))
    if {type(cell) for row in value for cell in row} <= {int, float}:    # plain numbers: checked at once
        try:
            out = np.array(value, dtype=float)
        except OverflowError:                   # an int too big for a float: the check below names it
            out = None
        if out is not None and np.isfinite(out).all():
            return out
    out = np.empty((len(value), width))
    for r, row in enumerate(value):
        for c, cell in enumerate(row):
            out[r, c] = _as_number(cell, say("{name} row {r}, column {c}", "{name} 第 {r} 行第 {c} 列",
                                             name=name, r=r, c=c))
    return out


def as_pair(value, name: str, minimum: int, maximum: int | None = None) -> tuple[int, int]:
    """An (h, w) pair from an int, an (h, w) sequence, or text such as "2" or "2,3"."""
    original = value
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        parts = [p.strip() for p in text.split(",")] if text else []
        if len(parts) == 2 and parts[1] == "":      # "3," like Python's 1-tuple
            parts = parts[:1]
        value = parts
        if len(parts) == 1:
            value = parts[0]
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 1:
            value = value[0]
        elif len(value) != 2:
            raise ValueError(say("{name}: give one number or an 'h,w' pair, got {v}",
                                 "{name}：请给一个数或一对 'h,w'，收到的是 {v}", name=name, v=echo(original)))
        else:
            return tuple(_as_int(v, name, minimum, maximum, original) for v in value)
    n = _as_int(value, name, minimum, maximum, original)
    return (n, n)


def _axis(axis: str) -> str:
    """"rows" or "columns" in the language spoken."""
    return say(axis, {"rows": "行", "columns": "列"}[axis])


def _not_whole(name: str, original) -> str:
    return say("{name}: {v} is not a whole number or an 'h,w' pair", "{name}：{v} 不是整数，也不是一对 'h,w'",
               name=name, v=echo(original))


def _as_int(v, name, minimum, maximum, original) -> int:
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            raise ValueError(_not_whole(name, original)) from None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise ValueError(_not_whole(name, original))
    if not math.isfinite(v) or v != int(v):
        raise ValueError(say("{name}: {v} is not a whole number", "{name}：{v} 不是整数", name=name, v=echo(original)))
    v = int(v)
    if v < minimum:
        raise ValueError(say("{name}: must be at least {m}, got {v}", "{name}：至少为 {m}，收到的是 {v}",
                             name=name, m=minimum, v=v))
    if maximum is not None and v > maximum:
        raise ValueError(say("{name}: at most {m} here, got {v}", "{name}：这里最多为 {m}，收到的是 {v}",
                             name=name, m=maximum, v=v))
    return v


def _as_number(cell, where: str) -> float:
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            raise ValueError(say("{where} is empty", "{where}：是空的；请填一个数", where=where))
        try:
            v = float(text)
        except ValueError:
            raise ValueError(say("{where}: {v} is not a number", "{where}：{v} 不是数", where=where,
                                 v=echo(cell))) from None
    elif cell is None:
        raise ValueError(say("{where} is empty", "{where}：是空的；请填一个数", where=where))
    elif isinstance(cell, (bool, np.bool_)) or not isinstance(cell, numbers.Real):
        raise ValueError(say("{where}: {v} is not a number", "{where}：{v} 不是数", where=where, v=echo(cell)))
    else:
        v = float(cell)
    if not math.isfinite(v):
        raise ValueError(say("{where}: {v} is not a finite number", "{where}：{v} 不是有限的数", where=where,
                             v=echo(cell)))
    return v


def _torch_output(x: np.ndarray, w: np.ndarray | None, c: SlideSettings) -> np.ndarray:
    t = torch.from_numpy(x)[None, None]
    try:
        if c.op == "conv":
            out = F.conv2d(t, torch.from_numpy(w)[None, None], torch.tensor([c.bias], dtype=torch.float64),
                           stride=c.stride, padding=c.padding, dilation=c.dilation)
        elif c.op == "max":
            out = F.max_pool2d(t, c.kernel_size, c.stride, c.padding, c.dilation, ceil_mode=c.ceil_mode)
        else:
            out = F.avg_pool2d(t, c.kernel_size, c.stride, c.padding, ceil_mode=c.ceil_mode, count_include_pad=True)
    except RuntimeError as e:                  # a case the checks above missed: still a ValueError
        raise ValueError(say("settings: PyTorch refused them: {e}", "settings：PyTorch 拒绝了这些设置：{e}", e=e)) from None
    return out[0, 0].numpy()


def _step_values(windows: np.ndarray, w, op: str, bias: float) -> np.ndarray:
    """Each output cell recomputed from its window with numpy, to check and to explain PyTorch's."""
    if op == "conv":
        return (windows * w).sum(axis=(2, 3)) + bias
    if op == "max":
        return np.nanmax(windows, axis=(2, 3))
    return np.nansum(windows, axis=(2, 3)) / (~np.isnan(windows)).sum(axis=(2, 3))


def _unused(taps: list[np.ndarray], pad: int, n: int) -> list[int]:
    used = np.zeros(n, bool)
    for t in taps:
        t = t - pad
        used[t[(t >= 0) & (t < n)]] = True
    return [int(i) for i in np.flatnonzero(~used)]


def _abbreviate(terms: list[str], sep: str, max_terms: int | None) -> str:
    if max_terms is None or len(terms) <= max_terms:
        return sep.join(terms)
    head = max(1, max_terms - 2)
    more = say("...[{n} more]...", "...[另 {n} 项]...", n=len(terms) - head - 2)
    return f"{sep.join(terms[:head])}{sep}{more}{sep}{sep.join(terms[-2:])}"


def pytorch_code(s: Slide) -> str:
    """Standalone PyTorch code that reproduces a slide's output.

    Args:
        s (Slide): What `slide` returned.

    Returns:
        str: A Python program (imports torch only) that builds the matrix, runs ``nn.Conv2d`` with these
        weights and bias, or ``F.max_pool2d`` / ``F.avg_pool2d`` with these settings, and leaves the
        result in ``out`` (equal to ``s.output``).

    Raises:
        Nothing of its own: a Slide is already checked.
    """
    def lit(v: float) -> str:
        return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(float(v))

    def table(a: np.ndarray) -> str:
        rows = ",\n    ".join("[" + ", ".join(lit(v) for v in row) + "]" for row in a)
        return "[\n    " + rows + ",\n]"

    def pair(p: tuple[int, int]) -> str:
        return str(p[0]) if p[0] == p[1] else str(tuple(p))

    lines = ["import torch", "from torch import nn", "import torch.nn.functional as F", "",
             f"matrix = {table(s.matrix)}",
             "x = torch.tensor(matrix, dtype=torch.float64)[None, None]   # (batch, channels, rows, columns)",
             ""]
    if s.op == "conv":
        lines += [
            f"kernel = {table(s.kernel)}",
            f"conv = nn.Conv2d(1, 1, kernel_size={pair(s.kernel_size)}, stride={pair(s.stride)}, "
            f"padding={pair(s.padding)}, dilation={pair(s.dilation)}, dtype=torch.float64)",
            "with torch.no_grad():",
            "    conv.weight.copy_(torch.tensor(kernel, dtype=torch.float64)[None, None])",
            f"    conv.bias.fill_({lit(s.bias)})",
            "    out = conv(x)[0, 0]",
        ]
    elif s.op == "max":
        lines.append(f"out = F.max_pool2d(x, kernel_size={pair(s.kernel_size)}, stride={pair(s.stride)}, "
                     f"padding={pair(s.padding)}, dilation={pair(s.dilation)}, "
                     f"ceil_mode={s.ceil_mode})[0, 0]")
    else:
        lines.append(f"out = F.avg_pool2d(x, kernel_size={pair(s.kernel_size)}, stride={pair(s.stride)}, "
                     f"padding={pair(s.padding)}, ceil_mode={s.ceil_mode}, count_include_pad=True)[0, 0]")
    lines.append("print(out)")
    return "\n".join(lines) + "\n"
