"""Every word a visitor reads, in English and Simplified Chinese, written side by side where it is used.

`say(en, zh, **values)` gives the text in the language being spoken now, filled with `values` by
`str.format` (so a message keeps its numbers in either language):

    raise ValueError(say("stride: {n} is not a whole number; give 1, 2 or 3",
                         "步幅：{n} 不是整数；请填 1、2 或 3", n=text))

The language being spoken is a context variable: English unless a caller says otherwise with
`speaking("zh")` (the page does, for each visitor's events: explorer.ui.by_name). A notebook that wants
Chinese messages and pictures writes `with explorer.core.words.speaking("zh"): ...`.

Model names, layer names, code and numbers stay as they are in both languages; the chapter's own Chinese
terms are used (卷积核, 步幅, 填充, 池化, 特征图, 通道, 感受野, ...: ../shared/brief/chapter.md).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

LANGUAGES = ("en", "zh")
NAMES = {"en": "English", "zh": "简体中文"}
_SPOKEN: ContextVar[str] = ContextVar("explorer_language", default="en")


def language_of(text: str | None) -> str | None:
    """"en" or "zh" for a language tag or an Accept-Language header ("zh-CN", "zh-Hans,zh;q=0.9,en;q=0.8",
    "en-US"), by its first language we speak; None when it names neither."""
    for part in (text or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in LANGUAGES:
            if tag == lang or tag.startswith(lang + "-") or tag.startswith(lang + "_"):
                return lang
    return None


def checked(lang: str) -> str:
    """`lang` when it is a language we speak ("en" or "zh", or a tag such as "zh-CN"), else ValueError."""
    found = language_of(lang) if isinstance(lang, str) else None
    if found is None:
        raise ValueError(f"lang: {lang!r} is not a language this app speaks; give one of {list(LANGUAGES)} / "
                         f"lang：本应用不支持 {lang!r}；请用 {list(LANGUAGES)} 之一")
    return found


def current() -> str:
    """The language being spoken now: "en" or "zh"."""
    return _SPOKEN.get()


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Speak `lang` ("en" or "zh"; None keeps the language already spoken) inside the block."""
    token = _SPOKEN.set(checked(lang) if lang is not None else _SPOKEN.get())
    try:
        yield _SPOKEN.get()
    finally:
        _SPOKEN.reset(token)


def say(en: str, zh: str, /, **values) -> str:
    """`en` or `zh`, whichever language is spoken now, filled with `values` (str.format) when given."""
    text = zh if _SPOKEN.get() == "zh" else en
    return text.format(**values) if values else text


def pick(texts: Mapping[str, str]) -> str:
    """The text of a {"en": ..., "zh": ...} mapping in the language spoken now."""
    return texts[_SPOKEN.get()] if _SPOKEN.get() in texts else texts["en"]


# How every tab says which way rows, columns and channels are counted (the same way everywhere).
COUNTING = {"en": "Rows, columns and channels are counted from 0, as PyTorch indexes them.",
            "zh": "行、列和通道都从 0 开始数，与 PyTorch 的下标一致。"}
