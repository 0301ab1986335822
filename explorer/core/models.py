"""The models the app uses: `load_model` builds one from the registry (explorer.core.registry), and
`get_model` hands out the one shared instance of each, loaded once per process and kept within a byte
budget (explorer.core.model_store). A per-model lock serialises every use (explorer.core.loaded_model),
since hooks (stage capture, Captum) mutate the shared module while they run.

The registry's, the loaded model's and the store's names are importable from here too."""
from typing import Callable, TypeVar

import torch

from explorer.core import timm_models
from explorer.core.both import said
from explorer.core.device import pick_device
from explorer.core.downloads import DOWNLOADS
from explorer.core.loaded_model import Inspection, LoadedModel
from explorer.core.memory import keep_freed_memory
from explorer.core.model_store import (
    DEFAULT_MODEL_BUDGET_MB,
    MODEL_BUDGET_VARIABLE,
    ModelStore,
    model_budget_bytes,
    model_bytes,
    module_bytes,
)
from explorer.core.registry import (
    DEFAULT_MODEL,
    IMAGENET,
    IMAGENET_LABELS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MODEL_NAMES,
    REGISTRY,
    SKETCH_MODEL,
    Accuracy,
    Built,
    ChapterFigure,
    ModelEntry,
    PhotoTransform,
    entry,
    find,
    register,
    register_torchvision,
)
from explorer.core.state import STORES
from explorer.core.weights import (
    WeightsDownloading,
    WeightsUnavailable,
    unavailable_in_words,
    untrained_note,
    weights_only_loading,
)
from explorer.core.words import say

__all__ = [   # this module's own names, then those it re-exports from where they live
    "companion", "load_model", "get_model", "loaded_models", "estimated_bytes", "UNTRAINED_SEED",
    "pick_device", "DOWNLOADS", "Inspection", "LoadedModel", "DEFAULT_MODEL_BUDGET_MB", "MODEL_BUDGET_VARIABLE",
    "ModelStore", "entry", "find", "model_budget_bytes", "model_bytes", "module_bytes", "DEFAULT_MODEL", "IMAGENET",
    "IMAGENET_LABELS", "IMAGENET_MEAN", "IMAGENET_STD", "MODEL_NAMES", "REGISTRY", "SKETCH_MODEL", "Accuracy",
    "Built", "ChapterFigure", "ModelEntry", "PhotoTransform", "register", "register_torchvision",
    "WeightsDownloading", "WeightsUnavailable", "unavailable_in_words", "untrained_note", "weights_only_loading",
]

T = TypeVar("T")


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


def load_model(name: str = DEFAULT_MODEL, *, pretrained: bool = True, device=None, weights=None,
               labels=None) -> LoadedModel:
    """Build a fresh instance of a registered model, in eval mode, its parameters frozen.

    Most callers want `get_model`, the app's shared instance; this one is your own.

    Args:
        name (str): A name from ``explorer.MODEL_NAMES`` (default ``explorer.DEFAULT_MODEL``,
            ``"efficientnet_lite0"``), or any timm CNN as ``"timm:<name>"`` (``"timm:convnext_atto"``,
            ``"timm:resnet50.a1_in1k"``): preprocessing from its ``pretrained_cfg``; its pretrained weights
            from the Hugging Face cache (safetensors only), else untrained.
        pretrained (bool): Load the trained weights (default) or draw untrained ones from a fixed seed
            (works offline for every name).
        device: A ``torch.device`` or text such as ``"cpu"`` or ``"cuda:1"``. None (default): CUDA when
            present, else Apple MPS, else the CPU (``EXPLORER_DEVICE`` overrides).
        weights: For a timm name, the path of your ``.safetensors`` state_dict, loaded strictly (a
            mismatch names the first differing keys and shapes). Nothing else is opened: a pickle or a
            ``torch.save`` file is refused before it is read.
        labels: For a timm name, your class names: a list, or a text file with one per line; their count
            must match the model's head.

    Returns:
        LoadedModel: ``module`` (the torch.nn.Module, channels-last, on ``device``), ``labels`` (class
        names by index), ``preprocess(picture)`` (a (1, C, H, W) tensor), ``predict(picture, k=5)``
        ([(label, probability)], most probable first), ``stages(picture)`` and ``inspect(picture)``
        (predictions, every Conv and Pool stage's output and the picture the model saw, from one pass).

    Raises:
        ValueError: the name is not registered nor a timm CNN the app can show (the message says what
            would work), or the weights or labels do not fit it (the message says how).
        WeightsUnavailable: ``pretrained=True`` and the weights are neither on disk nor downloadable;
            its ``reason`` says why in words.
    """
    if weights is not None or labels is not None:
        if not timm_models.is_timm(name):
            raise ValueError(say("weights: your own weights and labels go with a timm model, not {name!r}; "
                                 "name it as timm:<name>",
                                 "weights：你自己的权重和类别名只能配 timm 模型，不能配 {name!r}；请写成 timm:<名称>",
                                 name=str(name)[:40]))
        name = timm_models.own_model(name, weights, labels)
    entry = find_entry(name)
    keep_freed_memory()      # every later pass reuses the memory the last one freed (explorer.core.memory)
    device = torch.device(device) if device is not None else pick_device()
    built = entry.built(pretrained)
    # channels-last: oneDNN's convolutions run about twice as fast on a batch, a fifth faster on one picture
    module = built.module.eval().to(device, memory_format=torch.channels_last)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.served_model = entry.name     # marks a model the app serves: tests check its passes run in GPU slots
    return LoadedModel(entry.name, entry.title, module, built.labels, built.transform, device,
                       built.pretrained, entry.input_kind, entry.has_weights)


