"""The Saliency tab: which pixels decided the model's answer (explorer.core.attribution, through Captum), and
beside each map a check of how far to trust it (explorer.core.trust).

Top to bottom: what one Explain asks for (ExplainRequest, built once from the controls' values), the
events, the /attribute endpoint, then the page: `layout()` places the components and returns them as a
SaliencyTab, `wire(tab)` connects the events; `build()` does both."""
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image

from explorer.core import attribution as at
from explorer.core import budgets, trust
from explorer.core.images import is_blank, load_image
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.drawing.saliency import (
    COLORMAPS,
    MapLook,
    curve_figure,
    download_name,
    draw_sheet,
    gallery_items,
    render,
    trust_table,
)
from explorer.ui.cancel import Stop, StopFlag, stopping_progress
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import HINT, MODEL_CHOICES, PictureInput, build_picture_input
from explorer.ui.predictions import as_label, top_five
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.saliency_runs import cancel_flag, checked, explained, trust_rows
from explorer.ui.upload import ImageUpload

TITLE = "Saliency"
DEFAULT_METHODS = ["gradcam"]
SIGN_WORDS = {"absolute": "how strongly (either way)", "positive": "for the class", "negative": "against the class"}


# --- what one Explain asks for ------------------------------------------------------------------------

@dataclass(frozen=True)
class MethodSettings:
    """The "Method options" controls (0 or empty = the method's default)."""
    layer: str | None
    ig_steps: int
    sg_samples: int
    sg_noise: float
    occ_window: int | None
    occ_stride: int | None

    def options_for(self, method: str) -> dict:
        """The settings as the options `method` takes (the others are left out)."""
        given = {"layer": self.layer or None, "n_steps": self.ig_steps, "nt_samples": self.sg_samples,
                 "stdevs": self.sg_noise, "window": self.occ_window or None, "stride": self.occ_stride or None}
        spec = at.METHODS[method]
        allowed = set(spec.options) | ({"layer"} if spec.uses_layer else set())
        return {k: v for k, v in given.items() if k in allowed and v is not None}


@dataclass(frozen=True)
class ExplainRequest:
    """One Explain: the picture (a Gradio upload path or a sketch dict; None before any), the model, the
    class (a name or an index; empty = the top-1), the methods ticked, their settings and how the maps
    are painted."""
    picture: object
    model_name: str
    target: str | None
    methods: tuple[str, ...]
    settings: MethodSettings
    look: MapLook

    @classmethod
    def from_controls(cls, picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples,
                      sg_noise, occ_window, occ_stride) -> "ExplainRequest":
        """The request from the controls' values, in the order the events send them (SaliencyTab.controls)."""
        settings = MethodSettings(layer, ig_steps, sg_samples, sg_noise, occ_window, occ_stride)
        return cls(picture, model_name, target, tuple(methods or ()), settings, MapLook(sign, opacity, cmap))


def method_choices(model_name: str) -> list[tuple[str, str]]:
    """(title, name) of the methods Captum computes correctly on this model: known once the model is
    chosen, so the list never changes when a picture arrives."""
    return [(at.method_title(m), m) for m in at.methods_of(model_name or DEFAULT_MODEL)]


def methods_update(model_name: str, ticked) -> gr.CheckboxGroup:
    choices = method_choices(model_name)
    valid = [name for _, name in choices]
    return gr.CheckboxGroup(choices=choices, value=[m for m in (ticked or []) if m in valid] or DEFAULT_METHODS)


def _decided(wanted: ExplainRequest, model, reset: bool) -> tuple[ExplainRequest, int | None]:
    """The request as it runs, and its class index (None: the top-1). A new picture or model (reset) starts
    from its top-1 class and the last conv layer with the methods ticked that it can compute; otherwise
    the class and the methods are checked (ValueError naming what is refused)."""
    valid = at.methods_of(model.name)
    if reset:
        methods = tuple(m for m in (wanted.methods or DEFAULT_METHODS) if m in valid) or tuple(DEFAULT_METHODS)
        settings = replace(wanted.settings, layer=at.conv_layers(model)[-1])
        return replace(wanted, methods=methods, settings=settings), None
    target_index = at.resolve_target(model, wanted.target)
    if not wanted.methods:
        raise ValueError("methods: tick at least one method")
    unknown = [m for m in wanted.methods if m not in valid]
    if unknown:
        raise ValueError(f"methods: {', '.join(at.method_title(m) for m in unknown)} cannot be computed "
                         f"correctly on {model.display_name}: {at.guided_backprop_check(model)[1]}")
    return wanted, target_index


# --- the picture, the sheet and the words around the maps -------------------------------------------

