"""A text made in both languages ahead of time: a model's title or note, the reason its weights are
missing. Such texts are made once (when a model is registered or loaded) and kept, then read by visitors
speaking either language, so `say` (which speaks the language of the moment) cannot make them.

`Both(en, zh, **values)` is a str: read as a string (f-strings, logs, the Python API's English) it is
the English text; `said(text)` gives it in the language spoken now (explorer.core.words)."""
from __future__ import annotations

from explorer.core.words import current


class Both(str):
    """English as a str, with its Chinese in `zh`; each filled with `values` (str.format) when given."""

    zh: str

    def __new__(cls, en: str, zh: str | None = None, /, **values) -> "Both":
        text = super().__new__(cls, en.format(**values) if values else en)
        text.zh = (zh.format(**values) if values else zh) if zh is not None else str(text)
        return text

    def said(self) -> str:
        """The text in the language spoken now."""
        return self.zh if current() == "zh" else str(self)


def said(text) -> str:
    """`text` in the language spoken now when it is a Both; any other text as it is."""
    return text.said() if isinstance(text, Both) else text


def chinese_of(text) -> str:
    """The Chinese of a Both; any other text as it is."""
    return text.zh if isinstance(text, Both) else text
