"""How far to trust an attribution map: two checks the usual tools do not show.

- Deletion curve: remove the pixels the map ranks highest first, in steps, and watch the target's
  probability; compare with removing pixels in several random orders. A map that explains the model makes
  the probability fall sooner: a smaller area under the curve than every random order's.
- Model-randomisation test (Adebayo et al., 2018): compute the same map on a copy of the model whose top
  layers are re-initialised. A map that barely changes (high rank correlation) does not depend on what the
  model learned, so it is not explaining the model.

`trust_check` runs both and gives the verdicts in words, or "not measurable" with the reason where the
checks cannot tell: a map that is zero or constant ranks nothing, and a class that is next to impossible
on the intact picture has no fall to measure.
"""
import copy
import math
import threading
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from explorer.core.attribution import attribute_input, method_title, signed
from explorer.core.loaded_model import LoadedModel
from explorer.core.recent import Recent, fingerprint
from explorer.core.state import STORES

DELETION_STEPS = 12
RANDOM_ORDERS = 6          # random orders the map's deletion curve is compared with
# pictures a check runs through the model besides the randomised map: the map's and the random orders'
# deletion curves and the intact picture (what sizes its GPU slot: explorer.core.gpu)
CHECK_PASSES = (RANDOM_ORDERS + 1) * DELETION_STEPS + 1
DELETION_CHUNK = 16        # pictures per forward pass in the deletion batch (bounded memory)
PATCHES_PER_SIDE = 14
RANDOMISED_LAYERS = 3       # the top Conv/Linear layers re-initialised (and every norm layer after them)
SEED = 0


@dataclass
class DeletionCurve:
    fractions: np.ndarray        # share of patches removed at each step, 0 .. 1
    by_map: np.ndarray           # target probability, most-attributed pixels removed first
    by_random_orders: np.ndarray  # (orders, steps + 1): the same, pixels removed in several random orders

    @property
    def by_random(self) -> np.ndarray:
        """The random orders' mean curve."""
        return self.by_random_orders.mean(axis=0)

    @property
    def auc_map(self) -> float:
        """Area under the map's curve (0 .. 1; smaller = faster fall)."""
        return _auc(self.fractions, self.by_map)

    @property
    def auc_random_orders(self) -> np.ndarray:
        return np.array([_auc(self.fractions, curve) for curve in self.by_random_orders])

    @property
    def auc_random(self) -> float:
        """The random orders' mean area."""
        return float(self.auc_random_orders.mean())

    @property
    def random_sd(self) -> float:
        """Standard deviation of the random orders' areas (0 with a single order)."""
        areas = self.auc_random_orders
        return float(areas.std(ddof=1)) if areas.size > 1 else 0.0

    @property
    def sd_below_random(self) -> float:
        """How many of the random orders' standard deviations the map's area lies below their mean
        (negative: above it; inf when they do not spread at all and the map is below)."""
        gap = self.auc_random - self.auc_map
        if self.random_sd > 0:
            return gap / self.random_sd
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)


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