def _image(picture) -> Image.Image:
    image = load_image(picture)
    if isinstance(picture, dict) and is_blank(image):
        raise ValueError("sketch: the canvas is empty: draw a digit (or anything) first")
    return image


def sheet_file(items: list, name: str) -> str:
    """All maps side by side, captioned, as one PNG file named `name`, in a folder of its own (visitors'
    files never collide) in Gradio's cache: the download button serves it from there and delete_cache
    removes it with the rest."""
    folder = Path(get_upload_folder()) / "saliency-sheets"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=folder)) / name
    draw_sheet(items).save(path, format="PNG")
    return str(path)


def empty_maps_note(results) -> str:
    """A sentence for each map that is zero (or constant) everywhere, whatever the sign shown."""
    notes = [trust.blank_map(r.method, r.input_map, "absolute", r.layer) for r in results]
    return "".join(f"\n\n**Empty map.** {note}: it cannot show which pixels decided the answer."
                   for note in notes if note)


def _probability(predictions, label) -> str:
    for name, p in predictions:
        if name == label:
            return f"{p:.1%}"
    return "below the top 5"


def _header(model, predictions, wanted: ExplainRequest, results) -> str:
    return (f"**{model.display_name}** explains class **“{results[0].label}”** "
            f"(probability {_probability(predictions, results[0].label)}). Colour = {SIGN_WORDS[wanted.look.sign]}."
            + "".join(f" {at.method_title(r.method)} looks at layer `{r.layer}`." for r in results if r.layer)
            + empty_maps_note(results))


# --- events ------------------------------------------------------------------------------------------

def _maps(model_name: str, wanted: ExplainRequest, image: Image.Image, target_index, flag, progress) -> list:
    """Each method's map, answered from the store of recent maps when it was computed before."""
    results = []
    for i, method in enumerate(wanted.methods):
        label = f"{at.method_title(method)} ({i + 1} of {len(wanted.methods)})"
        results.append(explained(model_name, wanted.picture, image, method, target_index,
                                 wanted.settings.options_for(method), stopping_progress(progress, flag, label)))
    return results


def explain(wanted: ExplainRequest, *, reset: bool, request: gr.Request | None = None, progress=None) -> tuple:
    """The maps and what surrounds them (SaliencyTab.explained_outputs); the trust check follows as its
    own queued step (on_trust), so that other visitors' requests wait behind one shorter job, not one
    long one. reset: a new picture or model (its top-1 class, the last conv layer)."""
    flag = cancel_flag(request)
    flag.clear()
    progress = progress or (lambda *a, **k: None)
    if wanted.picture is None:     # a model chosen before any picture: its own methods, decided now
        return ("### " + HINT,) + (gr.skip(),) * 4 + (methods_update(wanted.model_name, list(wanted.methods)),
                                                      [], None, "", curve_figure([]), gr.skip())
    try:
        model, note = get_model(wanted.model_name or DEFAULT_MODEL)
        image = _image(wanted.picture)
        predictions = top_five(model.name, image)
        wanted, target_index = _decided(wanted, model, reset)
        results = _maps(model.name, wanted, image, target_index, flag, progress)
        items = gallery_items(model, image, results, wanted.look)
    except Stop:
        raise gr.Error("Stopped: press Explain to compute the maps again.", title="Cancelled")
    except ValueError as error:
        return kept_maps(str(error))
    layers = at.conv_layers(model)
    updates = (gr.Markdown(note, visible=bool(note)), as_label(predictions),
               gr.Dropdown(choices=model.labels, value=results[0].label),
               gr.Dropdown(choices=layers, value=wanted.settings.layer or layers[-1]),
               methods_update(model.name, list(wanted.methods)))
    return ((_header(model, predictions, wanted, results),) + updates
            + (items, {"model": model.name, "results": results}, "*Checking how far to trust the maps…*",
               curve_figure([]), gr.DownloadButton(value=sheet_file(items, download_name(model.name, results)))))


def kept_maps(message: str) -> tuple:
    """A setting refused: one message where the maps' header stands, saying what is wrong, and the last
    maps, classes and trust check left on screen as they were (no toast, no error badge over them)."""
    return ((f"⚠️ **Not updated: {message}.** The maps below are still the last ones computed; change "
             "the setting named and explain again."),) + (gr.skip(),) * 10


# on_new_picture and on_explain take the controls' values as Gradio sends them (the private endpoints'
# parameters); the request is built from them here, once.
def on_new_picture(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples, sg_noise,
                   occ_window, occ_stride, request: gr.Request, progress=gr.Progress()):
    wanted = ExplainRequest.from_controls(picture, model_name, target, methods, layer, sign, opacity, cmap,
                                          ig_steps, sg_samples, sg_noise, occ_window, occ_stride)
    return explain(wanted, reset=True, request=request, progress=progress)


