"""The Stages tab (explorer.core.stages) and the Architecture tab (explorer.core.architecture) read receptive
fields off one trace (explorer.core.trace): a learner moving between the tabs must read the same numbers,
and those numbers must be the published ones (explorer/core/receptive_field.py; tests/core/test_trace.py checks
the geometry against autograd)."""
import pytest
from PIL import Image, ImageDraw

from explorer.core.architecture import summarize
from explorer.core.models import load_model


@pytest.mark.parametrize("name", ["efficientnet_lite0", "alexnet", "resnet18", "googlenet", "mobilenet_v3_large",
                                  "digits"])
def test_both_tabs_give_every_stage_the_same_receptive_field_and_jump(name):
    picture = Image.new("RGB", (256, 240), (230, 220, 200))
    ImageDraw.Draw(picture).line([(128, 40), (128, 200)], fill=(0, 0, 0), width=18)
    model = load_model(name, pretrained=False)
    stages = model.stages(picture)
    input_size = tuple(model.preprocess(picture).shape[1:])
    rows = {row.name: row for row in summarize(name, input_size=input_size).rows}
    for stage in stages:
        row = rows[stage.name]
        if row.receptive_field is None:  # the Architecture tab's "the whole input"
            assert min(stage.receptive_field) >= min(input_size[1:]), stage.name
        else:
            assert tuple(row.receptive_field) == stage.receptive_field, stage.name
            assert tuple(row.jump) == tuple(stage.jump), stage.name


@pytest.mark.parametrize("name, layer, field, jump", [
    ("alexnet", "features.12", 195, 32),        # pool5
    ("vgg16", "features.28", 196, 16),          # conv5_3
    ("vgg16", "features.30", 212, 32),          # pool5
    ("resnet18", "layer4.1.conv2", 435, 32),    # the last convolution
])
def test_both_tabs_give_the_published_receptive_fields(name, layer, field, jump):
    model = load_model(name, pretrained=False)
    stage = [s for s in model.stages(Image.new("RGB", (224, 224), (90, 120, 200))) if s.name == layer][0]
    row = [r for r in summarize(name).rows if r.name == layer][0]
    assert stage.receptive_field == row.receptive_field == (field, field)
    assert stage.jump == row.jump == (jump, jump)
