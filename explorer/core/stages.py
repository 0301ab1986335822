"""Capture every Conv and Pool stage a forward pass runs, with its receptive field on the input: the
Stages tab's view of the trace (explorer.core.trace).

Stages are the calls of nn.Conv2d (and subclasses) and of 2-D pooling modules, in the order they end.
The first pass of a model at one input shape is traced with those modules followed: each stage's
receptive field, the op its layer ran and the per-unit steps after it (its `Geometry`) are read off
the trace's nodes, so residual additions, Inception concatenations and functional ops count exactly.
The geometry is the same for every input of that shape: passed back in (`fields`, which a LoadedModel
keeps per input shape), a later pass only wraps the stage layers' forwards (explorer.core.hooks.wrapped).
A stage that runs twice is named by the trace's rule (explorer.core.trace.call_name): "features.3 (call 2)".
"""
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import torch
from torch import nn

from explorer.core.hooks import wrapped
from explorer.core.receptive_field import INPUT, Field
from explorer.core.shown import shown
from explorer.core.trace import Node, call_name, traced_pass
from explorer.core.unit_steps import After, Call
from explorer.core.words import say

STAGE_TYPES = {
    "conv": (nn.Conv2d,),
    "pool": (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
             nn.LPPool2d, nn.FractionalMaxPool2d),
}


