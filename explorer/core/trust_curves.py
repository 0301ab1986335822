"""Deletion and insertion curves, measured against many random orders (explorer.core.trust judges them).

The picture (the model's input) is cut into square patches. A *deletion* curve replaces the patches the
map ranks highest first and follows the class's probability as they go; an *insertion* curve starts from
the picture blurred all over and puts the real patches back, highest first. Either is compared with the
same curve for many random orders of the patches: a map that points at what the model uses makes the
probability fall (deletion) or come back (insertion) sooner than most random orders.

Three replacements for a removed patch, each with its own random orders. JUDGED is the one the deletion
verdict uses; a trust check measures the replacements in CHECKED (the judged one and the blur, whose random
orders the insertion needs anyway, so its deletion comes for the price of its 8 own pictures); the
calibration benchmark measures all three, which is how JUDGED was chosen:
- "impute": filled from its surroundings (explorer.core.trust_impute: ROAD's noisy linear imputation,
  batched). A removed object is filled with the background around it, so its colours go too, while a
  scattered random patch is filled from the picture around it.
- "blur": the same patch from a strongly blurred copy of the picture. It keeps the colours and the rough
  light of the picture, so the model still sees a photo, only without the detail that was removed; but a
  blurred small object keeps its own colours and rough shape, and can still be recognised.
- "grey": the value 0 of the normalised input (the training set's mean colour, Integrated Gradients'
  baseline). Grey squares are pictures the model never saw in training: the probability can move
  because of the squares themselves, not because of what they hide (Hooker et al. 2019, Rong et al. 2022).

The figure judged is the area between a curve and the level it ends at, as a share of the whole change
(0 .. 1, smaller = sooner). A random order's insertion curve is a random order's blurred deletion curve
read backwards (the reversed order is as random), so insertion costs no random passes of its own.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.loaded_model import LoadedModel
from explorer.core.recent import Recent, fingerprint, module_key
from explorer.core.state import STORES
from explorer.core.trust_impute import impute
from explorer.core.words import say

STEPS = 8                  # points of a curve besides the whole picture
ORDERS = 39                # random orders: the smallest p-value reachable is 1 / (ORDERS + 1) = 0.025
PATCHES_PER_SIDE = 14      # 16 px patches at 224 px
BLUR_SHARE = 0.05          # the blur's standard deviation, as a share of the input's shorter side (11 px at 224)
CHUNK = 16                 # pictures per forward pass (bounded memory)
SEED = 0
REPLACEMENTS = ("impute", "blur", "grey")
JUDGED = "impute"          # the deletion judged (benchmarks/bench_trust_calibration.py compares them on data)
CHECKED = (JUDGED, "blur")     # the replacements a trust check measures: JUDGED and "blur" (the insertion's)
_FILL = {name: i for i, name in enumerate(REPLACEMENTS)}


def measured(replacements: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The replacements measured: those given (else CHECKED), and "blur" (the insertion's)."""
    return tuple(dict.fromkeys((*(replacements or CHECKED), "blur")))


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


def random_orders(count: int, size: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(size) for _ in range(count)])


def step_counts(n: int, steps: int) -> np.ndarray:
    """Patches removed at each point, 0 .. n, symmetric (count k and n - count(steps - k) agree), so that
    a reversed order's curve read backwards lands on the same points."""
    counts = np.round(np.arange(steps + 1) * n / steps).astype(np.int64)
    for k in range(steps // 2 + 1, steps + 1):
        counts[k] = n - counts[steps - k]
    return counts


def kept_patches(order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(len(counts), n) booleans, True = the patch is kept: row k has the first counts[k] of `order` removed."""
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return rank[None, :] >= counts[:, None]


def blurred(x: torch.Tensor, share: float | None = None) -> torch.Tensor:
    """A Gaussian blur of x (1, C, h, w) with a standard deviation of `share` of its shorter side; the edge
    is reflected, so the blur keeps the picture's own colours up to its border."""
    sigma = max(0.5, (share or BLUR_SHARE) * min(x.shape[-2:]))
    radius = min(int(math.ceil(3 * sigma)), min(x.shape[-2:]) - 1)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    kernel = torch.exp(-taps ** 2 / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).to(x.dtype)
    channels = x.shape[1]
    out = F.pad(x.detach(), (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1).contiguous(), groups=channels)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1).contiguous(), groups=channels)


