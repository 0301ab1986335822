"""The Saliency tab end to end: /attribute through gradio_client, and the page in headless Chromium."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.models import DEFAULT_MODEL, get_model

ESPRESSO = str(Path(__file__).resolve().parent.parent / "assets" / "examples" / "espresso.jpg")


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
    _, map_only = _call(client, ESPRESSO, DEFAULT_MODEL, "gradcam", "", {"sign": "positive"})
    assert map_only["target"] == top and not any(name.startswith("deletion") for name in map_only)


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
    from explorer.picture_input import example_paths
    from explorer.saliency_tab import TITLE

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
