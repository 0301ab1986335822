"""explorer.core.trust.trust_check: the verdicts in words, and "not measurable" where the checks cannot tell."""
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from hook_recorder import recording
from scipy.stats import spearmanr
from sketches import draw
from torch import nn

from explorer.core.attribution import Attribution, attribute_input
from explorer.core.models import LoadedModel, PhotoTransform, get_model
from explorer.core.trust import (
    CHANGES_BELOW,
    MIN_PROBABILITY,
    NOT_MEASURABLE,
    deletion_masks,
    judge_randomisation,
    patch_grid,
    randomised_copy,
    trust_check,
)

PANDA = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "panda.jpg")


def wrap(module: nn.Module, labels=("no", "yes")) -> LoadedModel:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("toy-check", "Toy", module, list(labels), PhotoTransform(28, 28, (0.5,) * 3, (0.5,) * 3),
                       torch.device("cpu"), True)


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, 28, 28, generator=torch.Generator().manual_seed(3))


def pytorch_gradcam(model: LoadedModel, x: torch.Tensor, layer: str, target: int) -> torch.Tensor:
    """Grad-CAM written out here with hooks: ReLU(sum_k mean(dScore/dA_k) * A_k)."""
    with recording(model.module.get_submodule(layer)) as outputs, torch.enable_grad():
        score = model.module(x.clone().requires_grad_())[0, target]
        activation, = outputs
        grads, = torch.autograd.grad(score, activation)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * activation).sum(dim=1))


def test_a_zero_gradcam_on_a_drawn_digit_is_not_measurable():
    """The digit model's Grad-CAM is all zeros for many drawings (every position's weighted sum is
    negative before the ReLU): no verdict may rest on such a map."""
    model, _ = get_model("digits")
    drawing = draw(4)
    x = model.preprocess(drawing)
    target = int(model.module(x).argmax())
    assert float(pytorch_gradcam(model, x, "features.conv2", target).detach().abs().max()) == 0.0   # the premise
    check = trust_check(model, drawing, "gradcam")
    assert check.target == target
    assert not check.measurable and check.verdict == NOT_MEASURABLE
    for part in (check.deletion, check.randomisation):
        assert not part.measurable and part.passed is None and part.verdict == NOT_MEASURABLE
        assert "Grad-CAM is zero everywhere for this class on this picture" in part.reason
    assert "zero everywhere" in check.reason and "cannot be checked" in check.reason
    assert check.curve is None and check.correlation is None
    words = check.as_dict()
    assert words["verdict"] == NOT_MEASURABLE and words["deletion"]["passed"] is None


def test_the_part_of_the_map_shown_can_be_what_is_empty():
    """Grad-CAM is never negative: its negative part is empty, whatever the picture."""
    model, _ = get_model("digits")
    check = trust_check(model, draw(7), "gradcam", sign="negative")
    assert check.verdict == NOT_MEASURABLE
    assert "Grad-CAM has no part against the class" in check.deletion.reason


def test_a_constant_map_is_not_measurable(x):
    torch.manual_seed(0)
    model = wrap(nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2)))
    flat = Attribution("saliency", 1, "yes", np.full((28, 28), 0.25, np.float32))
    check = trust_check(model, x, "saliency", 1, attribution=flat)
    assert check.verdict == NOT_MEASURABLE and not check.measurable
    assert "same value at every pixel" in check.deletion.reason


def test_a_class_too_unlikely_for_its_fall_to_be_measured(x):
    """A class whose probability on the intact picture is below MIN_PROBABILITY: the deletion check says
    "not measurable" with the probability in words; the randomisation check still runs."""
    torch.manual_seed(0)
    linear = nn.Linear(3 * 28 * 28, 2)
    with torch.no_grad():
        linear.bias.copy_(torch.tensor([0.0, -12.0]))
    model = wrap(nn.Sequential(nn.Flatten(), linear))
    with torch.no_grad():
        probability = float(torch.softmax(model.module(x), -1)[0, 1])
    assert probability < MIN_PROBABILITY
    check = trust_check(model, x, "saliency", "yes")
    assert check.probability == pytest.approx(probability, rel=1e-5)
    assert check.deletion.verdict == NOT_MEASURABLE and check.deletion.passed is None
    assert "“yes” has probability" in check.deletion.reason and "too small for its fall" in check.deletion.reason
    assert check.randomisation.measurable and check.verdict == NOT_MEASURABLE and check.curve is None


