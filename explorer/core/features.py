"""What does this channel look for? Feature visualisation by optimisation, on the real models.

`visualize(model, stage, channel)` draws the picture that excites one channel of one stage (or one
unit, or one class logit) as much as it can, following the recipe of Lucid and Distill's "Feature
Visualization" (Olah, Mordvintsev and Schubert, 2017), written here for PyTorch:

- the picture is parameterised in a decorrelated space, not as raw pixels: a Fourier spectrum scaled
  by 1 / frequency (Lucid's `fft_image`, decay power 1), colours through ImageNet's colour-correlation
  square root (Lucid's `color_correlation_svd_sqrt`), then a sigmoid to [0, 1];
- the steps see the picture through small random transformations (jitter of a few pixels, a
  scale of 0.9 to 1.1 and a rotation of up to 5 degrees, what falls outside filled with a plain colour),
  so the result is a feature the model finds at any position and scale, not a pattern tuned to pixels;
  the last SETTLE (30 %) of the steps then see it as it is, which sharpens what the robust steps found
  (bilinear resampling blurs every transformed view); the benchmark checks that it still excites its
  channel after a zoom and a shift;
- Adam updates the spectrum only; one torch.Generator seeded by `seed` draws the initial spectrum and
  every transformation, so the same seed gives the same picture;
- a feature that is off everywhere on the first pictures (behind a ReLU) is woken with Lucid's
  redirected ReLU gradient, used only for the steps after one that found no gradient at all.

The shared module is used only under `model.lock`, held for one forward pass at a time; the objective's
hook exists only while the lock is held and stops the pass as soon as the stage has run.
Results are kept in `RESULTS` (an `explorer.core.recent.Recent`), so asking again is instant.

    >>> from explorer.core.models import get_model
    >>> model, _ = get_model("efficientnet_lite0")
    >>> v = visualize(model, "blocks.2.1.conv_pw", 7, progress=lambda f: print(f"{f:.0%}"))
    >>> v.image.save("channel7.png"); print(v.activation, activation_of(model, v.stage, 7, photo))
"""
from __future__ import annotations

import contextlib
import math
import time
import weakref
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.core.digits import SketchTransform
from explorer.core.models import LoadedModel, PhotoTransform
from explorer.core.recent import Recent
from explorer.core.stages import stage_index, stage_layers
from explorer.core.state import STORES
from explorer.core.trace import Trace, probe_input, traced_pass

Progress = Callable[[float], None]   # called with the fraction done once per step; may raise to cancel

OBJECTIVES = ("channel", "unit", "class")
MAX_STEPS = 512
DEFAULT_STEPS = (48, 200)     # the fewest and the most steps default_steps gives
CPU_BUDGET = 80e9             # multiply-accumulates of a default run on a CPU: 200 passes of the default model
MIN_SIZE, MAX_SIZE = 64, 512  # picture sides the photo models accept (the digit model reads 28 only)
LEARNING_RATE = 0.05
DECAY_POWER = 1.0             # the spectrum is scaled by 1 / frequency ** DECAY_POWER
INIT_SD = 0.01                # standard deviation of the initial spectrum (Lucid's)
SPECTRUM_DIVISOR = 2.0        # the inverse FFT is divided by this before the sigmoid (Lucid's is 4: half the contrast per step)
SETTLE = 0.3                  # the last 30 % of the steps see the picture as it is, with no random transformation
JITTER = 8 / 224              # random shift, as a fraction of the side (8 px at 224)
SCALES = (0.9, 1.1)           # random zoom
DEGREES = 5.0                 # random rotation, either way
REDIRECT_STEPS = 8            # steps run with _RedirectedReLU after one whose gradient was all zero
# Lucid's color_correlation_svd_sqrt: the square root of ImageNet's RGB covariance.
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()


