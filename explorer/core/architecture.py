"""The chapter's model (CNNNet), a layer-by-layer summary of any model, and a side-by-side comparison
of the classic architectures: parameters, multiply-accumulates, measured latency, ImageNet accuracy.

CNNNet itself lives in explorer.core.nets (importable from here too); the facts about each model
(input size, accuracy, the chapter's figures) come from its registry entry in explorer.core.registry.
"""
from __future__ import annotations

import functools
import statistics
import threading
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from explorer.core import budgets, cost, nets
from explorer.core.architecture_fit import misfit_error
from explorer.core.both import said
from explorer.core.models import load_model
from explorer.core.registry import IMAGENET, REGISTRY, find
from explorer.core.state import STORES
from explorer.core.trace import CONTAINERS, Trace, total_macs, trace
from explorer.core.words import say

# ---------------------------------------------------------------------------------------------------
# Loading models by name (through the project's registry)

DEFAULT_INPUT = (3, 224, 224)

CNNNet = nets.CNNNet      # as docs/architecture.md imports it

# The chapter's ImageNet top-5 error figures (the model the figure belongs to, the year), from the registry.
CHAPTER_TOP5_ERROR = {name: (entry.chapter.top5_error, entry.chapter.model, entry.chapter.year)
                      for name, entry in REGISTRY.items() if entry.chapter is not None}


def model_names() -> tuple[str, ...]:
    """The registered models, in the registry's order (read at each call: a model registered later counts)."""
    return tuple(REGISTRY)


def model_title(name: str) -> str:
    """The model's title in the language spoken."""
    found = _found(name)
    if found is None:
        return name
    return said(found.title)         # a title with words besides names is a Both (explorer.core.both)


def _found(name):
    """The entry of a registered or "timm:<name>" model; None for anything else (a module, a bad name)."""
    try:
        return find(name)
    except ValueError:
        return None


@functools.lru_cache(maxsize=None)
def _meta_model(name: str):
    """The untrained model built on PyTorch's "meta" device: every shape, no numbers, no memory, built in
    milliseconds. Layers, shapes, parameter counts and multiply-accumulates need nothing more."""
    if _found(name) is None:
        _unknown(name)
    with torch.device("meta"):
        return load_model(name, pretrained=False, device="meta")


STORES.register("architecture.meta_models", _meta_model, "each model built on the meta device: shapes only")


def _real_model(name: str) -> nn.Module:
    """A fresh untrained instance on the app's device, for timing (weights do not change the speed)."""
    return load_model(name, pretrained=False).module


def model_input_size(name: str) -> tuple[int, int, int]:
    """(channels, height, width) the model's weights were trained at (its registry entry)."""
    found = find(name) if isinstance(name, str) else None
    if found is None:
        _unknown(name)
    return tuple(found.input_size)


def _unknown(name) -> None:
    raise ValueError(say("model: unknown name {name!r}; choose one of {names}", "model：没有名为 {name!r} 的模型；请选 {names} 之一",
                         name=name, names=", ".join(model_names())))


def imagenet_metrics(name: str) -> dict:
    """{"top1", "top5", "weights"}: the ImageNet-1K accuracy the model's registry entry records (for
    torchvision's models, from its weights' metadata); {} when it records none."""
    entry = _found(name)
    accuracy = entry.accuracy if entry is not None else None
    if accuracy is None or accuracy.data != IMAGENET:
        return {}
    return {"top1": accuracy.top1, "top5": accuracy.top5, "weights": accuracy.weights}


# ---------------------------------------------------------------------------------------------------
# summarize

