"""The Stages tab's live mode in headless Chromium with a fake camera playing a moving test pattern
(a .y4m clip written here with numpy): the stage's maps and the top-5 follow the camera, and the last
frame can be kept as the tab's picture; on a phone the camera and the maps share the screen."""
import contextlib

import numpy as np
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS

from explorer.ui import stages_tab
from explorer.ui.words import english

TITLE = english(stages_tab.TITLE)

pytestmark = pytest.mark.browser
W, H, FRAMES = 320, 240, 40


def write_clip(path) -> None:
    """A YUV4MPEG2 clip: stripes moving right over a slowly changing colour, 10 frames a second."""
    yy, xx = np.mgrid[0:H, 0:W]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for t in range(FRAMES):
            luma = ((((xx + 8 * t) // 20) % 2) * 160 + 40).astype(np.uint8)
            u = np.full((H // 2, W // 2), 90 + 3 * t, np.uint8)
            v = np.full((H // 2, W // 2), 160, np.uint8)
            f.write(b"FRAME\n" + luma.tobytes() + u.tobytes() + v.tobytes())


@contextlib.contextmanager
def camera_page_at(app_url, browser, tmp_path, width: int, height: int):
    """A Chromium of its own (the fake camera is a launch flag), started by the session's Playwright: a
    second sync_playwright() inside the first one's event loop is refused. The Stages tab is open."""
    clip = tmp_path / "pattern.y4m"
    write_clip(clip)
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-video-capture={clip}"]
    camera_browser = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        context = camera_browser.new_context(viewport={"width": width, "height": height}, permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url + "?tab=stages")
        page.wait_for_selector("button[role=tab]")
        from conftest import close_lesson
        page.wait_for_selector("#lesson-text")
        close_lesson(page)
        page.locator("#stages-model").wait_for()
        yield page
    finally:
        camera_browser.close()


@pytest.fixture
def camera_page(app_url, browser, tmp_path):
    with camera_page_at(app_url, browser, tmp_path, 1440, 900) as page:
        yield page


def start_live(page) -> None:
    """Opens Live, lets the fake camera in and presses Record; returns once the first frame's maps came."""
    page.get_by_text("Live: stream your webcam").click()
    page.locator("#stages-live").get_by_text("Click to Access Webcam").click()
    page.locator("#stages-live video").wait_for()
    page.locator("#stages-live button:has-text('Record')").click()     # its aria-label says "capture photo"
    page.wait_for_function("() => document.querySelector('#stages-live-status').innerText.includes('Live: stage 1')")


def grid_src(page) -> str | None:
    img = page.locator("#stages-grid img")
    return img.first.get_attribute("src") if img.count() else None


def test_the_maps_follow_the_fake_camera_and_the_last_frame_can_be_kept(camera_page):
    page = camera_page
    start_live(page)
    seen = set()
    for _ in range(40):                             # 8 s: the pattern moves, so the maps change
        src = grid_src(page)
        if src:
            seen.add(src)
        page.wait_for_timeout(200)
    assert len(seen) >= 3, f"the maps changed only {len(seen)} times in 8 s"
    assert page.locator("#stages-label").inner_text().strip() != ""
    page.locator("#stages-live button:has-text('Stop')").click()
    page.get_by_role("button", name="Keep this frame as the picture").click()
    assert page.locator("#stages-overview img").count() == 0          # live frames leave the strip alone
    page.locator("#stages-overview img").wait_for()                   # the kept frame's stages, all of them
    assert page.locator("#stages-overview img").count() == 1


def test_the_stage_maps_are_on_the_first_screen_at_1440x900(browser, app_url):
    from conftest import app_page

    with app_page(browser, app_url, 1440, 900, tab=TITLE) as page:
        page.locator("[data-testid='example'] button, .gallery-item").first.click()
        page.locator("#stages-grid img").wait_for(timeout=120_000)
        page.evaluate("window.scrollTo(0, 0)")
        box = page.locator("#stages-grid img").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 900 and box["x"] + box["width"] <= 1440, box


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
@pytest.mark.parametrize("photo_first", [False, True])
def test_the_camera_and_the_maps_it_drives_share_the_screen(app_url, browser, tmp_path, photo_first, width, height,
                                                            screenshot_dir):
    """Opening Live brings its box to the top of the screen with the stage's maps beside it (under it on a
    phone), whether or not a photo gave stages before. Before, the camera sat under the picture input and
    the examples, and the maps were above the screen (a wide one) or about 1000 px below it (a phone)."""
    with camera_page_at(app_url, browser, tmp_path, width, height) as page:
        if photo_first:
            example = page.locator("img[src*='cat']").first
            example.scroll_into_view_if_needed()
            example.click()
            page.locator("#stages-overview img").wait_for(timeout=120_000)
        start_live(page)
        page.locator("#stages-grid img").wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(screenshot_dir / f"stages-live-{width}{'-after-photo' if photo_first else ''}.png"))
        for selector in ("#stages-live video", "#stages-grid img"):
            box = page.locator(selector).first.bounding_box()
            assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= height + 0.5, (selector, box)
        if width < 768:
            assert page.locator("#stages-live video").bounding_box()["y"] < page.locator("#stages-grid img").bounding_box()["y"]