@dataclass
class Visualization:
    """A picture drawn to excite one feature, and how it got there.

    `image`: the picture (RGB, or L for the digit model, whose bright pixels are ink), `size` x `size`.
    `objective`: the objective measured at every step (on that step's randomly transformed picture).
    `activation`: the objective on `image` itself as the model sees it (no transformation): `input`,
    the picture's 8-bit pixels normalised as the model expects, (1, C, size, size) on the CPU.
    `stage` / `stage_index`: the stage's name and index ("logits" / None for the "class" objective).
    `channel`, `objective_name`, `seed`, `steps`, `size`: the request; `seconds`: the time the
    optimisation took.
    """
    image: Image.Image
    objective: list[float]
    stage: str
    stage_index: int | None
    channel: int
    objective_name: str
    seed: int
    steps: int
    size: int
    activation: float
    input: torch.Tensor
    seconds: float


@dataclass(frozen=True)
class StageRef:
    """Where a stage lives in the module: its name as the Stages tab lists it, its module's path, which
    call of that module it is (1 unless the module runs more than once per pass), its kind, its channels
    and `macs`, the multiply-accumulates a pass runs up to and including this stage at the input size,
    as the trace counts them (FlopCounterMode: convolutions, linear layers, matrix products). Name, call
    and MACs are read off the one trace (explorer.core.trace). (A path, not the module: the per-module
    cache must not keep its own key alive.)"""
    name: str
    path: str
    call: int
    kind: str
    channels: int
    macs: int


RESULTS = STORES.register("features.results", Recent(max_entries=64), "feature visualisations")   # (model, pretrained, stage index, channel, objective, seed, steps, size)
# module -> (list[StageRef], the whole pass's MACs)
_STAGES = STORES.register("features.stages", weakref.WeakKeyDictionary(),
                          "each model's stages and MACs for feature drawings")


class _Reached(Exception):
    """Raised by the objective's hook to end a forward pass once the stage has run."""


# ----------------------------------------------------------------------------------------------------
# The model: its stages, its input, and the objective measured with a hook.

def input_shape(model: LoadedModel) -> tuple[int, int, int]:
    """(C, H, W) of what the model reads: 3 x crop x crop for photo models, 1 x 28 x 28 for digits."""
    if isinstance(model.transform, PhotoTransform):
        return 3, model.transform.crop, model.transform.crop
    if isinstance(model.transform, SketchTransform):
        return model.transform.input_size
    raise ValueError(f"model: {model.name} has no known input geometry to draw a picture for")


def stages_of(model: LoadedModel) -> list[StageRef]:
    """The model's stages in the Stages tab's order and with its names ("name (call 2)" for a module's
    second call), read off one traced pass of a probe image; kept per module."""
    return _stages(model)[0]


def _stages(model: LoadedModel) -> tuple[list[StageRef], int]:
    """(stages_of, the multiply-accumulates of the whole pass): a view of the one trace
    (explorer.core.trace) of a probe image with the Stages tab's layers followed and MACs counted, so
    names ("path (call n)"), calls and MACs are the trace's; traced once per module, then kept."""
    with model.lock:
        if model.module in _STAGES:
            return _STAGES[model.module]
        layers = stage_layers(model.module)
        kinds = {path: kind for path, kind, _ in layers.values()}
        with torch.inference_mode(False), torch.no_grad():     # the trace reads version counters
            _, traced = traced_pass(model.module, probe_input(model.module, input_shape(model)), follow=layers,
                                    count_macs=True)
        so_far = _macs_so_far(traced)
        found = [StageRef(node.name, node.path, node.call_number, kinds[node.path], int(node.output_shape[1]),
                          so_far[node.index]) for node in (traced.nodes[i] for i in traced.followed)]
        _STAGES[model.module] = found, traced.macs
        return _STAGES[model.module]


