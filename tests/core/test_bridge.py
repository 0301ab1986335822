"""explorer.core.bridge.explain_unit against PyTorch: each unit's total against the layer's real output
taken by this test's own hooks, each partial sum against the layer's own forward run with every other
input channel's weights zeroed, the steps after it against the BatchNorm and activation modules' own
outputs, and the Kernel tab's replay through explorer.core.sliding.slide."""
import copy

import numpy as np
import pytest
import torch
from hook_recorder import recording
from PIL import Image
from sketches import strokes_picture
from torch import nn

from explorer.core.bridge import describe_unit, explain_unit
from explorer.core.models import MODEL_NAMES, LoadedModel, PhotoTransform, load_model
from explorer.core.sliding import slide
from explorer.core.stages import layer_input
from explorer.drawing.unit_drawing import render_unit

STAGE_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)




def _own_hooks(module: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """(layer, its input, its output) of every conv and pool call, by hooks of this test's own."""
    with recording([m for m in module.modules() if isinstance(m, STAGE_TYPES)],
                   lambda m, i, o: (m, i[0][0].clone(), o[0].clone())) as recorded, torch.inference_mode():
        module(x)
    return recorded


def _units(shape) -> list[tuple[int, int]]:
    _, h, w = shape
    return sorted({(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)})


def _partial_by_the_layer(layer: nn.Conv2d, received, channel, input_channel, row, col) -> float:
    """The layer's own forward with every weight but (channel, input_channel) zeroed and no bias."""
    alone = copy.deepcopy(layer)
    with torch.no_grad():
        weight = torch.zeros_like(alone.weight)
        per_group = alone.weight.shape[1]
        weight[channel, input_channel % per_group] = layer.weight[channel, input_channel % per_group]
        alone.weight.copy_(weight)
        if alone.bias is not None:
            alone.bias.zero_()
        return float(alone(received[None].to(alone.weight.dtype))[0, channel, row, col])


def _check_stages(model: LoadedModel, image, units=_units, every: int = 1) -> int:
    """Every `every`-th stage, each of its units: the total equals the real output; the three largest
    partials equal the layer's own forward on that input channel alone. Returns the units checked."""
    x = model.preprocess(image)
    real = _own_hooks(model.module, x)
    inspection = model.inspect(image)
    assert len(real) == len(inspection.stages)
    checked = 0
    for index in range(0, len(real), every):
        layer, received, output = real[index]
        # kept, or rebuilt from the stage before it with its BatchNorm and activation: what the layer got
        torch.testing.assert_close(layer_input(inspection.stages, index), received.float(), rtol=1e-5, atol=1e-6)
        channel = output.shape[0] // 2
        for row, col in units(output.shape):
            u = explain_unit(model, inspection, index, channel, row, col)
            expected = float(output[channel, row, col])
            assert u.total == pytest.approx(expected, rel=1e-4, abs=1e-5), (u.stage, row, col)
            assert u.value == pytest.approx(expected, rel=1e-6, abs=1e-7) and u.agrees()
            if u.kind == "conv":
                assert u.partials == pytest.approx((u.window * u.kernel).sum(axis=(1, 2)))
                for k in u.order[:3]:
                    alone = _partial_by_the_layer(layer, received, channel, u.channels[k], row, col)
                    assert u.partials[k] == pytest.approx(alone, rel=1e-4, abs=1e-5), (u.stage, k)
            checked += 1
    return checked


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_every_stage_corners_and_centre(name):
    torch.manual_seed(0)
    model = load_model(name, pretrained=False)
    assert _check_stages(model, strokes_picture()) >= 2 * len(model.stages(strokes_picture()))   # 1x1 maps have one unit


def _loaded(module: nn.Module, channels: int = 3, side: int = 24) -> LoadedModel:
    transform = PhotoTransform(side, side, (0.5,) * channels, (0.5,) * channels)
    if channels == 1:
        transform = lambda image: torch.from_numpy(                                   # noqa: E731
            np.asarray(image.convert("L").resize((side, side)), np.float32) / 255)[None]
    torch.manual_seed(1)
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel("test", "Test", module.eval(), ["a", "b"], transform, torch.device("cpu"), False)


class _Odd(nn.Module):
    """Every geometry the bridge must get right, one layer each."""

    def __init__(self):
        super().__init__()
        from timm.layers import Conv2dSame
        from timm.layers.pool2d_same import AvgPool2dSame, MaxPool2dSame

        self.same = Conv2dSame(3, 8, 3, stride=2)                  # pads asymmetrically inside forward
        self.dilated = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.Hardswish()
        self.pointwise = nn.Conv2d(8, 6, 1)
        self.string_same = nn.Conv2d(6, 6, (3, 2), padding="same", dilation=(1, 2))
        self.rect = nn.Conv2d(6, 6, (2, 3), stride=(1, 2), padding=(1, 0))
        self.maxpad = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg_in = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg_ex = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.avg_div = nn.AvgPool2d(2, stride=1, padding=1, divisor_override=3)
        self.max_same = MaxPool2dSame(2, stride=2)
        self.avg_same = AvgPool2dSame(3, stride=2, count_include_pad=False)
        self.adaptive_avg = nn.AdaptiveAvgPool2d((3, 2))
        self.adaptive_max = nn.AdaptiveMaxPool2d(2)

    def forward(self, x):
        x = self.same(x)
        x = self.dilated(x)
        x = self.grouped(x)
        x = self.act(self.bn(self.depthwise(x)))
        x = self.string_same(self.pointwise(x))
        x = self.rect(x)
        x = self.maxpad(x)
        x = self.avg_ex(self.avg_in(x))
        x = self.avg_div(x)
        y = self.adaptive_avg(x)
        z = self.avg_same(x).mean()
        score = self.adaptive_max(self.max_same(x)).flatten(1).sum(1, keepdim=True) + y.mean() + z
        return torch.cat([score, -score], 1)


def _every_unit(shape):
    _, h, w = shape
    return [(i, j) for i in range(h) for j in range(w)]


def test_padding_stride_dilation_groups_same_rectangles_and_every_pool_rule():
    model = _loaded(_Odd(), side=28)          # odd padding for the SAME convolution: 0 above, 1 below
    with torch.no_grad():
        for m in model.module.modules():       # non-trivial BatchNorm statistics
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 2)
                m.bias.uniform_(-1, 1)
    image = Image.effect_noise((40, 40), 60).convert("RGB")
    inspection = model.inspect(image)
    ops = [s.call.op for s in inspection.stages]
    assert ops.count("conv2d") == 7 and {"max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
                                         "adaptive_max_pool2d"} <= set(ops)
    assert _check_stages(model, image, units=_every_unit) > 500
    same = explain_unit(model, inspection, 0, 0, 0, 0)
    assert same.padded_inside and same.pad[0] != same.pad[1] and "SAME" in describe_unit(same)
    depthwise = explain_unit(model, inspection, "depthwise", 5, 0, 0)
    assert depthwise.channels == [5] and "reads only input channel 5" in describe_unit(depthwise)
    grouped = explain_unit(model, inspection, "grouped", 5, 1, 1)
    assert grouped.channels == [4, 5] and "Grouped (4 groups)" in describe_unit(grouped)
    corner = explain_unit(model, inspection, "maxpad", 2, 0, 0)
    assert corner.padding_mask[0].all() and corner.padding_mask[:, 0].all()