@dataclass
class Row:
    name: str                  # module path; for a functional call, the path of the module whose forward called it
    type: str
    kernel: tuple | None
    stride: tuple | None
    padding: object
    output_shape: tuple        # without the batch dimension
    params: int
    macs: int                  # multiply-accumulates of this layer for one image (FlopCounterMode)
    receptive_field: tuple | None   # (rows, cols) of input pixels one output unit sees; None: the whole input
    jump: tuple | None              # input pixels between neighbouring output units; None after a global layer
    block: str                 # the block it belongs to ("layer1.0", "inception3a", "features"); "" = top level
    inputs: list[int] = field(default_factory=list)   # indices (into rows; -1 = the image) of the rows it reads
    first_call: bool = True


@dataclass
class Summary:
    model: str                 # the name, or the class name for a module passed in
    module_type: str
    input_size: tuple
    rows: list[Row]
    total_params: int          # sum(p.numel()) over every parameter of the model
    params_in_forward: int     # parameters of the layers that ran (GoogLeNet's aux heads sleep in eval mode)
    unused: list[tuple[str, int]]
    total_macs: int
    output_shape: tuple
    text: str                  # print(model)
    blocks: list[tuple[str, str]]   # (block path, block type) in forward order

    def table(self) -> list[list]:
        return [row_cells(r) for r in self.rows]


COLUMNS = ["#", "layer", "type", "kernel", "stride", "padding", "output (C×H×W)", "parameters",
           "MACs", "receptive field", "jump", "block"]


