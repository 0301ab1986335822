"""The Saliency tab's page: its components, placed (`layout()`), and held by name in a SaliencyTab, whose
`components()` gives them by the names each event reads and changes (explorer.ui.by_name.event)."""
from dataclasses import dataclass

import gradio as gr
from gradio.blocks import Block

from explorer.core import attribution as at
from explorer.core import budgets, trust
from explorer.core.guided_check import registered_verdict
from explorer.core.models import DEFAULT_MODEL
from explorer.core.registry import REGISTRY
from explorer.core.words import say, speaking
from explorer.drawing.saliency import COLORMAPS
from explorer.ui.by_name import Components
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import MODEL_CHOICES, PictureInput, build_picture_input, hint
from explorer.ui.upload import ImageUpload
from explorer.ui.words import t

DEFAULT_METHODS = ["gradcam"]

TRUST_HELP = t(
    "**Deletion:** the picture's patches are replaced, most-attributed first, and the class's probability is "
    "measured after each step; a map that points at what the model uses makes it fall sooner than "
    f"{trust.ORDERS} random orders of the same patches do. **Insertion:** the same the other way round, from a "
    "blurred picture the real patches come back. Each gives the area ratio to the random orders' median (below 1 "
    "= sooner) and the p-value (the share of random orders that do as well). **Randomisation:** the same method "
    "on copies of the model whose top layers are re-initialised, one more at each step (a cascade); if the map "
    "hardly changes (rank correlation near 1) it does not depend on what the model learned.\n\n"
    + trust.REPLACEMENT_WORDS["en"],
    "**删除检验：** 按图标出的重要程度从高到低，把图片的图块逐个替换掉，每一步都测一次这个类别的概率；如果这张图指出的"
    f"正是模型用到的地方，概率会比同样图块的 {trust.ORDERS} 个随机顺序掉得更快。**插入检验：** 反过来做，从一张模糊的"
    "图片出发，把真实的图块放回去。两项检验都给出面积与随机顺序中位数之比（小于 1 = 更快）和 p 值（随机顺序中做得一样好的"
    "比例）。**随机化检验：** 在模型的副本上用同一种方法，副本顶部的层被重新初始化，每一步多随机化一层（逐层进行）；"
    "如果图几乎不变（秩相关接近 1），它就不取决于模型学到的东西。\n\n" + trust.REPLACEMENT_WORDS["zh"])

# The labels of the top-5 list and of the gallery sit above their contents, in the flow of the page, not
# floating over them (a long label wraps on a phone and would cover the top class or the first maps); the
# gallery grows with its rows instead of scrolling inside the page; each caption is written out in full
# under its picture, never over the heat map's colour bar; the trust table's words stay whole (on a phone
# its type is smaller and it scrolls sideways inside itself); the wipe's label wraps instead of being cut.
PAGE_CSS = """
#saliency-top5 > label[data-testid="block-label"], #saliency-maps > label[data-testid="block-label"],
#saliency-wipe > label[data-testid="block-label"] {
  position: static; max-width: calc(100% - 100px); white-space: normal; margin: 6px; }
#saliency-maps .grid-wrap { padding-top: 8px; max-height: none; }
#saliency-maps .fixed-height { max-height: none; }
#saliency-maps .fixed-height:has(.thumbnail-item) { min-height: 0; }
#saliency-maps .thumbnail-item { aspect-ratio: auto; height: auto; display: flex; flex-direction: column; }
#saliency-maps .thumbnail-lg > img { height: auto; }
#saliency-maps .caption-label { position: static; max-width: none; white-space: normal; text-overflow: clip;
  overflow: visible; border: 0; border-radius: 0; text-align: center; }
#saliency-trust th, #saliency-trust td { word-break: normal; overflow-wrap: normal; hyphens: manual; }
#saliency-trust td:first-child { white-space: nowrap; }
@media (max-width: 640px) {
  #saliency-trust table { display: block; overflow-x: auto; font-size: 12px; }
  #saliency-trust th, #saliency-trust td { padding: 4px 5px; }
  #saliency-wipe-step input { font-size: 12px; }
}
#saliency-style { display: none; }
"""


