"""Which pixels decided the model's answer: attribution maps computed by Captum.

`attribute(model, image, method, target=None, **options)` returns a float map of the user's image's own
height x width (ready to overlay). Every method runs through Captum; the code here only picks the target,
wires the layer, and maps the model-input-sized result back onto the picture. The shared module is used
under its lock for the whole attribution, because Captum's hooks mutate it while they run.
"""
import difflib
import math
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import (
    GuidedGradCam,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from PIL import Image
from torch import nn

from explorer.core import budgets, cost
from explorer.core.budgets import echo
from explorer.core.guided_check import guided_backprop_check, registered_verdict
from explorer.core.hooks import hooked
from explorer.core.images import load_image
from explorer.core.loaded_model import LoadedModel
from explorer.core.memory import release_memory
from explorer.core.registry import PhotoTransform, entry, find
from explorer.core.stages import stage_kind
from explorer.core.state import STORES

Progress = Callable[[float], None]   # called with the fraction done; may raise to cancel


class Cancelled(RuntimeError):
    """Raised by a progress callback to stop a long attribution."""


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    description: str                         # one line, shown in the UI
    run: Callable                            # (counted module, x, target, layer, options) -> tensor
    long: bool = False                       # worth a progress bar and a Cancel button
    needs_guided_relus: bool = False         # valid only where every ReLU is its own nn.ReLU module
    uses_layer: bool = False                 # takes the Grad-CAM layer option
    options: tuple = ()                      # option names it accepts besides `layer`
    passes: Callable = lambda options, size: 1   # (options, input (h, w)) -> one-picture passes it runs


# ----------------------------------------------------------------------------------------------------
# The methods: one function and one METHODS entry each.

def _saliency(net, x, target, layer, options):
    return Saliency(net).attribute(x, target=target, abs=False)


def _integrated_gradients(net, x, target, layer, options):
    steps = _int_option(options, "n_steps", 32, 2, 512)
    budgets.check_model_passes(f"n_steps: {steps} steps of Integrated Gradients make {steps:,} pictures", steps,
                               "use fewer steps")
    batch = _chunk(net, options, "internal_batch_size", steps, steps)
    net.expect(math.ceil(steps / batch))
    return IntegratedGradients(net).attribute(x, baselines=torch.zeros_like(x), target=target,
                                              n_steps=steps, internal_batch_size=batch)


def _smoothgrad(net, x, target, layer, options):
    samples = _int_option(options, "nt_samples", 16, 1, 256)
    budgets.check_model_passes(f"nt_samples: {samples} noisy copies make {samples:,} pictures", samples,
                               "use fewer noisy copies")
    batch = _chunk(net, options, "nt_samples_batch_size", samples, samples)
    stdev = _number_option(options, "stdevs", 0.15, 0.0, 2.0)
    net.expect(math.ceil(samples / batch))
    return NoiseTunnel(Saliency(net)).attribute(x, nt_type="smoothgrad", nt_samples=samples,
                                                nt_samples_batch_size=batch, stdevs=stdev,
                                                target=target, abs=False)


def _chunk(net, options: dict, name: str, default: int, pictures: int) -> int:
    """Pictures per pass: the caller's `name` option (else `default`), at most the `pictures` there are and
    what fits the memory budget (Captum then runs the batch in chunks of this size; the result is the same),
    and for a registered model about cost.CHUNK_SECONDS of work: between two chunks a small request goes first."""
    wanted = _int_option(options, name, default, 1, 512)
    fits = budgets.chunk(picture_bytes(net.inner, net.sample), min(wanted, pictures))
    return min(fits, max(1, int(cost.CHUNK_SECONDS / net.seconds_per_picture))) if net.seconds_per_picture else fits


_picture_bytes: "weakref.WeakKeyDictionary[nn.Module, dict]" = STORES.register(
    "attribution.picture_bytes", weakref.WeakKeyDictionary(), "bytes one picture's pass takes, per model and method")


def picture_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Memory one picture of x's size takes through the model with gradients, estimated as the outputs
    of all its leaf modules (what autograd keeps for the backward pass). Measured for EfficientNet-Lite0
    on the CPU: 100 MB estimated, 80 MB per picture at the process's peak (Integrated Gradients in
    batches of 4 and 16), so a chunk sized by it stays within the budget."""
    sizes = _picture_bytes.setdefault(module, {})
    shape = tuple(x.shape[1:])
    if shape not in sizes:
        total = 0

        def count(layer, inputs, output):
            nonlocal total
            if torch.is_tensor(output):
                total += output[:1].numel() * output.element_size()
        leaves = [m for m in module.modules() if next(m.children(), None) is None]
        with hooked(leaves, forward=count), torch.no_grad():
            module(x[:1].detach())
        sizes[shape] = max(total, x[:1].numel() * x.element_size())
    return sizes[shape]


def _gradcam(net, x, target, layer, options):
    cam = LayerGradCam(net, layer).attribute(x, target=target, relu_attributions=True)
    return LayerAttribution.interpolate(cam.detach(), tuple(x.shape[-2:]), interpolate_mode="bilinear")


def _guided_gradcam(net, x, target, layer, options):
    with warnings.catch_warnings():
        # Captum announces its (temporary, removed) ReLU hooks on every guided call: not news to a user.
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
        return GuidedGradCam(net, layer).attribute(x, target=target, interpolate_mode="bilinear")


def occlusion_geometry(size: tuple[int, int], options: dict) -> tuple[int, int]:
    """(window, stride) in model-input pixels; by default a window of about 1/7 of the shorter side."""
    shorter = min(size)
    window = _int_option(options, "window", max(1, round(shorter / 7)), 1, 10_000)
    stride = _int_option(options, "stride", max(1, window // 2), 1, 10_000)
    if window > shorter:
        raise ValueError(f"occlusion: the window ({window} px) is larger than the model's input "
                         f"({size[1]}x{size[0]} px); use at most {shorter}")
    if stride > window:
        raise ValueError(f"occlusion: the stride ({stride} px) is larger than the window ({window} px), so "
                         f"some pixels would never be covered; use a stride of at most {window}")
    return window, stride


def occlusion_positions(size: tuple[int, int], window: int, stride: int) -> int:
    """Where the window goes: Captum's count (a last, partial step at each edge included)."""
    return math.prod((n - window) // stride + 1 + ((n - window) % stride > 0) for n in size)


def _occlusion(net, x, target, layer, options):
    size = tuple(x.shape[-2:])
    window, stride = occlusion_geometry(size, options)
    positions = occlusion_positions(size, window, stride)
    budgets.check_model_passes(f"occlusion: window {window} px and stride {stride} px make {positions:,} positions",
                               positions + 1, "use a larger stride or window")
    per_eval = _chunk(net, options, "perturbations_per_eval", 16, positions)
    channels = x.shape[1]
    net.expect(1 + math.ceil(positions / per_eval))
    return Occlusion(net).attribute(x, target=target, sliding_window_shapes=(channels, window, window),
                                    strides=(channels, stride, stride), baselines=0.0,
                                    perturbations_per_eval=per_eval)


def _occlusion_passes(options: dict, size: tuple[int, int]) -> int:
    return 1 + occlusion_positions(size, *occlusion_geometry(size, options))


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("saliency", "Saliency (gradient)",
           "How much the class score changes when each pixel changes a little: the raw gradient.",
           _saliency),
    Method("integrated_gradients", "Integrated Gradients",
           "Gradients summed along a path from a grey picture to yours: each pixel's share of the score.",
           _integrated_gradients, long=True, options=("n_steps", "internal_batch_size"),
           passes=lambda options, size: _int_option(options, "n_steps", 32, 2, 512)),
    Method("smoothgrad", "SmoothGrad",
           "The gradient averaged over noisy copies of the picture: less speckle than plain saliency.",
           _smoothgrad, long=True, options=("nt_samples", "nt_samples_batch_size", "stdevs"),
           passes=lambda options, size: _int_option(options, "nt_samples", 16, 1, 256)),
    Method("gradcam", "Grad-CAM",
           "Where in a conv layer the features that raise the class score are: coarse regions.",
           _gradcam, uses_layer=True),
    Method("guided_gradcam", "Guided Grad-CAM",
           "Grad-CAM sharpened by guided backpropagation: fine detail inside the Grad-CAM regions.",
           _guided_gradcam, needs_guided_relus=True, uses_layer=True, passes=lambda options, size: 2),
    Method("occlusion", "Occlusion",
           "Grey out a window at every position and watch the score drop: no gradients at all.",
           _occlusion, long=True, options=("window", "stride", "perturbations_per_eval"), passes=_occlusion_passes),
]}