def test_batchnorm_and_activation_after_a_unit_are_the_modules_own_outputs():
    model = load_model("resnet18", pretrained=False)
    with torch.no_grad():
        model.module.bn1.running_mean.uniform_(-0.5, 0.5)
        model.module.bn1.running_var.uniform_(0.5, 2)
    names = {model.module.bn1: "bn1", model.module.relu: "relu"}
    with recording(names, lambda m, i, o: (names[m], o[0].clone())) as recorded:
        inspection = model.inspect(strokes_picture())
    seen = dict(recorded)
    for channel, row, col in [(0, 0, 0), (7, 50, 61), (63, 111, 111)]:
        u = explain_unit(model, inspection, "conv1", channel, row, col)
        (bn_words, bn_value), (relu_words, relu_value) = u.after
        assert "BatchNorm" in bn_words and "ReLU" in relu_words
        assert bn_value == pytest.approx(float(seen["bn1"][channel, row, col]), rel=1e-5, abs=1e-6)
        # the ReLU is in place: the relu hook's first call is the stem's, on bn1's output
        assert relu_value == pytest.approx(max(bn_value, 0.0)) and u.then == "max_pool2d"
    block = explain_unit(model, inspection, "layer1.0.conv2", 3, 4, 4)
    assert [w.split(":")[0] for w, _ in block.after] == ["BatchNorm"] and block.then == "add"
    assert "residual" in describe_unit(block)


