"""What the Kernel tab's and the "Other layers" panel's handlers return, without a browser: the last good
result kept on a mistake, the message's place, the preset box, the code file, BatchNorm on one number."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gradio.components import Dropdown

from explorer.core.sliding import fmt
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, PRESET_NAMES, preset
from explorer.ui import kernel_tab, kernel_view, layers_panel
from explorer.ui.kernel_settings import SETTING_FIELDS

SETTINGS = dict(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, op="conv", kernel_size="2", stride="2",
                padding="0", dilation="1", bias=0.0, ceil_mode=False)
RESULT = ("live", "info", "code", "code_download")       # what a mistake leaves as it is


def view(**changes) -> dict:
    """kernel_view.slide_view of SETTINGS with `changes`, as the page's event gives them: by field name."""
    settings = {**SETTINGS, **changes}
    return kernel_view.slide_view({field: settings[name] for name, field in SETTING_FIELDS.items()})


def shown_message(update) -> str | None:
    return update.value if update.visible else None


@pytest.mark.parametrize("changes, slot, words", [
    (dict(matrix=[[10, 11], [2, "abc"]]), "matrix", "matrix row 1, column 1: &#x27;abc&#x27; is not a number"),
    (dict(kernel=[[1, "x"], [1, 0]]), "kernel", "kernel row 0, column 1"),
    (dict(kernel=[[1] * 6] * 6, kernel_size="6"), "kernel", "kernel: the window spans 6 rows"),
    (dict(stride="0"), "settings", "stride: must be at least 1, got 0"),
    (dict(op="max", kernel_size="9"), "settings", "kernel_size: the window spans 9 rows"),
])
def test_a_mistake_keeps_the_last_result_and_puts_one_message_beside_the_control(changes, slot, words):
    updates = view(**changes)
    assert not set(RESULT) & set(updates)                                 # the last good result stays
    stale = updates["stale"]
    assert stale.visible and "Not updated" in stale.value
    shown = {name: shown_message(updates[f"{name}_msg"]) for name in kernel_view.MESSAGE_SLOTS}
    assert [name for name, text in shown.items() if text] == [slot]
    assert words in shown[slot]


def test_good_settings_clear_every_message_and_the_note():
    updates = view()
    assert set(updates) == set(kernel_view.VIEW_FIELDS)
    info, live = updates["info"], json.loads(updates["live"])
    assert not updates["stale"].visible and not any(updates[f"{n}_msg"].visible for n in kernel_view.MESSAGE_SLOTS)
    expected = F.conv2d(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None],
                        torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)[0, 0]
    assert f"**Output {expected.shape[0]}x{expected.shape[1]}**" in info
    assert len(live["steps"]) == expected.numel() and live["start"] == 1
    assert live["output"] == [[fmt(float(v)) for v in row] for row in expected]


@pytest.mark.parametrize("op, call, name", [
    ("conv", lambda x: F.conv2d(x, torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2),
     "conv2d_4x4_input_2x2_kernel.py"),
    ("max", lambda x: F.max_pool2d(x, 3, stride=2), "max_pool2d_4x4_input_3x3_window.py"),
    ("avg", lambda x: F.avg_pool2d(x, 3, stride=2), "avg_pool2d_4x4_input_3x3_window.py"),
])
def test_the_code_file_is_named_after_what_it_holds_and_runs(op, call, name):
    r = kernel_tab.compute(kernel_tab.slide_settings(*{**SETTINGS, "op": op, "kernel_size": "3" if op != "conv" else "2"}.values()))
    path = kernel_tab.code_file(r.s)
    assert path.endswith("/" + name)
    namespace = {}
    exec(open(path).read(), namespace)
    assert torch.equal(namespace["out"], call(torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None])[0, 0])


def preset_box(values: dict) -> Dropdown:
    box = values["preset"]
    assert isinstance(box, Dropdown)
    return box


def test_the_preset_box_names_where_the_numbers_came_from():
    name = PRESET_NAMES[2]
    assert preset_box(kernel_view.filled_controls({**preset(name), "preset": name})).value == name
    unit = dict(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, op="conv", kernel_size=None, stride=(2, 2),
                dilation=(1, 1), position=(1, 1))
    box = preset_box(kernel_view.filled_controls(kernel_tab.settings_from_unit(unit, "From a unit")))
    assert box.value == kernel_tab.FROM_STAGES
    assert kernel_tab.FROM_STAGES in [value for _, value in box.choices]


def test_batchnorm_on_one_number_says_why_in_words_and_the_other_layers_still_run():
    views = layers_panel.layer_results([[-5]], 0.5, 0, 1, 1)
    relu, bn_train, bn_eval, bn_md, avg, mx = (views[n] for n in ("relu", "bn_train", "bn_eval", "bn_md", "avg", "max"))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):   # what PyTorch says
        torch.nn.BatchNorm2d(1).train()(torch.full((1, 1, 1, 1), -5.0))
    assert bn_train is None and bn_eval is None
    assert bn_md.startswith("Not measurable: BatchNorm2d") and "1×1 matrix has one" in bn_md
    assert relu == [[torch.relu(torch.tensor(-5.0)).item()]]
    assert avg == mx == [[-5.0]]