def image_passes(method: str, options: dict, size: tuple[int, int]) -> int:
    """How many one-picture passes through the model `method` costs with `options` at a model input of
    `size` (h, w), as its run counts them (its METHODS entry's `passes`): what sizes its GPU slot
    (explorer.core.gpu). An unknown method or a bad option counts 1: the method itself refuses it, with
    a message, before any pass runs."""
    try:
        return METHODS[method].passes(options, size) if method in METHODS else 1
    except ValueError:
        return 1


def method_title(name: str) -> str:
    return METHODS[name].title if name in METHODS else name


# ----------------------------------------------------------------------------------------------------
# Which methods are valid for which model.

def methods_of(name: str) -> list[str]:
    """The METHODS Captum computes correctly on the registered model `name` (no weights are loaded)."""
    entry(name)             # ValueError naming what works for a name neither registered nor a timm CNN
    valid = registered_verdict(name)[0]
    return [method for method, m in METHODS.items() if valid or not m.needs_guided_relus]


def _rebuilds(name) -> bool:
    try:
        return find(name) is not None
    except ValueError:
        return False


def methods_for(model: LoadedModel) -> list[str]:
    """The METHODS that Captum computes correctly on this model."""
    if _rebuilds(model.name):
        return methods_of(model.name)
    guided = guided_backprop_check(model)[0]
    return [name for name, m in METHODS.items() if guided or not m.needs_guided_relus]