@dataclass(frozen=True)
class Geometry:
    """What a stage's layer does, the same for every input of one shape: its receptive field, its
    call, the per-unit steps after it and the name of the op that ends them (`then`)."""
    field: Field
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
    field: Field                 # receptive field along height (rows) and width (cols)
    input: torch.Tensor | None = None   # (C, H, W), on the CPU: what the layer received, unless `source`
                                        # says how to rebuild it (see layer_input)
    call: Call | None = None     # the op the layer ran, with its arguments
    after: tuple[After, ...] = ()       # per-unit steps before the next stage
    then: str | None = None      # the op that ended them (None: nothing read it, or a stage did)
    copy_input: bool = False     # whether `input` and `activation` had to be copied (see Geometry)
    copy_output: bool = False
    source: int | None = None
    plan: Geometry | None = dataclass_field(default=None, repr=False, compare=False)   # the Geometry it was taken by

    @property
    def geometry(self) -> Geometry:
        plan = self.plan
        if plan is not None and (plan.copy_input, plan.copy_output) == (self.copy_input, self.copy_output):
            return plan       # the pass went as planned: the same Geometry (no new one for every stage)
        return Geometry(self.field, self.call, self.after, self.then, self.copy_input, self.copy_output,
                        self.source)

    @property
    def output_shape(self) -> tuple:
        return tuple(self.activation.shape)

    @property
    def receptive_field(self) -> tuple[int, int]:
        return round(self.field.rows.rf), round(self.field.cols.rf)

    @property
    def jump(self) -> tuple[float, float]:
        return self.field.rows.jump, self.field.cols.jump

    def box(self, i: int, j: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in input pixels of unit (i, j)'s receptive field."""
        top, bottom = self.field.rows.span(i)
        left, right = self.field.cols.span(j)
        return left, top, right + 1, bottom + 1


def stage_kind(module: nn.Module) -> str | None:
    for kind, types in STAGE_TYPES.items():
        if isinstance(module, types):
            return kind
    return None


def stage_index(names: list[str], stage) -> int:
    """A stage given by its index (0-based, in the Stages tab's order; a numeric string counts) or by
    its name -> its index. ValueError, naming `stage` and the allowed range, for anything else."""
    if isinstance(stage, str) and not stage.strip().lstrip("-").isdigit():
        if stage not in names:
            raise ValueError(say("stage: no stage is named {name}; the stages are {first!r} to {last!r} "
                                 "(as the Stages tab lists them), or a number from 0 to {end}",
                                 "stage：没有名为 {name} 的阶段；阶段名从 {first!r} 到 {last!r}（与阶段标签页所列一致），"
                                 "或填 0 到 {end} 的编号", name=shown(stage), first=names[0], last=names[-1],
                                 end=len(names) - 1))
        return names.index(stage)
    try:
        index = int(stage)
        if isinstance(stage, float) and index != stage:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ValueError(say("stage: {stage} is neither a stage number nor a stage name",
                             "stage：{stage} 既不是阶段编号，也不是阶段名", stage=shown(stage))) from None
    if not 0 <= index < len(names):
        raise ValueError(say("stage: {index} does not exist; this model has stages 0 to {end}",
                             "stage：阶段 {index} 不存在；这个模型的阶段是 0 到 {end}", index=index, end=len(names) - 1))
    return index


def stage_layers(module: nn.Module) -> dict[nn.Module, tuple[str, str, str]]:
    """Every stage module of a model -> (its path, its kind, its repr); worth keeping per model."""
    return {m: (name, stage_kind(m), repr(m)) for name, m in module.named_modules() if stage_kind(m)}


def capture_stages(module: nn.Module, x: torch.Tensor, fields: list | None = None,
                   layers: dict | None = None) -> tuple[torch.Tensor, list[Stage]]:
    """Run a module once and keep the output of every Conv and Pool stage it ran, in execution order.

    Args:
        module (torch.nn.Module): Any network (in eval mode for the app's results).
        x (torch.Tensor): Its input, a batch of one (1, C, H, W).
        fields (list, optional): The stages' Geometry (or bare receptive fields) from an earlier pass
            with the same input shape: skips tracing the pass (about a quarter of its cost).
        layers (dict, optional): ``stage_layers(module)``, worth keeping per model.

    Returns:
        tuple[torch.Tensor, list[Stage]]: The module's output, and one Stage per convolution or 2-D
        pooling call (``name``, ``kind``, ``layer``, ``activation`` (C, H, W), ``input_shape``,
        ``output_shape``, ``receptive_field``, ``jump``, ``box(i, j)``).

    Raises:
        Whatever ``module(x)`` raises (e.g. RuntimeError for an input of the wrong shape); no hook nor
        wrapper is left on the module.

    A layer's input and output are kept by reference, not copied (copies cost a third of a pass). The
    traced pass runs outside inference mode and notes their version counters: where the pass changed
    one in place afterwards (an in-place ReLU after a convolution), it is run again copying those, and
    the Geometry it returns says which to copy from then on, also in inference mode (no counters).
    Bare receptive fields carry no such knowledge: then every tensor without a counter is copied."""
    layers = layers or stage_layers(module)
    capture = _Capture(layers, fields)
    if fields is None:       # outside inference mode: version counters show what the pass changes in place
        with torch.inference_mode(False), torch.no_grad():
            output, traced = traced_pass(module, x, follow=layers, on_followed=capture.traced)
        capture.finish(traced.nodes)
    else:
        with wrapped(layers, after=capture.hook):     # a forward hook's work at a fraction of its cost
            output = module(x)
        if len(fields) != len(capture.stages):  # the pass took another path: trace it
            return capture_stages(module, x, None, layers)
    if _changed_later(capture.stages, capture.watched):     # kept tensors were changed in place later
        return capture_stages(module, x, [stage.geometry for stage in capture.stages], layers)
    return output, capture.stages


class _Capture:
    """The stages of one pass, kept as each stage layer's call ends: from forward hooks with geometry
    known from an earlier pass, or from the trace as it follows the stage layers."""

    def __init__(self, layers: dict, fields: list | None):
        self.layers, self.fields = layers, fields
        self.stages: list[Stage] = []
        self.watched: list[tuple[torch.Tensor, int | None, torch.Tensor, int | None]] = []
        self.calls: dict[nn.Module, int] = {}
        self.stage_of: dict[int, int] = {}       # trace node index -> stage index

    def hook(self, layer, inputs, output) -> None:
        index = len(self.stages)
        item = self.fields[index] if index < len(self.fields) else None
        if item is None:
            self._keep(layer, inputs, output, Geometry(INPUT), known=False)
        else:     # only a Geometry's copy flags come from a pass that watched versions
            self._keep(layer, inputs, output, item if isinstance(item, Geometry) else Geometry(item),
                       known=isinstance(item, Geometry))

    def traced(self, layer, inputs, output, node: Node) -> None:
        self.stage_of[node.index] = len(self.stages)
        geometry = Geometry(node.field, node.op_call, source=self.stage_of.get(node.source))
        self._keep(layer, inputs, output, geometry, known=False)

    def _keep(self, layer, inputs, output, geometry: Geometry, known: bool) -> None:
        """Runs once per stage and pass (50 times in EfficientNet-Lite0's): kept lean, a stage sweep being
        live work (explorer.ui.stages_live)."""
        path, kind, text = self.layers[layer]
        calls = self.calls[layer] = self.calls.get(layer, 0) + 1
        layer_input = inputs[0]
        in_version, out_version = _version(layer_input), _version(output)
        derived = geometry.source is not None       # rebuilt from an earlier stage: nothing to keep
        copy_in = geometry.copy_input if known else in_version is None
        copy_out = geometry.copy_output if known else out_version is None
        self.watched.append((layer_input, None if copy_in or derived else in_version, output,
                             None if copy_out else out_version))
        self.stages.append(Stage(
            name=call_name(path, calls), kind=kind, layer=text,
            activation=_kept(output[0], copy_out), input_shape=tuple(layer_input.shape)[1:], field=geometry.field,
            input=None if derived else _kept(layer_input[0], copy_in), call=geometry.call, after=geometry.after,
            then=geometry.then, copy_input=geometry.copy_input, copy_output=geometry.copy_output,
            source=geometry.source, plan=geometry if known else None))

    def finish(self, nodes: list[Node]) -> None:
        """The per-unit steps after each stage, complete only once the traced pass has ended."""
        for index, stage_index in self.stage_of.items():
            self.stages[stage_index].after, self.stages[stage_index].then = nodes[index].after, nodes[index].then


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
    if tensor.requires_grad:          # (checked first: detach and .device cost more than the checks)
        tensor = tensor.detach()
    if not tensor.is_cpu:
        return tensor.cpu()
    return tensor.clone() if copy else tensor


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
