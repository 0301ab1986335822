"""The Stages tab's public endpoints, /predict, /stages and /unit (and /visualize, whose function is
explorer.ui.stages_features.visualize_api), on hidden inputs of their own. Their parameters and
returns are a contract (tests/ui/api_contract.json); their docstrings are what an MCP client reads."""
from dataclasses import dataclass

import gradio as gr

from explorer.core.bridge import describe_unit, explain_unit
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.words import say
from explorer.drawing import feature_maps as fm
from explorer.drawing.unit_drawing import render_unit
from explorer.ui.number_inputs import Number
from explorer.ui.picture_input import MODEL_CHOICES
from explorer.ui.predictions import as_label, top_five
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.stages_features import visualize_api
from explorer.ui.stages_inspections import cached_inspection, cannot_use, picture_image, user_error
from explorer.ui.stages_views import stages_summary
from explorer.ui.upload import ImageUpload


def predict_api(image, model_name):
    """Classify a picture with a pretrained CNN: its 5 most likely classes with their probabilities.

    Args:
        image: The picture to classify: a PNG, JPEG, GIF, WebP, BMP or TIFF file (at most 50 megapixels; it is resized to the model's input, 224x224 for the ImageNet models). The "digits" model reads a drawn digit, dark on light.
        model_name: Which model looks at it: "efficientnet_lite0" (the default), "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2" or "mobilenet_v3_large" (ImageNet's 1000 classes, e.g. "espresso"); "digits" (the digits 0-9, for a drawing); "cnnnet" (a small untrained net, "fish" vs "cat", for teaching). A model that could not download its weights runs untrained and says so in the app.

    Returns:
        A label: {"label": the top class, "confidences": [{"label": class, "confidence": probability from 0 to 1}, ...]}, the 5 classes most likely first. A model without trained weights marks each class "(untrained model)".
    """
    if image is None:
        raise gr.Error(say("image: none was given; give a picture file", "image：没有给图片；请给一个图片文件"),
                       title=cannot_use())
    try:
        label = as_label(top_five(model_name or DEFAULT_MODEL, picture_image(image)))
        untrained = _untrained(model_name or DEFAULT_MODEL)
    except ValueError as error:
        raise user_error(error)
    return {f"{name} ({untrained})": p for name, p in label.items()} if untrained else label


def _untrained(model_name: str) -> str | None:
    """"untrained model" when the model runs without trained weights (none could be had, or it has none
    by design), for the API's answers to say so; else None."""
    model, _ = get_model(model_name)
    return None if model.pretrained else say("untrained model", "未训练的模型")


def stages_api(image, model_name):
    """List every Conv and Pool stage a CNN runs on a picture, in order, with shapes and receptive fields.

    A stage is the output of one convolution or pooling layer (before the activation that follows it). Use the stage names (or their 0-based positions in this list) with the "unit" and "visualize" tools.

    Args:
        image: The picture the model runs on: a PNG, JPEG, GIF, WebP, BMP or TIFF file (at most 50 megapixels).
        model_name: The model: "efficientnet_lite0" (the default), "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large", "digits" (a small digit classifier for drawings) or "cnnnet" (a small untrained teaching net).

    Returns:
        The stages, a list in the order the network runs them, each {"stage": position counting from 1, "name": the module's path in PyTorch such as "features.3" or "layer1.0.conv1" (a module run twice is "name (call 2)"), "kind": "conv" or "pool", "layer": the layer as PyTorch prints it, "input_shape" and "output_shape": [channels, height, width], "receptive_field": [height, width] of the input pixels one unit sees, "jump": [down, across] input pixels between neighbouring units}; with a model without trained weights each also has "model": "untrained model".
        A picture of the first stage's feature maps: its 16 strongest channels (by mean activation), each labelled with its rank and channel number.
    """
    if image is None:
        raise gr.Error(say("image: none was given; give a picture file", "image：没有给图片；请给一个图片文件"),
                       title=cannot_use())
    inspection = cached_inspection(image, model_name or DEFAULT_MODEL)
    untrained = _untrained(model_name or DEFAULT_MODEL)
    summary = [entry | {"model": untrained} for entry in stages_summary(inspection)] if untrained else \
        stages_summary(inspection)
    return summary, fm.render_grid(inspection.stages[0].activation).image


