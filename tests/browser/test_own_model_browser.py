"""Your own model in headless Chromium: type a timm name in the Stages tab's "Your model", upload a
.safetensors and a labels file, use it, give a picture and see its stages and your class names; a name
that is not a CNN is refused beside the box and the page keeps its model."""
import pytest
import torch
from safetensors.torch import save_file

from explorer.ui import stages_tab
from explorer.ui.words import english

TITLE = english(stages_tab.TITLE)

timm = pytest.importorskip("timm")


@pytest.fixture
def own_files(tmp_path):
    torch.manual_seed(0)
    module = timm.create_model("tinynet_e", num_classes=2)
    weights = tmp_path / "tinynet_e_catdog.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(weights))
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    return weights, labels


def _open_your_model(page, name: str):
    page.get_by_role("tab", name=TITLE).click()
    page.locator("#stages-own").get_by_text("Your model").first.click()
    _type_name(page, name)


def _type_name(page, name: str):
    page.locator("#stages-own-name input").fill(name)
    page.keyboard.press("Enter")


def _upload(page, box: str, path, screenshot_dir):
    """Sends a file through the box and waits until the box shows its name; when it never does, the page's
    picture and the box's text are kept (artifacts/screenshots) before the test fails, to tell why."""
    page.locator(f"{box} input[type=file]").set_input_files(str(path))
    try:
        page.wait_for_selector(f"{box} :text('{path.name}')", timeout=60_000)
    except Exception:
        page.screenshot(path=str(screenshot_dir / "own_model_upload_failed.png"), full_page=True)
        (screenshot_dir / "own_model_upload_failed.txt").write_text(
            f"{box}:\n{page.locator(box).inner_html()}\n\npage text:\n{page.locator('body').inner_text()}")
        raise


@pytest.mark.browser
def test_type_a_timm_name_upload_weights_and_labels_and_see_stages(page, own_files, screenshot_dir):
    weights, labels = own_files
    _open_your_model(page, "tinynet_e")
    _upload(page, "#stages-own-weights", weights, screenshot_dir)      # one after the other, as a visitor does
    _upload(page, "#stages-own-labels", labels, screenshot_dir)
    page.locator("#stages-own-use").click()
    page.wait_for_function("document.querySelector('#stages-own-message')?.innerText.includes('Using')")
    message = page.locator("#stages-own-message").inner_text()
    assert "tinynet_e (your weights)" in message and "2 classes" in message and "106x106" in message
    page.locator("[data-testid='examples'] button, .gallery-item").first.click()
    page.wait_for_function("document.body.innerText.includes('Stage 1 of 52')")
    assert "tinynet_e (your weights)" in page.locator("#stages-label-title").inner_text()
    assert {"cat", "dog"} <= set(page.locator("#stages-label").inner_text().split())
    page.screenshot(path=str(screenshot_dir / "own_model_stages.png"), full_page=True)


@pytest.mark.browser
def test_a_name_that_is_no_cnn_is_refused_beside_the_box(page):
    _open_your_model(page, "vit_tiny_patch16_224")
    page.locator("#stages-own-use").click()
    page.wait_for_function("document.querySelector('#stages-own-message')?.innerText.includes('Cannot use')")
    assert "not a CNN the app can show" in page.locator("#stages-own-message").inner_text()
    _type_name(page, "tinynet_e")         # the page still serves: the untrained architecture, said in words
    page.locator("#stages-own-use").click()
    page.wait_for_function("document.querySelector('#stages-own-message')?.innerText.includes('untrained here')")
