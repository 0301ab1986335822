"""Feature visualisation by optimisation (explorer.core.features): the objective rises, seeds are reproducible,
pictures are specific to their channel, the shared model is left as it was (no hook, same weights, eval
mode, its lock free between steps), bad requests are refused by name, and results are cached.

Most tests use the digit model (tiny, pretrained, 28x28); the default model only where its geometry is
the point, with a few steps."""
import threading
import time
from pathlib import Path

import pytest
import torch
from hook_recorder import hook_count
from PIL import Image, ImageDraw
from torch import nn

from explorer.core import feature_objectives, feature_stages, features
from explorer.core.features import RESULTS, Visualization, activation_of, from_image, stages_of, visualize
from explorer.core.models import DEFAULT_MODEL, LoadedModel, PhotoTransform, load_model
from explorer.core.stages import capture_stages, stage_layers
from explorer.core.trace import trace, traced_pass

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits() -> LoadedModel:
    return load_model("digits", pretrained=True, device="cpu")


@pytest.fixture(scope="module")
def photo_model() -> LoadedModel:
    return load_model(DEFAULT_MODEL, pretrained=True, device="cpu")


@pytest.fixture(autouse=True)
def empty_cache():
    RESULTS.clear()
    yield
    RESULTS.clear()


def _seven() -> Image.Image:
    image = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(image).line([(30, 25), (110, 25), (60, 120)], fill=0, width=12)
    return image


class _Stop(Exception):
    pass


# ----------------------------------------------------------------------------------------------------
# The optimisation works

def test_the_objective_rises(digits):
    v = visualize(digits, "features.conv2", 5, steps=40)
    assert isinstance(v, Visualization) and len(v.objective) == 40
    first, last = sum(v.objective[:5]) / 5, sum(v.objective[-5:]) / 5
    assert last > first + 0.5 * abs(first) + 0.5, (first, last)
    # the final picture, seen without any transformation, excites the channel as strongly
    assert v.activation > first


def test_the_last_30_percent_of_the_steps_see_the_picture_untransformed(digits, monkeypatch):
    seen = []
    real = features._transformed
    monkeypatch.setattr(features, "_transformed", lambda *a, **k: seen.append(1) or real(*a, **k))
    v = visualize(digits, "features.conv2", 5, steps=20)
    assert len(seen) == 14 and len(v.objective) == 20
    # an untransformed step measures the picture as it is: the answer is the last one plus about a step's rise
    rise = v.objective[-1] - v.objective[-2]
    assert abs(v.activation - v.objective[-1]) <= 2 * abs(rise) + 0.05, (v.objective[-3:], v.activation)


def test_the_same_seed_gives_the_same_picture(digits):
    a = visualize(digits, 2, 7, steps=25, seed=3)
    RESULTS.clear()
    b = visualize(digits, 2, 7, steps=25, seed=3)
    assert a is not b
    assert a.image.tobytes() == b.image.tobytes()
    assert torch.allclose(torch.tensor(a.objective), torch.tensor(b.objective), rtol=0, atol=1e-6)
    assert torch.equal(a.input, b.input)


def test_different_seeds_give_different_pictures(digits):
    a = visualize(digits, "features.pool2", 9, steps=25, seed=0)
    b = visualize(digits, "features.pool2", 9, steps=25, seed=1)
    difference = (from_image(a.image) - from_image(b.image)).abs().mean()
    assert difference > 0.05, float(difference)        # pixels differ by 0.14 on average here
    assert a.objective[0] != b.objective[0]


def test_the_picture_excites_its_own_channel_more_than_others(digits):
    channel = 4
    v = visualize(digits, "features.conv2", channel, steps=60)
    own = activation_of(digits, "features.conv2", channel, v.input)
    others = {c: activation_of(digits, "features.conv2", c, v.input) for c in range(channel + 1, channel + 7)}
    assert own == pytest.approx(v.activation, abs=1e-5)
    assert all(own > value for value in others.values()), (own, others)


@pytest.mark.parametrize("stage, kind", [("features.conv1", "conv"), ("features.pool1", "pool"),
                                         ("features.pool2", "pool")])
