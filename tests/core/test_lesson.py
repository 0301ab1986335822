"""The lesson (explorer.lesson): every page's answer checked against PyTorch computed here, independently of
the app's code; replies read in their usual forms; both languages on every page; Try it's state made of
values the app accepts."""
import re

import pytest
import torch
import torch.nn.functional as F

from explorer import lesson
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.lesson_page import read_reply

CHAPTER = torch.tensor([[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]], dtype=torch.float64)
CHAPTER_KERNEL = torch.tensor([[1, 0], [1, 0]], dtype=torch.float64)
POOL = torch.tensor([[1, 2, 1, 4, 1], [5, 6, 1, 2, 5], [5, 0, 0, 9, 6]], dtype=torch.float64)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _image(t: torch.Tensor) -> torch.Tensor:
    return t[None, None]


# --- each page's answer, from PyTorch computed here -----------------------------------------------------

def test_kernel_page_answer_is_conv2d_at_step_2():
    out = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=2)[0, 0]
    assert out.tolist() == [[12, 13], [65, 45]]            # the chapter's feature map
    assert lesson.page("kernel").answer() == out[0, 1].item()     # steps run row by row: step 2 is (0, 1)


def test_stride_padding_page_answer_counts_the_columns_conv2d_never_reads():
    out = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=3)
    width = out.shape[-1]
    # an input column is read when some window (starting at 3*j) covers it
    read = {3 * j + k for j in range(width) for k in range(CHAPTER_KERNEL.shape[1])}
    assert lesson.page("stride-padding").answer() == CHAPTER.shape[1] - len(read)
    padded = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=1, padding=1)
    assert padded.shape[-2:] == (5, 5)                      # what the page says padding 1 gives


def test_pooling_page_answer_is_max_pool2d_second_window():
    out = F.max_pool2d(_image(POOL), kernel_size=3, stride=2)[0, 0]
    assert out.tolist() == [[6, 9]]
    assert lesson.page("pooling").answer() == out[0, 1].item()


# --- replies ----------------------------------------------------------------------------------------

def _whole(answer) -> str:
    return rf"(?<![\d.]){re.escape(str(answer))}(?![\d])"


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_the_right_answer_is_accepted_in_several_forms(p):
    for reply in _forms(p.answer(), p.form, lambda key: p.choices[key]):
        result = p.check(reply)
        assert result.right, f"{p.key}: {reply!r} was refused"
        assert result.message["en"] and CJK.search(result.message["zh"])


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_a_wrong_answer_gets_a_hint_that_does_not_give_it_away(p):
    for wrong in _wrong(p):
        result = p.check(wrong)
        assert not result.right, f"{p.key}: {wrong!r} was taken as right"
        for lang in ("en", "zh"):
            text = result.message[lang]
            assert text, f"{p.key}: no {lang} message"
            if p.form == "choice":
                assert not any(s.lower() in text.lower() for s in p.choices[p.answer()]), f"{p.key}: {text}"
            elif p.form == "size":
                assert not re.search(r"\D".join(str(n) for n in p.answer()), text), f"{p.key}: {text}"
            else:
                assert not re.search(_whole(_shown(p.answer())), text), f"{p.key} ({lang}) gives the answer: {text}"


def _shown(answer):
    return int(answer) if float(answer).is_integer() else answer


def _forms(answer, form: str, choices_of=None) -> list[str]:
    if form == "number":
        n = _shown(answer)
        full = str(n).translate(str.maketrans("0123456789.-", "０１２３４５６７８９．－"))
        return [str(n), f" {n} ", f"{float(n)}", full, f"{n}。"]
    if form == "size":
        rows, cols = answer
        return [f"{rows}x{cols}", f"{rows}×{cols}", f"{rows} x {cols}", f"({rows}, {cols})", f"{rows}乘{cols}",
                f"{rows}ｘ{cols}"]
    return [f" {spelling.upper()} " for spelling in choices_of(answer)]


