"""The Stages core speaks the language of the block: a unit's arithmetic, the steps after it and the
messages refusing a stage, channel, row or feature request, in English by default and in Chinese inside
`speaking("zh")`, with the same numbers."""
import re

import pytest
import torch
from torch import nn

from explorer.core.bridge import describe_unit, explain_unit
from explorer.core.features import visualize
from explorer.core.models import get_model
from explorer.core.stages import stage_index
from explorer.core.words import speaking
from explorer.drawing.fonts import has_cjk
from tests.core.test_bridge import _loaded
from tests.sketches import strokes_picture


@pytest.fixture(scope="module")
def digits():
    model, _ = get_model("digits")
    return model, model.inspect(strokes_picture())


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)


@pytest.mark.parametrize("stage", [0, 1])
def test_a_units_words_are_chinese_with_the_same_numbers(digits, stage):
    model, inspection = digits
    unit = explain_unit(model, inspection, stage, 2, 3, 4)
    english = describe_unit(unit)
    with speaking("zh"):
        chinese = describe_unit(explain_unit(model, inspection, stage, 2, 3, 4))
    assert has_cjk(chinese) and not has_cjk(english)
    assert sorted(_numbers(chinese)) == sorted(_numbers(english))


@pytest.mark.parametrize("call", [
    lambda m, i: explain_unit(m, i, 0, 2, 99, 0),
    lambda m, i: explain_unit(m, i, 0, 999, 0, 0),
    lambda m, i: stage_index([s.name for s in i.stages], "features.nope"),
    lambda m, i: stage_index([s.name for s in i.stages], 42),
    lambda m, i: visualize(m, 0, 0, objective="nope"),
    lambda m, i: visualize(m, 0, 0, steps=10_000),
])
def test_messages_name_the_argument_in_both_languages(digits, call):
    model, inspection = digits
    with pytest.raises(ValueError) as english:
        call(model, inspection)
    with speaking("zh"), pytest.raises(ValueError) as chinese:
        call(model, inspection)
    argument = str(english.value).split(":")[0]
    assert not has_cjk(str(english.value)) and has_cjk(str(chinese.value))
    assert str(chinese.value).startswith(argument + "：")


def test_the_steps_after_a_layer_are_in_chinese():
    net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    net(torch.zeros(1, 3, 24, 24))
    with torch.no_grad():
        net[1].running_mean.fill_(0.5)
    model = _loaded(net)
    inspection = model.inspect(strokes_picture())
    with speaking("zh"):
        unit = explain_unit(model, inspection, 0, 1, 1, 1)
        words = describe_unit(unit)
    assert "均值" in unit.after[0][0] and "方差" in unit.after[0][0]
    assert unit.after[1][0] == "ReLU: max(x, 0)"              # a formula, the same in both languages
    assert "然后" in words and "偏置" in words
