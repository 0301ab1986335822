"""What a feature drawing maximises, measured inside the model's forward pass: the objective (a channel's
mean, one unit, a class logit) taken by a hook that ends the pass once its stage has run; Lucid's
redirected ReLU gradient, which wakes a feature that is off everywhere; and the ceiling, how high the
objective can go on any picture at all, read from the model itself."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.core.feature_request import _target
from explorer.core.feature_stages import StageRef, input_shape
from explorer.core.hooks import hooked
from explorer.core.loaded_model import LoadedModel
from explorer.core.words import say


class _Reached(Exception):
    """Raised by the objective's hook to end a forward pass once the stage has run."""


def _first(output) -> torch.Tensor:
    """A stage's output map: the first of a tuple (a max pooling that also returns its indices)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def _reduce(output, channel: int, objective: str) -> torch.Tensor:
    """The objective, one value per picture of the batch, from a stage's output (N, C, H, W)."""
    output = _first(output)
    if objective == "unit":
        return output[:, channel, output.shape[2] // 2, output.shape[3] // 2]
    return output[:, channel].mean(dim=(1, 2))


def _measure(model: LoadedModel, ref: StageRef | None, channel: int, objective: str,
             x: torch.Tensor, redirect: bool = False) -> torch.Tensor:
    """The objective on the batch x (normalised model input): (N,). The hook is computed inside the
    pass, before any later in-place op, and ends the pass there; it is removed on every exit.
    `redirect`: run the pass under _RedirectedReLU (for the optimisation's gradient)."""
    with model.lock, (_RedirectedReLU() if redirect else contextlib.nullcontext()):
        if ref is None:                                      # "class": the logit, a whole pass
            return model.module(x)[:, channel]
        seen, value = [0], []

        def hook(module, inputs, output):
            seen[0] += 1
            if seen[0] == ref.call:
                value.append(_reduce(output, channel, objective))
                raise _Reached

        with hooked(model.module.get_submodule(ref.path), forward=hook), contextlib.suppress(_Reached):
            model.module(x)
    if not value:
        raise RuntimeError(say("stage: {name} did not run in the forward pass", "stage：前向传播中没有运行 {name}",
                               name=ref.name))
    return value[0]


class _RedirectedClamp(torch.autograd.Function):
    """clamp(x, lo, hi) whose gradient, where the plain one is zero for a whole picture (every unit
    of the layer dead or saturated), still lets through what would move a unit back into its range
    (Lucid's redirected ReLU gradient): without it a channel that is off on the first picture (common
    after a ReLU, e.g. a pooling stage) never gets a gradient. The forward value is unchanged."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        inside = x > ctx.lo if ctx.hi is None else (x > ctx.lo) & (x < ctx.hi)
        plain = grad * inside
        alive = plain.flatten(1).abs().amax(1) > 0
        if bool(alive.all()):
            return plain, None, None
        blocked = (x <= ctx.lo) & (grad > 0)                 # the loss's gradient: > 0 pushes lower
        if ctx.hi is not None:
            blocked |= (x >= ctx.hi) & (grad < 0)
        redirected = grad.masked_fill(blocked, 0)
        return torch.where(alive.view(-1, *[1] * (x.dim() - 1)), plain, redirected), None, None


_RELUS = {F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}


def _clamp_bounds(func, args, kwargs) -> tuple[float, float | None] | None:
    """(lo, hi) when func is a ReLU, ReLU6 or hardtanh call, else None."""
    if func in _RELUS:
        return 0.0, None
    if func is F.relu6:
        return 0.0, 6.0
    if func is F.hardtanh:
        lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
        hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
        return float(lo), float(hi)
    return None


class _RedirectedReLU(TorchFunctionMode):
    """Runs every ReLU, ReLU6 and hardtanh of a differentiable pass as _RedirectedClamp (out of place:
    the result is returned, as modules do, rather than written into the input)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        bounds = _clamp_bounds(func, args, kwargs)
        if bounds is not None and isinstance(args[0], torch.Tensor) and args[0].requires_grad:
            return _RedirectedClamp.apply(args[0], *bounds)
        return func(*args, **kwargs)


# ----------------------------------------------------------------------------------------------------
# The ceiling: how high the objective can go on any picture at all, read from the model itself.

@dataclass(frozen=True)
class Ceiling:
    """The most a stage's channel (its mean, or any one unit) can be on any picture: `value`, and
    `reason`, what bounds it, in words. `clamp`: (lo, hi) of the clamp whose output the stage reads
    (a ReLU6 is (0.0, 6.0))."""
    value: float
    reason: str
    clamp: tuple[float, float]


class _ClampOutputs(TorchFunctionMode):
    """Notes every tensor a ReLU, ReLU6 or hardtanh returns: (storage pointer, shape) -> ((lo, hi), the
    tensor's version counter just after), so a later in-place write to it is seen."""

    def __init__(self):
        super().__init__()
        self.seen: dict[tuple[int, tuple[int, ...]], tuple[tuple[float, float | None], int]] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        bounds = _clamp_bounds(func, args, kwargs)
        if bounds is not None and isinstance(result, torch.Tensor):
            self.seen[(result.data_ptr(), tuple(result.shape))] = bounds, result._version
        return result

    def bounds_of(self, tensor: torch.Tensor) -> tuple[float, float | None] | None:
        found = self.seen.get((tensor.data_ptr(), tuple(tensor.shape)))
        return found[0] if found is not None and found[1] == tensor._version else None


def ceiling(model: LoadedModel, stage, channel, objective: str = "channel") -> Ceiling | None:
    """The structural ceiling of the objective (see `visualize`), or None where the model sets none
    that can be read off: found by one forward pass that watches which tensor the stage's module reads.

    - A pooling stage (average or max) whose input is a clamp's output, untouched since (a ReLU6's:
      the EfficientNet-Lite family's global pooling), is at most the clamp's top: 6.0 for a ReLU6.
    - A convolution stage reading such an output (zero padding, with 0 inside the clamp's range) is at
      most, at every position, the sum over its weights w of max(w * lo, w * hi), plus its bias.

    Either bounds the channel's mean and every unit alike. None for the "class" objective, for a stage
    whose input is not a clamp's output (a plain ReLU has no top) and for any other kind of module."""
    ref, _, _, channel = _target(model, stage, channel, objective)
    if ref is None:
        return None
    module = model.module.get_submodule(ref.path)
    mode, found, calls = _ClampOutputs(), [], [0]

    def hook(mod, inputs):
        calls[0] += 1
        if calls[0] == ref.call:
            found.append(mode.bounds_of(inputs[0]) if isinstance(inputs[0], torch.Tensor) else None)
            raise _Reached

    with model.lock, hooked(module, pre=hook), contextlib.suppress(_Reached):
        with torch.no_grad(), mode:                           # no_grad, not inference_mode: versions count
            model.module(torch.full((1, *input_shape(model)), 0.5, device=model.device))
    bounds = found[0] if found else None
    if bounds is None or bounds[1] is None:
        return None
    lo, hi = bounds
    clamp = f"its input is the output of a clamp to [{lo:g}, {hi:g}]" + (" (a ReLU6)" if bounds == (0.0, 6.0) else "")
    pools = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.FractionalMaxPool2d)
    if isinstance(module, pools):
        return Ceiling(hi, f"{clamp}: a pooling of it is at most {hi:g}", (lo, hi))
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros" and lo <= 0 <= hi:
        weight = module.weight[channel].detach().double()
        top = float(torch.maximum(weight * lo, weight * hi).sum())
        if module.bias is not None:
            top += float(module.bias[channel])
        return Ceiling(top, f"{clamp}: the convolution is at most the sum of max(w x {lo:g}, w x {hi:g}) over "
                       f"its weights w = {top:.3g}", (lo, hi))
    return None
