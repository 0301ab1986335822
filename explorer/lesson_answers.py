"""The lesson's answers, computed from PyTorch's own numbers through the same core functions the tabs use
(explorer.lesson's pages call these), and the pictures its Try it buttons hand to the app.

Every function here is cheap: no download (the models that need weights here are the ones shipped with
the app: EfficientNet-Lite0 and the digit model; the chapter's CNNNet has none by design; architectures
are built untrained or on PyTorch's "meta" device), a few seconds on a CPU, the feature visualisation
(its default steps) up to half a minute. Those that run a model the app serves run in a GPU slot
(explorer.core.gpu), sized as the tab sizes the same work, so that the UI may check a reply inside an
event on ZeroGPU; their arguments are names and numbers, their results plain values (both pickle)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from explorer.core import architecture, attribution, features, layer_playground, trust
from explorer.core.bridge import explain_unit
from explorer.core.gpu import gpu, slot_seconds
from explorer.core.models import get_model
from explorer.core.sliding import slide
from explorer.core.words import say

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
SKETCH_SIDE = 400        # the Sketchpad's canvas (explorer.ui.picture_input)
# A digit's strokes on a 600x600 drawing, as a hand would draw them (scaled to the canvas).
_STROKES = {
    "1": [[(300, 120), (300, 480)]],
    "4": [[(340, 120), (200, 380), (420, 380)], [(340, 250), (340, 480)]],
    "7": [[(200, 120), (400, 120), (260, 480)]],
}


def picture_names() -> tuple[str, ...]:
    """The pictures Try it can give: the app's example photos by name ("cat", "dog", ...) and drawn digits
    ("digit-7")."""
    return tuple(sorted(p.stem for p in EXAMPLES.glob("*.jpg"))) + tuple(f"digit-{d}" for d in _STROKES)


def picture(name: str) -> str | Image.Image:
    """What Try it puts in the picture input: an example photo's path (as clicking the example gives), or a
    drawn digit as the Sketchpad gives it (black strokes on a transparent 400x400 canvas, a PIL image).
    ValueError naming the pictures there are for any other name."""
    if name.startswith("digit-") and name[6:] in _STROKES:
        return drawn_digit(name[6:])
    path = EXAMPLES / f"{name}.jpg"
    if "/" in name or not path.is_file():
        raise ValueError(say("picture: no picture is named {name!r}; choose one of {names}",
                             "picture：没有名为 {name!r} 的图片；请从 {names} 中选一个",
                             name=str(name)[:40], names=", ".join(picture_names())))
    return str(path)


def drawn_digit(digit: str, width: int = 16) -> Image.Image:
    """The digit in black strokes on a transparent canvas, as the Sketchpad hands a drawing over."""
    image = Image.new("RGBA", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    scale = SKETCH_SIDE / 600
    for stroke in _STROKES[digit]:
        draw.line([(x * scale, y * scale) for x, y in stroke], fill=(0, 0, 0, 255), width=width, joint="curve")
    return image


# --- the Kernel tab ---------------------------------------------------------------------------------

def step_value(matrix, kernel, step: int, **settings) -> float:
    """PyTorch's output at step `step` (counted from 1, as the Kernel tab counts steps)."""
    s = slide(matrix, kernel, **settings)
    return _plain(s.output[s.steps[step - 1].position])


def unread_columns(matrix, kernel, **settings) -> int:
    """How many of the input's columns no window reads (PyTorch drops them)."""
    return len(slide(matrix, kernel, **settings).unused_cols)


# --- the Stages tab ---------------------------------------------------------------------------------

def _stage(model: str, picture_name: str, stage: str):
    loaded, _ = get_model(model)
    stages = loaded.inspect(picture(picture_name)).stages
    return next(s for s in stages if s.name == stage)


def _one_pass(model: str, *args, **kwargs) -> int:
    """The GPU slot of a call that runs `model` forward once."""
    return slot_seconds(model)