def test_conv_and_pool_stages_give_grey_28_pixel_pictures(digits, stage, kind):
    ref = stages_of(digits)[[r.name for r in stages_of(digits)].index(stage)]
    assert ref.kind == kind
    v = visualize(digits, stage, 2, steps=30)
    assert v.image.mode == "L" and v.image.size == (28, 28) and v.input.shape == (1, 1, 28, 28)
    assert v.stage == stage and v.channel == 2 and v.objective_name == "channel"
    assert v.objective[-1] > v.objective[0]


def test_unit_and_class_objectives(digits):
    unit = visualize(digits, "features.conv2", 1, objective="unit", steps=30)
    with torch.no_grad():
        out = digits.module.features.conv2(digits.module.features.pool1(digits.module.features.relu1(
            digits.module.features.conv1(unit.input))))
    assert unit.activation == pytest.approx(float(out[0, 1, 5, 5]), abs=1e-5)
    assert unit.objective[-1] > unit.objective[0]

    digit = visualize(digits, "ignored", 3, objective="class", steps=30)
    with torch.no_grad():
        logits = digits.module(digit.input)
    assert digit.stage == "logits" and digit.stage_index is None
    assert digit.activation == pytest.approx(float(logits[0, 3]), abs=1e-5)
    assert int(logits.argmax()) == 3


def test_activation_of_a_picture_matches_the_stages_tab(digits):
    sketch = _seven()
    inspection = digits.inspect(sketch)
    for index in range(len(inspection.stages)):
        expected = float(inspection.stages[index].activation[1].mean())
        assert activation_of(digits, index, 1, sketch) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    by_name = activation_of(digits, "features.pool2", 1, sketch)
    assert by_name == pytest.approx(float(inspection.stages[3].activation[1].mean()), rel=1e-5)


def test_a_module_called_twice_is_two_stages():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            return self.conv(torch.relu(self.conv(x))).mean(dim=(2, 3))

    torch.manual_seed(0)
    module = Twice()
    model = _tiny(module, labels=("a", "b", "c"))
    assert [r.name for r in stages_of(model)] == ["conv", "conv (call 2)"]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        second = module.conv(torch.relu(module.conv(x)))
    assert activation_of(model, "conv (call 2)", 2, x) == pytest.approx(float(second[0, 2].mean()), rel=1e-5)
    v = visualize(model, 1, 2, steps=5)
    assert v.stage == "conv (call 2)" and v.image.size == (64, 64) and v.image.mode == "RGB"


def test_the_default_model_gives_rgb_pictures_at_its_input_size(photo_model):
    v = visualize(photo_model, "blocks.2.0.conv_pw", 3, steps=3)
    assert v.image.mode == "RGB" and v.image.size == (224, 224) and v.input.shape == (1, 3, 224, 224)
    small = visualize(photo_model, "global_pool.pool", 10, steps=3, size=96)
    assert small.image.size == (96, 96) and small.stage_index == len(stages_of(photo_model)) - 1


def _tiny(module: nn.Module, labels=("a", "b")) -> LoadedModel:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("tiny", "Tiny", module, list(labels), PhotoTransform(72, 64, (0.5,) * 3, (0.5,) * 3),
                       torch.device("cpu"), False)


class _Scaled(nn.Module):
    """A layer with a parameter of its own around a convolution: the convolution is a stage inside it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.conv(x) * self.gamma


class _Reused(nn.Module):
    """One convolution run twice, a stage nested in a layer, a pool and a linear layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.block = _Scaled()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.pool(self.block(torch.relu(self.conv(self.conv(x)))))
        return self.fc(x.mean(dim=(2, 3)))


