"""The Stages tab in headless Chromium: draw a digit, see the prediction and a stage grid."""
import pytest
from stages_page import SEVEN, click_image_pixel, draw, draw_a_seven, loaded

from explorer.drawing.feature_maps import overview_layout
from explorer.ui import stages_tab
from explorer.ui.words import english

TITLE = english(stages_tab.TITLE)


@pytest.mark.browser
def test_draw_a_digit_and_step_through_its_stages(page, screenshot_dir):
    draw_a_seven(page)
    page.wait_for_function("document.querySelector('#stages-label h2')?.innerText.trim() === '7'")
    assert "Digits" in page.locator("#stages-label-title").inner_text()
    loaded(page, "#stages-grid")
    loaded(page, "#stages-overlay")
    assert "features.conv1" in page.locator("body").inner_text()

    # jump to the second stage from the overview strip
    x, y = overview_layout(4).origin(1)          # the digit net has 4 stages
    click_image_pixel(page, "#stages-overview", x + 10, y + 10)
    page.wait_for_function("document.body.innerText.includes('Stage 2 of')")
    loaded(page, "#stages-grid")
    page.screenshot(path=str(screenshot_dir / "stages.png"), full_page=True)


@pytest.mark.browser
def test_the_sketchpad_opens_ready_to_draw_and_the_stage_player_s_pause_is_drawn(page):
    """No tool to pick first: a stroke on a fresh canvas is a drawing (Gradio >= 6.15 opens on the brush);
    Pause's label uses a glyph Debian Chromium's fonts have (U+23F8 is in none)."""
    from explorer.ui.kernel_tab import PAUSE

    page.get_by_role("tab", name=TITLE).click()
    page.get_by_role("tab", name="Draw").click()
    assert "Pick the pen" not in page.locator("body").inner_text()
    draw(page, SEVEN, "#stages-draw canvas")   # a 7, no tool picked
    page.wait_for_function("document.querySelector('#stages-label h2')?.innerText.trim() === '7'")
    play = page.locator("#stages-play")
    play.scroll_into_view_if_needed()
    play.click()
    page.wait_for_function(f"document.querySelector('#stages-play').innerText.includes({PAUSE!r})")
    assert "⏸" not in page.locator("body").inner_text()
    play.click()