def test_the_kernel_tab_replay_gives_the_partial_sum_at_its_position():
    model = load_model("efficientnet_lite0", pretrained=False)
    inspection = model.inspect(strokes_picture())
    replayed = 0
    for index, stage in enumerate(inspection.stages):
        _, h, w = stage.output_shape
        for row, col in [(0, 0), (h // 2, w // 3), (h - 1, w - 1)]:
            u = explain_unit(model, inspection, index, 1, row, col)
            if u.kind == "pool":
                continue
            k = u.kernel_tab()
            assert len(k["matrix"]) <= 32 and len(k["matrix"][0]) <= 32
            s = slide(k["matrix"], k["kernel"], op="conv", stride=k["stride"], dilation=k["dilation"])
            expected = float(u.partials[u.order[0]])
            assert s.output[k["position"]] == pytest.approx(expected, rel=1e-5, abs=1e-6)
            assert k["channel"] == u.channels[u.order[0]]
            replayed += 1
    assert replayed > 100


def test_pool_replay_and_what_cannot_be_replayed():
    model = load_model("resnet18", pretrained=False)
    inspection = model.inspect(strokes_picture())
    inner = explain_unit(model, inspection, "maxpool", 4, 20, 30)
    k = inner.kernel_tab()
    s = slide(k["matrix"], op="max", kernel_size=k["kernel_size"], stride=k["stride"])
    assert s.output[k["position"]] == pytest.approx(inner.total)
    with pytest.raises(ValueError, match="padding"):
        explain_unit(model, inspection, "maxpool", 4, 0, 0).kernel_tab()
    with pytest.raises(ValueError, match="uneven"):
        explain_unit(model, inspection, "avgpool", 4, 0, 0).kernel_tab()


def test_with_an_inspection_no_model_runs():
    model = load_model("digits", pretrained=False)
    inspection = model.inspect(strokes_picture())

    def forbidden(*args, **kwargs):
        raise AssertionError("explain_unit ran the model")

    model.module.forward = forbidden
    u = explain_unit(model, inspection, 2, 3, 4, 5)
    assert u.kind == "conv" and u.agrees()
    assert render_unit(u).size[0] > 0


@pytest.mark.parametrize("arguments, message", [
    ((99, 0, 0, 0), "stage: 99 does not exist; this model has stages 0 to 3"),
    (("nope", 0, 0, 0), "stage: no stage is named 'nope'"),
    ((0, 16, 0, 0), "channel: 16 is outside the map; this stage has channels 0 to 15"),
    ((0, 0, 28, 0), "row: 28 is outside the map; the map is 28x28: rows 0 to 27"),
    ((0, 0, 0, -1), "col: -1 is outside the map"),
    ((0, 0, 1.5, 0), "row: 1.5 is not a whole number"),
])
def test_bad_arguments_are_named_with_their_range(arguments, message):
    model = load_model("digits", pretrained=False)
    inspection = model.inspect(strokes_picture())
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        explain_unit(model, inspection, *arguments)


def test_a_stage_whose_op_cannot_be_followed_is_refused_in_words():
    class Reflect(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect")

        def forward(self, x):
            return self.conv(x).mean((2, 3))

    model = _loaded(Reflect())
    with pytest.raises(ValueError, match="stage: conv runs .* cannot be followed unit by unit"):
        explain_unit(model, Image.new("RGB", (30, 30)), 0, 0, 0, 0)


@pytest.mark.e2e
def test_unit_endpoint_gives_the_sum_and_pytorchs_value(client):
    from gradio_client import handle_file

    from explorer.core.models import get_model

    path = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "assets" / "examples" / "espresso.jpg")
    answer, picture = client.predict(handle_file(path), "efficientnet_lite0", "blocks.1.0.conv_pw", 7, 20, 30,
                                     api_name="/unit")
    model, _ = get_model("efficientnet_lite0")
    real = _own_hooks(model.module, model.preprocess(Image.open(path)))
    names = [s.name for s in model.inspect(Image.open(path)).stages]
    expected = float(real[names.index("blocks.1.0.conv_pw")][2][7, 20, 30])
    assert answer["total"] == pytest.approx(expected, rel=1e-4, abs=1e-5) and answer["agrees"]
    assert sum(answer["partials"]) + answer["bias"] == pytest.approx(answer["total"])
    assert "How this number was made" in answer["words"] and Image.open(picture).size[0] > 0
    with pytest.raises(Exception, match="channel: 999"):
        client.predict(handle_file(path), "efficientnet_lite0", "3", 999, 0, 0, api_name="/unit")


def test_inputs_changed_in_place_after_their_layer_are_kept_as_they_were_read():
    class Later(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Conv2d(3, 4, 3)
            self.second = nn.Conv2d(4, 4, 3)

        def forward(self, x):
            a = self.first(x)
            a.relu_()                # changes the first conv's output in place, after it was taken
            y = a * 2                # not a per-unit step: the second conv's input must be kept
            z = self.second(y)
            y.add_(1.0)              # changes the second conv's input in place, after it was read
            return (z.mean((2, 3)) + y.mean())[:, :2]

    model = _loaded(Later())
    image = Image.effect_noise((24, 24), 60).convert("RGB")
    for _ in range(2):           # the tracked pass, then the fast pass that trusts what it learned
        inspection = model.inspect(image)
        assert [(s.copy_input, s.copy_output) for s in inspection.stages] == [(False, True), (True, False)]
        assert _check_stages(model, image, units=_every_unit) > 0
