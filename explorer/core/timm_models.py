"""Any timm CNN by name, as a model the whole app can show: "timm:<name>" (`timm:convnext_atto`,
`timm:resnet50.a1_in1k`), optionally with your own weights (a .safetensors state_dict) and class names.

A name resolves to a ModelEntry (explorer.core.registry.find), built from the model's own facts:
its `pretrained_cfg` (input size, mean and std, interpolation, crop; class names from `label_names`,
else ImageNet's for 1000 classes, else numbers), its parameter count and its multiply-accumulates
measured on PyTorch's "meta" device. A name is refused (ValueError) when timm has no such model, when
it is not a CNN the app can show (a transformer or MLP-mixer turns the picture into tokens), or when
it is over the caps on parameters and input size (explorer.core.settings).

Pretrained weights come from the Hugging Face Hub as model.safetensors only: from the local cache
when they are there, else (on a Space) downloaded in the background (explorer.core.safe_weights.HUB);
elsewhere the model is the untrained architecture, and its note says so.

Your weights make an entry of their own, "timm:<name>@<digest>": a visitor's belongs to their session
(forgotten when it ends, `forget_session`), and like every model it is loaded into the shared byte
budget and evicted least-recently-used (explorer.core.models).
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import math
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable

import torch
from torch import nn
from torchvision.transforms import InterpolationMode

from explorer.core import safe_weights, settings
from explorer.core.both import Both
from explorer.core.registry import IMAGENET_LABELS, RESOLVERS, Built, ModelEntry, PhotoTransform
from explorer.core.state import STORES
from explorer.core.weights import WeightsUnavailable
from explorer.core.words import say

PREFIX = "timm:"
PATTERNS = "`timm.list_models('resnet*')`, `timm.list_models('*efficientnet*')` or `timm.list_models(pretrained=True)`"
INTERPOLATIONS = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC,
                  "nearest": InterpolationMode.NEAREST}
ON_FORGET: list[Callable[[str], None]] = []     # called with a key when its entry goes (models: unload it)


def is_timm(name) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def check_name(name: str) -> str:
    """The timm name in `name` ("timm:<name>" or "<name>"), checked; ValueError saying what would work."""
    import timm
    from timm.models import get_pretrained_cfg

    raw = (name[len(PREFIX):] if is_timm(name) else str(name)).strip()
    if raw and timm.is_model(raw):
        if "." not in raw:
            return raw
        try:
            get_pretrained_cfg(raw)
            return raw
        except RuntimeError:
            tags = timm.list_pretrained(raw.split(".")[0] + ".*")[:4]
            raise ValueError(say("model: timm has no weights tagged {tag!r} for {arch}; give one of {tags}",
                                 "model：timm 没有 {arch} 的、标签为 {tag!r} 的权重；请用其中之一：{tags}",
                                 tag=raw.split('.', 1)[1], arch=raw.split('.')[0],
                                 tags=', '.join(tags) or say("no tag", "（无标签）"))) from None
    close = difflib.get_close_matches(raw.split(".")[0], timm.list_models(), n=3, cutoff=0.6)
    if close:
        raise ValueError(say("model: {raw!r} is not a timm model; did you mean {close}? type timm:<name> with a "
                             "name from {patterns}",
                             "model：{raw!r} 不是 timm 模型；你是不是想写 {close}？请写成 timm:<名称>，名称可从 "
                             "{patterns} 中找", raw=raw[:80], close=', '.join(PREFIX + c for c in close),
                             patterns=PATTERNS))
    raise ValueError(say("model: {raw!r} is not a timm model; type timm:<name> with a name from {patterns}",
                         "model：{raw!r} 不是 timm 模型；请写成 timm:<名称>，名称可从 {patterns} 中找",
                         raw=raw[:80], patterns=PATTERNS))


@dataclass(frozen=True)
class Facts:
    """What a timm architecture is, measured once on the meta device."""
    arch: str
    params: int
    input_size: tuple[int, int, int]
    data: dict                      # timm's resolved data config: input_size, interpolation, mean, std, crop_pct
    num_classes: int
    label_names: tuple | None       # pretrained_cfg's class names, when it has them
    classifier: str                 # the head's module path ("fc", "head.fc")
    hub_repo: str                   # where its pretrained safetensors live on the Hub ("" for none)
    gmacs: float


def _not_a_cnn(module: nn.Module, input_size: tuple) -> str:
    """"" when the module is a CNN the app can show: convolutions, and no Linear layer fed tokens (a 3-D
    tensor, as in a transformer or an MLP-mixer); else why not, in words. Runs on the meta device."""
    tokens = []

    def pre(layer, args):
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 3:
            tokens.append(layer)
    hooks = [m.register_forward_pre_hook(pre) for m in module.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            out = module(torch.empty(1, *input_size, device="meta"))
    except Exception as error:                    # noqa: BLE001 (any failure: the app cannot show it)
        return say("a forward pass of a picture failed ({kind})", "图片的前向传播失败了（{kind}）",
                   kind=type(error).__name__)
    finally:
        for hook in hooks:
            hook.remove()
    if tokens:
        return say("it cuts the picture into tokens for attention or mixing (a transformer or MLP-mixer), not "
                   "feature maps", "它把图片切成 token 做注意力或混合（Transformer 或 MLP-Mixer），而不是特征图")
    if sum(isinstance(m, nn.Conv2d) for m in module.modules()) < 2:
        return say("it has fewer than two convolutions", "它的卷积层少于两个")
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        return say("it does not give one score per class", "它不是每个类别给出一个分数")
    return ""


@functools.lru_cache(maxsize=128)
def facts(arch: str) -> Facts:
    """The architecture's facts, checked against what the app can show and the caps (ValueError)."""
    import timm
    from timm.data import resolve_data_config

    with torch.device("meta"):
        module = timm.create_model(arch, pretrained=False)
    params = sum(p.numel() for p in module.parameters())
    cap = settings.setting("own_model_params")
    if params > cap:
        raise ValueError(say("model: timm:{arch} has {params:.0f} million parameters; the limit here is {most:.0f} "
                             "million (EXPLORER_OWN_MODEL_MAX_MPARAMS): pick a smaller variant",
                             "model：timm:{arch} 有 {params:.0f} 百万个参数；这里的上限是 {most:.0f} 百万"
                             "（EXPLORER_OWN_MODEL_MAX_MPARAMS）：请选一个更小的变体",
                             arch=arch, params=params / 1e6, most=cap / 1e6))
    data = resolve_data_config({}, model=module)
    size = tuple(int(s) for s in data["input_size"])
    side = settings.setting("own_input_side")
    if max(size[1:]) > side:
        raise ValueError(say("model: timm:{arch} reads {height}x{width} pictures; the limit here is {side} pixels "
                             "a side (EXPLORER_OWN_MODEL_MAX_SIDE): pick a variant with a smaller input",
                             "model：timm:{arch} 读取 {height}x{width} 的图片；这里每边上限是 {side} 像素"
                             "（EXPLORER_OWN_MODEL_MAX_SIDE）：请选一个输入更小的变体",
                             arch=arch, height=size[1], width=size[2], side=side))
    why = _not_a_cnn(module.eval(), size)
    if why:
        raise ValueError(say("model: timm:{arch} is not a CNN the app can show: {why}; pick a convolutional "
                             "network, e.g. from {patterns}",
                             "model：timm:{arch} 不是本应用能展示的卷积神经网络：{why}；请选一个卷积网络，"
                             "例如从 {patterns} 中找", arch=arch, why=why, patterns=PATTERNS))
    from explorer.core.trace import total_macs

    cfg = module.pretrained_cfg
    return Facts(arch, params, size, dict(data), int(module.num_classes), _names(cfg.get("label_names")),
                 str(cfg.get("classifier") or ""), str(cfg.get("hf_hub_id") or ""), total_macs(module, size) / 1e9)


