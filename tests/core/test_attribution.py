"""explorer.core.attribution against autograd and the Grad-CAM formula on a tiny model, and on real models."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hook_recorder import hook_count, recording
from PIL import Image
from torch import nn

from explorer.core.attribution import (
    METHODS,
    Cancelled,
    attribute,
    attribute_input,
    conv_layers,
    explain,
    guided_backprop_check,
    methods_for,
    normalise,
    resolve_target,
    signed,
)
from explorer.core.models import DEFAULT_MODEL, LoadedModel, PhotoTransform, get_model, load_model
from explorer.core.stages import capture_stages
from explorer.drawing.saliency import colorize, overlay

FAST = {"integrated_gradients": {"n_steps": 4}, "smoothgrad": {"nt_samples": 3},
        "occlusion": {"window": 4, "stride": 4}}


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1)
        self.relu2 = nn.ReLU(inplace=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.head(x.mean(dim=(2, 3)))


def tiny_model(module=None) -> LoadedModel:
    module = (module or Tiny()).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("tiny", "Tiny", module, ["ant", "bee", "cat"],
                       PhotoTransform(20, 16, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), torch.device("cpu"), True)


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def picture():
    rng = np.random.default_rng(2)
    return Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))


def test_saliency_is_the_autograd_gradient(tiny, x):
    xg = x.clone().requires_grad_()
    tiny.module(xg)[0, 2].backward()
    result = attribute_input(tiny, x, "saliency", target=2)
    np.testing.assert_allclose(result.input_map, xg.grad[0].sum(0).numpy(), rtol=1e-5, atol=1e-7)
    assert np.abs(result.input_map).max() > 0


def test_gradcam_is_relu_of_gradient_weighted_channel_sum(tiny, x):
    xg = x.clone().requires_grad_()
    # clone: the in-place ReLU after conv2 would rectify it (the recorder's hook returns None: the model
    # goes on with its own output)
    with recording(tiny.module.conv2, lambda m, i, o: o.clone()) as activations:
        logits = tiny.module(xg)
    # the score as a function of the conv2 output, to differentiate w.r.t. it
    a = activations[0].detach().requires_grad_()
    score = tiny.module.head(F.relu(a).mean(dim=(2, 3)))[0, 1]
    grad, = torch.autograd.grad(score, a)
    assert torch.allclose(score, logits[0, 1])
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True))
    expected = F.interpolate(cam, size=(16, 16), mode="bilinear", align_corners=False)[0, 0].detach().numpy()
    result = attribute_input(tiny, x, "gradcam", target=1, layer="conv2")
    assert result.layer == "conv2"
    np.testing.assert_allclose(result.input_map, expected, rtol=1e-5, atol=1e-7)


def test_default_target_is_the_top_prediction(tiny, x):
    result = attribute_input(tiny, x, "saliency")
    assert result.target == int(tiny.module(x).argmax())
    assert result.label == tiny.labels[result.target]


@pytest.mark.parametrize("method", list(METHODS))
def test_map_has_the_pictures_size_and_no_hooks_remain(tiny, picture, method):
    heat = attribute(tiny, picture, method, target=0, **FAST.get(method, {}))
    assert heat.shape == (picture.height, picture.width)
    assert heat.dtype.kind == "f" and np.isfinite(heat).all()
    assert hook_count(tiny.module) == 0


def test_map_lies_inside_the_crop_the_model_saw(tiny, picture):
    heat = attribute(tiny, picture, "gradcam", target=0)
    left, top, right, bottom = tiny.transform.crop_box(picture.size)
    outside = np.ones_like(heat, dtype=bool)
    outside[round(top):round(bottom), round(left):round(right)] = False
    assert np.all(heat[outside] == 0)
    assert np.abs(heat[~outside]).max() > 0


def test_cancelling_leaves_no_hooks(tiny, x):
    def cancel(fraction):
        raise Cancelled("stop")

    for method in ("gradcam", "guided_gradcam", "integrated_gradients", "occlusion"):
        with pytest.raises(Cancelled):
            attribute_input(tiny, x, method, target=0, progress=cancel, **FAST.get(method, {}))
        assert hook_count(tiny.module) == 0


def test_progress_reaches_one(tiny, x):
    seen = []
    attribute_input(tiny, x, "integrated_gradients", target=0, n_steps=8, internal_batch_size=2,
                    progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) >= 5 and seen == sorted(seen)


@pytest.mark.parametrize("target, words", [(3, "out of range"), (1000, "out of range"), (-1, "out of range"),
                                           ("zebra", "no class named 'zebra'"), (1.5, "class index")])
def test_bad_targets_are_named(tiny, x, target, words):
    with pytest.raises(ValueError, match=words):
        attribute_input(tiny, x, "saliency", target=target)


def test_targets_by_name_and_number(tiny):
    assert resolve_target(tiny, "Bee") == 1
    assert resolve_target(tiny, " 2 ") == 2
    assert resolve_target(tiny, None) is None and resolve_target(tiny, "") is None


def test_unknown_method_and_options_are_named(tiny, x):
    with pytest.raises(ValueError, match="unknown 'lime'"):
        attribute_input(tiny, x, "lime")
    with pytest.raises(ValueError, match="saliency does not take n_steps"):
        attribute_input(tiny, x, "saliency", n_steps=4)
    with pytest.raises(ValueError, match="n_steps"):
        attribute_input(tiny, x, "integrated_gradients", n_steps="many")
    with pytest.raises(ValueError, match="'fc' is not a conv stage"):
        attribute_input(tiny, x, "gradcam", layer="fc")


def test_occlusion_window_larger_than_the_input(tiny, x):
    with pytest.raises(ValueError, match="window .* larger than the model's input"):
        attribute_input(tiny, x, "occlusion", window=17)


def test_occlusion_is_the_score_drop_of_each_window(tiny, x):
    """A window that covers one pixel alone: its attribution is the score drop when that pixel is zeroed."""
    result = attribute_input(tiny, x, "occlusion", target=0, window=4, stride=4)
    with torch.no_grad():
        full = tiny.module(x)[0, 0]
        occluded = x.clone()
        occluded[..., 4:8, 8:12] = 0
        drop = float(full - tiny.module(occluded)[0, 0])
    # Captum gives every pixel of the window the drop; channels are summed
    np.testing.assert_allclose(result.input_map[5, 9], 3 * drop, rtol=1e-4, atol=1e-6)


def test_guided_methods_only_where_relus_are_modules():
    assert "guided_gradcam" in methods_for(tiny_model())
    reused = Tiny()
    reused.relu2 = reused.relu1            # one ReLU module used twice, as ResNet does
    assert not guided_backprop_check(tiny_model(reused))[0]

    class Functional(Tiny):
        def forward(self, x):
            x = F.relu(self.conv2(F.relu(self.conv1(x))))
            return self.head(x.mean(dim=(2, 3)))

    model = tiny_model(Functional())
    valid, why = guided_backprop_check(model)
    assert not valid and "relu" in why
    assert "guided_gradcam" not in methods_for(model)
    with pytest.raises(ValueError, match="not computed correctly"):
        attribute_input(model, torch.zeros(1, 3, 16, 16), "guided_gradcam", target=0)


@pytest.mark.parametrize("name, guided", [("resnet18", False), ("googlenet", False), ("mobilenet_v2", False),
                                          ("vgg16", True), (DEFAULT_MODEL, False)])
def test_guided_validity_of_real_architectures(name, guided):
    model = get_model(name)[0] if name == DEFAULT_MODEL else load_model(name, pretrained=False)
    assert guided_backprop_check(model)[0] is guided
    assert hook_count(model.module) == 0


def test_conv_layers_are_the_stages_conv_names():
    model = get_model(DEFAULT_MODEL)[0]
    with torch.no_grad():
        _, stages = capture_stages(model.module, model.preprocess(Image.new("RGB", (64, 64), "gray")))
    assert conv_layers(model) == [s.name for s in stages if s.kind == "conv"]


@pytest.mark.parametrize("method", list(METHODS))
def test_real_model_maps_are_finite_and_not_constant(method):
    model = get_model(DEFAULT_MODEL)[0]
    if method not in methods_for(model):
        model = load_model("vgg16", pretrained=False)   # guided methods: a model with plain ReLU modules
    options = {"occlusion": {"window": 56, "stride": 56}}.get(method, FAST.get(method, {}))
    result, heat = explain(model, "assets/examples/espresso.jpg", method, **options)
    assert heat.shape == Image.open("assets/examples/espresso.jpg").size[::-1]
    assert np.isfinite(result.input_map).all() and result.input_map.std() > 0
    assert hook_count(model.module) == 0
    if model.pretrained:
        assert result.label == "espresso"


def test_attribution_works_inside_no_grad(tiny, x):
    with torch.no_grad():
        result = attribute_input(tiny, x, "saliency", target=0)
    assert np.abs(result.input_map).max() > 0


def test_display_helpers():
    heat = np.array([[-2.0, 0.0], [1.0, 3.0]])
    assert signed(heat, "absolute").tolist() == [[2, 0], [1, 3]]
    assert signed(heat, "positive").tolist() == [[0, 0], [1, 3]]
    assert signed(heat, "negative").tolist() == [[2, 0], [0, 0]]
    with pytest.raises(ValueError, match="sign"):
        signed(heat, "both")
    scaled = normalise(np.abs(heat))
    assert scaled.min() == 0 and scaled.max() == 1
    assert normalise(np.zeros((2, 2))).max() == 0
    picture = Image.new("RGB", (2, 2), (10, 200, 30))
    assert overlay(picture, scaled, opacity=0.0).tobytes() == picture.tobytes()
    assert overlay(picture, scaled, opacity=1.0).getpixel((1, 1)) == colorize(scaled).getpixel((1, 1))
    with pytest.raises(ValueError, match="opacity"):
        overlay(picture, scaled, opacity=2)
    for not_a_number in ("lots", None, [0.5]):
        with pytest.raises(ValueError, match="opacity: .* is not a number"):
            overlay(picture, scaled, opacity=not_a_number)
    assert overlay(picture, scaled, opacity="0.5").tobytes() == overlay(picture, scaled, opacity=0.5).tobytes()
    with pytest.raises(ValueError, match="colour map"):
        colorize(scaled, "rainbow-unicorn")


@pytest.mark.parametrize("method, options", [
    ("saliency", {}), ("gradcam", {}), ("integrated_gradients", {"n_steps": 8}),
    ("smoothgrad", {"nt_samples": 5}), ("occlusion", {"window": 7, "stride": 5})])
def test_image_passes_counts_the_pictures_the_method_runs(method, options):
    """The count that sizes a GPU slot (each METHODS entry's `passes`) is what the run really does: the
    pictures through the model, counted by a hook on it."""
    from explorer.core.attribution import attribute_input, image_passes

    model = load_model("digits", pretrained=False)
    x = torch.rand(1, 1, 28, 28)
    attribute_input(model, x, method, target=3, **options)   # the first run also measures a picture's memory
    with recording(model.module, lambda module, inputs, output: inputs[0].shape[0]) as pictures:
        attribute_input(model, x, method, target=3, **options)
    assert image_passes(method, options, (28, 28)) == sum(pictures)
