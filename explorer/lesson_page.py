"""One page of the lesson (explorer.lesson) and how a learner's reply to its question is read and checked.

A `Page` holds its words in both languages, the app state its "Try it" sets, its question, and a
function that computes the answer from PyTorch's own numbers through the app's core functions (kept
once computed). `Page.check(reply)` reads the reply as the page's `form` says (a number, a size such
as "2x2", or one of a few named choices), compares it with the answer and gives a `Check`: right or not,
and what to say, in both languages."""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from explorer.core.state import STORES

TABS = ("kernel", "stages", "saliency", "architecture")
FORMS = ("number", "size", "choice")
Answer = int | float | str | tuple

_LOCK = threading.Lock()
_ANSWERS = STORES.register("lesson.answers", {}, "each lesson page's answer, computed once from the same "
                           "models and numbers for every visitor")


def frozen(mapping: Mapping | None = None, **items) -> Mapping:
    """A read-only mapping (the pages' words, Try it's state)."""
    return MappingProxyType(dict(mapping or {}, **items))


def pair(en: str, zh: str) -> Mapping[str, str]:
    """A text in both languages, read-only: {"en": en, "zh": zh}."""
    return frozen(en=en, zh=zh)


def rows(matrix) -> tuple:
    """A matrix as a tuple of rows (read-only, as Try it's state holds it)."""
    return tuple(tuple(row) for row in matrix)


@dataclass(frozen=True)
class Check:
    """What the app says about a reply: `right`, and `message` {"en", "zh"}: after a right reply, praise and
    one sentence of why; after a wrong one, where to look (never the answer); after a reply that cannot be
    read, what form to give it in (right is then False)."""
    right: bool
    message: Mapping[str, str]


@dataclass(frozen=True, eq=False)
class Page:
    """One page of the lesson. Every text is a read-only {"en": ..., "zh": ...} mapping.

    key: the page's slug (`?page=<key>`); tab: the tab Try it opens ("kernel", "stages", "saliency",
    "architecture"); title, text (Markdown, 2-4 short paragraphs); try_it: the app state Try it sets
    (explorer.lesson's docstring lists the keys); question: answered by looking at the tab after Try it;
    hint: said after a wrong reply (where to look); why: said after a right one; solve: computes the
    answer; form: how a reply is read ("number", "size" (rows x columns), "choice"); tolerance: how far a
    number may be from the answer; choices: for "choice", each answer's accepted spellings (both
    languages)."""
    key: str
    tab: str
    title: Mapping[str, str]
    text: Mapping[str, str]
    try_it: Mapping[str, object]
    question: Mapping[str, str]
    hint: Mapping[str, str]
    why: Mapping[str, str]
    solve: Callable[[], Answer] = field(repr=False)
    form: str = "number"
    tolerance: float = 0.0
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)

    def answer(self) -> Answer:
        """The answer to the question, from PyTorch's own numbers (computed once, then kept)."""
        with _LOCK:
            if self.key in _ANSWERS:
                return _ANSWERS[self.key]
        value = self.solve()
        with _LOCK:
            _ANSWERS[self.key] = value
        return value

    def check(self, reply: str) -> Check:
        """Whether `reply` (what the learner typed) is the answer, and what to tell them, in both languages.

        Numbers may be written "13", " 13 ", "13.0", "１３" (full width), "1,234"; sizes "2x2", "2×2",
        "2 x 2", "(2, 2)", "2乘2"; choices in English or Chinese as the question names them."""
        read = read_reply(reply, self.form, self.choices)
        if read is None:
            return Check(False, FORM_MESSAGES[self.form])
        if self._matches(read):
            return Check(True, frozen(en=f"Right! {self.why['en']}", zh=f"答对了！{self.why['zh']}"))
        return Check(False, frozen(en=f"Not quite. {self.hint['en']}", zh=f"还不对。{self.hint['zh']}"))

    def _matches(self, read) -> bool:
        answer = self.answer()
        if self.form == "number":
            return abs(float(read) - float(answer)) <= self.tolerance + 1e-9
        if self.form == "size":
            return tuple(read) == tuple(answer)
        return read == answer


FORM_MESSAGES = {
    "number": frozen(en="Type one number.", zh="请只填一个数。"),
    "size": frozen(en="Type a size as rows x columns, two whole numbers.", zh="请按“行 x 列”填两个整数。"),
    "choice": frozen(en="Answer with one of the names the question offers.", zh="请从题目给出的选项中选一个作答。"),
}

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_TIMES = re.compile(r"\s*(?:x|\*|by|乘以?|×)\s*")


def normal(reply) -> str:
    """The reply in one form: full-width digits and punctuation made plain (NFKC), lower case, trimmed,
    the Chinese full stop and enumeration comma as their Latin counterparts."""
    text = unicodedata.normalize("NFKC", str(reply or "")).lower()
    return text.replace("。", ".").replace("、", ",").strip().strip(".!?;:").strip()


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in _NUMBER.findall(text)]


def read_reply(reply, form: str, choices: Mapping[str, tuple[str, ...]] | None = None):
    """The reply as a value of the page's form: a float ("number"), a tuple of ints ("size"), a choice's
    key ("choice"); None when it cannot be read as one."""
    text = normal(reply)
    if not text:
        return None
    if form == "number":
        found = _numbers(text.replace("%", " "))
        return found[0] if len(found) == 1 else None
    if form == "size":
        found = _numbers(_TIMES.sub(" x ", text).replace(",", " "))
        if len(found) < 2 or any(n != int(n) for n in found):
            return None
        return tuple(int(n) for n in found)
    return _choice(text, choices or {})


def _choice(text: str, choices: Mapping[str, tuple[str, ...]]):
    """The one choice the text names, its longest spellings read first and taken out of the text (so that
    "不通过" is not also read as "通过"); None for none or several."""
    spellings = sorted(((normal(s), key) for key, names in choices.items() for s in names), key=lambda p: -len(p[0]))
    named = set()
    for spelling, key in spellings:
        pattern = named_pattern(spelling)
        if pattern.search(text):
            named.add(key)
            text = pattern.sub(" ", text)
    return named.pop() if len(named) == 1 else None


def named_pattern(spelling: str) -> re.Pattern:
    """A spelling as it is named in a reply: as a whole word for Latin letters, anywhere for Chinese."""
    if re.fullmatch(r"[\x00-\x7f]+", spelling):
        return re.compile(rf"(?<![a-z0-9]){re.escape(spelling)}(?![a-z0-9])")
    return re.compile(re.escape(spelling))
