"""Why an input size does not fit a model, in words: the layer where the picture becomes too small
(or, behind a fixed-size classifier, too big) and the smallest (largest) height or width that works.

Everything runs on PyTorch's "meta" device: shapes without numbers, so even a 1024×1024 try costs no
memory. The bounds come from bisection between the size given (fails) and the model's own input size
(works); the result is a size that runs next to one that fails, each checked by a real forward pass."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from explorer.core.hooks import hooked
from explorer.core.receptive_field import pair
from explorer.core.words import say


@dataclass(frozen=True)
class Breakage:
    """The innermost module running when the forward pass failed, and the tensor it was given."""
    layer: str                 # module path ("features.2"); "" = the model's own forward
    layer_type: str
    arriving: tuple            # shape of the tensor reaching it, without the batch dimension
    window: tuple | None       # its kernel (rows, cols), for convolutions and pooling
    in_features: int | None    # the number of inputs a Linear layer takes


@dataclass(frozen=True)
class Bound:
    """The nearest size that works for one dimension, the other dimension held at `other`."""
    dimension: str             # "height" or "width"
    given: int
    too: str                   # "small" or "large"
    works: int | None          # smallest (too small) or largest (too large) size that runs; None: none found
    other: int


class InputSizeError(ValueError):
    """An input size the model cannot take; `.dimensions` names the dimension(s) at fault."""

    def __init__(self, message: str, dimensions: tuple[str, ...], breakage: Breakage | None,
                 bounds: tuple[Bound, ...]):
        super().__init__(message)
        self.dimensions = dimensions
        self.breakage = breakage
        self.bounds = bounds


def _meta_state(module: nn.Module) -> dict[str, torch.Tensor] | None:
    """Meta stand-ins for a real module's parameters and buffers; None when it is on meta already."""
    tensors = list(itertools.chain(module.named_parameters(), module.named_buffers()))
    if all(t.is_meta for _, t in tensors):
        return None
    return {name: torch.empty_like(t, device="meta") for name, t in tensors}


def _forward_on_meta(module: nn.Module, size: tuple) -> None:
    x = torch.zeros(1, *size, device="meta")
    state = _meta_state(module)
    with torch.no_grad():
        if state is None:
            module(x)
        else:
            torch.func.functional_call(module, state, (x,))


def fits(module: nn.Module, size: tuple) -> bool:
    """Whether one image of `size` (C, H, W) runs through the model (shapes only, on meta)."""
    try:
        _forward_on_meta(module, size)
    except RuntimeError:
        return False
    return True


def _window(layer: nn.Module) -> tuple | None:
    kernel = getattr(layer, "kernel_size", None)
    return None if kernel is None else pair(kernel)


def find_breakage(module: nn.Module, size: tuple) -> Breakage | None:
    """Run the failing size once with hooks: the module still open when PyTorch raised is the culprit."""
    names = {m: n for n, m in module.named_modules()}
    running: list[tuple[nn.Module, tuple]] = []

    def enter(mod, args):
        shape = tuple(args[0].shape[1:]) if args and isinstance(args[0], torch.Tensor) else ()
        running.append((mod, shape))

    def leave(mod, args, output):
        running.pop()

    with hooked(module.modules(), pre=enter, forward=leave):
        try:
            _forward_on_meta(module, size)
        except RuntimeError:
            pass
        else:
            return None
    if not running:
        return None
    culprit, arriving = running[-1]
    return Breakage(layer=names.get(culprit, ""), layer_type=type(culprit).__name__, arriving=arriving,
                    window=_window(culprit),
                    in_features=getattr(culprit, "in_features", None))


def _boundary(fits_at, bad: int, good: int) -> int:
    """The size next to the failing side of the boundary between `bad` (fails) and `good` (runs)."""
    while abs(good - bad) > 1:
        middle = (good + bad) // 2
        if fits_at(middle):
            good = middle
        else:
            bad = middle
    return good


def _bounds(module: nn.Module, size: tuple, known_good: tuple) -> tuple[Bound, ...]:
    """For each dimension that fails on its own (the other at the known-good size), its nearest size
    that works, searched at the user's other dimension when that one is fine."""
    channels, height, width = size
    _, good_h, good_w = known_good
    height_fails = not fits(module, (channels, height, good_w))
    width_fails = not fits(module, (channels, good_h, width))
    bounds = []
    if height_fails:
        other = good_w if width_fails else width
        works = _boundary(lambda h: fits(module, (channels, h, other)), height, good_h)
        bounds.append(Bound("height", height, "small" if height < good_h else "large", works, other))
    if width_fails:
        other = good_h if height_fails else height
        works = _boundary(lambda w: fits(module, (channels, other, w)), width, good_w)
        bounds.append(Bound("width", width, "small" if width < good_w else "large", works, other))
    return tuple(bounds)


