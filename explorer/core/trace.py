"""One forward pass that records every layer a model runs, in order, as a data-flow graph.

Each node is a layer that ran: a module (Conv2d, BatchNorm2d, ...) or a functional operation called
outside any such module (GoogLeNet's F.relu, a residual block's `out += identity`, torch.cat of the
Inception branches). Every node knows its input nodes, its output shape, its parameters and the
receptive field and jump of its output: how many input pixels one output unit sees (r) and how many
input pixels apart two neighbouring units are (j). Per convolution or pooling with kernel k,
stride s and dilation d: r_out = r_in + (k_eff - 1) * j_in, j_out = j_in * s, k_eff = d (k - 1) + 1.
Where paths meet (add, cat) the larger receptive field counts. A unit after a global pooling or a
fully connected layer sees the whole input: `receptive_field` is None there.

The tracking rides on the tensors themselves: a TorchFunctionMode sees every torch function call and
writes the producer node and the receptive field onto the output tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_META = "_explorer_trace"

# Functional calls worth a node of their own when no recorded module wraps them.
_NODE_OPS = {
    "add", "add_", "__add__", "__iadd__", "__radd__", "cat", "concat", "concatenate", "mul", "mul_", "__mul__",
    "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "hardswish", "hardsigmoid", "sigmoid", "silu", "gelu",
    "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "dropout", "linear", "conv2d",
    "batch_norm", "flatten", "mean",
}
_OP_TITLES = {"add": "+ (add)", "add_": "+= (add_)", "__add__": "+ (add)", "__iadd__": "+= (add_)",
              "__radd__": "+ (add)", "cat": "torch.cat", "concat": "torch.cat", "concatenate": "torch.cat",
              "mul": "× (mul)", "mul_": "×= (mul_)", "__mul__": "× (mul)", "flatten": "torch.flatten",
              "mean": "mean"}


@dataclass(frozen=True)
class Field:
    """Receptive field (rows, cols) and jump (rows, cols) of a tensor; whole=True: sees the whole input."""
    r: tuple[int, int] = (1, 1)
    j: tuple[float, float] = (1, 1)
    whole: bool = False

    def through(self, kernel, stride, dilation=(1, 1)) -> "Field":
        if self.whole:
            return self
        r = tuple(self.r[i] + (dilation[i] * (kernel[i] - 1)) * self.j[i] for i in range(2))
        j = tuple(self.j[i] * stride[i] for i in range(2))
        return Field(tuple(_tidy(v) for v in r), tuple(_tidy(v) for v in j))


WHOLE = Field(whole=True)


def _tidy(value: float):
    return int(value) if float(value).is_integer() else value


def _pair(value, default=None):
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        value = default
    if isinstance(value, (tuple, list)):
        return (value[0], value[-1]) if len(value) in (1, 2) else tuple(value[-2:])
    return (value, value)


def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _adaptive_window(size_in: int, size_out: int) -> int:
    """Largest window AdaptiveAvgPool/AdaptiveMaxPool uses (windows start at floor(i*in/out),
    end at ceil((i+1)*in/out))."""
    return max(math.ceil((i + 1) * size_in / size_out) - (i * size_in) // size_out for i in range(size_out))


@dataclass
class Node:
    index: int
    name: str                 # module path ("layer1.0.conv1") or, for a functional call, the caller's path
    type: str                 # "Conv2d", "BatchNorm2d", "F.relu", "torch.cat", ...
    inputs: list[int]
    kind: str                 # "input", "module" or "function"
    module: nn.Module | None = None
    kernel: tuple | None = None
    stride: tuple | None = None
    padding: object = None
    output_shape: tuple = ()
    params: int = 0
    macs: int = 0
    field: Field = field(default_factory=Field)
    first_call: bool = True   # False when a module object runs a second time (ResNet's one ReLU per block)


def is_unit(module: nn.Module) -> bool:
    """A module recorded as one row: a leaf, or one with parameters of its own (timm's BatchNormAct2d
    holds its activation as a child but is one layer)."""
    return not any(True for _ in module.children()) or any(True for _ in module.parameters(recurse=False))


def module_hyper(module: nn.Module):
    """(kernel, stride, padding) of a convolution or pooling module, None where it has none."""
    if isinstance(module, nn.Conv2d):
        padding = "same (TF)" if type(module).__name__.endswith("Same") else module.padding
        return _pair(module.kernel_size), _pair(module.stride), padding
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return _pair(module.kernel_size), _pair(module.stride, module.kernel_size), module.padding
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return None, None, None
    return None, None, None


class _Tracer(TorchFunctionMode):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.nodes: list[Node] = []
        self.names = {module: name for name, module in model.named_modules()}
        self.stack: list[str] = []       # paths of the modules running now
        self.inside_unit = 0
        self.seen: set[int] = set()
        self.pending: list[int] = []
        self.handles = []
        for module in model.modules():
            self.handles.append(module.register_forward_pre_hook(self._pre))
            self.handles.append(module.register_forward_hook(self._post))

    def close(self):
        for handle in self.handles:
            handle.remove()

    # The trace rides on tensor attributes: (producer node index, Field).
    @staticmethod
    def get(tensor):
        return getattr(tensor, _META, None) if isinstance(tensor, torch.Tensor) else None

    @staticmethod
    def put(value, producer: int, fld: Field):
        for tensor in _tensors(value):
            try:
                setattr(tensor, _META, (producer, fld))
            except (AttributeError, RuntimeError):
                pass

    def start(self, x: torch.Tensor):
        self.nodes.append(Node(0, "input", "input", [], "input", output_shape=tuple(x.shape)))
        self.put(x, 0, Field())

    def _name(self, module) -> str:
        name = self.names.get(module, "?")
        return name or type(module).__name__        # the model itself, when it is a single layer

    def _pre(self, module, args):
        self.stack.append(self.names.get(module, "?"))
        if not is_unit(module):
            return
        self.inside_unit += 1
        if self.inside_unit > 1:                     # a child of a recorded layer (BatchNormAct2d's act)
            return
        inputs = [meta[0] for meta in (self.get(t) for t in _tensors(args)) if meta is not None]
        kernel, stride, padding = module_hyper(module)
        first = id(module) not in self.seen
        self.seen.add(id(module))
        params = sum(p.numel() for p in module.parameters()) if first else 0
        # a layer holding its activation as a child (timm's BatchNormAct2d) is named with it: "BatchNormAct2d+ReLU6"
        title = "+".join([type(module).__name__] + [type(c).__name__ for c in module.children()
                                                     if not isinstance(c, nn.Identity)])
        node = Node(len(self.nodes), self._name(module), title, sorted(set(inputs)), "module",
                    module, kernel, stride, padding, params=params, first_call=first)
        self.nodes.append(node)
        self.pending.append(node.index)

    def _post(self, module, args, output):
        self.stack.pop()
        if not is_unit(module):
            return
        self.inside_unit -= 1
        if self.inside_unit > 0:
            return
        node = self.nodes[self.pending.pop()]
        out = next(iter(_tensors(output)), None)
        meta = self.get(out)
        if out is not None:
            node.output_shape = tuple(out.shape)
        if meta is not None:
            node.field = meta[1]
        self.put(output, node.index, node.field)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        metas = [(t, self.get(t)) for t in _tensors((args, kwargs))]
        metas = [(t, m) for t, m in metas if m is not None]
        out_tensor = next(iter(_tensors(out)), None)
        if not metas or out_tensor is None:
            return out
        name = getattr(func, "__name__", "")
        fld = _field_after(name, func, args, kwargs, metas, out_tensor)
        producer = metas[0][1][0]
        if not self.inside_unit and name in _NODE_OPS:
            title = _OP_TITLES.get(name, f"F.{name.rstrip('_')}")
            kernel = stride = None
            if name in ("max_pool2d", "avg_pool2d"):
                kernel = _pair(_arg(args, kwargs, 1, "kernel_size"))
                stride = _pair(_arg(args, kwargs, 2, "stride"), kernel)
            node = Node(len(self.nodes), self.stack[-1] if self.stack else "", title,
                        sorted({m[0] for _, m in metas}), "function", None, kernel, stride,
                        output_shape=tuple(out_tensor.shape), field=fld)
            self.nodes.append(node)
            producer = node.index
        self.put(out, producer, fld)
        return out


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _spatial(tensor) -> tuple[int, int] | None:
    return tuple(tensor.shape[-2:]) if tensor.dim() >= 3 else None


def _field_after(name, func, args, kwargs, metas, out) -> Field:
    source = metas[0][1][1]
    if name == "conv2d":
        weight = _arg(args, kwargs, 1, "weight")
        kernel = tuple(weight.shape[-2:])
        return source.through(kernel, _pair(_arg(args, kwargs, 3, "stride", 1)),
                              _pair(_arg(args, kwargs, 5, "dilation", 1)))
    if name in ("max_pool2d", "avg_pool2d"):
        kernel = _pair(_arg(args, kwargs, 1, "kernel_size"))
        stride = _pair(_arg(args, kwargs, 2, "stride"), kernel)
        dilation = _pair(_arg(args, kwargs, 4, "dilation", 1)) if name == "max_pool2d" else (1, 1)
        return source.through(kernel, stride, dilation)
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        size_in, size_out = _spatial(metas[0][0]), _spatial(out)
        if size_out == (1, 1) and size_in != (1, 1):
            return WHOLE
        kernel = tuple(_adaptive_window(size_in[i], size_out[i]) for i in range(2))
        return source.through(kernel, tuple(size_in[i] / size_out[i] for i in range(2)))
    if name in ("linear", "mean", "sum", "amax", "max") and (name == "linear" or out.dim() < metas[0][0].dim()):
        return WHOLE
    # Element-wise, cat, pad, view...: the widest input wins, except per-channel gates broadcast from a
    # 1x1 map (squeeze-and-excitation), which scale the map without widening what each unit sees.
    size = _spatial(out)
    spatial = [m[1] for t, m in metas if size is None or size == (1, 1) or _spatial(t) not in (None, (1, 1))]
    fields = spatial or [m[1] for _, m in metas]
    if any(f.whole for f in fields):
        return WHOLE
    return Field(tuple(max(f.r[i] for f in fields) for i in range(2)),
                 tuple(max(f.j[i] for f in fields) for i in range(2)))


@dataclass
class Trace:
    nodes: list[Node]
    output: torch.Tensor


def trace(model: nn.Module, input_size: tuple[int, ...]) -> Trace:
    """Run one random image of `input_size` (C, H, W) through `model` in eval mode and record every
    layer. Multiply-accumulates per module come from FlopCounterMode (flops / 2)."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    if device.type == "meta":
        x = torch.empty(1, *input_size, device=device)
    else:
        x = torch.randn(1, *input_size, generator=torch.Generator().manual_seed(0)).to(device)
    tracer = _Tracer(model)
    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            tracer.start(x)
            with tracer:
                output = model(x)
    finally:
        tracer.close()
        model.train(was_training)
    flops = counter.get_flop_counts()
    prefix = type(model).__name__ + "."
    for node in tracer.nodes:
        if node.kind == "module" and node.first_call:
            node.macs = int(sum(flops.get(prefix + node.name, {}).values()) // 2)
    return Trace(tracer.nodes, output)
