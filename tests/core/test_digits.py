"""The digits model: committed weights, held-out accuracy, sketch preprocessing, drawn strokes."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from sketches import draw

from explorer.core.digits import (
    DIGIT_LABELS,
    INPUT_SIZE,
    WEIGHTS_PATH,
    DigitNet,
    load_digit_net,
    sketch_to_grid,
    sketch_to_tensor,
)

ROOT = Path(__file__).resolve().parents[2]
EMPTY = "the sketch is empty: draw a digit"


def _train_script():
    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "scripts" / "train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def net():
    return load_digit_net()


@pytest.fixture(scope="module")
def split():
    return _train_script().heldout_split()


def predict(net, image) -> int:
    with torch.no_grad():
        return int(net(sketch_to_tensor(image)).argmax(1))


# --- the model and its weights ---------------------------------------------------------------

def test_api_constants():
    assert DIGIT_LABELS == [str(d) for d in range(10)]
    assert INPUT_SIZE == (1, 28, 28)


def test_weights_file_is_small_and_a_plain_state_dict():
    assert WEIGHTS_PATH.exists()
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    state = torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True)
    expected = DigitNet().state_dict()
    assert list(state) == list(expected)
    assert all(state[k].shape == expected[k].shape for k in expected)


def test_lenet_structure_and_output_shape():
    net = DigitNet()
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"]
    assert not any(getattr(m, "inplace", False) for m in net.modules())
    assert isinstance(net.classifier[-1], torch.nn.Linear) and net.classifier[-1].out_features == 10
    assert net(torch.zeros(3, *INPUT_SIZE)).shape == (3, 10)


def test_load_digit_net_pretrained_and_random():
    trained, untrained = load_digit_net(), load_digit_net(pretrained=False)
    assert not trained.training and not untrained.training
    saved = torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True)
    assert torch.equal(trained.features.conv1.weight, saved["features.conv1.weight"])
    assert not torch.equal(untrained.features.conv1.weight, saved["features.conv1.weight"])


def test_heldout_accuracy(net, split):
    script = _train_script()
    x_train, y_train, x_test, y_test = split
    assert len(x_test) == math.ceil(script.TEST_FRACTION * 1797) and len(x_train) + len(x_test) == 1797
    # stratified: every digit is held out in proportion
    assert torch.bincount(y_test, minlength=10).min() >= 0.9 * len(y_test) / 10
    with torch.no_grad():
        predicted = net(script.grid_to_tensor(script.normalise_grid(x_test))).argmax(1)
    accuracy = (predicted == y_test).float().mean().item()
    assert accuracy >= 0.97
    assert script.heldout_accuracy(net, x_test, y_test) == pytest.approx(accuracy)


def test_the_recorded_heldout_accuracy_is_what_the_committed_weights_score(net, split):
    from explorer.core.digits import HELDOUT_ACCURACY
    from explorer.core.models import REGISTRY

    _, _, x_test, y_test = split
    measured = 100 * _train_script().heldout_accuracy(net, x_test, y_test)
    assert HELDOUT_ACCURACY == pytest.approx(measured, abs=0.005)     # recorded to two decimals
    assert REGISTRY["digits"].accuracy.top1 == HELDOUT_ACCURACY


def test_heldout_digits_through_the_sketch_path(net, split):
    """Held-out digits printed as big dark-on-white pictures, off centre: sketch_to_tensor must
    bring them back to what the network was trained on."""
    _, _, x_test, y_test = split
    x_test, y_test = x_test[::3], y_test[::3]
    inputs = []
    for grid in x_test:
        cells = Image.fromarray((255 - grid.numpy() * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST)
        page = Image.new("L", (150, 120), 255)
        page.paste(cells, (70, 30))
        inputs.append(sketch_to_tensor(page))
    with torch.no_grad():
        predicted = net(torch.cat(inputs)).argmax(1)
    assert (predicted == y_test).float().mean().item() >= 0.95


# --- drawn strokes ----------------------------------------------------------------------------

@pytest.mark.parametrize("width", [6, 18, 45])
@pytest.mark.parametrize("digit", range(10))
def test_drawn_digits_are_recognised(net, digit, width):
    assert predict(net, draw(digit, width=width)) == digit


@pytest.mark.parametrize("digit", [0, 1, 7, 4])
def test_small_digit_off_centre(net, digit):
    image = draw(digit, width=8, scale=0.35, offset=(330, 20))
    assert predict(net, image) == digit


# --- preprocessing ----------------------------------------------------------------------------

def _modes(rgba: Image.Image) -> dict:
    on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    gray = on_white.convert("L")
    gray16 = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    assert gray16.mode in ("I;16", "I;16L", "I;16B")
    return {
        "RGBA": rgba,
        "LA": rgba.convert("LA"),
        "RGBA on white": on_white,
        "RGB": on_white.convert("RGB"),
        "L": gray,
        "1": gray.convert("1"),
        "P": on_white.convert("RGB").convert("P"),
        "CMYK": on_white.convert("RGB").convert("CMYK"),
        "I;16": gray16,
        "I": gray.convert("I"),
        "F": gray.convert("F"),
        "white on black": Image.fromarray(255 - np.asarray(gray)),
        "white on dark RGB": Image.fromarray(255 - np.asarray(on_white.convert("RGB"))),
    }


@pytest.mark.parametrize("mode", list(_modes(Image.new("RGBA", (4, 4)))))
def test_every_image_mode_gives_the_same_input(net, mode):
    reference = sketch_to_tensor(draw(7))
    x = sketch_to_tensor(_modes(draw(7))[mode])
    assert x.shape == (1, *INPUT_SIZE) and x.dtype == torch.float32
    tolerance = 0.6 if mode == "1" else 0.05      # "1" dithers the antialiased stroke edges
    assert (x - reference).abs().max().item() < tolerance
    assert predict(net, _modes(draw(7))[mode]) == 7


@pytest.mark.parametrize("gray", [60, 150, 170])
def test_faint_pencil_is_read(net, gray):
    sketch = draw(4, width=10)
    alpha = sketch.getchannel("A")
    faint = Image.new("L", sketch.size, 255)
    faint.paste(gray, mask=alpha)
    assert predict(net, faint) == 4


def test_grid_fits_the_ink_like_sklearn_digits():
    grid = sketch_to_grid(draw(1, width=20))
    assert grid.shape == (8, 8) and grid.min() >= 0 and grid.max() <= 1
    inked_rows = np.flatnonzero(grid.max(1) > 0.1)
    assert inked_rows[0] == 0 and inked_rows[-1] == 7       # the taller side fills the grid
    inked_cols = np.flatnonzero(grid.max(0) > 0.1)
    assert len(inked_cols) <= 4 and abs(inked_cols.mean() - 3.5) <= 0.5  # a "1" is narrow, centred


@pytest.mark.parametrize("digit", range(10))
def test_thin_pen_is_thickened_to_training_stroke_weight(split, digit):
    """A fine brush leaves thin lines; the grid should carry about as much ink as a training digit."""
    x_train, y_train, _, _ = split
    script = _train_script()
    training_ink = script.normalise_grid(x_train[y_train == digit]).mean().item()
    grid = sketch_to_grid(draw(digit, width=6))
    assert (grid / grid.max()).mean() >= 0.6 * training_ink


def test_position_and_canvas_size_do_not_matter():
    a = sketch_to_tensor(draw(3, width=18))
    b = sketch_to_tensor(draw(3, width=18, size=1200, scale=0.5, offset=(700, 650)))
    assert (a - b).abs().max().item() < 0.35


@pytest.mark.parametrize("blank", [
    Image.new("RGBA", (600, 600), (0, 0, 0, 0)),         # untouched Sketchpad: transparent black
    Image.new("RGB", (300, 200), "white"),
    Image.new("L", (300, 200), 0),
    Image.new("RGB", (1, 1), "black"),
    Image.new("F", (50, 50), 7.5),
    Image.fromarray(np.random.default_rng(0).integers(245, 256, (200, 200), dtype=np.uint8)),  # paper noise
], ids=["transparent", "white", "black", "1x1", "flat-F", "noise"])
def test_empty_sketch_raises(blank):
    with pytest.raises(ValueError, match=EMPTY):
        sketch_to_tensor(blank)


def test_not_an_image_raises():
    with pytest.raises(ValueError, match="PIL image"):
        sketch_to_tensor(np.zeros((28, 28)))


@pytest.mark.parametrize("mode,side", [("L", 6000), ("P", 2100), ("1", 2100), ("I;16", 2100), ("LA", 2100)])
def test_big_image_is_reduced_and_recognised(net, mode, side):
    big = Image.new("L", (side, side), 255)
    f = side / 6000
    ImageDraw.Draw(big).ellipse([(2000 * f, 1200 * f), (4000 * f, 4800 * f)], outline=0, width=int(180 * f))
    if mode == "I;16":
        big = Image.fromarray(np.asarray(big, dtype=np.uint16) * 257)
    elif mode == "P":
        big = big.convert("RGB").convert("P")
    else:
        big = big.convert(mode)
    assert predict(net, big) == 0
