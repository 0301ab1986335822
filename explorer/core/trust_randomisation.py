"""Cascading model randomisation (Adebayo et al., 2018): the same map on copies of the model whose layers
are re-initialised from the top down, one more at each step, and the rank correlation of each randomised
map with the real one. A map that explains the model changes once what the model learned is gone; one
that barely changes (high rank correlation) shows the picture, not the model.

One copy of the model is kept with it (explorer.core.models.companion); each step sets its top layers to
seeded random values and the others back to the trained ones, under the copy's lock, so the shared model
is never touched and a step's random weights are the same every time.
"""
import copy
import threading
import zlib
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from explorer.core.attribution import attribute_input, signed
from explorer.core.loaded_model import LoadedModel
from explorer.core.recent import Recent, fingerprint, module_key
from explorer.core.state import STORES
from explorer.core.words import say

CASCADE = (1, 2, 3)        # top Conv/Linear layers re-initialised at each step (each with the norm layers after it)
RANDOMISED_LAYERS = CASCADE[-1]
SEED = 0


def top_layers(module: nn.Module, count: int = RANDOMISED_LAYERS) -> list[str]:
    """Names of the modules re-initialised: the last `count` Conv/Linear layers and every module with
    parameters registered after the first of them (their norm layers)."""
    named = list(module.named_modules())
    weighted = [i for i, (_, m) in enumerate(named) if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not weighted:
        return []
    first = weighted[-min(count, len(weighted))]
    return [name for name, m in named[first:] if hasattr(m, "reset_parameters") and
            any(True for _ in m.parameters(recurse=False))]


def _randomise(layer: nn.Module, name: str, seed: int) -> None:
    """The layer's own initialisation, from a seed of its own: the same random weights every time."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + zlib.crc32(name.encode()))
        layer.reset_parameters()
        if hasattr(layer, "reset_running_stats"):
            layer.reset_running_stats()


def randomised_copy(model: LoadedModel, count: int = RANDOMISED_LAYERS, seed: int = SEED) -> LoadedModel:
    """A deep copy of the model with its top `count` layers re-initialised; the shared module is not touched."""
    with model.lock:       # a copy taken while hooks are attached would keep them
        module = copy.deepcopy(model.module)
    for name in top_layers(module, count):
        _randomise(module.get_submodule(name), name, seed)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.eval()
    return replace(model, module=module, pretrained=False, lock=threading.RLock())


def shared_randomised_copy(model: LoadedModel) -> tuple[LoadedModel, list[str]]:
    """The randomised copy of a shared model, made once per loaded model, and the layers the cascade
    re-initialises. It is kept with the model (explorer.core.models.companion): it counts against the
    model budget and goes when the model is evicted."""
    from explorer.core.models import companion

    return companion(model, "randomised copy", lambda: (randomised_copy(model), top_layers(model.module)))


def set_step(model: LoadedModel, randomised: LoadedModel, count: int, seed: int = SEED) -> list[str]:
    """The copy with its top `count` layers random and the cascade's other layers trained again (call under
    the copy's lock); the layers now random."""
    random = top_layers(randomised.module, count)
    for name in top_layers(randomised.module, RANDOMISED_LAYERS):
        layer = randomised.module.get_submodule(name)
        if name in random:
            _randomise(layer, name, seed)
        else:
            layer.load_state_dict(model.module.get_submodule(name).state_dict())
    return random


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties get their average rank); 0 when either map is constant."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    if ra.size != rb.size:
        raise ValueError(say("rank correlation: maps of {a} and {b} values", "rank correlation：两张图的值个数不同"
                             "（{a} 和 {b}）", a=ra.size, b=rb.size))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts
    return (starts + (counts - 1) / 2.0)[inverse.ravel()]


@dataclass
class Step:
    """One step of the cascade: the layers random at it, its map, and its rank correlation with the real
    map (None where its map is empty: nothing of the real map survives)."""
    layers: list[str]
    random_map: np.ndarray       # signed, at the model's input
    correlation: float | None


RANDOMISED_MAPS = STORES.register("trust.randomised_maps", Recent(max_entries=64), "the randomised model's maps")


def _step_map(model: LoadedModel, x: torch.Tensor, result, count: int, progress) -> tuple[list[str], np.ndarray]:
    randomised, _ = shared_randomised_copy(model)
    layer = {"layer": result.layer} if result.layer else {}
    key = (model.name, module_key(model.module), model.pretrained, fingerprint(x), result.method, result.target,
           result.layer, repr(sorted(result.options.items())), count)

    def compute():
        with randomised.lock:
            layers = set_step(model, randomised, count)
            heat = attribute_input(randomised, x, result.method, result.target, progress=progress,
                                   **result.options, **layer).input_map
        return layers, heat
    return RANDOMISED_MAPS.get_or_compute(key, compute)


def cascade(model: LoadedModel, x: torch.Tensor, result, sign: str, counts=CASCADE, progress=None,
            blank=None) -> list[Step]:
    """Each step of the cascade for the map `result` (an Attribution): the same method, class and options
    on the copy with its top `count` layers random. `blank(heat)` says why a map is empty (None: it is
    not); an empty randomised map has no correlation."""
    shown = signed(result.input_map, sign)
    steps = []
    for i, count in enumerate(counts):
        report = None if progress is None else (lambda f, i=i: progress((i + f) / len(counts)))
        layers, heat = _step_map(model, x, result, count, report)
        empty = blank is not None and blank(heat) is not None
        steps.append(Step(layers, heat, None if empty else rank_correlation(shown, signed(heat, sign))))
    return steps
