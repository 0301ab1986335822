"""The parts every tab shares speak the visitor's language: a Chinese visitor gets Chinese messages, with
the same numbers and names as the English ones (explorer.core.words.speaking), and the texts kept with a
model (its title, its note, why its weights are missing) are said in the language of whoever reads them."""
import re
import urllib.error
from argparse import Namespace
from dataclasses import replace

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from explorer.core import budgets, cost, images, safe_weights, shown
from explorer.core.both import Both, said
from explorer.core.digits import sketch_to_grid
from explorer.core.models import REGISTRY, get_model
from explorer.core.weights import unavailable_in_words, untrained_note
from explorer.core.words import say, speaking
from explorer.ui import cancel, lanes, picture_input, upload_budget
from explorer.ui.own_model import MODEL_CHOICES
from explorer.ui.words import chinese, english

CJK = re.compile(r"[\u4e00-\u9fff]")


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)*", text)


def _both(call) -> tuple[str, str]:
    """The message `call` raises (a ValueError) in English and in Chinese."""
    said_ = []
    for lang in ("en", "zh"):
        with speaking(lang), pytest.raises(ValueError) as raised:
            call()
        said_.append(str(raised.value))
    return tuple(said_)


@pytest.mark.parametrize("call", [
    lambda: images.load_image(None),
    lambda: images.load_image(np.zeros((2, 3, 7))),
    lambda: images.load_image(np.full((4, 4), np.nan)),
    lambda: images.load_image({"composite": None, "layers": []}),
    lambda: images.load_image(Image.new("1", (10_000, 6_000))),
    lambda: images.refuse_program_formats(b"%!PS-Adobe"),
    lambda: sketch_to_grid(Image.new("L", (40, 40), 255)),
    lambda: shown.whole_number("2.5", "stride"),
    lambda: safe_weights.read_labels([]),
    lambda: budgets.check_compare(12, replace(budgets.current(), compare_models=4)),
    lambda: budgets.check_visualize_steps(49, 48),
    lambda: budgets.check_model_passes(say("n_steps: 9000 steps", "n_steps：9000 步"), 9000,
                                       say("use fewer steps", "请减少步数"), replace(budgets.current(), model_passes=100)),
    lambda: cost.refuse_over(say("occlusion: a window of 4 px", "occlusion：4 px 的窗口"), 1e6,
                             say("5,000 passes", "5,000 遍"), say("use a larger stride", "请用更大的步幅")),
    lambda: get_model("no_such_model"),
], ids=["none", "array", "nan", "empty-sketch", "megapixels", "eps", "blank-digit", "whole", "labels", "compare",
        "steps", "passes", "seconds", "model"])
def test_a_chinese_visitor_gets_chinese_messages_with_the_numbers_kept(call):
    en, zh = _both(call)
    assert not CJK.search(en), en
    assert CJK.search(zh), zh
    assert _numbers(zh) == _numbers(en) or sorted(_numbers(zh)) == sorted(_numbers(en)), (en, zh)
    argument = en.split(":")[0]
    if re.fullmatch(r"[a-z_ ]+", argument) and " " not in argument:     # "image: ..." -> "image：..."
        assert zh.startswith(argument + "：")


def test_a_weights_file_that_is_no_safetensors_is_refused_in_chinese(tmp_path):
    pickled = tmp_path / "w.pt"
    pickled.write_bytes(b"\x80\x04" + b"\0" * 64)
    en, zh = _both(lambda: safe_weights.check_safetensors(pickled))
    assert "pickle" in en and "pickle" in zh and "w.pt" in zh and "save_file" in zh
    assert zh.startswith("weights：") and "不是 safetensors 文件" in zh


def test_the_drawing_checks_speak_chinese():
    for lang, words in (("en", "layers"), ("zh", "图层")):
        with speaking(lang), pytest.raises(gr.Error) as raised:
            picture_input.check_drawing({f"layer {k}": None for k in range(12)}, None)
        assert words in raised.value.message and "12" in raised.value.message and "8" in raised.value.message


