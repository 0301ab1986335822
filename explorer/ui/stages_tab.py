"""The Stages tab: one forward pass of a real CNN on the user's picture, then every Conv and Pool
stage stepped through from the activations kept server-side (no new pass per step).

Top to bottom: the words, the events (stepping through the stages, one unit), the endpoints, then the
page: `layout()` places the components and returns them as a StagesTab, `wire(tab, kernel, tabs)`
connects the events; `build()` does both. The activations the events read are kept by
explorer.ui.stages_inspections; "What does this channel look for?" is explorer.ui.stages_features."""
import weakref
from dataclasses import dataclass

import gradio as gr
import numpy as np
from PIL import Image

from explorer.core.bridge import Unit, arrival_words, describe_unit, explain_unit
from explorer.core.models import DEFAULT_MODEL, Inspection, get_model
from explorer.core.recent import Recent
from explorer.core.state import STORES
from explorer.drawing import feature_maps as fm
from explorer.drawing.unit_drawing import render_unit
from explorer.ui.kernel_tab import PAUSE, PLAY, KernelTab, load_settings, settings_from_unit
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import HINT, MODEL_CHOICES, PictureInput, build_picture_input
from explorer.ui.predictions import as_label, top_five
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.stages_features import FeatureRow, feature_row_layout, visualize_api, wire_feature_row
from explorer.ui.stages_inspections import (
    cached_inspection,
    inspection_for,
    is_sketch,
    picture_image,
    stage_index,
    user_error,
)
from explorer.ui.upload import ImageUpload

TITLE = "Stages"
PLAY_SECONDS = 1.2
COUNT_CHOICES = list(fm.COUNTS)
SCALE_CHOICES = list(fm.SCALES)
OVERLAY_FORMAT = "jpeg"   # a photo: PNG costs ~60 ms to encode here, JPEG ~1 ms
LARGE_HEADING = "**The channel, enlarged**, on its own colour scale (± its largest |value|)"


# --- words --------------------------------------------------------------------------------------

def _shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def stage_text(inspection: Inspection, index: int, grid: fm.FeatureGrid) -> str:
    stage = inspection.stages[index]
    width, height = inspection.seen.size
    rf_h, rf_w = stage.receptive_field
    jump_h, jump_w = stage.jump
    rf = f"{rf_h}×{rf_w}" if rf_h != rf_w else f"{rf_h}×{rf_h}"
    jump = _num(jump_h) if jump_h == jump_w else f"{_num(jump_h)} down, {_num(jump_w)} across"
    wider = (" — wider than the picture itself: border units also see padding"
             if rf_h > height or rf_w > width else "")
    return (
        f"### Stage {index + 1} of {len(inspection.stages)}: `{stage.name}` ({stage.kind})\n"
        f"**Layer:** `{stage.layer}`  \n"
        f"**Shape (channels × height × width):** {_shape(stage.input_shape)} → {_shape(stage.output_shape)}  \n"
        f"**Receptive field:** each unit of this stage sees {rf} pixels of the {width}×{height} input{wider}; "
        f"neighbouring units are {jump} input pixels apart (the jump, the product of the strides so far).  \n"
        f"**Feature maps below:** {grid.legend}."
        + ("  \nA conv stage is its output before the activation that follows it (ReLU and the like are not "
           "stages), so it can be negative; a pooling stage after a ReLU only sees values of 0 or more." if stage.kind == "conv" else "")
    )


UNIT_HINT = "Click any unit of the enlarged channel (or of a grid cell) to see how its number was made."