def _shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


def _where(b: Breakage | None) -> str:
    if b is None:
        return ""
    layer = (f"`{b.layer}` ({b.layer_type})" if b.layer else
             say("the model's own forward ({t})", "模型自己的 forward（{t}）", t=b.layer_type))
    if b.window is not None and len(b.arriving) == 3 and (b.arriving[1] < b.window[0] or b.arriving[2] < b.window[1]):
        return say(" At {layer} the picture has shrunk to {shape} (channels×height×width), smaller than that layer's "
                   "{wh}×{ww} window.", "在 {layer} 处，图片已缩小到 {shape}（通道×高×宽），比这一层的 {wh}×{ww} 窗口还小。",
                   layer=layer, shape=_shape(b.arriving), wh=b.window[0], ww=b.window[1])
    if b.in_features is not None:
        total = 1
        for d in b.arriving:
            total *= d
        shape = f"{_shape(b.arriving)} = " if len(b.arriving) > 1 else ""
        return say(" At {layer} the feature map arrives as {shape}{total} numbers, but that layer takes exactly {n}.",
                   "在 {layer} 处，特征图以 {shape}{total} 个数到达，而这一层只接受正好 {n} 个。",
                   layer=layer, shape=shape, total=f"{total:,}", n=f"{b.in_features:,}")
    return say(" It fails at {layer}, which receives {shape}.", "它在 {layer} 处出错，那里收到的是 {shape}。",
               layer=layer, shape=_shape(b.arriving))


DIMENSIONS_ZH = {"height": "高度", "width": "宽度"}


def _bound_words(bound: Bound) -> str:
    across = "width" if bound.dimension == "height" else "height"
    values = dict(dim=bound.dimension, across=across, other=bound.other, works=bound.works,
                  dim_zh=DIMENSIONS_ZH[bound.dimension], across_zh=DIMENSIONS_ZH[across])
    if bound.works is None:
        return say(" No input {dim} works at {across} {other}.", "{across_zh}为 {other} 时，没有可用的输入{dim_zh}。", **values)
    if bound.too == "small":
        return say(" The smallest input {dim} that works (at {across} {other} px) is {works} px.",
                   "（{across_zh}为 {other} px 时）可用的最小输入{dim_zh}是 {works} px。", **values)
    return say(" The largest input {dim} that works (at {across} {other} px) is {works} px.",
               "（{across_zh}为 {other} px 时）可用的最大输入{dim_zh}是 {works} px。", **values)


def _too(too: str) -> str:
    return say("too " + too, {"small": "太小", "large": "太大"}[too])


def misfit_error(model: str, module: nn.Module, size: tuple, known_good: tuple | None) -> InputSizeError:
    """The words for an input size that does not fit: which dimension, where it breaks, what works."""
    breakage = find_breakage(module, size)
    good = known_good if known_good is not None and fits(module, known_good) else None
    bounds = _bounds(module, size, good) if good is not None else ()
    dimensions = tuple(b.dimension for b in bounds) or ("height", "width")
    _, height, width = size
    if len(bounds) == 1:
        head = say("input {dim}: {given} px is {too} for {model}.", "输入{dim_zh}：{given} px 对 {model} 来说{too}。",
                   dim=bounds[0].dimension, dim_zh=DIMENSIONS_ZH[bounds[0].dimension], given=bounds[0].given,
                   too=_too(bounds[0].too), model=model)
    elif bounds and bounds[0].too == bounds[1].too:
        head = say("input height and width: {h} px and {w} px are {too} for {model}.",
                   "输入高度和宽度：{h} px 和 {w} px 对 {model} 来说都{too}。", h=height, w=width,
                   too=_too(bounds[0].too), model=model)
    elif bounds:
        head = say("input height and width: {h} px is {too_h} and {w} px {too_w} for {model}.",
                   "输入高度和宽度：对 {model} 来说，{h} px {too_h}，{w} px {too_w}。", h=height, w=width,
                   too_h=_too(bounds[0].too), too_w=_too(bounds[1].too), model=model)
    else:
        head = say("input height and width: {h}×{w} px does not fit {model}.",
                   "输入高度和宽度：{h}×{w} px 不适合 {model}。", h=height, w=width, model=model)
    text = head + _where(breakage) + "".join(_bound_words(b) for b in bounds)
    return InputSizeError(text, dimensions, breakage, bounds)