def test_stage_names_and_macs_are_the_traces_and_the_stages_tabs():
    module = _Reused()
    model = _tiny(module)
    refs = stages_of(model)
    _, stages = capture_stages(module, torch.rand(1, 3, 64, 64))
    assert [r.name for r in refs] == [s.name for s in stages] == ["conv", "conv (call 2)", "block.conv", "pool"]
    assert [(r.path, r.call, r.kind, r.channels) for r in refs] == [
        ("conv", 1, "conv", 3), ("conv", 2, "conv", 3), ("block.conv", 1, "conv", 4), ("pool", 1, "pool", 4)]
    with torch.no_grad():
        _, traced = traced_pass(module, torch.rand(1, 3, 64, 64), follow=stage_layers(module), count_macs=True)
    macs = {n.name: n.macs for n in traced.nodes}
    conv, block = 64 * 64 * 3 * 27, 64 * 64 * 4 * 27         # output units x weights per unit, one call each
    assert macs["conv"] == 2 * conv and macs["block"] == macs["block.conv"] == block   # the trace's own count
    assert [r.macs for r in refs] == [conv, 2 * conv, 2 * conv + block, 2 * conv + block]
    assert feature_stages._stages(model)[1] == traced.macs == trace(module, (3, 64, 64)).macs == 2 * conv + block + 4 * 2


def test_a_channel_that_is_off_on_grey_still_gets_a_picture():
    conv = nn.Conv2d(3, 2, 3, padding=1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(-5.0)      # grey (0 after normalising) gives -5: off everywhere behind the ReLU
    model = _tiny(nn.Sequential(conv, nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2048, 2)))
    assert [r.name for r in stages_of(model)] == ["0", "2"]
    v = visualize(model, 1, 0, steps=30)         # a numeric string would be an index, as in the Stages tab
    assert v.objective[0] == 0.0 and v.activation > 1.0, (v.objective[:3], v.activation)


def test_visualize_works_inside_inference_mode_with_the_default_steps(digits):
    assert features.default_steps(digits, 3) == 200
    with torch.inference_mode():
        v = visualize(digits, 3, 1)
    assert v.steps == 200 and v.objective[-1] > v.objective[0]


def test_default_steps_keep_to_200_passes(photo_model):
    steps = [features.default_steps(photo_model, index) for index in range(len(stages_of(photo_model)))]
    assert steps == [200] * len(steps)
    assert features.default_steps(photo_model, objective="class", size=448) < 200


def test_a_dead_relu_still_passes_a_gradient():
    x = torch.full((1, 2, 3, 3), -1.0, requires_grad=True)
    (-feature_objectives._RedirectedClamp.apply(x, 0.0, 6.0)[:, 0].mean()).backward()
    assert x.grad[:, 0].lt(0).all() and x.grad[:, 1].eq(0).all()      # pushes channel 0 up, only it
    y = torch.tensor([[-1.0, 2.0]], requires_grad=True)
    (-feature_objectives._RedirectedClamp.apply(y, 0.0, None).sum()).backward()
    assert y.grad.tolist() == [[0.0, -1.0]]                           # alive: the plain gradient


def test_the_ceiling_of_a_pooling_of_a_relu6_is_6_and_no_picture_passes_it(photo_model):
    top = features.ceiling(photo_model, "global_pool.pool", 859)
    assert top is not None and top.value == 6.0 and top.clamp == (0.0, 6.0) and "ReLU6" in top.reason
    v = visualize(photo_model, "global_pool.pool", 859, steps=40, size=96)
    assert 0 < v.activation <= 6.0                                     # drawn as high as it goes, never above
    photo = Image.open(sorted((ROOT / "assets" / "examples").glob("*.jpg"))[0])
    assert activation_of(photo_model, "global_pool.pool", 859, photo) <= 6.0


def test_the_ceiling_of_a_convolution_of_a_relu6(photo_model):
    conv = photo_model.module.get_submodule("blocks.1.0.conv_pwl")     # reads the block's depthwise ReLU6
    top = features.ceiling(photo_model, "blocks.1.0.conv_pwl", 5)
    assert top.value == pytest.approx(6 * float(conv.weight[5].clamp_min(0).sum()), rel=1e-6)
    # the input that reaches it: 6 where the weight is positive, 0 elsewhere, at every position
    best = 6.0 * (conv.weight[5:6] > 0).float().expand(1, -1, 8, 8)
    assert float(conv(best)[0, 5].mean()) == pytest.approx(top.value, rel=1e-5)
    # a stage that reads the sum of a linear BatchNorm and a residual has no ceiling to read; nor a logit
    assert features.ceiling(photo_model, "blocks.4.0.conv_pw", 92) is None
    assert features.ceiling(photo_model, "conv_stem", 0) is None
    assert features.ceiling(photo_model, 0, 3, objective="class") is None


