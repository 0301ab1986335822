"""The Kernel tab and the Architecture tab's "Other layers" panel in headless Chromium: the frame
animates, every control answers (Enter, leaving the box, arrow keys), a mistake gets one message beside
the control at fault while the last good result stays, and the page reads cleanly at 1440x900."""
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import app_page, close_lesson
from playwright.sync_api import Error as PlaywrightError

from explorer.core.sliding import fmt, replay, slide
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, PRESET_NAMES, preset
from explorer.ui.kernel_settings import SETTING_NAMES, slide_settings
from explorer.ui.kernel_tab import PAUSE, PLAY, TITLE
from explorer.ui.words import english

TITLE = english(TITLE)          # the tab's English name, as an en-US browser shows it

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "shots"


@pytest.fixture
def kernel(browser, app_url):
    """The page at 1440x900 on the Kernel tab, with the console's warnings and errors collected."""
    with app_page(browser, app_url, 1440, 900, tab=TITLE) as page:
        page.console = []
        page.on("console", lambda m: page.console.append(m.text) if m.type in ("warning", "error") else None)
        _frame_loaded(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield page


def _frame_loaded(page):
    page.wait_for_function("() => +(document.querySelector('#kernel_live .kl')?.dataset.loads || 0) > 0")


def frame_src(page):
    """How many values the page's player has drawn so far (a new one for every new result)."""
    return page.locator("#kernel_live .kl").get_attribute("data-loads")


def wait_for_new_frame(page, before):
    page.wait_for_function("b => document.querySelector('#kernel_live .kl').dataset.loads !== b", arg=before)


DRAWN = """() => {
  const root = document.querySelector('#kernel_live .kl');
  const grid = role => { const out = {};
    root.querySelectorAll(`g[data-role=${role}]`).forEach(g => {
      (out[g.dataset.r] ||= [])[+g.dataset.c] = g.querySelector('text').textContent; });
    return Object.keys(out).sort((a, b) => a - b).map(r => out[r]); };
  const taps = [...root.querySelectorAll('rect[data-role=tap]')].map(r => [+r.getAttribute('y'), +r.getAttribute('x')]);
  const cell = root.querySelector('g[data-role=input] rect'), c = +cell.getAttribute('width');
  return {step: +root.dataset.step, input: grid('input'), kernel: grid('kernel'), products: grid('product'),
          output: grid('output'), sum: root.querySelector('[data-role=sum] code').textContent,
          taps: taps.map(([y, x]) => [Math.round((y - +cell.getAttribute('y')) / c), Math.round((x - +cell.getAttribute('x')) / c)])};
}"""


def drawn(page) -> dict:
    """The numbers the page's SVG shows, read back from its text elements, and the window's taps."""
    return page.evaluate(DRAWN)


def expected_drawing(s, step: int) -> dict:
    """What the drawing of step `step` (1-based) must show, from slide() and fmt, without the page."""
    st = s.steps[step - 1]
    products = st.window * s.kernel if s.op == "conv" else st.window
    flat = [(i, j) for i in range(s.output.shape[0]) for j in range(s.output.shape[1])]
    output = [["" for _ in row] for row in s.output]
    for i, j in flat[:step]:
        output[i][j] = fmt(float(s.output[i, j]))
    return {"step": step, "input": [[fmt(float(v)) for v in row] for row in s.padded],
            "kernel": [] if s.kernel is None else [[fmt(float(v)) for v in row] for row in s.kernel],
            "products": [[fmt(float(v)) for v in row] for row in products], "output": output,
            "sum": s.expression(step - 1, 12, times="×"),
            "taps": [[int(r), int(c)] for r in st.rows for c in st.cols]}


def preset_slide(name: str):
    """slide() of a preset's settings, as the tab reads its controls."""
    p = preset(name)
    return replay(slide_settings(**{n: p[n] for n in SETTING_NAMES}))


def chapter_frame(step: int) -> dict:
    """The drawing of step `step` (1-based) of the chapter's example (stride 2)."""
    return expected_drawing(slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2), step)


def frame_pixels(page) -> dict:
    _frame_loaded(page)
    return drawn(page)


