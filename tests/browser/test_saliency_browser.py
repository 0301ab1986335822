"""The Saliency page in headless Chromium: an example explained with two methods, its trust check and a
new sign's check; at 1440x900 nothing covered or cut, words kept whole, the methods decided per model
before a picture, the download named after what it holds, and a drawing whose Grad-CAM is empty said so
instead of judged."""
import re
from pathlib import Path

import pytest
from conftest import app_page
from stages_page import stroke

from explorer.ui.picture_input import example_paths
from explorer.ui.saliency_tab import TITLE as TITLE_MARKER
from explorer.ui.words import english

TITLE = english(TITLE_MARKER)

# Each visible word inside `selector` must sit on one line: a word whose characters land on two lines
# was broken in the middle ("Randomisa / tion", "Grad- / CAM").
BROKEN_WORDS = """sel => { const broken = [];
  for (const root of document.querySelectorAll(sel)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      } } }
  return broken; }"""


def _box(locator) -> dict:
    return locator.bounding_box()


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and
            a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.fixture
def wide(browser, app_url):
    with app_page(browser, app_url, 1440, 900, timeout_ms=180_000, tab=TITLE) as page:
        yield page


def _methods(page) -> list[str]:
    return [t.strip() for t in page.locator("#saliency-methods label").all_inner_texts()]


def _draw(page, panel, strokes):
    panel.get_by_role("tab", name="Draw").click()
    brush = panel.get_by_role("button", name="Brush").first
    brush.scroll_into_view_if_needed()
    brush.click()
    box = _box(panel.locator("canvas").first)
    stroke(page, box, strokes)


def _explained(page, panel):
    panel.get_by_text("explains class").wait_for()
    page.locator("#saliency-trust table").wait_for()
    page.locator("#saliency-maps .thumbnail-item img").last.wait_for()


@pytest.mark.browser
def test_the_saliency_page_reads_cleanly_at_1440x900(wide, screenshot_dir):
    page, panel = wide, wide.locator("#saliency")
    before = _methods(page)
    assert "Grad-CAM" in before and "Guided Grad-CAM" not in before     # EfficientNet-Lite0: ReLU6
    panel.get_by_role("checkbox", name="Saliency (gradient)").check()
    examples = [Path(p).name for p in example_paths()]
    example = panel.locator("img[src*='gradio_api/file']").nth(examples.index("espresso.jpg"))
    example.scroll_into_view_if_needed()
    example.click()
    _explained(page, panel)
    assert _methods(page) == before                      # nothing offered, then withdrawn

    gallery = page.locator("#saliency-maps")
    gallery.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "saliency-maps-1440.png"))
    badge = _box(gallery.locator("label").first)
    thumbnails = gallery.locator(".thumbnail-item")
    assert thumbnails.count() == 4
    captions = []
    for i in range(4):
        thumbnail = thumbnails.nth(i)
        assert not _overlap(badge, _box(thumbnail)), f"the gallery's label covers thumbnail {i + 1}"
        caption = thumbnail.locator(".caption-label")
        size = caption.evaluate("c => [c.scrollWidth, c.clientWidth, c.scrollHeight, c.clientHeight]")
        assert size[0] <= size[1] and size[2] <= size[3], f"caption {i + 1} is cut: {size}"
        # the caption sits under its picture, so it hides neither the map nor the heat map's colour bar
        assert _box(caption)["y"] >= _box(thumbnail.locator("img"))["y"] + _box(thumbnail.locator("img"))["height"] - 1
        captions.append(caption.inner_text())
    assert sorted(captions) == sorted(["Grad-CAM: over the picture", "Grad-CAM: heat map",
                                       "Saliency (gradient): over the picture", "Saliency (gradient): heat map"])
    assert page.evaluate(BROKEN_WORDS, "#saliency-maps .caption-label") == []
    last = _box(thumbnails.nth(3))
    assert last["y"] + last["height"] <= _box(gallery)["y"] + _box(gallery)["height"] + 1    # not cut by a scroll box
    for button in gallery.locator("button:not(.thumbnail-item)").all():
        if button.is_visible():
            assert not any(_overlap(_box(button), _box(thumbnails.nth(i))) for i in range(4))

    table = page.locator("#saliency-trust table")
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "saliency-trust-1440.png"))
    assert page.evaluate(BROKEN_WORDS, "#saliency-trust table") == []
    holder = _box(page.locator("#saliency-trust"))
    assert _box(table)["x"] + _box(table)["width"] <= holder["x"] + holder["width"] + 1
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1")
    for cell in table.locator("th, td").all():
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), cell.inner_text()

    button = page.locator("#saliency-download")
    button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        button.click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"saliency-efficientnet_lite0-(gradcam\+saliency|saliency\+gradcam)-espresso\.png", name)