def _dims(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        items = [_num(v) for v in value]
        return items[0] if len(set(items)) == 1 else "×".join(items)
    return _num(value)


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def row_cells(row: Row, index: int | None = None) -> list:
    rf = "whole input" if row.receptive_field is None else _dims(row.receptive_field)
    return [index if index is not None else "", row.name or "(forward)", row.type, _dims(row.kernel),
            _dims(row.stride), _dims(row.padding), "×".join(str(d) for d in row.output_shape), row.params,
            row.macs, rf, "" if row.jump is None else _dims(row.jump), row.block]


def block_of(modules: dict, path: str, own: bool) -> str:
    """The outermost named block (a module that is neither a plain container nor a layer) holding `path`;
    the top-level container's name when there is none (VGG's `features`); "" at the top level.
    `modules`: dict(model.named_modules()); `own`: `path` is the layer itself, not the caller of a function."""
    parts = path.split(".") if path else []
    candidates = [".".join(parts[:i]) for i in range(1, len(parts) + (0 if own else 1))]
    for prefix in candidates:
        if type(modules.get(prefix)) not in CONTAINERS:
            return prefix
    return parts[0] if len(parts) > 1 or (parts and not own) else ""


def _resolve(name_or_module, input_size):
    if isinstance(name_or_module, nn.Module):
        return type(name_or_module).__name__, name_or_module, threading.RLock(), tuple(input_size or DEFAULT_INPUT)
    if not isinstance(name_or_module, str):
        raise ValueError(say("model: give a model name or a torch.nn.Module, not {t}",
                             "model：请给模型名或 torch.nn.Module，而不是 {t}", t=type(name_or_module).__name__))
    if find(name_or_module) is None:
        _unknown(name_or_module)
    return name_or_module, _meta_model(name_or_module).module, _META_LOCK, tuple(
        input_size or model_input_size(name_or_module))


def _check_input_size(input_size, module: nn.Module) -> tuple[int, int, int]:
    if len(input_size) != 3:
        raise ValueError(say("input_size: give (channels, height, width), got {v!r}",
                             "input_size：请给 (通道数, 高, 宽)，收到的是 {v!r}", v=input_size))
    try:
        size = tuple(int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ValueError(say("input_size: channels, height and width must be whole numbers, got {v!r}",
                             "input_size：通道数、高和宽都应是整数，收到的是 {v!r}", v=input_size)) from None
    if any(v != float(w) for v, w in zip(size, input_size)) or min(size) < 1:
        raise ValueError(say("input_size: channels, height and width must be whole numbers ≥ 1, got {v!r}",
                             "input_size：通道数、高和宽都应是 ≥ 1 的整数，收到的是 {v!r}", v=input_size))
    if size[1] > 1024 or size[2] > 1024:
        raise ValueError(say("input_size: height and width up to 1024 pixels, got {h}×{w}",
                             "input_size：高和宽最多 1024 像素，收到的是 {h}×{w}", h=size[1], w=size[2]))
    first_conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is not None and first_conv.in_channels != size[0]:
        raise ValueError(say("input_size: this model's first convolution takes {n} channel(s), not {c}",
                             "input_size：这个模型的第一个卷积层接受 {n} 个通道，而不是 {c} 个",
                             n=first_conv.in_channels, c=size[0]))
    return size


def summarize(name_or_module, input_size=None) -> Summary:
    """Every layer the model runs on one image, in forward order, with its shapes and costs.

    Named models are built on PyTorch's meta device (shapes without numbers: no memory, milliseconds).

    Args:
        name_or_module: A name from ``explorer.MODEL_NAMES`` or any ``torch.nn.Module``.
        input_size (tuple, optional): (C, H, W); default the model's own input (3x224x224 for the
            ImageNet models, 1x28x28 for the digit model). Sides up to 1024.

    Returns:
        Summary: ``rows`` (each layer: name, type, kernel, stride, padding, output_shape, params, macs,
        receptive_field, jump, block, inputs), ``total_params``, ``params_in_forward``, ``unused``,
        ``total_macs``, ``output_shape``, ``text`` (``print(model)``) and ``blocks``.

    Raises:
        ValueError: an unknown name, the wrong number of channels, or a side over 1024;
            ``InputSizeError`` (a ValueError) for a size the model cannot take, naming the layer where
            it breaks and the smallest (or largest) size that works.
    """
    name, module, lock, size = _resolve(name_or_module, input_size)
    size = _check_input_size(size, module)
    if isinstance(name_or_module, str):
        return _summarize_named(name, size)
    with lock:
        return _summarize(name, module, size)


_META_LOCK = threading.RLock()      # tracing adds hooks to the shared meta models for a moment


@functools.lru_cache(maxsize=64)
def _summarize_named(name: str, size: tuple) -> Summary:
    with _META_LOCK:
        return _summarize(name, _meta_model(name).module, size)


STORES.register("architecture.summaries", _summarize_named,
                "the summary (layers, fields, MACs) of each registered model per input size")


def _summarize(name: str, module: nn.Module, size: tuple) -> Summary:
    try:
        result = trace(module, size)
    except RuntimeError:
        known_good = model_input_size(name) if _found(name) is not None else (size[0],) + DEFAULT_INPUT[1:]
        raise misfit_error(model_title(name), module, size, known_good) from None
    modules = dict(module.named_modules())
    rows = _rows(result, modules)
    blocks = []
    for row in rows:
        if not blocks or blocks[-1][0] != row.block:
            blocks.append((row.block, type(modules.get(row.block)).__name__ if row.block else ""))
    return Summary(
        model=name, module_type=type(module).__name__, input_size=size, rows=rows,
        total_params=sum(p.numel() for p in module.parameters()),
        params_in_forward=sum(r.params for r in rows), unused=_unused(result, modules),
        total_macs=result.macs, output_shape=result.output_shape[1:],
        text=str(module), blocks=blocks)


def _rows(result: Trace, modules: dict) -> list[Row]:
    """A row per node of the trace's unit-level graph; `inputs` index the rows, -1 the image."""
    nodes = result.units()
    row_of = {node.index: i for i, node in enumerate(nodes)} | {0: -1}
    rows = []
    for node in nodes:
        own, fld = node.kind == "module", node.field
        rows.append(Row(
            name=node.path or (node.type if own else ""), type=node.type, kernel=node.kernel, stride=node.stride,
            padding=node.padding, output_shape=tuple(node.output_shape[1:]), params=node.params, macs=node.macs,
            receptive_field=None if fld.whole else fld.size, jump=None if fld.whole else fld.jump,
            block=block_of(modules, node.path, own), inputs=[row_of[i] for i in node.inputs],
            first_call=node.first_call))
    return rows


def _unused(result: Trace, modules: dict) -> list[tuple[str, int]]:
    """(path, parameters) of the modules with parameters of their own that did not run, nor inside a layer that ran."""
    ran = {node.path for node in result.units() if node.kind == "module"}
    unused = []
    for path, sub in modules.items():
        parts = path.split(".")
        ancestors = (".".join(parts[:i]) for i in range(1, len(parts)))
        if any(True for _ in sub.parameters(recurse=False)) and path not in ran and not any(
                a in ran for a in ancestors):
            unused.append((path, sum(p.numel() for p in sub.parameters(recurse=False))))
    return unused


# Kernel sizes the paper's own block has, by block class: the drawing says where an implementation differs.
PAPER_KERNELS = {
    "Inception": ("the GoogLeNet paper's Inception module (Szegedy et al., 2014)", (1, 3, 5)),
}


PAPER_ZH = {"Inception": "GoogLeNet 论文中的 Inception 模块（Szegedy 等，2014）"}


def _kernels(values) -> str:
    words = [f"{k}×{k}" for k in sorted(values)]
    return words[0] if len(words) == 1 else say("{a} and {b}", "{a} 和 {b}", a=say(", ", "、").join(words[:-1]),
                                                   b=words[-1])


def paper_difference(summary: Summary, block: str) -> str:
    """In words, the convolution kernel sizes a block ran that differ from its paper's; "" when the block's
    class has no paper reference here or nothing differs."""
    block_type = dict(summary.blocks).get(block)
    if block_type not in PAPER_KERNELS:
        return ""
    paper, paper_kernels = PAPER_KERNELS[block_type]
    ran = {r.kernel[0] for r in summary.rows if r.block == block and "Conv" in r.type and r.kernel}
    missing = sorted(set(paper_kernels) - ran)
    if not missing:
        return ""
    return say("Convolutions that ran in `{block}`: {ran}; {paper} has {kernels}. No {missing} ran here: this "
               "implementation uses a smaller kernel in that branch.",
               "`{block}` 中运行的卷积：{ran}；{paper}有 {kernels}。这里没有运行 {missing}：这个实现在那个分支用了更小的卷积核。",
               block=block, ran=_kernels(ran), paper=say(paper, PAPER_ZH[block_type]), kernels=_kernels(paper_kernels),
               missing=_kernels(missing))


# ---------------------------------------------------------------------------------------------------
# compare

@dataclass
class Comparison:
    name: str
    title: str
    input_size: tuple
    params: int
    macs: int                  # multiply-accumulates for one image, FlopCounterMode flops / 2
    latency_ms: float          # median of the timed runs, batch of one, on `device`
    device: str
    top1: float | None         # ImageNet-1K accuracy of torchvision's DEFAULT weights, %
    top5: float | None
    weights: str | None
    chapter_top5_error: float | None   # the chapter's historical figure, %
    chapter_model: str | None          # the model that figure belongs to ("ResNet-152")
    chapter_year: int | None


COMPARE_COLUMNS = ["model", "input", "parameters (M)", "MACs (G)", "latency (ms)", "device",
                   "ImageNet top-1 %", "ImageNet top-5 %", "weights", "chapter's top-5 error"]

def count_macs(module: nn.Module, input_size: tuple) -> int:
    """Multiply-accumulates for one image, counted by torch.utils.flop_counter as the trace counts them
    (MACs = flops / 2)."""
    return total_macs(module, tuple(input_size))


@functools.lru_cache(maxsize=64)
def _macs_named(name: str, size: tuple) -> int:
    """The MAC count alone: a comparison needs neither rows nor fields, and tracing them costs a fifth more."""
    with _META_LOCK:
        return count_macs(_meta_model(name).module, size)


STORES.register("architecture.macs", _macs_named, "multiply-accumulates per (model, input size)")


def measure_latency(module: nn.Module, input_size: tuple, runs: int = 3, warmup: int = 1) -> float:
    """Median wall time in milliseconds of `runs` forward passes of one image, after `warmup` passes."""
    device = next(module.parameters()).device
    x = torch.randn(1, *input_size, device=device)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            module(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def compare(names, runs: int = 3, warmup: int = 1) -> list[Comparison]:
    """Compare models side by side: size, cost, speed measured here, and accuracy.

    Args:
        names: A model name or a list of names from ``explorer.MODEL_NAMES`` (duplicates count once).
        runs (int): Timed forward passes per model, 1 to 50 (default 3); the latency is their median.
        warmup (int): Untimed passes before them (default 1).

    Returns:
        list[Comparison]: One per model, in the order given: ``params``, ``macs`` (multiply-accumulates
        for one image), ``latency_ms`` (batch of one, untrained weights, on ``device``), ``top1`` and
        ``top5`` (ImageNet accuracy of torchvision's DEFAULT weights, %, or None), ``weights`` and the
        chapter's historical ``chapter_top5_error``, ``chapter_model`` and ``chapter_year``.

    Raises:
        ValueError: no name, an unknown name, ``runs`` outside 1 to 50, or more models than this
            machine compares in one request (``OverBudget``, ``EXPLORER_COMPARE_MODELS``).
    """
    if isinstance(names, str):
        names = [names]
    names = list(dict.fromkeys(names or []))
    if not names:
        raise ValueError(say("models: pick at least one model to compare", "models：请至少选一个模型来比较"))
    budgets.check_compare(len(names))
    for name in names:
        if find(name) is None:
            _unknown(name)
    if not 1 <= int(runs) <= 50:
        raise ValueError(say("runs: between 1 and 50 timed runs, got {runs}", "runs：计时次数应在 1 到 50 之间，收到的是 {runs}",
                             runs=runs))
    passes = int(runs) + int(warmup)
    cost.refuse_over(say("models: comparing {n} model{s}", "models：比较 {n} 个模型", n=len(names), s="s" * (len(names) != 1)),
                     sum(cost.estimate(n, passes, False) for n in names),
                     say("{n} passes through each", "每个运行 {n} 次", n=passes),
                     say("compare fewer or smaller models at once", "一次少比较几个或换小一些的模型"))
    result = []
    for name in names:
        cost.give_way()          # between two models a small request goes first
        size = model_input_size(name)
        meta = _meta_model(name).module
        macs = _macs_named(name, size)
        module = _real_model(name)
        latency = measure_latency(module, size, int(runs), int(warmup))
        device = str(next(module.parameters()).device)
        del module
        metrics = imagenet_metrics(name)
        chapter = find(name).chapter      # read live: a model registered later counts
        result.append(Comparison(
            name=name, title=model_title(name), input_size=size, params=sum(p.numel() for p in meta.parameters()),
            macs=macs, latency_ms=latency, device=device,
            top1=metrics.get("top1"), top5=metrics.get("top5"), weights=metrics.get("weights"),
            chapter_top5_error=chapter and chapter.top5_error, chapter_model=chapter and chapter.model,
            chapter_year=chapter and chapter.year))
    return result


def comparison_cells(c: Comparison) -> list:
    chapter = f"{c.chapter_top5_error}% ({c.chapter_model}, {c.chapter_year})" if c.chapter_top5_error else ""
    return [c.title, "×".join(map(str, c.input_size)), round(c.params / 1e6, 3), round(c.macs / 1e9, 3),
            round(c.latency_ms, 1), c.device, c.top1 if c.top1 is not None else "",
            c.top5 if c.top5 is not None else "", c.weights or "", chapter]


# "Is the chapter's model AlexNet?" lives in explorer.core.layer_match (importable from here too).
from explorer.core.layer_match import STORAGE_ONLY, LayerMatch, hyperparameters, match_layers, same_outputs  # noqa: E402,F401
