"""The page's fixed words in both languages, translated by the browser (Gradio's i18n).

`t(en, zh)` registers the pair and gives Gradio's translation marker for it: a label, an info text, a
button, a tab name, a choice or a Markdown text built with it is drawn in the visitor's language and
follows the language switch at once, with no request. `I18N` holds every pair registered so far; the
page passes it to `launch(i18n=...)` (explorer.ui.app.LAUNCH_OPTIONS), whose config is read when a
browser asks for the page, after every tab has been built.

Words a handler makes at run time (messages, captions, tables) are `explorer.core.words.say(en, zh)`, in
the language of the visitor whose event it is (explorer.ui.by_name)."""
from __future__ import annotations

import hashlib

import gradio as gr
from gradio.i18n import I18nData

I18N = gr.I18n(en={}, zh={})
# The browser's locale for each language: Gradio's own words (Upload, Clear, ...) exist for zh-CN, and
# our "zh" words are found from zh-CN by the browser's fallback.
BROWSER_LOCALE = {"en": "en", "zh": "zh-CN"}


def key_of(en: str, zh: str) -> str:
    """The translation key of a pair: a short digest of both texts (a key never holds a dot, which the
    browser's i18n would read as a path)."""
    return "w" + hashlib.sha1(f"{en}\0{zh}".encode()).hexdigest()[:12]


def t(en: str, zh: str) -> I18nData:
    """The marker for a fixed text, `en` in English and `zh` in Simplified Chinese."""
    key = key_of(en, zh)
    I18N.translations["en"][key] = en
    I18N.translations["zh"][key] = zh
    return I18nData(key)


def english(text) -> str:
    """The English of a marker made by `t` (a plain string is given back as it is): tests and the
    Python side read a component's label through it."""
    if isinstance(text, I18nData):
        return I18N.translations["en"][text.key]
    return text


def chinese(text) -> str:
    """The Chinese of a marker made by `t` (a plain string is given back as it is)."""
    if isinstance(text, I18nData):
        return I18N.translations["zh"][text.key]
    return text
