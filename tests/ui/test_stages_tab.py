"""The Stages tab: its handlers on cached activations, and its /predict and /stages endpoints end
to end through gradio_client, every number compared with PyTorch's own forward pass."""
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.recent import Recent
from explorer.drawing import feature_maps as fm
from explorer.ui import stages_features, stages_inspections, stages_tab

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
ESPRESSO = EXAMPLES / "espresso.jpg"
STAGE_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _hooked_outputs(model, image) -> list[tuple[str, torch.Tensor]]:
    """(module name, output) of every Conv and Pool layer, by hooks of our own."""
    names = {m: n for n, m in model.module.named_modules()}
    outputs = []
    handles = [m.register_forward_hook(lambda m, i, o: outputs.append((names[m], o[0].detach().clone())))
               for m in model.module.modules() if isinstance(m, STAGE_TYPES)]
    try:
        with torch.no_grad():
            logits = model.module(model.preprocess(image))
    finally:
        for h in handles:
            h.remove()
    return outputs, logits


def _sketch(points=((80, 60), (300, 60), (160, 330))) -> dict:
    layer = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line(points, fill=(0, 0, 0, 255), width=22)
    return {"background": None, "layers": [layer], "composite": layer}


# --- handlers ------------------------------------------------------------------------------------

def test_stepping_uses_the_cached_activations_and_shows_pytorchs_numbers(monkeypatch):
    sketch = _sketch()
    first = stages_tab.on_new_picture(sketch, "digits", "16", "shared")
    model, _ = get_model("digits")
    hooked, logits = _hooked_outputs(model, stages_inspections.picture_image(sketch))
    probabilities = torch.softmax(logits, -1)[0]
    label = gr.Label().postprocess(first[1]).model_dump()
    assert "Digits" in first[-1]
    assert label["label"] == str(int(probabilities.argmax()))
    assert {c["label"]: c["confidence"] for c in label["confidences"]} == pytest.approx(
        {str(i): float(p) for i, p in enumerate(probabilities) if float(p) >= float(probabilities.topk(5)[0][-1])})
    assert first[2].maximum == len(hooked)

    def no_forward_pass(*args):
        raise AssertionError("a stage change ran the model again")

    monkeypatch.setattr(stages_inspections, "_inspect", no_forward_pass)
    for number, (name, output) in enumerate(hooked, start=1):
        text, grid, strip, channel, large, overlay, words, remembered, shown_stage = stages_tab.on_stage(
            sketch, "digits", number, "all", "shared")
        assert shown_stage == number
        assert f"Stage {number} of {len(hooked)}: `{name}`" in text
        assert "×".join(map(str, output.shape)) in text
        shown = f"values from {float(output.min()):.3g} to {float(output.max()):.3g}"
        assert shown in text
        top = int(torch.argsort(output.double().mean((1, 2)), descending=True, stable=True)[0])
        assert channel == top and remembered == top
        assert f"**Channel {top}**" in words and "rank 1 of" in words
        assert grid.size[0] > 0 and strip is not None


def test_a_channel_number_and_a_click_open_that_channel():
    sketch = _sketch()
    stages_tab.on_new_picture(sketch, "digits", "16", "shared")
    inspection = stages_inspections.inspection_for("digits", sketch)
    stage = inspection.stages[0]
    large, overlay, words, _, shown = stages_tab.on_channel(sketch, "digits", 1, 5)
    assert shown == 5
    values = stage.activation[5]
    row, col = divmod(int(values.argmax()), values.shape[1])
    assert "**Channel 5**" in words and f"row {row}, column {col}" in words

    grid = fm.render_grid(stage.activation, "16")
    x, y = grid.layout.origin(3)

    class Click:
        index = [x + 2, y + 2]

    channel, shown, *_ = stages_tab.on_grid_click(sketch, "digits", 1, "16", Click())
    assert channel == shown == grid.channels[3]


def test_an_empty_canvas_and_no_picture_get_a_message_not_a_crash():
    blank = {"background": None, "layers": [Image.new("RGBA", (400, 400))], "composite": Image.new("RGBA", (400, 400))}
    result = stages_tab.on_new_picture(blank, "digits", "16", "shared")
    assert "empty" in result[3]
    assert "Upload" in stages_tab.on_new_picture(None, "digits", "16", "shared")[3]


