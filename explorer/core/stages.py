"""Capture every Conv and Pool stage a forward pass runs, with its receptive field on the input.

Stages are the outputs of nn.Conv2d (and subclasses) and of 2-D pooling modules, taken by forward
hooks that exist only during one forward pass. Receptive fields are computed by following the
geometry of every tensor through the pass (a TorchFunctionMode), so residual additions, Inception
concatenations and functional ops are accounted for exactly: a tensor's field is the largest field
among the tensors it was computed from.
"""
import math
import weakref
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

STAGE_TYPES = {
    "conv": (nn.Conv2d,),
    "pool": (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
             nn.LPPool2d, nn.FractionalMaxPool2d),
}


@dataclass(frozen=True)
class Axis:
    """Receptive field along one axis: size `rf`, distance `jump` between neighbouring units,
    and `start`, the centre of unit 0 in input pixels (negative where it sits in the padding)."""
    rf: float
    jump: float
    start: float

    def span(self, index: int) -> tuple[float, float]:
        centre = self.start + index * self.jump
        return centre - (self.rf - 1) / 2, centre + (self.rf - 1) / 2


INPUT_AXIS = Axis(1.0, 1.0, 0.0)


@dataclass(frozen=True)
class Call:
    """The functional op a stage's layer ran and its arguments as PyTorch received them, with
    `pad` (top, bottom, left, right): the padding applied, the op's own plus any the layer added
    with F.pad inside its forward (timm's "SAME" convolutions) and `pad_value`, what it padded with."""
    op: str                      # "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", ...
    params: dict                 # the op's arguments by name (weight, bias, stride, dilation, groups...)
    pad: tuple[int, int, int, int]
    pad_value: float = 0.0


@dataclass(frozen=True)
class After:
    """One per-unit step the network applied to a stage's output before anything else read it
    (BatchNorm in eval mode, an activation): the function and its other arguments."""
    op: str                      # "batch_norm", "relu", "hardtanh", ...
    func: Callable
    args: tuple                  # the arguments after the input
    kwargs: dict


@dataclass(frozen=True)
class Geometry:
    """What a stage's layer does, the same for every input of one shape: its receptive field, its
    call, the per-unit steps after it and the name of the op that ends them (`then`)."""
    field: tuple[Axis, Axis]
    call: Call | None = None
    after: tuple[After, ...] = ()
    then: str | None = None
    copy_input: bool = False     # the pass changes the layer's input in place after the layer read it
    copy_output: bool = False    # ... or its output (an in-place ReLU after a convolution)
    source: int | None = None    # the stage whose output, after its per-unit steps, is this layer's input


