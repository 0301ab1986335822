"""The /attribute endpoint (HTTP, gradio_client and MCP tool): one attribution method's map over an image,
with the Saliency tab's trust check on request. Its docstring is what a client (or an LLM) reads about it:
Gradio takes the first lines as the tool's description, each `Args:` line as a parameter's description
(one line each) and the `Returns:` lines as what it gives back."""
import gradio as gr
import numpy as np

from explorer.core import attribution as at
from explorer.core import trust
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.words import say
from explorer.drawing.saliency import MapLook, render
from explorer.ui.cancel import Stop, StopFlag, stopping_progress
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.saliency_runs import checked, explained, image_of


def attribute_api(image, model_name, method, target, options, request: gr.Request = None):
    """Explain an image classifier's answer: colour each pixel of an image by how much it pushed the score of one class (an attribution or saliency map, computed with Captum), and optionally test how far that map can be trusted.

    Args:
        image: The picture to explain (a photo file such as JPEG or PNG; for the "digits" model, one hand-drawn digit, dark on light or light on dark). Photo models see it resized and centre-cropped, as they were trained; the map covers the whole picture at its own size (zero outside the crop).
        model_name: The classifier: "efficientnet_lite0" (default), "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large" (ImageNet's 1000 classes), "digits" (hand-drawn digits 0-9) or "cnnnet" (an untrained two-class teaching net: fish vs. cat).
        method: The attribution method: "saliency" (default; the raw gradient of the class score), "integrated_gradients" (gradients summed from a grey picture to this one), "smoothgrad" (the gradient averaged over noisy copies), "gradcam" (coarse regions where a conv layer's features raise the score), "guided_gradcam" (Grad-CAM sharpened by guided backpropagation; refused on models that apply ReLU6 or other rectifiers outside nn.ReLU modules, e.g. efficientnet_lite0) or "occlusion" (grey out a window at every position and watch the score drop).
        target: The class to explain: a class index as text ("968") or a class name exactly as the model labels it ("cup", "espresso", "tiger cat", "4" for the digits model); an empty string means the model's top-1 prediction.
        options: A JSON object, {} for the defaults. Painting: "sign" ("absolute" default, "positive" = pixels for the class, "negative" = against it), "opacity" (0 to 1, default 0.5), "colormap" ("inferno" default, "jet", "viridis", "magma", "hot", "gray"). "trust": true adds the trust check (deletion curves and a randomisation test; about 4 times the map's cost). The method's own settings: gradcam and guided_gradcam "layer" (a conv layer's module path; default the last); integrated_gradients "n_steps" (2-512, default 32) and "internal_batch_size"; smoothgrad "nt_samples" (1-256, default 16), "stdevs" (noise, 0-2, default 0.15) and "nt_samples_batch_size"; occlusion "window" and "stride" in model-input pixels (default about 1/7 of the input and half the window) and "perturbations_per_eval". Any other option is refused with a message naming it.

    Returns:
        The map painted over the picture (a PNG at the picture's size, with a box round the centre crop the model saw), and a JSON object of numbers: "model", "pretrained" (false: untrained weights), "method", "target" (the class index explained), "label" (its name), "layer" (the conv layer Grad-CAM used, else null), "map_size" ([height, width]), "note" (about the model, else empty).
        With "trust": true it also has "trust" (the verdicts in words: "verdict", "reason", "measurable", "probability", and "deletion", "insertion" and "randomisation" each with "passed", "verdict" ("faster than random", "no faster than random", "can't tell", "not measurable"; randomisation "the map changes" or "barely changes"), "reason", and the curves' "ratio" (the map's area over the random orders' median: below 1 is sooner) and "p_value"), "deletion_auc_map" and "deletion_auc_random" (area under the class's probability as patches are filled in from their surroundings, most-attributed first vs. in random orders), "deletion_auc_random_sd", "deletion_auc_random_orders", the curves "deletion_map", "deletion_random" (the random orders' median) and "deletion_random_orders", "insertion_map" and "insertion_random" (from a blurred picture, patches put back), and "randomisation_rank_correlation" (the map against the same method on a model whose top layers are re-initialised: near 1 means the map does not depend on what the model learned). The figures are null where not measurable (an empty map, a class with next to no probability, an untrained model's randomisation).
    """
    refused = say("Cannot use this", "无法使用")
    if image is None:
        raise gr.Error(say("image: none was given", "image：没有给图片"), title=refused)
    if options is not None and not isinstance(options, dict):
        raise gr.Error(say('options: give a JSON object such as {"n_steps": 16}',
                           'options：请给一个 JSON 对象，例如 {"n_steps": 16}'), title=refused)
    options = dict(options or {})
    try:
        look = MapLook(options.pop("sign", "absolute"), options.pop("opacity", 0.5), options.pop("colormap", "inferno"))
        check = at.parse_boolean("trust", options.pop("trust", False))
        at.signed(np.zeros(1), look.sign)
        method = method or "saliency"
        if method not in at.METHODS:
            raise ValueError(say("method: unknown {method}; choose one of {names}",
                                 "method：没有 {method} 这种方法；请从 {names} 中选", method=at.echo(method),
                                 names=", ".join(at.METHODS)))
        at.check_options(method, options)
        model, note = get_model(model_name or DEFAULT_MODEL)
        picture = image_of(image)
        target_index = at.resolve_target(model, None if target is None else str(target))
        waiting = StopFlag()
        waiting.request = request
        stop = stopping_progress(lambda *a, **k: None, waiting, method)
        result = explained(model.name, image, picture, method, target_index, options, stop)
        over, _ = render(model, picture, result, look)
        numbers = {"model": model.name, "pretrained": model.pretrained, "method": method,
                   "target": result.target, "label": result.label, "layer": result.layer,
                   "map_size": [picture.height, picture.width], "note": note}
        if check:
            numbers |= trust_numbers(checked(model.name, image, picture, result, look.sign, stop))
    except Stop:
        raise gr.Error(say("Stopped: nobody was waiting for the result.", "已停止：没有人在等这个结果。"),
                       title=say("Cancelled", "已取消"))
    except (ValueError, TypeError) as error:
        raise gr.Error(str(error), title=refused)
    return over, numbers


