"""The one trace of a forward pass: every layer a model runs, in order, as a data-flow graph of `Node`s.
The Stages tab (explorer.core.stages), the Architecture summary (explorer.core.architecture), the
guided-backpropagation check (explorer.core.attribution) and, through the stages, the bridge to the
Kernel tab (explorer.core.bridge) are views of it.

What a node is. A node is one call of a layer: a module that is a unit (a leaf, or a module with
parameters of its own, such as timm's BatchNormAct2d, which runs its activation as a child), or a
functional operation called outside any unit (GoogLeNet's F.relu, a residual block's `out += identity`,
torch.cat of the Inception branches; see _NODE_OPS). Modules inside a unit are not nodes, except
layers the caller asks to follow (`follow`: the Stages tab's Conv and Pool modules), which are nodes
wherever they run; those inside a unit are marked `nested`. Node 0 is the input.

What a node holds: `path`, the module's path ("layer1.0.conv1"; for a functional call the path of the
module whose forward called it, "" at the top level); `type` ("Conv2d", "BatchNormAct2d+ReLU6",
"F.relu", "torch.cat", "+= (add_)"); `kind` ("input", "module" or "function"); `inputs`, the nodes
whose outputs it read; `input_shape` and `output_shape` (with the batch dimension); `kernel`,
`stride`, `padding` of a convolution or pooling; `params`, the module's parameter count (on its
first call only); `macs`, multiply-accumulates (FlopCounterMode flops / 2, per module path, all
its calls on the first; counted by `trace()`, not by the Stages capture's pass, which would take
twice as long); and `field`, the receptive field of its output on the model's input (an
explorer.core.receptive_field.Field: size, jump and start along rows and cols, and `whole`). A
followed layer's node also holds `op_call`, the functional op it ran with its arguments and padding,
`after` and `then`, the per-unit steps applied to its output and the op that ended them, and
`source`, the node whose output, after its steps, is this layer's input (explorer.core.unit_steps).
Besides its nodes a Trace holds `module_calls`, how many times every module ran (units or not), and
`op_callers`, each torch op with the path of the innermost module running when it was called: the
guided-backprop check reads both (a ReLU module run twice, a rectifier applied outside nn.ReLU).

The naming rule, one for every view: a node's `name` is its path; the second and later nodes of one
path and type (a module object that runs again, such as the one ReLU of a ResNet block, or a second
F.relu from one forward) add " (call n)": "layer1.0.relu (call 2)". `call_number` holds n (1 first),
`first_call` says n == 1, and `call_name(path, n)` is the rule itself, which the Stages capture also
uses on passes it does not trace.

How fields are propagated. The tracking rides on the tensors: a TorchFunctionMode sees every torch
function call of the pass and writes the producing node and the receptive field of each output tensor
into a table keyed by the tensor's id (held by weak reference, so no tensor is changed or kept). The
rule per op is explorer.core.receptive_field.field_after: convolution and pooling windows grow the
field by (k_eff - 1) * jump and multiply the jump by the stride; adaptive pooling by its widest
window; F.pad moves the start; a linear layer or a reduction over the map sees the whole input; where
paths meet (add, cat) the field is the union of the meeting fields, gates broadcast from 1x1 maps
left out. Forward hooks on every module keep the stack of running modules, open a node when a unit
(or followed layer) starts and give it its output's field when it ends.

What is cached, and where. Nothing here: a trace is a pass, and each view keeps what it derives. The
Architecture tab caches each registered model's Summary per input size (architecture.summarize), and
from it the MACs that compare() shows; a LoadedModel keeps its stages' geometry (fields, calls,
steps) per input shape, so the stage sweep traces a model once per input shape and later passes only
run forward hooks (explorer.core.stages.capture_stages); the guided-backprop verdict is kept per model.
"""
from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.core.hooks import hooked
from explorer.core.mac_counter import mac_counter
from explorer.core.receptive_field import INPUT, Field, field_after, pair
from explorer.core.unit_steps import After, Call, StepRecorder, op_params

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