def test_the_layers_example_shows_every_layer_at_work():
    m = np.array(layers_panel.LAYERS_EXAMPLE, dtype=float)
    relu = layers_panel.layer_results(m.tolist(), 0.5, 0, 2, 2)["relu"]
    assert not np.array_equal(np.array(relu), m)                           # ReLU zeroes something
    pooled = F.adaptive_avg_pool2d(torch.tensor(m)[None, None], 2)[0, 0]
    # 5 -> 2: PyTorch's windows are rows/columns 0-2 and 2-4, sharing the middle one
    assert pooled[0, 0].item() == pytest.approx(m[0:3, 0:3].mean())
    assert pooled[1, 1].item() == pytest.approx(m[2:5, 2:5].mean())


def test_a_bad_layers_input_keeps_the_tables_and_names_it_beside_the_input():
    inputs = lambda matrix, seed: dict(matrix=matrix, p=0.5, seed=seed, out_h=2, out_w=2)
    updates = layers_panel.layers_view(inputs([[1, "x"]], 0))
    assert set(updates) == {"matrix_msg", "controls_msg"}                 # the ten views stay
    matrix_msg, controls_msg = updates["matrix_msg"], updates["controls_msg"]
    assert matrix_msg.visible and "matrix row 0, column 1: &#x27;x&#x27; is not a number" in matrix_msg.value
    assert not controls_msg.visible
    updates = layers_panel.layers_view(inputs([[1, 2]], None))
    matrix_msg, controls_msg = updates["matrix_msg"], updates["controls_msg"]
    assert controls_msg.visible and "seed" in controls_msg.value and not matrix_msg.visible


def test_the_controls_hidden_for_an_operation_are_ignored_and_equal_settings_share_one_renderer():
    conv = kernel_tab.slide_settings(CHAPTER_MATRIX, CHAPTER_KERNEL, "conv", "9", "2", "0", "1", None, True)
    assert conv.bias == 0.0 and not conv.ceil_mode and conv.kernel_size == (2, 2)     # pooling's controls ignored
    pooling = kernel_tab.slide_settings({"data": CHAPTER_MATRIX}, [[1, "x"]], "max", "2", "2,2", "0", "1", 5, 0)
    assert pooling.kernel is None and pooling.bias == 0.0 and pooling.kernel_size == (2, 2)   # conv's ignored
    again = kernel_tab.slide_settings(CHAPTER_MATRIX, None, "max", 2, "2", "0,0", 1, 0, False)
    assert again == pooling and kernel_tab.compute(again) is kernel_tab.compute(pooling)
    with pytest.raises(ValueError, match="op: must be one of conv, max, avg"):
        kernel_tab.slide_settings(CHAPTER_MATRIX, CHAPTER_KERNEL, "sum", "2", "2", "0", "1", 0, False)


def test_a_preset_fills_the_tabs_controls_by_name():
    import gradio as gr

    with gr.Blocks():
        tab = kernel_tab.build()
    p = {**preset(PRESET_NAMES[0]), "preset": PRESET_NAMES[0]}
    filled = kernel_view.filled_controls(p)
    assert set(filled) <= set(kernel_view.CONTROL_FIELDS) <= set(tab.components())
    assert "preset" in filled and "matrix" in filled and "kernel" in filled      # a convolution: its kernel too
    assert [filled[name] for name in ("op", "pool_size", "stride", "padding", "dilation", "bias", "ceil_mode")] \
        == [p[name] for name in kernel_tab.SETTING_NAMES[2:]]
    assert filled["preset"].value == PRESET_NAMES[0]


def test_settings_are_read_by_name():
    """The page's events give the settings by field name; the pooling window is the `pool_size` control."""
    values = {field: SETTINGS[name] for name, field in SETTING_FIELDS.items()}
    pooled = kernel_view.slide_view({**values, "op": "max", "pool_size": "3"})
    assert pooled["code_download"].label.endswith("max_pool2d_4x4_input_3x3_window.py")


def test_the_slide_endpoints_description_tells_what_pytorch_computes():
    """The /slide tool's description (an LLM's only guide) gives the chapter's example: PyTorch agrees."""
    from explorer.ui.kernel_api import run_slide

    x = torch.tensor(CHAPTER_MATRIX, dtype=torch.float64)[None, None]
    conv = F.conv2d(x, torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)[0, 0]
    pooled = F.max_pool2d(x, 2, stride=2)[0, 0]
    as_text = lambda t: str([[int(v) for v in row] for row in t.tolist()]).replace(" ", "")
    doc = " ".join(run_slide.__doc__.split())
    assert f"matrix {as_text(x[0, 0])} with kernel {as_text(torch.tensor(CHAPTER_KERNEL))}" in doc
    assert f"gives the 2x2 output {as_text(conv)}" in doc and f"= {int(conv[0, 0])}." in doc
    assert f'op "max", kernel_size "2", stride "2" gives {as_text(pooled)}' in doc