def channel_text(inspection: Inspection, index: int, channel: int, view: fm.ChannelView,
                 chosen: bool = False) -> str:
    stage = inspection.stages[index]
    ranks = fm.rank_channels(stage.activation)
    rank = int(np.flatnonzero(ranks == channel)[0]) + 1
    mean = float(fm.channel_means(stage.activation)[channel])
    width, height = inspection.seen.size
    left, top, right, bottom = view.box
    outside = left < 0 or top < 0 or right > width or bottom > height
    return (
        f"**Channel {channel}** of `{stage.name}`: rank {rank} of {len(ranks)} by mean activation "
        f"(mean {mean:.3g}; values {view.value_range[0]:.3g} to {view.value_range[1]:.3g}).  \n"
        f"**{'Chosen' if chosen else 'Strongest'} unit:** row {view.unit[0]}, column {view.unit[1]}, value "
        f"{view.value:.3g}. The yellow box is what it sees: input pixels x {_num(left)} to {_num(right)}, "
        f"y {_num(top)} to {_num(bottom)} ({stage.receptive_field[1]}×{stage.receptive_field[0]})"
        + (", partly beyond the picture's edge (padding)." if outside else ".") + f"  \n{UNIT_HINT}"
    )


def stages_summary(inspection: Inspection) -> list[dict]:
    return [{"stage": k + 1, "name": s.name, "kind": s.kind, "layer": s.layer,
             "input_shape": list(s.input_shape), "output_shape": list(s.output_shape),
             "receptive_field": list(s.receptive_field), "jump": list(s.jump)}
            for k, s in enumerate(inspection.stages)]


# --- what each event returns ---------------------------------------------------------------------


def render_stage(inspection: Inspection, stage_no, count, scale, channel=None):
    """Stage text, grid, channel number, channel views and text, all from cached activations."""
    index = stage_index(inspection, stage_no)
    stage = inspection.stages[index]
    grid = fm.render_grid(stage.activation, count, scale)
    if channel is None or not 0 <= int(channel) < stage.output_shape[0]:
        channel = grid.channels[0]
    channel = int(channel)
    view = fm.render_channel(stage, channel, inspection.seen)
    return (stage_text(inspection, index, grid), grid.image, channel, view.large, view.overlay,
            channel_text(inspection, index, channel, view))


def _label_title(model_title: str | None = None) -> str:
    return f"**Top-5 predictions of {model_title}**" if model_title else "**Top-5 predictions**"


def _empty(message: str):
    """No picture: no predictions, no stage slider (there are no stages yet), the hint."""
    return (gr.Markdown(visible=False), None, gr.Slider(value=1), f"### {message}",
            None, None, None, None, None, "", None, None, gr.Row(visible=False), _label_title())


def on_new_picture(picture, model_name, count, scale):
    """A new picture or model: one forward pass, then everything for stage 1."""
    if picture is None:
        return _empty(HINT)
    try:
        inspection = inspection_for(model_name, picture)
    except ValueError as error:
        if is_sketch(picture):  # an emptied canvas is a state, not a mistake
            return _empty(f"{error}. {HINT}")
        raise user_error(error)
    model, note = get_model(model_name)
    return (gr.Markdown(note, visible=bool(note)), as_label(inspection.predictions),
            gr.Slider(value=1, minimum=1, maximum=len(inspection.stages), step=1),
            *_stage_only(inspection, 1, count, scale, None), gr.Row(visible=True), _label_title(model.display_name))


# The overview strip of each recent inspection, drawn once; each stage change only frames its cell.
_STRIPS = STORES.register("stages.strips", Recent(max_entries=8), "drawn feature-map strips of cached inspections")


def overview_strip(inspection: Inspection, stage_no) -> Image.Image:
    found = _STRIPS.get(id(inspection))
    if found is None or found[0]() is not inspection:      # an id can be reused once an inspection is gone
        found = (weakref.ref(inspection), *fm.overview_indices(inspection.stages))
        _STRIPS.put(id(inspection), found)
    _, indices, layout = found
    return fm.to_image(fm.mark_cell(indices, layout, stage_index(inspection, stage_no)))


def _stage_only(inspection, stage_no, count, scale, channel):
    """The views: stage text, grid, strip, the channel box, its pictures and words, the channel shown
    and the stage shown (1-based)."""
    text, grid, channel, large, overlay, words = render_stage(inspection, stage_no, count, scale, channel)
    shown_stage = stage_index(inspection, stage_no) + 1
    return text, grid, overview_strip(inspection, stage_no), channel, large, overlay, words, channel, shown_stage