def test_an_in_place_write_after_the_clamp_lifts_the_ceiling():
    class Shifted(nn.Module):
        def __init__(self, shift: bool):
            super().__init__()
            self.conv, self.shift = nn.Conv2d(3, 4, 3, padding=1), shift
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            y = nn.functional.hardtanh(self.conv(x), -1.0, 2.0, inplace=True)
            if self.shift:
                y += 5.0                                                # no longer within [-1, 2]
            return self.pool(y).flatten(1)

    torch.manual_seed(0)
    plain = features.ceiling(_tiny(Shifted(False), labels="abcd"), "pool", 1)
    assert plain is not None and plain.value == 2.0 and plain.clamp == (-1.0, 2.0)
    assert features.ceiling(_tiny(Shifted(True), labels="abcd"), "pool", 1) is None
    assert features.ceiling(_tiny(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())),
                            1, 0) is None                                # a plain ReLU has no top


# ----------------------------------------------------------------------------------------------------
# The shared model is left as it was

def test_no_hook_left_after_success_cancel_and_error(digits):
    before = hook_count(digits.module)
    visualize(digits, 1, 0, steps=5)
    assert hook_count(digits.module) == before

    def cancel(fraction):
        if fraction >= 0.3:
            raise _Stop

    with pytest.raises(_Stop):
        visualize(digits, 1, 0, steps=10, seed=5, progress=cancel)
    assert hook_count(digits.module) == before

    calls = [0]

    def broken(module, inputs, output):       # an error inside the forward pass, mid-run
        calls[0] += 1
        if calls[0] == 4:
            raise RuntimeError("broken layer")

    handle = digits.module.features.conv1.register_forward_hook(broken)
    try:
        with pytest.raises(RuntimeError, match="broken layer"):
            visualize(digits, 2, 0, steps=10, seed=6)
    finally:
        handle.remove()
    assert hook_count(digits.module) == before and len(RESULTS) == 1


def test_a_cancelled_run_caches_nothing(digits):
    seen = []

    def cancel(fraction):
        seen.append(fraction)
        if len(seen) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        visualize(digits, 0, 1, steps=20, progress=cancel)
    assert len(RESULTS) == 0 and seen == [1 / 20, 2 / 20, 3 / 20]
    fractions = []
    v = visualize(digits, 0, 1, steps=20, progress=fractions.append)
    assert len(fractions) == 20 and fractions[-1] == 1.0 and len(RESULTS) == 1
    again = []
    assert visualize(digits, 0, 1, steps=20, progress=again.append) is v and again == [1.0]


def test_weights_and_mode_are_unchanged(digits):
    state = {k: v.clone() for k, v in digits.module.state_dict().items()}
    visualize(digits, 3, 4, steps=20)
    visualize(digits, 0, 4, objective="class", steps=10)
    assert not digits.module.training
    assert not any(p.requires_grad for p in digits.module.parameters())
    after = digits.module.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)


def test_a_concurrent_predict_answers_while_visualize_runs(digits):
    started, stop, done, errors = threading.Event(), threading.Event(), threading.Event(), []

    def slow(fraction):
        started.set()
        if stop.is_set():
            raise _Stop             # cancel once the predict has answered: the test need not wait
        time.sleep(0.002)

    def run():
        try:
            visualize(digits, 3, 0, steps=512, progress=slow)
        except Exception as error:     # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(30)
        answer = digits.predict(_seven())
        assert not done.is_set(), "visualize finished first: the predict could not be checked"
        assert answer[0][0] in digits.labels
    finally:
        stop.set()
        thread.join(60)
    assert len(errors) == 1 and isinstance(errors[0], _Stop) and len(RESULTS) == 0


# ----------------------------------------------------------------------------------------------------
# Bad requests

