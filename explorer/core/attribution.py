"""Which pixels decided the model's answer: attribution maps computed by Captum.

`attribute(model, image, method, target=None, **options)` returns a float map of the user's image's own
height x width (ready to overlay). Every method runs through Captum; the code here only picks the target,
wires the layer, and maps the model-input-sized result back onto the picture. The shared module is used
under its lock for the whole attribution, because Captum's hooks mutate it while they run.
"""
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
from explorer.core.attribution_values import (  # noqa: F401  (re-exported: here as before)
    SIGNS,
    _int_option,
    _number_option,
    normalise,
    parse_boolean,
    resolve_target,
    signed,
)
from explorer.core.budgets import echo
from explorer.core.guided_check import guided_backprop_check, registered_verdict
from explorer.core.hooks import hooked
from explorer.core.images import load_image
from explorer.core.loaded_model import LoadedModel
from explorer.core.memory import release_memory
from explorer.core.registry import PhotoTransform, entry, find
from explorer.core.stages import stage_kind
from explorer.core.state import STORES
from explorer.core.words import say

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
    title_zh: str = ""                       # the title in Chinese (the English name kept beside it)
    description_zh: str = ""                 # the description in Chinese


# ----------------------------------------------------------------------------------------------------
# The methods: one function and one METHODS entry each.

def _saliency(net, x, target, layer, options):
    return Saliency(net).attribute(x, target=target, abs=False)


def _integrated_gradients(net, x, target, layer, options):
    steps = _int_option(options, "n_steps", 32, 2, 512)
    budgets.check_model_passes(say("n_steps: {n} steps of Integrated Gradients make {n:,} pictures",
                                   "n_steps：积分梯度的 {n} 步要算 {n:,} 张图", n=steps), steps,
                               say("use fewer steps", "请减少步数"))
    batch = _chunk(net, options, "internal_batch_size", steps, steps)
    net.expect(math.ceil(steps / batch))
    return IntegratedGradients(net).attribute(x, baselines=torch.zeros_like(x), target=target,
                                              n_steps=steps, internal_batch_size=batch)


def _smoothgrad(net, x, target, layer, options):
    samples = _int_option(options, "nt_samples", 16, 1, 256)
    budgets.check_model_passes(say("nt_samples: {n} noisy copies make {n:,} pictures",
                                   "nt_samples：{n} 份加噪副本要算 {n:,} 张图", n=samples), samples,
                               say("use fewer noisy copies", "请减少加噪副本数"))
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
        raise ValueError(say("occlusion: the window ({window} px) is larger than the model's input ({w}x{h} px); "
                             "use at most {most}",
                             "occlusion：遮挡窗口（{window} px）比模型的输入（{w}x{h} px）还大；最多用 {most}",
                             window=window, w=size[1], h=size[0], most=shorter))
    if stride > window:
        raise ValueError(say("occlusion: the stride ({stride} px) is larger than the window ({window} px), so some "
                             "pixels would never be covered; use a stride of at most {window}",
                             "occlusion：步幅（{stride} px）比窗口（{window} px）还大，有些像素永远遮不到；"
                             "步幅最多用 {window}", stride=stride, window=window))
    return window, stride


