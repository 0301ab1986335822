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


@dataclass
class Stage:
    name: str                    # module path, e.g. "features.0"
    kind: str                    # "conv" or "pool"
    layer: str                   # the module's repr
    activation: torch.Tensor     # (C, H, W), on the CPU, the layer's real output
    input_shape: tuple           # (C, H, W) of what the layer received
    field: tuple[Axis, Axis]     # receptive field along height and width

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
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding"),
    "lp_pool2d": ("input", "norm_type", "kernel_size", "stride"),
}


def _op_name(func) -> str:
    name = getattr(func, "__name__", "")
    name = name.lstrip("_")
    return name.removesuffix("_with_indices")


class _FieldTracker(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self._fields: dict[int, tuple] = {}

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


def stage_layers(module: nn.Module) -> dict[nn.Module, tuple[str, str, str]]:
    """Every stage module of a model -> (its path, its kind, its repr); worth keeping per model."""
    return {m: (name, stage_kind(m), repr(m)) for name, m in module.named_modules() if stage_kind(m)}


def capture_stages(module: nn.Module, x: torch.Tensor, fields: list | None = None,
                   layers: dict | None = None) -> tuple[torch.Tensor, list[Stage]]:
    """Run module(x) once (x: a batch of one) and return (output, stages in execution order).

    `fields`, the stages' receptive fields from an earlier pass with the same input shape, skips
    the geometry tracking (about a quarter of the cost of a pass); `layers` is stage_layers(module)."""
    stages: list[Stage] = []
    tracker = _FieldTracker() if fields is None else None
    layers = layers or stage_layers(module)
    calls: dict[str, int] = {}

    def hook(layer, inputs, output):
        name, kind, text = layers[layer]
        calls[name] = calls.get(name, 0) + 1
        if tracker is not None:
            found = tracker.field(output)
            field = found[0] if found else (INPUT_AXIS, INPUT_AXIS)
        else:
            field = fields[len(stages)] if len(stages) < len(fields) else (INPUT_AXIS, INPUT_AXIS)
        activation = output[0].detach()
        # a copy: an in-place ReLU after this layer would otherwise rectify what we keep
        activation = activation.clone() if activation.device.type == "cpu" else activation.cpu()
        stages.append(Stage(
            name=name if calls[name] == 1 else f"{name} (call {calls[name]})",
            kind=kind, layer=text, activation=activation, input_shape=tuple(inputs[0].shape[1:]), field=field))

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        if tracker is None:
            output = module(x)
        else:
            with tracker:
                tracker.tag(x, (INPUT_AXIS, INPUT_AXIS))
                output = module(x)
    finally:
        for handle in handles:
            handle.remove()
    if fields is not None and len(fields) != len(stages):  # the pass took another path: track it
        return capture_stages(module, x, None, layers)
    return output, stages
