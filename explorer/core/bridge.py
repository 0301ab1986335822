"""The bridge from a real feature map to the Kernel tab: how one unit's number was made.

`explain_unit` takes a unit (stage, channel, row, column) of a picture's inspection and redoes its
multiply-accumulate from what the layer really received and the op it really ran (both kept by the
stage capture, so no new forward pass): for a convolution the window of every input channel the
output channel reads, the kernel slice, the partial sums and the bias; for a pooling stage the window
of its one channel and the max or the mean as PyTorch takes it. The per-unit steps the network
applied before the next stage (BatchNorm, the activation) are replayed with PyTorch's own functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.core.receptive_field import adaptive_windows, pair
from explorer.core.shown import number as shown_number
from explorer.core.shown import whole_number
from explorer.core.sliding import MAX_SIDE
from explorer.core.stages import Stage, layer_input, stage_index
from explorer.core.unit_steps import After
from explorer.core.unit_words import THEN_WORDS, arrival_words, describe_unit, step_words
from explorer.core.words import say

__all__ = ["Unit", "explain_unit", "describe_unit", "arrival_words", "step_words", "THEN_WORDS", "follow_after",
           "kernel_tab_settings", "POOL_OPS"]

POOL_OPS = {"max_pool2d": "max", "avg_pool2d": "avg", "adaptive_avg_pool2d": "adaptive avg",
            "adaptive_max_pool2d": "adaptive max"}
NEIGHBOURS = 2        # output steps shown on each side of the unit in the Kernel tab's crop


@dataclass
class Unit:
    """One unit of one stage, and the arithmetic that gives its value (see explain_unit)."""
    kind: str                       # "conv" or "pool"
    stage: str                      # the stage's name
    stage_index: int
    channel: int
    row: int
    col: int
    value: float                    # the stage's real output at (channel, row, col)
    window: np.ndarray              # (C, kh, kw) float64: what the unit reads, padding included
    padding_mask: np.ndarray        # (kh, kw) bool: taps that fall in the padding
    kernel: np.ndarray | None       # (C, kh, kw) float64: this output channel's weights (None: pooling)
    channels: list[int]             # the input channel of each of the C rows
    partials: np.ndarray | None     # (C,): (window * kernel).sum over each channel (None: pooling)
    bias: float                     # 0.0 where the layer has none
    total: float                    # partials.sum() + bias, or the pooled value
    after: list[tuple[str, float]]  # [(step, value after it)] up to the next stage, where per unit
    then: str | None                # the op that came next and is not per unit (None: none was seen)
    op: str                         # "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", ...
    in_channels: int                # channels of the layer's input
    out_channels: int
    groups: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)   # (top, bottom, left, right) the layer applied
    padded_inside: bool = False     # some of it was added inside the layer's forward (F.pad)
    origin: tuple[int, int] = (0, 0)  # input row and column of tap (0, 0) (negative: in the padding)
    bias_count: int = 0             # length of the layer's bias vector (0: no bias)
    divisor: int | None = None      # average pooling: what the sum was divided by
    counted: int | None = None      # pooling: taps inside the input
    source: np.ndarray = field(default=None, repr=False)   # (C_read, H, W): the layer's input channels read

    @property
    def order(self) -> np.ndarray:
        """Row indices of `channels`, largest |partial| first (pooling: the one row)."""
        if self.partials is None:
            return np.arange(len(self.channels))
        return np.argsort(-np.abs(self.partials), kind="stable")

    @property
    def difference(self) -> float:
        return abs(self.total - self.value)

    def agrees(self) -> bool:
        """Whether the recomputed total equals PyTorch's value up to float32 rounding of a sum of
        this many terms (PyTorch accumulates in float32, in its own order)."""
        terms = self.window.size
        scale = max(abs(self.value), float(np.abs(self.window).sum()) if self.kernel is None
                    else float(np.abs(self.window * self.kernel).sum()) + abs(self.bias), 1e-12)
        return self.difference <= 1e-5 * scale + 1e-7 * math.sqrt(terms)

    def as_dict(self) -> dict:
        """Everything the unit holds, as JSON-ready lists and numbers (the /unit endpoint's answer)."""
        plain = lambda a: None if a is None else np.where(np.isfinite(a), a, None).tolist()  # noqa: E731
        return dict(kind=self.kind, stage=self.stage, stage_index=self.stage_index, channel=self.channel,
                    row=self.row, col=self.col, value=self.value, total=self.total, agrees=self.agrees(),
                    op=self.op, channels=self.channels, partials=plain(self.partials), bias=self.bias,
                    bias_count=self.bias_count, window=plain(self.window), kernel=plain(self.kernel),
                    padding_mask=self.padding_mask.tolist(), stride=list(self.stride),
                    dilation=list(self.dilation), pad=list(self.pad), groups=self.groups,
                    after=[[step, value] for step, value in self.after], then=self.then,
                    divisor=self.divisor)

    def kernel_tab(self) -> dict:
        """The Kernel tab's settings that replay this unit: the strongest input channel's numbers
        around the unit (at most MAX_SIDE x MAX_SIDE, padding written in as numbers), its kernel slice,
        the layer's stride and dilation, and `position`, the unit's (row, col) in that slide's output,
        where explorer.core.sliding.slide gives this channel's partial sum (pooling: the pooled value)."""
        return kernel_tab_settings(self)


# --- finding the unit -------------------------------------------------------------------------

def _index(value, name: str, size: int, shape: tuple[int, int]) -> int:
    """`value` as a channel, row or col (`name`) of a stage whose output is `size` long on that axis."""
    number = whole_number(value, name)
    if 0 <= number < size:
        return number
    n = dict(name=name, n=shown_number(number), end=size - 1, h=shape[0], w=shape[1])
    if name == "channel":
        raise ValueError(say("channel: {n} is outside the map; this stage has channels 0 to {end}",
                             "channel：{n} 超出了特征图；这个阶段的通道是 0 到 {end}", **n))
    if name == "row":
        raise ValueError(say("row: {n} is outside the map; the map is {h}x{w}: rows 0 to {end}",
                             "row：{n} 超出了特征图；特征图是 {h}x{w}：行号 0 到 {end}", **n))
    raise ValueError(say("{name}: {n} is outside the map; the map is {h}x{w}: columns 0 to {end}",
                         "{name}：{n} 超出了特征图；特征图是 {h}x{w}：列号 0 到 {end}", **n))


def _inspection(model, picture_or_inspection):
    from explorer.core.models import Inspection, get_model

    if isinstance(picture_or_inspection, Inspection):
        return picture_or_inspection
    if isinstance(model, str):
        model, _ = get_model(model)
    return model.inspect(picture_or_inspection)


def explain_unit(model, picture_or_inspection, stage, channel, row, col) -> Unit:
    """How one number of a feature map was computed, with the layer's real weights and inputs.

    Args:
        model: A LoadedModel or a model name (``explorer.MODEL_NAMES``).
        picture_or_inspection: A picture (anything `load_image` takes) or that model's
            ``model.inspect(picture)`` (then no forward pass runs).
        stage: The stage's 0-based index in the Stages order, or its name (e.g. ``"features.3"``).
        channel (int): 0-based output channel.
        row (int): 0-based row of the stage's output map.
        col (int): 0-based column of the stage's output map.

    Returns:
        Unit: ``kind`` (``"conv"`` or ``"pool"``), ``value`` (the layer's real output there),
        ``window`` and ``kernel`` ((C, kh, kw) numpy arrays; kernel None for pooling), ``channels``,
        ``partials`` (window * kernel summed per input channel), ``bias``, ``total`` (equal to
        ``value``: ``agrees()``), ``after`` (BatchNorm, activation... up to the next stage),
        ``kernel_tab()`` (settings that replay the strongest channel with `slide`) and ``as_dict()``.

    Raises:
        ValueError: naming the argument and the allowed range (``row: 28 is outside the map; the map
            is 28x28: rows 0 to 27``), or a stage whose computation cannot be followed unit by unit.
    """
    inspection = _inspection(model, picture_or_inspection)
    index = stage_index([s.name for s in inspection.stages], stage)
    s = inspection.stages[index]
    c_out, h_out, w_out = s.output_shape
    channel = _index(channel, "channel", c_out, (h_out, w_out))
    row = _index(row, "row", h_out, (h_out, w_out))
    col = _index(col, "col", w_out, (h_out, w_out))
    received = layer_input(inspection.stages, index)
    if s.call is None or received is None or (s.call.op != "conv2d" and s.call.op not in POOL_OPS):
        what = s.call.op if s.call else say("an op it changes its input with first", "一个先改变其输入的运算")
        raise ValueError(say("stage: {name} runs {what}, which cannot be followed unit by unit here; "
                             "choose a convolution or a max / average pooling stage",
                             "stage：{name} 运行的是 {what}，这里无法逐单元地追踪；请选一个卷积阶段或最大 / 平均池化阶段",
                             name=s.name, what=what))
    value = float(s.activation[channel, row, col])
    after, then = follow_after(s.after, s.then, value, channel, c_out)
    common = dict(stage=s.name, stage_index=index, channel=channel, row=row, col=col, value=value,
                  after=after, then=then, op=s.call.op, in_channels=s.input_shape[0], out_channels=c_out,
                  pad=s.call.pad, padded_inside=s.call.pad != s.call.own_pad)
    if s.call.op == "conv2d":
        return _conv_unit(s, received, common)
    return _pool_unit(s, received, common)


def _taps(source: np.ndarray, origin, steps, count, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """The values under count[0] x count[1] taps starting at `origin` (input row, col; negative in
    the padding) `steps` apart, for every channel of source (C, H, W); outside the input: `fill`."""
    _, h, w = source.shape
    rows = origin[0] + np.arange(count[0]) * steps[0]
    cols = origin[1] + np.arange(count[1]) * steps[1]
    inside_r, inside_c = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    window = np.full((source.shape[0], count[0], count[1]), fill, dtype=np.float64)
    inner = source[:, rows[inside_r]][:, :, cols[inside_c]]
    window[:, np.flatnonzero(inside_r)[:, None], np.flatnonzero(inside_c)[None, :]] = inner
    return window, ~(inside_r[:, None] & inside_c[None, :])


def _conv_unit(s: Stage, received: torch.Tensor, common: dict) -> Unit:
    params = s.call.params
    weight = params["weight"].detach().cpu().double().numpy()
    bias_tensor = params.get("bias")
    groups = int(params.get("groups", 1) or 1)
    stride, dilation = pair(params.get("stride", 1)), pair(params.get("dilation", 1))
    c_out, per_group = weight.shape[0], weight.shape[1]
    group = common["channel"] // (c_out // groups)
    channels = list(range(group * per_group, (group + 1) * per_group))
    source = received[channels[0]:channels[-1] + 1].double().numpy()
    top, _, left, _ = s.call.pad
    origin = (common["row"] * stride[0] - top, common["col"] * stride[1] - left)
    window, mask = _taps(source, origin, dilation, weight.shape[-2:], s.call.pad_value)
    kernel = weight[common["channel"]]
    partials = (window * kernel).sum(axis=(1, 2))
    bias = 0.0 if bias_tensor is None else float(bias_tensor[common["channel"]])
    return Unit(kind="conv", window=window, padding_mask=mask, kernel=kernel, channels=channels,
                partials=partials, bias=bias, total=float(partials.sum() + bias), groups=groups,
                stride=stride, dilation=dilation, origin=origin,
                bias_count=0 if bias_tensor is None else int(bias_tensor.numel()), source=source, **common)


def _pool_unit(s: Stage, received: torch.Tensor, common: dict) -> Unit:
    op, params, channel = s.call.op, s.call.params, common["channel"]
    source = received[channel:channel + 1].double().numpy()
    _, h, w = source.shape
    row, col = common["row"], common["col"]
    if op.startswith("adaptive"):
        h_out, w_out = s.output_shape[1:]
        (top, bottom), (left, right) = adaptive_windows(h, h_out)[row], adaptive_windows(w, w_out)[col]
        origin = (top, left)
        window = source[:, top:bottom, left:right]
        mask = np.zeros(window.shape[1:], dtype=bool)
        total = float(window.max()) if op.endswith("max") else float(window.mean())
        extra = dict(divisor=None if op.endswith("max") else window[0].size, counted=window[0].size,
                     stride=(1, 1), dilation=(1, 1))
        return Unit(kind="pool", window=window, padding_mask=mask, kernel=None, channels=[channel],
                    partials=None, bias=0.0, total=total, origin=origin, source=source, **extra, **common)
    kernel = pair(params["kernel_size"])
    stride = pair(params.get("stride"), kernel)
    dilation = pair(params.get("dilation", 1))
    top, bottom, left, right = s.call.pad
    origin = (row * stride[0] - top, col * stride[1] - left)
    fill = -math.inf if op == "max_pool2d" else s.call.pad_value
    window, mask = _taps(source, origin, dilation, kernel, fill)
    # taps beyond the padded input (only ceil_mode windows reach them) take no part at all
    rows = origin[0] + np.arange(kernel[0]) * dilation[0]
    cols = origin[1] + np.arange(kernel[1]) * dilation[1]
    beyond = (rows >= h + bottom)[:, None] | (cols >= w + right)[None, :]
    window[:, beyond] = np.nan
    mask = mask & ~beyond
    inside = ~mask & ~beyond
    if op == "max_pool2d":
        total, divisor = float(np.nanmax(np.where(mask, -math.inf, window[0]))), None
    else:
        # padding added by F.pad inside the layer is input to avg_pool2d: count_include_pad=False counts it
        own_top, own_bottom, own_left, own_right = s.call.own_pad
        op_rows = (rows >= own_top - top) & (rows < h + bottom - own_bottom)
        op_cols = (cols >= own_left - left) & (cols < w + right - own_right)
        divisor = _avg_divisor(params, int((~beyond).sum()), int((op_rows[:, None] & op_cols[None, :]).sum()))
        total = float(np.nansum(window[0]) / divisor)
    return Unit(kind="pool", window=window, padding_mask=mask, kernel=None, channels=[channel], partials=None,
                bias=0.0, total=total, stride=stride, dilation=dilation, origin=origin, divisor=divisor,
                counted=int(inside.sum()), source=source, **common)


def _avg_divisor(params: dict, in_padded: int, in_input: int) -> int:
    """What avg_pool2d divides by: divisor_override, else the taps within the padded input
    (count_include_pad=True, PyTorch's default) or only those within the input."""
    if params.get("divisor_override"):
        return int(params["divisor_override"])
    return in_padded if params.get("count_include_pad", True) else in_input


# --- what happens to the value before the next stage ------------------------------------------

def _replay(step: After, value: float, channel: int, channels: int) -> float:
    """The step applied by PyTorch's own function to a (1, channels, 1, 1) tensor holding `value`
    at `channel` (the other channels matter to no per-unit step)."""
    device = next((a.device for a in step.args if isinstance(a, torch.Tensor)), torch.device("cpu"))
    dtype = next((a.dtype for a in step.args if isinstance(a, torch.Tensor) and a.is_floating_point()),
                 torch.float32)
    x = torch.zeros(1, channels, 1, 1, dtype=dtype, device=device)
    x[0, channel] = value
    with torch.inference_mode():
        out = step.func(x, *step.args, **step.kwargs)
    return float(out[0, channel, 0, 0])


def follow_after(steps, then, value: float, channel: int, channels: int) -> tuple[list[tuple[str, float]], str | None]:
    out = []
    for step in steps:
        value = _replay(step, value, channel, channels)
        out.append((step_words(step, channel), value))
    return out, then


# --- the Kernel tab's settings ----------------------------------------------------------------

def _crop_axis(origin: int, extent: int, step: int, low: int, high: int) -> tuple[int, int, int]:
    """(first, last, steps before) of a crop along one axis: the unit's window plus up to NEIGHBOURS
    output steps on each side, within [low, high] (the padded input) and MAX_SIDE cells."""
    if extent > MAX_SIDE:
        raise ValueError(say("the window spans {extent} cells, more than the Kernel tab's {most}",
                             "窗口跨 {extent} 格，超过了卷积核标签页最多的 {most} 格", extent=extent, most=MAX_SIDE))
    before = after = 0
    for _ in range(NEIGHBOURS):
        if origin - (before + 1) * step >= low and extent + (before + 1 + after) * step <= MAX_SIDE:
            before += 1
        if origin + extent - 1 + (after + 1) * step <= high and extent + (before + after + 1) * step <= MAX_SIDE:
            after += 1
    return origin - before * step, origin + extent - 1 + after * step, before


def _short(value: float) -> float:
    """A float32 value as the shortest decimal that is still that float32 (tables stay readable)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def kernel_tab_settings(u: Unit) -> dict:
    _, h, w = u.source.shape
    top, bottom, left, right = u.pad
    if u.kind == "pool":
        if u.op not in ("max_pool2d", "avg_pool2d") or u.padding_mask.any() or np.isnan(u.window).any():
            if u.op.startswith("adaptive"):
                raise ValueError(say("this unit cannot be replayed in the Kernel tab: its windows are of uneven "
                                     "sizes (adaptive pooling)",
                                     "这个单元无法在卷积核标签页中重演：它的窗口大小不一（自适应池化）"))
            raise ValueError(say("this unit cannot be replayed in the Kernel tab: its window reaches the padding; "
                                 "pick a unit away from the border",
                                 "这个单元无法在卷积核标签页中重演：它的窗口碰到了填充；请选一个离边缘远一些的单元"))
        low, high = (0, 0), (h - 1, w - 1)
        strongest = 0
        extent = tuple((k - 1) * d + 1 for k, d in zip(u.window.shape[1:], u.dilation))
    else:
        low, high = (-top, -left), (h - 1 + bottom, w - 1 + right)
        strongest = int(u.order[0])
        extent = tuple((k - 1) * d + 1 for k, d in zip(u.kernel.shape[1:], u.dilation))
    (r0, r1, pr), (c0, c1, pc) = (_crop_axis(u.origin[a], extent[a], u.stride[a], low[a], high[a]) for a in (0, 1))
    fill = 0.0 if u.kind == "conv" else math.nan
    window, _ = _taps(u.source[strongest:strongest + 1], (r0, c0), (1, 1), (r1 - r0 + 1, c1 - c0 + 1), fill)
    matrix = [[_short(v) for v in row] for row in window[0]]
    settings = dict(matrix=matrix, stride=u.stride, padding=(0, 0), dilation=u.dilation, position=(pr, pc),
                    channel=u.channels[strongest], crop=(r0, c0))
    if u.kind == "conv":
        return settings | dict(op="conv", kernel=[[_short(v) for v in row] for row in u.kernel[strongest]],
                               kernel_size=None)
    return settings | dict(op="max" if u.op == "max_pool2d" else "avg", kernel=None,
                           kernel_size=tuple(u.window.shape[1:]))
