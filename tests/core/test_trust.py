"""The deletion curve and the model-randomisation test."""
import statistics

import numpy as np
import pytest
import torch
from hook_recorder import recording
from scipy.stats import spearmanr
from torch import nn

from explorer.core.attribution import attribute_input, signed
from explorer.core.models import LoadedModel, PhotoTransform
from explorer.core.trust import (
    deletion_curve,
    deletion_masks,
    map_order,
    patch_grid,
    randomisation_test,
    randomised_copy,
    rank_correlation,
    top_layers,
)


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


def test_true_contributions_delete_faster_than_random(linear, x):
    """On a linear model, Integrated Gradients from the zero baseline is each pixel's exact contribution to
    the logit difference; removing the largest contributions first lowers it most at every step, so the
    target probability (a monotone function of it) is never above the random order's."""
    with torch.no_grad():
        target = int(linear.module(x).argmax())
    contribution = attribute_input(linear, x, "integrated_gradients", target=target, n_steps=8).input_map
    curve = deletion_curve(linear, x, contribution, target, steps=10)
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1
    with torch.no_grad():
        p0 = float(torch.softmax(linear.module(x), -1)[0, target])
    assert curve.by_map[0] == pytest.approx(p0, rel=1e-5) and curve.by_random[0] == pytest.approx(p0, rel=1e-5)
    assert np.all(curve.by_map <= curve.by_random + 1e-6)
    assert curve.auc_map < curve.auc_random
    # the reverse ranking (least important first) is the slowest
    backwards = deletion_curve(linear, x, -contribution, target, steps=10)
    assert backwards.auc_map > curve.auc_random


def test_deletion_curve_matches_pytorch_on_masked_inputs(linear, x):
    heat = np.random.default_rng(0).normal(size=(28, 28))
    curve = deletion_curve(linear, x, heat, 1, steps=4)
    patch = patch_grid((28, 28))
    order = np.argsort(-heat.reshape(14, patch, 14, patch).mean(axis=(1, 3)).ravel(), kind="stable")
    mask = deletion_masks(order, (14, 14), patch, (28, 28), 4)[2]
    assert float(1 - mask.float().mean()) == pytest.approx(0.5, abs=0.01)
    with torch.no_grad():
        expected = float(torch.softmax(linear.module(x * mask), -1)[0, 1])
    assert curve.by_map[2] == pytest.approx(expected, rel=1e-5)
    assert curve.by_map[-1] == pytest.approx(float(torch.softmax(linear.module(0 * x), -1)[0, 1]), rel=1e-5)


def test_deletion_rejects_a_map_of_the_wrong_size(linear, x):
    with pytest.raises(ValueError, match="the map is"):
        deletion_curve(linear, x, np.zeros((5, 5)), 0)


def test_rank_correlation_is_spearmans():
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    a[:50] = 0.0          # ties, as in a ReLU'd Grad-CAM map
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
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


def test_randomised_copy_leaves_the_shared_model_alone(x):
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


def test_randomisation_changes_the_saliency_map(x):
    model = wrap(Small())
    result = attribute_input(model, x, "saliency", target=1)
    test = randomisation_test(model, x, "saliency", 1, result.input_map, sign="absolute")
    assert test.random_map.shape == result.input_map.shape
    assert test.correlation == pytest.approx(
        spearmanr(signed(result.input_map, "absolute").ravel(), np.abs(test.random_map).ravel()).statistic,
        abs=1e-9)
    assert test.correlation < 0.9
    assert "head" in test.layers


def test_the_random_orders_are_computed_once_per_picture_and_class(linear, x):
    """Maps of several methods on one picture share the random orders' curves: later calls run only the map's
    order, and without its two ends (the whole picture, nothing left), which are the same for every order."""
    from explorer.core import trust

    trust.RANDOM_CURVES.clear()
    def curve(seed: int, target: int):
        return deletion_curve(linear, x, np.random.default_rng(seed).normal(size=(28, 28)), target, steps=6, orders=5)

    with recording(linear.module, lambda m, i, o: i[0].shape[0]) as batches:
        first = curve(1, 0)
        by_first = len(batches)
        second = curve(2, 0)
        by_second = len(batches)
        other_class = curve(2, 1)
    calls = [batches[:by_first], batches[by_first:by_second], batches[by_second:]]
    assert [sum(c) for c in calls] == [7 + 5 * 5, 5, 7 + 5 * 5]
    assert max(max(c) for c in calls) <= trust.DELETION_CHUNK
    np.testing.assert_array_equal(second.by_random_orders, first.by_random_orders)
    trust.RANDOM_CURVES.clear()
    alone = deletion_curve(linear, x, np.random.default_rng(2).normal(size=(28, 28)), 0, steps=6, orders=5)
    np.testing.assert_allclose(second.by_map, alone.by_map, rtol=1e-5)
    # every random order's curve is PyTorch's probability on that order's masked pictures
    assert other_class.by_random_orders.shape == (5, 7)
    rng = np.random.default_rng(trust.SEED)
    for curve in other_class.by_random_orders:
        masks = deletion_masks(rng.permutation(14 * 14), (14, 14), patch_grid((28, 28)), (28, 28), 6)
        with torch.no_grad():
            expected = torch.softmax(linear.module(x * masks[:, None]), -1)[:, 1].numpy()
        np.testing.assert_allclose(curve, expected, rtol=1e-5)
    assert len({tuple(c) for c in other_class.by_random_orders.round(6)}) == 5      # five different orders


def test_the_curves_figures_are_areas_and_spread_recomputed_here(linear, x):
    curve = deletion_curve(linear, x, np.random.default_rng(4).normal(size=(28, 28)), 0, steps=8)
    areas = [np.trapezoid(c, curve.fractions) for c in curve.by_random_orders]
    assert curve.auc_map == pytest.approx(np.trapezoid(curve.by_map, curve.fractions), rel=1e-9)
    np.testing.assert_allclose(curve.auc_random_orders, areas, rtol=1e-9)
    assert curve.auc_random == pytest.approx(statistics.mean(areas), rel=1e-9)
    assert curve.random_sd == pytest.approx(statistics.stdev(areas), rel=1e-9)
    assert curve.sd_below_random == pytest.approx((statistics.mean(areas) - curve.auc_map) / statistics.stdev(areas),
                                                  rel=1e-9)
    np.testing.assert_allclose(curve.by_random, np.mean(curve.by_random_orders, axis=0))


def test_patches_the_map_scores_alike_are_removed_in_a_random_order_not_row_by_row():
    scores = np.zeros((14, 14))
    scores[5, 7] = 1.0
    order = map_order(scores)
    assert order[0] == 5 * 14 + 7
    rest = order[1:]
    assert sorted(rest.tolist()) == [i for i in range(196) if i != 5 * 14 + 7]
    assert not np.all(np.diff(rest) > 0)        # not the raster order
