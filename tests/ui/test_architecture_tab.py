"""The Architecture tab: its API through gradio_client, and its page handlers by name (the page in
Chromium: tests/browser/test_architecture_browser.py)."""

import pytest
import torchvision

from explorer.ui.architecture_tab import compare_in_page, inspect_in_page, pick_model


@pytest.mark.e2e
def test_summarize_endpoint(client):
    totals, chain, block, picture, table, text = client.predict("resnet18", 224, 224, api_name="/summarize")
    params = sum(p.numel() for p in torchvision.models.resnet18().parameters())
    assert f"{params:,} parameters" in totals
    assert "layer4.1.conv2" in table and "<details" in table
    assert text.startswith("ResNet(") and "BasicBlock" in text
    assert chain and picture


@pytest.mark.e2e
def test_summarize_endpoint_refuses_a_too_small_input(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="16 px and 16 px are too small for AlexNet"):
        client.predict("alexnet", 16, 16, api_name="/summarize")
    # and the app keeps serving
    totals = client.predict("digits", 28, 28, api_name="/summarize")[0]
    assert "1×28×28" in totals


@pytest.mark.e2e
def test_block_picture_endpoint_and_its_size_message(client):
    from gradio_client.exceptions import AppError
    from PIL import Image

    picture = client.predict("googlenet", 224, 224, "inception3a", api_name="/block_picture")
    assert Image.open(picture).size[0] > 200
    with pytest.raises(AppError, match="12 px is too small for GoogLeNet"):
        client.predict("googlenet", 224, 12, "inception3a", api_name="/block_picture")


@pytest.mark.e2e
def test_compare_endpoint(client):
    table, plot = client.predict(["squeezenet1_1", "digits"], api_name="/compare")
    rows = table["data"]
    assert len(rows) == 2
    params = sum(p.numel() for p in torchvision.models.squeezenet1_1().parameters())
    assert rows[0][2] == pytest.approx(params / 1e6, abs=1e-3)
    top1 = torchvision.models.SqueezeNet1_1_Weights.DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert float(rows[0][6]) == pytest.approx(top1)
    assert float(rows[1][4]) > 0          # measured latency
    assert plot is not None


def test_the_first_summary_is_computed_when_a_page_loads_not_while_the_app_starts(monkeypatch):
    from explorer.ui import architecture_tab, build_demo

    def refuse(*args):
        raise AssertionError("the Architecture summary was computed at build time")

    monkeypatch.setattr(architecture_tab, "inspect_values", refuse)
    demo = build_demo()
    loads = [fn for fn in demo.fns.values() if fn.name == "first_view"]
    assert len(loads) == 1 and loads[0].api_name == "architecture_first_view"
    monkeypatch.undo()
    architecture_tab._first_values.cache_clear()
    first = architecture_tab.first_view()
    assert "parameters" in first["totals"] and first["chain"] is not None and "<details" in first["table"]
    assert set(first) == {"totals", "chain", "block", "picture", "table", "text", "note"}


def inspect(name, height, width, shown=("alexnet", 224, 224)) -> dict:
    return inspect_in_page(dict(model=name, height=height, width=width, shown=shown))


def test_the_page_keeps_the_last_result_and_names_the_box_at_fault():
    updates = inspect("alexnet", 224, 10)
    assert set(updates) == {"stale", "model_msg", "height_msg", "width_msg"}   # the results and `shown` stay
    assert updates["stale"].visible and "3×224×224" in updates["stale"].value
    assert not updates["model_msg"].visible and not updates["height_msg"].visible and updates["width_msg"].visible
    assert "input width: 10 px is too small for AlexNet" in updates["width_msg"].value
    fresh = inspect("alexnet", 224, 63)
    assert fresh["shown"] == ("alexnet", 224, 63) and "3×224×63" in fresh["totals"] and not fresh["stale"].visible
    assert not any(fresh[f"{box}_msg"].visible for box in ("model", "height", "width"))


def test_a_model_picked_brings_its_own_input_size():
    updates = pick_model(dict(model="digits", shown=("alexnet", 224, 224)))
    assert (updates["height"], updates["width"]) == (28, 28) and updates["shown"] == ("digits", 28, 28)
    assert "1×28×28" in updates["totals"]


def test_compare_with_nothing_ticked_keeps_the_last_result_and_says_why():
    updates = compare_in_page(dict(picked=[]))
    assert set(updates) == {"picked_msg"}                     # the last table and plot stay
    assert updates["picked_msg"].visible and "pick at least one model" in updates["picked_msg"].value


def test_the_tabs_parts_are_what_their_handlers_fill():
    import gradio as gr

    from explorer.ui import architecture_tab, layers_panel

    with gr.Blocks():
        tab = architecture_tab.build()
    assert tab.kernel_matrix is None and not tab.layers.copy.visible       # no Kernel tab's matrix to copy
    example = dict(matrix=layers_panel.LAYERS_EXAMPLE, p=0.5, seed=0, out_h=2, out_w=2)
    layers, inspected = tab.layers.components(), tab.inspect.components()
    assert set(layers_panel.layers_view(example)) == set(layers_panel.LAYERS_VIEW) <= set(layers)
    assert tab.layers.views == [layers[name] for name in layers_panel.VIEW_NAMES]      # /layers' outputs, in order
    assert set(inspect("alexnet", 224, 63)) == set(architecture_tab.IN_PAGE) <= set(inspected)
    assert tab.inspect.results == [inspected[name] for name in ("totals", "chain", "block", "picture", "table", "text")]


def test_alexnet_outputs_says_the_chapters_model_is_alexnet():
    from explorer.ui.architecture_tab import alexnet_outputs

    proof = alexnet_outputs()
    assert "`torch.equal`: **True**" in proof and "Same layers, same weights" in proof