# Each method's name as the page shows it, in both languages (the same marker every time).
METHOD_TITLES = {m: t(spec.title, spec.title_zh or spec.title) for m, spec in at.METHODS.items()}


def method_choices(model_name: str, in_update: bool = False) -> list[tuple[str, str]]:
    """(title, name) of the methods Captum computes correctly on this model: known once the model is
    chosen, so the list never changes when a picture arrives. `in_update`: the titles as plain text in the
    language spoken (Gradio 6.31 shows a translation marker in an update's choices as its key)."""
    methods = at.methods_of(model_name or DEFAULT_MODEL)
    if in_update:
        return [(say(at.METHODS[m].title, at.METHODS[m].title_zh or at.METHODS[m].title), m) for m in methods]
    return [(METHOD_TITLES[m], m) for m in methods]


def methods_info(model_name: str) -> str:
    """The methods list's info, in the language spoken now: tick several; and each method this model
    cannot have, named with the reason (Guided Grad-CAM on EfficientNet-Lite0: ReLU6 outside nn.ReLU)."""
    name = model_name or DEFAULT_MODEL
    missing = [m for m in at.METHODS if m not in at.methods_of(name)]
    words = say("Tick several to compare.", "可以勾选几种来对比。")
    if not missing:
        return words
    entry = REGISTRY.get(name)
    shown = entry.title if entry is not None else name
    titles = say(", ", "、").join(at.method_title(m) for m in missing)
    return words + say(" {methods} is not offered for {model}: {why}.", "{model} 上不提供“{methods}”：{why}。",
                       methods=titles, model=shown, why=registered_verdict(name)[1])


def both(words) -> object:
    """The page's fixed-words marker of a text made by `words()` in each language."""
    texts = {}
    for lang in ("en", "zh"):
        with speaking(lang):
            texts[lang] = words()
    return t(texts["en"], texts["zh"])


def hint_words() -> str:
    """The picture input's hint (what to do first), in the language spoken now."""
    return hint()


@dataclass
class MethodOptions(Components):
    """The "Method options" accordion: the controls of MethodSettings (explorer.ui.saliency_tab), by its
    field names."""
    layer: gr.Dropdown
    ig_steps: SliderInput
    sg_samples: SliderInput
    sg_noise: SliderInput
    occ_window: NumberInput
    occ_stride: NumberInput


@dataclass
class AttributeApi:
    """The hidden inputs and outputs of /attribute (gradio_client: handle_file(path), "efficientnet_lite0",
    "gradcam", "espresso", {...})."""
    inputs: list
    outputs: list
    button: gr.Button


@dataclass
class SaliencyTab(Components):
    picture: PictureInput        # its picture (a gr.State) and model are named "picture" and "model"
    note: gr.Markdown
    label: gr.Label              # the top-5 classes; clicking one explains it
    target: gr.Dropdown
    methods: gr.CheckboxGroup
    run: gr.Button
    cancel: gr.Button
    sign: gr.Radio
    opacity: SliderInput
    cmap: gr.Dropdown
    options: MethodOptions       # its controls are named by their fields ("layer", "ig_steps", ...)
    header: gr.Markdown          # what is explained, or why the maps were not updated
    gallery: gr.Gallery
    download: gr.DownloadButton
    trust: gr.Markdown           # the trust table
    plot: gr.Plot                # the deletion and insertion curves
    ranking: gr.Markdown         # which method explains this prediction best, in words
    wipe: gr.ImageSlider         # the real map against a randomised one
    wipe_step: gr.Dropdown       # which map and cascade step the wipe shows
    checks: gr.State             # the trust checks shown (for the wipe)
    maps: gr.State               # {"model", "results"}: the maps shown, for repainting and the trust check
    api: AttributeApi

    def components(self) -> dict[str, Block]:
        """Every component an event reads or changes, by name: the fields, the method options' (by their
        field names), and "picture" and "model" of the picture input."""
        return (super().components() | self.options.components()
                | {"picture": self.picture.picture, "model": self.picture.model})