@pytest.mark.browser
def test_a_model_chosen_before_a_picture_offers_its_own_methods(wide):
    page = wide
    assert "Guided Grad-CAM" not in _methods(page)
    page.locator("#saliency").get_by_label("Model", exact=True).click()
    page.get_by_role("option", name=re.compile("Digits")).click()
    page.wait_for_function("() => [...document.querySelectorAll('#saliency-methods label')]"
                           ".some(l => l.innerText.trim() === 'Guided Grad-CAM')")


@pytest.mark.browser
def test_pick_a_method_and_see_the_overlay(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    panel = page.locator("#saliency")
    panel.get_by_role("checkbox", name="Saliency (gradient)").check()
    examples = [Path(p).name for p in example_paths()]
    panel.locator("img[src*='gradio_api/file']").nth(examples.index("espresso.jpg")).click()
    header = panel.get_by_text("explains class")
    header.wait_for(timeout=120_000)
    assert "espresso" in header.inner_text()
    panel.get_by_text("What the verdicts mean").first.wait_for(timeout=240_000)
    maps = panel.locator("#saliency-maps img")
    maps.nth(3).wait_for()
    assert maps.count() >= 4          # Grad-CAM and Saliency, each over the picture and as a heat map
    captions = panel.locator("#saliency-maps").inner_text()
    assert "Grad-CAM" in captions and "Saliency" in captions
    page.locator("#saliency-curves img").wait_for()       # the deletion curves, drawn
    page.screenshot(path=str(screenshot_dir / "saliency.png"), full_page=True)
    # a new sign repaints the maps, then the trust check of the part now shown runs as its own job
    table = page.locator("#saliency-trust table")
    before = table.inner_text()
    panel.get_by_label("positive (for)").check()
    page.wait_for_function("([selector, old]) => { const t = document.querySelector(selector); "
                           "return t && t.innerText !== old; }", arg=["#saliency-trust table", before],
                           timeout=120_000)
    assert "Grad-CAM" in table.inner_text() and "Saliency" in table.inner_text()


# A 4 drawn with the mouse: the digit net's Grad-CAM is zero at every position for it (every position's
# gradient-weighted sum is negative before Grad-CAM's ReLU).
FOUR = [[(0.6, 0.2), (0.35, 0.65), (0.72, 0.65)], [(0.6, 0.42), (0.6, 0.82)]]


@pytest.mark.browser
def test_a_drawing_with_an_empty_gradcam_is_said_so_and_not_judged(wide, screenshot_dir):
    page, panel = wide, wide.locator("#saliency")
    panel.get_by_role("tab", name="Draw").click()
    brush = panel.get_by_role("button", name="Brush").first
    brush.scroll_into_view_if_needed()
    brush.click()
    canvas = panel.locator("canvas").first
    box = _box(canvas)
    stroke(page, box, FOUR)
    page.wait_for_function("() => { const t = document.querySelector('#saliency-trust');"
                           "return t && /Grad-CAM\\*?\\*?:? not measurable/.test(t.innerText); }")
    assert "Grad-CAM is zero everywhere for this class on this picture" in panel.inner_text()
    assert "“4”" in panel.get_by_text("explains class").inner_text()
    row = page.locator("#saliency-trust table tbody tr").first.inner_text()
    assert row.count("not measurable") == 3 and "✓" not in row and "⚠" not in row
    captions = page.locator("#saliency-maps .caption-label").all_inner_texts()
    assert captions == ["Grad-CAM (empty map): over the picture", "Grad-CAM (empty map): heat map"]
    page.locator("#saliency-maps").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "saliency-drawing-1440.png"))


