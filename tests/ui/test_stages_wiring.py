"""The Stages tab is wired by name (explorer.ui.by_name): every page event takes one dict of its inputs
and returns a dict of components its event lists as outputs. Each event is run here once on a drawn
digit, as Gradio would call it, and what it returns is checked against its event's outputs: a handler
that names a component its event does not list fails here, not silently in the browser."""
import gradio as gr
import pytest
from gradio.blocks import Block
from gradio.events import EventData
from gradio.helpers import special_args
from PIL import Image, ImageDraw

from explorer.drawing import feature_maps as fm
from explorer.ui import kernel_tab, stages_tab
from explorer.ui.by_name import event
from explorer.ui.stages_inspections import inspection_for

STAGE, CHANNEL = 3, 2          # the digit net's second convolution (1-based), one of its channels
SLOW = {"stages_feature", "stages_feature_seed"}     # feature drawings: tests/core/test_features.py


def _sketch() -> dict:
    layer = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line(((80, 60), (300, 60), (160, 330)), fill=(0, 0, 0, 255), width=22)
    return {"background": None, "layers": [layer], "composite": layer}


@pytest.fixture(scope="module")
def page():
    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("Kernel", id="kernel_tab"):
                kernel = kernel_tab.build()
            with gr.Tab("Stages", id="stages_tab"):
                tab = stages_tab.build(kernel=kernel, tabs=tabs)
    return demo, tab


def _scene(tab, sketch) -> dict:
    """A value for every component a Stages event reads: a digit drawn, stage 3, channel 2, a unit chosen."""
    by_name = dict(picture=sketch, model="digits", count="16", scale="shared", stage=STAGE, channel=CHANNEL,
                   shown_stage=STAGE, shown_channel=CHANNEL, unit=[STAGE, CHANNEL, 1, 1], playing=False)
    values = {tab.components()[name]: value for name, value in by_name.items()}
    picture = tab.picture_input
    frame = Image.new("RGB", (160, 120), (200, 120, 40))        # a webcam frame, live
    return values | {picture.sketch: sketch, picture.photo: None, tab.feature.objective: "channel",
                     tab.feature.seed: 0, tab.live.camera: frame, tab.live.last: frame}


def _clicks(tab, sketch) -> dict:
    """Where each select event clicks (pixels of its picture): a stage's cell, a grid cell, a unit."""
    inspection = inspection_for("digits", sketch)
    stage = inspection.stages[STAGE - 1]
    grid = fm.render_grid(stage.activation, "16").layout
    factor = fm.large_factor(stage.output_shape[1:])
    return {tab.strip: [c + 10 for c in fm.overview_layout(len(inspection.stages)).origin(1)],
            tab.grid: [c + 2 for c in grid.origin(0)], tab.large: [factor + 1, factor + 1]}


def _returned(fn, values: dict, click) -> set:
    """Run one event's function as Gradio does (its special arguments filled in) -> the components returned."""
    inputs, *_ = special_args(fn.fn, [{c: values[c] for c in fn.inputs}], None,
                              EventData(None, {"index": click, "value": None}))
    answer = fn.fn(*inputs)
    return set() if answer == gr.skip() else set(answer)


def test_every_stages_event_returns_only_components_its_event_lists(page):
    demo, tab = page
    sketch = _sketch()
    values, clicks = _scene(tab, sketch), _clicks(tab, sketch)
    ran = []
    for fn in demo.fns.values():
        name = str(fn.api_name)
        if not fn.inputs_as_dict or not name.startswith("stages_") or name in SLOW:
            continue
        trigger = next(iter(fn.targets))[0]
        click = clicks.get(next((b for b in demo.blocks.values() if b._id == trigger), None))
        returned = _returned(fn, values, click)
        assert all(isinstance(c, Block) for c in returned), name
        assert returned <= set(fn.outputs), f"{name} returned {returned - set(fn.outputs)}, not in its outputs"
        ran.append(name)
    # the events that change the page on this picture all ran, and changed something
    assert {"stages_after_photo", "stages_step", "stages_count", "stages_jump", "stages_pick_channel",
            "stages_pick_unit", "stages_animate_unit", "stages_channel", "stages_play", "stages_tick",
            "stages_hide_unit", "stages_sketch", "stages_live", "stages_live_keep"} <= set(ran)


def test_animate_fills_the_kernel_tab_and_shows_it(page):
    demo, tab = page
    fn = next(fn for fn in demo.fns.values() if fn.api_name == "stages_animate_unit")
    sketch = _sketch()
    answer = fn.fn({c: v for c, v in _scene(tab, sketch).items() if c in fn.inputs})
    assert set(answer) == set(fn.outputs)                 # every control of the Kernel tab, and the tabs
    tabs = next(c for c in answer if isinstance(c, gr.Tabs))
    assert answer[tabs].selected == "kernel_tab"


def test_a_handler_that_returns_a_component_its_event_does_not_list_fails_naming_it():
    with gr.Blocks():
        a, b, c = gr.Number(), gr.Number(), gr.Number()
    components = dict(a=a, b=b, c=c)
    wired = event(components, lambda v: {"b": v["a"] + 1, "c": 0}, inputs=("a",), outputs=("b",))
    assert wired["inputs"] == {a} and wired["outputs"] == [b]
    with pytest.raises(KeyError, match=r"returned \['c'\], which its event does not list"):
        wired["fn"]({a: 1})
    assert event(components, lambda v: {"b": v["a"] + 1}, ("a",), ("b",))["fn"]({a: 1}) == {b: 2}
    assert event(components, lambda v: {}, ("a",), ("b", "c"))["fn"]({a: 1}) == gr.skip()    # nothing changes
    with pytest.raises(KeyError):
        event(components, lambda v: {}, ("a",), ("d",))           # a name the tab does not have: at build time
