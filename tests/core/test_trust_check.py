"""explorer.core.trust.trust_check: the verdicts in words, and "not measurable" where the checks cannot tell."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hook_recorder import recording
from sketches import draw
from torch import nn

from explorer.core import budgets, trust_curves
from explorer.core.attribution import Attribution
from explorer.core.models import LoadedModel, PhotoTransform, get_model
from explorer.core.trust import (
    BARS,
    CANT_TELL,
    FASTER,
    MEANING,
    MIN_PROBABILITY,
    NOT_FASTER,
    NOT_MEASURABLE,
    P_BAR,
    ranking,
    ranking_words,
    trust_check,
)
from explorer.core.trust_maps import map_at_input

CJK = re.compile(r"[\u4e00-\u9fff]")


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


PANDA = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "panda.jpg")


def wrap(module: nn.Module, labels=("no", "yes"), pretrained=True, resize=28) -> LoadedModel:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("toy-check", "Toy", module, list(labels), PhotoTransform(resize, 28, (0.5,) * 3, (0.5,) * 3),
                       torch.device("cpu"), pretrained)


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
    for part in (check.deletion, check.insertion, check.randomisation):
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


def test_a_class_with_almost_no_probability_is_not_measurable_by_any_test(x):
    """p ≈ 0: no fall or rise to measure, and nothing learned about the class for randomisation to destroy."""
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
    for part in check.parts.values():
        assert not part.measurable and part.verdict == NOT_MEASURABLE and part.passed is None
    assert "“yes” has probability" in check.deletion.reason and "too small" in check.deletion.reason
    assert "nothing for randomisation to destroy" in check.randomisation.reason
    assert check.verdict == NOT_MEASURABLE and check.curve is None and check.correlation is None


def test_panda_explained_as_tench_is_not_measurable():
    model, _ = get_model("efficientnet_lite0")
    x = model.preprocess(PANDA)
    tench = model.labels.index("tench")
    with torch.no_grad():
        probability = float(torch.softmax(model.module(x), -1)[0, tench])
    check = trust_check(model, PANDA, "gradcam", "tench")
    assert check.target == tench and check.probability == pytest.approx(probability, rel=1e-4, abs=1e-7)
    assert check.deletion.verdict == NOT_MEASURABLE and "tench" in check.deletion.reason
    assert check.randomisation.verdict == NOT_MEASURABLE and check.verdict == NOT_MEASURABLE


def test_an_untrained_model_has_no_randomisation_to_measure(x):
    """Its weights are random already: the test would compare random with random."""
    torch.manual_seed(0)
    model = wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 2)),
                 pretrained=False)
    check = trust_check(model, x, "saliency", 0)
    assert check.randomisation.verdict == NOT_MEASURABLE and "untrained" in check.randomisation.reason
    assert check.randomisation.steps == [] and check.correlation is None
    cnnnet, _ = get_model("cnnnet")
    assert not cnnnet.pretrained
    words = trust_check(cnnnet, PANDA, "saliency").randomisation
    assert words.verdict == NOT_MEASURABLE and "untrained" in words.reason


@pytest.fixture
def blur_judged(monkeypatch):
    """The deletion judged with blurred patches: a linear model's exact contributions are then known (with
    imputed patches the fill depends on which patches are removed together, so no map is exact)."""
    monkeypatch.setattr(trust_curves, "JUDGED", "blur")


def _linear_with_blur_contributions(x):
    """A linear model and each pixel's exact contribution to its logit difference when the pixel is replaced
    by the blurred picture's: w . (x - blur(x)), summed over colours (the right map by construction)."""
    torch.manual_seed(0)
    layer = nn.Linear(3 * 28 * 28, 2)
    model = wrap(nn.Sequential(nn.Flatten(), layer))
    with torch.no_grad():
        target = int(model.module(x).argmax())
    w = (layer.weight[target] - layer.weight[1 - target]).reshape(3, 28, 28)
    contribution = (w * (x - trust_curves.blurred(x))[0]).sum(0).numpy()
    return model, target, contribution


