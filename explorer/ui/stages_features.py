"""The Stages tab's "What does this channel look for?": a picture drawn, step by step from faint noise,
to excite the channel shown (or its centre unit, or the top-1 class) as much as possible
(explorer.core.features), beside the same objective on the visitor's own picture; and /visualize."""
from collections.abc import Mapping
from dataclasses import dataclass

import gradio as gr
from gradio.blocks import Block
from PIL import Image

from explorer.core import budgets, features
from explorer.core.gpu import gpu, reporter, reporting, slot_seconds
from explorer.core.models import DEFAULT_MODEL, Inspection, get_model
from explorer.core.words import say
from explorer.ui.by_name import Components, event
from explorer.ui.cancel import CancelFlags, Stop, StopFlag, stopping_progress
from explorer.ui.predictions import one_pass
from explorer.ui.stages_inspections import cached_inspection, picture_image, stage_index, user_error
from explorer.ui.words import t

FEATURE_OBJECTIVES = [(t("the channel (its mean)", "这个通道（它的平均值）"), "channel"),
                      (t("its centre unit", "它中心的单元"), "unit"),
                      (t("the picture's top-1 class", "图片的第 1 名类别"), "class")]


_FLAGS = CancelFlags("stages.feature_stops")


def _stop_flag(request: gr.Request | None) -> StopFlag:
    return _FLAGS.for_request(request)


# --- the drawing, in GPU slots -------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureRequest:
    """One feature drawing, as the tab and /visualize ask for it: the stage (0-based index or name), the
    channel (the class index when the objective is "class"), the objective ("channel", "unit" or
    "class"), the seed, and the steps (None: the default for the model and stage). The values travel as
    given: features.visualize checks them and names what it refuses."""
    model_name: str
    stage: int | str
    channel: int
    objective: str
    seed: int
    steps: int | None = None


def _visualize_seconds(wanted: FeatureRequest, job=None) -> int:
    try:
        # on a GPU the default is the most
        passes = float(wanted.steps) if wanted.steps else features.DEFAULT_STEPS[1]
    except (TypeError, ValueError):   # refused inside, with its message
        passes = 1
    return slot_seconds(wanted.model_name, passes)


@gpu(duration=lambda model_name, *args, **kwargs: slot_seconds(model_name))
def _default_steps(model_name: str, stage, objective: str) -> int:
    """visualize's default steps here (finding the stage's cost traces the model once: one pass)."""
    return features.default_steps(get_model(model_name)[0], stage, objective=objective)


@gpu(duration=_visualize_seconds)
def _visualize(wanted: FeatureRequest, job=None):
    model, _ = get_model(wanted.model_name)
    return features.visualize(model, wanted.stage, wanted.channel, objective=wanted.objective, seed=wanted.seed,
                              steps=wanted.steps, progress=reporter(job))


@gpu(duration=one_pass)
def _activation(model_name: str, stage: int, target: int, image: Image.Image, objective: str) -> float:
    model, _ = get_model(model_name)
    return features.activation_of(model, stage, target, image, objective)


# --- events and the endpoint ---------------------------------------------------------------------------