SEVEN = [[(0.3, 0.25), (0.72, 0.25), (0.45, 0.82)]]


@pytest.mark.browser
def test_the_trust_check_explains_its_verdicts_ranks_the_maps_and_wipes_to_the_randomised_map(browser, app_url,
                                                                                          screenshot_dir):
    """A drawn 7 (the digit net: quick), Saliency and Integrated Gradients: each verdict comes with its
    sentence, the replacements are explained, the maps are ranked in words, and the wipe shows two maps."""
    with app_page(browser, app_url, 1440, 900, timeout_ms=240_000, tab=TITLE) as page:
        panel = page.locator("#saliency")
        for name in ("Saliency (gradient)", "Integrated Gradients"):
            panel.get_by_role("checkbox", name=name).check()
        _draw(page, panel, SEVEN)
        page.wait_for_function("() => { const t = document.querySelector('#saliency-ranking');"
                               "return t && /By the curves|No map could be ranked/.test(t.innerText); }")
        trust = page.locator("#saliency-trust").inner_text()
        assert "What the verdicts mean" in trust and "Deletion (patches filled in)" in trust
        assert "Which replacement each curve uses, and why" in panel.inner_text()
        wipe = page.locator("#saliency-wipe")
        wipe.locator("img").nth(1).wait_for()
        assert wipe.locator("img").count() == 2
        page.locator("#saliency-wipe-step input").click()
        page.get_by_role("option").first.wait_for(timeout=30_000)
        options = page.get_by_role("option").all_inner_texts()
        assert all("random" in o for o in options), options
        assert "rank correlation" in wipe.inner_text()          # the chosen step's, in the wipe's label
        page.keyboard.press("Escape")
        for width, height in ((1440, 900), (390, 844)):     # the same page on a phone (its tabs fold into a menu)
            page.set_viewport_size({"width": width, "height": height})
            page.locator("#saliency-ranking").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot_dir / f"saliency-trust-check-{width}.png"))
            page.screenshot(path=str(screenshot_dir / f"saliency-trust-check-{width}-full.png"), full_page=True)
            if width == 390:                 # the longest choice, chosen, is shown whole on a phone
                step = page.locator("#saliency-wipe-step input")
                step.evaluate("i => i.blur()")          # still focused since Escape: a click would not open it
                step.click()
                page.get_by_role("option").first.wait_for(timeout=30_000)
                longest = max(page.get_by_role("option").all_inner_texts(), key=len).replace("✓", "").strip()
                page.get_by_role("option", name=longest).click()
                page.wait_for_function("t => document.querySelector('#saliency-wipe').innerText.includes(t)",
                                       arg=longest.split(":")[0])
                assert step.evaluate("i => i.scrollWidth <= i.clientWidth"), step.input_value()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1   # nothing wider than a phone


# --- a newcomer's stumbles: a phone, Cancel, and a Chinese browser ------------------------------------------

def _open_saliency(page):
    """The Saliency tab, from the tab bar or, where a narrow screen folds it, from the "More tabs" menu."""
    tab = page.locator("[data-tab-id=saliency_tab]")
    if tab.count() and tab.first.is_visible():
        tab.first.click()
    else:
        page.get_by_label("More tabs").click()
        page.locator(".overflow-dropdown button", has_text=TITLE).click()


def _click_example(panel, name: str):
    examples = [Path(p).name for p in example_paths()]
    example = panel.locator("img[src*='gradio_api/file']").nth(examples.index(name))
    example.scroll_into_view_if_needed()
    example.click()


