"""Stage capture against forward hooks written here, and receptive fields against hand counts and autograd."""
from pathlib import Path

import pytest
import torch
from hook_recorder import hook_count, recording
from PIL import Image
from sketches import strokes_picture
from torch import nn
from torchvision.transforms import functional as TF

from explorer.core.models import MODEL_NAMES, load_model
from explorer.core.stages import capture_stages, stage_kind

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _own_hooks(module: nn.Module, x: torch.Tensor):
    """Every Conv2d / pooling module call, in order, recorded by hooks of this test's own."""
    names = {m: n for n, m in module.named_modules()}
    with recording([m for m in module.modules() if isinstance(m, (nn.Conv2d,) + POOLS)],
                   lambda m, i, o: (names[m], o[0].detach().clone())) as recorded, torch.inference_mode():
        module(x)
    return recorded


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_stages_match_own_hooks_on_every_model(name):
    torch.manual_seed(0)
    model = load_model(name, pretrained=False)
    image = strokes_picture()
    x = model.preprocess(image)
    expected = _own_hooks(model.module, x)
    stages = model.stages(image)
    assert [s.name.split(" (call")[0] for s in stages] == [n for n, _ in expected]
    for stage, (_, activation) in zip(stages, expected):
        assert stage.activation.shape == activation.shape
        torch.testing.assert_close(stage.activation, activation)
        assert stage.kind == ("conv" if "Conv" in stage.layer.split("(")[0] else "pool")
    assert hook_count(model.module) == 0
    assert not [m for m in model.module.modules() if "forward" in vars(m)], "a wrapped forward was left behind"


def test_inplace_relu_does_not_rectify_the_conv_stage():
    model = load_model("alexnet", pretrained=False)
    image = Image.new("RGB", (224, 224), (10, 200, 90))
    first = model.stages(image)[0]
    conv = model.module.features[0]
    direct = torch.nn.functional.conv2d(model.preprocess(image), conv.weight, conv.bias, conv.stride, conv.padding)[0]
    assert first.activation.min() < 0, "AlexNet's ReLU(inplace=True) must not leak into the conv stage"
    torch.testing.assert_close(first.activation, direct)


def test_receptive_field_by_hand_on_a_small_stack():
    stack = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, stride=2),
                          nn.Conv2d(1, 1, 5, dilation=2))
    _, stages = capture_stages(stack, torch.zeros(1, 1, 64, 64))
    # by hand: rf 3 (j 1) -> +1*1 = 4 (j 2) -> +2*2 = 8 (j 4) -> +(5-1)*2*4 = 40 (j 4)
    assert [s.receptive_field for s in stages] == [(3, 3), (4, 4), (8, 8), (40, 40)]
    assert [s.jump for s in stages] == [(1, 1), (2, 2), (4, 4), (4, 4)]
    # first conv with padding 1: unit 0 is centred on pixel 0 and spans pixels -1..1
    assert stages[0].box(0, 0) == (-1, -1, 2, 2)


def _gradient_box(module, x, stage_index, i, j):
    """Bounding box of the input pixels whose gradient reaches unit (i, j) of a stage."""
    x = x.clone().requires_grad_(True)
    with recording(m for m in module.modules() if stage_kind(m)) as outputs:
        module(x)
    outputs[stage_index][0, :, i, j].sum().backward()
    support = x.grad[0].abs().sum(0).nonzero()
    top, left = support.min(0).values.tolist()
    bottom, right = support.max(0).values.tolist()
    return left, top, right + 1, bottom + 1


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.body = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1))
        self.pool = nn.AvgPool2d(3, stride=2)  # max pooling routes gradient to one tap only

    def forward(self, x):
        x = self.stem(x)
        return self.pool(x + self.body(x))


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Conv2d(1, 2, 5, stride=2, padding=2), nn.AvgPool2d(3, stride=2, padding=1),
                          nn.Conv2d(2, 2, 3, dilation=2)),
    _Residual,
])
def test_receptive_field_box_equals_autograd_support(build):
    torch.manual_seed(0)
    module = build()
    for p in module.parameters():  # positive weights, no ReLU: every connection carries gradient
        p.data = p.data.abs() + 0.1
    x = torch.rand(1, 1, 40, 40) + 0.5
    _, stages = capture_stages(module, x)
    for index, stage in enumerate(stages):
        h, w = stage.output_shape[1:]
        for i, j in [(0, 0), (h // 2, w // 2), (h - 1, w - 1)]:
            left, top, right, bottom = stage.box(i, j)
            clipped = (max(left, 0), max(top, 0), min(right, 40), min(bottom, 40))
            assert clipped == _gradient_box(module, x, index, i, j), (stage.name, i, j)


def test_resnet18_last_block_has_the_published_receptive_field():
    stages = load_model("resnet18", pretrained=False).stages(Image.new("RGB", (224, 224)))
    layer4 = [s for s in stages if s.name == "layer4.1.conv2"][0]
    assert layer4.receptive_field == (435, 435) and layer4.jump == (32, 32)


def test_a_second_pass_reuses_the_receptive_fields_it_tracked():
    model = load_model("googlenet", pretrained=False)
    first = model.stages(strokes_picture())
    second = model.stages(strokes_picture().rotate(90))
    assert [s.field for s in second] == [s.field for s in first]
    x = model.preprocess(strokes_picture())
    _, tracked = capture_stages(model.module, x)
    assert [s.field for s in tracked] == [s.field for s in first]
    # fields of the wrong length (another path through the model) are tracked again, not trusted
    _, retracked = capture_stages(model.module, x, fields=[s.field for s in first][:3])
    assert [s.field for s in retracked] == [s.field for s in first]


@pytest.mark.parametrize("name", ["efficientnet_lite0", "resnet18", "alexnet"])
def test_the_sweeps_input_and_answers_are_torchvisions_to_the_last_bit(name):
    """preprocess / inspect build the input without torchvision's copies (explorer.core.loaded_model.
    photo_tensor): the same tensor, and the same logits and stages as from torchvision's own tensor."""
    torch.manual_seed(0)
    model = load_model(name, pretrained=False)
    photo = Image.open(EXAMPLES / "espresso.jpg")          # not square: resized and cropped
    seen = model.transform.seen(photo.convert("RGB"))
    reference = TF.normalize(TF.to_tensor(seen), model.transform.mean, model.transform.std)[None]
    x = model.preprocess(photo)
    assert torch.equal(x, reference) and x.is_contiguous(memory_format=torch.channels_last)
    inspection = model.inspect(photo)
    logits, stages = model.sweep(reference.contiguous())
    assert inspection.predictions == model._top(logits, 5)
    assert len(inspection.stages) == len(stages)
    for mine, theirs in zip(inspection.stages, stages):
        assert torch.equal(mine.activation, theirs.activation), mine.name
    with torch.inference_mode():
        assert torch.equal(model.module(x), model.module(reference.contiguous()))