def _names(found) -> tuple | None:
    return tuple(str(n) for n in found) if found else None


STORES.register("timm.facts", facts, "each timm architecture's facts, measured once on the meta device")


def transform_of(data: dict) -> PhotoTransform:
    """The preprocessing a timm config asks for: resize to size / crop_pct, centre-crop, normalise."""
    size = int(data["input_size"][1])
    return PhotoTransform(int(math.floor(size / float(data.get("crop_pct") or 1.0))), size, tuple(data["mean"]),
                          tuple(data["std"]), INTERPOLATIONS.get(data.get("interpolation"), InterpolationMode.BILINEAR))


def default_labels(f: Facts, num_classes: int) -> list[str]:
    if f.label_names and len(f.label_names) == num_classes:
        return list(f.label_names)
    if num_classes == len(IMAGENET_LABELS):
        return list(IMAGENET_LABELS)
    return [str(i) for i in range(num_classes)]


# --- your own weights and class names ----------------------------------------------------------------

@dataclass
class Own:
    """Your weights (a safetensors file) and class names for a timm architecture."""
    arch: str
    weights: Path | None
    labels: list[str] | None
    num_classes: int
    sessions: set = field(default_factory=set)
    private_copy: bool = False      # weights copied into OWN_DIR (deleted when forgotten)


