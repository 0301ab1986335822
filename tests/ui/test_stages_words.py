"""The Stages tab speaks the visitor's language (its handlers' words and the words drawn into its pictures),
and what a newcomer stumbled on there: headings about the chosen unit once one is clicked, a pooling unit
shown with its window and no kernel, the digit model's blocky maps explained, counting from 0 said once."""
import json
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageDraw

from explorer.core.models import DEFAULT_MODEL
from explorer.core.words import COUNTING, speaking
from explorer.drawing import feature_maps as fm
from explorer.drawing.fonts import cjk_font, has_cjk
from explorer.drawing.unit_drawing import render_unit
from explorer.ui import stages_events, stages_features, stages_inspections, stages_tab, stages_views
from explorer.ui.words import I18N

ESPRESSO = stages_tab.__file__.rsplit("/explorer/", 1)[0] + "/assets/examples/espresso.jpg"


def _sketch() -> dict:
    layer = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line(((80, 60), (300, 60), (160, 330)), fill=(0, 0, 0, 255), width=22)
    return {"background": None, "layers": [layer], "composite": layer}


def _shown(picture, model="digits", **values) -> dict:
    return dict(picture=picture, model=model, count="16", scale="shared") | values


def _texts(answer: dict) -> list[str]:
    return [v for v in answer.values() if isinstance(v, str)]


@pytest.fixture(scope="module")
def sketch():
    return _sketch()


@pytest.fixture(scope="module")
def digits(sketch):
    return stages_inspections.inspection_for("digits", sketch)


def _stage_of_kind(inspection, kind: str) -> int:
    return next(k for k, s in enumerate(inspection.stages) if s.kind == kind)


# --- a Chinese visitor reads Chinese ---------------------------------------------------------------

def test_a_chinese_visitor_gets_the_stage_channel_and_unit_in_chinese(sketch, digits):
    with speaking("zh"):
        first = stages_events.on_new_picture(_shown(sketch))
        unit = stages_views.unit_views(digits, 1, 0, 3, 4)
    english_first = stages_events.on_new_picture(_shown(sketch))
    for name in ("stage_md", "channel_md", "label_title"):
        assert has_cjk(first[name]), name
        assert not has_cjk(english_first[name]), name
    with speaking("zh"):
        hidden = stages_events.on_hide_unit({})
    assert has_cjk(hidden["channel_heading"]) and has_cjk(hidden["overlay_heading"])
    for name in ("unit_words", "unit_heading", "channel_md", "channel_heading"):
        assert has_cjk(unit[name]), name
    assert "ImageNet" in first["label_title"]         # the note: class names stay English
    assert has_cjk(unit["animate"].value)


def test_a_chinese_visitor_gets_messages_in_chinese(sketch):
    stages_events.on_new_picture(_shown(sketch))
    with speaking("zh"), pytest.warns(UserWarning) as shown:
        stages_events.on_stage_typed(_shown(sketch, stage=99, shown_stage=2))
    assert has_cjk(str(shown[0].message)) and str(shown[0].message).startswith("stage：")
    with speaking("zh"), pytest.raises(gr.Error) as refused:
        stages_events.unit_for_kernel_tab(sketch, "digits", None)
    assert has_cjk(refused.value.message) and has_cjk(refused.value.title)
    with speaking("zh"), pytest.raises(gr.Error) as empty:
        stages_inspections.cached_inspection(None, "digits")
    assert has_cjk(empty.value.message)


def _glyph_is_drawn(char: str) -> bool:
    """Whether the CJK font has a real glyph for `char` (not the empty or the missing-glyph box)."""
    font = cjk_font(20)
    missing = font.getmask("\uffff").getbbox()
    return font.getmask(char).getbbox() is not None and font.getmask(char).getbbox() != missing


def test_the_pictures_drawn_for_a_chinese_visitor_have_chinese_words(digits):
    stage = digits.stages[1]
    with speaking("zh"):
        grid_zh, strip_zh = fm.render_grid(stage.activation), stages_views.overview_strip(digits, 1)
        unit_zh = render_unit(stages_views.explain_shown_unit(digits, 1, 0, 3, 4))
    grid_en, strip_en = fm.render_grid(stage.activation), stages_views.overview_strip(digits, 1)
    unit_en = render_unit(stages_views.explain_shown_unit(digits, 1, 0, 3, 4))
    for zh, en in ((grid_zh, grid_en), (strip_zh, strip_en), (unit_zh, unit_en)):
        zh = zh.image if hasattr(zh, "image") else zh
        en = en.image if hasattr(en, "image") else en
        assert not np.array_equal(np.asarray(zh.convert("RGB")), np.asarray(en.convert("RGB")))
    assert has_cjk(grid_zh.legend) and not has_cjk(grid_en.legend)
    # the grid's labels are stamped from glyphs: a Chinese character gets the CJK font's own, not a box
    assert _glyph_is_drawn("通")
    tong, dao = fm._glyph("通"), fm._glyph("道")
    assert tong.shape[0] == fm.LABEL_H - 2 and not np.array_equal(tong, dao[:, :tong.shape[1]])
    assert (tong > fm.BG_INDEX + 1).sum() > 20        # ink: strokes, not an empty cell