def on_stage(picture, model_name, stage_no, count, scale, channel=None):
    return _stage_only(cached_inspection(picture, model_name), stage_no, count, scale, channel)


VIEWS = 9       # what _stage_only returns


def on_stage_typed(picture, model_name, typed, count, scale, shown_stage=None):
    """The slider moved, or a number typed in its box. It arrives unchecked (preprocess=False): a stage
    that does not exist gets one warning and the box goes back to the stage shown, where Gradio's own
    range check would leave the bad number in the box."""
    inspection = cached_inspection(picture, model_name)
    last = len(inspection.stages)
    whole = isinstance(typed, (int, float)) and not isinstance(typed, bool) and float(typed).is_integer()
    if not whole or not 1 <= typed <= last:
        what = "no number was given" if typed is None else f"{typed!r} does not exist"
        gr.Warning(f"Stage: {what}; this model has stages 1 to {last}."
                   + (f" Still showing stage {shown_stage}." if shown_stage else ""), title="Cannot use this")
        return (shown_stage if shown_stage else gr.skip(), *(gr.skip(),) * VIEWS)
    return (gr.skip(), *_stage_only(inspection, int(typed), count, scale, None))


def on_channel(picture, model_name, stage_no, channel, shown=None):
    """The channel typed in the box; one that does not exist gets a warning, and the box goes back to the
    channel still shown (`shown`)."""
    inspection = cached_inspection(picture, model_name)
    index = stage_index(inspection, stage_no)
    try:
        view = fm.render_channel(inspection.stages[index], int(channel or 0), inspection.seen)
    except ValueError as error:
        gr.Warning(f"{error}. Still showing channel {shown}." if shown is not None else str(error),
                   title="Cannot use this")
        return gr.skip(), gr.skip(), gr.skip(), shown, gr.skip()
    channel = int(channel or 0)
    return view.large, view.overlay, channel_text(inspection, index, channel, view), gr.skip(), channel


# --- one unit: how its number was made -----------------------------------------------------------

UNIT_OUTPUTS = 8     # large, overlay, channel words, the unit, the panel, its words, its picture, animate


def explain_shown_unit(inspection: Inspection, stage_no, channel, row, col) -> Unit:
    """The unit's explanation from the cached inspection (no forward pass); gr.Error on bad input."""
    try:
        return explain_unit(None, inspection, stage_index(inspection, stage_no), channel, row, col)
    except ValueError as error:
        raise user_error(error)


def on_unit(picture, model_name, stage_no, channel, row, col):
    """The channel with the unit framed and its box drawn, and the panel "How this number was made"."""
    inspection = cached_inspection(picture, model_name)
    index = stage_index(inspection, stage_no)
    u = explain_shown_unit(inspection, stage_no, channel, row, col)
    view = fm.render_channel(inspection.stages[index], u.channel, inspection.seen, unit=(u.row, u.col))
    try:
        u.kernel_tab()
        animate = gr.Button("Animate this in the Kernel tab", visible=True, interactive=True)
    except ValueError as error:
        animate = gr.Button(f"Not in the Kernel tab: {error}"[:120], visible=True, interactive=False)
    return (view.large, view.overlay, channel_text(inspection, index, u.channel, view, chosen=True),
            [index + 1, u.channel, u.row, u.col], gr.Column(visible=True), describe_unit(u), render_unit(u), animate)


def on_large_click(picture, model_name, stage_no, channel, evt: gr.SelectData):
    inspection = cached_inspection(picture, model_name)
    stage = inspection.stages[stage_index(inspection, stage_no)]
    found = fm.unit_in_large(stage.output_shape, *evt.index)
    if found is None:
        return (gr.skip(),) * UNIT_OUTPUTS
    return on_unit(picture, model_name, stage_no, int(channel or 0), *found)


def on_grid_click(picture, model_name, stage_no, count, evt: gr.SelectData):
    inspection = cached_inspection(picture, model_name)
    index = stage_index(inspection, stage_no)
    x, y = evt.index
    found = fm.unit_at(inspection.stages[index].activation, count, x, y)
    if found is None:
        return (gr.skip(),) * (2 + UNIT_OUTPUTS)
    return (found[0], found[0], *on_unit(picture, model_name, stage_no, *found))