def test_panda_explained_as_tench_is_not_measurable():
    model, _ = get_model("efficientnet_lite0")
    x = model.preprocess(PANDA)
    tench = model.labels.index("tench")
    with torch.no_grad():
        probability = float(torch.softmax(model.module(x), -1)[0, tench])
    check = trust_check(model, PANDA, "gradcam", "tench")
    assert check.target == tench and check.probability == pytest.approx(probability, rel=1e-4, abs=1e-7)
    assert check.deletion.verdict == NOT_MEASURABLE and "tench" in check.deletion.reason
    assert check.verdict == NOT_MEASURABLE


def test_true_contributions_pass_the_deletion_check_against_the_spread_of_random_orders(x):
    """On a linear model Integrated Gradients is each pixel's exact contribution: its curve falls faster
    than every random order's. The figures in the verdict are recomputed here from PyTorch's outputs."""
    torch.manual_seed(0)
    model = wrap(nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2)))
    with torch.no_grad():
        target = int(model.module(x).argmax())
    result = attribute_input(model, x, "integrated_gradients", target, n_steps=8)
    contribution = result.input_map - result.input_map.min() + 1.0    # every pixel ranked, the order kept
    result.input_map = contribution
    check = trust_check(model, x, "integrated_gradients", target, attribution=result)
    assert check.measurable and check.deletion.passed and check.deletion.verdict == "falls faster than random"
    curve = check.curve
    patch = patch_grid((28, 28))
    scores = contribution.reshape(14, patch, 14, patch).mean(axis=(1, 3)).ravel()
    masks = deletion_masks(np.argsort(-scores, kind="stable"), (14, 14), patch, (28, 28), 12)
    with torch.no_grad():
        by_map = torch.softmax(model.module(x * masks[:, None]), -1)[:, target].numpy()
    np.testing.assert_allclose(curve.by_map, by_map, rtol=1e-5)
    areas = [np.trapezoid(c, curve.fractions) for c in curve.by_random_orders]
    assert len(areas) >= 4
    own = np.trapezoid(by_map, curve.fractions)
    assert own < min(areas)
    sd_below = (statistics.mean(areas) - own) / statistics.stdev(areas)
    assert sd_below >= 2 and own <= 0.9 * statistics.mean(areas)
    assert f"{sd_below:.1f} sd below their mean" in check.deletion.reason
    assert f"{len(areas)} random orders" in check.deletion.reason


def test_reverse_contributions_are_no_faster_than_random(x):
    torch.manual_seed(0)
    model = wrap(nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2)))
    with torch.no_grad():
        target = int(model.module(x).argmax())
    backwards = attribute_input(model, x, "integrated_gradients", target, n_steps=8)
    backwards.input_map = -backwards.input_map + backwards.input_map.max() + 1.0    # least important first
    check = trust_check(model, x, "integrated_gradients", target, attribution=backwards)
    assert check.deletion.measurable and check.deletion.passed is False
    assert check.deletion.verdict == "no faster than random" and "above all" in check.deletion.reason
    assert check.verdict.startswith("fails")


def test_the_randomisation_figure_is_spearmans_rho_of_two_gradients_computed_here(x):
    model = wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 2)))
    check = trust_check(model, x, "saliency", 0)

    def gradient(module):
        pixels = x.clone().requires_grad_()
        module(pixels)[0, 0].backward()
        return pixels.grad[0].sum(0).abs().numpy()

    expected = spearmanr(gradient(model.module).ravel(), gradient(randomised_copy(model).module).ravel()).statistic
    assert check.correlation == pytest.approx(expected, abs=1e-9)
    assert check.randomisation.passed == (expected < CHANGES_BELOW)
    assert f"rank correlation {expected:.2f}" in check.randomisation.reason


def test_a_high_rank_correlation_is_the_warning_verdict():
    high, low = judge_randomisation(0.8, None), judge_randomisation(0.1, None)
    assert high.passed is False and high.verdict == "barely changes" and "0.80" in high.reason
    assert low.passed is True and low.verdict == "the map changes"
    empty = judge_randomisation(None, "Grad-CAM is zero everywhere")
    assert empty.passed is True and "randomised model's map is empty" in empty.reason