def test_a_channel_that_does_not_exist_puts_the_box_back_to_the_channel_shown():
    sketch = _sketch()
    stages_tab.on_new_picture(sketch, "digits", "16", "shared")
    last = stages_inspections.inspection_for("digits", sketch).stages[0].output_shape[0] - 1
    with pytest.warns(UserWarning, match=f"channel: 9999 does not exist; this stage has channels 0 to {last}"):
        *pictures, box, shown = stages_tab.on_channel(sketch, "digits", 1, 9999, 5)
    assert box == 5 and shown == gr.skip() and all(p == gr.skip() for p in pictures)
    large, overlay, words, box, shown = stages_tab.on_channel(sketch, "digits", 1, 3, 5)
    assert "**Channel 3**" in words and shown == 3 and box == gr.skip()


def test_a_stage_that_does_not_exist_puts_the_box_back_to_the_stage_shown():
    sketch = _sketch()
    stages_tab.on_new_picture(sketch, "digits", "16", "shared")
    last = len(stages_inspections.inspection_for("digits", sketch).stages)
    for typed in (99, 0, 2.5, None):
        with pytest.warns(UserWarning, match=f"Stage: .*; this model has stages 1 to {last}. Still showing stage 3"):
            box, *views = stages_tab.on_stage_typed(sketch, "digits", typed, "16", "shared", 3)
        assert box == 3 and all(v == gr.skip() for v in views) and len(views) == stages_tab.VIEWS
    box, *views = stages_tab.on_stage_typed(sketch, "digits", 2, "16", "shared", 3)
    assert box == gr.skip() and f"Stage 2 of {last}" in views[0] and views[-1] == 2


def test_no_picture_no_stage_slider_and_a_picture_shows_it():
    empty = stages_tab.on_new_picture(None, "digits", "16", "shared")
    assert empty[-2].visible is False and empty[-1] == "**Top-5 predictions**"
    given = stages_tab.on_new_picture(_sketch(), "digits", "16", "shared")
    assert given[-2].visible is True and given[-1] == "**Top-5 predictions of Digits (LeNet-style)**"


def test_the_cache_is_bounded():
    cache = Recent(max_entries=2)
    inspection = stages_inspections.inspection_for("digits", _sketch())
    for key in "abc":
        cache.put(key, inspection)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is inspection
    size = stages_inspections.inspection_bytes(inspection)
    by_bytes = Recent(max_entries=10, max_bytes=2 * size, size_of=stages_inspections.inspection_bytes)
    for key in "abcd":
        by_bytes.put(key, inspection)
    assert len(by_bytes) == 2 and by_bytes.get("b") is None and by_bytes.get("d") is inspection


# --- end to end -------------------------------------------------------------------------------------

def _bad_images(folder: Path) -> dict[str, Path]:
    cat = Image.open(EXAMPLES / "cat.jpg").convert("RGB")
    files = {}
    for name, image in {"rgba.png": cat.convert("RGBA"), "gray.png": cat.convert("L"),
                        "cmyk.jpg": cat.convert("CMYK"), "one.png": Image.new("RGB", (1, 1), "red"),
                        "sixteen.png": Image.fromarray(np.asarray(cat.convert("L"), np.uint16) * 257)}.items():
        image.save(folder / name)
        files[name] = folder / name
    cat.save(folder / "anim.gif", save_all=True, append_images=[cat.rotate(90)], duration=100, loop=0)
    files["anim.gif"] = folder / "anim.gif"
    return files


@pytest.mark.e2e
def test_predict_endpoint_names_espresso_with_pytorchs_probabilities(client):
    from gradio_client import handle_file

    result = client.predict(handle_file(str(ESPRESSO)), DEFAULT_MODEL, api_name="/predict")
    assert result["label"] == "espresso"
    model, _ = get_model(DEFAULT_MODEL)
    with torch.no_grad():
        probabilities = torch.softmax(model.module(model.preprocess(Image.open(ESPRESSO))), -1)[0]
    values, indices = probabilities.topk(5)
    shown = {c["label"]: c["confidence"] for c in result["confidences"]}
    assert shown == pytest.approx({model.labels[i]: float(v) for v, i in zip(values, indices)}, abs=1e-5)