def on_hide_unit():
    return gr.Column(visible=False), None


def on_animate(picture, model_name, unit):
    """The unit's strongest input channel, kernel slice, stride and dilation in the Kernel tab, at the
    unit's position, and the Kernel tab shown."""
    if not unit:
        raise gr.Error("Click a unit of the enlarged channel first.", title="No unit chosen")
    u = explain_shown_unit(cached_inspection(picture, model_name), *unit)
    model, _ = get_model(model_name)
    try:
        settings = settings_from_unit(u.kernel_tab(), arrival_words(u, model.display_name))
    except ValueError as error:
        raise user_error(error)
    # load_settings also sets the preset box: it says the numbers came from the Stages tab
    return (*load_settings(settings), gr.Tabs(selected="kernel_tab"))


def on_overview_click(picture, model_name, count, scale, evt: gr.SelectData):
    inspection = cached_inspection(picture, model_name)
    k = fm.overview_layout(len(inspection.stages)).cell_at(*evt.index)
    if k is None:
        return (gr.skip(),) * (1 + VIEWS)
    return (k + 1, *on_stage(picture, model_name, k + 1, count, scale))


def on_play(playing, picture, model_name, stage_no):
    """Play from the current stage (from the first when at the end), or pause."""
    if playing:
        return False, gr.Timer(active=False), gr.Button(value=PLAY), gr.skip()
    if picture is None:
        raise gr.Error(HINT.replace("**", ""), title="No picture yet")
    last = len(cached_inspection(picture, model_name).stages)
    start = 1 if int(stage_no or 1) >= last else gr.skip()
    return True, gr.Timer(active=True), gr.Button(value=PAUSE), start


def on_tick(picture, model_name, stage_no, count, scale):
    inspection = cached_inspection(picture, model_name)
    following = int(stage_no or 1) + 1
    if following > len(inspection.stages):
        return (False, gr.Timer(active=False), gr.Button(value=PLAY), gr.skip(),
                *(gr.skip(),) * VIEWS)
    return (gr.skip(), gr.skip(), gr.skip(), following,
            *_stage_only(inspection, following, count, scale, None))


# --- API endpoints --------------------------------------------------------------------------------

def predict_api(image, model_name):
    """Top-5 labels with probabilities for an image file and a model name."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    try:
        return as_label(top_five(model_name or DEFAULT_MODEL, picture_image(image)))
    except ValueError as error:
        raise user_error(error)


def unit_api(image, model_name, stage, channel, row, col):
    """How one unit was computed: JSON (window, kernel, partial sums, bias, total, PyTorch's value, the
    steps after it, ...) and the panel's picture. stage: 0-based index or name; channel, row, col: 0-based."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    inspection = cached_inspection(image, model_name or DEFAULT_MODEL)
    stage = stage.strip() if isinstance(stage, str) else stage
    try:
        u = explain_unit(None, inspection, stage, channel, row, col)
    except ValueError as error:
        raise user_error(error)
    return u.as_dict() | {"words": describe_unit(u)}, render_unit(u)