@dataclass
class Curve:
    """One curve of the map against the same curve in many random orders."""
    kind: str                    # "deletion" or "insertion"
    replacement: str             # "impute", "blur" or "grey"
    fractions: np.ndarray        # share of patches removed (deletion) or put back (insertion), 0 .. 1
    by_map: np.ndarray           # the class's probability, the map's order
    by_random_orders: np.ndarray  # (orders, points): the same in each random order

    @property
    def by_random(self) -> np.ndarray:
        """The random orders' median curve."""
        return np.median(self.by_random_orders, axis=0)

    @property
    def change(self) -> float:
        """How far the probability moves from the first point to the last (positive: the way it should)."""
        ends = self.by_map[-1] - self.by_map[0]
        return float(-ends if self.kind == "deletion" else ends)

    def _areas(self, curves: np.ndarray) -> np.ndarray:
        """Area between each curve and the level it ends at, as a share of the whole change (0 .. 1;
        smaller = the probability reaches its end sooner)."""
        gap = curves - curves[..., -1:] if self.kind == "deletion" else curves[..., -1:] - curves
        area = np.sum((gap[..., 1:] + gap[..., :-1]) / 2 * np.diff(self.fractions), axis=-1)
        return area / self.change if self.change > 0 else np.full(area.shape, np.nan)

    @property
    def area_map(self) -> float:
        return float(self._areas(self.by_map))

    @property
    def areas_random(self) -> np.ndarray:
        return self._areas(self.by_random_orders)

    @property
    def ratio(self) -> float:
        """The map's area over the random orders' median area: the effect size (below 1: sooner)."""
        median = float(np.median(self.areas_random))
        return self.area_map / median if median > 0 else math.nan

    @property
    def p_value(self) -> float:
        """The share of orders, the map's among them, whose area is at most the map's: the chance that a
        random order does as well (at least 1 / (orders + 1))."""
        areas = self.areas_random
        return float((1 + np.sum(areas <= self.area_map + 1e-12)) / (areas.size + 1))

    @property
    def auc_map(self) -> float:
        """Plain area under the map's curve (0 .. 1)."""
        return _auc(self.fractions, self.by_map)

    @property
    def auc_random_orders(self) -> np.ndarray:
        return np.array([_auc(self.fractions, c) for c in self.by_random_orders])

    @property
    def auc_random(self) -> float:
        """The random orders' mean plain area."""
        return float(self.auc_random_orders.mean())

    @property
    def random_sd(self) -> float:
        return float(self.auc_random_orders.std(ddof=1))


def _auc(fractions: np.ndarray, values: np.ndarray) -> float:
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(fractions)))


def curve_passes(steps: int = STEPS, orders: int | None = None, random_known: bool = False,
                 replacements: tuple[str, ...] | None = None) -> int:
    """Pictures through the model for the curves: the map's inner points of each deletion (one per
    replacement measured: `measured(replacements)`) and of the insertion, the whole picture and the picture with
    every patch replaced (one per replacement), and (unless known for this picture and class) each random
    order's inner points with each replacement (the insertion's random curves are the blurred deletion's,
    read backwards: 39 x 7 = 273 pictures a replacement)."""
    kinds, orders = len(measured(replacements)), orders or ORDERS
    own = (kinds + 1) * (steps - 1) + 1 + kinds
    return own if random_known else own + kinds * orders * (steps - 1)


# The random orders' curves depend on the picture, the class and the settings, not on the map: every map
# checked on one picture (the tab shows several methods side by side) shares them.
RANDOM_CURVES = STORES.register("trust.random_curves", Recent(), "curves of random orders")


def _random_key(model: LoadedModel, x: torch.Tensor, target: int, steps: int, orders: int, seed: int,
                replacements: tuple[str, ...]) -> tuple:
    # the module itself too: two models of one name (a test's toys, an untrained stand-in) never share curves
    return (model.name, module_key(model.module), model.pretrained, fingerprint(x), target, steps, orders, seed, BLUR_SHARE,
            tuple(replacements))