def conv_layers(model: LoadedModel) -> list[str]:
    """Names of the model's conv stages (module paths, as the Stages tab names them), input to output."""
    return [name for name, m in model.module.named_modules() if stage_kind(m) == "conv"]


# ----------------------------------------------------------------------------------------------------
# Targets and options.

def resolve_target(model: LoadedModel, target) -> int | None:
    """A class index, a class name (as in model.labels), or None (= the top-1 prediction)."""
    labels = model.labels
    if target is None or (isinstance(target, str) and not target.strip()):
        return None
    if isinstance(target, str):
        text = target.strip()
        if text.lstrip("-").isdigit():
            return resolve_target(model, int(text))
        lowered = [label.lower() for label in labels]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        close = difflib.get_close_matches(text.lower(), lowered, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(labels[lowered.index(c)]) for c in close)}?" if close else ""
        raise ValueError(f"target: {model.display_name} has no class named {echo(text)} among its "
                         f"{len(labels)} classes{hint}")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"target: give a class index or a class name, not a {type(target).__name__}")
    if not 0 <= int(target) < len(labels):
        raise ValueError(f"target: class index {int(target)} is out of range: {model.display_name} has "
                         f"classes 0 to {len(labels) - 1}")
    return int(target)


def _number_option(options: dict, name: str, default: float, low: float, high: float, whole: bool = False):
    value = options.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {echo(value)} is not a number") from None
    if whole and not (number.is_integer() and low <= number <= high):
        raise ValueError(f"{name}: {echo(value)} must be a whole number from {low} to {high}")
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name}: {echo(value)} must be between {low} and {high}")
    return int(number) if whole else number


def _int_option(options: dict, name: str, default: int, low: int, high: int) -> int:
    return _number_option(options, name, default, low, high, whole=True)


def check_options(method: str, options: dict) -> None:
    """Every option name is one `method` takes (its own and `layer` where it uses one)."""
    spec = METHODS[method]
    allowed = set(spec.options) | ({"layer"} if spec.uses_layer else set())
    unknown = sorted(set(options) - allowed, key=str)
    if unknown:
        names = ", ".join(n if isinstance(n, str) and len(n) <= 40 else echo(n) for n in unknown)
        raise ValueError(f"options: {method} does not take {names}; it takes "
                         f"{', '.join(sorted(allowed)) or 'no options'}")


