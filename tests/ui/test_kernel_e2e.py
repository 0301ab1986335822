"""The Kernel tab's API on the app served on localhost, through gradio_client."""
import pytest
import torch
import torch.nn.functional as F
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX

pytestmark = pytest.mark.e2e


def table(rows):
    return {"headers": [str(c + 1) for c in range(len(rows[0]))], "data": rows}


def test_slide_the_chapters_example(client):
    frame, info, code, step = client.predict(table(CHAPTER_MATRIX), table(CHAPTER_KERNEL), "conv", "2", "2",
                                             "0", "1", 0, False, api_name="/slide")
    with Image.open(frame) as im:
        assert im.width > 300 and im.height > 200
    assert "= 2" in info and "floor((4 + 2x0 - 1x(2-1) - 1) / 2) + 1" in info
    assert step["maximum"] == 4 and step["value"] == 1
    namespace = {}
    exec(code, namespace)
    expected = F.conv2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None],
                        torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)[0, 0]
    assert namespace["out"].tolist() == expected.tolist() == [[12, 13], [65, 45]]


def test_step_and_gif(client):
    args = (table(CHAPTER_MATRIX), table(CHAPTER_KERNEL), "conv", "2", "1", "1", "1", 0, False)
    *_, slider = client.predict(*args, api_name="/slide")
    assert slider["maximum"] == 25                    # (4 + 2x1 - 1x(2-1) - 1) / 1 + 1 = 5 per axis
    step, frame = client.predict(25, *args, api_name="/kernel_step")
    assert step == 25
    last = Image.open(frame)
    step, frame = client.predict(1, *args, api_name="/kernel_step")
    assert step == 1 and Image.open(frame).tobytes() != last.tobytes()
    gif = client.predict(4, *args, api_name="/kernel_gif")
    with Image.open(gif) as im:
        assert im.n_frames == 25


@pytest.mark.parametrize("matrix, kwargs, message", [
    ([[10, 11, 9], [2, "abc", 4]], {}, "matrix row 1, column 1: 'abc' is not a number"),
    ([[10, 11, 9], [2, 3]], {}, "matrix row 1 has 2 cells but row 0 has 3"),
    (CHAPTER_MATRIX, {"stride": "0"}, "stride: must be at least 1, got 0"),
    (CHAPTER_MATRIX, {"padding": "1,x"}, "padding: '1,x' is not a whole number"),
])
def test_bad_input_is_named_and_the_app_keeps_serving(client, matrix, kwargs, message):
    args = dict(matrix=table(matrix), kernel=table(CHAPTER_KERNEL), op="conv", kernel_size="2", stride="2",
                padding="0", dilation="1", bias=0, ceil_mode=False)
    args.update(kwargs)
    with pytest.raises(AppError) as info:
        client.predict(*args.values(), api_name="/slide")
    assert message in str(info.value)
    frame, *_ = client.predict(table(CHAPTER_MATRIX), table(CHAPTER_KERNEL), "max", "2", "2", "0", "1", 0,
                               False, api_name="/slide")
    assert Image.open(frame).width > 0


def test_layers_on_one_number_say_in_words_why_batchnorm_cannot(client):
    relu, *_, bn_md, avg, mx, pool_md = client.predict(table([[-7]]), 0.5, 0, 1, 1, api_name="/layers")
    assert bn_md.startswith("Not measurable: BatchNorm2d") and "Expected more than 1 value" not in bn_md
    assert [[float(v) for v in row] for row in relu["data"]] == [[torch.relu(torch.tensor(-7.0)).item()]]
    assert "1×1 → 1×1" in pool_md
