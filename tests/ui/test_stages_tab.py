"""The Stages tab: its handlers on cached activations, and its /predict and /stages endpoints end
to end through gradio_client, every number compared with PyTorch's own forward pass."""
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from hook_recorder import recording
from PIL import Image, ImageDraw
from torch import nn

from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.recent import Recent
from explorer.drawing import feature_maps as fm
from explorer.ui import stages_events, stages_features, stages_inspections, stages_views

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
ESPRESSO = EXAMPLES / "espresso.jpg"
STAGE_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _hooked_outputs(model, image) -> list[tuple[str, torch.Tensor]]:
    """(module name, output) of every Conv and Pool layer, by hooks of our own."""
    names = {m: n for n, m in model.module.named_modules()}
    stages = [m for m in model.module.modules() if isinstance(m, STAGE_TYPES)]
    with recording(stages, lambda m, inputs, output: (names[m], output[0].detach().clone())) as outputs, \
            torch.no_grad():
        logits = model.module(model.preprocess(image))
    return outputs, logits


def _shown(picture, model="digits", **values) -> dict:
    """An event's inputs by the tab's component names: the picture and model, 16 channels on a shared scale."""
    return dict(picture=picture, model=model, count="16", scale="shared") | values


def _sketch(points=((80, 60), (300, 60), (160, 330))) -> dict:
    layer = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line(points, fill=(0, 0, 0, 255), width=22)
    return {"background": None, "layers": [layer], "composite": layer}


# --- handlers ------------------------------------------------------------------------------------

def test_stepping_uses_the_cached_activations_and_shows_pytorchs_numbers(monkeypatch):
    sketch = _sketch()
    first = stages_events.on_new_picture(_shown(sketch))
    model, _ = get_model("digits")
    hooked, logits = _hooked_outputs(model, stages_inspections.picture_image(sketch))
    probabilities = torch.softmax(logits, -1)[0]
    label = gr.Label().postprocess(first["label"]).model_dump()
    assert "Digits" in first["label_title"]
    assert label["label"] == str(int(probabilities.argmax()))
    assert {c["label"]: c["confidence"] for c in label["confidences"]} == pytest.approx(
        {str(i): float(p) for i, p in enumerate(probabilities) if float(p) >= float(probabilities.topk(5)[0][-1])})
    assert first["stage"].maximum == len(hooked)

    def no_forward_pass(*args):
        raise AssertionError("a stage change ran the model again")

    monkeypatch.setattr(stages_inspections, "_inspect", no_forward_pass)
    for number, (name, output) in enumerate(hooked, start=1):
        views = stages_events.on_stage(_shown(sketch, stage=number, count="all"))
        assert views["shown_stage"] == number
        text = views["stage_md"]
        assert f"Stage {number} of {len(hooked)}: `{name}`" in text
        assert "×".join(map(str, output.shape)) in text
        shown = f"values from {float(output.min()):.3g} to {float(output.max()):.3g}"
        assert shown in text
        top = int(torch.argsort(output.double().mean((1, 2)), descending=True, stable=True)[0])
        assert views["channel"] == top and views["shown_channel"] == top
        assert f"**Channel {top}**" in views["channel_md"] and "rank 1 of" in views["channel_md"]
        assert views["grid"].size[0] > 0 and views["strip"] is not None


def test_a_channel_number_and_a_click_open_that_channel():
    sketch = _sketch()
    stages_events.on_new_picture(_shown(sketch))
    inspection = stages_inspections.inspection_for("digits", sketch)
    stage = inspection.stages[0]
    opened = stages_events.on_channel(_shown(sketch, stage=1, channel=5, shown_channel=None))
    assert opened["shown_channel"] == 5 and "channel" not in opened       # the box already says 5
    values = stage.activation[5]
    row, col = divmod(int(values.argmax()), values.shape[1])
    assert "**Channel 5**" in opened["channel_md"] and f"row {row}, column {col}" in opened["channel_md"]

    grid = fm.render_grid(stage.activation, "16")
    x, y = grid.layout.origin(3)

    class Click:
        index = [x + 2, y + 2]

    clicked = stages_events.on_grid_click(_shown(sketch, stage=1), Click())
    assert clicked["channel"] == clicked["shown_channel"] == grid.channels[3]
    assert clicked["unit"][:2] == [1, grid.channels[3]] and clicked["unit_panel"].visible is True


