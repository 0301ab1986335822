"""The model's side of a feature drawing (explorer.core.features): the input it reads, and its stages in
the Stages tab's order with the multiply-accumulates a pass runs up to each, read off one trace."""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch

from explorer.core.digits import SketchTransform
from explorer.core.loaded_model import LoadedModel
from explorer.core.registry import PhotoTransform
from explorer.core.stages import stage_layers
from explorer.core.state import STORES
from explorer.core.trace import Trace, probe_input, traced_pass
from explorer.core.words import say


@dataclass(frozen=True)
class StageRef:
    """Where a stage lives in the module: its name as the Stages tab lists it, its module's path, which
    call of that module it is (1 unless the module runs more than once per pass), its kind, its channels
    and `macs`, the multiply-accumulates a pass runs up to and including this stage at the input size,
    as the trace counts them (FlopCounterMode: convolutions, linear layers, matrix products). Name, call
    and MACs are read off the one trace (explorer.core.trace). (A path, not the module: the per-module
    cache must not keep its own key alive.)"""
    name: str
    path: str
    call: int
    kind: str
    channels: int
    macs: int


# module -> (list[StageRef], the whole pass's MACs)
_STAGES = STORES.register("features.stages", weakref.WeakKeyDictionary(),
                          "each model's stages and MACs for feature drawings")


def input_shape(model: LoadedModel) -> tuple[int, int, int]:
    """(C, H, W) of what the model reads: 3 x crop x crop for photo models, 1 x 28 x 28 for digits."""
    if isinstance(model.transform, PhotoTransform):
        return 3, model.transform.crop, model.transform.crop
    if isinstance(model.transform, SketchTransform):
        return model.transform.input_size
    raise ValueError(say("model: {name} has no known input geometry to draw a picture for",
                         "model：不知道 {name} 的输入尺寸，无法为它画图", name=model.name))


def stages_of(model: LoadedModel) -> list[StageRef]:
    """The model's stages in the Stages tab's order and with its names ("name (call 2)" for a module's
    second call), read off one traced pass of a probe image; kept per module."""
    return _stages(model)[0]


def _stages(model: LoadedModel) -> tuple[list[StageRef], int]:
    """(stages_of, the multiply-accumulates of the whole pass): a view of the one trace
    (explorer.core.trace) of a probe image with the Stages tab's layers followed and MACs counted, so
    names ("path (call n)"), calls and MACs are the trace's; traced once per module, then kept."""
    with model.lock:
        if model.module in _STAGES:
            return _STAGES[model.module]
        layers = stage_layers(model.module)
        kinds = {path: kind for path, kind, _ in layers.values()}
        with torch.inference_mode(False), torch.no_grad():     # the trace reads version counters
            _, traced = traced_pass(model.module, probe_input(model.module, input_shape(model)), follow=layers,
                                    count_macs=True)
        so_far = _macs_so_far(traced)
        found = [StageRef(node.name, node.path, node.call_number, kinds[node.path], int(node.output_shape[1]),
                          so_far[node.index]) for node in (traced.nodes[i] for i in traced.followed)]
        _STAGES[model.module] = found, traced.macs
        return _STAGES[model.module]


def _macs_so_far(traced: Trace) -> dict[int, int]:
    """Node index -> the multiply-accumulates the pass has run when that node's call ends, from the
    trace's per-node MACs: those of the units before it, and of itself (a unit) or, for a followed layer
    inside a unit, of the followed layers run so far in that unit. A module's MACs (the trace gives all
    its calls to the first) are shared equally among its calls. MACs of functional calls outside any
    unit are not in any node: they count in the whole pass's total only."""
    per_call = {(n.path, n.type): n.macs / max(traced.module_calls.get(n.path, 1), 1)
                for n in traced.nodes if n.kind == "module" and n.first_call}
    done = unit = inside = 0.0
    so_far = {}
    for node in traced.nodes[1:]:
        macs = per_call.get((node.path, node.type), 0.0) if node.kind == "module" else 0.0
        if node.nested:
            inside += macs
            so_far[node.index] = round(done + inside)
        else:
            done, unit, inside = done + unit, macs, 0.0
            so_far[node.index] = round(done + unit)
    return so_far
