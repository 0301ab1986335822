"""An input size a model cannot take, said in words: where the picture becomes too small and the
smallest (or largest) size that works. Every size the message states is run through PyTorch itself:
it runs, and one pixel further out fails."""
import re

import pytest
import torch
import torchvision

from explorer.core import architecture as arch
from explorer.core.architecture_fit import InputSizeError
from explorer.core.digits import DigitNet


def _runs(module, size) -> bool:
    module.eval()
    try:
        with torch.no_grad():
            module(torch.zeros(1, *size))
    except RuntimeError:
        return False
    return True


def _stated(message: str, dimension: str) -> int:
    found = re.search(rf"(smallest|largest) input {dimension} that works \(at \w+ \d+ px\) is (\d+) px", message)
    assert found, message
    return int(found.group(2))


@pytest.mark.parametrize("name, build, size, dimension, step", [
    ("alexnet", torchvision.models.alexnet, (3, 10, 224), "height", -1),
    ("squeezenet1_1", torchvision.models.squeezenet1_1, (3, 224, 12), "width", -1),
    ("googlenet", lambda: torchvision.models.googlenet(init_weights=False, aux_logits=False), (3, 10, 224),
     "height", -1),
    ("digits", DigitNet, (1, 40, 28), "height", +1),      # a fixed-size classifier: too big fails too
])
def test_stated_bound_runs_and_one_pixel_further_fails(name, build, size, dimension, step):
    with pytest.raises(InputSizeError) as caught:
        arch.summarize(name, size)
    message = str(caught.value)
    assert caught.value.dimensions == (dimension,)
    assert "Given input size" not in message            # PyTorch's own wording, now in words
    bound = _stated(message, dimension)
    index = 1 if dimension == "height" else 2
    works, fails = list(size), list(size)
    works[index], fails[index] = bound, bound + step
    module = build()
    assert _runs(module, tuple(works)), message
    assert not _runs(module, tuple(fails)), message
    assert not _runs(module, size)


def test_names_the_layer_where_the_picture_becomes_too_small():
    with pytest.raises(InputSizeError) as caught:
        arch.summarize("alexnet", (3, 10, 224))
    layer = re.search(r"At `([\w.]+)` \((\w+)\)", str(caught.value))
    assert layer, str(caught.value)
    model = torchvision.models.alexnet().eval()
    module = dict(model.named_modules())[layer.group(1)]
    assert type(module).__name__ == layer.group(2)
    # the layer named is the first one PyTorch refuses: everything before it runs on the 10-pixel picture
    before = model.features[:int(layer.group(1).split(".")[1])]
    with torch.no_grad():
        reaching = before(torch.zeros(1, 3, 10, 224))
    assert f"shrunk to {'×'.join(map(str, reaching.shape[1:]))}" in str(caught.value)
    with pytest.raises(RuntimeError, match="too small"):
        module(reaching)


def test_both_dimensions_too_small_are_both_named():
    with pytest.raises(InputSizeError) as caught:
        arch.summarize("alexnet", (3, 8, 8))
    assert caught.value.dimensions == ("height", "width")
    model = torchvision.models.alexnet().eval()
    for dimension in ("height", "width"):
        bound = _stated(str(caught.value), dimension)
        shape = (3, bound, 224) if dimension == "height" else (3, 224, bound)
        shorter = (3, bound - 1, 224) if dimension == "height" else (3, 224, bound - 1)
        assert _runs(model, shape) and not _runs(model, shorter)


def test_a_module_passed_in_gets_the_same_words_without_its_weights_being_copied():
    model = torchvision.models.vgg11()
    with pytest.raises(InputSizeError) as caught:
        arch.summarize(model, (3, 20, 224))
    bound = _stated(str(caught.value), "height")
    assert _runs(model, (3, bound, 224)) and not _runs(model, (3, bound - 1, 224))
    assert all(not p.is_meta for p in model.parameters())      # the user's model is left as it was