DELETION_FIGURES = ("deletion_auc_map", "deletion_auc_random", "deletion_auc_random_sd", "deletion_auc_random_orders",
                    "deletion_map", "deletion_random", "deletion_random_orders")


def trust_numbers(check: trust.TrustCheck) -> dict:
    """The trust check as /attribute returns it: the verdicts and reasons in words ("trust", with each
    part's ratio and p-value), and the figures (None where not measurable): the judged deletion curves
    (patches filled in from their surroundings; deletion_random is the random orders' median curve) and the insertion curves."""
    curve = check.curve
    figures = dict.fromkeys(DELETION_FIGURES) if curve is None else {
        "deletion_auc_map": curve.auc_map, "deletion_auc_random": curve.auc_random,
        "deletion_auc_random_sd": curve.random_sd, "deletion_auc_random_orders": curve.auc_random_orders.tolist(),
        "deletion_map": curve.by_map.tolist(), "deletion_random": curve.by_random.tolist(),
        "deletion_random_orders": curve.by_random_orders.tolist()}
    insertion = check.insertion.curve
    figures |= {"insertion_map": None if insertion is None else insertion.by_map.tolist(),
                "insertion_random": None if insertion is None else insertion.by_random.tolist()}
    return {"trust": check.as_dict(), **figures, "randomisation_rank_correlation": check.correlation}


def wire(api) -> None:
    """/attribute on the page's hidden trigger (an AttributeApi: explorer.ui.saliency_page)."""
    api.button.click(attribute_api, api.inputs, api.outputs, api_name="attribute", **MODEL_QUEUE)
