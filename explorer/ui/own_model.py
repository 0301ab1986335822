""""Your model" beside a model picker: any timm CNN typed by name (completed from timm's list), optionally
your weights (.safetensors) and class names (a text file). "Use this model" checks them all
(explorer.core.timm_models.own_model), loads the model and puts it in the picker; what is wrong is said
beside the box, in words, and the picker keeps its model. What a visitor uploads belongs to their session
(forgotten when the tab closes, through explorer.core.state.STORES)."""
import functools

import gradio as gr

from explorer.core import timm_models
from explorer.core.both import chinese_of, said
from explorer.core.models import MODEL_NAMES, REGISTRY, find, get_model
from explorer.core.state import STORES
from explorer.core.weights import WeightsDownloading
from explorer.core.words import say
from explorer.ui.by_name import event
from explorer.ui.words import t


@functools.lru_cache(maxsize=1)
def timm_names() -> list[str]:
    """timm's architectures, for completion (a name refused later is refused in words)."""
    import timm

    return timm.list_models()


def model_choice(name: str, title=None) -> tuple:
    """A model picker's choice: its title in both languages (a Both's Chinese where it has one), its name."""
    title = REGISTRY[name].title if title is None else title
    return t(str(title), chinese_of(title)), name


MODEL_CHOICES = [model_choice(name) for name in MODEL_NAMES]


def said_choices(*extra: tuple) -> list[tuple[str, str]]:
    """The picker's choices for a handler's update, (title, name), their titles plain text in the language
    spoken now (Gradio 6.31 shows a t() marker in an update's choices as its key), then `extra`'s."""
    return [(said(REGISTRY[name].title), name) for name in MODEL_NAMES] + [(said(title), key) for title, key in extra]
STORES.register("own_model.timm_names", timm_names, "timm's architecture names, for the name box's completion")


def build_own_model(prefix: str, model: gr.Dropdown) -> dict:
    """The "Your model" box under `model` (the picker it fills); returns its components by name."""
    with gr.Accordion(t("Your model: any timm CNN, your weights, your class names",
                        "你的模型：任意 timm 卷积神经网络、你的权重、你的类别名"), open=False, elem_id=f"{prefix}-own"):
        name = gr.Dropdown(timm_names(), value=None, allow_custom_value=True, filterable=True,
                           label=t("timm model name", "timm 模型名称"), elem_id=f"{prefix}-own-name",
                           info=t("type to search timm's list (resnet18, convnext_atto, mixnet_s...); a tag too: "
                                  "resnet50.a1_in1k",
                                  "输入名称在 timm 的列表里查找（resnet18、convnext_atto、mixnet_s……）；"
                                  "也可带标签：resnet50.a1_in1k"))
        with gr.Row():
            weights = gr.File(label=t("Weights (.safetensors)", "权重（.safetensors）"), file_types=[".safetensors"],
                              type="filepath", elem_id=f"{prefix}-own-weights", height=110)
            labels = gr.File(label=t("Class names (.txt)", "类别名（.txt）"), file_types=[".txt"],
                             type="filepath", elem_id=f"{prefix}-own-labels", height=110)
        gr.Markdown(t("Both optional: a `.safetensors` state_dict of this architecture (nothing else is opened) "
                      "and a text file with one class name per line, as many as its head has classes.",
                      "两者都可不填：一个这个架构的 `.safetensors` state_dict（其他格式一律不打开），"
                      "以及一个每行一个类别名的文本文件，行数与输出层的类别数相同。"))
        use = gr.Button(t("Use this model", "使用这个模型"), variant="secondary", elem_id=f"{prefix}-own-use")
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
        return {"message": say("**timm model name:** empty; type a timm CNN's name, e.g. resnet18 or convnext_atto",
                               "**timm 模型名称：** 是空的；请输入一个 timm 卷积神经网络的名称，例如 resnet18 或 "
                               "convnext_atto")}
    full = text if timm_models.is_timm(text) else timm_models.PREFIX + text
    try:
        key = timm_models.own_model(full, weights, labels, session=session)
        model, note = get_model(key)
    except WeightsDownloading as waiting:
        return {"message": f"{waiting}"}
    except ValueError as error:
        return {"message": say("**Cannot use this:** {error}", "**无法使用：** {error}", error=error)}
    title = find(key).title
    if note or not model.pretrained:
        loaded = note
    elif weights is not None:
        loaded = say("Your weights are loaded: every key and shape matched.", "你的权重已加载：每个键和形状都对上了。")
    else:
        loaded = say("Its pretrained weights are loaded (the Hugging Face Hub's safetensors).",
                     "它的预训练权重已加载（来自 Hugging Face Hub 的 safetensors）。")
    return {"model": gr.Dropdown(choices=said_choices((title, key)), value=key),
            "message": say("Using **{name}** ({classes} classes, input {size} px). {loaded}",
                           "正在使用 **{name}**（{classes} 个类别，输入 {size} 像素）。{loaded}",
                           name=model.display_name, classes=len(model.labels),
                           size="x".join(str(s) for s in find(key).input_size[1:]), loaded=loaded)}
