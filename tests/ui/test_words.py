"""Every word a visitor reads has its Chinese: the page's fixed texts are explorer.ui.words.t(en, zh), and
every message raised, shown or drawn is explorer.core.words.say(en, zh). (tests/browser/test_chinese.py
reads the drawn page in a zh-CN browser.)"""

import pytest

from explorer.core import words
from explorer.core.registry import IMAGENET_LABELS, MODEL_NAMES
from explorer.ui import build_demo
from tests.words_check import ROOT, untranslated_components, untranslated_messages

# Messages only a developer or the Space's operator reads (a page wired wrongly, a bad environment variable).
FOR_DEVELOPERS = {"explorer/ui/by_name.py", "explorer/core/settings.py", "explorer/core/state.py",
                  "explorer/core/hooks.py", "explorer/core/words.py", "explorer/ui/__init__.py",
                  "explorer/ui/app.py"}
TABS = ["kernel_tab", "stages_tab", "saliency_tab", "architecture_tab", None]


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.mark.parametrize("tab", TABS)
def test_every_fixed_text_of_the_page_has_its_chinese(demo, tab):
    import matplotlib
    import timm

    from explorer.core.attribution import METHODS

    # names stay as they are: models, classes, the methods' and colour maps' code names (the API's hidden
    # boxes), and each language's own name on the switch
    kept = (set(MODEL_NAMES) | set(IMAGENET_LABELS) | set(timm.list_models()) | set(METHODS)
            | set(matplotlib.colormaps) | set(words.NAMES.values()))
    missing = untranslated_components(demo, tab, kept)
    assert not missing, f"{len(missing)} texts without Chinese (use explorer.ui.words.t):\n" + "\n".join(missing)


MODULES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "explorer").rglob("*.py"))


@pytest.mark.parametrize("module", [m for m in MODULES if m not in FOR_DEVELOPERS])
def test_every_message_has_its_chinese(module):
    missing = untranslated_messages(ROOT / module)
    assert not missing, "messages without Chinese (use explorer.core.words.say):\n" + "\n".join(missing)


def test_the_checks_find_an_untranslated_text(tmp_path):
    import gradio as gr

    from explorer.ui.words import t

    with gr.Blocks() as page:
        with gr.Tab(t("Kernel", "卷积核"), id="k"):
            gr.Slider(label="Stride")
            gr.Button(t("Run", "运行"))
            gr.Dropdown(choices=["AlexNet", "Max pool"], label=t("Model", "模型"))
    assert untranslated_components(page, "k", {"AlexNet"}) == [
        "Dropdown.choice (k): 'Max pool'", "Slider.label (k): 'Stride'"]
    source = tmp_path / "drawing" / "m.py"
    source.parent.mkdir()
    source.write_text('import gradio as gr\nraise ValueError(f"stride: {n} is wrong")\n'
                      'gr.Warning(say("a", "甲"))\nax.set_title("Output")\n')
    import tests.words_check as check
    check_root, check.ROOT = check.ROOT, tmp_path
    try:
        found = untranslated_messages(source)
    finally:
        check.ROOT = check_root
    assert [f.split(":")[1] for f in found] == ["2", "4"]


def test_say_speaks_the_language_of_the_block():
    assert words.say("{n} rows", "{n} 行", n=3) == "3 rows"
    with words.speaking("zh-CN"):
        assert words.say("{n} rows", "{n} 行", n=3) == "3 行"
        with words.speaking(None):
            assert words.current() == "zh"
    assert words.current() == "en"
    with pytest.raises(ValueError, match="lang"):
        with words.speaking("fr"):
            pass


@pytest.mark.parametrize("header, lang", [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9", "en"),
                                          ("fr-FR", None), ("zh-Hans", "zh"), ("", None)])
def test_accept_language_is_read(header, lang):
    assert words.language_of(header) == lang
