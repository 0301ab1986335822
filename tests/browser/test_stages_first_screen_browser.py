"""The picture first (issue 24, item 2): at 1440x900 and at 390x844, in English and in Chinese, the stage's
feature maps and any note that the model is untrained are on the first screen, with nothing scrolled.

"On the first screen" is the whole of each: the grid picture down to its colour scale (the scale says what
blue and red mean, and a cut grid hides its last row of channels), and every line of the note (a note cut
in half would not say what it warns of). Before any picture a phone shows the picture input first: an
empty grid would say nothing."""
import re

import pytest
from conftest import app_page
from stages_page import SEVEN, loaded, stroke

LOCALES = {"en": "en-US", "zh": "zh-CN"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def _on_first_screen(page, selector: str, width: int, height: int) -> None:
    """`selector` wholly inside the viewport, with the page at its top."""
    assert page.evaluate("() => window.scrollY") == 0
    box = _box(page, selector)
    assert box is not None and box["width"] > 0 and box["height"] > 0, selector
    assert 0 <= box["x"] and box["x"] + box["width"] <= width + 0.5, f"{selector} at {box}"
    assert 0 <= box["y"] and box["y"] + box["height"] <= height + 0.5, f"{selector} at {box}"


def _at_top(page, phone: bool) -> None:
    """A phone comes back to its top by itself after a new picture or model (the maps moved above the
    examples and the model box the visitor was at); a wide screen is scrolled there here."""
    if phone:
        page.wait_for_function("() => window.scrollY === 0")
    else:
        page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_stage_s_maps_and_the_untrained_note_are_on_the_first_screen(browser, app_url, width, height, lang):
    phone = width < 640
    query = "?tab=stages" + ("&lang=zh" if lang == "zh" else "")
    with app_page(browser, app_url, width, height, timeout_ms=120_000, locale=LOCALES[lang], query=query) as page:
        page.locator("#stages-model").wait_for()
        if phone:           # no picture yet: the model and the picture come first, the (empty) maps after them
            assert _box(page, "#stages-model")["y"] < _box(page, "#stages-maps")["y"]
        example = page.locator("img[src*='cat']").first
        example.scroll_into_view_if_needed()
        example.click()
        loaded(page, "#stages-grid")
        loaded(page, "#stages-overview")
        _at_top(page, phone)
        _on_first_screen(page, "#stages-grid img", width, height)
        assert page.locator("#stages-note").count() == 0 or not page.locator("#stages-note").is_visible()

        # a model without its weights here (no internet): the note and the maps of the untrained model
        old = page.locator("#stages-grid img").get_attribute("src")
        model = page.locator("#stages-model input").first
        model.scroll_into_view_if_needed()
        model.click()
        page.get_by_role("option", name="ResNet-18").click()
        page.wait_for_function("() => document.querySelector('#stages-note')?.innerText.trim().length > 0")
        page.wait_for_function("s => document.querySelector('#stages-grid img')?.getAttribute('src') !== s", arg=old)
        loaded(page, "#stages-grid")
        _at_top(page, phone)
        note = page.locator("#stages-note").inner_text()
        assert ("未经训练" in note) if lang == "zh" else ("untrained here" in note and not CJK.search(note)), note
        _on_first_screen(page, "#stages-note", width, height)
        _on_first_screen(page, "#stages-grid img", width, height)
        if phone:           # the maps before the intro and the picture input, the note before the maps
            order = [_box(page, s)["y"] for s in ("#stages-note", "#stages-grid", "#stages-intro", "#stages-model")]
            assert order == sorted(order), order


@pytest.mark.browser
def test_on_a_phone_a_drawing_keeps_its_canvas_in_view_and_photo_brings_the_maps_first(browser, app_url):
    with app_page(browser, app_url, 390, 844, timeout_ms=120_000, query="?tab=stages&picture=cat") as page:
        loaded(page, "#stages-overview")
        page.wait_for_function("() => getComputedStyle(document.querySelector('#stages-maps')).order === '-3'")
        page.locator("#stages-draw-button").scroll_into_view_if_needed()
        page.locator("#stages-draw-button").click()
        # the maps go back below the canvas, and the Photo / Draw buttons stay in view
        page.wait_for_function("() => getComputedStyle(document.querySelector('#stages-maps')).order === '0'")
        assert -1 <= _box(page, "#stages-draw-button")["y"] < 844
        page.get_by_role("button", name="Brush").first.click()
        canvas = page.locator("#stages-draw canvas").first
        canvas.scroll_into_view_if_needed()
        where = page.evaluate("() => window.scrollY")
        old = page.locator("#stages-overview img").get_attribute("src")
        stroke(page, canvas.bounding_box(), SEVEN)
        page.wait_for_function("s => document.querySelector('#stages-overview img')?.getAttribute('src') !== s", arg=old)
        page.wait_for_timeout(3500)         # longer than the phone's look for moved maps (3 s)
        assert page.evaluate("() => window.scrollY") == where
        box = _box(page, "#stages-draw canvas")
        assert box["y"] >= 0 and box["y"] + box["height"] / 2 <= 844, box       # the canvas still under the finger
        assert _box(page, "#stages-grid")["y"] > box["y"] + box["height"]

        page.get_by_role("tab", name="Photo").click()
        page.wait_for_function("() => getComputedStyle(document.querySelector('#stages-maps')).order === '-3'")
        assert _box(page, "#stages-grid")["y"] < _box(page, "#stages-model")["y"]