def test_an_unreadable_upload_is_reported_in_chinese(monkeypatch):
    warned = []
    monkeypatch.setattr(gr, "Warning", lambda message, **kw: warned.append(message))
    with speaking("zh"):
        bad = picture_input.Unreadable(images.unreadable(), "/tmp/x-zh.png")
        assert picture_input.after_upload(("t", "s-zh"), bad, "resnet18", "/tmp/before.png") == {
            "photo": "/tmp/before.png"}
    assert warned and CJK.search(warned[0]) and "PNG" in warned[0] and "之前的图片" in warned[0]


def test_upload_refusals_speak_the_pages_language(monkeypatch):
    monkeypatch.setenv("EXPLORER_UPLOAD_FILE_MB", "1")
    upload_budget.LEDGER.clear()
    with speaking("zh"):
        reason = upload_budget.admit("visitor", ["/tmp/p.png"], [3 << 20])
    assert reason.startswith("upload：") and "3.0 MB" in reason and "1 MB" in reason
    asked = Namespace(headers={"referer": "http://x/?lang=zh&page=kernel", "accept-language": "en-US"})
    assert upload_budget.language_of_upload(asked) == "zh"
    assert upload_budget.language_of_upload(Namespace(headers={"accept-language": "zh-CN,zh;q=0.9"})) == "zh"
    assert upload_budget.language_of_upload(Namespace(headers={})) == "en"
    upload_budget.LEDGER.clear()


def test_a_refusal_in_the_queue_speaks_the_language_state_of_its_page():
    lang, other = gr.State("en"), gr.State(None)
    session = {lang._id: "zh"}

    class Holder(dict):
        pass

    holder = Holder(s1=Namespace(get=lambda key: session.get(key)))
    queue = Namespace(server_app=Namespace(state_holder=holder))
    event = Namespace(session_hash="s1", fn=Namespace(inputs=[other, lang]), request=None)
    assert lanes.language_of(queue, event) == "zh"
    event = Namespace(session_hash="s2", fn=Namespace(inputs=[lang]),
                      request=Namespace(headers={"accept-language": "zh-CN"}))
    assert lanes.language_of(queue, event) == "zh"
    event.request = None
    assert lanes.language_of(queue, event) == "en"
    assert CJK.search(lanes.SHARE_MESSAGE["zh"]) and CJK.search(lanes.SMALL_MESSAGE["zh"])


def test_a_cancelled_job_says_so_as_information_in_the_visitors_language(monkeypatch):
    shown_ = []
    monkeypatch.setattr(gr, "Info", lambda message, **kw: shown_.append(message))
    monkeypatch.setattr(gr, "Error", lambda *a, **k: pytest.fail("a cancelled job is no error"))
    with speaking("zh"):
        assert cancel.stopped("Stopped after {n} steps.", "第 {n} 步后已停止。", n=4) == {}
        flag = cancel.StopFlag()
        flag.set()
        with pytest.raises(cancel.Stop) as raised:
            cancel.stopping_progress(lambda *a, **k: None, flag, "")(0.5)
    assert shown_ == ["第 4 步后已停止。"] and CJK.search(str(raised.value))


def test_what_is_kept_with_a_model_is_said_in_the_readers_language():
    note = untrained_note(REGISTRY["digits"].title, unavailable_in_words(urllib.error.URLError("offline")))
    assert "Digits (LeNet-style) is untrained here" in note and "internet" in note       # read as a str: English
    with speaking("zh"):
        assert "手写数字（LeNet 式）" in said(note) and "互联网" in said(note) and not re.search("untrained", said(note))
    assert said(note) == str(note)
    title = Both("{arch} (your weights)", "{arch}（你的权重）", arch="resnet18")
    assert (str(title), title.zh) == ("resnet18 (your weights)", "resnet18（你的权重）")


def test_the_model_pickers_choices_have_their_chinese():
    titles = {name: label for label, name in MODEL_CHOICES}
    assert english(titles["digits"]) == "Digits (LeNet-style)" and chinese(titles["digits"]) == "手写数字（LeNet 式）"
    assert chinese(titles["cnnnet"]).startswith("本章的 CNNNet")
    assert english(titles["resnet18"]) == chinese(titles["resnet18"]) == "ResNet-18"
    model, note = get_model("cnnnet")
    with speaking("zh"):
        assert CJK.search(model.display_name) and CJK.search(get_model("cnnnet")[1])
    assert model.display_name == "The chapter's CNNNet (untrained, fish vs. cat)" and "no trained weights" in note
