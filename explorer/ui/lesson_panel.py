"""The lesson beside the tabs: the chapter's path as pages (explorer.lesson.PAGES), each with a few short
paragraphs, "Try it" (which puts the page's view on screen: explorer.ui.restore), one question answered by
looking (checked by explorer.lesson from PyTorch's own numbers, with a hint after a wrong answer), and
the way back and on. It opens first, in a sidebar: on a phone it covers the page until Try it.

The page's words are the browser's to translate (explorer.ui.words.t), so the language switch changes
them with no request; the visitor's place and the pages answered right are remembered in the browser
(the language's gr.BrowserState)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import gradio as gr

from explorer import lesson
from explorer.core.words import pick, say
from explorer.ui.by_name import Components
from explorer.ui.words import t


# On a narrow screen the sidebar covers the tabs: Try it closes it so the view it set is seen. A page whose
# view is further down (a unit's panel, the channel's picture) is scrolled to once that part is shown.
def scroll_targets() -> dict:
    """Each page's part to bring into view after Try it (a CSS selector), where it is not the tab's top."""
    targets = {}
    for page in lesson.PAGES:
        if page.try_it.get("feature"):
            targets[page.key] = "#stages-feature"
        elif "unit" in page.try_it:
            targets[page.key] = "#stages-unit"
    return targets


def after_try_js() -> str:
    return """(key) => {
  if (window.innerWidth < 768) {
    const open = document.querySelector(".sidebar.open .toggle-button");
    if (open) open.click();
  }
  const target = %s[key];
  window.scrollTo({top: 0});
  if (target) {
    let tries = 0;
    const look = setInterval(() => {
      const el = document.querySelector(target);
      if ((el && el.offsetParent) || ++tries > 60) {
        clearInterval(look);
        if (el && el.offsetParent) el.scrollIntoView({block: "start", behavior: "smooth"});
      }
    }, 500);
  }
  return [];
}""" % json.dumps(scroll_targets())


@dataclass
class LessonPanel(Components):
    pages: gr.Dropdown
    where: gr.Markdown
    text: gr.Markdown
    try_it: gr.Button
    question: gr.Markdown
    reply: gr.Textbox
    check: gr.Button
    verdict: gr.Markdown
    back: gr.Button
    forward: gr.Button


def titles() -> list:
    return [(t(f"{i}. {p.title['en']}", f"{i}. {p.title['zh']}"), p.key) for i, p in enumerate(lesson.PAGES, 1)]


def _page_words(page: lesson.Page) -> dict:
    """The page's fixed words, as the browser translates them."""
    i = lesson.PAGE_KEYS.index(page.key) + 1
    return dict(
        where=t(f"Page {i} of {len(lesson.PAGES)}", f"第 {i} 页，共 {len(lesson.PAGES)} 页"),
        text=t(f"### {page.title['en']}\n\n{page.text['en']}", f"### {page.title['zh']}\n\n{page.text['zh']}"),
        question=t(f"**Question.** {page.question['en']}", f"**问题**：{page.question['zh']}"),
    )


def layout() -> LessonPanel:
    """The panel's components, placed in the current layout context (a gr.Sidebar)."""
    first = lesson.PAGES[0]
    for page in lesson.PAGES:          # every page's words known to the browser before a page is turned
        _page_words(page)
    words = _page_words(first)
    pages = gr.Dropdown(titles(), value=first.key, label=t("Lesson: the chapter, page by page", "课程：按章节一页一页学"),
                        elem_id="lesson-pages")
    where = gr.Markdown(words["where"], elem_id="lesson-where")
    text = gr.Markdown(words["text"], elem_id="lesson-text")
    try_it = gr.Button(t("Try it", "试一试"), variant="primary", elem_id="lesson-try")
    question = gr.Markdown(words["question"], elem_id="lesson-question")
    with gr.Row(equal_height=True):
        reply = gr.Textbox(show_label=False, placeholder=t("Your answer", "你的答案"), scale=3,
                           elem_id="lesson-reply", max_length=80, container=False)
        check = gr.Button(t("Check", "核对"), scale=1, min_width=70, elem_id="lesson-check")
    verdict = gr.Markdown(elem_id="lesson-verdict")
    with gr.Row():
        back = gr.Button(t("← Back", "← 上一页"), size="sm", elem_id="lesson-back")
        forward = gr.Button(t("Next →", "下一页 →"), size="sm", elem_id="lesson-next")
    return LessonPanel(pages, where, text, try_it, question, reply, check, verdict, back, forward)


def progress(key: str, done) -> str | object:
    """Where the visitor is, and how many pages they have answered right (remembered in this browser)."""
    i, n = lesson.PAGE_KEYS.index(key) + 1, len(lesson.PAGES)
    right = len(set(done or ()) & set(lesson.PAGE_KEYS))
    if not right:
        return _page_words(lesson.page(key))["where"]
    return say("Page {i} of {n} · answered right: {right} of {n}", "第 {i} 页，共 {n} 页 · 已答对 {right} 页",
               i=i, n=n, right=right)


def shown(key: str, done=()) -> dict:
    """Everything the panel shows for page `key` (`done`: the pages answered right), its answer box emptied."""
    page = lesson.page(key)
    i = lesson.PAGE_KEYS.index(key)
    return dict(pages=key, reply="", verdict="", **(_page_words(page) | {"where": progress(key, done)}),
                back=gr.Button(interactive=i > 0), forward=gr.Button(interactive=i < len(lesson.PAGES) - 1))


def turned(key: str, by: int) -> str:
    """The key `by` pages after `key` (before, for a negative `by`), kept within the lesson."""
    i = lesson.PAGE_KEYS.index(key) if key in lesson.PAGE_KEYS else 0
    return lesson.PAGE_KEYS[max(0, min(len(lesson.PAGES) - 1, i + by))]


def checked(key: str, reply: str) -> tuple[str, bool]:
    """The words after an answer to page `key`'s question, and whether it was right."""
    if not (reply or "").strip():
        return say("Type your answer in the box first.", "请先在框里写下你的答案。"), False
    result = lesson.page(key).check(reply)
    mark = "✅ " if result.right else "✏️ "
    return mark + pick(result.message), result.right


def remembered_page(remembered) -> str | None:
    """The page this browser was on last, if it is still a page of the lesson."""
    key = remembered.get("page") if isinstance(remembered, dict) else None
    return key if key in lesson.PAGE_KEYS else None