def test_an_empty_canvas_and_no_picture_get_a_message_not_a_crash():
    blank = {"background": None, "layers": [Image.new("RGBA", (400, 400))], "composite": Image.new("RGBA", (400, 400))}
    result = stages_events.on_new_picture(_shown(blank))
    assert "empty" in result["stage_md"]
    assert "Upload" in stages_events.on_new_picture(_shown(None))["stage_md"]


def test_a_channel_that_does_not_exist_puts_the_box_back_to_the_channel_shown():
    sketch = _sketch()
    stages_events.on_new_picture(_shown(sketch))
    last = stages_inspections.inspection_for("digits", sketch).stages[0].output_shape[0] - 1
    with pytest.warns(UserWarning, match=f"channel: 9999 does not exist; this stage has channels 0 to {last}"):
        refused = stages_events.on_channel(_shown(sketch, stage=1, channel=9999, shown_channel=5))
    assert refused == {"channel": 5}                         # only the box changes: back to the channel shown
    opened = stages_events.on_channel(_shown(sketch, stage=1, channel=3, shown_channel=5))
    assert "**Channel 3**" in opened["channel_md"] and opened["shown_channel"] == 3 and "channel" not in opened


def test_a_stage_that_does_not_exist_puts_the_box_back_to_the_stage_shown():
    sketch = _sketch()
    stages_events.on_new_picture(_shown(sketch))
    last = len(stages_inspections.inspection_for("digits", sketch).stages)
    for typed in (99, 0, 2.5, None):
        with pytest.warns(UserWarning, match=f"stage: .*; this model has stages 1 to {last}. Still showing stage 3"):
            refused = stages_events.on_stage_typed(_shown(sketch, stage=typed, shown_stage=3))
        assert refused == {"stage": 3}                       # the box back to stage 3; the views stay
    views = stages_events.on_stage_typed(_shown(sketch, stage=2, shown_stage=3))
    assert "stage" not in views and f"Stage 2 of {last}" in views["stage_md"] and views["shown_stage"] == 2
    assert set(views) == set(stages_views.STAGE_VIEWS)


def test_no_picture_no_stage_slider_and_a_picture_shows_it():
    empty = stages_events.on_new_picture(_shown(None))
    assert empty["stage_row"].visible is False and empty["label_title"] == "**Top-5 predictions**"
    given = stages_events.on_new_picture(_shown(_sketch()))
    assert given["stage_row"].visible is True and given["label_title"] == "**Top-5 predictions of Digits (LeNet-style)**"


def test_play_starts_from_the_first_stage_at_the_end_and_stops_after_the_last():
    sketch = _sketch()
    last = len(stages_inspections.inspection_for("digits", sketch).stages)
    started = stages_events.on_play(_shown(sketch, playing=False, stage=last))
    assert started["playing"] is True and started["stage"] == 1
    assert "stage" not in stages_events.on_play(_shown(sketch, playing=False, stage=1))   # plays on from there
    ticked = stages_events.on_tick(_shown(sketch, stage=1))
    assert ticked["stage"] == ticked["shown_stage"] == 2
    stopped = stages_events.on_tick(_shown(sketch, stage=last))
    assert stopped["playing"] is False and "stage" not in stopped and "grid" not in stopped


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
    stages_views._STRIPS.clear()
    first = np.asarray(stages_views.overview_strip(inspection, 1))
    second = np.asarray(stages_views.overview_strip(inspection, 2))
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