@pytest.mark.e2e
def test_stages_endpoint_lists_every_conv_and_pool_stage(client):
    from gradio_client import handle_file

    summary, grid_path = client.predict(handle_file(str(ESPRESSO)), DEFAULT_MODEL, api_name="/stages")
    model, _ = get_model(DEFAULT_MODEL)
    hooked, _ = _hooked_outputs(model, Image.open(ESPRESSO))
    assert [s["name"] for s in summary] == [name for name, _ in hooked]
    assert [s["output_shape"] for s in summary] == [list(o.shape) for _, o in hooked]
    assert [s["kind"] for s in summary] == ["pool" if "pool" in s["layer"].lower() else "conv" for s in summary]
    assert summary[0]["input_shape"] == [3, 224, 224] and summary[0]["receptive_field"] == [3, 3]
    first = hooked[0][1]
    layout = fm.grid_layout(min(16, first.shape[0]), first.shape[1], first.shape[2])
    assert Image.open(grid_path).size == (layout.width, layout.height + fm.LEGEND_H)


@pytest.mark.e2e
def test_bad_files_get_clear_messages_and_odd_ones_a_result(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    (tmp_path / "junk.png").write_bytes(b"this is not an image")
    (tmp_path / "cut.jpg").write_bytes(ESPRESSO.read_bytes()[:4000])
    Image.new("1", (20000, 20000)).save(tmp_path / "huge.png")
    for name, message in [("junk.png", "not an image"), ("cut.jpg", "damaged or truncated"),
                          ("huge.png", "too many pixels")]:
        for endpoint in ("/predict", "/stages"):
            with pytest.raises(AppError, match=message):
                client.predict(handle_file(str(tmp_path / name)), DEFAULT_MODEL, api_name=endpoint)
    for name, path in _bad_images(tmp_path).items():
        result = client.predict(handle_file(str(path)), DEFAULT_MODEL, api_name="/predict")
        assert len(result["confidences"]) == 5, name
    summary, _ = client.predict(handle_file(str(tmp_path / "one.png")), DEFAULT_MODEL, api_name="/stages")
    assert summary[0]["input_shape"] == [3, 224, 224]
    # and it keeps serving
    assert client.predict(handle_file(str(ESPRESSO)), DEFAULT_MODEL, api_name="/predict")["label"] == "espresso"


def test_each_stage_change_frames_its_own_cell_of_one_strip_drawn_once(monkeypatch):
    inspection = stages_inspections.inspection_for("digits", _sketch())
    drawn = []
    original = fm.overview_indices
    monkeypatch.setattr(fm, "overview_indices", lambda stages: drawn.append(1) or original(stages))
    stages_tab._STRIPS.clear()
    first = np.asarray(stages_tab.overview_strip(inspection, 1))
    second = np.asarray(stages_tab.overview_strip(inspection, 2))
    assert len(drawn) == 1
    layout = fm.overview_layout(len(inspection.stages))
    for strip, framed, plain in ((first, 0, 1), (second, 1, 0)):
        for k, expected in ((framed, fm.FRAME_INDEX), (plain, fm.BG_INDEX)):
            x, y = layout.origin(k)
            assert strip[y - layout.label_h - 1, x + 5] == expected     # the frame's top edge, or the gap


def test_the_cache_counts_the_whole_tensor_a_kept_view_holds():
    inspection = stages_inspections.inspection_for("digits", _sketch())
    stage = inspection.stages[0]
    big = torch.zeros(100, *stage.activation.shape)
    kept = replace(inspection, stages=[replace(stage, activation=big[0], input=None)])
    assert stages_inspections.inspection_bytes(kept) == big.numel() * big.element_size()


def test_a_closed_session_drops_its_drawing_cancel_flag_and_keeps_the_others():
    from types import SimpleNamespace as Namespace

    from explorer.core.state import STORES

    flags = STORES["stages.feature_stops"].store
    leaving = stages_features._stop_flag(Namespace(session_hash="leaving"))
    staying = stages_features._stop_flag(Namespace(session_hash="staying"))
    leaving.set()
    assert flags.get("leaving") is leaving
    STORES.forget_session("leaving")
    assert flags.get("leaving") is None and flags.get("staying") is staying
    assert not stages_features._stop_flag(Namespace(session_hash="leaving")).is_set()   # a new visit: not cancelled