@pytest.mark.browser
def test_on_a_phone_no_label_covers_the_top_class_or_the_maps(browser, app_url, screenshot_dir):
    """390x844: the top-5 list's label ("Top-5 predictions (click one to explain it)") wraps onto two lines;
    it sits above the top class, and the gallery's label above the first maps, not over them."""
    with app_page(browser, app_url, 390, 844, timeout_ms=180_000) as page:
        _open_saliency(page)
        panel = page.locator("#saliency")
        _click_example(panel, "espresso.jpg")
        panel.get_by_text("explains class").wait_for()
        top5 = page.locator("#saliency-top5")
        top5.scroll_into_view_if_needed()
        label = _box(top5.locator("[data-testid=block-label]"))
        assert label["height"] > 30                                  # two lines: the case that covered the class
        for part in (top5.locator("[data-testid=label-output-value]"), top5.locator("button").first):
            assert not _overlap(label, _box(part)), "the top-5 label covers the top class"
        page.screenshot(path=str(screenshot_dir / "saliency-top5-390.png"))
        gallery = page.locator("#saliency-maps")
        gallery.locator(".thumbnail-item").nth(1).wait_for()
        gallery.scroll_into_view_if_needed()
        badge = _box(gallery.locator("[data-testid=block-label]"))
        for thumbnail in gallery.locator(".thumbnail-item").all():
            assert not _overlap(badge, _box(thumbnail)), "the gallery's label covers a map"
        page.screenshot(path=str(screenshot_dir / "saliency-maps-390.png"))


@pytest.mark.browser
def test_cancel_during_a_run_says_stopped_and_no_error(wide, screenshot_dir):
    """Cancel while three slow maps are computed (its progress shown): the header says Stopped, and no toast
    (titled "Error" or anything else) appears."""
    page, panel = wide, wide.locator("#saliency")
    _click_example(panel, "panda.jpg")
    panel.get_by_text("explains class").wait_for()
    page.locator("#saliency-trust table").wait_for()             # its trust check done: nothing else running
    for name in ("Integrated Gradients", "SmoothGrad", "Occlusion"):
        panel.get_by_role("checkbox", name=name).check()
    panel.get_by_role("button", name="Explain").click()
    page.get_by_text(re.compile(r"processing")).first.wait_for(timeout=240_000)     # the maps are being computed
    page.wait_for_timeout(3000)
    panel.get_by_role("button", name="Cancel").click()
    panel.get_by_text("Stopped.").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(screenshot_dir / "saliency-cancelled-1440.png"))
    toasts = page.locator("[data-testid=toast-body], .toast-body")
    assert toasts.count() == 0, toasts.all_inner_texts()
    assert "explains class" not in panel.inner_text()


@pytest.mark.browser
def test_a_chinese_browser_reads_the_saliency_tab_in_chinese(browser, app_url, screenshot_dir):
    """zh-CN: the methods (with their English names kept), the missing method's reason, the header, the
    captions and the trust table are Chinese; class names stay English."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(240_000)
        page.goto(app_url + "?lang=zh")
        page.wait_for_selector("button[role=tab]")
        _open_saliency(page)
        panel = page.locator("#saliency")
        methods = page.locator("#saliency-methods")
        methods.get_by_text("积分梯度 (Integrated Gradients)").wait_for()
        assert "上不提供“引导 Grad-CAM (Guided Grad-CAM)”" in methods.inner_text()
        _click_example(panel, "espresso.jpg")
        panel.get_by_text("解释类别").wait_for()
        assert "“espresso”" in panel.get_by_text("解释类别").inner_text()
        page.locator("#saliency-trust table").wait_for()
        trust = page.locator("#saliency-trust").inner_text()
        assert "删除（填补图块）" in trust and "这些结论是什么意思" in trust
        captions = page.locator("#saliency-maps .caption-label").all_inner_texts()
        assert captions == ["Grad-CAM：叠在图片上", "Grad-CAM：热力图"]
        page.locator("#saliency-trust").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / "saliency-trust-zh-1440.png"))
    finally:
        context.close()
