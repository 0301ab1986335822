"""Feature visualisation in headless Chromium: draw a digit, ask what a channel looks for, see the
picture and the two activation figures; ask another seed."""
import re

import pytest
from test_stages_tab_browser import _draw, _loaded

from explorer.ui.stages_tab import TITLE


@pytest.mark.browser
def test_what_does_this_channel_look_for(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    page.get_by_role("tab", name="Draw").click()
    page.get_by_role("button", name="Brush").first.click()
    _draw(page, [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]])          # a 7
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    go = page.locator("#stages-feature-go")
    go.scroll_into_view_if_needed()
    go.click()
    page.wait_for_function("document.querySelector('#stages-feature-words')?.innerText.includes('This picture')")
    words = page.locator("#stages-feature-words").inner_text()
    mine, yours = (float(v) for v in re.search(r"This picture: (-?[\d.e+-]+); yours: (-?[\d.e+-]+)", words).groups())
    assert mine > yours
    assert "from seed 0" in words
    _loaded(page, "#stages-feature-picture")
    first = page.locator("#stages-feature-picture img").first.get_attribute("src")
    page.screenshot(path=str(screenshot_dir / "stages-feature.png"), full_page=True)

    page.locator("#stages-feature-seed").click()
    page.wait_for_function("document.querySelector('#stages-feature-words')?.innerText.includes('from seed 1')")
    _loaded(page, "#stages-feature-picture")
    assert page.locator("#stages-feature-picture img").first.get_attribute("src") != first