def _method_help() -> str:
    return "\n".join(say("- **{title}**: {what}", "- **{title}**：{what}", title=at.method_title(m),
                         what=at.method_description(m)) for m in at.METHODS)


def _method_options() -> MethodOptions:
    passes = max(4, budgets.current().model_passes)          # the sliders stop at the budget
    most_steps, most_samples = min(128, passes), min(64, passes)
    with gr.Accordion(t("Method options", "方法选项"), open=False):
        with gr.Row():
            layer = gr.Dropdown(choices=[], value=None, label=t(
                "Grad-CAM layer (conv stages, as in the Stages tab; default the last)",
                "Grad-CAM 所用的层（卷积阶段，与 Stages 标签页相同；默认最后一个）"))
            ig_steps = SliderInput(4, most_steps, value=min(32, most_steps), step=1,
                                   label=t("Integrated Gradients: steps", "积分梯度 (Integrated Gradients)：步数"))
        with gr.Row():
            sg_samples = SliderInput(2, most_samples, value=min(16, most_samples), step=1,
                                     label=t("SmoothGrad: noisy copies", "平滑梯度 (SmoothGrad)：加噪副本数"))
            sg_noise = SliderInput(0.05, 0.5, value=0.15, step=0.01,
                                   label=t("SmoothGrad: noise (std)", "平滑梯度 (SmoothGrad)：噪声（标准差）"))
        with gr.Row():
            occ_window = NumberInput(0, precision=0, minimum=0, label=t(
                "Occlusion window, model-input px (0 = 1/7 of the input)",
                "遮挡 (Occlusion) 窗口，按模型输入的像素计（0 = 输入的 1/7）"))
            occ_stride = NumberInput(0, precision=0, minimum=0, label=t(
                "Occlusion stride (0 = half the window)", "遮挡 (Occlusion) 步幅（0 = 窗口的一半）"))
    return MethodOptions(layer, ig_steps, sg_samples, sg_noise, occ_window, occ_stride)


def _picture_column() -> dict:
    """The picture, the model, its top-5 classes and the class explained."""
    with gr.Column(scale=2, min_width=320):
        picture = build_picture_input("saliency")
        note = gr.Markdown(visible=False)
        label = gr.Label(num_top_classes=5, label=t("Top-5 predictions (click one to explain it)",
                                                    "前 5 个预测（点一个来解释它）"), elem_id="saliency-top5")
        target = gr.Dropdown(choices=[], value=None, allow_custom_value=True, filterable=True,
                             label=t("Class to explain (type to search all classes)",
                                     "要解释的类别（输入文字可在全部类别中搜索）"))
    return dict(picture=picture, note=note, label=label, target=target)


def _maps_column() -> dict:
    """The methods, Explain and Cancel, how the maps look, the methods' options, then the maps."""
    with gr.Column(scale=5):
        with gr.Row(equal_height=False):
            methods = gr.CheckboxGroup(choices=method_choices(DEFAULT_MODEL), value=DEFAULT_METHODS,
                                       label=t("Methods", "方法"), info=both(lambda: methods_info(DEFAULT_MODEL)),
                                       scale=4, elem_id="saliency-methods")
            with gr.Column(scale=1, min_width=140):
                run = gr.Button(t("Explain", "解释"), variant="primary")
                cancel = gr.Button(t("Cancel", "取消"), variant="stop")
        with gr.Accordion(t("What the methods do", "这些方法做什么"), open=False):
            gr.Markdown(both(_method_help))
        with gr.Row():
            sign = gr.Radio([(t("absolute", "绝对值"), "absolute"), (t("positive (for)", "正（支持）"), "positive"),
                             (t("negative (against)", "负（反对）"), "negative")], value="absolute",
                            label=t("Sign shown", "显示的符号"))
            opacity = SliderInput(0, 1, value=0.6, step=0.05, label=t("Overlay opacity", "叠加的不透明度"))
            cmap = gr.Dropdown(list(COLORMAPS), value="inferno", label=t("Colour map", "颜色映射"))
        options = _method_options()
        header = gr.Markdown(both(lambda: "### " + hint_words()))
        gallery = gr.Gallery(label=t("Maps: over the picture (the box is what the model saw) and as heat maps",
                                     "显著图：叠在图片上（方框是模型看到的部分），以及热力图"),
                             columns=4, height="auto", object_fit="contain", format="png",
                             interactive=False, buttons=["download", "fullscreen"], elem_id="saliency-maps")
        download = gr.DownloadButton(t("Download the maps (PNG)", "下载这些图（PNG）"), value=None,
                                     elem_id="saliency-download")
    return dict(methods=methods, run=run, cancel=cancel, sign=sign, opacity=opacity, cmap=cmap, options=options,
                header=header, gallery=gallery, download=download)