def edit_cell(page, table_id, row, col, text):
    cell = page.locator(f"#{table_id} [data-testid=cell-{row}-{col}]")
    cell.scroll_into_view_if_needed()
    cell.dblclick()
    # the cell's editor must have the focus before Ctrl+A selects its text (else the typing is appended)
    page.wait_for_function("id => { const e = document.activeElement; return e && ['INPUT', 'TEXTAREA']"
                           ".includes(e.tagName) && e.closest('#' + id) !== null; }", arg=table_id)
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def type_in_dropdown(page, label, text, key="Enter"):
    box = page.get_by_label(label)
    box.scroll_into_view_if_needed()
    box.click()
    box.fill(text)
    box.press(key)


def visible_messages(page) -> list[str]:
    return [m.inner_text() for m in page.locator(".input-msg").all() if m.is_visible()]


def test_play_sends_no_request_for_5_s_and_pause_stops_it(kernel):
    page = kernel
    before = frame_src(page)
    _choose_preset(page, "Photo crop with edge detector")       # 196 steps: still playing after 5 s
    wait_for_new_frame(page, before)
    page.locator("#kernel_live").scroll_into_view_if_needed()
    speed = page.locator("#kernel_live [data-role=speed]")
    speed.fill("20")                                               # a range input: fill sets its value
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    play = page.locator("#kernel_live [data-act=play]")
    play.click()
    assert play.inner_text() == PAUSE and play.get_attribute("aria-pressed") == "true"
    # Pause must look as live as Play: full opacity, not grey, not disabled
    assert play.evaluate("b => !b.disabled && getComputedStyle(b).opacity === '1' && "
                         "getComputedStyle(b).backgroundColor !== getComputedStyle(document.querySelector("
                         "'#kernel_live [data-act=back]')).backgroundColor")
    page.wait_for_timeout(5000)
    page.screenshot(path=str(SHOTS / "kernel_animating.png"))
    assert requests == [], f"requests while playing: {requests}"
    played = drawn(page)["step"]
    assert played >= 60, f"20 steps a second for 5 s reached only step {played}"
    s = preset_slide("Photo crop with edge detector")
    for _ in range(5):                     # Pause stops at once, on a step drawn whole and right
        play.click()
        assert play.inner_text() == PLAY
        paused = drawn(page)
        page.wait_for_timeout(400)
        assert drawn(page) == paused == expected_drawing(s, paused["step"])
        play.click()
        page.wait_for_timeout(300)
    assert requests == []


def test_a_bad_cell_gives_one_message_beside_the_matrix_and_keeps_the_last_result(kernel):
    page = kernel
    page.screenshot(path=str(SHOTS / "kernel.png"))
    page.screenshot(path=str(SHOTS / "kernel_full.png"), full_page=True)
    before_frame, before_code = frame_src(page), page.locator("#kernel_code").inner_text()
    edit_cell(page, "kernel_matrix", 1, 1, "abc")
    page.locator("#kernel_matrix_msg .input-msg").wait_for()
    page.wait_for_timeout(1500)            # time for any further message to arrive
    assert page.locator(".toast-body").count() == 0
    assert visible_messages(page) == ["matrix row 1, column 1: 'abc' is not a number"]
    assert page.locator("#kernel_stale").is_visible() and "Not updated" in page.locator("#kernel_stale").inner_text()
    assert frame_src(page) == before_frame and page.locator("#kernel_code").inner_text() == before_code
    assert page.get_by_text("Error", exact=True).count() == 0
    assert page.console == []
    page.screenshot(path=str(SHOTS / "kernel_bad_cell.png"))
    page.screenshot(path=str(SHOTS / "kernel_bad_cell_full.png"), full_page=True)

    page.get_by_role("tab", name="Architecture").click()     # the tab not in view said nothing
    page.get_by_role("tab", name="Other layers on your matrix").click()
    page.locator("#layers_matrix").wait_for()
    assert visible_messages(page) == [] and page.locator(".toast-body").count() == 0

    page.get_by_role("tab", name=TITLE).click()
    edit_cell(page, "kernel_matrix", 1, 1, "5")                 # fixed: a fresh result, no message
    wait_for_new_frame(page, before_frame)
    page.locator("#kernel_stale").wait_for(state="hidden")
    assert visible_messages(page) == [] and page.console == []
    matrix = [row[:] for row in CHAPTER_MATRIX]
    matrix[1][1] = 5
    assert frame_pixels(page) == expected_drawing(slide(matrix, CHAPTER_KERNEL, stride=2), 1)
    assert "[2, 5, 4, 0]" in page.locator("#kernel_code").inner_text()