def _macs_so_far(traced: Trace) -> dict[int, int]:
    """Node index -> the multiply-accumulates the pass has run when that node's call ends, from the
    trace's per-node MACs: those of the units before it, and of itself (a unit) or, for a followed layer
    inside a unit, of the followed layers run so far in that unit. A module's MACs (the trace gives all
    its calls to the first) are shared equally among its calls. MACs of functional calls outside any
    unit are not in any node: they count in the whole pass's total only."""
    per_call = {(n.path, n.type): n.macs / max(traced.module_calls.get(n.path, 1), 1)
                for n in traced.nodes if n.kind == "module" and n.first_call}
    done = unit = inside = 0.0
    so_far = {}
    for node in traced.nodes[1:]:
        macs = per_call.get((node.path, node.type), 0.0) if node.kind == "module" else 0.0
        if node.nested:
            inside += macs
            so_far[node.index] = round(done + inside)
        else:
            done, unit, inside = done + unit, macs, 0.0
            so_far[node.index] = round(done + unit)
    return so_far


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

        handle = model.module.get_submodule(ref.path).register_forward_hook(hook)
        try:
            model.module(x)
        except _Reached:
            pass
        finally:
            handle.remove()
    if not value:
        raise RuntimeError(f"stage: {ref.name} did not run in the forward pass")
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

    with model.lock:
        handle = module.register_forward_pre_hook(hook)
        try:
            with torch.no_grad(), mode:                       # no_grad, not inference_mode: versions count
                model.module(torch.full((1, *input_shape(model)), 0.5, device=model.device))
        except _Reached:
            pass
        finally:
            handle.remove()
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


# ----------------------------------------------------------------------------------------------------
# The picture: a decorrelated parameterisation, its random transformations, the model's normalisation.

def _frequency_scale(size: int) -> torch.Tensor:
    """Lucid's 1 / frequency ** DECAY_POWER scaling of an rfft2 spectrum, (size, size // 2 + 1)."""
    fy = torch.fft.fftfreq(size, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(size, dtype=torch.float64)[None, :]
    frequency = torch.sqrt(fx * fx + fy * fy)
    return (frequency.clamp_min(1.0 / size) ** -DECAY_POWER * size).float()


class FourierPicture:
    """A picture of `channels` x `size` x `size` in [0, 1], parameterised by a 1 / frequency scaled
    spectrum and, for RGB, decorrelated colours. `spectrum` is the only tensor that is optimised."""

    def __init__(self, channels: int, size: int, generator: torch.Generator):
        self.channels, self.size = channels, size
        shape = (1, channels, size, size // 2 + 1, 2)
        self.spectrum = (torch.randn(shape, generator=generator) * INIT_SD).requires_grad_(True)
        self.scale = _frequency_scale(size)

    def pixels(self) -> torch.Tensor:
        """(1, C, size, size) in [0, 1], differentiable with respect to the spectrum."""
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size)) / SPECTRUM_DIVISOR
        if self.channels == 3:
            image = torch.einsum("ij,bjhw->bihw", COLOR_CORRELATION, image)
        return torch.sigmoid(image)


