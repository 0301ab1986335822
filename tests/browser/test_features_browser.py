"""Feature visualisation in headless Chromium: draw a digit, ask what a channel looks for, see the
picture and the two activation figures; ask another seed."""
import re

import pytest
from stages_page import draw_a_seven, loaded


@pytest.mark.browser
def test_what_does_this_channel_look_for(page, screenshot_dir):
    draw_a_seven(page)
    go = page.locator("#stages-feature-go")
    go.scroll_into_view_if_needed()
    go.click()
    page.wait_for_function("document.querySelector('#stages-feature-words')?.innerText.includes('This picture')")
    words = page.locator("#stages-feature-words").inner_text()
    mine, yours = (float(v) for v in re.search(r"This picture: (-?[\d.e+-]+); yours: (-?[\d.e+-]+)", words).groups())
    assert mine > yours
    assert "from seed 0" in words
    loaded(page, "#stages-feature-picture")
    first = page.locator("#stages-feature-picture img").first.get_attribute("src")
    page.screenshot(path=str(screenshot_dir / "stages-feature.png"), full_page=True)

    page.locator("#stages-feature-seed").click()
    page.wait_for_function("document.querySelector('#stages-feature-words')?.innerText.includes('from seed 1')")
    loaded(page, "#stages-feature-picture")
    assert page.locator("#stages-feature-picture img").first.get_attribute("src") != first