def test_the_right_map_is_faster_than_random_and_its_figures_are_recomputed_here(x, blur_judged):
    model, target, contribution = _linear_with_blur_contributions(x)
    check = trust_check(model, x, "my map", target, attribution=contribution, sign="positive")
    assert check.deletion.verdict == FASTER and check.deletion.passed
    curve = check.deletion.curve
    assert curve.replacement == "blur" and set(check.deletion.compared) == {"impute"}       # the other one checked
    areas = np.array([np.trapezoid(c - c[-1], curve.fractions) for c in curve.by_random_orders])
    own = np.trapezoid(curve.by_map - curve.by_map[-1], curve.fractions)
    p = (1 + np.sum(areas <= own)) / (len(areas) + 1)
    assert p <= BARS["deletion_blur"].get("p", P_BAR) and own / np.median(areas) <= BARS["deletion_blur"]["ratio"]
    assert f"p = {p:.3f}" in check.deletion.reason and f"ratio {own / np.median(areas):.2f}" in check.deletion.reason
    assert check.randomisation.verdict == NOT_MEASURABLE and "given as numbers" in check.randomisation.reason


def test_the_reversed_map_is_no_faster_than_random(x, blur_judged):
    model, target, contribution = _linear_with_blur_contributions(x)
    check = trust_check(model, x, "reversed", target, attribution=contribution.max() - contribution + 1)
    assert check.deletion.verdict == NOT_FASTER and check.deletion.passed is False
    assert check.deletion.curve.p_value >= BARS["deletion_blur"]["not_faster_p"]
    assert check.verdict.startswith("fails the deletion")
    ranked = ranking([("reversed", check), ("right", trust_check(model, x, "right", target, attribution=contribution))])
    assert [title for title, _ in ranked] == ["right", "reversed"]


def test_every_verdict_has_a_sentence_for_a_learner_in_both_languages():
    from explorer.core.trust import BARELY, CHANGES, meaning
    from explorer.core.words import speaking

    verdicts = {"deletion": (FASTER, NOT_FASTER, CANT_TELL, NOT_MEASURABLE),
                "insertion": (FASTER, NOT_FASTER, CANT_TELL, NOT_MEASURABLE),
                "randomisation": (CHANGES, BARELY, NOT_MEASURABLE)}
    for part, kinds in verdicts.items():
        for verdict in kinds:
            english, chinese = MEANING[part, verdict]["en"], MEANING[part, verdict]["zh"]
            assert english.endswith(".") and len(english) < 200
            assert chinese.endswith("。") and len(chinese) < 100 and has_cjk(chinese)
            assert meaning(part, verdict) == english
            with speaking("zh"):
                assert meaning(part, verdict) == chinese


def test_a_map_of_your_own_is_taken_at_the_pictures_size_or_the_models_input_size(x):
    """A photo model resizes the picture (shorter side 32) and crops the centre 28x28: a map at the
    picture's size is cut to that crop, so the same map at the input size gives the same check."""
    from PIL import Image

    model, target, contribution = _linear_with_blur_contributions(x)
    model = wrap(model.module, resize=32)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 40, 3), dtype=np.uint8))
    at_picture = np.zeros((32, 40))
    at_picture[2:30, 6:34] = np.kron(contribution, np.ones((1, 1)))      # the crop box: 2..30 x 6..34
    at_input = map_at_input(model, picture, at_picture, (28, 28))
    np.testing.assert_allclose(at_input, contribution, rtol=1e-5, atol=1e-6)
    big = trust_check(model, picture, "mine", target, attribution=at_picture)
    small = trust_check(model, picture, "mine", target, attribution=contribution)
    np.testing.assert_allclose(big.deletion.curve.by_map, small.deletion.curve.by_map, rtol=1e-6)
    with pytest.raises(ValueError, match=r"attribution: the map is 10x10 \(height x width\); give it at the "
                                         r"picture's size 32x40 or the model's input size 28x28"):
        trust_check(model, picture, "mine", target, attribution=np.ones((10, 10)))
    with pytest.raises(ValueError, match="two dimensions"):
        trust_check(model, picture, "mine", target, attribution=np.ones((3, 32, 40)))