def stages_api(image, model_name):
    """Every Conv and Pool stage (name, kind, layer, shapes, receptive field, jump) and stage 1's grid."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    inspection = cached_inspection(image, model_name or DEFAULT_MODEL)
    return stages_summary(inspection), fm.render_grid(inspection.stages[0].activation).image


# --- the page: layout -----------------------------------------------------------------------------

@dataclass
class UnitPanel:
    """"How this number was made", hidden until a unit is clicked."""
    panel: gr.Column
    words: gr.Markdown
    picture: gr.Image
    animate: gr.Button          # the unit's numbers into the Kernel tab


@dataclass
class StagesApi:
    """The hidden inputs and outputs of /predict, /stages, /unit and /visualize."""
    image: ImageUpload
    model: gr.Dropdown
    summary: gr.JSON
    predict: gr.Button
    stages: gr.Button
    unit_inputs: list           # stage, channel, row, col
    unit_outputs: list          # the unit's numbers, its picture
    unit: gr.Button
    feature_inputs: list        # model, stage, channel, objective, seed, steps
    feature_outputs: list       # the picture, its numbers
    visualize: gr.Button


@dataclass
class StagesTab:
    picture: PictureInput
    note: gr.Markdown
    label_title: gr.Markdown
    label: gr.Label
    strip: gr.Image             # every stage's strongest channel; click one to jump to it
    stage_row: gr.Row           # shown once there are stages
    stage: SliderInput
    play: gr.Button
    stage_md: gr.Markdown
    count: gr.Radio
    scale: gr.Radio
    grid: gr.Image
    channel: NumberInput
    channel_md: gr.Markdown
    large: gr.Image
    overlay: gr.Image
    unit_panel: UnitPanel
    feature: FeatureRow
    api: StagesApi
    playing: gr.State
    timer: gr.Timer
    shown_channel: gr.State     # the channel the pictures show, for the box to go back to
    shown_stage: gr.State
    unit: gr.State              # [stage, channel, row, col] of the unit explained

    def views(self) -> list:
        """What _stage_only returns, in its order."""
        return [self.stage_md, self.grid, self.strip, self.channel, self.large, self.overlay, self.channel_md,
                self.shown_channel, self.shown_stage]

    def unit_views(self) -> list:
        """What on_unit returns, in its order."""
        p = self.unit_panel
        return [self.large, self.overlay, self.channel_md, self.unit, p.panel, p.words, p.picture, p.animate]


def _unit_panel() -> UnitPanel:
    with gr.Column(visible=False, elem_id="stages-unit") as panel:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                words = gr.Markdown(elem_id="stages-unit-words")
                animate = gr.Button("Animate this in the Kernel tab", variant="primary", elem_id="stages-animate")
            with gr.Column(scale=3):
                gr.Markdown("**The strongest input channels:** the window each reads, its kernel slice, "
                            "their products and the partial sum")
                picture = gr.Image(label="How this number was made", show_label=False, format="png",
                                   interactive=False, elem_id="stages-unit-picture")
    return UnitPanel(panel, words, picture, animate)


def _picture_column() -> dict:
    """The picture, the model and its top-5 classes."""
    with gr.Column(scale=2, min_width=320):
        picture = build_picture_input("stages")
        note = gr.Markdown(visible=False, elem_id="stages-note")
        # the title in its own Markdown: a long model name wraps there instead of over the top class
        label_title = gr.Markdown(_label_title(), elem_id="stages-label-title")
        label = gr.Label(num_top_classes=5, label="Top-5 predictions", show_label=False, elem_id="stages-label")
    return dict(picture=picture, note=note, label_title=label_title, label=label)


def _stages_column() -> dict:
    """The strip of all stages, the stage slider and Play, the stage's words and its feature maps."""
    with gr.Column(scale=5):
        gr.Markdown("#### All stages, in the order the network runs them: each shows its strongest channel; "
                    "click one to jump to it")
        # no buttons: they would sit on the first row's last thumbnails
        strip = gr.Image(label="All stages", show_label=False, format="png", interactive=False,
                         buttons=[], elem_id="stages-overview")
        with gr.Row(equal_height=True, visible=False) as stage_row:
            stage = SliderInput(1, 2, value=1, step=1, label="Stage", scale=5)
            play = gr.Button(PLAY, scale=1, min_width=100, elem_id="stages-play")
        stage_md = gr.Markdown(f"### {HINT}")
        with gr.Row():
            count = gr.Radio(COUNT_CHOICES, value="16", label="Channels shown (strongest mean first)")
            scale = gr.Radio(SCALE_CHOICES, value="shared", label="Colour scale")
        gr.Markdown("#### Feature maps of this stage: #rank and channel number above each; click one to open it below")
        grid = gr.Image(label="Feature maps", show_label=False, format="png", interactive=False,
                        buttons=["download", "fullscreen"], elem_id="stages-grid")
        # On a phone the grid fills the width and its buttons would cover the top-right cell.
        gr.HTML("<style>#stages-style {display: none} @media (max-width: 700px) "
                "{#stages-grid .icon-button-wrapper {display: none}}</style>", elem_id="stages-style")
    return dict(strip=strip, stage_row=stage_row, stage=stage, play=play, stage_md=stage_md, count=count,
                scale=scale, grid=grid)


