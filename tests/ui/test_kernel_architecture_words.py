"""A Chinese visitor of the Kernel and Architecture tabs reads Chinese: the handlers' messages and words,
the player's words, the pictures; an English visitor reads what the tabs always said. Rows and columns
are counted from 0 in what the Kernel tab says (steps from 1)."""
import json
import re
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from explorer.core.sliding import slide
from explorer.core.words import speaking
from explorer.drawing.architecture_drawing import draw_chain
from explorer.drawing.fonts import has_cjk
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, PRESET_NAMES, preset
from explorer.ui import architecture_tab, kernel_tab, kernel_view, layers_panel
from explorer.ui.kernel_live import WORDS, live_value
from explorer.ui.kernel_settings import SETTING_FIELDS, describe
from explorer.ui.words import chinese, english

SETTINGS = dict(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, op="conv", kernel_size="2", stride="2",
                padding="0", dilation="1", bias=0.0, ceil_mode=False)


def page_values(**changes) -> dict:
    settings = {**SETTINGS, **changes}
    return {field: settings[name] for name, field in SETTING_FIELDS.items()}


def test_a_bad_cell_is_named_in_chinese_counting_from_0():
    with speaking("zh"):
        updates = kernel_view.slide_view(page_values(matrix=[[10, 11], [2, "abc"]]))
    message = updates["matrix_msg"].value
    assert has_cjk(message) and "matrix 第 1 行第 1 列" in message     # beside the matrix: its name leads
    assert has_cjk(updates["stale"].value)
    english_message = kernel_view.slide_view(page_values(matrix=[[10, 11], [2, "abc"]]))["matrix_msg"].value
    assert not has_cjk(english_message) and "matrix row 1, column 1" in english_message


def test_the_formula_words_speak_the_visitors_language_and_count_from_0():
    s = slide(np.arange(25).reshape(5, 5), [[1, 0], [0, 1]], stride=2)     # row 4 and column 4 never read
    assert (s.unused_rows, s.unused_cols) == ([4], [4])
    assert "row 4 and column 4" in describe(s) and "**Output 2x2**" in describe(s)
    with speaking("zh"):
        words = describe(s)
    assert has_cjk(words) and "第 4 行和第 4 列" in words and "**输出 2x2**" in words


def test_a_unit_from_stages_is_placed_counting_rows_from_0_and_steps_from_1():
    p = {**preset(PRESET_NAMES[0]), "preset": PRESET_NAMES[0], "position": (1, 0)}
    note = kernel_view.filled_controls(p)["note"]
    assert "**Step 3** (output row 1, column 0) gives **65**" in note
    with speaking("zh"):
        assert "**第 3 步**（输出第 1 行第 0 列）得到 **65**" in kernel_view.filled_controls(p)["note"]


def test_the_players_words_arrive_in_both_languages_with_the_visitors():
    s = slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2)
    with speaking("zh"):
        data = json.loads(live_value(s))
    assert data["lang"] == "zh" and json.loads(live_value(s))["lang"] == "en"
    assert set(data["words"]) == {"en", "zh"} and data["words"]["zh"]["play"] == "▶ 播放"
    assert [key for key, text in data["words"]["zh"].items() if not has_cjk(text)] == []
    assert not any(has_cjk(text) for text in data["words"]["en"].values())
    assert data["words"]["en"]["at"].format(k=1, r=0, c=0) == "Step 1: output row 0, column 0"


def test_every_word_the_player_draws_is_sent_in_both_languages():
    script = (Path(kernel_tab.__file__).with_name("kernel_live.js")).read_text()
    used = {key for call in re.findall(r"\bw\(([^()]*)\)", script) for key in re.findall(r'(?<!=== )"(\w+)"', call)}
    used |= set(re.findall(r'data-w(?:-aria)?="(\w+)"', script))
    assert {"play", "pause", "at", "of", "input", "output", "legend_unused", "keys"} <= used
    assert used <= set(WORDS["en"]) and set(WORDS["en"]) == set(WORDS["zh"]), used - set(WORDS["en"])
    assert not re.search(r'textContent = `[A-Z]|"(Input|Kernel|Output|Products)"', script)   # no English left


def test_the_pages_gif_refuses_in_the_visitors_language():
    values = {"speed": 2, **page_values(matrix=[[1, "x"]])}
    with speaking("zh"), pytest.raises(gr.Error) as refused:
        kernel_tab.gif_in_page(values)
    assert has_cjk(refused.value.message) and has_cjk(refused.value.title)


def marker(value):
    """The translation marker a component holds as text ("__i18n__{...}") as the marker itself."""
    from gradio.i18n import I18nData

    return I18nData(json.loads(value[len("__i18n__"):])["key"]) if str(value).startswith("__i18n__") else value


