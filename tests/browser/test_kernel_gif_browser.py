"""The Kernel tab's GIF in headless Chromium: one made, then one over the frame budget refused with one
message while the GIF already made stays shown and the button works again."""
import re

import pytest
from conftest import app_page

from explorer.ui.kernel_tab import TITLE
from explorer.ui.words import english

TITLE = english(TITLE)          # the tab's English name, as an en-US browser shows it

pytestmark = pytest.mark.browser


@pytest.fixture
def kernel(browser, app_url):
    with app_page(browser, app_url, 1440, 900, tab=TITLE) as page:
        yield page


def test_a_gif_over_the_budget_is_one_message_and_the_last_gif_stays(kernel, screenshot_dir, monkeypatch):
    monkeypatch.setenv("EXPLORER_GIF_FRAMES", "20")          # read by the app (same process) on each request
    page = kernel
    button = page.get_by_role("button", name="Make a GIF of the whole animation")
    button.scroll_into_view_if_needed()
    button.click()
    made = page.get_by_text(re.compile("conv_4_steps"))
    made.wait_for(timeout=60_000)

    padding = page.get_by_label("Padding (p or h,w)")
    padding.scroll_into_view_if_needed()
    padding.fill("9")
    padding.press("Enter")
    page.wait_for_function("() => document.querySelector('#kernel_live .kl')?.dataset.steps === '121'", timeout=60_000)  # 4x4, kernel 2, stride 2, padding 9
    button.scroll_into_view_if_needed()
    button.click()
    message = page.get_by_text("GIF: this GIF would have 121 frames of")
    message.wait_for(timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "kernel_gif_refused.png"))
    assert message.count() == 1
    assert "at most 20 frames: use a smaller matrix, less padding or a larger stride" in message.inner_text()
    assert made.is_visible()                                           # the last good result stays
    assert page.get_by_text("Error", exact=True).count() == 1        # the message's title; no badge on the file
    assert button.is_enabled()