def unit_api(image, model_name, stage, channel, row, col):
    """Explain how one number (a unit) of a CNN's feature map was computed, with the real weights and inputs.

    For a convolution: the window of the previous stage the unit reads, the kernel, the partial sum of each input channel, the bias and the total, checked against PyTorch's own output; for a pooling stage: the window and the maximum or average. The model runs once per picture; further calls on the same picture and model reuse it.

    Args:
        image: The picture the model runs on: a PNG, JPEG, GIF, WebP, BMP or TIFF file (at most 50 megapixels).
        model_name: The model: "efficientnet_lite0" (the default), "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large", "digits" or "cnnnet".
        stage: The stage, by its name as the "stages" tool lists it (a PyTorch module path such as "features.3" or "layer1.0.conv1") or by its position in that list counting from 0 ("0" is the first stage), given as text.
        channel: The output channel of that stage, counting from 0 (0 to the stage's channels - 1; see output_shape in the "stages" tool).
        row: The row of the unit in the channel's map, counting from 0 at the top (0 to height - 1).
        col: The column of the unit in the channel's map, counting from 0 at the left (0 to width - 1).

    Returns:
        The unit's numbers as JSON: "kind" ("conv" or "pool"), "stage" (its name), "stage_index" (0-based), "channel", "row", "col", "value" (PyTorch's own output), "total" (the sum recomputed here) and "agrees" (true when they match up to float32 rounding), "op" (e.g. "conv2d", "max_pool2d"), "window" (the input values read, [input channel][kernel row][kernel column], padding included), "kernel" (the weights, same shape; null for pooling), "channels" (the input channel of each row of window and kernel), "partials" (each input channel's sum of window times kernel), "bias", "padding_mask", "stride", "dilation", "pad" ([top, bottom, left, right]), "groups", "divisor" (average pooling), "after" ([step, value] for what follows up to the next stage, e.g. BatchNorm and ReLU), "then", and "words": the arithmetic explained in Markdown.
        A picture of the arithmetic: the windows the unit reads, the kernel slices, their products and the partial sums.
    """
    if image is None:
        raise gr.Error(say("image: none was given; give a picture file", "image：没有给图片；请给一个图片文件"),
                       title=cannot_use())
    inspection = cached_inspection(image, model_name or DEFAULT_MODEL)
    stage = stage.strip() if isinstance(stage, str) else stage
    try:
        u = explain_unit(None, inspection, stage, channel, row, col)
    except ValueError as error:
        raise user_error(error)
    return u.as_dict() | {"words": describe_unit(u)}, render_unit(u)


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


# The hidden inputs' names: the endpoints' parameter and return names, code in both languages (written as
# code, `image`, for the words check; gradio_client's view_api strips the backticks). Not t(): the API info
# would then carry a translation marker where callers read a name.
NAMES = {name: f"`{name}`" for name in ("image", "model", "stages", "predict", "stage", "channel", "row", "col",
                                        "unit", "unit picture", "objective", "seed", "steps", "feature picture",
                                        "feature", "visualize")}


def api_layout() -> StagesApi:
    """API-only inputs: an image file and a model name (gradio_client: handle_file(path), "resnet18")."""
    with gr.Group(visible=False):
        image = ImageUpload(type="filepath", image_mode=None, label=NAMES["image"])
        model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label=NAMES["model"])
        summary = gr.JSON(label=NAMES["stages"])
        predict, stages = gr.Button(NAMES["predict"]), gr.Button(NAMES["stages"])
        unit_inputs = [gr.Textbox(label=NAMES["stage"])] + [Number(label=NAMES[name], precision=0)
                                                            for name in ("channel", "row", "col")]
        unit_outputs = [gr.JSON(label=NAMES["unit"]), gr.Image(label=NAMES["unit picture"], format="png")]
        unit = gr.Button(NAMES["unit"])
        feature_inputs = [gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label=NAMES["model"]),
                          gr.Textbox(label=NAMES["stage"]), Number(label=NAMES["channel"], precision=0),
                          gr.Textbox(value="channel", label=NAMES["objective"]),
                          Number(0, label=NAMES["seed"], precision=0), Number(None, label=NAMES["steps"], precision=0)]
        feature_outputs = [gr.Image(label=NAMES["feature picture"], format="png"), gr.JSON(label=NAMES["feature"])]
        visualize = gr.Button(NAMES["visualize"])
    return StagesApi(image, model, summary, predict, stages, unit_inputs, unit_outputs, unit, feature_inputs,
                     feature_outputs, visualize)


def wire_api(api: StagesApi, label: gr.Label, grid: gr.Image) -> None:
    """The endpoints, positional as their contract: /predict answers into the page's `label` and /stages
    into its feature-map `grid` (as they always have: their return components are part of the contract)."""
    api.predict.click(predict_api, [api.image, api.model], label, api_name="predict", **MODEL_QUEUE)
    api.stages.click(stages_api, [api.image, api.model], [api.summary, grid], api_name="stages", **MODEL_QUEUE)
    api.visualize.click(visualize_api, api.feature_inputs, api.feature_outputs, api_name="visualize",
                        concurrency_id="features", concurrency_limit=1)
    api.unit.click(unit_api, [api.image, api.model] + api.unit_inputs, api.unit_outputs, api_name="unit",
                   **MODEL_QUEUE)
