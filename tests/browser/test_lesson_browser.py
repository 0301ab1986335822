"""The lesson and the links, as a visitor uses them in Chromium: in a zh-CN browser the lesson speaks
Chinese and `?lang=en` none; each page's link opens it with its tab; Try it and the question; a link to
what is on screen reopens it in a fresh browser; the picture given in one tab is the other's."""
import re

import pytest
from conftest import app_page

from explorer import lesson
from explorer.core.models import DEFAULT_MODEL
from explorer.core.registry import REGISTRY

CJK = re.compile(r"[\u4e00-\u9fff]")
TAB_TITLES = {"kernel": "kernel_tab", "stages": "stages_tab", "saliency": "saliency_tab",
              "architecture": "architecture_tab"}


def _panel_text(page) -> str:
    return page.locator("#lesson-text").inner_text()


def test_a_chinese_browser_reads_the_lesson_in_chinese_and_lang_en_in_english(browser, app_url):
    with app_page(browser, app_url, locale="zh-CN", lesson=True) as page:
        page.wait_for_function("() => /[\\u4e00-\\u9fff]/.test(document.querySelector('#lesson-text').innerText)")
        assert lesson.PAGES[0].title["zh"] in _panel_text(page)
        assert CJK.search(page.locator("#lesson-try").inner_text())
    with app_page(browser, app_url, locale="zh-CN", query="?lang=en", lesson=True) as page:
        page.wait_for_function("() => document.querySelector('#lesson-text').innerText.includes(%r)"
                               % lesson.PAGES[0].title["en"])
        assert not CJK.search(page.locator("#lesson").inner_text())


def test_the_switch_changes_the_language_and_the_browser_remembers_it(browser, app_url):
    chinese = "() => /[\\u4e00-\\u9fff]/.test(document.querySelector('#lesson-text')?.innerText || '')"
    with app_page(browser, app_url, lesson=True) as page:
        page.wait_for_function("() => document.querySelector('#lesson-where')?.innerText.includes('1')")
        page.locator("#language-switch").get_by_text("简体中文").click()
        page.wait_for_url(re.compile(r"lang=zh"), timeout=120_000)       # the page opens again in Chinese
        page.wait_for_function(chinese, timeout=120_000)
        page.goto(app_url)                                                # a fresh visit: remembered
        page.wait_for_selector("#lesson-text")
        page.wait_for_function(chinese, timeout=120_000)


@pytest.mark.parametrize("key", lesson.PAGE_KEYS)
def test_each_page_s_link_opens_it_with_its_tab(browser, app_url, key):
    page_ = lesson.page(key)
    with app_page(browser, app_url, query=f"?page={key}", lesson=True) as page:
        page.wait_for_function("(t) => document.querySelector('#lesson-text').innerText.includes(t)",
                               arg=page_.title["en"])
        page.wait_for_selector(f"button[role=tab][aria-selected=true][data-tab-id={TAB_TITLES[page_.tab]}]")


def test_try_it_then_a_wrong_and_a_right_answer(browser, app_url):
    first = lesson.PAGES[0]
    with app_page(browser, app_url, lesson=True) as page:
        page.locator("#lesson-try").click()
        reply = page.locator("#lesson-reply textarea, #lesson-reply input").first
        wrong = str(first.answer()) + "1"
        reply.fill(wrong)
        page.locator("#lesson-check").click()
        page.wait_for_function("() => document.querySelector('#lesson-verdict').innerText.includes('Not quite')")
        assert wrong not in page.locator("#lesson-verdict").inner_text()
        reply.fill(str(first.answer()))
        page.locator("#lesson-check").click()
        page.wait_for_function("() => document.querySelector('#lesson-verdict').innerText.includes('Right')")


def _stage_and_channel(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('input[type=number]')]"
                         ".filter(e => e.offsetParent).map(e => e.value)")


def test_a_link_to_the_view_reopens_it_in_a_fresh_browser(browser, app_url):
    query = "?tab=stages&picture=cat&stage=4&channel=3"
    with app_page(browser, app_url, query=query) as page:
        page.wait_for_function("() => [...document.querySelectorAll('input[type=number]')]"
                               ".filter(e => e.offsetParent).map(e => e.value).join() === '4,3'", timeout=120_000)
        page.locator("#link-button").click()
        link = page.locator("#view-link textarea, #view-link input").first
        page.wait_for_function("() => (document.querySelector('#view-link textarea, #view-link input')?.value || '')"
                               ".startsWith('http')")
        url = link.input_value()
    assert "stage=4" in url and "channel=3" in url and "picture=cat" in url
    with app_page(browser, url.split("?")[0], query="?" + url.split("?", 1)[1]) as page:
        page.wait_for_function("() => [...document.querySelectorAll('input[type=number]')]"
                               ".filter(e => e.offsetParent).map(e => e.value).join() === '4,3'", timeout=120_000)


@pytest.mark.parametrize("tab", ["stages", "saliency"])
def test_a_link_with_a_picture_and_a_model_opens_that_model_on_that_picture(browser, app_url, tab):
    # the photo's event read the model box before the link's model landed and sent the old one back
    wanted = REGISTRY["resnet18"].title
    with app_page(browser, app_url, query=f"?tab={tab}&picture=cat&model=resnet18" + ("&stage=3" * (tab == "stages"))) as page:
        shown = f"() => [...document.querySelectorAll('#{tab}-grid img, #saliency-maps img')].some(i => i.offsetParent)"
        page.wait_for_function(shown, timeout=180_000)
        page.wait_for_timeout(3000)         # a late answer putting the old model back would land by now
        models = page.evaluate("() => [...document.querySelectorAll('input')].filter(i => i.offsetParent)"
                               ".map(i => i.value)")
        assert wanted in models and REGISTRY[DEFAULT_MODEL].title not in models
        if tab == "stages":
            assert _stage_and_channel(page)[0] == "3"


def test_the_picture_given_in_stages_is_the_saliency_tab_s_picture(browser, app_url):
    with app_page(browser, app_url, query="?tab=stages&picture=panda") as page:
        page.locator("#stages-grid img").wait_for(timeout=120_000)
        page.locator("button[data-tab-id=saliency_tab]").click()
        page.wait_for_function("() => [...document.querySelectorAll('#saliency-photo img')]"
                               ".some(i => i.offsetParent && i.src.includes('panda'))", timeout=120_000)
        page.locator("#saliency-maps img").first.wait_for(timeout=180_000)       # and explained
