"""The Architecture tab in headless Chromium: the Inspect view keeps its last result and names the box
at fault, the notes, the print(model) box, the comparison table and plot, one request per model pick."""
import re
from pathlib import Path

import pytest
from conftest import app_page

from explorer.ui.architecture_tab import TITLE
from explorer.ui.words import english

TITLE = english(TITLE)          # the tab's English name, as an en-US browser shows it

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "shots"


@pytest.fixture
def architecture(browser, app_url):
    """The page at 1440x900 on the Architecture tab, its first summary drawn."""
    with app_page(browser, app_url, 1440, 900, tab=TITLE) as page:
        page.get_by_text("The network as a chain of blocks").first.wait_for()
        yield page


def test_architecture_tab_screenshot(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    page.get_by_text("The network as a chain of blocks").first.wait_for()
    page.locator(".arch-table details").first.wait_for()
    assert page.locator(".arch-table details").count() > 3
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot_dir / "architecture.png"), full_page=True)
    page.get_by_role("tab", name="Is the chapter's model AlexNet?").click()
    page.get_by_text("identical").first.wait_for()
    page.get_by_role("button", name="Load AlexNet's weights into CNNNet and compare their outputs").click()
    proof = page.locator("p", has_text="Same layers, same weights")
    proof.wait_for()
    assert "torch.equal: True" in proof.inner_text()
    page.screenshot(path=str(screenshot_dir / "architecture_alexnet.png"), full_page=True)
    page.get_by_role("tab", name="Other layers on your matrix").click()
    page.get_by_role("button", name="Resample the dropout mask").click()
    seed = page.get_by_label("Dropout seed")
    page.wait_for_function("el => el.value !== '0'", arg=seed.element_handle())
    page.get_by_text(f"Train mode, seed {seed.input_value()}:").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "architecture_layers.png"), full_page=True)


def _pick_model(page, title: str):
    page.get_by_label("Model").first.scroll_into_view_if_needed()
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name=title).first.click()
    # the summary's own first line ("AlexNet (AlexNet) on a 3×224×224 input ..."): other text on the page
    # can hold "AlexNet (", and typing before the pick's answer arrives would be overwritten by it
    page.locator("p", has_text=re.compile(rf"^{re.escape(title)} \(.*\) on a ")).first.wait_for()
    # and every output of the pick settled: a box still marked pending may drop what is typed into it
    page.wait_for_function("() => !document.querySelector('.pending, .generating')")


def _visible_messages(page) -> list[str]:
    return [t.strip() for t in page.locator(".field-message:visible").all_inner_texts() if t.strip()]



def test_a_too_small_height_keeps_the_result_and_says_where_beside_the_height(architecture):
    page = architecture
    _pick_model(page, "AlexNet")
    height = page.get_by_label("Input height (px)")
    height.fill("10")
    height.press("Enter")
    # (this Enter used to go unanswered now and then: the pick's echo had put 224 back over the 10)
    stale = page.locator(".not-updated:visible").first
    stale.wait_for()
    page.wait_for_timeout(500)
    messages = set(_visible_messages(page))
    assert len(messages) == 1, messages
    message = messages.pop()
    assert "10 px is too small for AlexNet" in message and "features.2" in message and "63 px" in message
    assert "Given input size" not in message
    # beside the control at fault: right under the height box, inside its column
    # both boxes measured in one go, so that no scrolling can come between them
    left, right, bottom, message_left, message_top = height.evaluate("""field => {
        const message = [...document.querySelectorAll('.field-message')]
            .find(e => e.offsetParent !== null && e.innerText.trim());
        const a = field.getBoundingClientRect(), b = message.getBoundingClientRect();
        return [a.left, a.right, a.bottom, b.left, b.top]; }""")
    assert bottom <= message_top < bottom + 40
    assert left - 20 <= message_left <= right
    # the last good result stays, marked as not updated; no toast, no error badge
    assert "3×224×224" in stale.inner_text()
    assert page.locator(".toast-body").count() == 0
    assert page.get_by_text("Error", exact=True).count() == 0
    assert page.locator("p", has_text="AlexNet (").first.inner_text().count("3×224×224") == 1
    assert page.locator(".arch-table details").count() > 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "architecture_too_small.png"))
    # the smallest height the message states works: the results follow and the message goes
    height.fill("63")
    height.press("Enter")
    page.locator("p", has_text="3×63×224").first.wait_for()
    page.wait_for_timeout(500)
    assert _visible_messages(page) == [] and page.locator(".not-updated:visible").count() == 0