def _trust_row() -> dict:
    gr.Markdown(t("### Can you trust these maps?", "### 这些图可信吗？"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            ranking = gr.Markdown(elem_id="saliency-ranking")
            trust_md = gr.Markdown(elem_id="saliency-trust")
            gr.Markdown(TRUST_HELP)
        with gr.Column(scale=2):
            plot = gr.Plot(label=t("Deletion and insertion curves", "删除曲线与插入曲线"), show_label=False,
                           format="png", elem_id="saliency-curves")
            wipe_step = gr.Dropdown(choices=[], value=None, label=t(
                "Randomisation: compare the map with the map on a model with random top layers",
                "随机化：把这张图和顶部几层随机化后的模型给出的图对比"), elem_id="saliency-wipe-step")
            wipe = gr.ImageSlider(type="pil", format="png", label=t(
                "Drag: the real map (left) against the randomised one (right)",
                "拖动对比：真实的图（左）与随机化后的图（右）"), interactive=False, elem_id="saliency-wipe")
    return dict(trust=trust_md, plot=plot, ranking=ranking, wipe=wipe, wipe_step=wipe_step, checks=gr.State(None))


def _api_layout() -> AttributeApi:
    with gr.Group(visible=False):
        inputs = [ImageUpload(type="filepath", image_mode=None, label=t("image", "图片")),
                  gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label=t("model", "模型")),
                  gr.Dropdown(list(at.METHODS), value="saliency", label=t("method", "方法")),
                  gr.Textbox(label=t("target (class name or index; empty = top-1)",
                                     "target（类别名或编号；留空 = 第 1 名）")),
                  gr.JSON(value={}, label=t("options", "选项"))]
        outputs = [gr.Image(type="pil", format="png", label=t("overlay", "叠加图")),
                   gr.JSON(label=t("numbers", "数据"))]
        button = gr.Button(t("attribute", "归因"))
    return AttributeApi(inputs, outputs, button)


def layout() -> SaliencyTab:
    """Places the tab's components in the current layout context and returns them."""
    with gr.Column(elem_id="saliency"):
        gr.Markdown(t(
            "Which pixels made the model say what it said? An **attribution map** colours each pixel by how much it "
            "pushed the score of one class. Different methods answer that question differently, and a map can "
            "look convincing without explaining the model at all: the **trust check** under the maps tests each one.",
            "是哪些像素让模型给出了这个答案？**显著图**（归因图）按每个像素把某个类别的分数推高了多少来给它上色。"
            "不同的方法回答这个问题的方式不同，而且一张图可能看起来很有说服力，却根本没有解释模型：图下方的"
            "**可信度检验**会逐一检验每张图。"))
        with gr.Row(equal_height=False):
            picture_side = _picture_column()
            maps_side = _maps_column()
        trust_side = _trust_row()
    gr.HTML(f"<style>{PAGE_CSS}</style>", padding=False, elem_id="saliency-style")
    return SaliencyTab(**picture_side, **maps_side, **trust_side, maps=gr.State(None), api=_api_layout())