def map_order(scores: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Patch indices, highest score first. Patches the map scores equally (the zeros of a ReLU'd
    Grad-CAM, say) tell nothing about order: they follow in a seeded random order, not row by row."""
    flat = scores.ravel()
    tie_break = np.random.default_rng(seed + 1).permutation(flat.size)
    return np.lexsort((tie_break, -flat))


def random_orders(count: int, size: int, seed: int = SEED) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(size) for _ in range(count)]


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


def class_probabilities(model: LoadedModel, batch: torch.Tensor, target: int) -> np.ndarray:
    """softmax(model(batch))[:, target], run in chunks of DELETION_CHUNK pictures (bounded memory)."""
    out = []
    with model.lock, torch.inference_mode():
        for chunk in torch.split(batch, DELETION_CHUNK):
            out.append(torch.softmax(model.module(chunk).float(), dim=-1)[:, target].cpu().numpy())
    return np.concatenate(out)


# The random orders' curves depend on the picture, the class and the seed, not on the map: every method
# explained on one picture (the tab shows several side by side) shares them.
RANDOM_CURVES = STORES.register("trust.random_curves", Recent(), "deletion curves of random orders")


def _random_key(model: LoadedModel, x: torch.Tensor, target: int, steps: int, orders: int, seed: int) -> tuple:
    # the module itself too: two models of one name (a test's toys, an untrained stand-in) never share curves
    return model.name, id(model.module), model.pretrained, fingerprint(x), target, steps, orders, seed


def deletion_curve(model: LoadedModel, x: torch.Tensor, heat: np.ndarray, target: int,
                   steps: int = DELETION_STEPS, seed: int = SEED, orders: int = RANDOM_ORDERS) -> DeletionCurve:
    """Deletion curve of an (h, w) map (higher = more important) on the model's input x (1, C, h, w), and
    those of `orders` random orders. Pixels are removed in square patches (scattered single pixels would
    act as noise and fool every order); removed pixels get the value 0 of the normalised input (the
    training set's mean colour, the baseline Integrated Gradients uses too). All orders' inputs run as one
    batch (in chunks): steps + 1 for the map, steps - 1 for each random order, or only steps - 1 where the
    random orders' curves for this picture and class are already known."""
    shape = tuple(x.shape[-2:])
    if tuple(heat.shape) != shape:
        raise ValueError(f"deletion: the map is {tuple(heat.shape)}, the input {shape}")
    if not 2 <= steps <= 100:
        raise ValueError(f"deletion: steps must be from 2 to 100, not {steps}")
    if not 2 <= orders <= 64:
        raise ValueError(f"deletion: random orders must be from 2 to 64, not {orders}")
    patch = patch_grid(shape)
    scores = patch_scores(np.asarray(heat, np.float64), patch)
    random_key = _random_key(model, x, target, steps, orders, seed)
    known_random = RANDOM_CURVES.get(random_key)
    # Every order starts from the whole picture and ends with every patch removed: those two inputs are
    # the same for every order, so they run once, with the map's order.
    masks = deletion_masks(map_order(scores, seed), scores.shape, patch, shape, steps)
    if known_random is None:
        masks = torch.cat([masks] + [deletion_masks(order, scores.shape, patch, shape, steps)[1:steps]
                                     for order in random_orders(orders, scores.size, seed)])
    else:
        masks = masks[1:steps]
    probabilities = class_probabilities(model, x.detach() * masks[:, None].to(x.device, x.dtype), target)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    if known_random is None:
        curve_map = probabilities[:steps + 1]
        inner = probabilities[steps + 1:].reshape(orders, steps - 1)
        ends = np.broadcast_to(curve_map[[0, -1]], (orders, 2))
        curves_random = np.concatenate([ends[:, :1], inner, ends[:, 1:]], axis=1)
        RANDOM_CURVES.put(random_key, curves_random)
    else:
        curves_random = known_random
        curve_map = np.concatenate([known_random[0, :1], probabilities, known_random[0, -1:]])
    return DeletionCurve(fractions, curve_map, curves_random)


def intact_probability(model: LoadedModel, x: torch.Tensor, target: int, steps: int = DELETION_STEPS,
                       seed: int = SEED, orders: int = RANDOM_ORDERS) -> float:
    """The class's probability on the whole picture (read from the random curves when they are known)."""
    known_random = RANDOM_CURVES.get(_random_key(model, x, target, steps, orders, seed))
    if known_random is not None:
        return float(known_random[0, 0])
    return float(class_probabilities(model, x.detach(), target)[0])


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
    It is kept with the model (explorer.core.models.companion): it counts against the model budget and goes
    when the model is evicted."""
    from explorer.core.models import companion

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


# ----------------------------------------------------------------------------------------------------
# The verdicts, in words

MIN_PROBABILITY = 0.01      # below this on the intact picture, a class's fall is too small to measure
FASTER_SD = 2.0             # "faster than random": below every random order, this many sd below their mean
FASTER_SHARE = 0.9          # and at most this share of their mean area (a fall that matters, not only one that shows)
CHANGES_BELOW = 0.5         # "the map changes": rank correlation with the randomised model's map below this
NOT_MEASURABLE = "not measurable"

_WHY_ZERO = {
    "saliency": "the class score's gradient is zero at every pixel",
    "integrated_gradients": "the gradients along the path from the grey picture add up to zero at every pixel",
    "smoothgrad": "the gradient is zero at every pixel of every noisy copy",
    "gradcam": "the gradient-weighted sum of layer {layer}'s channels is zero or negative at every position, "
               "and Grad-CAM keeps only its positive part",
    "guided_gradcam": "its Grad-CAM factor (the gradient-weighted sum of layer {layer}'s channels) is zero or "
                      "negative at every position, and Grad-CAM keeps only its positive part",
    "occlusion": "greying out any window leaves the class score where it was",
}
_PART = {"positive": "no part for the class (no pixel raises its score)",
         "negative": "no part against the class (no pixel lowers its score)"}


def blank_map(method: str, heat: np.ndarray, sign: str = "absolute", layer: str | None = None) -> str | None:
    """Why the part `sign` of a map cannot rank pixels, in words ("Grad-CAM is zero everywhere for this
    class on this picture: ..."), or None when it can. `heat` is the signed map as computed."""
    title, shown = method_title(method), signed(np.asarray(heat), sign)
    if not np.any(heat):
        why = _WHY_ZERO.get(method, "").format(layer=layer or "the chosen layer")
        return f"{title} is zero everywhere for this class on this picture" + (f": {why}" if why else "")
    if not np.any(shown):
        return f"{title} has {_PART[sign]} for this class on this picture: choose another sign shown"
    if np.ptp(shown) <= 1e-6 * np.max(np.abs(shown)):
        return f"{title} has the same value at every pixel for this class on this picture"
    return None


@dataclass
class Check:
    """One check's outcome: passed is None when it could not be measured (verdict "not measurable")."""
    measurable: bool
    passed: bool | None
    verdict: str
    reason: str

    def as_dict(self) -> dict:
        return {"measurable": self.measurable, "passed": self.passed, "verdict": self.verdict, "reason": self.reason}


def _not_measurable(reason: str) -> Check:
    return Check(False, None, NOT_MEASURABLE, reason)


def _percent(p: float) -> str:
    return f"{p:.2%}" if p >= 1e-4 else f"{p * 100:.0e}%"


def judge_deletion(curve: DeletionCurve) -> Check:
    """Faster than random when the map's area is below every random order's, FASTER_SD of their standard
    deviations below their mean and at most FASTER_SHARE of it; the reason says where it lies against
    their spread."""
    areas = curve.auc_random_orders
    spread = (f"{areas.size} random orders (areas {areas.min():.3f} to {areas.max():.3f}, "
              f"mean {areas.mean():.3f} ± {curve.random_sd:.3f})")
    below = curve.sd_below_random
    distance = ("no spread at all" if math.isinf(below) else
                f"{abs(below):.1f} sd {'below' if below >= 0 else 'above'} their mean")
    if curve.auc_map < areas.min() and below >= FASTER_SD and curve.auc_map <= FASTER_SHARE * areas.mean():
        return Check(True, True, "falls faster than random",
                     f"area {curve.auc_map:.3f}, below all {spread}: {distance}, "
                     f"{1 - curve.auc_map / areas.mean():.0%} smaller")
    place = ("below all" if curve.auc_map < areas.min() else
             "above all" if curve.auc_map > areas.max() else "within the spread of")
    return Check(True, False, "no faster than random",
                 f"area {curve.auc_map:.3f}, {place} {spread}: {distance}; faster than random needs below all "
                 f"of them, at least {FASTER_SD:g} sd below their mean and {1 - FASTER_SHARE:.0%} smaller")


def judge_randomisation(correlation: float | None, random_blank: str | None) -> Check:
    if random_blank is not None:
        return Check(True, True, "the map changes",
                     "the randomised model's map is empty, so nothing of the map survives without the learned "
                     "weights")
    if correlation < CHANGES_BELOW:
        return Check(True, True, "the map changes",
                     f"rank correlation {correlation:.2f} with the randomised model's map, below "
                     f"{CHANGES_BELOW:g}: the map depends on what the model learned")
    return Check(True, False, "barely changes",
                 f"rank correlation {correlation:.2f} with the randomised model's map, {CHANGES_BELOW:g} or more: "
                 "with random weights in the top layers the map stays much the same; it may show the picture, "
                 "not the model")


@dataclass
class TrustCheck:
    """How far to trust one map. measurable / verdict / reason sum up the two checks: "passes both
    checks", "fails ...", or "not measurable" (with the reason in words) when either cannot be measured."""
    method: str
    target: int
    label: str
    sign: str
    probability: float               # the class's probability on the intact picture
    deletion: Check
    randomisation: Check
    curve: DeletionCurve | None      # None when the map cannot rank the patches
    correlation: float | None        # Spearman's rho with the randomised model's map; None: not measurable
    blank: str | None = None         # why the map is empty or constant, in words; None when it is not

    @property
    def measurable(self) -> bool:
        return self.deletion.measurable and self.randomisation.measurable

    @property
    def verdict(self) -> str:
        if not self.measurable:
            return NOT_MEASURABLE
        failed = [name for name, check in (("deletion", self.deletion), ("randomisation", self.randomisation))
                  if not check.passed]
        return "passes both checks" if not failed else f"fails the {' and the '.join(failed)} check"

    @property
    def reason(self) -> str:
        if self.blank is not None:
            return f"{self.blank}; a map that ranks no pixel above another cannot be checked."
        return (f"Deletion: {self.deletion.verdict}, {self.deletion.reason}. "
                f"Randomisation: {self.randomisation.verdict}, {self.randomisation.reason}.")

    def as_dict(self) -> dict:
        """The verdicts and reasons in words, and the figures (JSON-ready)."""
        return {"measurable": self.measurable, "verdict": self.verdict, "reason": self.reason,
                "probability": self.probability, "deletion": self.deletion.as_dict(),
                "randomisation": self.randomisation.as_dict()}


RANDOMISED_MAPS = STORES.register("trust.randomised_maps", Recent(max_entries=64), "the randomised model's maps")


def randomised_map(model: LoadedModel, x: torch.Tensor, result, progress=None) -> np.ndarray:
    """The same method, class and options on the model's copy with its top layers re-initialised (kept:
    it does not depend on the sign shown)."""
    layer = {"layer": result.layer} if result.layer else {}
    key = (model.name, id(model.module), model.pretrained, fingerprint(x), result.method, result.target,
           result.layer, repr(sorted(result.options.items())))

    def compute():
        copy, _ = shared_randomised_copy(model)
        return attribute_input(copy, x, result.method, result.target, progress=progress, **result.options,
                               **layer).input_map
    return RANDOMISED_MAPS.get_or_compute(key, compute)


def trust_check(model: LoadedModel, picture, method: str, target=None, *, sign: str = "absolute",
                attribution=None, progress=None, **options) -> TrustCheck:
    """How far to trust an attribution map: a deletion curve and a model-randomisation test.

    Deletion: the picture's patches are greyed out, most-attributed first, and the class's probability
    is compared with random orders. Randomisation: the same method on a copy of the model whose top
    layers are re-initialised (the shared model is never changed); Spearman's rank correlation of the
    two maps.

    Args:
        model (LoadedModel): From `get_model` or `load_model`.
        picture: A picture (anything `load_image` takes), a path, or the model's input tensor.
        method (str): A key of ``explorer.METHODS``.
        target: The class: an index, a class name, or None (default) for the top-1 prediction.
        sign (str): The part of the map judged: ``"absolute"`` (default), ``"positive"`` or ``"negative"``.
        attribution (Attribution, optional): The map already computed for this picture (from `explain`);
            it is not computed again.
        progress (callable, optional): Given the fraction done before each pass; may raise ``Cancelled``.
        **options: The method's own options (see `explain`).

    Returns:
        TrustCheck: ``measurable``, ``verdict`` (``"passes both checks"``, ``"fails the deletion
        check"``..., or ``"not measurable"``) and ``reason`` in words; ``deletion`` and
        ``randomisation`` (each with its verdict and reason), ``curve`` (the deletion curves and their
        areas) and ``correlation`` (None where not measurable); ``as_dict()`` for JSON.

    Raises:
        ValueError: an unknown sign, method, option or class, or a request over the machine's budget.
        Cancelled: raised by ``progress`` to stop.
    """
    signed(np.zeros(1), sign)           # an unknown sign is refused before any work
    x = picture if isinstance(picture, torch.Tensor) else model.preprocess(picture)
    result = attribution or attribute_input(model, x, method, target, **options)
    shown = signed(result.input_map, sign)
    probability = intact_probability(model, x, result.target)
    label = result.label
    blank = blank_map(result.method, result.input_map, sign, result.layer)
    if blank is not None:
        return TrustCheck(result.method, result.target, label, sign, probability,
                          _not_measurable(f"{blank}: it ranks no patch above another, so its order of removal "
                                          "would be arbitrary"),
                          _not_measurable(f"{blank}: the rank correlation of a map without ranks means nothing"),
                          None, None, blank)
    random_map = randomised_map(model, x, result, progress)
    random_blank = blank_map(result.method, random_map, sign, result.layer)
    correlation = None if random_blank else rank_correlation(shown, signed(random_map, sign))
    randomisation = judge_randomisation(correlation, random_blank)
    if probability < MIN_PROBABILITY:
        deletion = _not_measurable(
            f"“{label}” has probability {_percent(probability)} on the intact picture, too small for its fall to "
            f"be measured: the deletion check needs at least {MIN_PROBABILITY:.0%}")
        return TrustCheck(result.method, result.target, label, sign, probability, deletion, randomisation,
                          None, correlation)
    curve = deletion_curve(model, x, shown, result.target)
    return TrustCheck(result.method, result.target, label, sign, probability, judge_deletion(curve),
                      randomisation, curve, correlation)
