""""Your model" beside a model picker: any timm CNN typed by name (completed from timm's list), optionally
your weights (.safetensors) and class names (a text file). "Use this model" checks them all
(explorer.core.timm_models.own_model), loads the model and puts it in the picker; what is wrong is said
beside the box, in words, and the picker keeps its model. What a visitor uploads belongs to their session
(forgotten when the tab closes, through explorer.core.state.STORES)."""
import functools

import gradio as gr

from explorer.core import timm_models
from explorer.core.models import MODEL_NAMES, REGISTRY, find, get_model
from explorer.core.state import STORES
from explorer.core.weights import WeightsDownloading
from explorer.ui.by_name import event

MODEL_CHOICES = [(REGISTRY[name].title, name) for name in MODEL_NAMES]


@functools.lru_cache(maxsize=1)
def timm_names() -> list[str]:
    """timm's architectures, for completion (a name refused later is refused in words)."""
    import timm

    return timm.list_models()


STORES.register("own_model.timm_names", timm_names, "timm's architecture names, for the name box's completion")


def build_own_model(prefix: str, model: gr.Dropdown) -> dict:
    """The "Your model" box under `model` (the picker it fills); returns its components by name."""
    with gr.Accordion("Your model: any timm CNN, your weights, your class names", open=False,
                      elem_id=f"{prefix}-own"):
        name = gr.Dropdown(timm_names(), value=None, allow_custom_value=True, filterable=True,
                           label="timm model name", elem_id=f"{prefix}-own-name",
                           info="type to search timm's list (resnet18, convnext_atto, mixnet_s...); a tag too: "
                                "resnet50.a1_in1k")
        with gr.Row():
            weights = gr.File(label="Weights (.safetensors)", file_types=[".safetensors"],
                              type="filepath", elem_id=f"{prefix}-own-weights", height=110)
            labels = gr.File(label="Class names (.txt)", file_types=[".txt"],
                             type="filepath", elem_id=f"{prefix}-own-labels", height=110)
        gr.Markdown("Both optional: a `.safetensors` state_dict of this architecture (nothing else is opened) "
                    "and a text file with one class name per line, as many as its head has classes.")
        use = gr.Button("Use this model", variant="secondary", elem_id=f"{prefix}-own-use")
        message = gr.Markdown(elem_id=f"{prefix}-own-message", elem_classes=["field-message"])
    components = dict(name=name, weights=weights, labels=labels, model=model, message=message)

    def use_own(v: dict, request: gr.Request) -> dict:
        return use_own_model(v["name"], v["weights"], v["labels"], getattr(request, "session_hash", None))

    use.click(**event(components, use_own, ("name", "weights", "labels"), ("model", "message")),
              api_name=f"own_model_{prefix}", api_visibility="private")
    return components


def use_own_model(name, weights, labels, session) -> dict:
    """What "Use this model" changes, by name: "message" always; "model" (the picker, now holding the
    model) only when everything was accepted."""
    text = str(name or "").strip()
    if not text:
        return {"message": "**timm model name:** empty; type a timm CNN's name, e.g. resnet18 or convnext_atto"}
    full = text if timm_models.is_timm(text) else timm_models.PREFIX + text
    try:
        key = timm_models.own_model(full, weights, labels, session=session)
        model, note = get_model(key)
    except WeightsDownloading as waiting:
        return {"message": f"{waiting}"}
    except ValueError as error:
        return {"message": f"**Cannot use this:** {error}"}
    title = find(key).title
    if note or not model.pretrained:
        said = note
    elif weights is not None:
        said = "Your weights are loaded: every key and shape matched."
    else:
        said = "Its pretrained weights are loaded (the Hugging Face Hub's safetensors)."
    return {"model": gr.Dropdown(choices=MODEL_CHOICES + [(title, key)], value=key),
            "message": f"Using **{model.display_name}** ({len(model.labels)} classes, input "
                       f"{'x'.join(str(s) for s in find(key).input_size[1:])} px). {said}"}
