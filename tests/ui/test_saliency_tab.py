"""The Saliency tab end to end: /attribute through gradio_client, and the page in headless Chromium."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.models import DEFAULT_MODEL, get_model

ESPRESSO = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "espresso.jpg")
PANDA = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "panda.jpg")


def _call(client, *args):
    from gradio_client import handle_file

    image, *rest = args
    return client.predict(handle_file(image), *rest, api_name="/attribute")


@pytest.mark.e2e
def test_attribute_endpoint_explains_pytorchs_own_top_class(client):
    overlay, numbers = _call(client, ESPRESSO, DEFAULT_MODEL, "gradcam", "", {"sign": "positive", "trust": True})
    model, _ = get_model(DEFAULT_MODEL)
    with torch.no_grad():
        probabilities = torch.softmax(model.module(model.preprocess(ESPRESSO)), -1)[0]
    top = int(probabilities.argmax())
    assert numbers["target"] == top and numbers["label"] == model.labels[top]
    assert numbers["layer"] == "conv_head"
    with Image.open(overlay) as picture, Image.open(ESPRESSO) as original:
        assert picture.size == original.size
        assert np.asarray(picture).std() > 0
    # the deletion curve starts at the unaltered picture's probability, computed here by PyTorch
    assert numbers["deletion_map"][0] == pytest.approx(float(probabilities[top]), abs=1e-4)
    assert numbers["deletion_random"][0] == pytest.approx(float(probabilities[top]), abs=1e-4)
    assert 0 <= numbers["deletion_auc_map"] <= 1 and 0 <= numbers["deletion_auc_random"] <= 1
    assert -1 <= numbers["randomisation_rank_correlation"] <= 1
    # the verdicts in words, resting on the figures returned beside them
    words = numbers["trust"]
    assert words["measurable"] and words["verdict"] in {"passes both checks", "fails the deletion check",
                                                        "fails the randomisation check",
                                                        "fails the deletion and the randomisation check"}
    areas = [np.trapezoid(curve, np.linspace(0, 1, len(curve))) for curve in numbers["deletion_random_orders"]]
    own = np.trapezoid(numbers["deletion_map"], np.linspace(0, 1, len(numbers["deletion_map"])))
    assert len(areas) >= 4 and numbers["deletion_auc_map"] == pytest.approx(own, abs=1e-6)
    assert numbers["deletion_auc_random_orders"] == pytest.approx(areas, abs=1e-6)
    assert words["deletion"]["passed"] == (own < min(areas) and (np.mean(areas) - own) / np.std(areas, ddof=1) >= 2
                                           and own <= 0.9 * np.mean(areas))
    assert f"{numbers['deletion_auc_map']:.3f}" in words["deletion"]["reason"]
    assert words["randomisation"]["passed"] == (numbers["randomisation_rank_correlation"] < 0.5)
    _, map_only = _call(client, ESPRESSO, DEFAULT_MODEL, "gradcam", "", {"sign": "positive"})
    assert map_only["target"] == top and not any(name.startswith("deletion") for name in map_only)


@pytest.mark.e2e
def test_attribute_endpoint_says_not_measurable_in_words(client, tmp_path):
    from test_digits import draw

    four = tmp_path / "four.png"
    draw(4).save(four)
    _, drawing = _call(client, str(four), "digits", "gradcam", "", {"trust": True})
    assert drawing["label"] == "4"
    assert drawing["trust"]["verdict"] == "not measurable" and not drawing["trust"]["measurable"]
    assert "Grad-CAM is zero everywhere for this class on this picture" in drawing["trust"]["reason"]
    assert drawing["deletion_auc_map"] is None and drawing["randomisation_rank_correlation"] is None
    _, tench = _call(client, PANDA, DEFAULT_MODEL, "gradcam", "tench", {"trust": True})
    assert tench["label"] == "tench" and tench["trust"]["verdict"] == "not measurable"
    assert tench["trust"]["deletion"] == {"measurable": False, "passed": None, "verdict": "not measurable",
                                          "reason": tench["trust"]["deletion"]["reason"]}
    assert "“tench” has probability" in tench["trust"]["deletion"]["reason"]
    assert tench["trust"]["probability"] < 0.01


@pytest.mark.e2e
def test_attribute_endpoint_takes_a_class_by_name_or_index(client):
    _, by_name = _call(client, ESPRESSO, DEFAULT_MODEL, "saliency", "cup", {"trust": False})
    _, by_index = _call(client, ESPRESSO, DEFAULT_MODEL, "saliency", "968", {"trust": False})
    assert by_name["label"] == "cup" and by_name["target"] == get_model(DEFAULT_MODEL)[0].labels.index("cup")
    assert by_index["target"] == 968


@pytest.mark.e2e
@pytest.mark.parametrize("method, target, options, words", [
    ("saliency", "espreso machine", {}, "no class named 'espreso machine'"),
    ("saliency", "1000", {}, "out of range"),
    ("lime", "", {}, "lime"),
    ("occlusion", "", {"window": 500}, "larger than the model's input"),
    ("saliency", "", {"sign": "sideways"}, "sign"),
    ("guided_gradcam", "", {}, "not computed correctly"),
])
def test_attribute_endpoint_names_what_is_wrong(client, method, target, options, words):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=words):
        _call(client, ESPRESSO, DEFAULT_MODEL, method, target, options)


@pytest.mark.browser
def test_pick_a_method_and_see_the_overlay(page, screenshot_dir):
    from explorer.ui.picture_input import example_paths
    from explorer.ui.saliency_tab import TITLE

    page.get_by_role("tab", name=TITLE).click()
    panel = page.locator("#saliency")
    panel.get_by_role("checkbox", name="Saliency (gradient)").check()
    examples = [Path(p).name for p in example_paths()]
    panel.locator("img[src*='gradio_api/file']").nth(examples.index("espresso.jpg")).click()
    header = panel.get_by_text("explains class")
    header.wait_for(timeout=120_000)
    assert "espresso" in header.inner_text()
    panel.get_by_text("no faster than random").or_(panel.get_by_text("falls faster than random")).first.wait_for(
        timeout=180_000)
    maps = panel.locator("#saliency-maps img")
    maps.nth(3).wait_for()
    assert maps.count() >= 4          # Grad-CAM and Saliency, each over the picture and as a heat map
    captions = panel.locator("#saliency-maps").inner_text()
    assert "Grad-CAM" in captions and "Saliency" in captions
    page.locator("#saliency-curves img").wait_for()       # the deletion curves, drawn
    page.screenshot(path=str(screenshot_dir / "saliency.png"), full_page=True)
    # a new sign repaints the maps, then the trust check of the part now shown runs as its own job
    table = page.locator("#saliency-trust table")
    before = table.inner_text()
    panel.get_by_label("positive (for)").check()
    page.wait_for_function("([selector, old]) => { const t = document.querySelector(selector); "
                           "return t && t.innerText !== old; }", arg=["#saliency-trust table", before],
                           timeout=120_000)
    assert "Grad-CAM" in table.inner_text() and "Saliency" in table.inner_text()


# --- trust verdicts, empty maps, methods per model, the download's name (no browser) ---------------------
CONTROLS = dict(layer="", sign="absolute", opacity=0.6, cmap="inferno", ig_steps=32, sg_samples=16, sg_noise=0.15,
                occ_window=0, occ_stride=0)


def _explain(picture, model_name, target, methods, reset=False, sign="absolute"):
    from explorer.ui.saliency_tab import ExplainRequest, explain

    c = dict(CONTROLS, sign=sign)
    return explain(ExplainRequest.from_controls(picture, model_name, target, methods, **c), reset=reset)


def _sketch(image):
    return {"background": None, "layers": [image], "composite": image}


def _table_row(table: str, title: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {title} |"))


def test_a_zero_gradcam_on_a_drawing_is_said_in_its_captions_and_never_judged():
    from test_digits import draw

    from explorer.ui.saliency_tab import on_trust

    drawing = _sketch(draw(4))
    model, _ = get_model("digits")
    x = model.preprocess(drawing)
    with torch.no_grad():
        top = int(model.module(x).argmax())
    kept = {}
    layer = model.module.get_submodule("features.conv2")
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(a=o))
    try:
        with torch.enable_grad():
            score = model.module(x.clone().requires_grad_())[0, top]
            grads, = torch.autograd.grad(score, kept["a"])
    finally:
        handle.remove()
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * kept["a"]).sum(1))
    assert float(cam.detach().abs().max()) == 0.0           # PyTorch's own Grad-CAM is empty: the premise
    out = _explain(drawing, "digits", "", ["gradcam", "saliency"], reset=False)
    header, items, maps = out[0], out[6], out[7]
    assert "Grad-CAM is zero everywhere for this class on this picture" in header
    assert "Saliency (gradient) is zero" not in header
    captions = [caption for _, caption in items]
    assert captions[:2] == ["Grad-CAM (empty map): over the picture", "Grad-CAM (empty map): heat map"]
    assert "empty" not in captions[2] + captions[3]
    table, _ = on_trust(drawing, maps, "absolute", progress=lambda *a, **k: None)
    gradcam_row = _table_row(table, "Grad-CAM")
    assert gradcam_row.count("not measurable") == 2 and "✓" not in gradcam_row and "⚠" not in gradcam_row
    assert "Grad-CAM**: not measurable: Grad-CAM is zero everywhere" in table


def test_panda_explained_as_tench_gets_no_deletion_verdict():
    from explorer.ui.saliency_tab import on_trust

    model, _ = get_model(DEFAULT_MODEL)
    with torch.no_grad():
        probability = float(torch.softmax(model.module(model.preprocess(PANDA)), -1)[0, model.labels.index("tench")])
    assert probability < 0.01                       # PyTorch: the class is next to impossible on this picture
    out = _explain(PANDA, DEFAULT_MODEL, "tench", ["gradcam"])
    assert "“tench”" in out[0]
    table, _ = on_trust(PANDA, out[7], "absolute", progress=lambda *a, **k: None)
    cells = [cell.strip() for cell in _table_row(table, "Grad-CAM").split("|")[1:-1]]
    assert cells[1] == "—" and cells[2] == "not measurable"       # no areas, no verdict on the deletion
    assert "“tench” has probability" in table and "too small for its fall to be measured" in table
    assert "falls faster than random" not in table


def test_methods_are_decided_per_model_before_any_picture():
    """EfficientNet-Lite0 applies ReLU6 outside nn.ReLU modules, so guided backpropagation is wrong on it;
    the digit net has only nn.ReLU modules. The list for a model is the same before and after a picture."""
    from explorer.ui.saliency_tab import method_choices

    before = {name: _explain(None, name, "", ["gradcam"])[5] for name in (DEFAULT_MODEL, "digits")}
    assert "guided_gradcam" not in [m for _, m in before[DEFAULT_MODEL].choices]
    assert "guided_gradcam" in [m for _, m in before["digits"].choices]
    assert method_choices(DEFAULT_MODEL) == [tuple(c) for c in before[DEFAULT_MODEL].choices]
    after = _explain(ESPRESSO, DEFAULT_MODEL, "", ["gradcam"], reset=True)[5]
    assert after.choices == before[DEFAULT_MODEL].choices


def test_the_download_is_named_after_the_model_methods_and_class():
    from explorer.core.attribution import Attribution
    from explorer.drawing.saliency import download_name
    from explorer.ui.saliency_tab import sheet_file

    heat = np.zeros((4, 4), np.float32)
    results = [Attribution(method, 235, "German shepherd", heat) for method in ("gradcam", "saliency")]
    name = download_name("resnet18", results)
    assert name == "saliency-resnet18-gradcam+saliency-german_shepherd.png"
    items = [(Image.new("RGB", (20, 10), "red"), "one"), (Image.new("RGB", (20, 10), "blue"), "two")]
    first, second = sheet_file(items, name), sheet_file(items, name)
    assert Path(first).name == Path(second).name == name and first != second     # two visitors, two files
    with Image.open(first) as sheet:
        assert sheet.size == (50, 34)


def test_a_refused_setting_keeps_the_maps_on_screen_with_one_message_where_the_header_stands():
    from explorer.ui.saliency_tab import ExplainRequest, explain

    c = dict(CONTROLS, occ_window=8, occ_stride=20)           # a stride larger than its window
    out = explain(ExplainRequest.from_controls(ESPRESSO, DEFAULT_MODEL, "", ["occlusion"], **c), reset=False)
    header, rest = out[0], out[1:]
    assert header.startswith("⚠️ **Not updated:") and "stride" in header and "window" in header
    assert len(rest) == 10 and all(u == {"__type__": "update"} for u in rest)   # gr.skip(): what is shown stays


def test_a_closed_session_drops_its_cancel_flag_and_keeps_the_others():
    from types import SimpleNamespace as Namespace

    from explorer.core.state import STORES
    from explorer.ui.saliency_runs import cancel_flag

    flags = STORES["saliency.cancel"].store
    leaving, staying = cancel_flag(Namespace(session_hash="leaving")), cancel_flag(Namespace(session_hash="staying"))
    leaving.set()
    assert flags.get("leaving") is leaving
    STORES.forget_session("leaving")
    assert flags.get("leaving") is None and flags.get("staying") is staying
    assert not cancel_flag(Namespace(session_hash="leaving")).is_set()      # a new visit starts uncancelled
