"""The Kernel tab in headless Chromium: play the animation and see the frame change."""
import pytest

from explorer.kernel_tab import TITLE

pytestmark = pytest.mark.browser


def frame_src(page):
    return page.locator("#kernel_frame img").first.get_attribute("src")


def test_play_changes_the_frame(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    page.locator("#kernel_frame img").first.wait_for(state="visible")
    before = frame_src(page)
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function(
        "(before) => { const img = document.querySelector('#kernel_frame img');"
        " return img && img.src && img.src !== before; }", arg=before, timeout=30_000)
    assert frame_src(page) != before
    page.get_by_role("button", name="⏸ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for()
    page.screenshot(path=str(screenshot_dir / "kernel.png"), full_page=True)