def test_stride_0_is_named_beside_the_settings_and_a_good_stride_clears_it(kernel):
    page = kernel
    before = frame_src(page)
    type_in_dropdown(page, "Stride (s or h,w)", "0")
    page.locator("#kernel_settings_msg .input-msg").wait_for()
    page.wait_for_timeout(1000)
    assert visible_messages(page) == ["stride: must be at least 1, got 0"]
    assert page.locator(".toast-body").count() == 0 and frame_src(page) == before
    assert page.locator("#kernel_stale").is_visible()

    type_in_dropdown(page, "Stride (s or h,w)", "3", key="Tab")     # leaving the box is enough
    page.locator("#kernel_stale").wait_for(state="hidden")
    out = F.conv2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None],
                   torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=3)[0, 0]
    assert f"Output {out.shape[0]}x{out.shape[1]}" in page.locator("#kernel_info").inner_text()
    assert visible_messages(page) == [] and page.console == []


def test_the_drawn_numbers_equal_slides_at_every_way_of_stepping(kernel):
    page = kernel
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    assert drawn(page) == chapter_frame(1)
    forward = page.locator("#kernel_live [data-act=fwd]")
    forward.click()
    forward.click()
    assert drawn(page) == chapter_frame(3)
    page.locator("#kernel_live [data-act=back]").click()
    assert drawn(page) == chapter_frame(2)
    page.locator("#kernel_live .kl").focus()
    page.keyboard.press("End")
    assert drawn(page) == chapter_frame(4)
    page.keyboard.press("ArrowLeft")
    assert drawn(page) == chapter_frame(3)
    page.keyboard.press("Home")
    assert drawn(page) == chapter_frame(1)
    scrub = page.locator("#kernel_live [data-role=scrub]")
    scrub.fill("4")
    assert drawn(page) == chapter_frame(4)
    assert requests == [] and page.console == []

    before = frame_src(page)                  # a padded convolution with dilation: several steps
    _choose_preset(page, "Chapter: convolution, padding 1")
    wait_for_new_frame(page, before)
    s = preset_slide("Chapter: convolution, padding 1")
    for step in (1, 7, len(s.steps)):
        scrub.fill(str(step))
        assert drawn(page) == expected_drawing(s, step)


def test_hovering_an_output_cell_shows_its_window_and_its_sum(kernel):
    page = kernel
    s = slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2)
    cell = page.locator("#kernel_live g[data-role=output][data-r='1'][data-c='0']")
    cell.hover()
    assert drawn(page)["sum"] == s.expression(2, 12, times="×")
    assert drawn(page)["taps"] == chapter_frame(3)["taps"]
    page.mouse.move(0, 0)                                      # leaving it shows the step held before
    assert drawn(page) == chapter_frame(1)
    cell.click()                                               # a tap keeps it
    page.mouse.move(0, 0)
    assert drawn(page) == chapter_frame(3)


GLYPH_DRAWN = """([text, font]) => {
  // the pixels of `text` and of a character no font has (U+E000): equal pixels mean an empty box
  const draw = (t) => { const c = document.createElement('canvas'); c.width = 60; c.height = 40;
    const g = c.getContext('2d'); g.font = font; g.fillText(t, 5, 30);
    return Array.from(g.getImageData(0, 0, 60, 40).data).join(','); };
  return draw(text) !== draw('\\uE000');
}"""