def test_the_fixed_words_have_both_languages():
    with gr.Blocks():
        tab = kernel_tab.build()
    assert english(tab.op.label) == "Operation" and chinese(tab.op.label) == "运算"
    assert english(kernel_tab.TITLE) == "Kernel" and has_cjk(chinese(marker(tab.info.value)))
    displayed = {english(name): chinese(name) for name, _ in tab.preset.choices}
    assert set(displayed) == set(PRESET_NAMES) and all(has_cjk(zh) for zh in displayed.values())
    assert english(tab.step.label) == "Step (1 to 4)" and chinese(tab.step.label) == "步（1 到 4）"   # steps from 1


def test_the_architecture_messages_and_words_speak_chinese():
    with speaking("zh"):
        updates = architecture_tab.inspect_in_page(dict(model="alexnet", height=224, width=10,
                                                         shown=("alexnet", 224, 224)))
        fresh = architecture_tab.inspect_in_page(dict(model="digits", height=28, width=28, shown=("alexnet", 224, 224)))
        nothing = architecture_tab.compare_in_page(dict(picked=[]))
        bad_size = architecture_tab.inspect_in_page(dict(model="alexnet", height=0, width=224,
                                                          shown=("alexnet", 224, 224)))
    assert updates["width_msg"].visible and has_cjk(updates["width_msg"].value) and "AlexNet" in updates["width_msg"].value
    assert has_cjk(updates["stale"].value)
    assert has_cjk(fresh["totals"]) and has_cjk(fresh["table"]) and "1×28×28" in fresh["totals"]
    assert has_cjk(nothing["picked_msg"].value)
    assert bad_size["height_msg"].visible and not bad_size["width_msg"].visible and has_cjk(bad_size["height_msg"].value)


def test_the_layers_panel_speaks_chinese():
    example = dict(matrix=layers_panel.LAYERS_EXAMPLE, p=0.5, seed=0, out_h=2, out_w=2)
    with speaking("zh"):
        views = layers_panel.layers_view(example)
        bad = layers_panel.layers_view({**example, "matrix": [[1, "x"]]})
    assert all(has_cjk(views[name]) for name in ("drop_md", "bn_md", "pool_md"))
    assert "第 0–2 行" in views["pool_md"]                     # rows counted from 0
    assert has_cjk(bad["matrix_msg"].value) and "matrix 第 0 行第 1 列" in bad["matrix_msg"].value


def test_the_chain_picture_is_drawn_in_chinese():
    from explorer.core import architecture as arch

    summary = arch.summarize("digits", (1, 28, 28))
    english_picture = np.asarray(draw_chain(summary))
    with speaking("zh"):
        chinese_picture = np.asarray(draw_chain(summary))
    assert english_picture.shape != chinese_picture.shape or (english_picture != chinese_picture).any()


def test_the_alexnet_proof_speaks_chinese():
    with speaking("zh"):
        proof = architecture_tab.alexnet_in_page({})["proof"]
    assert has_cjk(proof) and "`torch.equal`：**True**" in proof


def test_a_number_box_names_itself_in_the_visitors_language():
    from explorer.ui.number_inputs import NumberInput
    from explorer.ui.words import t

    box = NumberInput(label=t("Dropout seed", "Dropout 的随机种子（seed）"))
    with speaking("zh"), pytest.raises(gr.Error) as chinese_error:
        box.preprocess("abc")
    with pytest.raises(gr.Error) as english_error:
        box.preprocess("abc")
    assert chinese_error.value.message.startswith("Dropout 的随机种子（seed）：") and has_cjk(chinese_error.value.title)
    assert english_error.value.message.startswith("Dropout seed: 'abc' is not a number")


def test_the_architecture_first_view_speaks_the_language_the_page_asks_for():
    from types import SimpleNamespace

    architecture_tab._first_values.cache_clear()
    asked = SimpleNamespace(query_params={"lang": "zh"}, headers={"accept-language": "en-US"})
    browser = SimpleNamespace(query_params={}, headers={"accept-language": "zh-CN,zh;q=0.9"})
    english_browser = SimpleNamespace(query_params={}, headers={"accept-language": "en-US,en;q=0.9"})
    assert has_cjk(architecture_tab.first_view({}, asked)["totals"])
    assert has_cjk(architecture_tab.first_view({}, browser)["note"])
    assert not has_cjk(architecture_tab.first_view({}, english_browser)["totals"])


def test_one_of_a_thing_is_not_plural():
    s = slide([[1, 2], [3, 4]], [[1, 1], [1, 1]])               # one step
    views = layers_panel.layer_results([[5.0]], 0.5, 0, 1, 1)
    assert "of 1 value zeroed" in views["drop_md"]
    with speaking("zh"):
        assert "1 个值中" in layers_panel.layer_results([[5.0]], 0.5, 0, 1, 1)["drop_md"]
    assert "**Output 1x1**" in describe(s)
    from explorer.core.sliding import SlideSettings
    from explorer.ui.kernel_api import write_gif

    gif = write_gif(SlideSettings.checked([[1, 2], [3, 4]], [[1, 1], [1, 1]]), 2, keep_going=lambda: True)
    assert Path(gif).name == "conv_1_step.gif"