def test_the_inception_note_shows_only_for_a_block_that_differs_from_its_paper(architecture):
    page = architecture
    note = page.locator("p", has_text="Drawn from the layers that really ran").first
    assert "5×5" not in note.inner_text()             # EfficientNet-Lite0, the default
    _pick_model(page, "GoogLeNet")
    page.get_by_text("No 5×5 ran here").first.wait_for()
    _pick_model(page, "ResNet-18")
    page.wait_for_timeout(800)
    assert page.get_by_text("5×5").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_text("The network as a chain of blocks").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "architecture_resnet18_chain.png"))


def test_the_print_model_box_says_what_it_holds(architecture):
    page = architecture
    page.get_by_text("print(model)", exact=True).first.scroll_into_view_if_needed()
    page.get_by_text("print(model)", exact=True).first.click()
    label = page.get_by_text("print(model): the module tree as PyTorch prints it").first
    label.wait_for()
    assert page.get_by_text("Code", exact=True).count() == 0


def test_compare_table_fits_its_headers_break_between_words_and_the_plot_has_no_badge(architecture):
    page = architecture
    page.get_by_role("tab", name="Compare models").click()
    for title in ("VGG-16", "ResNet-50", "MobileNetV3-Large"):       # keep AlexNet, GoogLeNet, ResNet-18
        page.get_by_label(title, exact=True).uncheck()
    page.get_by_role("button", name="Compare (measures latency: a few seconds)").click()
    table = page.locator("#compare-table .compare-table")
    table.locator("td", has_text="ResNet-18").first.wait_for()
    page.locator("#compare-plot img").first.wait_for()
    fits = table.evaluate("el => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().right, "
                          "document.documentElement.clientWidth]")
    assert fits[0] <= fits[1] and fits[2] <= fits[3], fits
    # a word broken across two lines has two client rectangles
    broken = table.evaluate("""el => [...el.querySelectorAll('th')].flatMap(th => {
        const words = [];
        const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.textContent.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                if (range.getClientRects().length > 1) words.push(m[0]);
            }
        }
        return words; })""")
    assert broken == [], broken
    headers = table.locator("th").all_inner_texts()
    assert [" ".join(h.split()) for h in headers][:5] == ["model", "input", "parameters (M)", "MACs (G)",
                                                          "latency (ms)"]
    assert page.locator("#compare-plot [data-testid=block-label]:visible").count() == 0
    page.locator("#compare-plot").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "architecture_compare.png"))
    # nothing ticked: one message by the boxes, the last table and plot stay, no toast, no error badge
    for title in ("AlexNet", "ResNet-18", "GoogLeNet (Inception v1)"):
        page.get_by_label(title, exact=True).uncheck()
    page.get_by_role("button", name="Compare (measures latency: a few seconds)").click()
    page.locator(".field-message:visible").first.wait_for()
    assert set(_visible_messages(page)) == {"⚠ models: pick at least one model to compare"}
    assert table.locator("td", has_text="ResNet-18").count() == 1
    assert page.locator(".toast-body").count() == 0 and page.get_by_text("Error", exact=True).count() == 0


def test_one_pick_of_a_model_is_one_request_and_a_size_typed_after_it_stays(architecture):
    """Gradio's dropdown sends `input` on a pick and again on the blur after it; the pick listens to
    `select`, so a size typed right after the pick is not put back to the model's default."""
    page = architecture
    joins = []
    page.on("request", lambda r: joins.append(r.url) if "queue/join" in r.url else None)
    page.wait_for_timeout(1000)
    before = len(joins)
    _pick_model(page, "AlexNet")
    height = page.get_by_label("Input height (px)")
    height.fill("100")
    page.wait_for_timeout(1500)                     # a second answer would have come by now
    assert len(joins) - before == 1
    assert height.input_value() == "100"