@dataclass
class Stage:
    name: str                    # module path, e.g. "features.0"
    kind: str                    # "conv" or "pool"
    layer: str                   # the module's repr
    activation: torch.Tensor     # (C, H, W), on the CPU, the layer's real output
    input_shape: tuple           # (C, H, W) of what the layer received
    field: tuple[Axis, Axis]     # receptive field along height and width
    input: torch.Tensor | None = None   # (C, H, W), on the CPU: what the layer received, unless `source`
                                        # says how to rebuild it (see layer_input)
    call: Call | None = None     # the op the layer ran, with its arguments
    after: tuple[After, ...] = ()       # per-unit steps before the next stage
    then: str | None = None      # the op that ended them (None: nothing read it, or a stage did)
    copy_input: bool = False     # whether `input` and `activation` had to be copied (see Geometry)
    copy_output: bool = False
    source: int | None = None

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.field, self.call, self.after, self.then, self.copy_input, self.copy_output,
                        self.source)

    @property
    def output_shape(self) -> tuple:
        return tuple(self.activation.shape)

    @property
    def receptive_field(self) -> tuple[int, int]:
        return round(self.field[0].rf), round(self.field[1].rf)

    @property
    def jump(self) -> tuple[float, float]:
        return self.field[0].jump, self.field[1].jump

    def box(self, i: int, j: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in input pixels of unit (i, j)'s receptive field."""
        top, bottom = self.field[0].span(i)
        left, right = self.field[1].span(j)
        return left, top, right + 1, bottom + 1


def stage_kind(module: nn.Module) -> str | None:
    for kind, types in STAGE_TYPES.items():
        if isinstance(module, types):
            return kind
    return None


def _pair(value) -> tuple:
    if isinstance(value, (list, tuple)):
        return (value[0], value[0]) if len(value) == 1 else tuple(value)
    return value, value


def _window(axis: Axis, kernel: int, stride: int, padding: float, dilation: int = 1) -> Axis:
    rf = axis.rf + (kernel - 1) * dilation * axis.jump
    start = axis.start + ((kernel - 1) * dilation / 2 - padding) * axis.jump
    return Axis(rf, axis.jump * stride, start)


def _adaptive(axis: Axis, n_in: int, n_out: int) -> Axis:
    widest = max(math.ceil((i + 1) * n_in / n_out) - (i * n_in) // n_out for i in range(n_out))
    return Axis(axis.rf + (widest - 1) * axis.jump, axis.jump * n_in / n_out,
                axis.start + (widest - 1) / 2 * axis.jump)


# positional parameter names of the functional ops whose geometry we follow
_SIGNATURES = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
    "lp_pool2d": ("input", "norm_type", "kernel_size", "stride", "ceil_mode"),
    "adaptive_avg_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d": ("input", "output_size", "return_indices"),
    "pad": ("input", "pad", "mode", "value"),
}
CALL_OPS = ("conv2d", "max_pool2d", "avg_pool2d", "lp_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
            "fractional_max_pool2d")
# ops that change each unit on its own (in eval mode), so a unit's value can be followed through them
PER_UNIT = {"batch_norm", "relu", "relu6", "hardtanh", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu",
            "elu", "selu", "celu", "leaky_relu", "mish", "tanh", "softplus", "threshold"}
# ops that leave every value as it is in eval mode: the chain goes on through them
UNCHANGED = {"dropout", "dropout2d", "feature_alpha_dropout", "alpha_dropout"}
# ops that only read or copy a tensor (a hook keeping a copy): they neither extend nor end a chain
READS = {"getitem", "clone", "detach", "cpu", "to", "contiguous", "float", "double", "select", "numpy"}


def _op_name(func) -> str:
    name = getattr(func, "__name__", "")
    name = name.lstrip("_")
    return name.removesuffix("_with_indices")


def _training(name: str, args, kwargs) -> bool:
    """Whether a batch_norm or dropout call runs in training mode (then it is not per unit)."""
    position = {"batch_norm": 5, "dropout": 2, "dropout2d": 2, "feature_alpha_dropout": 2, "alpha_dropout": 2}
    if name not in position:
        return False
    index = position[name]
    return bool(kwargs.get("training", args[index] if len(args) > index else name != "batch_norm"))


def _padding(params: dict, kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of an op's own padding; "same" split as PyTorch does (extra on the end)."""
    padding = params.get("padding", 0)
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


class _FieldTracker(TorchFunctionMode):
    """Follows every tensor of one forward pass: its receptive field, the op (and padding) that made a
    stage's output, and the per-unit steps applied to each stage's output afterwards."""

    def __init__(self):
        super().__init__()
        self._fields: dict[int, tuple] = {}
        self._pads: dict[int, tuple] = {}        # id(padded tensor) -> (ref, its source, pad, value)
        self._calls: dict[int, tuple] = {}       # id(op output) -> (ref, the op's input before F.pad, Call)
        self._heads: dict[int, tuple] = {}       # id(tensor) -> (ref, stage index): where each chain stands
        self._ends: dict[int, tuple] = {}        # the same, kept after a chain ends: what it produced
        self.after: dict[int, list[After]] = {}
        self.then: dict[int, str] = {}

    def _live(self, table: dict, tensor):
        entry = table.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        return entry if entry is not None and entry[0]() is tensor else None

    def call(self, output) -> tuple | None:
        """(the op's input before any F.pad, Call) of the op that produced `output`, if one was seen."""
        entry = self._live(self._calls, output)
        return entry[1:] if entry else None

    def start_chain(self, output, index: int) -> None:
        self._heads[id(output)] = self._ends[id(output)] = (weakref.ref(output), index)
        self.after[index] = []

    def source(self, tensor) -> int | None:
        """The stage whose output, after its chain of per-unit steps, is exactly this tensor."""
        found = self._live(self._ends, tensor)
        return None if found is None else found[1]

    def _follow(self, name: str, func, args, kwargs, out) -> None:
        """Extend a stage's chain of per-unit steps by this op, or end it."""
        if not isinstance(out, torch.Tensor) or name in READS:    # .dim(), .size(), a copy: not steps
            return
        if args and out is args[0]:      # in place: what the chain produced is no longer what it holds
            self._ends.pop(id(out), None)
        head = self._live(self._heads, args[0]) if args else None
        if head is not None and (name in PER_UNIT or name in UNCHANGED) and not _training(name, args, kwargs) \
                and out.shape == args[0].shape:
            del self._heads[id(args[0])]
            self._ends.pop(id(args[0]), None)
            if name in PER_UNIT:
                self.after[head[1]].append(After(name, func, tuple(args[1:]), dict(kwargs)))
            self._heads[id(out)] = self._ends[id(out)] = (weakref.ref(out), head[1])
            return
        for value in list(args) + list(kwargs.values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                found = self._live(self._heads, item)
                if found is not None:
                    del self._heads[id(item)]
                    self.then.setdefault(found[1], name)

    def _record(self, name: str, args, kwargs, out) -> None:
        params = dict(zip(_SIGNATURES.get(name, ("input",)), args)) | kwargs
        if name == "pad":
            pad = list(params.get("pad", ())) + [0, 0, 0, 0]
            if params.get("mode", "constant") == "constant":
                self._pads[id(out)] = (weakref.ref(out), params["input"], tuple(pad[:4]),
                                       float(params.get("value") or 0.0))
            return
        source, extra, value = params.get("input"), (0, 0, 0, 0), 0.0
        padded = self._live(self._pads, source)
        if padded is not None:
            source, (left, right, top, bottom), value = padded[1], padded[2], padded[3]
            extra = (top, bottom, left, right)
        if name == "conv2d":
            kernel, dilation = tuple(params["weight"].shape[-2:]), _pair(params.get("dilation", 1))
        elif name in ("max_pool2d", "avg_pool2d", "lp_pool2d"):
            kernel, dilation = _pair(params["kernel_size"]), _pair(params.get("dilation", 1))
        else:
            kernel, dilation = (1, 1), (1, 1)
        own = _padding(params, kernel, dilation)
        params.pop("input", None)
        call = Call(name, params, tuple(a + b for a, b in zip(own, extra)), value)
        self._calls[id(out)] = (weakref.ref(out), weakref.ref(source) if isinstance(source, torch.Tensor) else None,
                                call)

    def tag(self, tensor: torch.Tensor, field: tuple[Axis, Axis]) -> None:
        self._fields[id(tensor)] = (weakref.ref(tensor), field, tuple(tensor.shape[-2:]))

    def field(self, tensor) -> tuple | None:
        entry = self._fields.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        if entry is None or entry[0]() is not tensor:
            return None
        return entry[1], entry[2]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = _op_name(func)
        self._follow(name.rstrip("_"), func, args, kwargs, out)
        if name in CALL_OPS or name == "pad":
            self._record(name, args, kwargs, out[0] if isinstance(out, tuple) else out)
        if isinstance(out, torch.Tensor) and out.dim() >= 3:
            field = self._output_field(func, args, kwargs, out)
            if field is not None:
                self.tag(out, field)
        elif isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor) and out[0].dim() >= 3:
            field = self._output_field(func, args, kwargs, out[0])
            if field is not None:
                self.tag(out[0], field)
        return out

    def _widest_input(self, args, kwargs, out_hw):
        """The widest field among the inputs; inputs of the output's own size win, so a channel gate
        of size 1x1 (squeeze-and-excitation) does not make every later unit see the whole image."""
        best = None
        for value in list(args) + list(kwargs.values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                found = self.field(item)
                if found is None:
                    continue
                rank = (found[1] == out_hw, found[0][0].rf * found[0][1].rf)
                if best is None or rank > best[0]:
                    best = (rank, found)
        return best[1] if best else None

    def _output_field(self, func, args, kwargs, out):
        out_hw = tuple(out.shape[-2:])
        found = self._widest_input(args, kwargs, out_hw)
        if found is None:
            return None
        field, in_hw = found
        name = _op_name(func)
        params = dict(zip(_SIGNATURES.get(name, ()), args)) | kwargs
        if name == "conv2d":
            kernel = params["weight"].shape[-2:]
            padding = params.get("padding", 0)
            dilation = _pair(params.get("dilation", 1))
            if isinstance(padding, str):
                padding = (0, 0) if padding == "valid" else tuple(d * (k - 1) / 2 for d, k in zip(dilation, kernel))
            return tuple(_window(a, k, s, p, d) for a, k, s, p, d in
                         zip(field, kernel, _pair(params.get("stride", 1)), _pair(padding), dilation))
        if name in ("max_pool2d", "avg_pool2d", "lp_pool2d"):
            kernel = _pair(params["kernel_size"])
            stride = _pair(params.get("stride") or kernel)
            dilation = _pair(params.get("dilation", 1))
            return tuple(_window(a, k, s, p, d) for a, k, s, p, d in
                         zip(field, kernel, stride, _pair(params.get("padding", 0)), dilation))
        if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
            return tuple(_adaptive(a, n, o) for a, n, o in zip(field, in_hw, out_hw))
        if name == "pad":
            pad = list(params.get("pad", args[1] if len(args) > 1 else ())) + [0, 0, 0, 0]
            left, top = pad[0], pad[2]
            return (Axis(field[0].rf, field[0].jump, field[0].start - top * field[0].jump),
                    Axis(field[1].rf, field[1].jump, field[1].start - left * field[1].jump))
        if out_hw == in_hw:
            return field
        return None


def stage_index(names: list[str], stage) -> int:
    """A stage given by its index (0-based, in the Stages tab's order; a numeric string counts) or by
    its name -> its index. ValueError, naming `stage` and the allowed range, for anything else."""
    if isinstance(stage, str) and not stage.strip().lstrip("-").isdigit():
        if stage not in names:
            raise ValueError(f"stage: no stage is named {stage!r}; the stages are {names[0]!r} to {names[-1]!r} "
                             f"(as the Stages tab lists them), or a number from 0 to {len(names) - 1}")
        return names.index(stage)
    try:
        index = int(stage)
        if isinstance(stage, float) and index != stage:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"stage: {stage!r} is neither a stage number nor a stage name") from None
    if not 0 <= index < len(names):
        raise ValueError(f"stage: {index} does not exist; this model has stages 0 to {len(names) - 1}")
    return index


def stage_layers(module: nn.Module) -> dict[nn.Module, tuple[str, str, str]]:
    """Every stage module of a model -> (its path, its kind, its repr); worth keeping per model."""
    return {m: (name, stage_kind(m), repr(m)) for name, m in module.named_modules() if stage_kind(m)}


def capture_stages(module: nn.Module, x: torch.Tensor, fields: list | None = None,
                   layers: dict | None = None) -> tuple[torch.Tensor, list[Stage]]:
    """Run module(x) once (x: a batch of one) and return (output, stages in execution order).

    `fields`, the stages' Geometry (or bare receptive fields) from an earlier pass with the same input
    shape, skips tracking the pass (about a quarter of its cost); `layers` is stage_layers(module).

    A layer's input and output are kept by reference, not copied (copies cost a third of a pass). The
    tracked pass runs outside inference mode and notes their version counters: where the pass changed
    one in place afterwards (an in-place ReLU after a convolution), it is run again copying those, and
    the Geometry it returns says which to copy from then on, also in inference mode (no counters).
    Bare receptive fields carry no such knowledge: then every tensor without a counter is copied."""
    stages: list[Stage] = []
    tracker = _FieldTracker() if fields is None else None
    layers = layers or stage_layers(module)
    calls: dict[str, int] = {}
    watched: list[tuple[torch.Tensor, int | None, torch.Tensor, int | None]] = []

    def hook(layer, inputs, output):
        name, kind, text = layers[layer]
        calls[name] = calls.get(name, 0) + 1
        item = fields[len(stages)] if tracker is None and len(stages) < len(fields) else None
        geometry = _known(item)
        known = isinstance(item, Geometry)     # its copy flags come from a pass that watched versions
        in_version, out_version = _version(inputs[0]), _version(output)
        if tracker is not None:
            geometry = _tracked(tracker, len(stages), inputs[0], output)
        derived = geometry.source is not None       # rebuilt from an earlier stage: nothing to keep
        copy_in = geometry.copy_input if known else in_version is None
        copy_out = geometry.copy_output if known else out_version is None
        watched.append((inputs[0], None if copy_in or derived else in_version, output,
                        None if copy_out else out_version))
        activation = _kept(output[0], copy_out)
        layer_input = None if derived else _kept(inputs[0][0], copy_in)
        stages.append(Stage(
            name=name if calls[name] == 1 else f"{name} (call {calls[name]})",
            kind=kind, layer=text, activation=activation, input_shape=tuple(inputs[0].shape[1:]),
            field=geometry.field, input=layer_input, call=geometry.call, after=geometry.after,
            then=geometry.then, copy_input=geometry.copy_input, copy_output=geometry.copy_output,
            source=geometry.source))

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        if tracker is None:
            output = module(x)
        else:     # outside inference mode: version counters show what the pass changes in place
            with torch.inference_mode(False), torch.no_grad(), tracker:
                tracker.tag(x, (INPUT_AXIS, INPUT_AXIS))
                output = module(x)
    finally:
        for handle in handles:
            handle.remove()
    if fields is not None and len(fields) != len(stages):  # the pass took another path: track it
        return capture_stages(module, x, None, layers)
    if tracker is not None:      # the per-unit steps were complete only once the pass ended
        for index, stage in enumerate(stages):
            stage.after, stage.then = tuple(tracker.after.get(index, ())), tracker.then.get(index)
    if _changed_later(stages, watched):     # kept tensors were changed in place later: copy those
        return capture_stages(module, x, [stage.geometry for stage in stages], layers)
    return output, stages


def _changed_later(stages: list[Stage], watched: list[tuple]) -> bool:
    """Mark the stages whose kept input or output the pass changed in place after the hook took it."""
    changed = False
    for stage, (layer_input, in_version, layer_output, out_version) in zip(stages, watched):
        if in_version is not None and layer_input._version != in_version:
            stage.copy_input = changed = True
        if out_version is not None and layer_output._version != out_version:
            stage.copy_output = changed = True
    return changed


def _version(tensor: torch.Tensor) -> int | None:
    """The tensor's version counter (bumped by every in-place change); None for inference tensors."""
    return None if tensor.is_inference() else tensor._version


def _kept(tensor: torch.Tensor, copy: bool = True) -> torch.Tensor:
    """The tensor on the CPU: a copy where an in-place op later in the pass (a ReLU) would change it."""
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        return tensor.cpu()
    return tensor.clone() if copy else tensor


def _tracked(tracker: _FieldTracker, index: int, layer_input, output) -> Geometry:
    found = tracker.field(output)
    call = tracker.call(output)
    source = tracker.source(layer_input)
    tracker.start_chain(output, index)
    # the op's input must be the layer's own (perhaps padded): else the layer changed it first
    known = call is not None and call[0] is not None and call[0]() is layer_input
    return Geometry(found[0] if found else (INPUT_AXIS, INPUT_AXIS), call[1] if known else None, source=source)


def layer_input(stages: list[Stage], index: int) -> torch.Tensor | None:
    """(C, H, W) on the CPU: what stage `index`'s layer received. Kept, or rebuilt with PyTorch's own
    functions from the stage whose output it is after that stage's per-unit steps (BatchNorm, ReLU...),
    which saves keeping a second copy of most of the pass."""
    stage = stages[index]
    if stage.input is not None or stage.source is None:
        return stage.input
    source = stages[stage.source]
    device = next((a.device for step in source.after for a in step.args if isinstance(a, torch.Tensor)),
                  torch.device("cpu"))
    x = source.activation[None].to(device, copy=True)       # a copy: some steps work in place
    with torch.inference_mode():
        for step in source.after:
            x = step.func(x, *step.args, **step.kwargs)
    return x[0].cpu()


def _known(item) -> Geometry:
    if item is None:
        return Geometry((INPUT_AXIS, INPUT_AXIS))
    return item if isinstance(item, Geometry) else Geometry(item)
