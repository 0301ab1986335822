"""The chapter as a lesson that drives the app: pages in the chapter's order, in English and Simplified
Chinese, each with a "Try it" that sets the app's state and one question the app checks from PyTorch's
own numbers. Pure Python: the UI (explorer.ui) shows the pages and applies Try it.

    >>> from explorer import lesson
    >>> first = lesson.PAGES[0]
    >>> first.key, first.tab, first.answer()
    ('kernel', 'kernel', 13)
    >>> first.check("１３").right, first.check("12").right
    (True, False)

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

from explorer import lesson_answers as solve
from explorer.core.words import say
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, POOL_MATRIX, PRESET_NAMES
from explorer.lesson_answers import picture, picture_names
from explorer.lesson_page import TABS, Check, Page, frozen

__all__ = ["PAGES", "PAGE_KEYS", "Check", "Page", "TABS", "page", "picture", "picture_names"]


def _rows(matrix) -> tuple:
    return tuple(tuple(row) for row in matrix)


def _pair(en: str, zh: str):
    return frozen(en=en, zh=zh)


CHAPTER_CONV, CHAPTER_PADDED, CHAPTER_POOL = PRESET_NAMES[:3]

KERNEL = Page(
    key="kernel", tab="kernel",
    title=_pair("A kernel slides over a matrix", "卷积核在矩阵上滑动"),
    text=_pair(
        "A convolution layer does one small sum many times. It lays a little grid of weights, the **kernel** "
        "(the chapter also calls it a **filter**), over a patch of the input, multiplies each number by the "
        "weight lying on it, and adds the products. Then it moves on and does the same again.\n\n"
        "Try it opens the chapter's own example: a 4x4 matrix, the 2x2 kernel [[1,0],[1,0]], moving two "
        "cells at a time (stride 2). The first window gives (10x1)+(11x0)+(2x1)+(123x0) = 12: the kernel's "
        "right column is all zeros, so only the left column of each window counts.\n\n"
        "Play the animation or step through it: each frame shows the window, its products and their sum, "
        "and the output fills in cell by cell. Every number is PyTorch's own (`F.conv2d`), and the code "
        "under the animation gives the same output.",
        "卷积层把一个小小的求和做很多遍。它把一小格权重——**卷积核**（书中也常叫它**滤波器**）——盖在输入的一块"
        "区域上，把每个数和压在它上面的权重相乘，再把乘积加起来；然后挪到下一个位置，照样再算一遍。\n\n"
        "点“试一试”会打开书中的例子：4x4 的矩阵，2x2 的卷积核 [[1,0],[1,0]]，每次移动两格（步幅为 2）。"
        "第一个窗口得到 (10x1)+(11x0)+(2x1)+(123x0) = 12：卷积核右边一列全是 0，所以每个窗口只有左列起作用。\n\n"
        "播放动画或一步一步地看：每一帧都列出窗口、各个乘积和它们的和，输出也一格一格地填满。所有的数都由 "
        "PyTorch 自己算出（`F.conv2d`），动画下方的代码能得到同样的输出。"),
    try_it=frozen(preset=CHAPTER_CONV, op="conv", stride="2", padding="0", step=2),
    question=_pair("What number comes out at step 2?", "第 2 步输出的数是多少？"),
    hint=_pair("Go to the second step and add up the products listed under the window; only its left "
               "column counts.",
               "走到第 2 步，把窗口下方列出的乘积加起来；只有窗口的左列起作用。"),
    why=_pair("The second window is [[9,3],[4,0]]: 9x1 + 3x0 + 4x1 + 0x0 = 13.",
              "第二个窗口是 [[9,3],[4,0]]：9x1 + 3x0 + 4x1 + 0x0 = 13。"),
    solve=lambda: solve.step_value(CHAPTER_MATRIX, CHAPTER_KERNEL, 2, stride=2),
)

STRIDE_PADDING = Page(
    key="stride-padding", tab="kernel",
    title=_pair("Stride, padding, and the columns PyTorch drops", "步幅、填充，以及被 PyTorch 丢掉的列"),
    text=_pair(
        "The **stride** is how far the window moves at each step; the **padding** is a border of zeros put "
        "around the input before the window starts. With the kernel size they fix the output's size: along "
        "each side PyTorch computes floor((n + 2p − k) / s) + 1, and the tab writes that formula out with "
        "your numbers.\n\n"
        "When the next window would hang over the edge, PyTorch says nothing: it just leaves out the rows "
        "and columns that no window reaches. Try it keeps the chapter's matrix and kernel but sets stride 3 "
        "and no padding; the cells no window ever reads are drawn grey.\n\n"
        "Then set stride 1 and padding 1 (the chapter's second preset): the ring of zeros lets the window "
        "reach the last column, whose final window is [[3,0],[0,0]], and the output grows to 5x5.",
        "**步幅**是窗口每一步移动的格数；**填充**是在窗口出发之前给输入围上的一圈 0。它们和核大小一起决定输出的"
        "大小：PyTorch 在每个方向上计算 floor((n + 2p − k) / s) + 1，页面会用你的数字把这个公式写出来。\n\n"
        "如果下一个窗口会越出边界，PyTorch 不会提醒你，而是直接丢掉任何窗口都够不着的行和列。点“试一试”仍用书中"
        "的矩阵和卷积核，但步幅设为 3、不加填充；从来没有被窗口读到的格子画成灰色。\n\n"
        "再把步幅改成 1、填充改成 1（书中的第二个预设）：这一圈 0 让窗口够到最后一列，最后一个窗口是 "
        "[[3,0],[0,0]]，输出也变成 5x5。"),
    try_it=frozen(preset=CHAPTER_CONV, op="conv", stride="3", padding="0", step=1),
    question=_pair("With stride 3 and no padding, how many of the input's columns does no window read?",
                   "步幅为 3、不加填充时，输入中有几列没有被任何窗口读到？"),
    hint=_pair("Count the grey columns in the picture, or read the note beside it that names the input "
               "never read.",
               "数一数图中灰色的列，或者看旁边那段说明哪些输入“从未被读到”的文字。"),
    why=_pair("Only one window fits across: it reads columns 0 and 1, and the next would start at column 3 "
              "and hang over the edge, so columns 2 and 3 are dropped.",
              "横向只放得下一个窗口：它读第 0、1 列；下一个窗口要从第 3 列开始，会越出边界，所以第 2、3 列被丢掉了。"),
    solve=lambda: solve.unread_columns(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=3),
)

POOLING = Page(
    key="pooling", tab="kernel",
    title=_pair("Pooling keeps the strongest", "池化：留下最强的"),
    text=_pair(
        "A **pooling** layer slides a window too, but it has no weights: **max pooling** keeps the largest "
        "number under the window, **average pooling** their mean. The feature maps shrink, later layers "
        "have less to compute, and a small shift of the input barely changes the result.\n\n"
        "Try it loads the chapter's pooling example: 3 rows and 5 columns, a 3x3 window, stride 2. Exactly "
        "two windows fit, side by side, sharing the middle column.\n\n"
        "Switch the operation to average pooling and the same walk gives means instead. In PyTorch these "
        "are `nn.MaxPool2d(3, stride=2)` and `nn.AvgPool2d(3, stride=2)`; `nn.AdaptiveAvgPool2d` chooses "
        "its windows itself so that the output always has the size you ask for, whatever the input's.",
        "**池化层**也滑动一个窗口，但它没有权重：**最大池化**留下窗口里最大的数，**平均池化**留下它们的平均值。"
        "特征图因此变小，后面的层要算的更少，输入稍微挪动一点，结果也几乎不变。\n\n"
        "点“试一试”会载入书中的池化例子：3 行 5 列的输入，3x3 的窗口，步幅为 2。正好放得下两个窗口，并排，"
        "共用中间一列。\n\n"
        "把运算换成平均池化，同样的走法给出的就是平均值。在 PyTorch 里它们是 `nn.MaxPool2d(3, stride=2)` 和 "
        "`nn.AvgPool2d(3, stride=2)`；`nn.AdaptiveAvgPool2d` 会自己安排窗口，不管输入多大，输出总是你要的大小。"),
    try_it=frozen(preset=CHAPTER_POOL, matrix=_rows(POOL_MATRIX), op="max", kernel_size="3", stride="2",
                  padding="0", step=2),
    question=_pair("Which number does max pooling keep from the second window?",
                   "最大池化从第二个窗口里留下的是哪个数？"),
    hint=_pair("Go to the second step and find the largest of the nine numbers under the window.",
               "走到第 2 步，在窗口盖住的九个数里找出最大的那个。"),
    why=_pair("The second window covers columns 2 to 4; its largest number is 9, so the output is [6, 9].",
              "第二个窗口盖住第 2 到第 4 列，其中最大的是 9，所以输出是 [6, 9]。"),
    solve=lambda: solve.step_value(POOL_MATRIX, None, 2, op="max", kernel_size=3, stride=2),
)

PAGES: tuple[Page, ...] = (KERNEL, STRIDE_PADDING, POOLING)
PAGE_KEYS: tuple[str, ...] = tuple(p.key for p in PAGES)


def page(key: str) -> Page:
    """The page whose key is `key`. ValueError naming the keys there are for any other."""
    for p in PAGES:
        if p.key == key:
            return p
    raise ValueError(say("page: no lesson page is called {key!r}; the pages are {keys}",
                         "page：课程里没有叫 {key!r} 的页；现有的页是 {keys}",
                         key=str(key)[:40], keys=", ".join(PAGE_KEYS)))