def test_the_map_the_patches_and_the_models_centre_crop_line_up():
    """A red square on a photo: the square's mask given at the picture's size lands, on the model's input,
    where the preprocessed picture is red (EfficientNet-Lite0: shorter side to 256, centre crop 224)."""
    from PIL import Image, ImageDraw

    model, _ = get_model("efficientnet_lite0")
    picture = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(picture).rectangle((120, 60, 219, 159), fill="red")
    mask = np.zeros((300, 400))
    mask[60:160, 120:220] = 1.0
    on_input = map_at_input(model, picture, mask, (224, 224)) > 0.5
    x = model.preprocess(picture)[0]
    red = ((x[0] > 0.5) & (x[1] < -0.5)).numpy()
    assert red.sum() > 1000
    assert (on_input & red).sum() / (on_input | red).sum() > 0.95


def test_the_cost_is_checked_before_any_pass(x, monkeypatch):
    model, target, contribution = _linear_with_blur_contributions(x)
    monkeypatch.setenv("EXPLORER_MODEL_PASSES", "100")
    with recording(model.module, lambda m, i, o: 1) as passes:
        with pytest.raises(budgets.OverBudget, match="trust check: .* random orders"):
            trust_check(model, x, "mine", target, attribution=contribution)
    assert passes == []


def test_the_ranking_says_in_words_which_map_explains_best(x, blur_judged):
    model, target, contribution = _linear_with_blur_contributions(x)
    noise = np.random.default_rng(5).uniform(size=(28, 28))
    rows = [(name, trust_check(model, x, name, target, attribution=heat))
            for name, heat in (("noise", noise), ("right", contribution))]
    words = ranking_words(rows)
    assert words.startswith("By the curves, **right** explains this prediction best")
    assert "noise" in words.split("best")[1]


