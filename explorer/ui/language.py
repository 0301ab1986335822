"""The page's language: English or Simplified Chinese, chosen by `?lang=`, else by what this browser chose
before (gr.BrowserState), else by the browser's own language; the switch at the top changes it at once.

Two halves speak it. The page's fixed words are translated by the browser (explorer.ui.words, Gradio's
i18n), so `APPLY_JS` tells Gradio's frontend the locale. The words a handler makes (messages, captions,
tables, pictures) come from the server: `LANGUAGE`, a gr.State every event wired by name reads
(explorer.ui.by_name.PAGE_LANGUAGE), holds the visitor's choice."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from explorer.core.words import LANGUAGES, NAMES, language_of
from explorer.ui.words import BROWSER_LOCALE

# Gradio's frontend keeps its locale in its own module (svelte-i18n); that module, loaded once, is found
# among the page's resources and asked to change locale. The html lang attribute picks CJK fonts.
APPLY_JS = """
async (lang, ...rest) => {
  const locales = %s;
  const locale = locales[lang] || "en";
  if (window.__explorerChangeLocale === undefined) {
    const urls = performance.getEntriesByType("resource").map((e) => e.name)
      .concat([...document.querySelectorAll("script[src], link[href]")].map((e) => e.src || e.href));
    const core = urls.find((u) => /\\/assets\\/core-[^/?]*\\.js($|\\?)/.test(u));
    let change = null;
    try { change = core ? (await import(core)).changeLocale : null; } catch (e) { change = null; }
    window.__explorerChangeLocale = change || null;
  }
  if (window.__explorerChangeLocale) window.__explorerChangeLocale(locale);
  document.documentElement.lang = locale;
  return [lang, ...rest];
}
""" % str(BROWSER_LOCALE).replace("'", '"')


@dataclass
class LanguageSwitch:
    """The switch the visitor sees, the server's copy of the choice, and the browser's memory."""

    switch: gr.Radio
    state: gr.State
    remembered: gr.BrowserState


def build() -> LanguageSwitch:
    """The switch (English / 简体中文) where it is placed; the state and the memory beside it."""
    switch = gr.Radio([(NAMES[lang], lang) for lang in LANGUAGES], value="en", show_label=False,
                      container=False, elem_id="language-switch", min_width=160)
    return LanguageSwitch(switch=switch, state=gr.State("en"),
                          remembered=gr.BrowserState({}, storage_key="cnn-explorer"))


def chosen(asked: str | None, remembered: dict | None, accept_language: str | None) -> str:
    """The language to speak: `?lang=` when it names one we speak, else the browser's memory, else its
    Accept-Language, else English."""
    for source in (asked, (remembered or {}).get("lang") if isinstance(remembered, dict) else None,
                   accept_language):
        found = language_of(source) if isinstance(source, str) else None
        if found:
            return found
    return "en"


def request_language(request: gr.Request | None, remembered: dict | None) -> str:
    """`chosen` for a page load's request."""
    params = getattr(request, "query_params", None) or {}
    headers = getattr(request, "headers", None) or {}
    return chosen(params.get("lang"), remembered, headers.get("accept-language"))


def remember(remembered: dict | None, **values) -> dict:
    """The browser's memory with `values` set (a copy)."""
    return {**(remembered if isinstance(remembered, dict) else {}), **values}


# Before Gradio's page starts, the browser's language is the one asked for by `?lang=`, else the one chosen
# on the switch before (kept in localStorage under STORAGE_KEY): Gradio's frontend reads navigator.language
# once, when it starts, and some of its words never change after (explorer.ui.page_param puts this first in
# the page's <head>).
STORAGE_KEY = "cnn-explorer-lang"
BOOT_JS = """(function () {
  var locales = %s, asked = null;
  try { asked = new URLSearchParams(window.location.search).get("lang") || localStorage.getItem("%s"); }
  catch (e) { asked = null; }
  var locale = locales[asked];
  if (!locale) return;
  try {
    Object.defineProperty(navigator, "language", {get: function () { return locale; }, configurable: true});
    Object.defineProperty(navigator, "languages", {get: function () { return [locale]; }, configurable: true});
  } catch (e) {}
  document.documentElement.lang = locale;
})();""" % (str(BROWSER_LOCALE).replace("'", '"'), STORAGE_KEY)

# The switch: the page opens again in the other language at the link of what is on screen (the server
# writes it: explorer.ui.page_wiring.on_switch), the choice kept in this browser.
RELOAD_JS = """(query) => {
  if (!query) return;
  try { localStorage.setItem("%s", new URLSearchParams(query).get("lang")); } catch (e) {}
  window.location.assign(window.location.pathname + query);
}""" % STORAGE_KEY
