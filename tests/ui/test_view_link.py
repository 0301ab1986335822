"""Links and Try it: a view read from a query and written back, every lesson page's view put on screen by
names its event lists, ?page= served, and a view waiting for its picture."""
import urllib.request
from urllib.parse import parse_qsl

import pytest
import torch
import torch.nn.functional as F

from explorer import lesson
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, PRESET_NAMES
from explorer.ui import page_wiring, restore
from explorer.ui.view_link import View


def test_a_query_is_read_and_written_back():
    view = View.from_query({"tab": "stages", "model": "digits", "picture": "digit-7", "stage": "3",
                            "channel": "0", "unit": "2,17", "matrix": "1,2;3,4.5", "stride": "1,2"})
    assert (view.stage, view.channel, view.unit, view.matrix) == (3, 0, (2, 17), ((1, 2), (3, 4.5)))
    again = View.from_query(dict(parse_qsl(view.query()[1:])))
    assert again == view and not again.problems


@pytest.mark.parametrize("params, bad", [({"tab": "nowhere"}, "tab"), ({"model": "resnet9000"}, "model"),
                                         ({"picture": "../../etc/passwd"}, "picture"), ({"unit": "1"}, "unit"),
                                         ({"matrix": "1,2;3"}, "matrix"), ({"stride": "0"}, "stride"),
                                         ({"channel": "-1"}, "channel"), ({"compare": "alexnet,nope"}, "compare")])
def test_a_bad_value_is_left_out_and_named(params, bad):
    view = View.from_query(params)
    assert view == View() and view.problems and view.problems[0].startswith(bad + "=")


def test_a_preset_is_named_by_its_place():
    view = View.from_query({"preset": "0"})
    assert view.preset == PRESET_NAMES[0] and "preset=0" in view.query()


@pytest.fixture(scope="module")
def first_values() -> dict:
    """What the page's READS hold when a page opens (the components' first values)."""
    from explorer.ui import build_demo

    page = build_demo().explorer_page
    return {name: getattr(page[name], "value", None) for name in page_wiring._reads()}


@pytest.mark.parametrize("key", lesson.PAGE_KEYS)
def test_each_page_s_view_changes_only_what_its_event_lists(key, first_values):
    values = dict(first_values)
    page = lesson.page(key)
    out = restore.restored(View.from_try_it(page.try_it, page.key, page.tab), values)
    unknown = set(out) - set(page_wiring._writes())
    assert not unknown, f"{key}: {sorted(unknown)} are not among the outputs of Try it and page load"
    assert out["tabs"].selected == restore.TAB_IDS[page.tab]


def test_the_kernel_page_s_view_is_the_chapter_s_numbers_at_its_step():
    page = lesson.page("kernel")
    out = restore.kernel_part(View.from_try_it(page.try_it, page.key, page.tab))
    shown = out["kernel.matrix"].value["data"] if hasattr(out["kernel.matrix"], "value") else out["kernel.matrix"]
    assert [[float(x) for x in row] for row in shown] == [[float(x) for x in row] for row in CHAPTER_MATRIX]
    expected = F.conv2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None],
                        torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)
    assert out["kernel.stride"] == "2" and float(expected.flatten()[1]) == page.answer()


def test_a_view_waits_for_its_picture_and_only_for_it(tmp_path):
    cat = lesson.picture("cat")
    view = View(tab="stages", picture="cat", stage=3)
    restore.PENDING.put("visitor", (__import__("time").monotonic(), restore.content(cat), "efficientnet_lite0", view))
    other = tmp_path / "other.jpg"
    other.write_bytes(b"not the cat")
    values = {"picture": cat, "model": "efficientnet_lite0", "count": "16", "scale": "shared"}
    assert restore.pending_stage(values | {"picture": str(other)}, "visitor") == {}
    assert restore.pending_stage(values | {"model": "digits"}, "visitor") == {}
    assert restore.pending_stage(values, "someone else") == {}
    moved = restore.pending_stage(values, "visitor")
    assert moved["shown_stage"] == 3


def test_page_is_served_whatever_its_value(app_url):
    for key in (lesson.PAGE_KEYS[0], "nowhere"):
        with urllib.request.urlopen(f"{app_url}?page={key}&lang=zh") as answer:
            assert answer.status == 200


def test_the_panel_shows_each_page_and_counts_the_pages_answered_right():
    from explorer.core.words import speaking
    from explorer.ui import lesson_panel

    for key in lesson.PAGE_KEYS:
        shown = lesson_panel.shown(key, ())
        assert shown["pages"] == key and shown["reply"] == ""
    with speaking("zh"):
        where = lesson_panel.shown(lesson.PAGE_KEYS[1], [lesson.PAGE_KEYS[0], "not-a-page"])["where"]
    assert "已答对 1 页" in where and "第 2 页" in where