# Functional calls worth a node of their own when no unit wraps them (PyTorch's names for them).
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


# ops whose field depends on their arguments (the others' on their inputs' shapes only)
_WINDOW_OPS = {"conv2d", "max_pool2d", "avg_pool2d", "lp_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "pad"}


def op_name(func) -> str:
    """A torch function's op, one name for its forms: "relu" for relu_ and F.relu, "iadd" for __iadd__,
    "max_pool2d" for max_pool2d_with_indices."""
    return getattr(func, "__name__", "").strip("_").removesuffix("_with_indices")


def call_name(path: str, call_number: int) -> str:
    """The naming rule for a layer that runs more than once: its path, then " (call n)" from the second."""
    return path if call_number == 1 else f"{path} (call {call_number})"


@dataclass
class Node:
    index: int
    path: str                 # module path ("layer1.0.conv1"; "" for the model itself) or, for a functional
                              # call, the path of the module whose forward called it
    type: str                 # "Conv2d", "BatchNormAct2d+ReLU6", "F.relu", "torch.cat", ...
    kind: str                 # "input", "module" or "function"
    inputs: list[int]         # indices of the nodes whose outputs it read
    call_number: int = 1      # n-th node of this path and type (a module object that runs again)
    nested: bool = False      # a followed layer inside a unit: not part of the unit-level graph
    kernel: tuple | None = None
    stride: tuple | None = None
    padding: object = None
    input_shape: tuple = ()   # with the batch dimension
    output_shape: tuple = ()
    params: int = 0           # the module's parameters, counted on its first call only
    macs: int = 0             # multiply-accumulates of the module (all its calls, on the first); 0 uncounted
    field: Field = INPUT      # receptive field of the output on the model's input
    op_call: Call | None = None        # followed layers: the op that made the output from the input
    after: tuple[After, ...] = ()      # followed layers: per-unit steps applied to the output next
    then: str | None = None            # ... and the op that ended them (None: nothing, or a followed layer)
    source: int | None = None          # ... the followed node whose output, after its steps, is the input

    @property
    def name(self) -> str:
        return call_name(self.path, self.call_number)

    @property
    def first_call(self) -> bool:
        return self.call_number == 1


@dataclass
class Trace:
    nodes: list[Node]
    output_shape: tuple                 # of the model's (first) output tensor, with the batch dimension
    macs: int                           # every multiply-accumulate of the pass; 0 when not counted
    module_calls: dict[str, int]        # module path -> how many times it ran (every module, units or not)
    op_callers: set[tuple[str, str]]    # (op_name, path of the innermost module running) of every call
    followed: list[int] = field(default_factory=list)   # followed layers' nodes, in the order they ended

    def units(self) -> list[Node]:
        """The unit-level graph: every node but the input and nested followed layers."""
        return [n for n in self.nodes[1:] if not n.nested]


def is_unit(module: nn.Module) -> bool:
    """A module recorded as one node: a leaf, or one with parameters of its own (timm's BatchNormAct2d
    holds its activation as a child but is one layer)."""
    return not any(True for _ in module.children()) or any(True for _ in module.parameters(recurse=False))


def module_hyper(module: nn.Module):
    """(kernel, stride, padding) of a convolution or pooling module, None where it has none."""
    if isinstance(module, nn.Conv2d):
        padding = "same (TF)" if type(module).__name__.endswith("Same") else module.padding
        return pair(module.kernel_size), pair(module.stride), padding
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return pair(module.kernel_size), pair(module.stride, module.kernel_size), module.padding
    return None, None, None


def _tensors(value) -> list[torch.Tensor]:
    """Every tensor in an argument, a (nested) tuple, list or dict of them, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    found = []
    _collect(value, found)
    return found


def _collect(value, found: list) -> None:
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) else ()
    for item in items:
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list, dict)):
            _collect(item, found)


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    found = _tensors(value)
    return found[0] if found else None


class _Tracer(TorchFunctionMode):
    """Builds the nodes of one pass: module hooks open and close them, __torch_function__ follows
    every tensor's producer and field (and, for followed layers, their calls and steps)."""

    def __init__(self, model: nn.Module, follow, on_followed=None):
        super().__init__()
        self.on_followed = on_followed
        self.nodes: list[Node] = []
        self.layers = {m: (path, is_unit(m)) for path, m in model.named_modules()}
        self.follow = follow
        self.steps = StepRecorder() if follow else None
        self.running: list[tuple[str, int | None, bool]] = []   # (path, its node or None, unit) of modules running
        self.units_open = 0
        self.numbers: dict[tuple[str, str], int] = {}
        self.module_calls: dict[str, int] = {}
        self.op_callers: set[tuple[str, str]] = set()
        self.followed: list[int] = []
        self._table: dict[int, tuple] = {}      # id(tensor) -> (weakref, producer node, Field)

    def meta(self, tensor) -> tuple | None:
        entry = self._table.get(id(tensor))
        return entry[1:] if entry is not None and entry[0]() is tensor else None

    def put(self, value, producer: int, fld: Field) -> None:
        for tensor in _tensors(value):
            self._table[id(tensor)] = (weakref.ref(tensor), producer, fld)

    def start(self, x: torch.Tensor) -> None:
        self.nodes.append(Node(0, "input", "input", "input", [], output_shape=tuple(x.shape)))
        self.put(x, 0, INPUT)

    def _add(self, path: str, title: str, kind: str, inputs, **more) -> Node:
        number = self.numbers[(path, title)] = self.numbers.get((path, title), 0) + 1
        node = Node(len(self.nodes), path, title, kind, sorted(set(inputs)), number, **more)
        self.nodes.append(node)
        return node

    def _pre(self, module, args):
        path, unit = self.layers.get(module, ("?", False))
        self.module_calls[path] = self.module_calls.get(path, 0) + 1
        index = None
        if (unit and not self.units_open) or module in self.follow:
            index = self._open(module, path, args).index
        self.units_open += unit
        self.running.append((path, index, unit))

    def _open(self, module, path: str, args) -> Node:
        inputs = [meta[0] for meta in map(self.meta, _tensors(args)) if meta is not None]
        kernel, stride, padding = module_hyper(module)
        # a layer holding its activation as a child (timm's BatchNormAct2d) is named with it: "BatchNormAct2d+ReLU6"
        title = "+".join([type(module).__name__] + [type(c).__name__ for c in module.children()
                                                     if not isinstance(c, nn.Identity)])
        first = self.numbers.get((path, title), 0) == 0
        first_input = _first_tensor(args)
        return self._add(path, title, "module", inputs, nested=self.units_open > 0, kernel=kernel, stride=stride,
                         padding=padding, params=sum(p.numel() for p in module.parameters()) if first else 0,
                         input_shape=tuple(first_input.shape) if first_input is not None else ())

    def _post(self, module, args, output):
        path, index, unit = self.running.pop()
        self.units_open -= unit
        if index is None:
            return
        node, out = self.nodes[index], _first_tensor(output)
        if out is not None:
            node.output_shape = tuple(out.shape)
            meta = self.meta(out)
            node.field = meta[1] if meta is not None else node.field
        self.put(output, index, node.field)
        if module in self.follow and out is not None:
            layer_input = args[0] if args else None
            node.op_call = self.steps.call(layer_input, out)
            node.source = self.steps.source(layer_input)
            self.steps.start_chain(out, index)
            self.followed.append(index)
            if self.on_followed is not None:
                self.on_followed(module, args, output, node)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op = op_name(func)
        self.op_callers.add((op, self.running[-1][0] if self.running else ""))
        if self.steps is not None:
            self.steps.seen(op, func, args, kwargs, out)
        out_tensor = _first_tensor(out)
        if out_tensor is None:
            return out
        sources = [(t, meta) for t in _tensors((args, kwargs)) if (meta := self.meta(t)) is not None]
        if not sources:
            return out
        params = op_params(op, args, kwargs) if op in _WINDOW_OPS else {}
        fld = field_after(op, params, [(t, meta[1]) for t, meta in sources], out_tensor)
        producer = sources[0][1][0]
        raw = getattr(func, "__name__", "")
        if not self.units_open and raw in _NODE_OPS:
            producer = self._function_node(raw, op, params, sources, out_tensor, fld).index
        self.put(out, producer, fld)
        return out

    def _function_node(self, raw: str, op: str, params: dict, sources, out, fld: Field) -> Node:
        kernel = stride = None
        if op in ("max_pool2d", "avg_pool2d"):
            kernel = pair(params.get("kernel_size"))
            stride = pair(params.get("stride"), kernel)
        caller = self.running[-1][0] if self.running else ""
        return self._add(caller, _OP_TITLES.get(raw, f"F.{raw.rstrip('_')}"), "function",
                         [meta[0] for _, meta in sources], kernel=kernel, stride=stride,
                         input_shape=tuple(sources[0][0].shape), output_shape=tuple(out.shape), field=fld)

    def finish(self, output, macs: int) -> Trace:
        if self.steps is not None:
            for index in self.followed:
                node = self.nodes[index]
                node.after, node.then = tuple(self.steps.after.get(index, ())), self.steps.then.get(index)
        out = _first_tensor(output)
        return Trace(self.nodes, tuple(out.shape) if out is not None else (), macs, self.module_calls,
                     self.op_callers, self.followed)


def traced_pass(model: nn.Module, x: torch.Tensor, follow=(), on_followed=None,
                count_macs: bool = False) -> tuple[object, Trace]:
    """model(x) once, as the caller set it up (train or eval mode, grad or not), traced: (output, Trace).

    `follow`: modules (a set or a dict keyed by them) whose every call becomes a node holding its call
    and per-unit steps; `on_followed(module, args, output, node)` is called as each such call ends,
    its node complete but for `after` and `then` (known once the pass ends). `count_macs`: count
    multiply-accumulates with FlopCounterMode (it doubles the time of a pass on real data)."""
    tracer = _Tracer(model, follow, on_followed)
    counter = mac_counter(model) if count_macs else None     # hooks this model only: no thread race
    with hooked(model.modules(), pre=tracer._pre, forward=tracer._post):
        tracer.start(x)
        with counter if counter is not None else contextlib.nullcontext(), tracer:
            output = model(x)
    if counter is None:
        return output, tracer.finish(output, 0)
    _macs_per_node(tracer.nodes, counter.get_flop_counts(), type(model).__name__)
    return output, tracer.finish(output, int(counter.get_total_flops() // 2))


def _macs_per_node(nodes: list[Node], flops: dict, root: str) -> None:
    for node in nodes:
        if node.kind == "module" and node.first_call:
            key = f"{root}.{node.path}" if node.path else root
            node.macs = int(sum(flops.get(key, {}).values()) // 2)


def probe_input(model: nn.Module, input_size: tuple[int, ...]) -> torch.Tensor:
    """One image of `input_size` (C, H, W) on the model's device: seeded noise, or empty on "meta"."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    if device.type == "meta":
        return torch.empty(1, *input_size, device=device)
    return torch.randn(1, *input_size, generator=torch.Generator().manual_seed(0)).to(device)


def trace(model: nn.Module, input_size: tuple[int, ...]) -> Trace:
    """The trace of one probe image of `input_size` (C, H, W) through `model` in eval mode, without
    gradients, multiply-accumulates counted. The model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return traced_pass(model, probe_input(model, input_size), count_macs=True)[1]
    finally:
        model.train(was_training)


def total_macs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """The multiply-accumulates of one probe image, counted as `trace` counts them (FlopCounterMode
    flops / 2) but without following tensors: what a comparison needs, a fifth faster than a trace."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), mac_counter(model) as counter:
            model(probe_input(model, input_size))
        return int(counter.get_total_flops() // 2)
    finally:
        model.train(was_training)