def _object_on_background():
    """A composite whose answer is known: a textured 8 x 8 object on a smooth background, and a linear model
    that sees only the object's texture (its weights are that texture: logit difference 3 with the object,
    -3 without it)."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:28, 0:28]
    x = torch.from_numpy(np.broadcast_to(0.02 * (xs + ys) - 0.5, (1, 3, 28, 28)).astype(np.float32).copy())
    texture = torch.zeros(3, 28, 28)
    texture[:, 10:18, 16:24] = torch.from_numpy(rng.choice([-1.5, 1.5], (3, 8, 8)).astype(np.float32))
    x[0] += texture
    layer = nn.Linear(3 * 28 * 28, 2)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[1] = (6 / texture.pow(2).sum() * texture).flatten()
        layer.bias.copy_(torch.tensor([0.0, -3.0]))
    right = np.exp(-((xs - 19.5) ** 2 + (ys - 13.5) ** 2) / 18.0) * (abs(xs - 19.5) < 4) * (abs(ys - 13.5) < 4)
    empty = np.exp(-((xs - 6) ** 2 + (ys - 14) ** 2) / 18.0) * (xs < 12)
    return wrap(nn.Sequential(nn.Flatten(), layer)), x, right, empty


def test_a_composite_whose_answer_is_known_right_map_passes_the_judged_deletion_empty_background_map_does_not():
    """The judged deletion (trust_curves.JUDGED, imputed patches) and the insertion: the bump over the object
    is faster than random; the same bump over the empty left of the picture, which the model never looks at,
    is not (its first patches change nothing: slower than random)."""
    model, x, right, empty = _object_on_background()
    with torch.no_grad():
        assert float(torch.softmax(model.module(x), -1)[0, 1]) > 0.95        # the premise: the object is seen
    right_check = trust_check(model, x, "right", 1, attribution=right)
    empty_check = trust_check(model, x, "empty background", 1, attribution=empty)
    assert right_check.deletion.curve.replacement == trust_curves.JUDGED
    assert right_check.deletion.verdict == FASTER and right_check.insertion.verdict == FASTER
    assert empty_check.deletion.verdict != FASTER and empty_check.insertion.verdict != FASTER
    assert empty_check.deletion.curve.ratio > 1


def test_a_trust_check_over_the_time_budget_is_refused_in_words_before_any_pass(monkeypatch):
    """The check's seconds (its curves' forward passes, its randomised maps') are estimated from the model's
    multiply-accumulates and this machine's speed, and refused before any pass when beyond
    EXPLORER_REQUEST_SECONDS; at an ordinary speed the same check runs."""
    model, _ = get_model("digits")
    picture = draw(7)
    heat = np.random.default_rng(0).random((28, 28))
    calls = []
    handle = model.module.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "1000000")           # a very slow machine
        with pytest.raises(budgets.OverBudget, match=r"^trust check: [\d,]+ pictures for its curves .* would take "
                                                     r"about .*EXPLORER_REQUEST_SECONDS.*pick a smaller model"):
            trust_check(model, picture, "mine", 7, attribution=heat)
        assert calls == [], "no pass ran before the refusal"
        monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "0.001")
        assert trust_check(model, picture, "mine", 7, attribution=heat).deletion is not None and calls
    finally:
        handle.remove()


def test_a_chinese_visitor_reads_the_verdicts_in_chinese_with_the_same_numbers(x, blur_judged):
    """The same check spoken in Chinese: every verdict, reason and sentence has Chinese in it and keeps the
    figures the English one gives (p-value, ratio); the verdict keys stay the same."""
    from explorer.core.words import speaking

    model, target, contribution = _linear_with_blur_contributions(x)
    english = trust_check(model, x, "reversed", target, attribution=contribution.max() - contribution + 1)
    with speaking("zh"):
        chinese = trust_check(model, x, "reversed", target, attribution=contribution.max() - contribution + 1)
        words, verdict, reason = chinese.as_dict(), chinese.verdict, chinese.reason
        ranked = ranking_words([("reversed", chinese)])
    assert chinese.deletion.verdict == english.deletion.verdict == NOT_FASTER          # the keys do not change
    assert has_cjk(verdict) and has_cjk(reason) and has_cjk(words["deletion"]["verdict"]) and has_cjk(ranked)
    assert not has_cjk(english.reason) and not has_cjk(english.as_dict()["deletion"]["verdict"])
    curve = chinese.deletion.curve
    for figure in (f"p = {curve.p_value:.3f}", f"{curve.ratio:.2f}", f"{curve.area_map:.2f}"):
        assert figure in words["deletion"]["reason"] and figure in english.deletion.reason
    assert verdict.startswith("未通过") and "删除" in verdict
    assert words["deletion"]["impute"]["reason"].startswith("用周围像素填补的图块")      # the comparison, in words
    assert "用用" not in words["deletion"]["impute"]["reason"] and "用模糊图块：" in words["deletion"]["reason"]
    assert has_cjk(words["randomisation"]["reason"]) and words["randomisation"]["verdict"] == "无法测量"


def test_a_chinese_visitor_reads_why_a_map_is_not_measurable_in_chinese():
    from explorer.core.words import speaking

    model, _ = get_model("digits")
    with speaking("zh"):
        check = trust_check(model, draw(4), "gradcam")
        words, reason = check.as_dict(), check.reason
    assert check.verdict == NOT_MEASURABLE and words["verdict"] == "无法测量"
    assert "Grad-CAM" in check.deletion.reason and "处处为零" in check.deletion.reason
    assert "features.conv2" in check.deletion.reason and has_cjk(reason) and "没法检验" in reason


def test_the_trust_check_is_explorer_trust_trust_check_as_issue_23_names_it():
    import explorer
    import explorer.trust
    from explorer.core import trust

    assert explorer.trust.trust_check is trust.trust_check is explorer.trust_check
    assert explorer.trust.FASTER == FASTER and explorer.trust.NOT_MEASURABLE == NOT_MEASURABLE
    assert set(explorer.trust.__all__) <= set(vars(explorer.trust))