def test_button_labels_render_and_stay_on_one_line(kernel):
    page = kernel
    before = frame_src(page)
    _choose_preset(page, "Photo crop with edge detector")       # 196 steps: still playing when measured
    wait_for_new_frame(page, before)
    page.locator("#kernel_live [data-act=play]").click()
    page.get_by_role("button", name=PAUSE).wait_for()
    for act in ("play", "back", "fwd"):
        button = page.locator(f"#kernel_live [data-act={act}]")
        label = button.inner_text().strip()
        font = button.evaluate("b => { const s = getComputedStyle(b); return `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`; }")
        for glyph in {c for c in label if ord(c) > 127}:
            assert page.evaluate(GLYPH_DRAWN, [glyph, font]), f"{glyph!r} (U+{ord(glyph):04X}) of {label!r} draws an empty box"
        lines = button.evaluate("b => { const r = document.createRange(); r.selectNodeContents(b);"
                                " return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }")
        assert lines == 1, f"{label!r} wraps onto {lines} lines"
    page.get_by_role("button", name=PAUSE).click()
    page.get_by_role("button", name=PLAY).wait_for()


def _choose_preset(page, name):
    box = page.locator("#kernel_preset input")
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=name, exact=True).click()


def test_code_line_numbers_sit_beside_their_lines(kernel):
    page = kernel
    before = frame_src(page)
    _choose_preset(page, "Photo crop with edge detector")     # 35 lines of code instead of 22
    wait_for_new_frame(page, before)
    page.wait_for_timeout(500)             # measured below the fold, as a full-page screenshot shows it
    offsets = page.evaluate("""() => {
      const editor = document.querySelector('#kernel_code .cm-editor');
      const lines = [...editor.querySelectorAll('.cm-content .cm-line')];
      return [...editor.querySelectorAll('.cm-lineNumbers .cm-gutterElement')]
        .filter(e => e.offsetHeight > 0 && /^\\d+$/.test(e.innerText.trim()))
        .map(e => { const n = +e.innerText.trim();
                    return [n, e.getBoundingClientRect().top - lines[n - 1].getBoundingClientRect().top]; });
    }""")
    assert len(offsets) >= 30
    drift = {n: round(d, 1) for n, d in offsets if abs(d) > 2}
    assert drift == {}, f"line numbers away from their lines (px): {drift}"
    misplaced = page.evaluate("""() => {
      // every fold arrow shown must stand beside a line that opens something to fold
      const editor = document.querySelector('#kernel_code .cm-editor');
      const lines = [...editor.querySelectorAll('.cm-content .cm-line')];
      return [...editor.querySelectorAll('.cm-foldGutter .cm-gutterElement')]
        .filter(e => e.offsetHeight > 0 && e.innerText.trim() !== '')
        .map(e => lines.find(l => Math.abs(l.getBoundingClientRect().top - e.getBoundingClientRect().top) < 3))
        .filter(l => !l || !/[\\[(:]\\s*$/.test(l.innerText)).map(l => l ? l.innerText : 'no line');
    }""")
    assert misplaced == [], f"fold arrows beside lines with nothing to fold: {misplaced}"


def test_every_preset_name_shows_whole_and_clear_of_its_arrow(kernel):
    page = kernel
    for name in PRESET_NAMES:
        _choose_preset(page, name)
        page.wait_for_function("n => document.querySelector('#kernel_preset input').value === n", arg=name)
        text_end, arrow_start, cut = page.evaluate("""() => {
          const input = document.querySelector('#kernel_preset input');
          const arrow = document.querySelector('#kernel_preset svg.dropdown-arrow');
          const box = input.getBoundingClientRect(), style = getComputedStyle(input);
          return [box.right - parseFloat(style.paddingRight), arrow.getBoundingClientRect().left,
                  input.scrollWidth > input.clientWidth];
        }""")
        assert text_end <= arrow_start + 0.5, f"{name!r} runs under the arrow"
        assert not cut, f"{name!r} is cut"