@pytest.mark.parametrize("args, kwargs, word", [
    (("features.nope", 0), {}, "stage"),
    ((4, 0), {}, "stage"),
    ((-1, 0), {}, "stage"),
    ((None, 0), {}, "stage"),
    ((0, 16), {}, "channel"),
    ((0, -1), {}, "channel"),
    ((0, 1.5), {}, "channel"),
    ((0, 10), {"objective": "class"}, "channel"),
    ((0, 0), {"steps": 0}, "steps"),
    ((0, 0), {"steps": 513}, "steps"),
    ((0, 0), {"steps": "many"}, "steps"),
    ((0, 0), {"objective": "colour"}, "objective"),
    ((0, 0), {"size": 56}, "size"),
    ((0, 0), {"seed": -1}, "seed"),
])
def test_bad_requests_are_refused_by_name(digits, args, kwargs, word):
    before = hook_count(digits.module)
    with pytest.raises(ValueError) as error:
        visualize(digits, *args, **kwargs)
    assert str(error.value).startswith(f"{word}:"), str(error.value)
    assert hook_count(digits.module) == before and len(RESULTS) == 0


def test_bad_sizes_for_photo_models(photo_model):
    for size in (8, 1000):
        with pytest.raises(ValueError, match="^size: .*64 to 512"):
            visualize(photo_model, 0, 0, size=size, steps=1)


def test_messages_give_the_allowed_range(digits):
    with pytest.raises(ValueError, match=r"channel: 99 does not exist; this stage has channels 0 to 31"):
        visualize(digits, "features.conv2", 99)
    with pytest.raises(ValueError, match=r"stage: 7 does not exist; this model has stages 0 to 3"):
        visualize(digits, 7, 0)
    with pytest.raises(ValueError, match=r"steps: 0 .* give 1 to 512"):
        visualize(digits, 0, 0, steps=0)
    with pytest.raises(ValueError, match=r"channel: .*0 to 9"):
        activation_of(digits, 0, 12, _seven(), objective="class")


@pytest.mark.e2e
def test_visualize_endpoint_returns_the_picture_and_its_activation(client):
    from explorer.core.models import get_model

    path, numbers = client.predict("digits", "features.conv2", 3, "channel", 0, 24, api_name="/visualize")
    assert numbers["stage"] == "features.conv2" and numbers["steps"] == 24 and len(numbers["objective"]) == 24
    model, _ = get_model("digits")
    picture = Image.open(path).convert("L")
    assert picture.size == (28, 28)
    measured = activation_of(model, "features.conv2", 3, features.normalise(model, from_image(picture)))
    assert measured == pytest.approx(numbers["activation"], rel=1e-5, abs=1e-6)
    with pytest.raises(Exception, match="channel"):
        client.predict("digits", "features.conv2", 999, "channel", 0, 24, api_name="/visualize")
    most = features.default_steps(model, "features.conv2")
    with pytest.raises(Exception, match=f"steps: {most + 1} is more than .* at most {most}"):
        client.predict("digits", "features.conv2", 3, "channel", 0, most + 1, api_name="/visualize")


def test_a_drawing_nobody_waits_for_stops_at_its_next_step(monkeypatch):
    """A visitor who left (Gradio marks the session's jobs dead) stops the drawing as Cancel does."""
    import gradio as gr
    from test_budgets import _request

    from explorer.ui import stages_features

    photo = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "cat.jpg")
    steps = []
    real = features.visualize

    def counted(*args, progress=None, **kwargs):
        return real(*args, progress=lambda f: (steps.append(f), progress(f)), **kwargs)

    monkeypatch.setattr(features, "visualize", counted)
    told = []
    monkeypatch.setattr(gr, "Info", lambda message, **kwargs: told.append(message))
    features.RESULTS.clear()
    answer = stages_features.on_feature(photo, DEFAULT_MODEL, 1, 0, "channel", 12345,
                                        request=_request("gone", False), progress=lambda *a, **k: None)
    assert answer == {}                                     # nothing on the page changes: the last drawing stays
    assert len(told) == 1 and told[0].startswith("Stopped")     # an Info toast says so, not an "Error" one
    assert len(steps) == 1                                  # stopped at the first step it reported
