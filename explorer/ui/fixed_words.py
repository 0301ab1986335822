"""What the page shows before its first event, in both languages: a text a handler makes at run time in
the visitor's language (written with explorer.core.words.say) made once per language and registered as a
fixed text of the page (explorer.ui.words.t), which the browser shows in the visitor's language."""
from __future__ import annotations

from collections.abc import Callable

from gradio.i18n import I18nData

from explorer.core.words import speaking
from explorer.ui.words import t


def both(words: Callable[..., str], *args) -> I18nData:
    """`words(*args)` spoken in English and in Chinese, as one fixed text."""
    with speaking("en"):
        en = words(*args)
    with speaking("zh"):
        zh = words(*args)
    return t(en, zh)
