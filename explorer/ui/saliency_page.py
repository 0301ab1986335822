"""The Saliency tab's page: its components, placed (`layout()`), and held by name in a SaliencyTab, whose
`components()` gives them by the names each event reads and changes (explorer.ui.by_name.event)."""
from dataclasses import dataclass

import gradio as gr
from gradio.blocks import Block

from explorer.core import attribution as at
from explorer.core import budgets, trust
from explorer.core.models import DEFAULT_MODEL
from explorer.drawing.saliency import COLORMAPS
from explorer.ui.by_name import Components
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import HINT, MODEL_CHOICES, PictureInput, build_picture_input
from explorer.ui.upload import ImageUpload

DEFAULT_METHODS = ["gradcam"]

TRUST_HELP = (
    "**Deletion:** the picture's patches are replaced, most-attributed first, and the class's probability is "
    "measured after each step; a map that points at what the model uses makes it fall sooner than "
    f"{trust.ORDERS} random orders of the same patches do. **Insertion:** the same the other way round, from a "
    "blurred picture the real patches come back. Each gives the area ratio to the random orders' median (below 1 "
    "= sooner) and the p-value (the share of random orders that do as well). **Randomisation:** the same method "
    "on copies of the model whose top layers are re-initialised, one more at each step (a cascade); if the map "
    "hardly changes (rank correlation near 1) it does not depend on what the model learned.\n\n"
    + trust.REPLACEMENT_WORDS)

# The gallery's label and buttons sit above its thumbnails, not over them, and it grows with its rows
# instead of scrolling inside the page; each caption is written out in full under its picture, never
# over the heat map's colour bar; the trust table's words stay whole.
PAGE_CSS = """
#saliency-maps .grid-wrap { padding-top: 44px; max-height: none; }
#saliency-maps .fixed-height { max-height: none; }
#saliency-maps .fixed-height:has(.thumbnail-item) { min-height: 0; }
#saliency-maps .thumbnail-item { aspect-ratio: auto; height: auto; display: flex; flex-direction: column; }
#saliency-maps .thumbnail-lg > img { height: auto; }
#saliency-maps .caption-label { position: static; max-width: none; white-space: normal; text-overflow: clip;
  overflow: visible; border: 0; border-radius: 0; text-align: center; }
#saliency-trust th, #saliency-trust td { word-break: normal; overflow-wrap: normal; hyphens: manual; }
#saliency-trust td:first-child { white-space: nowrap; }
#saliency-style { display: none; }
"""


def method_choices(model_name: str) -> list[tuple[str, str]]:
    """(title, name) of the methods Captum computes correctly on this model: known once the model is
    chosen, so the list never changes when a picture arrives."""
    return [(at.method_title(m), m) for m in at.methods_of(model_name or DEFAULT_MODEL)]


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
    return "\n".join(f"- **{m.title}**: {m.description}" for m in at.METHODS.values())


def _method_options() -> MethodOptions:
    passes = max(4, budgets.current().model_passes)          # the sliders stop at the budget
    most_steps, most_samples = min(128, passes), min(64, passes)
    with gr.Accordion("Method options", open=False):
        with gr.Row():
            layer = gr.Dropdown(choices=[], value=None, label="Grad-CAM layer (conv stages, as in the "
                                                             "Stages tab; default the last)")
            ig_steps = SliderInput(4, most_steps, value=min(32, most_steps), step=1,
                                   label="Integrated Gradients: steps")
        with gr.Row():
            sg_samples = SliderInput(2, most_samples, value=min(16, most_samples), step=1,
                                     label="SmoothGrad: noisy copies")
            sg_noise = SliderInput(0.05, 0.5, value=0.15, step=0.01, label="SmoothGrad: noise (std)")
        with gr.Row():
            occ_window = NumberInput(0, precision=0, minimum=0, label="Occlusion window, model-input px "
                                                                     "(0 = 1/7 of the input)")
            occ_stride = NumberInput(0, precision=0, minimum=0, label="Occlusion stride (0 = half the window)")
    return MethodOptions(layer, ig_steps, sg_samples, sg_noise, occ_window, occ_stride)