def on_explain(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples, sg_noise,
               occ_window, occ_stride, request: gr.Request, progress=gr.Progress()):
    wanted = ExplainRequest.from_controls(picture, model_name, target, methods, layer, sign, opacity, cmap,
                                          ig_steps, sg_samples, sg_noise, occ_window, occ_stride)
    return explain(wanted, reset=False, request=request, progress=progress)


def on_look(picture, maps, sign, opacity, cmap):
    """Opacity or colour map changed: repaint the stored maps, no model run."""
    if not maps or picture is None:
        return gr.skip(), gr.skip()
    try:
        items = gallery_items(get_model(maps["model"])[0], _image(picture), maps["results"], MapLook(sign, opacity, cmap))
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this")
    return items, gr.DownloadButton(value=sheet_file(items, download_name(maps["model"], maps["results"])))


def on_trust(picture, maps, sign, request: gr.Request = None, progress=gr.Progress()):
    """The trust check of the maps shown (after the maps, or when the sign changes)."""
    if not maps or picture is None:
        return gr.skip(), gr.skip()
    flag = cancel_flag(request)
    flag.clear()
    try:
        rows = trust_rows(maps["model"], picture, _image(picture), maps, sign, progress, flag)
    except Stop:
        return "*Trust check stopped.*", curve_figure([])
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this")
    return trust_table(rows), curve_figure(rows)


def on_cancel(request: gr.Request):
    cancel_flag(request).set()


def on_pick_class(evt: gr.SelectData):
    return evt.value


# --- the API ------------------------------------------------------------------------------------------

def attribute_api(image, model_name, method, target, options, request: gr.Request = None):
    """One method's map over an image file: (overlay PNG, numbers). target: class name or index ("" =
    top-1). options: {"sign", "opacity", "colormap", "trust"} and the method's own (n_steps, layer, ...).
    "trust": true adds the tab's trust check (deletion curves, randomisation test), about 4x the map's cost."""
    if image is None:
        raise gr.Error("image: none was given", title="Cannot use this")
    if options is not None and not isinstance(options, dict):
        raise gr.Error("options: give a JSON object such as {\"n_steps\": 16}", title="Cannot use this")
    options = dict(options or {})
    try:
        look = MapLook(options.pop("sign", "absolute"), options.pop("opacity", 0.5), options.pop("colormap", "inferno"))
        check = at.parse_boolean("trust", options.pop("trust", False))
        at.signed(np.zeros(1), look.sign)
        method = method or "saliency"
        if method not in at.METHODS:
            raise ValueError(f"method: unknown {at.echo(method)}; choose one of {', '.join(at.METHODS)}")
        at.check_options(method, options)
        model, note = get_model(model_name or DEFAULT_MODEL)
        picture = _image(image)
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
        raise gr.Error("Stopped: nobody was waiting for the result.", title="Cancelled")
    except (ValueError, TypeError) as error:
        raise gr.Error(str(error), title="Cannot use this")
    return over, numbers


DELETION_FIGURES = ("deletion_auc_map", "deletion_auc_random", "deletion_auc_random_sd", "deletion_auc_random_orders",
                    "deletion_map", "deletion_random", "deletion_random_orders")


def trust_numbers(check: trust.TrustCheck) -> dict:
    """The trust check as /attribute returns it: the verdicts and reasons in words ("trust"), and the
    figures (None where not measurable); deletion_random is the random orders' mean curve."""
    curve = check.curve
    figures = dict.fromkeys(DELETION_FIGURES) if curve is None else {
        "deletion_auc_map": curve.auc_map, "deletion_auc_random": curve.auc_random,
        "deletion_auc_random_sd": curve.random_sd, "deletion_auc_random_orders": curve.auc_random_orders.tolist(),
        "deletion_map": curve.by_map.tolist(), "deletion_random": curve.by_random.tolist(),
        "deletion_random_orders": curve.by_random_orders.tolist()}
    return {"trust": check.as_dict(), **figures, "randomisation_rank_correlation": check.correlation}


# --- the page: layout ----------------------------------------------------------------------------------

TRUST_HELP = (
    "**Deletion curve:** the picture's patches are greyed out, most-attributed first, and the class's "
    "probability is measured after each step; a map that points at what the model uses makes it fall "
    "sooner than greying patches in a random order (smaller area under the curve). "
    "**Randomisation test:** the same method on a copy of the model whose top layers are re-initialised "
    "(random weights); if the map hardly changes (rank correlation near 1) it does not depend on what the "
    "model learned, so it is not explaining the model.")

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