def _wrong(p) -> list[str]:
    answer = p.answer()
    if p.form == "number":
        step = max(1.0, p.tolerance * 3)
        return [str(_shown(answer + step)), str(_shown(answer - step)), "１００００"]
    if p.form == "size":
        rows, cols = answer
        return [f"{rows + 1}x{cols}", f"{rows}x{cols + 1}"]
    return [spellings[0] for key, spellings in p.choices.items() if key != answer]


@pytest.mark.parametrize("reply, form, expected", [
    ("13", "number", 13.0), (" 13 ", "number", 13.0), ("13.0", "number", 13.0), ("１３", "number", 13.0),
    ("1,234", "number", 1234.0), ("50%", "number", 50.0), ("2 and 3", "number", None), ("", "number", None),
    ("abc", "number", None), ("2x2", "size", (2, 2)), ("2×2", "size", (2, 2)), ("2 x 2", "size", (2, 2)),
    ("（２，２）", "size", (2, 2)), ("2 by 3", "size", (2, 3)), ("2乘3", "size", (2, 3)), ("2", "size", None),
    ("2.5x2", "size", None),
])
def test_replies_are_read_in_their_usual_forms(reply, form, expected):
    assert read_reply(reply, form) == expected


def test_an_unreadable_reply_says_what_form_to_give():
    result = lesson.page("kernel").check("thirteen")
    assert not result.right and "number" in result.message["en"] and CJK.search(result.message["zh"])


# --- the pages themselves -----------------------------------------------------------------------------

def test_pages_have_unique_url_safe_keys_in_order():
    assert 10 <= len(lesson.PAGES) <= 12 or len(lesson.PAGES) >= 3
    assert lesson.PAGE_KEYS == tuple(p.key for p in lesson.PAGES)
    assert len(set(lesson.PAGE_KEYS)) == len(lesson.PAGE_KEYS)
    for key in lesson.PAGE_KEYS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key), key
        assert lesson.page(key).key == key


def test_an_unknown_page_names_the_keys():
    with pytest.raises(ValueError, match="kernel") as error:
        lesson.page("nope")
    assert "nope" in str(error.value)


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_every_text_is_in_both_languages(p):
    assert p.tab in lesson.TABS
    for name in ("title", "text", "question", "hint", "why"):
        texts = getattr(p, name)
        assert set(texts) == {"en", "zh"}, f"{p.key}.{name}"
        assert texts["en"].strip() and texts["zh"].strip(), f"{p.key}.{name} is empty"
        assert CJK.search(texts["zh"]), f"{p.key}.{name}: the Chinese has no Chinese"
        assert not CJK.search(texts["en"]), f"{p.key}.{name}: Chinese in the English"
    paragraphs = [t for t in p.text["en"].split("\n\n") if t.strip()]
    assert 2 <= len(paragraphs) <= 4, f"{p.key}: {len(paragraphs)} paragraphs"
    assert len([t for t in p.text["zh"].split("\n\n") if t.strip()]) == len(paragraphs)


KERNEL_KEYS = {"preset", "matrix", "kernel", "op", "kernel_size", "stride", "padding", "step"}


@pytest.mark.parametrize("p", [p for p in lesson.PAGES if p.tab == "kernel"], ids=lambda p: p.key)
def test_kernel_try_it_is_what_the_kernel_tab_takes(p):
    from explorer.core.sliding import slide
    from explorer.ui.kernel_settings import OP_CHOICES

    state = dict(p.try_it)
    assert set(state) <= KERNEL_KEYS
    assert state["preset"] in PRESET_NAMES
    assert state["op"] in {value for _, value in OP_CHOICES}
    settings = preset(state["preset"]) | {k: v for k, v in state.items() if k not in ("preset", "step")}
    s = slide(settings["matrix"], None if settings["op"] != "conv" else settings["kernel"], op=settings["op"],
              kernel_size=None if settings["op"] == "conv" else settings["kernel_size"],
              stride=settings["stride"], padding=settings["padding"])
    assert 1 <= state["step"] <= len(s.steps)