def _transformed(pixels: torch.Tensor, generator: torch.Generator, fill: float) -> torch.Tensor:
    """The picture randomly shifted (up to JITTER of its side), zoomed (SCALES) and turned (DEGREES)
    about its centre, at its own size; what comes in from outside is the plain colour `fill` (like
    padding first and cropping after)."""
    jitter = round(JITTER * pixels.shape[-1]) or 1
    shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator).double() * 2 / pixels.shape[-1]
    zoom = SCALES[0] + (SCALES[1] - SCALES[0]) * float(torch.rand((), generator=generator, dtype=torch.float64))
    angle = math.radians(DEGREES * (2 * float(torch.rand((), generator=generator, dtype=torch.float64)) - 1))
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    theta = torch.tensor([[[cos, -sin, float(shift[0])], [sin, cos, float(shift[1])]]], dtype=pixels.dtype)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    return F.grid_sample(pixels - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def _fill(model: LoadedModel) -> float:
    """The plain colour around the picture: grey for photos, no ink for the digit model."""
    return 0.0 if model.input_kind == "sketch" else 0.5


def normalise(model: LoadedModel, pixels: torch.Tensor) -> torch.Tensor:
    """Pixels (N, C, H, W) in [0, 1] -> the model's input, normalised as its own transform does (for the
    digit model: ink in [0, 1] -> (ink - 0.2) / 0.3, as explorer.core.digits.grid_to_tensor)."""
    if isinstance(model.transform, PhotoTransform):
        mean = torch.tensor(model.transform.mean, dtype=pixels.dtype).view(1, -1, 1, 1)
        std = torch.tensor(model.transform.std, dtype=pixels.dtype).view(1, -1, 1, 1)
        return (pixels - mean) / std
    if isinstance(model.transform, SketchTransform):
        return (pixels - model.transform.mean) / model.transform.std
    raise ValueError(f"model: {model.name} has no known normalisation to draw a picture for")


def _on_device(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """A normalised input on the model's device, in the channels-last layout its weights use."""
    return x.to(model.device).contiguous(memory_format=torch.channels_last)


def to_image(pixels: torch.Tensor) -> Image.Image:
    """(1, C, H, W) in [0, 1] -> an 8-bit PIL image, RGB for 3 channels, L for 1."""
    array = (pixels[0].detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    if array.shape[0] == 1:
        return Image.fromarray(array[0].numpy(), "L")
    return Image.fromarray(array.permute(1, 2, 0).contiguous().numpy(), "RGB")


def from_image(image: Image.Image) -> torch.Tensor:
    """The inverse of to_image: an 8-bit PIL image -> (1, C, H, W) float in [0, 1]."""
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    channels = len(image.getbands())
    return (data.view(image.height, image.width, channels).permute(2, 0, 1)[None].float() / 255)


# ----------------------------------------------------------------------------------------------------
# Checking the request.

@dataclass(frozen=True)
class _Job:
    ref: StageRef | None           # None for the "class" objective
    stage: str
    stage_index: int | None
    channel: int
    objective: str
    size: int
    steps: int
    seed: int


def _whole(value, name: str) -> int:
    try:
        number = int(value)
        if isinstance(value, bool) or number != float(value):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: {str(value)[:40]!r} is not a whole number") from None
    return number


def _target(model: LoadedModel, stage, channel, objective: str) -> tuple[StageRef | None, str, int | None, int]:
    """(stage ref, stage name, stage index, channel) for an objective; checks stage and channel."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: unknown {str(objective)[:40]!r}; choose one of {', '.join(OBJECTIVES)}")
    channel = _whole(channel, "channel")
    if objective == "class":
        if not 0 <= channel < len(model.labels):
            raise ValueError(f"channel: class {channel} does not exist; with objective 'class' the channel is a "
                             f"class index, 0 to {len(model.labels) - 1}")
        return None, "logits", None, channel
    refs = stages_of(model)
    index = stage_index([ref.name for ref in refs], stage)
    ref = refs[index]
    if not 0 <= channel < ref.channels:
        raise ValueError(f"channel: {channel} does not exist; this stage has channels 0 to {ref.channels - 1}")
    return ref, ref.name, index, channel


def _job(model: LoadedModel, stage, channel, objective, size, steps, seed) -> _Job:
    ref, name, index, channel = _target(model, stage, channel, objective)
    side = input_shape(model)[1]
    size = side if size is None else _whole(size, "size")
    if model.input_kind == "sketch" and size != side:
        raise ValueError(f"size: the {model.name} model reads {side}x{side} pictures only; give {side} or None")
    if model.input_kind != "sketch" and not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size: {size} is out of range; give {MIN_SIZE} to {MAX_SIZE} pixels, or None for "
                         f"the model's own {side}")
    steps = _default_steps(model, ref, size) if steps is None else _whole(steps, "steps")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps: {steps} is out of range; give 1 to {MAX_STEPS}, or None for the default")
    seed = _whole(seed, "seed")
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed: {seed} is out of range; give 0 to {2 ** 63 - 1}")
    return _Job(ref, name, index, channel, objective, size, steps, seed)


def default_steps(model: LoadedModel, stage=None, *, objective: str = "channel", size: int | None = None) -> int:
    """The number of steps `visualize` takes when given none (the arguments as visualize's): 200 (the
    most, which are 200 forward+backward passes) except on a CPU, where a run gets CPU_BUDGET
    multiply-accumulates, the cost of 200 passes of the default model (about 10-15 s on 2 cores): a
    pass costs the multiply-accumulates the trace counts up to the stage, at the picture's size; never
    fewer than 48 steps (then a heavy model, VGG-16 say, takes minutes on a CPU)."""
    ref = _target(model, stage, 0, objective)[0]
    side = input_shape(model)[1]
    return _default_steps(model, ref, side if size is None else _whole(size, "size"))


def _default_steps(model: LoadedModel, ref: StageRef | None, size: int) -> int:
    fewest, most = DEFAULT_STEPS
    if model.device.type != "cpu":
        return most
    macs = (ref.macs if ref is not None else _stages(model)[1]) * (size / input_shape(model)[1]) ** 2
    return int(min(most, max(fewest, CPU_BUDGET // max(macs, 1))))


# ----------------------------------------------------------------------------------------------------
# The optimisation.

def _redirect_next(redirected: int, dead: bool) -> int:
    """How many of the next steps run with _RedirectedReLU: REDIRECT_STEPS after a plain step that found
    no gradient (the feature is off); none ever again (-1) once a redirected step found none either (the
    feature is at its ceiling, every unit saturated, say at a ReLU6's 6: redirecting only costs time)."""
    if redirected > 0:
        return -1 if dead else redirected - 1
    return REDIRECT_STEPS if redirected == 0 and dead else redirected


def _optimise(model: LoadedModel, job: _Job, progress: Progress | None) -> Visualization:
    """Adam (learning rate 0.05) on a Fourier spectrum scaled by 1 / frequency whose colours go through
    ImageNet's colour-correlation matrix and a sigmoid (Lucid's recipe, with the inverse FFT divided by 2
    rather than Lucid's 4), seen for the first 70 % of the steps through a random jitter of up to 8 px
    (at 224; proportionally at other sizes), a zoom of 0.9 to 1.1 and a rotation of up to 5 degrees, and
    for the last 30 % as it is, then normalised with the model's own mean and standard deviation: one
    forward+backward per step. The gradient is taken with respect to the spectrum only. When a step
    finds the feature off everywhere (no gradient reaches the picture, as happens to a channel behind a
    ReLU), the next steps run with Lucid's redirected ReLU gradient until it comes on. The lock is held
    for each forward pass only (the backward pass reads saved tensors, never the module)."""
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(job.seed)
    picture = FourierPicture(input_shape(model)[0], job.size, generator)
    optimizer = torch.optim.Adam([picture.spectrum], lr=LEARNING_RATE)
    fill, values, redirected = _fill(model), [], 0
    settle_from = job.steps - round(SETTLE * job.steps)
    for step in range(job.steps):
        optimizer.zero_grad(set_to_none=True)
        pixels = picture.pixels()
        if step < settle_from:
            pixels = _transformed(pixels, generator, fill)
        x = _on_device(model, normalise(model, pixels))
        value = _measure(model, job.ref, job.channel, job.objective, x, redirect=redirected > 0)[0]
        (-value).backward()
        redirected = _redirect_next(redirected, not picture.spectrum.grad.any())
        optimizer.step()
        values.append(float(value.detach()))
        if progress is not None:
            progress((step + 1) / job.steps)
    with torch.no_grad():
        image = to_image(picture.pixels())
    x = normalise(model, from_image(image))
    with torch.no_grad():
        activation = float(_measure(model, job.ref, job.channel, job.objective, _on_device(model, x))[0])
    return Visualization(image, values, job.stage, job.stage_index, job.channel, job.objective, job.seed,
                         job.steps, job.size, activation, x, time.perf_counter() - start)


def visualize(model: LoadedModel, stage, channel, *, objective: str = "channel", size: int | None = None,
              steps: int | None = None, seed: int = 0, progress: Progress | None = None) -> Visualization:
    r"""Draw a picture that excites one feature of the model as much as it can.

    The picture is optimised by gradient ascent on the objective, by Lucid's recipe (`_optimise` says
    how). The model stays in eval mode and its weights are never changed.

    Args:
        model (LoadedModel): A model from `explorer.core.models.get_model` or `load_model`. Its `lock` is
            held for each forward pass only: other users of the shared module run between steps.
        stage (int or str): The stage whose output is measured: its index in the Stages tab's order
            (0-based; a numeric string counts) or its name as the Stages tab lists it (e.g.
            ``"blocks.2.0.conv_pw"``, or ``"name (call 2)"`` for a module's second call). Conv and
            pooling stages alike. Ignored when ``objective="class"``.
        channel (int): The channel of the stage, 0 to the stage's channels - 1. With
            ``objective="class"`` it is the class index instead, 0 to ``len(model.labels) - 1``.
        objective (str, optional): What is maximised:

            - ``"channel"`` (default): the mean of the channel over the stage's whole output map;
            - ``"unit"``: the one neuron at the centre of the channel's map (row H // 2, column W // 2);
            - ``"class"``: the classifier's logit for class ``channel`` (a whole forward pass).

            The stage's output is taken as the stage's module returns it (a convolution's output before
            its BatchNorm and activation), as the Stages tab shows it.
        size (int, optional): The side of the picture in pixels, which is also the size the model reads
            it at. None (default): the model's own input size (224 for the ImageNet models, 28 for the
            digit model, which accepts only 28). Photo models accept 64 to 512; smaller is faster.
        steps (int, optional): Optimisation steps, one forward and one backward pass each (the forward
            pass stops at the stage), 1 to 512. None (default): `default_steps` (200 on a GPU; on a
            CPU as many as its budget allows, 48 to 200).
        seed (int, optional): Seeds the initial spectrum and every random transformation (one
            torch.Generator). The same seed, steps and size give the same picture on the same machine
            (bitwise on the CPU); another seed gives another picture of the same feature. Default: 0.
        progress (callable, optional): Called as ``progress(fraction_done)`` after every step (and with
            1.0 when the answer comes from the cache). If it raises (e.g. a Cancel button), the run
            stops at once, the exception propagates, no hook is left and nothing is cached.

    Returns:
        Visualization: the picture, the objective after each step (a list that should rise), its
        `activation` (compare it with `activation_of` on any other picture) and the request's numbers.
        Results are kept in `RESULTS`, keyed by (model name, pretrained, stage index, channel, objective,
        seed, steps, size): asking again returns the same object at once. Treat it as read-only.

    Raises:
        ValueError: naming the argument and the allowed range, for an unknown objective, an unknown
            stage name, a stage index out of range, a channel (or class) out of range, steps outside
            1 to 512, a size the model cannot read or a seed that is not a non-negative whole number.
    """
    job = _job(model, stage, channel, objective, size, steps, seed)
    key = (model.name, model.pretrained, job.stage_index, job.channel, job.objective, job.seed, job.steps, job.size)
    found = RESULTS.get(key)
    if found is None:
        with torch.inference_mode(False), torch.enable_grad():     # whatever mode the caller runs in
            found = _optimise(model, job, progress)
        RESULTS.put(key, found)
    elif progress is not None:
        progress(1.0)
    return found


def activation_of(model: LoadedModel, stage, channel, picture, objective: str = "channel") -> float:
    """The objective (see `visualize`) on any picture: a PIL image (or anything `model.preprocess`
    takes), which goes through the model's own transform (resize and crop for photo models, the sketch
    reading for the digit model), or a tensor (C, H, W) or (1, C, H, W) already normalised as the model
    expects (e.g. `Visualization.input`), used as it is. With ``objective="class"`` `stage` is ignored
    and `channel` is a class index. ValueError for a bad stage, channel or objective, as `visualize`."""
    ref, _, _, channel = _target(model, stage, channel, objective)
    if isinstance(picture, torch.Tensor):
        x = picture if picture.dim() == 4 else picture[None]
        if x.shape[0] != 1 or x.shape[1] != input_shape(model)[0]:
            raise ValueError(f"picture: a tensor of shape {tuple(picture.shape)}; give (C, H, W) or (1, C, H, W) "
                             f"with C = {input_shape(model)[0]}")
        x = x.float()
    else:
        x = model.preprocess(picture)
    with torch.no_grad():
        return float(_measure(model, ref, channel, objective, _on_device(model, x))[0])
