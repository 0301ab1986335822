"""The Stages tab: one forward pass of a real CNN on the user's picture, then every Conv and Pool
stage stepped through from the activations kept server-side (no new pass per step)."""
import threading
import weakref

import gradio as gr
import numpy as np
from PIL import Image

from explorer.drawing import feature_maps as fm
from explorer.core import budgets, features
import explorer.ui.kernel_tab as kernel_tab
from explorer.ui.kernel_tab import KernelTab
from explorer.core.bridge import Unit, arrival_words, describe_unit, explain_unit
from explorer.core.gpu import MODEL_QUEUE, gpu, reporter, reporting, slot_seconds
from explorer.ui.gradio_patches import abandoned
from explorer.core.images import is_blank, load_image
from explorer.core.models import DEFAULT_MODEL, Inspection, get_model
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import MODEL_CHOICES, build_picture_input
from explorer.core.recent import Recent, picture_key
from explorer.drawing.unit_drawing import render_unit
from explorer.ui.upload import ImageUpload
from explorer.core.state import STORES

TITLE = "Stages"
PLAY_SECONDS = 1.2
COUNT_CHOICES = list(fm.COUNTS)
SCALE_CHOICES = list(fm.SCALES)
OVERLAY_FORMAT = "jpeg"   # a photo: PNG costs ~60 ms to encode here, JPEG ~1 ms
HINT = "Upload, paste or snap a photo, click an example, or draw on the **Draw** tab."
LARGE_HEADING = "**The channel, enlarged**, on its own colour scale (± its largest |value|)"


# --- activations kept per picture ---------------------------------------------------------------

def inspection_bytes(inspection: Inspection) -> int:
    """The memory an inspection's activations and layer inputs hold: each storage once, whole (a view
    keeps all of the tensor it was cut from)."""
    storages = {}
    for stage in inspection.stages:
        for tensor in (stage.activation, stage.input):
            if tensor is not None:
                storage = tensor.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


# Every event of a session sends the same picture and model, so stepping finds its activations here.
# 256 MB: two VGG-16 inspections, or dozens of the smaller models'.
CACHE = STORES.register("stages.inspections", Recent(max_entries=8, max_bytes=256 * 2**20, size_of=inspection_bytes),
                        "the last inspections (picture, model): a picture everyone tries is run once")


def _is_sketch(picture) -> bool:
    return isinstance(picture, dict) and ("composite" in picture or "layers" in picture)


def _image(picture) -> Image.Image:
    """The user's picture as RGB; ValueError with the reason when it cannot be used."""
    image = load_image(picture)
    if _is_sketch(picture) and is_blank(image):
        raise ValueError("sketch: the canvas is empty: draw a digit (or anything) first")
    return image


def _one_pass(model_name: str, *args, **kwargs) -> int:
    return slot_seconds(model_name)


@gpu(duration=_one_pass)
def _inspect(model_name: str, image: Image.Image) -> Inspection:
    model, _ = get_model(model_name)
    return model.inspect(image)


@gpu(duration=_one_pass)
def _predict(model_name: str, image: Image.Image) -> list[tuple[str, float]]:
    model, _ = get_model(model_name)
    return model.predict(image, k=5)


def inspection_for(model_name: str, picture) -> Inspection:
    """The picture's inspection: from the cache, else one forward pass (ValueError on bad input)."""
    key = (model_name, picture_key(picture))
    found = CACHE.get(key)
    if found is None:
        found = _inspect(model_name, _image(picture))
        CACHE.put(key, found)
    return found


def _user_error(error: Exception) -> gr.Error:
    return gr.Error(str(error), title="Cannot use this")


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

def _stage_index(inspection: Inspection, stage_no) -> int:
    return min(max(int(stage_no or 1), 1), len(inspection.stages)) - 1