UNTRAINED_SEED = 0


def find_entry(name) -> ModelEntry:
    """The registry's entry for a name, or the one made for a "timm:<name>" (ValueError for neither)."""
    return entry(name)


def _load_shared(name: str) -> tuple[LoadedModel, str]:
    """Pretrained when the weights can be had, else the same architecture untrained. Random weights are
    drawn from a fixed seed, so a model evicted and loaded again is the same model. Returns (model, note)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(UNTRAINED_SEED)
        try:
            return load_model(name, pretrained=True), ""
        except WeightsUnavailable as error:
            model = load_model(name, pretrained=False)
            return model, untrained_note(model.title, error.reason, error.on_a_space)


def estimated_bytes(name: str) -> int:
    """The bytes a registered model's weights will take, from the model built on PyTorch's "meta" device
    (shapes without numbers: no memory, milliseconds)."""
    with torch.device("meta"):
        module = find_entry(name).built(False).module
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


_store = STORES.register("models.loaded", ModelStore(_load_shared, model_budget_bytes(), pinned=(DEFAULT_MODEL,), estimate=estimated_bytes),
                         "the loaded models, one instance each, within a byte budget")


timm_models.ON_FORGET.append(lambda key: _store.forget(key))


def get_model(name: str = DEFAULT_MODEL) -> tuple[LoadedModel, str]:
    """The app's shared instance of a model: pretrained when the weights can be had, else untrained.

    Models are loaded on first use and kept while they fit a byte budget (``EXPLORER_MODEL_BUDGET_MB``,
    default 1024): past it the least recently used goes first (never the default model). Hold
    ``model.lock`` while hooking the shared module.

    Args:
        name (str): A name from ``explorer.MODEL_NAMES`` (default ``explorer.DEFAULT_MODEL``), a timm
            CNN as ``"timm:<name>"``, or the name `load_model` gave a model with your own weights.

    Returns:
        tuple[LoadedModel, str]: The model (see `load_model`) and a note: ``""`` when pretrained, else
        why it is untrained, in words (e.g. the weights are not on this machine and it cannot download).

    Raises:
        ValueError: the name is not registered (the message lists the names).
        WeightsDownloading: (a ValueError) the weights are still downloading in the background on a
            Space; the message says how far. Ask again in a moment.
    """
    found = find_entry(name)
    name, title = found.name, found.title     # "timm: resnet18" and "timm:resnet18" are one model
    waiting = DOWNLOADS.message(name) or timm_models.waiting(name)
    if waiting:
        raise WeightsDownloading(say("{title}: {waiting}. Pick it again in a moment: after each start, a Space "
                                     "downloads the classic models' weights once, one model at a time.",
                                     "{title}：{waiting}。请稍后再选一次：Space 每次启动后会把经典模型的权重"
                                     "逐个下载一遍。", title=said(title), waiting=waiting))
    if DOWNLOADS.finished(name) or timm_models.safe_weights.HUB.state(name) == "done":
        _store.forget(name, unless=lambda loaded: loaded[0].pretrained)   # an untrained stand-in: its weights came
    model, note = _store.get(name)
    return model, said(find_entry(name).note or note)


def loaded_models() -> list[tuple[LoadedModel, str]]:
    """The (model, note) pairs loaded now, least recently used first (each note in the language spoken now)."""
    return [(model, said(note)) for model, note in _store.values()]