_LOCK = threading.Lock()
OWN: dict[str, Own] = {}
_OWN_DIR: list[Path] = []


def _own_dir() -> Path:
    if not _OWN_DIR:
        _OWN_DIR.append(Path(tempfile.mkdtemp(prefix="explorer-own-models-")))
    return _OWN_DIR[0]


def _classes_in(f: Facts, state: dict) -> int | None:
    head = state.get(f"{f.classifier}.weight") if f.classifier else None
    return int(head.shape[0]) if head is not None and head.dim() >= 1 else None


def _digest(weights: Path | None, labels: list[str] | None) -> str:
    digest = hashlib.sha256()
    if weights is not None:
        with open(weights, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    digest.update("\n".join(labels or []).encode())
    return digest.hexdigest()[:16]


def own_model(name: str, weights=None, labels=None, session: Hashable = None) -> str:
    """Register your weights and/or class names for a timm model; returns its key ("timm:<name>@<digest>",
    or "timm:<name>" when neither is given). Every check runs here, before anything is kept: the file is
    safetensors, its keys and shapes fit the architecture, the class names fit its head."""
    arch = check_name(name)
    f = facts(arch)
    names = safe_weights.read_labels(labels) if labels is not None else None
    if weights is None and names is None:
        return PREFIX + arch
    num_classes = len(names) if names else f.num_classes
    if weights is not None:
        state = safe_weights.read_safetensors(weights, upload=session is not None)
        found = _classes_in(f, state)
        if names and found is not None and found != len(names):
            raise ValueError(say("labels: {count} class names for a head of {found} classes in the weights; "
                                 "give one name per class",
                                 "labels：给了 {count} 个类别名，但权重里的输出层有 {found} 个类别；请每个类别给一个名字",
                                 count=len(names), found=found))
        num_classes = found or num_classes
        safe_weights.check_fits(_module(arch, num_classes, "meta"), state, Path(weights).name)
    key = f"{PREFIX}{arch}@{_digest(Path(weights) if weights is not None else None, names)}"
    with _LOCK:
        own = OWN.get(key)
        if own is None:
            path, private = _kept(key, weights, session)
            own = OWN[key] = Own(arch, path, names, num_classes, private_copy=private)
        if session is not None:
            own.sessions.add(session)
    return key


def _kept(key: str, weights, session) -> tuple[Path | None, bool]:
    """The weights file to read on every load: a visitor's upload is copied out of Gradio's cache (which
    deletes uploads after a while) into a private folder; a path given in Python is read where it is."""
    if weights is None:
        return None, False
    if session is None:
        return Path(weights), False
    path = _own_dir() / f"{key.rsplit('@', 1)[1]}.safetensors"
    shutil.copyfile(weights, path)
    return path, True


def forget_session(session: Hashable) -> None:
    """Drop what a session uploaded (its models are unloaded too), unless another session uses it."""
    gone = []
    with _LOCK:
        for key, own in list(OWN.items()):
            if session in own.sessions:
                own.sessions.discard(session)
                if not own.sessions:
                    gone.append((key, OWN.pop(key)))
    for key, own in gone:
        ENTRIES.pop(key, None)
        if own.private_copy and own.weights is not None:
            own.weights.unlink(missing_ok=True)
        for forget in ON_FORGET:
            forget(key)


def _clear_own() -> None:
    for session in {s for own in list(OWN.values()) for s in own.sessions}:
        forget_session(session)


STORES.register("timm.own_models", OWN, "the weights and class names visitors gave for timm models, by session",
                clear=_clear_own, forget=forget_session)


# --- building --------------------------------------------------------------------------------------

def _module(arch: str, num_classes: int | None, device=None) -> nn.Module:
    import timm

    options = {} if num_classes is None else {"num_classes": num_classes}
    if device is not None:
        with torch.device(device):
            return timm.create_model(arch, pretrained=False, **options)
    return timm.create_model(arch, pretrained=False, **options)


def _build(key: str, pretrained: bool, **_untrained_options) -> Built:
    """The entry's builder: the module, timm's preprocessing, the class names, and the weights (yours, or
    the Hub's from the local cache; WeightsUnavailable when they cannot be had)."""
    own = OWN.get(key)
    arch = own.arch if own is not None else check_name(key)
    f = facts(arch)
    num_classes = own.num_classes if own is not None else None
    module = _module(arch, num_classes)
    labels = own.labels if own is not None and own.labels else default_labels(f, own.num_classes if own else f.num_classes)
    if pretrained and own is not None and own.weights is not None:
        safe_weights.load_strictly(module, safe_weights.read_safetensors(own.weights), own.weights.name)
    elif pretrained:
        module = _hub_weights(module, f)
    return Built(module, transform_of(f.data), labels, pretrained)


def _hub_weights(module: nn.Module, f: Facts) -> nn.Module:
    path = safe_weights.cached_hub_weights(f.hub_repo) if f.hub_repo else None
    if path is None:
        where = (Both("the Hugging Face Hub download failed", "从 Hugging Face Hub 下载失败")
                 if safe_weights.on_a_space() else
                 Both("they are not in this machine's Hugging Face cache", "这台机器的 Hugging Face 缓存里没有它们"))
        raise WeightsUnavailable(
            say("timm:{arch}: no model.safetensors in the Hugging Face cache",
                "timm:{arch}：Hugging Face 缓存里没有 model.safetensors", arch=f.arch), where,
            Both("(On a Hugging Face Space they download from the Hub, as safetensors, when the model is picked.)",
                 "（在 Hugging Face Space 上，选中模型时会从 Hub 下载 safetensors 格式的权重。）") if f.hub_repo else
            Both("(timm has no pretrained weights for it.)", "（timm 没有它的预训练权重。）"))
    try:
        safe_weights.load_strictly(module, safe_weights.read_safetensors(path), f"{f.hub_repo}/model.safetensors")
    except ValueError as error:
        raise WeightsUnavailable(str(error), Both("the Hub's file does not fit this architecture",
                                                  "Hub 上的文件与这个架构不符")) from None
    return module


ENTRIES: dict[str, ModelEntry] = STORES.register("timm.entries", {}, "the registry entries made for timm names")
MAX_ENTRIES = 256


def entry(name) -> ModelEntry | None:
    """The registry entry of a "timm:..." key (None for other names); ValueError for a bad one."""
    if not is_timm(name):
        return None
    found = ENTRIES.get(name)
    if found is not None:
        return found
    own = OWN.get(name)
    if "@" in name and own is None:
        raise ValueError(say("model: {name} was your own model in a session that has ended; give its name, "
                             "weights and class names again",
                             "model：{name} 是你在一个已结束会话里的模型；请重新给出它的名称、权重和类别名", name=name))
    arch = own.arch if own is not None else check_name(name)
    key = name if own is not None else PREFIX + arch
    made = _entry(key, facts(arch), own)
    with _LOCK:
        while len(ENTRIES) >= MAX_ENTRIES:
            ENTRIES.pop(next(iter(ENTRIES)))
        ENTRIES[name] = made
    return made


def _entry(key: str, f: Facts, own: Own | None) -> ModelEntry:
    mine = own is not None and own.weights is not None
    if own is None:
        title = Both("timm {arch}", arch=f.arch)
    elif mine:
        title = Both("{arch} (your weights)", "{arch}（你的权重）", arch=f.arch)
    else:
        title = Both("{arch} (your classes)", "{arch}（你的类别）", arch=f.arch)
    has_weights = mine or bool(f.hub_repo) and own is None
    if has_weights:
        note = ""
    elif own is not None:
        note = Both("**{title} is untrained.** Your class names came without weights: its predictions are random; "
                    "its stages show the real shapes and what random filters do.",
                    "**{title_zh} 未经训练。** 你的类别名没有附带权重：它的预测是随机的；它的各阶段显示真实的形状，"
                    "以及随机滤波器会做什么。", title=title, title_zh=title.zh)
    else:
        note = Both("**{title} is untrained.** timm has no pretrained weights for it: its predictions are random; "
                    "its stages show the real shapes and what random filters do.",
                    "**{title_zh} 未经训练。** timm 没有它的预训练权重：它的预测是随机的；它的各阶段显示真实的形状，"
                    "以及随机滤波器会做什么。", title=title, title_zh=title.zh)
    return ModelEntry(key, title, functools.partial(_build, key), source=f"timm's {f.arch}"
                      + (", your weights from a .safetensors file" if mine else ""), has_weights=has_weights,
                      note=note, input_size=f.input_size, gmacs=f.gmacs)


RESOLVERS.append(entry)


def waiting(name: str) -> str:
    """On a Space, start fetching a timm model's pretrained safetensors when they are not in the cache,
    and say how far the download is ("" when nothing is under way)."""
    if not is_timm(name) or "@" in name or not safe_weights.on_a_space():
        return ""
    f = facts(check_name(name))
    if not f.hub_repo or safe_weights.HUB.state(name) in ("done", "failed"):
        return ""
    if safe_weights.HUB.state(name) == "" and safe_weights.cached_hub_weights(f.hub_repo) is not None:
        return ""
    safe_weights.HUB.start(name, f.hub_repo, f"timm {f.arch}")
    return safe_weights.HUB.message(name)