@dataclass
class MethodOptions:
    """The "Method options" accordion: the controls of MethodSettings, in its order."""
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
class SaliencyTab:
    picture: PictureInput
    note: gr.Markdown
    label: gr.Label              # the top-5 classes; clicking one explains it
    target: gr.Dropdown
    methods: gr.CheckboxGroup
    run: gr.Button
    cancel: gr.Button
    sign: gr.Radio
    opacity: SliderInput
    cmap: gr.Dropdown
    options: MethodOptions
    header: gr.Markdown          # what is explained, or why the maps were not updated
    gallery: gr.Gallery
    download: gr.DownloadButton
    trust: gr.Markdown           # the trust table
    plot: gr.Plot                # the deletion curves
    maps: gr.State               # {"model", "results"}: the maps shown, for repainting and the trust check
    api: AttributeApi

    def controls(self) -> list:
        """What an Explain sends, in ExplainRequest.from_controls's order."""
        o = self.options
        return [self.picture.picture, self.picture.model, self.target, self.methods, o.layer, self.sign,
                self.opacity, self.cmap, o.ig_steps, o.sg_samples, o.sg_noise, o.occ_window, o.occ_stride]

    def explained_outputs(self) -> list:
        """What explain returns, in its order."""
        return [self.header, self.note, self.label, self.target, self.options.layer, self.methods, self.gallery,
                self.maps, self.trust, self.plot, self.download]

    def look(self) -> list:
        """What on_look reads."""
        return [self.picture.picture, self.maps, self.sign, self.opacity, self.cmap]


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
            trust_md = gr.Markdown(elem_id="saliency-trust")
            gr.Markdown(TRUST_HELP)
        with gr.Column(scale=2):
            plot = gr.Plot(label="Deletion curves", show_label=False, format="png", elem_id="saliency-curves")
    return dict(trust=trust_md, plot=plot)


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


# --- the page: wiring ----------------------------------------------------------------------------------

QUIET = dict(api_visibility="private")


def _then_trust(tab: SaliencyTab, event, name: str):
    """The trust check of the maps an event drew, as its own queued step."""
    return event.success(on_trust, [tab.picture.picture, tab.maps, tab.sign], [tab.trust, tab.plot],
                         api_name=f"{name}_trust", **QUIET, **MODEL_QUEUE)


def _wire_explain(tab: SaliencyTab) -> list:
    """Every event that draws the maps, each followed by its trust check: the events, for Cancel."""
    controls, outputs = tab.controls(), tab.explained_outputs()
    events = []
    for name, shown in tab.picture.on_new_input(on_new_picture, controls, outputs, show_progress="minimal",
                                                **MODEL_QUEUE).items():
        events += [shown, _then_trust(tab, shown, name)]
    for event, name, mode in [(tab.run.click, "saliency_explain", "once"),
                              (tab.target.input, "saliency_target", "always_last")]:
        explained_event = event(on_explain, controls, outputs, api_name=name, trigger_mode=mode, **QUIET, **MODEL_QUEUE)
        events += [explained_event, _then_trust(tab, explained_event, name)]
    picked = tab.label.select(on_pick_class, None, tab.target, api_name="saliency_pick_class", **QUIET)
    explained_event = picked.then(on_explain, controls, outputs, api_name="saliency_explain_picked", **QUIET,
                                  **MODEL_QUEUE)
    return events + [explained_event, _then_trust(tab, explained_event, "saliency_explain_picked")]


def _wire_look(tab: SaliencyTab) -> list:
    """A new sign repaints the maps and checks the part now shown; opacity and colour map only repaint.
    The events that run a trust check, for Cancel."""
    repainted = tab.sign.input(on_look, tab.look(), [tab.gallery, tab.download], api_name="saliency_sign", **QUIET)
    checked_again = _then_trust(tab, repainted, "saliency_sign")
    for control, name in ((tab.opacity, "saliency_opacity"), (tab.cmap, "saliency_colormap")):
        control.input(on_look, tab.look(), [tab.gallery, tab.download], api_name=name,
                      trigger_mode="always_last", show_progress="hidden", **QUIET)
    return [checked_again]


def wire(tab: SaliencyTab) -> None:
    """Connects the tab's events (and the /attribute endpoint) to its components."""
    events = _wire_explain(tab) + _wire_look(tab)
    tab.cancel.click(on_cancel, None, None, cancels=events, api_name="saliency_cancel", **QUIET)
    tab.api.button.click(attribute_api, tab.api.inputs, tab.api.outputs, api_name="attribute", **MODEL_QUEUE)


def build() -> SaliencyTab:
    tab = layout()
    wire(tab)
    return tab
