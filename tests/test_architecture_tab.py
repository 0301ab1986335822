"""The Architecture tab end to end: its API through gradio_client and the page in Chromium."""
import pytest
import torchvision

from explorer.architecture_tab import TITLE


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

    with pytest.raises(AppError, match="does not fit"):
        client.predict("alexnet", 16, 16, api_name="/summarize")
    # and the app keeps serving
    totals = client.predict("digits", 28, 28, api_name="/summarize")[0]
    assert "1×28×28" in totals


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


@pytest.mark.browser
def test_architecture_tab_screenshot(page, screenshot_dir):
    page.get_by_role("tab", name=TITLE).click()
    page.get_by_text("The network as a chain of blocks").first.wait_for()
    page.locator(".arch-table details").first.wait_for()
    assert page.locator(".arch-table details").count() > 3
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot_dir / "architecture.png"), full_page=True)
    page.get_by_role("tab", name="Is the chapter's model AlexNet?").click()
    page.get_by_text("identical").first.wait_for()
    page.get_by_role("button", name="Load AlexNet's weights into CNNNet and compare their outputs").click()
    proof = page.locator("p", has_text="Same layers, same weights")
    proof.wait_for()
    assert "torch.equal: True" in proof.inner_text()
    page.screenshot(path=str(screenshot_dir / "architecture_alexnet.png"), full_page=True)
    page.get_by_role("tab", name="Other layers on your matrix").click()
    page.get_by_role("button", name="Resample the dropout mask").click()
    seed = page.get_by_label("Dropout seed")
    page.wait_for_function("el => el.value !== '0'", arg=seed.element_handle())
    page.get_by_text(f"Train mode, seed {seed.input_value()}:").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "architecture_layers.png"), full_page=True)


def test_the_first_summary_is_computed_when_a_page_loads_not_while_the_app_starts(monkeypatch):
    from explorer import architecture_tab
    from explorer.ui import build_demo

    def refuse(*args):
        raise AssertionError("the Architecture summary was computed at build time")

    monkeypatch.setattr(architecture_tab, "inspect_values", refuse)
    demo = build_demo()
    loads = [fn for fn in demo.fns.values() if fn.name == "first_view"]
    assert len(loads) == 1 and loads[0].api_name == "architecture_first_view"
    monkeypatch.undo()
    architecture_tab._first_values.cache_clear()
    totals, chain, block, picture, table, text = architecture_tab.first_view()
    assert "parameters" in totals and chain is not None and "<details" in table