def _picture_column() -> dict:
    """The picture, the model, its top-5 classes and the class explained."""
    with gr.Column(scale=2, min_width=320):
        picture = build_picture_input("saliency")
        note = gr.Markdown(visible=False)
        label = gr.Label(num_top_classes=5, label="Top-5 predictions (click one to explain it)")
        target = gr.Dropdown(choices=[], value=None, allow_custom_value=True, filterable=True,
                             label="Class to explain (type to search all classes)")
    return dict(picture=picture, note=note, label=label, target=target)


def _maps_column() -> dict:
    """The methods, Explain and Cancel, how the maps look, the methods' options, then the maps."""
    with gr.Column(scale=5):
        with gr.Row(equal_height=False):
            methods = gr.CheckboxGroup(choices=method_choices(DEFAULT_MODEL), value=DEFAULT_METHODS,
                                       label="Methods (tick several to compare)", scale=4, elem_id="saliency-methods")
            with gr.Column(scale=1, min_width=140):
                run = gr.Button("Explain", variant="primary")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Accordion("What the methods do", open=False):
            gr.Markdown(_method_help())
        with gr.Row():
            sign = gr.Radio([("absolute", "absolute"), ("positive (for)", "positive"),
                             ("negative (against)", "negative")], value="absolute", label="Sign shown")
            opacity = SliderInput(0, 1, value=0.6, step=0.05, label="Overlay opacity")
            cmap = gr.Dropdown(list(COLORMAPS), value="inferno", label="Colour map")
        options = _method_options()
        header = gr.Markdown("### " + HINT)
        gallery = gr.Gallery(label="Maps: over the picture (the box is what the model saw) and as heat maps",
                             columns=4, height="auto", object_fit="contain", format="png",
                             interactive=False, buttons=["download", "fullscreen"], elem_id="saliency-maps")
        download = gr.DownloadButton("Download the maps (PNG)", value=None, elem_id="saliency-download")
    return dict(methods=methods, run=run, cancel=cancel, sign=sign, opacity=opacity, cmap=cmap, options=options,
                header=header, gallery=gallery, download=download)


def _trust_row() -> dict:
    gr.Markdown("### Can you trust these maps?")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            ranking = gr.Markdown(elem_id="saliency-ranking")
            trust_md = gr.Markdown(elem_id="saliency-trust")
            gr.Markdown(TRUST_HELP)
        with gr.Column(scale=2):
            plot = gr.Plot(label="Deletion and insertion curves", show_label=False, format="png",
                           elem_id="saliency-curves")
            wipe_step = gr.Dropdown(choices=[], value=None, label="Randomisation: compare the map with the map on "
                                                                  "a model with random top layers",
                                    elem_id="saliency-wipe-step")
            wipe = gr.ImageSlider(type="pil", format="png", label="Drag: the real map (left) against the randomised "
                                                                 "one (right)", interactive=False,
                                  elem_id="saliency-wipe")
    return dict(trust=trust_md, plot=plot, ranking=ranking, wipe=wipe, wipe_step=wipe_step, checks=gr.State(None))


def _api_layout() -> AttributeApi:
    with gr.Group(visible=False):
        inputs = [ImageUpload(type="filepath", image_mode=None, label="image"),
                  gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model"),
                  gr.Dropdown(list(at.METHODS), value="saliency", label="method"),
                  gr.Textbox(label="target (class name or index; empty = top-1)"),
                  gr.JSON(value={}, label="options")]
        outputs = [gr.Image(type="pil", format="png", label="overlay"), gr.JSON(label="numbers")]
        button = gr.Button("attribute")
    return AttributeApi(inputs, outputs, button)


def layout() -> SaliencyTab:
    """Places the tab's components in the current layout context and returns them."""
    with gr.Column(elem_id="saliency"):
        gr.Markdown(
            "Which pixels made the model say what it said? An **attribution map** colours each pixel by how much it "
            "pushed the score of one class. Different methods answer that question differently, and a map can "
            "look convincing without explaining the model at all: the **trust check** under the maps tests each one.")
        with gr.Row(equal_height=False):
            picture_side = _picture_column()
            maps_side = _maps_column()
        trust_side = _trust_row()
    gr.HTML(f"<style>{PAGE_CSS}</style>", padding=False, elem_id="saliency-style")
    return SaliencyTab(**picture_side, **maps_side, **trust_side, maps=gr.State(None), api=_api_layout())