def occlusion_positions(size: tuple[int, int], window: int, stride: int) -> int:
    """Where the window goes: Captum's count (a last, partial step at each edge included)."""
    return math.prod((n - window) // stride + 1 + ((n - window) % stride > 0) for n in size)


def _occlusion(net, x, target, layer, options):
    size = tuple(x.shape[-2:])
    window, stride = occlusion_geometry(size, options)
    positions = occlusion_positions(size, window, stride)
    budgets.check_model_passes(say("occlusion: window {window} px and stride {stride} px make {n:,} positions",
                                   "occlusion：窗口 {window} px、步幅 {stride} px 共有 {n:,} 个位置",
                                   window=window, stride=stride, n=positions),
                               positions + 1, say("use a larger stride or window", "请用更大的步幅或窗口"))
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
           _saliency, title_zh="梯度显著图 (Saliency)",
           description_zh="每个像素稍微一变，这个类别的分数变多少：就是原始的梯度。"),
    Method("integrated_gradients", "Integrated Gradients",
           "Gradients summed along a path from a grey picture to yours: each pixel's share of the score.",
           _integrated_gradients, long=True, options=("n_steps", "internal_batch_size"),
           passes=lambda options, size: _int_option(options, "n_steps", 32, 2, 512),
           title_zh="积分梯度 (Integrated Gradients)",
           description_zh="沿着从一张灰色图片到你的图片的路径把梯度累加起来：每个像素在分数里占多少。"),
    Method("smoothgrad", "SmoothGrad",
           "The gradient averaged over noisy copies of the picture: less speckle than plain saliency.",
           _smoothgrad, long=True, options=("nt_samples", "nt_samples_batch_size", "stdevs"),
           passes=lambda options, size: _int_option(options, "nt_samples", 16, 1, 256),
           title_zh="平滑梯度 (SmoothGrad)",
           description_zh="在图片的多份加噪副本上求梯度再取平均：比普通的梯度显著图斑点少。"),
    Method("gradcam", "Grad-CAM",
           "Where in a conv layer the features that raise the class score are: coarse regions.",
           _gradcam, uses_layer=True, title_zh="Grad-CAM",
           description_zh="某个卷积层里，哪些位置的特征把这个类别的分数推高：得到的是粗略的区域。"),
    Method("guided_gradcam", "Guided Grad-CAM",
           "Grad-CAM sharpened by guided backpropagation: fine detail inside the Grad-CAM regions.",
           _guided_gradcam, needs_guided_relus=True, uses_layer=True, passes=lambda options, size: 2,
           title_zh="引导 Grad-CAM (Guided Grad-CAM)",
           description_zh="用引导反向传播让 Grad-CAM 更清晰：在 Grad-CAM 的区域里显出细节。"),
    Method("occlusion", "Occlusion",
           "Grey out a window at every position and watch the score drop: no gradients at all.",
           _occlusion, long=True, options=("window", "stride", "perturbations_per_eval"), passes=_occlusion_passes,
           title_zh="遮挡 (Occlusion)",
           description_zh="用灰块依次遮住图片的每个位置，看分数掉多少：完全不用梯度。"),
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
    """The method's title in the language spoken now (its own name for a map that is not one of METHODS)."""
    if name not in METHODS:
        return name
    return say(METHODS[name].title, METHODS[name].title_zh or METHODS[name].title)


def method_description(name: str) -> str:
    """The method's one-line description in the language spoken now."""
    return say(METHODS[name].description, METHODS[name].description_zh or METHODS[name].description)


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

def check_options(method: str, options: dict) -> None:
    """Every option name is one `method` takes (its own and `layer` where it uses one)."""
    spec = METHODS[method]
    allowed = set(spec.options) | ({"layer"} if spec.uses_layer else set())
    unknown = sorted(set(options) - allowed, key=str)
    if unknown:
        names = ", ".join(n if isinstance(n, str) and len(n) <= 40 else echo(n) for n in unknown)
        takes = ", ".join(sorted(allowed))
        if takes:
            raise ValueError(say("options: {method} does not take {names}; it takes {takes}",
                                 "options：{method} 不接受 {names}；它接受 {takes}",
                                 method=method, names=names, takes=takes))
        raise ValueError(say("options: {method} does not take {names}; it takes no options",
                             "options：{method} 不接受 {names}；它不接受任何选项", method=method, names=names))


def _layer(model: LoadedModel, name: str | None) -> tuple[str, nn.Module]:
    layers = conv_layers(model)
    if not layers:
        raise ValueError(say("layer: {model} has no conv layer", "layer：{model} 没有卷积层",
                             model=model.display_name))
    name = layers[-1] if name in (None, "") else str(name)
    if name not in layers:
        raise ValueError(say("layer: {name} is not a conv stage of {model}; choose one of {last} (or earlier ones, "
                             "as listed in the Stages tab)",
                             "layer：{name} 不是 {model} 的卷积阶段；请从 {last} 中选（或更前面的，见 Stages 标签页）",
                             name=echo(name), model=model.display_name, last=", ".join(layers[-5:])))
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
        raise ValueError(say("method: unknown {method}; choose one of {names}",
                             "method：没有 {method} 这种方法；请从 {names} 中选", method=echo(method),
                             names=", ".join(METHODS)))
    spec = METHODS[method]
    check_options(method, options if progress is None or callable(progress) else {"progress": progress} | options)
    valid = methods_for(model)
    if method not in valid:
        raise ValueError(say("method: {title} is not computed correctly on {model}: {why}. Choose one of {names}",
                             "method：{title} 在 {model} 上算不对：{why}。请从 {names} 中选",
                             title=method_title(method), model=model.display_name,
                             why=guided_backprop_check(model)[1], names=", ".join(valid)))
    target = resolve_target(model, target)
    layer_name, layer = _layer(model, options.get("layer")) if spec.uses_layer else (None, None)
    run_options = {k: v for k, v in options.items() if k != "layer"}
    cost.check_method(model.name, method, method_title(method), spec.passes(run_options, tuple(x.shape[-2:])))
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