def _channel_row() -> dict:
    """One channel: its number and words, enlarged, and over the picture the model saw."""
    gr.Markdown("### One channel, and where its strongest unit looks")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=200):
            channel = NumberInput(value=0, precision=0, minimum=0, label="Channel", elem_id="stages-channel")
            channel_md = gr.Markdown()
        with gr.Column(scale=2):
            gr.Markdown(LARGE_HEADING)
            large = gr.Image(label="The channel, enlarged", show_label=False, format="png", interactive=False,
                             elem_id="stages-large")
        with gr.Column(scale=2):
            gr.Markdown("**Over the picture the model saw:** the channel's colours (more opaque where stronger); "
                        "the yellow box is what its strongest unit (yellow dot) sees")
            overlay = gr.Image(label="The channel over the picture", show_label=False, format=OVERLAY_FORMAT,
                               interactive=False, elem_id="stages-overlay")
    return dict(channel=channel, channel_md=channel_md, large=large, overlay=overlay)


def _api_layout() -> StagesApi:
    """API-only inputs: an image file and a model name (gradio_client: handle_file(path), "resnet18")."""
    with gr.Group(visible=False):
        image = ImageUpload(type="filepath", image_mode=None, label="image")
        model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model")
        summary = gr.JSON(label="stages")
        predict, stages = gr.Button("predict"), gr.Button("stages")
        unit_inputs = [gr.Textbox(label="stage")] + [gr.Number(label=name, precision=0)
                                                      for name in ("channel", "row", "col")]
        unit_outputs = [gr.JSON(label="unit"), gr.Image(label="unit picture", format="png")]
        unit = gr.Button("unit")
        feature_inputs = [gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model"),
                          gr.Textbox(label="stage"), gr.Number(label="channel", precision=0),
                          gr.Textbox(value="channel", label="objective"), gr.Number(0, label="seed", precision=0),
                          gr.Number(None, label="steps", precision=0)]
        feature_outputs = [gr.Image(label="feature picture", format="png"), gr.JSON(label="feature")]
        visualize = gr.Button("visualize")
    return StagesApi(image, model, summary, predict, stages, unit_inputs, unit_outputs, unit, feature_inputs,
                     feature_outputs, visualize)


def layout() -> StagesTab:
    """Places the tab's components in the current layout context and returns them."""
    gr.Markdown(
        "A CNN turns a picture into a stack of **stages**. Each convolution (conv) slides its kernels over "
        "the previous stage and gives one **feature map** per kernel (a channel); each pooling stage shrinks "
        "them. Give the network a picture, then step through every stage and see what it computed."
    )
    with gr.Row(equal_height=False):
        picture_side = _picture_column()
        stages_side = _stages_column()
    channel_side = _channel_row()
    unit_panel, feature = _unit_panel(), feature_row_layout()
    return StagesTab(**picture_side, **stages_side, **channel_side, unit_panel=unit_panel, feature=feature,
                     playing=gr.State(False), timer=gr.Timer(PLAY_SECONDS, active=False),
                     shown_channel=gr.State(None), shown_stage=gr.State(None), unit=gr.State(None),
                     api=_api_layout())


# --- the page: wiring -----------------------------------------------------------------------------

QUIET = dict(api_visibility="private", show_progress="hidden")