def test_the_feature_drawings_words_are_in_chinese_and_explain_the_digit_models_blocks():
    drawn = SimpleNamespace(activation=3.0, steps=10, seed=0, objective=[0.1, 3.0], seconds=1.0,
                            image=Image.new("RGB", (28, 28)))
    with speaking("zh"):
        words_zh = stages_features._feature_words(drawn, "某个通道", 0, "Digits", 1.0)
    words = stages_features._feature_words(drawn, "a channel", 0, "Digits", 1.0)
    assert has_cjk(words_zh) and "方块" in words_zh
    assert "Why blocks?" in words and "28×28" in words
    photo = SimpleNamespace(**(vars(drawn) | {"image": Image.new("RGB", (224, 224))}))
    assert "Why blocks?" not in stages_features._feature_words(photo, "a channel", 0, "AlexNet", 1.0)


# --- the newcomer's fixes ---------------------------------------------------------------------------

def test_after_a_unit_is_clicked_the_headings_say_chosen_unit_and_go_back_after(sketch, digits):
    stages_events.on_new_picture(_shown(sketch))
    before = stages_events.on_hide_unit({})       # a new picture, stage or channel hides the unit explained
    assert "strongest unit" in before["channel_heading"] and "strongest unit" in before["overlay_heading"]
    large = digits.stages[0]
    factor = fm.large_factor(large.output_shape)
    clicked = stages_events.on_large_click(_shown(sketch, stage=1, channel=0),
                                           SimpleNamespace(index=(3 * factor + 1, 2 * factor + 1)))
    for name in ("channel_heading", "overlay_heading"):
        assert "chosen unit" in clicked[name] and "strongest" not in clicked[name], name
    assert "Chosen unit:** row 2, column 3" in clicked["channel_md"]
    with speaking("zh"):
        chosen_zh = stages_views.unit_views(digits, 1, 0, 2, 3)
    assert "选中的单元" in chosen_zh["channel_heading"] and "最强" not in chosen_zh["channel_heading"]
    again = stages_events.on_stage(_shown(sketch, stage=2, channel=0))
    assert "strongest unit" in again["channel_heading"]
    assert "Strongest unit" in again["channel_md"]


def test_a_pooling_unit_is_shown_with_its_window_and_no_kernel(digits):
    pool, conv = _stage_of_kind(digits, "pool"), _stage_of_kind(digits, "conv")
    pooled = stages_views.unit_views(digits, pool + 1, 0, 1, 1)
    convolved = stages_views.unit_views(digits, conv + 1, 0, 1, 1)
    assert "kernel slice" in convolved["unit_heading"]
    assert "kernel slice" not in pooled["unit_heading"] and "no kernel" in pooled["unit_heading"]
    assert "window" in pooled["unit_heading"] and "max pooling" in pooled["unit_heading"]
    # its picture is titled with its window and what pooling takes of it, and not drawn like a conv unit's
    from explorer.drawing import unit_drawing
    title = unit_drawing._pool_title(stages_views.explain_shown_unit(digits, pool + 1, 0, 1, 1))
    assert "window" in title and "max pooling" in title and "kernel" not in title


def test_the_digit_models_maps_say_why_they_look_like_blocks(sketch, digits):
    shown = stages_events.on_new_picture(_shown(sketch))
    widths = sorted({s.output_shape[2] for s in digits.stages}, reverse=True)
    assert "Why blocks?" in shown["stage_md"]
    assert ", ".join(map(str, widths)) in shown["stage_md"] and "28×28 pictures" in shown["stage_md"]
    photo = stages_events.on_new_picture(_shown(ESPRESSO, model=DEFAULT_MODEL))
    assert "Why blocks?" not in photo["stage_md"]


def test_the_tab_says_once_that_rows_columns_and_channels_count_from_0():
    with gr.Blocks() as page:
        stages_tab.layout()
    keys = [json.loads(block.value[len("__i18n__"):])["key"] for block in page.blocks.values()
            if isinstance(block, gr.Markdown) and str(block.value).startswith("__i18n__")]
    for lang in ("en", "zh"):     # a Markdown keeps its marker as text: the translation is found by its key
        assert sum(COUNTING[lang] in I18N.translations[lang][key] for key in keys) == 1
