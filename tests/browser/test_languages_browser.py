"""Every tab, read in a real browser: a zh-CN browser reads Chinese in each and no English sentence (names
stay as they are: models, layers, methods, code, ImageNet's class names, so what is looked for is a run of
four English words); `?lang=en` reads no Chinese but the switch's own "简体中文"."""
import re

import pytest
from conftest import app_page

from explorer.core.registry import IMAGENET_LABELS

TABS = ("kernel_tab", "stages_tab", "saliency_tab", "architecture_tab")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Text a visitor reads: the tab's visible text, less code, tables of layer names, and the hidden parts.
VISIBLE_TEXT = """() => {
  const skip = 'code, pre, .cm-editor, script, style, [aria-hidden=true], .sidebar, #language-switch, textarea, input, '
    + 'table, .katex';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !el.offsetParent || el.closest(skip)) continue;
    const text = node.textContent.trim();
    if (text) texts.push(text);
  }
  return texts;
}"""


def _open(page, tab: str) -> None:
    page.locator(f"button[role=tab][data-tab-id={tab}]").first.click()
    page.wait_for_timeout(2500)


SENTENCE = re.compile(r"[A-Za-z][a-z'-]*(?:[ ,]+[A-Za-z][a-z'-]*){3,}")


def _english_sentences(texts: list[str]) -> list[str]:
    """Runs of four or more English words (a sentence left untranslated), less ImageNet's class names."""
    labels = {label.lower() for label in IMAGENET_LABELS}
    found = []
    for text in texts:
        for run in SENTENCE.findall(text):
            if run.lower() not in labels and not any(run.lower() in label for label in labels):
                found.append(run)
    return found


@pytest.mark.parametrize("tab", TABS)
def test_a_chinese_browser_reads_chinese_in_every_tab(browser, app_url, tab):
    with app_page(browser, app_url, 1440, 900, locale="zh-CN") as page:
        _open(page, tab)
        texts = page.evaluate(VISIBLE_TEXT)
        assert sum(bool(CJK.search(t)) for t in texts) >= 5, texts[:20]
        english = _english_sentences(texts)
        assert not english, f"English a Chinese visitor reads in {tab}: {sorted(set(english))}"


@pytest.mark.parametrize("tab", TABS)
def test_lang_en_reads_no_chinese(browser, app_url, tab):
    with app_page(browser, app_url, 1440, 900, locale="zh-CN", query="?lang=en") as page:
        page.wait_for_function("() => !/[\\u4e00-\\u9fff]/.test(document.querySelector('#lesson-text').innerText)")
        _open(page, tab)
        chinese = [t for t in page.evaluate(VISIBLE_TEXT) if CJK.search(t)]
        assert not chinese, chinese[:10]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_on_a_phone_every_tab_s_name_is_in_view(browser, app_url, locale):
    with app_page(browser, app_url, 390, 844, locale=locale) as page:
        page.wait_for_timeout(1500)
        shown = page.evaluate("() => [...document.querySelectorAll('button[role=tab][data-tab-id]')]"
                              ".filter(b => b.offsetParent && b.getBoundingClientRect().right <= 390)"
                              ".map(b => b.dataset.tabId)")
        assert shown == list(TABS), shown
        assert not page.locator(".overflow-menu button").first.is_visible() if page.locator(
            ".overflow-menu button").count() else True