def _wire_stepping(tab: StagesTab) -> None:
    """A new picture or model, a stage typed or jumped to, another count or colour scale."""
    shown = [tab.picture.picture, tab.picture.model]
    tab.picture.on_new_input(on_new_picture, shown + [tab.count, tab.scale],
                             [tab.note, tab.label, tab.stage] + tab.views() + [tab.stage_row, tab.label_title],
                             show_progress="minimal", **MODEL_QUEUE)
    tab.stage.input(on_stage_typed, shown + [tab.stage, tab.count, tab.scale, tab.shown_stage],
                    [tab.stage] + tab.views(), preprocess=False,
                    api_name="stages_step", trigger_mode="always_last", **QUIET)
    for control, name in ((tab.count, "stages_count"), (tab.scale, "stages_scale")):
        control.input(on_stage, shown + [tab.stage, tab.count, tab.scale, tab.channel], tab.views(), api_name=name,
                      **QUIET)
    tab.strip.select(on_overview_click, shown + [tab.count, tab.scale], [tab.stage] + tab.views(),
                     api_name="stages_jump", **QUIET)


def _wire_unit(tab: StagesTab, kernel: KernelTab, tabs: gr.Tabs) -> None:
    """A channel or a unit clicked, and "Animate this" filling the Kernel tab."""
    shown = [tab.picture.picture, tab.picture.model]
    tab.grid.select(on_grid_click, shown + [tab.stage, tab.count], [tab.channel, tab.shown_channel] + tab.unit_views(),
                    api_name="stages_pick_channel", **QUIET)
    tab.large.select(on_large_click, shown + [tab.stage, tab.channel], tab.unit_views(),
                     api_name="stages_pick_unit", **QUIET)
    tab.unit_panel.animate.click(on_animate, shown + [tab.unit], kernel.controls + [tabs],
                                 api_name="stages_animate_unit", **QUIET).then(
        None, js="() => window.scrollTo({top: 0})")      # the Kernel tab opens at its top, not at the panel's height


def _wire_channel(tab: StagesTab) -> None:
    """Another picture, stage or channel hides the unit explained (no longer on screen); a channel typed."""
    picture = tab.picture
    gr.on([picture.picture.change, picture.model.change, tab.stage.input, tab.strip.select, tab.channel.input,
           tab.timer.tick], on_hide_unit, None, [tab.unit_panel.panel, tab.unit], api_name="stages_hide_unit", **QUIET)
    tab.channel.input(on_channel, [picture.picture, picture.model, tab.stage, tab.channel, tab.shown_channel],
                      [tab.large, tab.overlay, tab.channel_md, tab.channel, tab.shown_channel],
                      api_name="stages_channel", trigger_mode="always_last", **QUIET)


def _wire_play(tab: StagesTab) -> None:
    shown = [tab.picture.picture, tab.picture.model]
    playing = [tab.playing, tab.timer, tab.play, tab.stage]
    tab.play.click(on_play, [tab.playing] + shown + [tab.stage], playing, api_name="stages_play", **QUIET)
    tab.timer.tick(on_tick, shown + [tab.stage, tab.count, tab.scale], playing + tab.views(), api_name="stages_tick",
                   **QUIET)


def _wire_api(tab: StagesTab) -> None:
    api = tab.api
    api.predict.click(predict_api, [api.image, api.model], tab.label, api_name="predict", **MODEL_QUEUE)
    api.stages.click(stages_api, [api.image, api.model], [api.summary, tab.grid], api_name="stages", **MODEL_QUEUE)
    api.visualize.click(visualize_api, api.feature_inputs, api.feature_outputs, api_name="visualize",
                        concurrency_id="features", concurrency_limit=1)
    api.unit.click(unit_api, [api.image, api.model] + api.unit_inputs, api.unit_outputs, api_name="unit",
                   **MODEL_QUEUE)


def wire(tab: StagesTab, kernel: KernelTab, tabs: gr.Tabs) -> None:
    """Connects the tab's events and endpoints; "Animate this" fills `kernel` and selects its tab in `tabs`."""
    _wire_stepping(tab)
    _wire_unit(tab, kernel, tabs)
    wire_feature_row(tab.feature, [tab.picture.picture, tab.picture.model, tab.stage, tab.channel])
    _wire_channel(tab)
    _wire_play(tab)
    _wire_api(tab)


def build(kernel: KernelTab, tabs: gr.Tabs) -> StagesTab:
    tab = layout()
    wire(tab, kernel, tabs)
    return tab
