"""The deletion and insertion curves against random orders, and the cascading randomisation test."""
import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
import torch
import torchvision.transforms.functional as TF
from hook_recorder import recording
from scipy.stats import spearmanr
from torch import nn

from explorer.core import trust_curves
from explorer.core.attribution import attribute_input, signed
from explorer.core.models import LoadedModel, PhotoTransform
from explorer.core.trust import cascade, randomised_copy, rank_correlation, top_layers
from explorer.core.trust_curves import (
    blurred,
    kept_patches,
    map_order,
    measure_curves,
    patch_grid,
    patch_scores,
    random_orders,
    step_counts,
)
from explorer.core.trust_impute import impute
from explorer.core.trust_randomisation import set_step, shared_randomised_copy


def wrap(module: nn.Module, size: int = 28) -> LoadedModel:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("toy", "Toy", module, ["no", "yes"], PhotoTransform(size, size, (0.5,) * 3, (0.5,) * 3),
                       torch.device("cpu"), True)


@pytest.fixture(scope="module")
def linear():
    torch.manual_seed(0)
    return wrap(nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2)))


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, 28, 28, generator=torch.Generator().manual_seed(3))


def _probability(model, pictures, target):
    with torch.no_grad():
        return torch.softmax(model.module(pictures), -1)[:, target].numpy()