def parse_boolean(name: str, value) -> bool:
    """true / false, 1 / 0, or the same words as text; anything else is refused by name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(f"{name}: {echo(value)} is not true or false; give true or false")


def _layer(model: LoadedModel, name: str | None) -> tuple[str, nn.Module]:
    layers = conv_layers(model)
    if not layers:
        raise ValueError(f"layer: {model.display_name} has no conv layer")
    name = layers[-1] if name in (None, "") else str(name)
    if name not in layers:
        raise ValueError(f"layer: {echo(name)} is not a conv stage of {model.display_name}; choose one of "
                         f"{', '.join(layers[-5:])} (or earlier ones, as listed in the Stages tab)")
    return name, model.module.get_submodule(name)


# ----------------------------------------------------------------------------------------------------
# Running a method.

class _Counted(nn.Module):
    """The model, counting forward passes to report progress (and to let the callback cancel)."""

    def __init__(self, module: nn.Module, progress: Progress | None, sample: torch.Tensor):
        super().__init__()
        self.inner = module
        self.sample = sample                 # the picture attributed: sizes the memory of a pass
        self.progress = progress
        self.done, self.total = 0, 1
        self.seconds_per_picture = 0.0       # a registered model's estimate (explorer.core.cost): sizes chunks

    def expect(self, total: int) -> None:
        self.total = max(1, total)

    def forward(self, x):
        if self.progress is not None:
            self.progress(min(1.0, self.done / self.total))
        out = self.inner(x)
        self.done += 1
        return out


@dataclass
class Attribution:
    method: str
    target: int
    label: str
    input_map: np.ndarray            # (h, w) at the model's input resolution, channels summed, signed
    layer: str | None = None
    options: dict = field(default_factory=dict)


def attribute_input(model: LoadedModel, x: torch.Tensor, method: str, target=None, *,
                    progress: Progress | None = None, **options) -> Attribution:
    """The attribution on the model's input tensor x (1, C, h, w), channels summed: an (h, w) map.
    `progress` is called with the fraction done before each pass through the model; it may raise
    Cancelled to stop."""
    if method not in METHODS:
        raise ValueError(f"method: unknown {echo(method)}; choose one of {', '.join(METHODS)}")
    spec = METHODS[method]
    check_options(method, options if progress is None or callable(progress) else {"progress": progress} | options)
    valid = methods_for(model)
    if method not in valid:
        raise ValueError(f"method: {spec.title} is not computed correctly on {model.display_name}: "
                         f"{guided_backprop_check(model)[1]}. Choose one of {', '.join(valid)}")
    target = resolve_target(model, target)
    layer_name, layer = _layer(model, options.get("layer")) if spec.uses_layer else (None, None)
    run_options = {k: v for k, v in options.items() if k != "layer"}
    cost.check_method(model.name, method, spec.title, spec.passes(run_options, tuple(x.shape[-2:])))
    x = x.detach().clone()
    with model.lock, torch.enable_grad():
        if target is None:
            with torch.no_grad():
                target = int(model.module(x).argmax(dim=-1)[0])
        net = _Counted(model.module, progress, x)
        if cost.priced(model.name):
            net.seconds_per_picture = cost.pass_seconds(cost.model_gmacs(model.name), method != "occlusion")
        result = spec.run(net, x.requires_grad_(), target, layer, run_options)
        if progress is not None:
            progress(1.0)
    heat = result.detach()[0].sum(dim=0).float().cpu().numpy()
    if spec.long:
        del net, result
        release_memory(collect=True)
    return Attribution(method, target, model.labels[target], heat, layer_name, run_options)


def map_on_picture(model: LoadedModel, image: Image.Image, heat: np.ndarray) -> np.ndarray:
    """Resize the model-input map onto the picture: into the crop box for photo models (zero where the
    model saw nothing), over the whole picture otherwise."""
    width, height = image.size
    tensor = torch.from_numpy(np.ascontiguousarray(heat, dtype=np.float32))[None, None]
    if not isinstance(model.transform, PhotoTransform):
        return F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()
    left, top, right, bottom = model.transform.crop_box(image.size)
    x0, y0 = max(0, round(left)), max(0, round(top))
    x1, y1 = min(width, max(x0 + 1, round(right))), min(height, max(y0 + 1, round(bottom)))
    out = np.zeros((height, width), np.float32)
    out[y0:y1, x0:x1] = F.interpolate(tensor, size=(y1 - y0, x1 - x0), mode="bilinear",
                                      align_corners=False)[0, 0].numpy()
    return out


def seen_box(model: LoadedModel, image: Image.Image) -> tuple[int, int, int, int] | None:
    """Where the model looked, in the picture's pixels (None: it looked at all of it)."""
    if not isinstance(model.transform, PhotoTransform):
        return None
    left, top, right, bottom = model.transform.crop_box(image.size)
    return max(0, round(left)), max(0, round(top)), min(image.width, round(right)), min(image.height, round(bottom))