def test_long_weights_stay_inside_the_table(kernel):
    page = kernel
    before = frame_src(page)
    _choose_preset(page, "Blur on a square")                      # a 3x3 kernel
    wait_for_new_frame(page, before)
    before = frame_src(page)
    edit_cell(page, "kernel_weights", 0, 2, "0.3333333333333333333333")
    wait_for_new_frame(page, before)
    page.locator("#kernel_weights").click(position={"x": 5, "y": 5})   # leave the cell
    page.wait_for_timeout(500)
    table_right, cell_right, text_right = page.evaluate("""() => {
      const grid = document.querySelector('#kernel_weights [role=grid]');
      const cell = grid.querySelector('[data-testid=cell-0-2]');
      const text = cell.querySelector('span');
      const range = document.createRange(); range.selectNodeContents(text);
      const right = Math.max(...Array.from(range.getClientRects()).map(r => r.right));
      return [grid.getBoundingClientRect().right, cell.getBoundingClientRect().right, right];
    }""")
    assert "0.333333333333" in page.locator("#kernel_weights [data-testid=cell-0-2]").inner_text()
    assert cell_right <= table_right + 0.5 and text_right <= cell_right + 0.5


def test_the_code_download_is_named_after_what_it_holds(kernel):
    page = kernel
    button = page.locator("#kernel_code_download")
    button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "conv2d_4x4_input_2x2_kernel.py"
    namespace = {}
    exec(Path(download.value.path()).read_text(), namespace)
    expected = F.conv2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None],
                        torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)[0, 0]
    assert torch.equal(namespace["out"], expected)
    assert page.locator("#kernel_code button[aria-label=Download], #kernel_code a[download]").count() == 0


