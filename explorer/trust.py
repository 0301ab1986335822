"""How far to trust an attribution map: two checks the usual tools do not show.

- Deletion curve: remove the pixels the map ranks highest first, in steps, and watch the target's
  probability; compare with removing pixels in a random order. A map that explains the model makes the
  probability fall sooner: a smaller area under the curve than random.
- Model-randomisation test (Adebayo et al., 2018): compute the same map on a copy of the model whose top
  layers are re-initialised. A map that barely changes (high rank correlation) does not depend on what the
  model learned, so it is not explaining the model.
"""
import copy
import threading
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from explorer.attribution import attribute_input, signed
from explorer.models import LoadedModel
from explorer.recent import Recent, fingerprint

DELETION_STEPS = 12
PATCHES_PER_SIDE = 14
RANDOMISED_LAYERS = 3       # the top Conv/Linear layers re-initialised (and every norm layer after them)
SEED = 0


@dataclass
class DeletionCurve:
    fractions: np.ndarray        # share of patches removed at each step, 0 .. 1
    by_map: np.ndarray           # target probability, most-attributed pixels removed first
    by_random: np.ndarray        # the same, pixels removed in a random order
    auc_map: float               # areas under the curves (0 .. 1; smaller = faster fall)
    auc_random: float


def _auc(fractions: np.ndarray, values: np.ndarray) -> float:
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(fractions)))


def patch_grid(shape: tuple[int, int]) -> int:
    """Side of the square patches removed together: about 1/14 of the shorter side (16 px at 224)."""
    return max(1, round(min(shape) / PATCHES_PER_SIDE))


def patch_scores(heat: np.ndarray, patch: int) -> np.ndarray:
    """Mean of the map over each patch (edge patches may be smaller)."""
    h, w = heat.shape
    rows, cols = -(-h // patch), -(-w // patch)
    padded = np.full((rows * patch, cols * patch), np.nan)
    padded[:h, :w] = heat
    return np.nanmean(padded.reshape(rows, patch, cols, patch), axis=(1, 3))


def deletion_masks(order: np.ndarray, grid: tuple[int, int], patch: int, shape: tuple[int, int],
                   steps: int) -> torch.Tensor:
    """(steps + 1, h, w) masks, 1 = kept: mask k has the first round(k/steps * n) patches of `order` removed."""
    n = order.size
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    counts = np.round(np.linspace(0, n, steps + 1)).astype(np.int64)
    keep = (rank[None, :] >= counts[:, None]).reshape(steps + 1, *grid)
    keep = keep.repeat(patch, axis=1).repeat(patch, axis=2)[:, :shape[0], :shape[1]]
    return torch.from_numpy(np.ascontiguousarray(keep))


# The random-order curve depends on the picture, the class and the seed, not on the map: every method
# explained on one picture (the tab shows several side by side) shares it.
RANDOM_CURVES = Recent()


def deletion_curve(model: LoadedModel, x: torch.Tensor, heat: np.ndarray, target: int,
                   steps: int = DELETION_STEPS, seed: int = SEED) -> DeletionCurve:
    """Deletion curve of an (h, w) map (higher = more important) on the model's input x (1, C, h, w).
    Pixels are removed in square patches (scattered single pixels would act as noise and fool both
    orders); removed pixels get the value 0 of the normalised input (the training set's mean colour, the
    baseline Integrated Gradients uses too). The forward passes run as one batch: 2 * steps, or steps - 1
    where the random order's curve for this picture and class is already known."""
    shape = tuple(x.shape[-2:])
    if tuple(heat.shape) != shape:
        raise ValueError(f"deletion: the map is {tuple(heat.shape)}, the input {shape}")
    if not 2 <= steps <= 100:
        raise ValueError(f"deletion: steps must be from 2 to 100, not {steps}")
    patch = patch_grid(shape)
    scores = patch_scores(np.asarray(heat, np.float64), patch)
    flat = scores.ravel()
    by_map = np.argsort(-flat, kind="stable")
    random_key = (model.name, model.pretrained, fingerprint(x), target, steps, seed)
    known_random = RANDOM_CURVES.get(random_key)
    # Both orders start from the whole picture and end with every patch removed: those two inputs are the
    # same for every order, so they run once, with the map's order.
    masks = deletion_masks(by_map, scores.shape, patch, shape, steps)
    if known_random is None:
        random_order = np.random.default_rng(seed).permutation(flat.size)
        masks = torch.cat([masks, deletion_masks(random_order, scores.shape, patch, shape, steps)[1:steps]])
    else:
        masks = masks[1:steps]
    batch = x.detach() * masks[:, None].to(x.device, x.dtype)
    with model.lock, torch.inference_mode():
        probabilities = torch.softmax(model.module(batch).float(), dim=-1)[:, target].cpu().numpy()
    fractions = np.linspace(0.0, 1.0, steps + 1)
    if known_random is None:
        curve_map = probabilities[:steps + 1]
        curve_random = np.concatenate([curve_map[:1], probabilities[steps + 1:], curve_map[-1:]])
        RANDOM_CURVES.put(random_key, curve_random)
    else:
        curve_map = np.concatenate([known_random[:1], probabilities, known_random[-1:]])
        curve_random = known_random
    return DeletionCurve(fractions, curve_map, curve_random, _auc(fractions, curve_map),
                         _auc(fractions, curve_random))


# ----------------------------------------------------------------------------------------------------
# Model randomisation

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


def randomised_copy(model: LoadedModel, count: int = RANDOMISED_LAYERS, seed: int = SEED) -> LoadedModel:
    """A deep copy of the model with its top layers re-initialised; the shared module is not touched."""
    with model.lock:       # a copy taken while hooks are attached would keep them
        module = copy.deepcopy(model.module)
    names = top_layers(module, count)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in names:
            layer = module.get_submodule(name)
            layer.reset_parameters()
            if hasattr(layer, "reset_running_stats"):
                layer.reset_running_stats()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.eval()
    return replace(model, module=module, pretrained=False, lock=threading.RLock())


def shared_randomised_copy(model: LoadedModel) -> tuple[LoadedModel, list[str]]:
    """The randomised copy of a shared model, made once per loaded model, and the layers re-initialised.
    It is kept with the model (explorer.models.companion): it counts against the model budget and goes
    when the model is evicted."""
    from explorer.models import companion

    return companion(model, "randomised copy", lambda: (randomised_copy(model), top_layers(model.module)))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties get their average rank); 0 when either map is constant."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    if ra.size != rb.size:
        raise ValueError(f"rank correlation: maps of {ra.size} and {rb.size} values")
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts
    return (starts + (counts - 1) / 2.0)[inverse.ravel()]


@dataclass
class Randomisation:
    correlation: float           # Spearman's rho between the map and the randomised model's map
    random_map: np.ndarray       # the randomised model's map (signed, at the model's input)
    layers: list[str]            # the re-initialised modules


def randomisation_test(model: LoadedModel, x: torch.Tensor, method: str, target: int, heat: np.ndarray,
                       sign: str = "absolute", **options) -> Randomisation:
    """The same method, same target and options, on the randomised copy; rank correlation of the
    two maps after `sign` (the part of the map shown)."""
    randomised, layers = shared_randomised_copy(model)
    result = attribute_input(randomised, x, method, target, **options)
    rho = rank_correlation(signed(heat, sign), signed(result.input_map, sign))
    return Randomisation(rho, result.input_map, layers)