def probabilities(model: LoadedModel, pictures, count: int, target: int, progress=None) -> np.ndarray:
    """softmax(model(picture))[target] for each picture `pictures(start, stop)` makes, CHUNK at a time;
    `progress` gets the share done before each chunk (it may raise to cancel)."""
    out = []
    with model.lock, torch.inference_mode():
        for start in range(0, count, CHUNK):
            if progress is not None:
                progress(start / max(1, count))
            batch = pictures(start, min(count, start + CHUNK))
            out.append(torch.softmax(model.module(batch).float(), dim=-1)[:, target].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


@dataclass
class _Job:
    """Which pictures to run: rows of kept patches, and for each how its removed patches are filled."""
    keep: np.ndarray             # (pictures, n) booleans, True = the real patch
    fill: np.ndarray             # (pictures,) the index of its replacement in REPLACEMENTS


def _pictures(x: torch.Tensor, job: _Job, grid: tuple[int, int], patch: int, seed: int):
    shape, blur = tuple(x.shape[-2:]), blurred(x)

    def make(start: int, stop: int) -> torch.Tensor:
        keep = torch.from_numpy(job.keep[start:stop].reshape(-1, 1, *grid)).to(x.device)
        keep = keep.repeat_interleave(patch, 2).repeat_interleave(patch, 3)[..., :shape[0], :shape[1]]
        fill = torch.from_numpy(job.fill[start:stop]).to(x.device).view(-1, 1, 1, 1)
        out = torch.where(keep, x, torch.where(fill == _FILL["blur"], blur, torch.zeros_like(x)))
        imputed = (fill == _FILL["impute"]).view(-1)
        if imputed.any():            # only the pictures that need it (the solve costs about half a pass)
            out[imputed] = impute(x.expand(int(imputed.sum()), -1, -1, -1), ~keep[imputed], seed=seed)
        return out
    return make


def measure_curves(model: LoadedModel, x: torch.Tensor, heat: np.ndarray, target: int, *, steps: int = STEPS,
                   orders: int | None = None, seed: int = SEED, progress=None,
                   replacements: tuple[str, ...] | None = None) -> dict[str, Curve]:
    """The map's deletion curves ("deletion_impute", "deletion_blur", and "deletion_grey" where asked: one
    per replacement of `measured(replacements)`) and its insertion curve
    ("insertion", from the blurred picture), each with the random orders'. heat is (h, w) at x's size
    (1, C, h, w), higher = more important. All pictures run as one batch, CHUNK at a time."""
    shape, orders = tuple(x.shape[-2:]), orders or ORDERS
    names = measured(replacements)
    if tuple(heat.shape) != shape:
        raise ValueError(say("deletion: the map is {map}, the input {input}", "deletion：图是 {map}，输入却是 {input}",
                             map=tuple(heat.shape), input=shape))
    if not 2 <= steps <= 100 or not 2 <= orders <= 256:
        raise ValueError(say("deletion: steps must be from 2 to 100 ({steps}), random orders from 2 to 256 ({orders})",
                             "deletion：步数必须在 2 到 100 之间（现在 {steps}），随机顺序数在 2 到 256 之间（现在 {orders}）",
                             steps=steps, orders=orders))
    patch = patch_grid(shape)
    scores = patch_scores(np.asarray(heat, np.float64), patch)
    counts = step_counts(scores.size, steps)
    inner = kept_patches(map_order(scores, seed), counts)[1:steps]
    key = _random_key(model, x, target, steps, orders, seed, names)
    known = RANDOM_CURVES.get(key)
    kinds, n, fill = len(names), scores.size, [_FILL[name] for name in names]
    # the map's deletions (one per replacement), its insertion, the whole picture, every patch replaced
    rows = [inner] * kinds + [~inner, np.ones((1, n), bool), np.zeros((kinds, n), bool)]
    fills = [np.full(steps - 1, f) for f in fill] + [np.full(steps - 1, _FILL["blur"]), [0], fill]
    if known is None:
        randoms = np.concatenate([kept_patches(o, counts)[1:steps] for o in random_orders(orders, n, seed)])
        rows += [randoms] * kinds
        fills += [np.full(len(randoms), f) for f in fill]
    job = _Job(np.concatenate(rows), np.concatenate(fills).astype(np.int64))
    found = probabilities(model, _pictures(x.detach(), job, scores.shape, patch, seed), len(job.keep), target,
                          progress)
    own = found[:(kinds + 1) * (steps - 1)].reshape(kinds + 1, steps - 1)
    whole, ends = found[(kinds + 1) * (steps - 1)], found[(kinds + 1) * (steps - 1) + 1:][:kinds]
    if known is None:
        rest = found[(kinds + 1) * (steps - 1) + 1 + kinds:].reshape(kinds, orders, steps - 1)
        known = {name: _whole_curves(whole, rest[i], ends[i]) for i, name in enumerate(names)}
        RANDOM_CURVES.put(key, known)
    fractions = counts / n
    curves = {f"deletion_{name}": Curve("deletion", name, fractions, np.r_[whole, own[i], ends[i]], known[name])
              for i, name in enumerate(names)}
    blur_end = ends[names.index("blur")]
    return curves | {"insertion": Curve("insertion", "blur", fractions, np.r_[blur_end, own[kinds], whole],
                                        known["blur"][:, ::-1].copy())}


def _whole_curves(whole: float, inner: np.ndarray, end: float) -> np.ndarray:
    orders = inner.shape[0]
    return np.concatenate([np.full((orders, 1), whole), inner, np.full((orders, 1), end)], axis=1)


def intact_probability(model: LoadedModel, x: torch.Tensor, target: int) -> float:
    """The class's probability on the whole picture."""
    return float(probabilities(model, lambda a, b: x.detach(), 1, target)[0])


def is_random_known(model: LoadedModel, x: torch.Tensor, target: int, steps: int = STEPS, seed: int = SEED) -> bool:
    """Whether the random orders' curves for this picture and class are kept (a check then costs less)."""
    return RANDOM_CURVES.get(_random_key(model, x, target, steps, ORDERS, seed, measured())) is not None
