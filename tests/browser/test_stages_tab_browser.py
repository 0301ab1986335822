"""The Stages tab in headless Chromium: draw a digit, see the prediction and a stage grid."""
import pytest

from explorer.drawing.feature_maps import overview_layout
from explorer.ui.stages_tab import TITLE


def _draw(page, strokes, canvas_selector="#component-0 canvas, canvas"):
    canvas = page.locator(canvas_selector).first
    canvas.wait_for()
    box = canvas.bounding_box()
    for points in strokes:
        (x, y), rest = points[0], points[1:]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=10)
        page.mouse.up()


def _loaded(page, selector):
    page.wait_for_function(
        "s => { const i = document.querySelector(s + ' img'); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector)


def _click_image_pixel(page, selector, x, y):
    """Click the displayed image at pixel (x, y) of the image itself, whatever its display scale."""
    image = page.locator(f"{selector} img").first
    box = image.bounding_box()
    natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    page.mouse.click(box["x"] + x * box["width"] / natural[0], box["y"] + y * box["height"] / natural[1])


@pytest.mark.browser
def test_draw_a_digit_and_step_through_its_stages(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    page.get_by_role("tab", name="Draw").click()
    page.get_by_role("button", name="Brush").first.click()
    _draw(page, [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]])          # a 7

    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    page.wait_for_function("document.querySelector('#stages-label h2')?.innerText.trim() === '7'")
    assert "Digits" in page.locator("#stages-label-title").inner_text()
    _loaded(page, "#stages-grid")
    _loaded(page, "#stages-overlay")
    assert "features.conv1" in page.locator("body").inner_text()

    # jump to the second stage from the overview strip
    x, y = overview_layout(4).origin(1)          # the digit net has 4 stages
    _click_image_pixel(page, "#stages-overview", x + 10, y + 10)
    page.wait_for_function("document.body.innerText.includes('Stage 2 of')")
    _loaded(page, "#stages-grid")
    page.screenshot(path=str(screenshot_dir / "stages.png"), full_page=True)


@pytest.mark.browser
def test_the_sketchpad_opens_ready_to_draw_and_the_stage_player_s_pause_is_drawn(page):
    """No tool to pick first: a stroke on a fresh canvas is a drawing (Gradio >= 6.15 opens on the brush);
    Pause's label uses a glyph Debian Chromium's fonts have (U+23F8 is in none)."""
    from explorer.ui.kernel_tab import PAUSE

    page.get_by_role("tab", name=TITLE).click()
    page.get_by_role("tab", name="Draw").click()
    assert "Pick the pen" not in page.locator("body").inner_text()
    _draw(page, [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]], "#stages-draw canvas")   # a 7, no tool picked
    page.wait_for_function("document.querySelector('#stages-label h2')?.innerText.trim() === '7'")
    play = page.locator("#stages-play")
    play.scroll_into_view_if_needed()
    play.click()
    page.wait_for_function(f"document.querySelector('#stages-play').innerText.includes({PAUSE!r})")
    assert "⏸" not in page.locator("body").inner_text()
    play.click()