def explain(model: LoadedModel, image, method: str, target=None, **options) -> tuple[Attribution, np.ndarray]:
    """An attribution map through Captum, both at the model's input and on the picture as given.

    Args:
        model (LoadedModel): From `get_model` or `load_model`.
        image: A PIL image, a path, a numpy array or a sketch dict (anything `load_image` takes).
        method (str): A key of ``explorer.METHODS``: ``"saliency"``, ``"integrated_gradients"``,
            ``"smoothgrad"``, ``"gradcam"``, ``"guided_gradcam"`` or ``"occlusion"``.
        target: The class explained: an index, a class name, or None (default) for the top-1 prediction.
        **options: The method's own options (``n_steps``, ``nt_samples``, ``stdevs``, ``layer``,
            ``window``, ``stride``, ...; see docs/saliency.md), and ``progress``, a callable given the
            fraction done before each pass (raise ``Cancelled`` from it to stop).

    Returns:
        tuple[Attribution, numpy.ndarray]: The attribution at the model's input (``method``, ``target``,
        ``label``, ``input_map`` (h, w) signed and summed over colour channels, ``layer``, ``options``),
        and the same map resized onto the picture's own height x width (zero outside the crop the model
        saw).

    Raises:
        ValueError: naming the argument: an unknown method, option or class name, a class index out of
            range, a method this model cannot compute correctly, an unreadable picture; ``OverBudget`` (a
            ValueError) when the request would cost more passes or memory than this machine allows.
        Cancelled: raised by ``progress`` to stop.
    """
    image = load_image(image)
    result = attribute_input(model, model.preprocess(image), method, target, **options)
    return result, map_on_picture(model, image, result.input_map)


def attribute(model: LoadedModel, image, method: str, target=None, **options) -> np.ndarray:
    """Which pixels decided the prediction: one attribution map, computed by Captum.

    Args:
        model (LoadedModel): From `get_model` or `load_model`.
        image: A PIL image, a path, a numpy array or a sketch dict (anything `load_image` takes).
        method (str): A key of ``explorer.METHODS`` (``"saliency"``, ``"gradcam"``, ...).
        target: The class explained: an index, a class name, or None (default) for the top-1 prediction.
        **options: The method's own options (see `explain`).

    Returns:
        numpy.ndarray: A signed float map of the image's own height x width, summed over colour
        channels, zero outside the part of the picture the model saw.

    Raises:
        ValueError: as `explain` (unknown method, option or class; over the machine's budget).
        Cancelled: raised by a ``progress`` option to stop.
    """
    return explain(model, image, method, target, **options)[1]


# ----------------------------------------------------------------------------------------------------
# Showing a map.

SIGNS = ("absolute", "positive", "negative")


def signed(heat: np.ndarray, sign: str) -> np.ndarray:
    """The part of the map to show: |map|, its positive part, or its negative part (as positive numbers)."""
    if sign == "absolute":
        return np.abs(heat)
    if sign == "positive":
        return np.maximum(heat, 0)
    if sign == "negative":
        return np.maximum(-heat, 0)
    raise ValueError(f"sign: {echo(sign)}; choose one of {', '.join(SIGNS)}")


def normalise(heat: np.ndarray) -> np.ndarray:
    """Scale a non-negative map to [0, 1] by its 99.5th percentile, so one hot pixel does not blank the rest."""
    top = float(np.percentile(heat, 99.5)) if heat.size else 0.0
    if not math.isfinite(top) or top <= 0:
        top = float(heat.max()) if heat.size and heat.max() > 0 else 1.0
    return np.clip(heat / top, 0.0, 1.0)
