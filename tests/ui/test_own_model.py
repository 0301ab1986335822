""""Your model" beside the pickers, without a browser: what "Use this model" puts in the picker and says,
and the Architecture tab's Inspect on a typed timm name."""
import pickle

import pytest
import torch
from safetensors.torch import save_file

from explorer.core.models import get_model
from explorer.core.state import STORES
from explorer.core.words import speaking
from explorer.ui import architecture_tab
from explorer.ui.own_model import MODEL_CHOICES, use_own_model
from explorer.ui.words import chinese, english

timm = pytest.importorskip("timm")


def test_a_timm_name_with_weights_and_labels_goes_into_the_picker(tmp_path):
    weights, labels = tmp_path / "w.safetensors", tmp_path / "labels.txt"
    save_file({k: v.contiguous() for k, v in timm.create_model("tinynet_e", num_classes=3).state_dict().items()},
              str(weights))
    labels.write_text("red\ngreen\nblue\n")
    answer = use_own_model(" tinynet_e ", str(weights), str(labels), "session-a")
    picker = answer["model"]
    assert picker.value.startswith("timm:tinynet_e@")
    assert picker.choices[:len(MODEL_CHOICES)] == [(english(t), v) for t, v in MODEL_CHOICES]
    assert picker.choices[-1] == ("tinynet_e (your weights)", picker.value)
    with speaking("zh"):          # plain text in the visitor's language: an update shows a t() marker as its key
        again = use_own_model("tinynet_e", str(weights), str(labels), "session-a")["model"]
    assert again.choices[-1] == ("tinynet_e（你的权重）", picker.value)
    assert dict((v, t) for t, v in again.choices)["digits"] == chinese(dict((v, t) for t, v in MODEL_CHOICES)["digits"])
    assert "3 classes" in answer["message"] and "Your weights are loaded" in answer["message"]
    STORES.forget_session("session-a")
    with pytest.raises(ValueError, match="session that has ended"):
        get_model(picker.value)


def test_what_is_wrong_is_said_beside_the_box_and_the_picker_is_kept(tmp_path):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(pickle.dumps({"a": 1}))
    for name, weights, words in [("", None, "empty"), ("resnet1800", None, "did you mean"),
                                 ("convnext_atto", str(bad), "not a safetensors file")]:
        answer = use_own_model(name, weights, None, "s")
        assert set(answer) == {"message"} and words in answer["message"]
    answer = use_own_model("timm:tinynet_e", None, None, "s")
    assert answer["model"].value == "timm:tinynet_e" and "untrained here" in answer["message"]


def test_a_chinese_visitor_is_answered_in_chinese_with_the_numbers_kept(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\n")
    with speaking("zh"):
        empty = use_own_model("", None, None, "s")["message"]
        refused = use_own_model("resnet1800", None, None, "s")["message"]
        used = use_own_model("timm:tinynet_e", None, str(labels), "s")["message"]
    assert "timm 模型名称" in empty and "resnet18" in empty
    assert "无法使用" in refused and "resnet1800" in refused and "timm:resnet18" in refused
    assert "正在使用" in used and "2 个类别" in used and "tinynet_e（你的类别）" in used and "未经训练" in used
    assert not any(word in used for word in ("Using", "classes", "untrained"))
    STORES.forget_session("s")


def test_architecture_inspects_a_typed_timm_name():
    values = architecture_tab.inspect_values("timm:tinynet_e", 106, 106)
    assert "timm tinynet_e" in values["totals"] and "106" in values["totals"]
    with pytest.raises(ValueError, match="not a CNN the app can show"):
        architecture_tab.inspect_values("timm:vit_tiny_patch16_224", 224, 224)
    assert torch.is_grad_enabled()


def test_the_page_compares_typed_timm_models_with_the_ticked_ones():
    assert architecture_tab.typed_timm_names(" tinynet_e,\ntimm:lcnet_050 ,, ") == ["timm:tinynet_e",
                                                                                    "timm:lcnet_050"]
    answer = architecture_tab.compare_in_page({"picked": ["digits"], "also": "tinynet_e"})
    assert "timm tinynet_e" in answer["table"] and "Digits" in answer["table"]
    refused = architecture_tab.compare_in_page({"picked": ["digits"], "also": "vit_tiny_patch16_224"})
    assert set(refused) == {"picked_msg"} and "not a CNN the app can show" in refused["picked_msg"].value
