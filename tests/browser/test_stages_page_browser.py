"""The Stages tab as a newcomer sees it at 1440x900 in headless Chromium: nothing covers anything, one
message per mistake, and what is shown always belongs to the picture and channel in the boxes."""
from pathlib import Path

import pytest
from conftest import app_page
from stages_page import loaded

from explorer.core.models import get_model
from explorer.drawing.feature_maps import FONT_SIZE, grid_layout, overview_layout
from explorer.ui import stages_tab
from explorer.ui.words import english

TITLE = english(stages_tab.TITLE)

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "shots"


@pytest.fixture
def wide(browser, app_url):
    with app_page(browser, app_url, 1440, 900, timeout_ms=120_000, tab=TITLE) as page:
        yield page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def _upload(page, path) -> None:
    page.locator("input[type=file][accept*=image]").first.set_input_files(str(path))


def _messages(page, text: str) -> int:
    """How many times `text` is said in the toasts on screen (Gradio groups repeated toasts into one)."""
    return sum(body.count(text) for body in page.locator(".toast-body").all_inner_texts())


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def _covered(page, selector: str, layout) -> list:
    """The cells of a grid picture (feature_maps.GridLayout) with something else over their label's start,
    their centre or their top-right corner."""
    points = []
    for k in range(layout.count):
        x, y = layout.origin(k)
        points += [(x + 2, y - layout.label_h + 2), (x + layout.cell_w / 2, y + layout.cell_h / 2),
                   (x + layout.cell_w - 2, y - layout.label_h + 2)]
    return page.evaluate(
        """([selector, points]) => {
            const img = document.querySelector(selector + ' img');
            const covered = points.filter(([x, y]) => {
                let r = img.getBoundingClientRect();
                const sx = r.width / img.naturalWidth, sy = r.height / img.naturalHeight;
                window.scrollBy(0, r.top + y * sy - window.innerHeight / 2);     // the point in view
                r = img.getBoundingClientRect();
                return document.elementFromPoint(r.left + x * sx, r.top + y * sy) !== img;
            });
            img.scrollIntoView();
            return covered;
        }""", [selector, points])


def _settled_label(page) -> str:
    """The top-5 predictions' text once no event is updating them."""
    page.wait_for_function("!document.querySelector('#stages-label').innerText.includes('processing')")
    return page.locator("#stages-label").inner_text()


def _stage_text(page) -> str:
    return page.locator("body").inner_text()


@pytest.mark.browser
def test_an_untrained_model_reads_cleanly_and_nothing_covers_the_strip_or_the_grid(wide):
    page = wide
    assert not page.locator("#stages-play").is_visible()          # no picture yet: no stages to step through
    page.locator("#stages-label-title").scroll_into_view_if_needed()
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="ResNet-18").click()
    _upload(page, EXAMPLES / "cat.jpg")
    page.wait_for_function("document.querySelector('#stages-label-title')?.innerText.includes('ResNet-18')")
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    loaded(page, "#stages-grid")
    loaded(page, "#stages-overview")
    assert page.locator("#stages-play").is_visible()

    note = page.locator("#stages-note").inner_text()
    assert "ResNet-18 is untrained here" in note and "cannot reach the internet" in note
    assert "Errno" not in note and "urlopen" not in note
    title, top_class = _box(page, "#stages-label-title"), _box(page, "#stages-label h2")
    assert page.locator("#stages-label-title").inner_text().strip() == "Top-5 predictions of ResNet-18 (untrained)"
    assert title["y"] + title["height"] <= top_class["y"], (title, top_class)
    page.locator("#stages-label-title").scroll_into_view_if_needed()
    _shot(page, "stages-untrained.png")

    # every thumbnail of the overview strip, and its label, is what is under it: no button covers one
    stages = len(get_model("resnet18")[0].inspect(EXAMPLES / "cat.jpg").stages)
    page.locator("#stages-overview img").scroll_into_view_if_needed()
    assert _covered(page, "#stages-overview", overview_layout(stages)) == []
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "stages-overview.png")

    # "all" channels: the grid is shown at its own size, so its 11-pixel labels and legend stay 11 pixels
    page.locator("#stages-grid").scroll_into_view_if_needed()
    old = page.locator("#stages-grid img").get_attribute("src")
    page.get_by_label("all").check()
    page.wait_for_function("s => document.querySelector('#stages-grid img')?.getAttribute('src') !== s", arg=old)
    loaded(page, "#stages-grid")
    shown, natural = page.locator("#stages-grid img").evaluate(
        "i => [i.getBoundingClientRect().width, i.naturalWidth]")
    assert FONT_SIZE * shown / natural >= 10, (shown, natural)
    first_stage = get_model("resnet18")[0].inspect(EXAMPLES / "cat.jpg").stages[0].activation
    assert _covered(page, "#stages-grid", grid_layout(first_stage.shape[0], *first_stage.shape[1:])) == []
    page.locator("#stages-grid").scroll_into_view_if_needed()
    _shot(page, "stages-all.png")