def render_stage(inspection: Inspection, stage_no, count, scale, channel=None):
    """Stage text, grid, channel number, channel views and text, all from cached activations."""
    index = _stage_index(inspection, stage_no)
    stage = inspection.stages[index]
    grid = fm.render_grid(stage.activation, count, scale)
    if channel is None or not 0 <= int(channel) < stage.output_shape[0]:
        channel = grid.channels[0]
    channel = int(channel)
    view = fm.render_channel(stage, channel, inspection.seen)
    return (stage_text(inspection, index, grid), grid.image, channel, view.large, view.overlay,
            channel_text(inspection, index, channel, view))


def _labels(predictions) -> dict:
    return {label: probability for label, probability in predictions}


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
        if _is_sketch(picture):  # an emptied canvas is a state, not a mistake
            return _empty(f"{error}. {HINT}")
        raise _user_error(error)
    model, note = get_model(model_name)
    return (gr.Markdown(note, visible=bool(note)), _labels(inspection.predictions),
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
    return fm.to_image(fm.mark_cell(indices, layout, _stage_index(inspection, stage_no)))


def _stage_only(inspection, stage_no, count, scale, channel):
    """The views: stage text, grid, strip, the channel box, its pictures and words, the channel shown
    and the stage shown (1-based)."""
    text, grid, channel, large, overlay, words = render_stage(inspection, stage_no, count, scale, channel)
    shown_stage = _stage_index(inspection, stage_no) + 1
    return text, grid, overview_strip(inspection, stage_no), channel, large, overlay, words, channel, shown_stage


def _cached(picture, model_name) -> Inspection:
    if picture is None:
        raise gr.Error(HINT.replace("**", ""), title="No picture yet")
    try:
        return inspection_for(model_name, picture)
    except ValueError as error:
        raise _user_error(error)


def on_stage(picture, model_name, stage_no, count, scale, channel=None):
    return _stage_only(_cached(picture, model_name), stage_no, count, scale, channel)


VIEWS = 9       # what _stage_only returns


def on_stage_typed(picture, model_name, typed, count, scale, shown_stage=None):
    """The slider moved, or a number typed in its box. It arrives unchecked (preprocess=False): a stage
    that does not exist gets one warning and the box goes back to the stage shown, where Gradio's own
    range check would leave the bad number in the box."""
    inspection = _cached(picture, model_name)
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
    inspection = _cached(picture, model_name)
    index = _stage_index(inspection, stage_no)
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
        return explain_unit(None, inspection, _stage_index(inspection, stage_no), channel, row, col)
    except ValueError as error:
        raise _user_error(error)


def on_unit(picture, model_name, stage_no, channel, row, col):
    """The channel with the unit framed and its box drawn, and the panel "How this number was made"."""
    inspection = _cached(picture, model_name)
    index = _stage_index(inspection, stage_no)
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
    inspection = _cached(picture, model_name)
    stage = inspection.stages[_stage_index(inspection, stage_no)]
    found = fm.unit_in_large(stage.output_shape, *evt.index)
    if found is None:
        return (gr.skip(),) * UNIT_OUTPUTS
    return on_unit(picture, model_name, stage_no, int(channel or 0), *found)


def on_grid_click(picture, model_name, stage_no, count, evt: gr.SelectData):
    inspection = _cached(picture, model_name)
    index = _stage_index(inspection, stage_no)
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
    u = explain_shown_unit(_cached(picture, model_name), *unit)
    model, _ = get_model(model_name)
    try:
        settings = kernel_tab.settings_from_unit(u.kernel_tab(), arrival_words(u, model.display_name))
    except ValueError as error:
        raise _user_error(error)
    # load_settings also sets the preset box: it says the numbers came from the Stages tab
    return (*kernel_tab.load_settings(settings), gr.Tabs(selected="kernel_tab"))


def on_overview_click(picture, model_name, count, scale, evt: gr.SelectData):
    inspection = _cached(picture, model_name)
    k = fm.overview_layout(len(inspection.stages)).cell_at(*evt.index)
    if k is None:
        return (gr.skip(),) * (1 + VIEWS)
    return (k + 1, *on_stage(picture, model_name, k + 1, count, scale))


def on_play(playing, picture, model_name, stage_no):
    """Play from the current stage (from the first when at the end), or pause."""
    if playing:
        return False, gr.Timer(active=False), gr.Button(value=kernel_tab.PLAY), gr.skip()
    if picture is None:
        raise gr.Error(HINT.replace("**", ""), title="No picture yet")
    last = len(_cached(picture, model_name).stages)
    start = 1 if int(stage_no or 1) >= last else gr.skip()
    return True, gr.Timer(active=True), gr.Button(value=kernel_tab.PAUSE), start


def on_tick(picture, model_name, stage_no, count, scale):
    inspection = _cached(picture, model_name)
    following = int(stage_no or 1) + 1
    if following > len(inspection.stages):
        return (False, gr.Timer(active=False), gr.Button(value=kernel_tab.PLAY), gr.skip(),
                *(gr.skip(),) * VIEWS)
    return (gr.skip(), gr.skip(), gr.skip(), following,
            *_stage_only(inspection, following, count, scale, None))


# --- what a channel looks for: feature visualisation ------------------------------------------------

FEATURE_OBJECTIVES = [("the channel (its mean)", "channel"), ("its centre unit", "unit"),
                      ("the picture's top-1 class", "class")]
# one Cancel flag per session, bounded: a session that never comes back is forgotten
_FEATURE_STOPS = STORES.register("stages.feature_stops", Recent(max_entries=256), "a Cancel flag per session",
                                 forget=lambda session: _FEATURE_STOPS.drop_where(lambda key: key == session))


class Stop(RuntimeError):
    """Raised by the progress callback when the visitor pressed Cancel."""


def _stop_flag(request: gr.Request | None) -> threading.Event:
    key = getattr(request, "session_hash", None) or "api"
    return _FEATURE_STOPS.get_or_compute(key, threading.Event)


def _visualize_seconds(model_name: str, stage, channel, objective: str, seed, steps, job=None) -> int:
    try:
        passes = float(steps) if steps else features.DEFAULT_STEPS[1]   # on a GPU the default is the most
    except (TypeError, ValueError):   # refused inside, with its message
        passes = 1
    return slot_seconds(model_name, passes)


@gpu(duration=lambda model_name, *args, **kwargs: slot_seconds(model_name))
def _default_steps(model_name: str, stage, objective: str) -> int:
    """visualize's default steps here (finding the stage's cost traces the model once: one pass)."""
    return features.default_steps(get_model(model_name)[0], stage, objective=objective)


@gpu(duration=_visualize_seconds)
def _visualize(model_name: str, stage, channel: int, objective: str, seed: int, steps, job=None):
    model, _ = get_model(model_name)
    return features.visualize(model, stage, channel, objective=objective, seed=seed, steps=steps,
                              progress=reporter(job))


@gpu(duration=_one_pass)
def _activation(model_name: str, stage: int, target: int, image: Image.Image, objective: str) -> float:
    model, _ = get_model(model_name)
    return features.activation_of(model, stage, target, image, objective)


def _feature_target(inspection: Inspection, model, index: int, channel, objective: str) -> tuple[int, str]:
    """The channel (or class index) the objective reads, and what it is in words."""
    stage = inspection.stages[index]
    if objective == "class":
        label = inspection.predictions[0][0]
        return model.labels.index(label), f"the logit of class “{label}” (your picture's top-1)"
    if objective == "unit":
        _, h, w = stage.output_shape
        return int(channel), f"the centre unit (row {h // 2}, column {w // 2}) of channel {int(channel)} of `{stage.name}`"
    return int(channel), f"the mean of channel {int(channel)} of `{stage.name}`"


def on_feature(picture, model_name, stage_no, channel, objective, seed, request: gr.Request = None,
               progress=gr.Progress()):
    """The picture that excites the channel shown (or its centre unit, or the top-1 class) most, and the
    objective on it beside the objective on the learner's own picture."""
    inspection = _cached(picture, model_name)
    index = _stage_index(inspection, stage_no)
    model, _ = get_model(model_name)
    flag = _stop_flag(request)
    flag.clear()
    try:
        target, what = _feature_target(inspection, model, index, channel or 0, objective)

        def report(fraction: float) -> None:
            if flag.is_set() or abandoned(request):      # Cancel pressed, or nobody waits any more
                raise Stop("cancelled")
            progress(fraction, desc="drawing: step by step, the objective rising")

        with reporting(report) as job:
            v = _visualize(model_name, index, target, objective, int(seed or 0), None, job)
        yours = _activation(model_name, index, target, _image(picture), objective)
    except Stop:
        raise gr.Error("Stopped: press the button to draw it again.", title="Cancelled")
    except ValueError as error:
        raise _user_error(error)
    times = f" ({v.activation / yours:.1f}× yours)" if yours > 0 and v.activation > 0 else ""
    words = (f"**Excites {what}** (stage {index + 1}, {model.display_name}).  \n"
             f"**This picture: {v.activation:.3g}; yours: {yours:.3g}**{times}.  \n"
             f"{v.steps} steps of gradient ascent from seed {v.seed}: the objective went from "
             f"{v.objective[0]:.3g} to {v.objective[-1]:.3g} (on randomly shifted, scaled and turned copies); "
             f"{v.seconds:.1f} s. Another seed draws another picture of the same feature.")
    return _shown_large(v.image), words, int(seed or 0)


def _shown_large(image: Image.Image, side: int = 280) -> Image.Image:
    """A small picture (the digit model's 28x28) enlarged by a whole factor, its pixels kept sharp."""
    factor = side // max(image.size)
    return image if factor < 2 else image.resize((image.width * factor, image.height * factor),
                                                 Image.Resampling.NEAREST)


def on_feature_seed(picture, model_name, stage_no, channel, objective, seed, request: gr.Request = None,
                    progress=gr.Progress()):
    return on_feature(picture, model_name, stage_no, channel, objective, int(seed or 0) + 1, request, progress)


def on_feature_cancel(request: gr.Request):
    _stop_flag(request).set()


# --- API endpoints --------------------------------------------------------------------------------

def predict_api(image, model_name):
    """Top-5 labels with probabilities for an image file and a model name."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    try:
        return _labels(_predict(model_name or DEFAULT_MODEL, _image(image)))
    except ValueError as error:
        raise _user_error(error)


def unit_api(image, model_name, stage, channel, row, col):
    """How one unit was computed: JSON (window, kernel, partial sums, bias, total, PyTorch's value, the
    steps after it, ...) and the panel's picture. stage: 0-based index or name; channel, row, col: 0-based."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    inspection = _cached(image, model_name or DEFAULT_MODEL)
    stage = stage.strip() if isinstance(stage, str) else stage
    try:
        u = explain_unit(None, inspection, stage, channel, row, col)
    except ValueError as error:
        raise _user_error(error)
    return u.as_dict() | {"words": describe_unit(u)}, render_unit(u)


def visualize_api(model_name, stage, channel, objective, seed, steps):
    """The picture that excites a stage's channel (or its centre unit, or a class logit: then `channel`
    is the class index and `stage` is ignored): the picture and the numbers (objective per step, the
    objective on the picture, seconds). stage: 0-based index or name."""
    stage = stage.strip() if isinstance(stage, str) else stage
    stage = int(stage) if isinstance(stage, str) and stage.lstrip("-").isdigit() else stage
    model_name, objective = model_name or DEFAULT_MODEL, objective or "channel"
    steps = None if steps in (None, "") else steps
    try:
        if steps is not None:         # a budget: one visitor cannot hold the queue for long
            budgets.check_visualize_steps(steps, _default_steps(model_name, stage, objective))
        v = _visualize(model_name, stage, channel, objective, int(seed or 0), steps)
    except ValueError as error:
        raise _user_error(error)
    return v.image, {"stage": v.stage, "stage_index": v.stage_index, "channel": v.channel,
                     "objective_name": v.objective_name, "seed": v.seed, "steps": v.steps, "size": v.size,
                     "objective": v.objective, "activation": v.activation, "seconds": v.seconds}


def stages_api(image, model_name):
    """Every Conv and Pool stage (name, kind, layer, shapes, receptive field, jump) and stage 1's grid."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    inspection = _cached(image, model_name or DEFAULT_MODEL)
    return stages_summary(inspection), fm.render_grid(inspection.stages[0].activation).image


# --- layout ---------------------------------------------------------------------------------------

def _feature_row() -> dict:
    """"What does this channel look for?": the controls, the picture and its words."""
    with gr.Row(equal_height=False, elem_id="stages-feature"):
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("### What does this channel look for?\nA picture drawn for it: starting from faint noise, "
                        "PyTorch's gradients change the picture step by step to excite the channel shown above "
                        "as much as possible (Olah et al., *Feature Visualization*, 2017).")
            objective = gr.Radio(FEATURE_OBJECTIVES, value="channel", label="Excite")
            with gr.Row():
                draw = gr.Button("What does this channel look for?", variant="primary", elem_id="stages-feature-go")
                again = gr.Button("Another seed", elem_id="stages-feature-seed")
                stop = gr.Button("Cancel", variant="stop", elem_id="stages-feature-cancel")
            words = gr.Markdown(elem_id="stages-feature-words")
        with gr.Column(scale=2, min_width=280):
            image = gr.Image(label="What it looks for", format="png", interactive=False, height=320,
                             elem_id="stages-feature-picture")
    return dict(objective=objective, draw=draw, again=again, stop=stop, words=words, image=image,
                seed=gr.State(0))


def _unit_panel():
    """The panel "How this number was made", hidden until a unit is clicked."""
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
    return panel, words, picture, animate


def build(kernel: KernelTab, tabs: gr.Tabs) -> None:
    gr.Markdown(
        "A CNN turns a picture into a stack of **stages**. Each convolution (conv) slides its kernels over "
        "the previous stage and gives one **feature map** per kernel (a channel); each pooling stage shrinks "
        "them. Give the network a picture, then step through every stage and see what it computed."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            picture = build_picture_input("stages")
            note = gr.Markdown(visible=False, elem_id="stages-note")
            # the title in its own Markdown: a long model name wraps there instead of over the top class
            label_title = gr.Markdown(_label_title(), elem_id="stages-label-title")
            label = gr.Label(num_top_classes=5, label="Top-5 predictions", show_label=False, elem_id="stages-label")
        with gr.Column(scale=5):
            gr.Markdown("#### All stages, in the order the network runs them: each shows its strongest channel; "
                        "click one to jump to it")
            # no buttons: they would sit on the first row's last thumbnails
            strip = gr.Image(label="All stages", show_label=False, format="png", interactive=False,
                             buttons=[], elem_id="stages-overview")
            with gr.Row(equal_height=True, visible=False) as stage_row:    # shown once there are stages
                stage = SliderInput(1, 2, value=1, step=1, label="Stage", scale=5)
                play = gr.Button(kernel_tab.PLAY, scale=1, min_width=100, elem_id="stages-play")
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
    panel, panel_md, panel_img, animate = _unit_panel()
    feature = _feature_row()

    playing = gr.State(False)
    timer = gr.Timer(PLAY_SECONDS, active=False)
    shown_channel = gr.State(None)      # the channel the pictures show, for the box to go back to
    shown_stage = gr.State(None)
    views = [stage_md, grid, strip, channel, large, overlay, channel_md, shown_channel, shown_stage]
    quiet = dict(api_visibility="private", show_progress="hidden")

    picture.on_new_input(on_new_picture, [picture.picture, picture.model, count, scale],
                         [note, label, stage] + views + [stage_row, label_title], show_progress="minimal",
                         **MODEL_QUEUE)
    stage.input(on_stage_typed, [picture.picture, picture.model, stage, count, scale, shown_stage],
                [stage] + views, preprocess=False,
                api_name="stages_step", trigger_mode="always_last", **quiet)
    for control in (count, scale):
        control.input(on_stage, [picture.picture, picture.model, stage, count, scale, channel], views,
                      api_name=f"stages_{'count' if control is count else 'scale'}", **quiet)
    strip.select(on_overview_click, [picture.picture, picture.model, count, scale], [stage] + views,
                 api_name="stages_jump", **quiet)
    unit = gr.State(None)
    unit_views = [large, overlay, channel_md, unit, panel, panel_md, panel_img, animate]
    grid.select(on_grid_click, [picture.picture, picture.model, stage, count], [channel, shown_channel] + unit_views,
                api_name="stages_pick_channel", **quiet)
    large.select(on_large_click, [picture.picture, picture.model, stage, channel], unit_views,
                 api_name="stages_pick_unit", **quiet)
    animate.click(on_animate, [picture.picture, picture.model, unit], kernel.controls + [tabs],
                  api_name="stages_animate_unit", **quiet).then(
        None, js="() => window.scrollTo({top: 0})")      # the Kernel tab opens at its top, not at the panel's height
    # one drawing at a time, in its own queue: its steps take the model's lock one forward pass at a time,
    # so the other visitors' requests go on between them
    drawing = dict(concurrency_id="features", concurrency_limit=1, show_progress="full",
                   api_visibility="private")
    feature_inputs = [picture.picture, picture.model, stage, channel, feature["objective"], feature["seed"]]
    feature_outputs = [feature["image"], feature["words"], feature["seed"]]
    drawn = [feature["draw"].click(on_feature, feature_inputs, feature_outputs, api_name="stages_feature", **drawing),
             feature["again"].click(on_feature_seed, feature_inputs, feature_outputs, api_name="stages_feature_seed",
                                    **drawing)]
    feature["stop"].click(on_feature_cancel, None, None, cancels=drawn, api_name="stages_feature_cancel", **quiet)
    # another picture, stage or channel: the unit shown is no longer on screen
    gr.on([picture.picture.change, picture.model.change, stage.input, strip.select, channel.input, timer.tick],
          on_hide_unit, None, [panel, unit], api_name="stages_hide_unit", **quiet)
    channel.input(on_channel, [picture.picture, picture.model, stage, channel, shown_channel],
                  [large, overlay, channel_md, channel, shown_channel],
                  api_name="stages_channel", trigger_mode="always_last", **quiet)
    play.click(on_play, [playing, picture.picture, picture.model, stage], [playing, timer, play, stage],
               api_name="stages_play", **quiet)
    timer.tick(on_tick, [picture.picture, picture.model, stage, count, scale],
               [playing, timer, play, stage] + views, api_name="stages_tick", **quiet)

    # API-only inputs: an image file and a model name (gradio_client: handle_file(path), "resnet18")
    with gr.Group(visible=False):
        api_image = ImageUpload(type="filepath", image_mode=None, label="image")
        api_model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model")
        api_stages = gr.JSON(label="stages")
        predict_button = gr.Button("predict")
        stages_button = gr.Button("stages")
        api_stage = gr.Textbox(label="stage")
        api_numbers = [gr.Number(label=name, precision=0) for name in ("channel", "row", "col")]
        api_unit = gr.JSON(label="unit")
        api_unit_picture = gr.Image(label="unit picture", format="png")
        unit_button = gr.Button("unit")
        api_feature_inputs = [gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model"),
                              gr.Textbox(label="stage"), gr.Number(label="channel", precision=0),
                              gr.Textbox(value="channel", label="objective"), gr.Number(0, label="seed", precision=0),
                              gr.Number(None, label="steps", precision=0)]
        api_feature = [gr.Image(label="feature picture", format="png"), gr.JSON(label="feature")]
        feature_button = gr.Button("visualize")
    predict_button.click(predict_api, [api_image, api_model], label, api_name="predict", **MODEL_QUEUE)
    stages_button.click(stages_api, [api_image, api_model], [api_stages, grid], api_name="stages", **MODEL_QUEUE)
    feature_button.click(visualize_api, api_feature_inputs, api_feature, api_name="visualize",
                         concurrency_id="features", concurrency_limit=1)
    unit_button.click(unit_api, [api_image, api_model, api_stage] + api_numbers, [api_unit, api_unit_picture],
                      api_name="unit", **MODEL_QUEUE)