def _pixel_keep(keep_row: np.ndarray, patch: int = 2, side: int = 28) -> torch.Tensor:
    grid = keep_row.reshape(side // patch, side // patch)
    return torch.from_numpy(grid.repeat(patch, 0).repeat(patch, 1).astype(np.float32))


def test_the_blur_is_torchvisions_gaussian_blur(x):
    sigma = trust_curves.BLUR_SHARE * 28
    radius = int(np.ceil(3 * sigma))
    expected = TF.gaussian_blur(x, kernel_size=2 * radius + 1, sigma=sigma)
    torch.testing.assert_close(blurred(x), expected, rtol=1e-5, atol=1e-5)


def test_every_curve_point_is_pytorchs_probability_on_the_replaced_picture(linear, x):
    heat = np.random.default_rng(0).normal(size=(28, 28))
    trust_curves.RANDOM_CURVES.clear()
    curves = measure_curves(linear, x, heat, 1, steps=4, orders=3, replacements=trust_curves.REPLACEMENTS)
    patch = patch_grid((28, 28))
    order = np.argsort(-heat.reshape(14, patch, 14, patch).mean(axis=(1, 3)).ravel(), kind="stable")
    keep = _pixel_keep(kept_patches(order, step_counts(196, 4))[2])
    assert float(1 - keep.mean()) == pytest.approx(0.5, abs=0.01)
    blur = blurred(x)
    assert curves["deletion_blur"].by_map[2] == pytest.approx(_probability(linear, x * keep + blur * (1 - keep), 1)[0],
                                                              rel=1e-5)
    assert curves["deletion_grey"].by_map[2] == pytest.approx(_probability(linear, x * keep, 1)[0], rel=1e-5)
    assert curves["insertion"].by_map[2] == pytest.approx(_probability(linear, x * (1 - keep) + blur * keep, 1)[0],
                                                          rel=1e-5)
    assert curves["deletion_grey"].by_map[-1] == pytest.approx(_probability(linear, 0 * x, 1)[0], rel=1e-5)
    filled = impute(x, (keep == 0)[None, None])
    assert curves["deletion_impute"].by_map[2] == pytest.approx(_probability(linear, filled, 1)[0], rel=1e-5)
    assert curves["insertion"].by_map[0] == pytest.approx(_probability(linear, blur, 1)[0], rel=1e-5)


def _direct_solve(picture: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """ROAD's linear system solved exactly with scipy: each removed pixel equals the weighted mean of its
    neighbours inside the picture (direct 1/6, diagonal 1/12), one colour at a time."""
    h, w = removed.shape
    unknown = -np.ones((h, w), int)
    unknown[removed] = np.arange(removed.sum())
    weights = {(dy, dx): (1 / 6 if 0 in (dy, dx) else 1 / 12) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx}
    rows, cols, values = [], [], []
    known_part = np.zeros((removed.sum(), picture.shape[0]))
    for k, (y, x) in enumerate(np.argwhere(removed)):
        inside = {(y + dy, x + dx): v for (dy, dx), v in weights.items() if 0 <= y + dy < h and 0 <= x + dx < w}
        total = sum(inside.values())
        rows.append(k), cols.append(k), values.append(1.0)
        for (yy, xx), v in inside.items():
            if removed[yy, xx]:
                rows.append(k), cols.append(unknown[yy, xx]), values.append(-v / total)
            else:
                known_part[k] += v / total * picture[:, yy, xx]
    system = scipy.sparse.csc_matrix((values, (rows, cols)), shape=(removed.sum(), removed.sum()))
    out = picture.copy()
    for c in range(picture.shape[0]):
        out[c][removed] = scipy.sparse.linalg.spsolve(system, known_part[:, c])
    return out


def test_imputation_is_roads_linear_system_solved_by_scipy():
    """On a small picture with a removed block, scattered removed pixels and removed pixels on its edge: the
    batched fill with many sweeps is the direct solve; with the default sweeps it is close to it."""
    rng = np.random.default_rng(2)
    picture = np.cumsum(np.cumsum(rng.normal(size=(3, 24, 20)), 1), 2)
    removed = rng.random((24, 20)) < 0.2
    removed[6:16, 4:13] = True
    removed[0, :7] = True
    exact = _direct_solve(picture, removed)
    x, mask = torch.tensor(picture[None], dtype=torch.float64), torch.tensor(removed)[None, None]
    converged = impute(x, mask, noise=0, sweeps=400)[0].numpy()
    np.testing.assert_allclose(converged, exact, atol=1e-6 * np.ptp(picture))
    quick = impute(x, mask, noise=0)[0].numpy()
    assert np.abs(quick - exact)[:, removed].mean() < 0.02 * np.ptp(picture)
    np.testing.assert_array_equal(quick[:, ~removed], picture[:, ~removed])        # kept pixels stay
    noisy = impute(x, mask)[0].numpy()
    assert 0.005 < np.std((noisy - quick)[:, removed]) < 0.02                         # the noise, removed only
    np.testing.assert_array_equal(noisy[:, ~removed], picture[:, ~removed])
    np.testing.assert_array_equal(noisy, impute(x, mask)[0].numpy())                  # seeded


def test_imputation_fills_a_removed_object_with_its_surroundings_unlike_the_blur():
    """A bright square on a dark picture, removed whole: imputed, it becomes dark (its surroundings); blurred,
    it stays bright (its own colours)."""
    x = torch.full((1, 3, 28, 28), -1.0)
    x[..., 10:18, 10:18] = 2.0
    removed = torch.zeros(1, 1, 28, 28, dtype=torch.bool)
    removed[..., 9:19, 9:19] = True
    inside = (slice(None), slice(None), slice(10, 18), slice(10, 18))
    assert impute(x, removed)[inside].mean() == pytest.approx(-1.0, abs=0.05)
    assert blurred(x)[inside].mean() > 1.0


def test_a_random_orders_insertion_curve_is_its_reversed_orders_deletion_curve_read_backwards(linear, x):
    trust_curves.RANDOM_CURVES.clear()
    curves = measure_curves(linear, x, np.ones((28, 28)), 0, steps=6, orders=4)
    counts = step_counts(196, 6)
    assert all(counts[k] + counts[6 - k] == 196 for k in range(7))
    blur = blurred(x)
    for order, curve in zip(random_orders(4, 196), curves["insertion"].by_random_orders):
        restored = ~kept_patches(order[::-1], counts)       # the reversed order's first patches put back
        pictures = torch.stack([x[0] * _pixel_keep(r) + blur[0] * (1 - _pixel_keep(r)) for r in restored])
        np.testing.assert_allclose(curve, _probability(linear, pictures, 0), rtol=1e-5)


def test_true_contributions_come_before_every_random_order(linear, x):
    """On a linear model, Integrated Gradients from the zero baseline is each pixel's exact contribution to
    the logit difference: removing the largest first (grey patches are the zero baseline) lowers the class
    sooner than any random order; the p-value is then its floor, 1 / (orders + 1)."""
    with torch.no_grad():
        target = int(linear.module(x).argmax())
    contribution = attribute_input(linear, x, "integrated_gradients", target=target, n_steps=8).input_map
    trust_curves.RANDOM_CURVES.clear()
    grey = measure_curves(linear, x, contribution, target, steps=10, orders=19, replacements=("grey",))["deletion_grey"]
    assert np.all(grey.by_map <= np.min(grey.by_random_orders, axis=0) + 1e-6)
    assert grey.p_value == pytest.approx(1 / 20) and grey.ratio < 1
    backwards = measure_curves(linear, x, -contribution, target, steps=10, orders=19,
                               replacements=("grey",))["deletion_grey"]
    assert backwards.p_value == 1.0 and backwards.ratio > 1


def test_the_figures_are_recomputed_here_from_the_curves(linear, x):
    curve = measure_curves(linear, x, np.random.default_rng(4).normal(size=(28, 28)), 0, steps=8,
                           orders=9)["deletion_blur"]
    ends = curve.by_map[0] - curve.by_map[-1]

    def area(c):
        return np.trapezoid(c - c[-1], curve.fractions) / ends

    randoms = np.array([area(c) for c in curve.by_random_orders])
    assert curve.area_map == pytest.approx(area(curve.by_map), rel=1e-9)
    np.testing.assert_allclose(curve.areas_random, randoms, rtol=1e-9)
    assert curve.ratio == pytest.approx(area(curve.by_map) / np.median(randoms), rel=1e-9)
    assert curve.p_value == pytest.approx((1 + np.sum(randoms <= area(curve.by_map))) / 10)
    assert curve.auc_map == pytest.approx(np.trapezoid(curve.by_map, curve.fractions), rel=1e-9)


def test_the_random_orders_are_computed_once_per_picture_and_class(linear, x):
    trust_curves.RANDOM_CURVES.clear()

    def curves(seed: int, target: int):
        return measure_curves(linear, x, np.random.default_rng(seed).normal(size=(28, 28)), target, steps=6,
                              orders=5)

    with recording(linear.module, lambda m, i, o: i[0].shape[0]) as batches:
        first = curves(1, 0)
        by_first = len(batches)
        second = curves(2, 0)
        by_second = len(batches)
        curves(2, 1)
    calls = [batches[:by_first], batches[by_first:by_second], batches[by_second:]]
    kinds = len(trust_curves.measured())
    assert kinds == 2                                      # the judged deletion's replacement and the blur
    own, randoms = (kinds + 1) * 5 + 1 + kinds, kinds * 5 * 5
    assert [sum(c) for c in calls] == [own + randoms, own, own + randoms]
    assert trust_curves.curve_passes(6, 5) == own + randoms and trust_curves.curve_passes(6, 5, True) == own
    assert max(max(c) for c in calls) <= trust_curves.CHUNK
    np.testing.assert_array_equal(second["deletion_blur"].by_random_orders, first["deletion_blur"].by_random_orders)


def test_patches_the_map_scores_alike_are_removed_in_a_random_order_not_row_by_row():
    scores = np.zeros((14, 14))
    scores[5, 7] = 1.0
    order = map_order(scores)
    assert order[0] == 5 * 14 + 7
    assert sorted(order[1:].tolist()) == [i for i in range(196) if i != 5 * 14 + 7]
    assert not np.all(np.diff(order[1:]) > 0)        # not the raster order
    assert patch_scores(np.arange(16.0).reshape(4, 4), 2).tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_rank_correlation_is_spearmans():
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    a[:50] = 0.0          # ties, as in a ReLU'd Grad-CAM map
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert rank_correlation(a, np.ones_like(a)) == 0.0


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                      nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def test_randomised_copy_leaves_the_shared_model_alone():
    model = wrap(Small())
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    copy = randomised_copy(model, count=3)
    assert copy.module is not model.module and copy.lock is not model.lock
    assert top_layers(model.module, 3) == ["features.2", "features.3", "features.5", "head"]
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, before[key]), key
    changed = {k for k, v in copy.module.state_dict().items() if not torch.equal(v, before[k])}
    assert {"features.2.weight", "features.5.weight", "head.weight"} <= changed
    assert not any(k.startswith("features.0.") for k in changed)
    assert not any(p.requires_grad for p in copy.module.parameters())


def test_each_cascade_step_randomises_the_top_layers_and_keeps_the_rest_trained():
    model = wrap(Small())
    copy, _ = shared_randomised_copy(model)
    trained = model.module.state_dict()
    assert set_step(model, copy, 1) == ["head"]
    now = copy.module.state_dict()
    assert not torch.equal(now["head.weight"], trained["head.weight"])
    assert all(torch.equal(now[k], trained[k]) for k in trained if not k.startswith("head."))
    assert set_step(model, copy, 3) == top_layers(model.module, 3)
    fully = randomised_copy(model, 3).module.state_dict()
    assert all(torch.equal(copy.module.state_dict()[k], fully[k]) for k in fully)   # seeded: the same weights


def test_the_cascade_correlations_are_spearmans_rho_of_gradients_computed_here(x):
    model = wrap(Small())
    result = attribute_input(model, x, "saliency", target=1)
    steps = cascade(model, x, result, "absolute", counts=(1, 3))

    def gradient(module):
        pixels = x.clone().requires_grad_()
        module(pixels)[0, 1].backward()
        return pixels.grad[0].sum(0).abs().numpy()

    for step, count in zip(steps, (1, 3)):
        expected = spearmanr(signed(result.input_map, "absolute").ravel(),
                             gradient(randomised_copy(model, count).module).ravel()).statistic
        assert step.correlation == pytest.approx(expected, abs=1e-9)
    assert steps[0].layers == ["head"] and "features.2" in steps[1].layers