def _feature_target(inspection: Inspection, model, index: int, channel, objective: str) -> tuple[int, str]:
    """The channel (or class index) the objective reads, and what it is in words."""
    stage = inspection.stages[index]
    if objective == "class":
        label = inspection.predictions[0][0]
        return model.labels.index(label), say("the logit of class “{label}” (your picture's top-1)",
                                              "类别“{label}”的 logit（你的图片的第 1 名）", label=label)
    n = dict(channel=int(channel), name=stage.name, row=stage.output_shape[1] // 2, col=stage.output_shape[2] // 2)
    if objective == "unit":
        return int(channel), say("the centre unit (row {row}, column {col}) of channel {channel} of `{name}`",
                                 "`{name}` 通道 {channel} 中心的单元（第 {row} 行，第 {col} 列）", **n)
    return int(channel), say("the mean of channel {channel} of `{name}`", "`{name}` 通道 {channel} 的平均值", **n)


def on_feature(picture, model_name, stage_no, channel, objective, seed, request: gr.Request = None,
               progress=gr.Progress()) -> dict:
    """The picture that excites the channel shown (or its centre unit, or the top-1 class) most, and the
    objective on it beside the objective on the learner's own picture: {"image", "words", "seed"}, by
    FeatureRow's names ({} when Cancel stopped it: it says so in an Info toast). stage_no counts from 1,
    as the tab's slider."""
    inspection = cached_inspection(picture, model_name)
    index = stage_index(inspection, stage_no)
    model, _ = get_model(model_name)
    flag = _stop_flag(request)
    flag.clear()
    try:
        target, what = _feature_target(inspection, model, index, channel or 0, objective)

        rising = say("drawing: step by step, the objective rising", "正在画：一步一步，目标值不断上升")
        with reporting(stopping_progress(progress, flag, rising)) as job:
            v = _visualize(FeatureRequest(model_name, index, target, objective, int(seed or 0)), job)
        yours = _activation(model_name, index, target, picture_image(picture), objective)
    except Stop:
        # an Info toast, not gr.Error: Gradio 6.31 titles every error toast "Error", whatever its title
        gr.Info(say("Stopped: press the button to draw it again.", "已停止：再按一次按钮重新画。"), duration=5)
        return {}                   # the last drawing stays
    except ValueError as error:
        raise user_error(error)
    return dict(image=_shown_large(v.image), words=_feature_words(v, what, index, model.display_name, yours),
                seed=int(seed or 0))


def _feature_words(v, what: str, index: int, model_title: str, yours: float) -> str:
    """The drawing's words: what it excites, how much (beside the visitor's picture), how it was drawn."""
    n = dict(what=what, no=index + 1, model=model_title, mine=f"{v.activation:.3g}", yours=f"{yours:.3g}",
             times=f"{v.activation / yours:.1f}" if yours > 0 and v.activation > 0 else "", steps=v.steps,
             seed=v.seed, start=f"{v.objective[0]:.3g}", end=f"{v.objective[-1]:.3g}", seconds=f"{v.seconds:.1f}")
    words = say("**Excites {what}** (stage {no}, {model}).  \n**This picture: {mine}; yours: {yours}**",
                "**激发{what}**（阶段 {no}，{model}）。  \n**这张图：{mine}；你的图：{yours}**", **n)
    words += say(" ({times}× yours).  \n", "（是你的 {times} 倍）。  \n", **n) if n["times"] else say(".  \n", "。  \n")
    words += say("{steps} steps of gradient ascent from seed {seed}: the objective went from {start} to {end} (on "
                 "randomly shifted, scaled and turned copies); {seconds} s. Another seed draws another picture of the "
                 "same feature.",
                 "从种子 {seed} 开始做了 {steps} 步梯度上升：目标值从 {start} 升到 {end}（在随机平移、缩放和旋转的副本上）；"
                 "用时 {seconds} 秒。换一个种子会画出同一特征的另一张图。", **n)
    side = max(v.image.size)
    factor = 280 // side
    if factor >= 2:       # the digit model's 28x28 picture, enlarged with its pixels kept sharp
        words += say("  \n**Why blocks?** This model reads {side}×{side} pictures: each of their pixels is drawn as "
                     "a {factor}×{factor} block.",
                     "  \n**为什么是方块？** 这个模型读的是 {side}×{side} 的图片：每个像素画成一个 {factor}×{factor} 的方块。",
                     side=side, factor=factor)
    return words


def _shown_large(image: Image.Image, side: int = 280) -> Image.Image:
    """A small picture (the digit model's 28x28) enlarged by a whole factor, its pixels kept sharp."""
    factor = side // max(image.size)
    return image if factor < 2 else image.resize((image.width * factor, image.height * factor),
                                                 Image.Resampling.NEAREST)


def on_draw(v: dict, request: gr.Request = None, progress=gr.Progress()) -> dict:
    """"What does this channel look for?": the drawing for the stage and channel shown, at the seed kept."""
    return on_feature(v["picture"], v["model"], v["stage"], v["channel"], v["objective"], v["seed"], request,
                      progress)


def on_draw_another_seed(v: dict, request: gr.Request = None, progress=gr.Progress()) -> dict:
    """"Another seed": the same drawing from the next seed."""
    return on_feature(v["picture"], v["model"], v["stage"], v["channel"], v["objective"], int(v["seed"] or 0) + 1,
                      request, progress)


def on_feature_cancel(request: gr.Request):
    _stop_flag(request).set()


def visualize_api(model_name, stage, channel, objective, seed, steps, request: gr.Request = None):
    """Draw a picture that excites one feature of a CNN as much as possible (feature visualisation by gradient ascent).

    Starting from faint noise, the picture is changed step by step (one forward and one backward pass each) to raise the objective, on randomly shifted, scaled and turned copies (Olah et al., Feature Visualization, 2017). The model's weights never change. It takes seconds on a GPU and up to a minute or more on a CPU.

    Args:
        model_name: The model: "efficientnet_lite0" (the default), "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large", "digits" (a digit classifier; its pictures are 28x28) or "cnnnet" (a small untrained teaching net).
        stage: The stage whose output is measured, by its name as the "stages" tool lists it (a PyTorch module path such as "features.3" or "layer1.0.conv1") or by its position in that list counting from 0, given as text. Ignored when objective is "class".
        channel: The channel of that stage, counting from 0 (0 to the stage's channels - 1). When objective is "class" it is the class index instead (0 to 999 for the ImageNet models, 0 to 9 for "digits").
        objective: What is maximised: "channel" (the default: the mean of the channel over its whole map), "unit" (the one unit at the centre of the channel's map) or "class" (the classifier's score, its logit, for class `channel`).
        seed: Seeds the starting noise and the random transformations (default 0): the same seed gives the same picture, another seed another picture of the same feature.
        steps: How many optimisation steps, at least 1 and at most the default for this model and stage on this machine; empty (None) for that default (200 on a GPU; 48 to 200 on a CPU, fewer for heavier models).

    Returns:
        The picture drawn (PNG; the model's input size, 224x224 for the ImageNet models, 28x28 for "digits").
        Its numbers as JSON: "stage" (the stage's name), "stage_index" (0-based), "channel", "objective_name", "seed", "steps", "size" (the picture's side in pixels), "objective" (the objective after each step), "activation" (the objective on the final picture) and "seconds".
    """
    stage = stage.strip() if isinstance(stage, str) else stage
    stage = int(stage) if isinstance(stage, str) and stage.lstrip("-").isdigit() else stage
    model_name, objective = model_name or DEFAULT_MODEL, objective or "channel"
    steps = None if steps in (None, "") else steps
    try:
        if steps is not None:         # a budget: one visitor cannot hold the queue for long
            budgets.check_visualize_steps(steps, _default_steps(model_name, stage, objective))
        flag = _stop_flag(request)
        flag.clear()
        with reporting(stopping_progress(lambda *a, **k: None, flag, "")) as job:   # stops if the client leaves
            v = _visualize(FeatureRequest(model_name, stage, channel, objective, int(seed or 0), steps), job)
    except Stop:
        raise gr.Error(say("Stopped: the client left or pressed Cancel.", "已停止：客户端已离开或按了取消。"),
                       title=say("Cancelled", "已取消"))
    except ValueError as error:
        raise user_error(error)
    return v.image, {"stage": v.stage, "stage_index": v.stage_index, "channel": v.channel,
                     "objective_name": v.objective_name, "seed": v.seed, "steps": v.steps, "size": v.size,
                     "objective": v.objective, "activation": v.activation, "seconds": v.seconds}


# --- the row: layout and wiring --------------------------------------------------------------------------

@dataclass
class FeatureRow(Components):
    """"What does this channel look for?": the controls, the picture drawn and its words."""
    objective: gr.Radio
    draw: gr.Button
    again: gr.Button            # another seed
    stop: gr.Button
    words: gr.Markdown
    image: gr.Image
    seed: gr.State              # the seed of the picture shown


def feature_row_layout() -> FeatureRow:
    """Places the row in the current layout context and returns its components."""
    with gr.Row(equal_height=False, elem_id="stages-feature"):
        with gr.Column(scale=2, min_width=320):
            gr.Markdown(t("### What does this channel look for?\nA picture drawn for it: starting from faint noise, "
                          "PyTorch's gradients change the picture step by step to excite the channel shown above "
                          "as much as possible (Olah et al., *Feature Visualization*, 2017).",
                          "### 这个通道在找什么？\n为它画一张图：从淡淡的噪声开始，PyTorch 的梯度一步一步地修改图片，"
                          "让上面显示的通道被激发得尽可能强（特征可视化：Olah 等人，*Feature Visualization*，2017）。"))
            objective = gr.Radio(FEATURE_OBJECTIVES, value="channel", label=t("Excite", "激发"))
            with gr.Row():
                draw = gr.Button(t("What does this channel look for?", "这个通道在找什么？"), variant="primary",
                                 elem_id="stages-feature-go")
                again = gr.Button(t("Another seed", "换一个种子"), elem_id="stages-feature-seed")
                stop = gr.Button(t("Cancel", "取消"), variant="stop", elem_id="stages-feature-cancel")
            words = gr.Markdown(elem_id="stages-feature-words")
        with gr.Column(scale=2, min_width=280):
            image = gr.Image(label=t("What it looks for", "它在找的东西"), format="png", interactive=False, height=320,
                             elem_id="stages-feature-picture")
    return FeatureRow(objective, draw, again, stop, words, image, seed=gr.State(0))


def wire_feature_row(row: FeatureRow, shown: Mapping[str, Block]) -> None:
    """Connects the row's buttons; `shown`: the components that say which channel is shown, by name
    ("picture", "model", "stage" (1-based) and "channel")."""
    # one drawing at a time, in its own queue: its steps take the model's lock one forward pass at a time,
    # so the other visitors' requests go on between them
    drawing = dict(concurrency_id="features", concurrency_limit=1, show_progress="full",
                   api_visibility="private")
    components = {**shown, **row.components()}
    reads, writes = ("picture", "model", "stage", "channel", "objective", "seed"), ("image", "words", "seed")
    drawn = [row.draw.click(**event(components, on_draw, reads, writes), api_name="stages_feature", **drawing),
             row.again.click(**event(components, on_draw_another_seed, reads, writes), api_name="stages_feature_seed",
                             **drawing)]
    row.stop.click(on_feature_cancel, None, None, cancels=drawn, api_name="stages_feature_cancel",
                   api_visibility="private", show_progress="hidden")
