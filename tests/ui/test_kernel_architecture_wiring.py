"""The Kernel and Architecture tabs are wired by name: every page event reads a set of components and
returns a dict, and every component a handler returns is among its event's outputs (Gradio would
refuse it in the browser: "Returned component ... not specified as output of function")."""
import gradio as gr
import pytest

from explorer.core import architecture as arch
from explorer.ui import architecture_tab, kernel_tab

PUBLIC = {"slide", "kernel_step", "kernel_gif", "layers", "summarize", "block_picture", "compare", "alexnet_outputs"}
# The page's buttons for two public endpoints (the same work in the visitor's language): a bad value is a
# message (gr.Error) there, as in the endpoint; tests/ui/test_kernel_tab.py and test_architecture_tab.py
# call them in Chinese.
PAGE_COPIES = {"gif_in_page", "alexnet_in_page"}


@pytest.fixture(scope="module")
def app():
    with gr.Blocks() as demo:
        kernel = kernel_tab.build()
        architecture = architecture_tab.build(kernel_matrix=kernel.matrix)
    return demo, kernel, architecture


def _value(component):
    """What the page sends for this component's starting value."""
    value = component.value
    return value["data"] if isinstance(value, dict) and "data" in value else value


def _page_events(demo) -> list:
    return [fn for fn in demo.fns.values() if fn.api_name not in PUBLIC | PAGE_COPIES]


def _returns(fn, overrides: dict) -> dict:
    values = {c: overrides.get(c, _value(c)) for c in fn.inputs}
    updates = fn.fn(values)
    assert isinstance(updates, dict), f"{fn.api_name} returns {type(updates).__name__}, not a dict"
    if updates == gr.skip():                # nothing changes
        return {}
    strangers = [c for c in updates if not any(c is o for o in fn.outputs)]
    assert not strangers, f"{fn.api_name} returns components not among its outputs: {strangers}"
    return updates


def test_every_page_event_reads_a_set_and_returns_only_its_outputs(app, monkeypatch):
    demo, kernel, architecture = app
    monkeypatch.setattr(architecture_tab, "_compare", lambda names: arch.compare(names, runs=1, warmup=0))
    events = _page_events(demo)
    assert len(events) >= 15 and all(fn.inputs_as_dict for fn in events), \
        [fn.api_name for fn in events if not fn.inputs_as_dict]
    bad = {kernel.matrix: [[1, "x"]], kernel.stride: "0", architecture.inspect.height: 0,
           architecture.compare.picked: [], architecture.layers.matrix: [[1, "x"]]}
    good = {architecture.compare.picked: ["digits"]}
    filled = {fn.api_name: _returns(fn, good) for fn in events}
    kept = {fn.api_name: _returns(fn, bad) for fn in events}
    # the checks saw the handlers at work: full answers for good values, the last result kept for bad ones
    assert kernel.live in filled["kernel_view"] and kernel.live in filled["kernel_preset"]
    assert kernel.matrix in filled["kernel_resize_matrix_rows"] and kernel.kernel in filled["kernel_resize_kernel_cols"]
    assert kernel.live not in kept["kernel_view"] and kept["kernel_view"][kernel.matrix_msg].visible
    assert architecture.inspect.table in filled["summarize_in_page"]
    assert architecture.inspect.table not in kept["summarize_in_page"]
    assert architecture.compare.table in filled["compare_in_page"] and architecture.compare.table not in kept["compare_in_page"]
    assert architecture.layers.relu in filled["layers_view"] and architecture.layers.relu not in kept["layers_view"]


def test_the_check_finds_a_component_outside_the_outputs(app):
    demo, kernel, _ = app
    view = next(fn for fn in demo.fns.values() if fn.api_name == "kernel_view")
    original = view.fn
    try:
        view.fn = lambda values: {**original(values), kernel.note: "a note no output lists"}
        with pytest.raises(AssertionError, match="not among its outputs"):
            _returns(view, {})
    finally:
        view.fn = original


def test_a_name_that_is_no_component_is_refused_at_once():
    from dataclasses import dataclass

    from explorer.ui.by_name import Components, event

    @dataclass(frozen=True)
    class Panel(Components):
        a: gr.Number
        b: gr.Number
        words: str                  # not a component: not among components()

    with gr.Blocks():
        a, b = gr.Number(), gr.Number()
    panel = Panel(a, b, "words")
    assert panel.components() == {"a": a, "b": b}
    wired = event(panel.components(), lambda v: {"a": v["b"] + 1}, ("b",), ("a",))
    assert wired["inputs"] == {b} and wired["outputs"] == [a] and wired["fn"]({b: 1}) == {a: 2}
    with pytest.raises(KeyError, match=r"no component is named \['stale'\]"):
        event(panel.components(), lambda v: {}, ("b",), ("stale",))
    with pytest.raises(KeyError, match=r"no component is named \['words'\]"):
        event(panel.components(), lambda v: {}, ("words",), ("a",))


def test_the_pages_gif_and_proof_wait_in_the_model_queue_not_the_small_lane(app):
    from explorer.ui.lanes import SMALL, lane_of

    demo, _, _ = app
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    for name in PAGE_COPIES:
        assert by_name[name].concurrency_id == "model" and lane_of(name, "model", []) != SMALL, name