def until(condition, seconds=20.0):
    """Wait until condition() holds (a table the page redraws has no single attribute to wait for)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
            problem = "the page did not get there in time"
        except (ValueError, PlaywrightError) as error:       # a table caught while it is redrawn
            problem = f"the page did not get there in time: {error}"
        assert time.monotonic() < deadline, problem
        time.sleep(0.2)


def _table_numbers(page, label) -> np.ndarray:
    grid = page.get_by_role("grid", name=label)
    rows = int(grid.get_attribute("aria-rowcount")) - 1
    cols = int(grid.get_attribute("aria-colcount")) - (1 if grid.locator("[role=rowheader]").count() else 0)
    return np.array([[float(grid.locator(f"[data-testid=cell-{r}-{c}]").inner_text()) for c in range(cols)]
                     for r in range(rows)])


def test_other_layers_show_each_layer_on_their_example_and_follow_edits(kernel):
    page = kernel
    page.get_by_role("tab", name="Architecture").click()
    page.get_by_role("tab", name="Other layers on your matrix").click()
    page.locator("#layers_matrix").wait_for()
    matrix = _table_numbers(page, "Your matrix")
    relu = _table_numbers(page, "nn.ReLU(): negatives become 0")
    expected = torch.relu(torch.tensor(matrix)).numpy()
    assert np.array_equal(relu, expected) and not np.array_equal(relu, matrix)      # ReLU visibly acts
    page.screenshot(path=str(SHOTS / "other_layers.png"))

    edit_cell(page, "layers_matrix", 0, 0, "20")                                   # edits are followed
    matrix[0, 0] = 20
    expected = F.adaptive_max_pool2d(torch.tensor(matrix)[None, None], (2, 2))[0, 0].numpy()
    assert expected[0, 0] == 20
    until(lambda: np.array_equal(_table_numbers(page, "nn.AdaptiveMaxPool2d((h, w))"), expected))

    height = page.get_by_label("Adaptive pool output height")                      # typing + Enter
    height.fill("3")
    height.press("Enter")
    expected = F.adaptive_max_pool2d(torch.tensor(matrix)[None, None], (3, 2))[0, 0].numpy()
    until(lambda: np.array_equal(_table_numbers(page, "nn.AdaptiveMaxPool2d((h, w))"), expected))
    page.screenshot(path=str(SHOTS / "other_layers_full.png"), full_page=True)

    page.get_by_role("button", name="Use the Kernel tab's matrix").click()
    page.wait_for_function("() => document.body.innerText.includes('4×4 → 3×2')")
    until(lambda: np.array_equal(_table_numbers(page, "Your matrix"), np.array(CHAPTER_MATRIX, dtype=float)))
    expected = F.adaptive_avg_pool2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None], (3, 2))[0, 0]
    until(lambda: np.allclose(_table_numbers(page, "nn.AdaptiveAvgPool2d((h, w))"), expected.numpy(), atol=1e-4))
    assert page.locator(".toast-body").count() == 0 and page.console == []


def test_a_1x1_matrix_in_other_layers_gets_words_not_a_pytorch_error(kernel):
    page = kernel
    page.get_by_role("tab", name="Architecture").click()
    page.get_by_role("tab", name="Other layers on your matrix").click()
    page.locator("#layers_matrix").wait_for()
    page.get_by_role("tab", name=TITLE).click()             # cut the Kernel tab's matrix to 1x1 ...
    for element_id in ("kernel_rows", "kernel_cols"):
        box = page.locator(f"#{element_id} input[type=number]")
        box.scroll_into_view_if_needed()
        box.fill("1")
        box.press("Enter")
        page.wait_for_timeout(500)
    page.wait_for_function("() => document.querySelector('#kernel_matrix [role=grid]')"
                           ".getAttribute('aria-rowcount') === '2' && document.querySelector("
                           "'#kernel_matrix [role=grid]').getAttribute('aria-colcount') === '2'")
    page.get_by_role("tab", name="Architecture").click()
    page.get_by_role("button", name="Use the Kernel tab's matrix").click()
    page.get_by_text("Not measurable: BatchNorm2d").wait_for()
    assert "Expected more than 1 value" not in page.locator("body").inner_text()
    assert page.locator(".toast-body").count() == 0
    until(lambda: _table_numbers(page, "nn.ReLU(): negatives become 0").tolist() == [[10.0]])


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_animation_and_its_controls_are_on_the_first_screen(browser, app_url, width, height):
    with app_page(browser, app_url, width, height, tab=TITLE) as page:
        _frame_loaded(page)
        assert page.evaluate("() => window.scrollY") == 0
        for selector in ("#kernel_live svg", "#kernel_live [data-act=play]", "#kernel_live [data-role=sum]"):
            box = page.locator(selector).bounding_box()
            assert box["width"] > 0 and box["height"] > 0
            assert 0 <= box["x"] and box["x"] + box["width"] <= width + 0.5, f"{selector} at {box}"
            assert 0 <= box["y"] and box["y"] + box["height"] <= height + 0.5, f"{selector} at {box}"
        page.screenshot(path=str(SHOTS / f"kernel_first_screen_{width}.png"))


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_a_chinese_visitor_reads_the_player_in_chinese_counted_from_0_and_the_switch_changes_it(
        browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url + "?lang=zh")
        page.wait_for_function("document.documentElement.lang === 'zh-CN'")
        page.wait_for_selector("#lesson-text")
        close_lesson(page)                   # on a phone the lesson covers the page until closed
        _frame_loaded(page)
        player = page.locator("#kernel_live")
        until(lambda: player.locator("[data-act=play]").inner_text() == "▶ 播放")
        assert player.locator("[data-role=sum] b").inner_text() == "第 1 步：输出第 0 行第 0 列"
        assert "第 1 步，共 4 步" in player.inner_text() and "没有任何窗口读到" in player.inner_text()
        # the legend wraps inside the player: no word runs off it
        right = player.bounding_box()["x"] + player.bounding_box()["width"]
        for box in [span.bounding_box() for span in player.locator(".kl-legend > span").all()]:
            assert box["width"] > 0 and box["x"] + box["width"] <= right + 0.5, box
        # the tables' rows and columns are shown from 0 (Gradio's own numbers hidden)
        first_row = page.locator("#kernel_matrix .row-number-cell[data-row]").first
        assert first_row.get_attribute("data-row") == "0"
        shown = page.evaluate("""() => {
          const cell = document.querySelector('#kernel_matrix .row-number-cell[data-row]');
          const head = document.querySelector('#kernel_matrix th.header-cell .header-content');
          return [getComputedStyle(cell).fontSize, getComputedStyle(cell, '::before').content,
                  getComputedStyle(head, '::before').content];
        }""")
        assert shown == ["0px", "\"0\"", "counter(column)"]          # row 0 shown as 0
        page.screenshot(path=str(SHOTS / f"kernel_chinese_{width}.png"))
        page.locator("#language-switch").get_by_text("English").click()
        until(lambda: player.locator("[data-act=play]").inner_text() == PLAY)
        assert player.locator("[data-role=sum] b").inner_text() == "Step 1: output row 0, column 0"
    finally:
        context.close()