@gpu(duration=_one_pass)
def stage_channels(model: str, picture_name: str, stage: str) -> int:
    """The number of channels (feature maps) the stage gives, from the forward pass the Stages tab runs."""
    return _stage(model, picture_name, stage).output_shape[0]


@gpu(duration=_one_pass)
def receptive_width(model: str, picture_name: str, stage: str) -> int:
    """How many input pixels wide one unit of the stage sees."""
    return _stage(model, picture_name, stage).receptive_field[1]


@gpu(duration=_one_pass)
def unit_value(model: str, picture_name: str, stage: str, channel: int, row: int, col: int) -> float:
    """The number one unit holds (the layer's real output), rounded to 2 decimals as the question asks."""
    loaded, _ = get_model(model)
    return round(explain_unit(loaded, picture(picture_name), stage, channel, row, col).value, 2)


@gpu(duration=_one_pass)
def top_percent(model: str, picture_name: str) -> int:
    """The top class's probability in whole percent, as the Stages tab's predictions show it."""
    loaded, _ = get_model(model)
    return round(100 * loaded.predict(picture(picture_name), k=1)[0][1])


@gpu(duration=lambda model, *args: slot_seconds(model, features.DEFAULT_STEPS[1] + 1))
def feature_winner(model: str, picture_name: str, stage: str, channel: int) -> str:
    """"drawn" when the picture "What does this channel look for?" draws (its default steps and seed, as
    the tab asks) excites the channel more than the learner's picture does, else "yours"."""
    loaded, _ = get_model(model)
    drawn = features.visualize(loaded, stage, channel).activation
    yours = features.activation_of(loaded, stage, channel, picture(picture_name))
    return "drawn" if drawn > yours else "yours"


# --- the Saliency tab -------------------------------------------------------------------------------

def _trust_seconds(model: str, picture_name: str, method: str) -> int:
    loaded, _ = get_model(model)
    passes = attribution.image_passes(method, {}, features.input_shape(loaded)[1:])
    return slot_seconds(model, trust.check_passes(passes))


@gpu(duration=_trust_seconds)
def passes_deletion(model: str, picture_name: str, method: str) -> str:
    """"yes" when the method's map of the top-1 class passes the trust check's deletion test, as the Saliency
    tab checks it (the map of the part shown by default, at the last convolution for a layer method), else
    "no" (it is no faster than random orders, or it cannot tell)."""
    loaded, _ = get_model(model)
    options = {"layer": attribution.conv_layers(loaded)[-1]} if attribution.METHODS[method].uses_layer else {}
    check = trust.trust_check(loaded, picture(picture_name), method, **options)
    return "yes" if check.deletion.passed else "no"


# --- the Architecture tab ---------------------------------------------------------------------------

def state_dict_tensors() -> int:
    """How many tensors of AlexNet's state_dict load into the chapter's CNNNet, every name and shape matching
    (ValueError when they do not all load)."""
    from torchvision.models import alexnet

    result = architecture.same_outputs(architecture.CNNNet(num_classes=2), alexnet(num_classes=2))
    if not result["loaded"] or not result["equal"]:
        raise ValueError(say("CNNNet: AlexNet's state_dict does not fit it", "CNNNet：AlexNet 的 state_dict 装不进去"))
    return result["state_dict_keys"]


def block_channels(model: str, block: str) -> int:
    """The channels that leave a block: the output of its last layer in the Architecture tab's table."""
    rows = [row for row in architecture.summarize(model).rows if row.block == block]
    return rows[-1].output_shape[0]


def batch_mean(matrix) -> float:
    """The mean BatchNorm2d subtracts in train mode from the matrix (one channel of one picture)."""
    return _plain(layer_playground.batchnorm(layer_playground.to_matrix(matrix))["batch_mean"])


def _plain(value) -> int | float:
    """A whole number as an int (13, not 13.0), anything else as a float."""
    value = float(value)
    return int(value) if value.is_integer() else value
