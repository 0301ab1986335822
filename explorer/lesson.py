"""The chapter as a lesson that drives the app: pages in the chapter's order, in English and Simplified
Chinese, each with a "Try it" that sets the app's state and one question the app checks from PyTorch's
own numbers. Pure Python: the UI (explorer.ui) shows the pages and applies Try it.

    >>> from explorer import lesson
    >>> first = lesson.PAGES[0]
    >>> first.key, first.tab, first.answer()
    ('kernel', 'kernel', 13)
    >>> first.check("１３").right, first.check("12").right
    (True, False)

The pages' words live in explorer.lesson_convolution (pages 1-6) and explorer.lesson_networks (7-12), their
answers in explorer.lesson_answers; docs/lesson.md lists them.

Each page (`explorer.lesson_page.Page`) has `key` (a URL-safe slug: `?page=<key>`), `tab`, `title`,
`text` (Markdown), `question`, `hint` and `why` as {"en", "zh"} mappings, `try_it`, `answer()` and
`check(reply) -> Check` (`right`, `message` {"en", "zh"}).

`try_it` is a read-only mapping of the state Try it sets; only these keys appear, by tab:

- "kernel": "preset" (a name of explorer.drawing.kernel_presets.PRESET_NAMES, applied first; the keys
  below override it), "matrix" and "kernel" (tuples of rows of numbers, as the tables take them),
  "op" ("conv", "max" or "avg": the Operation radio's values), "kernel_size" (the pooling window),
  "stride", "padding" (text as their dropdowns take it: "1", "2", "2,1"), "step" (the animation's step,
  counted from 1).
- "stages": "model" (a name of explorer.core.registry.MODEL_NAMES), "picture" (a name of
  `picture_names()`: an example photo "cat", "dog", ... or a drawn digit "digit-7"; `picture(name)` gives
  it), "stage" (a stage's name as the Stages tab lists it, e.g. "features.conv1";
  explorer.core.stages.stage_index turns it into its 0-based index; the tab's slider counts from 1),
  "channel" (counted from 0), "unit" ((row, col) of the stage's map, counted from 0: the unit to explain,
  as a click on the enlarged channel does), "feature" (True: open "What does this channel look for?").
- "saliency": "model", "picture", "method" (a key of explorer.core.attribution.METHODS, the one to tick),
  "target" (a class name; absent: the top-1).
- "architecture": "view" ("inspect", "compare", "alexnet" or "layers": the tab's inner tabs), "model"
  (Inspect), "block" (Inspect: a block with branches, as its block list names it), "compare" (a tuple of
  model names to tick), "matrix" (layers: the matrix the other layers run on).
"""
from __future__ import annotations

from explorer import lesson_convolution, lesson_networks
from explorer.core.words import say
from explorer.lesson_answers import picture, picture_names
from explorer.lesson_page import TABS, Check, Page

__all__ = ["PAGES", "PAGE_KEYS", "Check", "Page", "TABS", "page", "picture", "picture_names"]

PAGES: tuple[Page, ...] = lesson_convolution.PAGES + lesson_networks.PAGES
PAGE_KEYS: tuple[str, ...] = tuple(p.key for p in PAGES)


def page(key: str) -> Page:
    """The page whose key is `key`. ValueError naming the keys there are for any other."""
    for p in PAGES:
        if p.key == key:
            return p
    raise ValueError(say("page: no lesson page is called {key!r}; the pages are {keys}",
                         "page：课程里没有叫 {key!r} 的页；现有的页是 {keys}",
                         key=str(key)[:40], keys=", ".join(PAGE_KEYS)))
