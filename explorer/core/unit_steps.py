"""What a followed layer computed, unit by unit: the functional op it ran (`Call`, with the padding it
applied) and the per-unit steps the network applied to its output before anything else read it
(`After`: BatchNorm in eval mode, an activation). The trace (explorer.core.trace) feeds every torch
function call of a pass to a `StepRecorder`; the bridge replays a unit's arithmetic from what it
recorded, and a layer's input is rebuilt from the previous layer's output and its steps.

A chain starts at a followed layer's output. An op that changes each unit on its own (PER_UNIT) and
keeps the shape extends it; an op that leaves values alone in eval mode (UNCHANGED) carries it on;
an op that only reads or copies (READS) neither extends nor ends it; any other op reading the chain's
head ends it, and its name is the chain's `then`. Tensors are held by weak reference, keyed by id.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable

from explorer.core.receptive_field import op_padding, pair

# positional parameter names of the functional ops whose arguments matter here
SIGNATURES = {
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


def op_params(op: str, args: tuple, kwargs: dict) -> dict:
    """An op's arguments by name (positional ones named where SIGNATURES knows the op)."""
    return dict(zip(SIGNATURES.get(op, ("input",)), args)) | kwargs


@dataclass(frozen=True)
class Call:
    """The functional op a layer ran and its arguments as PyTorch received them, with `pad`
    (top, bottom, left, right): the padding applied, the op's own plus any the layer added with F.pad
    inside its forward (timm's "SAME" convolutions) and `pad_value`, what it padded with."""
    op: str                      # "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", ...
    params: dict                 # the op's arguments by name (weight, bias, stride, dilation, groups...)
    pad: tuple[int, int, int, int]
    pad_value: float = 0.0

    @property
    def own_pad(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right): the padding of the op itself, without any F.pad before it."""
        kernel, dilation = _window_of(self.op, self.params)
        return op_padding(self.params.get("padding", 0), kernel, dilation)


@dataclass(frozen=True)
class After:
    """One per-unit step the network applied to a layer's output before anything else read it
    (BatchNorm in eval mode, an activation): the function and its other arguments."""
    op: str                      # "batch_norm", "relu", "hardtanh", ...
    func: Callable
    args: tuple                  # the arguments after the input
    kwargs: dict


def _window_of(op: str, params: dict) -> tuple[tuple, tuple]:
    """(kernel, dilation) of a window op; (1, 1) each for the others."""
    if op == "conv2d":
        return tuple(params["weight"].shape[-2:]), pair(params.get("dilation", 1))
    if op in ("max_pool2d", "avg_pool2d", "lp_pool2d"):
        return pair(params["kernel_size"]), pair(params.get("dilation", 1))
    return (1, 1), (1, 1)


def _training(op: str, args, kwargs) -> bool:
    """Whether a batch_norm or dropout call runs in training mode (then it is not per unit)."""
    position = {"batch_norm": 5, "dropout": 2, "dropout2d": 2, "feature_alpha_dropout": 2, "alpha_dropout": 2}
    if op not in position:
        return False
    index = position[op]
    return bool(kwargs.get("training", args[index] if len(args) > index else op != "batch_norm"))


def _tensor_like(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "_version")


class StepRecorder:
    """Records, during one pass, the Call behind each window op's output and the chain of per-unit steps
    after each followed layer's output; chains are keyed by the trace's node index."""

    def __init__(self):
        self._pads: dict[int, tuple] = {}        # id(padded tensor) -> (ref, its source, pad, value)
        self._calls: dict[int, tuple] = {}       # id(op output) -> (ref, ref to the op's input before F.pad, Call)
        self._heads: dict[int, tuple] = {}       # id(tensor) -> (ref, node index): where each chain stands
        self._ends: dict[int, tuple] = {}        # the same, kept after a chain ends: what it produced
        self.after: dict[int, list[After]] = {}
        self.then: dict[int, str] = {}

    def _live(self, table: dict, tensor):
        entry = table.get(id(tensor)) if _tensor_like(tensor) else None
        return entry if entry is not None and entry[0]() is tensor else None

    def call(self, layer_input, output) -> Call | None:
        """The Call that produced `output`, if its op read `layer_input` (perhaps through F.pad): else
        the layer changed its input first and the Call would not reproduce the output from it."""
        entry = self._live(self._calls, output)
        if entry is None or entry[1] is None or entry[1]() is not layer_input:
            return None
        return entry[2]

    def start_chain(self, output, index: int) -> None:
        self._heads[id(output)] = self._ends[id(output)] = (weakref.ref(output), index)
        self.after[index] = []

    def source(self, tensor) -> int | None:
        """The node whose output, after its chain of per-unit steps, is exactly this tensor."""
        found = self._live(self._ends, tensor)
        return None if found is None else found[1]

    def seen(self, op: str, func, args: tuple, kwargs: dict, out) -> None:
        """One torch function call of the pass, `op` its name (explorer.core.trace.op_name)."""
        self._follow(op, func, args, kwargs, out)
        if op in CALL_OPS or op == "pad":
            self._record(op, args, kwargs, out[0] if isinstance(out, tuple) else out)

    def _follow(self, op: str, func, args, kwargs, out) -> None:
        """Extend a chain of per-unit steps by this op, or end it."""
        if not _tensor_like(out) or op in READS:    # .dim(), .size(), a copy: not steps
            return
        if args and out is args[0]:      # in place: what the chain produced is no longer what it holds
            self._ends.pop(id(out), None)
        head = self._live(self._heads, args[0]) if args else None
        if head is not None and (op in PER_UNIT or op in UNCHANGED) and not _training(op, args, kwargs) \
                and out.shape == args[0].shape:
            del self._heads[id(args[0])]
            self._ends.pop(id(args[0]), None)
            if op in PER_UNIT:
                self.after[head[1]].append(After(op, func, tuple(args[1:]), dict(kwargs)))
            self._heads[id(out)] = self._ends[id(out)] = (weakref.ref(out), head[1])
            return
        for value in list(args) + list(kwargs.values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                found = self._live(self._heads, item)
                if found is not None:
                    del self._heads[id(item)]
                    self.then.setdefault(found[1], op)

    def _record(self, op: str, args, kwargs, out) -> None:
        params = op_params(op, args, kwargs)
        if op == "pad":
            pad = list(params.get("pad", ())) + [0, 0, 0, 0]
            if params.get("mode", "constant") == "constant":
                self._pads[id(out)] = (weakref.ref(out), params["input"], tuple(pad[:4]),
                                       float(params.get("value") or 0.0))
            return
        source, extra, value = params.pop("input", None), (0, 0, 0, 0), 0.0
        padded = self._live(self._pads, source)
        if padded is not None:
            source, (left, right, top, bottom), value = padded[1], padded[2], padded[3]
            extra = (top, bottom, left, right)
        own = op_padding(params.get("padding", 0), *_window_of(op, params))
        call = Call(op, params, tuple(a + b for a, b in zip(own, extra)), value)
        self._calls[id(out)] = (weakref.ref(out), weakref.ref(source) if _tensor_like(source) else None, call)
