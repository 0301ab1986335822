"""The shared picture input in Chromium: after the Sketchpad's Clear (the bin), the next strokes draw (the
brush is picked again), in an English and in a Chinese page."""
import io

import numpy as np
import pytest
from PIL import Image
from stages_page import stroke

LEFT_STROKE = [[(0.25, 0.2), (0.25, 0.8)]]          # a vertical line on the left, as fractions of the canvas
LOW_STROKE = [[(0.2, 0.75), (0.8, 0.75)]]           # a horizontal line low down


def _ink(canvas) -> np.ndarray:
    """Where the canvas is dark (True) in a screenshot of it."""
    picture = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
    return np.asarray(picture) < 100


def _share(ink: np.ndarray, box: tuple) -> float:
    """The share of dark pixels in the region `box` = (left, top, right, bottom) as fractions."""
    h, w = ink.shape
    left, top, right, bottom = box
    return float(ink[int(top * h):int(bottom * h), int(left * w):int(right * w)].mean())


@pytest.mark.browser
@pytest.mark.parametrize("lang, locale, draw_tab", [("en", "en-US", "Draw"), ("zh", "zh-CN", "画图")])
def test_clearing_the_sketchpad_keeps_the_brush(browser, app_url, lang, locale, draw_tab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}?lang={lang}")
        page.locator('button[role=tab][data-tab-id="stages_tab"]').click()
        page.get_by_role("tab", name=draw_tab, exact=True).first.click()
        canvas = page.locator("#stages-draw canvas").first
        canvas.wait_for()
        brush = page.locator('#stages-draw button[aria-label="Brush"]')
        page.wait_for_selector('#stages-draw button[aria-label="Brush"].highlight')   # the Draw tab picks it
        page.wait_for_timeout(300)
        box = canvas.bounding_box()
        blank = _ink(canvas)
        stroke(page, box, LEFT_STROKE)
        page.wait_for_timeout(300)
        first = _ink(canvas)
        assert _share(first, (0.2, 0.3, 0.3, 0.7)) > _share(blank, (0.2, 0.3, 0.3, 0.7)) + 0.2, "the first stroke drew"

        # Gradio's Clear canvas button (the bin; Gradio 6.31 names it in English in a zh-CN page too)
        page.locator('#stages-draw button[aria-label="Clear canvas"]').click()
        page.wait_for_timeout(500)
        assert "highlight" in brush.get_attribute("class"), "Clear left the brush picked"
        cleared = _ink(canvas)
        assert _share(cleared, (0.2, 0.3, 0.3, 0.7)) < 0.05, "the canvas was cleared"

        stroke(page, box, LOW_STROKE)
        page.wait_for_timeout(300)
        second = _ink(canvas)
        assert _share(second, (0.3, 0.72, 0.7, 0.78)) > 0.5, "the strokes after Clear drew (the brush is kept)"
        assert _share(second, (0.2, 0.3, 0.3, 0.6)) < 0.05, "the first stroke stayed cleared"
    finally:
        context.close()


@pytest.mark.browser
def test_a_file_that_is_no_picture_is_refused_in_the_pages_language(browser, app_url, tmp_path):
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"these are notes, not a picture\n" * 20)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}?lang=zh")
        page.locator('button[role=tab][data-tab-id="stages_tab"]').click()
        page.locator("#stages-photo input[type=file]").set_input_files(str(junk))
        page.wait_for_selector("[data-testid=toast-body]")
        said = page.locator("[data-testid=toast-text]").first.inner_text()
        # refused by the upload box's own check, before the handler: in Chinese all the same
        assert "image：这个文件不是能读取的图片" in said and "PNG、JPEG" in said and "请换一张图片" in said, said
    finally:
        context.close()


@pytest.mark.browser
def test_the_model_picker_and_your_model_speak_chinese(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{app_url}?lang=zh")
        page.locator('button[role=tab][data-tab-id="stages_tab"]').click()
        picker = page.locator("#stages-model")
        picker.get_by_text("模型", exact=True).wait_for()
        assert "画图时会换成手写数字模型" in picker.inner_text()
        page.locator("#stages-own").click()
        page.locator("#stages-own-name input").fill("tinynet_e")
        page.keyboard.press("Enter")
        page.locator("#stages-own-use").click()
        page.wait_for_function("document.querySelector('#stages-own-message')?.innerText.includes('正在使用')")
        assert "未经训练" in page.locator("#stages-own-message").inner_text()
        assert picker.locator("input").input_value() == "timm tinynet_e"
        picker.locator("input").click()
        options = page.locator("ul[role=listbox] li").all_inner_texts()
        assert "手写数字（LeNet 式）" in [o.strip() for o in options], options
    finally:
        context.close()