@pytest.mark.browser
def test_a_channel_that_does_not_exist_gets_one_message_and_the_box_shows_the_channel_shown(wide):
    page = wide
    _upload(page, EXAMPLES / "cat.jpg")
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    box = page.locator("#stages-channel input")
    box.scroll_into_view_if_needed()
    shown = box.input_value()
    box.fill("9999")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.toast-body').length > 0")
    page.wait_for_function("s => document.querySelector('#stages-channel input').value === s", arg=shown)
    page.wait_for_timeout(1500)                     # a second message would have come by now
    assert _messages(page, "9999 does not exist") == 1
    assert f"Channel {shown}" in _stage_text(page)
    _shot(page, "stages-channel-9999.png")
    page.locator("#stages-large img").evaluate("i => i.scrollIntoView({block: 'end'})")   # its legend in view
    _shot(page, "stages-channel.png")


@pytest.mark.browser
def test_a_stage_that_does_not_exist_gets_one_message_and_the_box_shows_the_stage_shown(wide):
    page = wide
    _upload(page, EXAMPLES / "cat.jpg")
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    box = page.get_by_label("number input for Stage")
    box.scroll_into_view_if_needed()
    box.fill("2")
    box.press("Enter")
    page.wait_for_function("document.body.innerText.includes('Stage 2 of')")
    box.fill("99")
    box.press("Enter")
    page.wait_for_function("document.querySelector('input[aria-label=\"number input for Stage\"]').value === '2'")
    page.wait_for_timeout(1500)                     # a second message would have come by now
    assert _messages(page, "99 does not exist") == 1
    assert "Stage 2 of" in _stage_text(page)


@pytest.mark.browser
def test_a_text_file_renamed_png_gets_one_message_and_the_previous_picture_comes_back(wide, tmp_path):
    page = wide
    _upload(page, EXAMPLES / "cat.jpg")
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
    label = _settled_label(page)
    photo = page.locator("img[src*='cat.jpg']").first
    photo.wait_for()
    junk = tmp_path / "notes.png"
    junk.write_text("this is a text file, renamed\n")
    _upload(page, junk)
    page.wait_for_function("document.querySelectorAll('.toast-body').length > 0")
    page.wait_for_timeout(3000)                     # a second message would have come by now
    assert _messages(page, "not an image that can be read") == 1
    assert "previous picture is back" in " ".join(page.locator(".toast-body").all_inner_texts())
    page.locator("img[src*='cat.jpg']").first.wait_for()       # the upload box shows the cat again
    assert not page.locator("img[src*='notes.png']").count()
    assert _settled_label(page) == label       # and the results are still the cat's
    _shot(page, "stages-bad-upload.png")


@pytest.mark.browser
def test_on_a_phone_nothing_covers_the_grid_s_cells(browser, app_url):
    with app_page(browser, app_url, 390, 844, timeout_ms=120_000, tab=TITLE) as page:
        example = page.locator("img[src*='espresso']").first
        example.scroll_into_view_if_needed()
        example.click()
        page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
        loaded(page, "#stages-grid")
        page.locator("#stages-grid").scroll_into_view_if_needed()
        over = page.evaluate("""() => { const g = document.querySelector('#stages-grid');
            const picture = g.querySelector('img'), img = picture.getBoundingClientRect();
            return [...g.querySelectorAll('button')]          // not the clickable picture itself
                .filter(b => b.offsetParent !== null && !b.contains(picture)).map(b => {
                const r = b.getBoundingClientRect();
                return r.right > img.left && r.left < img.right && r.bottom > img.top && r.top < img.bottom; })
                .filter(Boolean).length; }""")
        assert over == 0
