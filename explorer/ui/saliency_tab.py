"""The Saliency tab: which pixels decided the model's answer (explorer.core.attribution, through Captum), and
beside each map a check of how far to trust it (explorer.core.trust)."""
import re
import tempfile
import threading
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image, ImageDraw

from explorer.core import attribution as at
from explorer.core import budgets, features
from explorer.core import trust
from explorer.core.gpu import MODEL_QUEUE, gpu, reporter, reporting, slot_seconds
from explorer.ui.gradio_patches import abandoned
from explorer.core.images import is_blank, load_image
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import MODEL_CHOICES, build_picture_input
from explorer.core.recent import Recent, picture_key
from explorer.ui.upload import ImageUpload
from explorer.core.state import STORES

TITLE = "Saliency"
DEFAULT_METHODS = ["gradcam"]
HINT = "Upload, paste or snap a photo, click an example, or draw on the **Draw** tab."
SIGN_WORDS = {"absolute": "how strongly (either way)", "positive": "for the class", "negative": "against the class"}


# --- running the methods --------------------------------------------------------------------------

class Stop(at.Cancelled):
    pass


class _StopFlag(threading.Event):
    """Set by Cancel; also reads as set once nobody waits for the session's job any more (the tab closed,
    the client gone): every progress report of the maps and of the trust check asks it."""
    request: gr.Request | None = None

    def is_set(self) -> bool:
        return super().is_set() or abandoned(self.request)


_cancel: dict[str, _StopFlag] = STORES.register("saliency.cancel", {}, "a Cancel flag per session",
                                                forget=lambda session: _cancel.pop(session, None))


def _flag(request: gr.Request | None) -> _StopFlag:
    key = getattr(request, "session_hash", None) or "api"
    flag = _cancel.setdefault(key, _StopFlag())
    flag.request = request
    return flag


def _image(picture) -> Image.Image:
    image = load_image(picture)
    if isinstance(picture, dict) and is_blank(image):
        raise ValueError("sketch: the canvas is empty: draw a digit (or anything) first")
    return image


def method_choices(model_name: str) -> list[tuple[str, str]]:
    """(title, name) of the methods Captum computes correctly on this model: known once the model is
    chosen, so the list never changes when a picture arrives."""
    return [(at.method_title(m), m) for m in at.methods_of(model_name or DEFAULT_MODEL)]


def methods_update(model_name: str, ticked) -> gr.CheckboxGroup:
    choices = method_choices(model_name)
    valid = [name for _, name in choices]
    return gr.CheckboxGroup(choices=choices, value=[m for m in (ticked or []) if m in valid] or DEFAULT_METHODS)


def method_options(method: str, layer, ig_steps, sg_samples, sg_noise, occ_window, occ_stride) -> dict:
    """The UI's controls as the options `method` takes (0 / empty = the method's default)."""
    given = {"layer": layer or None, "n_steps": ig_steps, "nt_samples": sg_samples, "stdevs": sg_noise,
             "window": occ_window or None, "stride": occ_stride or None}
    spec = at.METHODS[method]
    allowed = set(spec.options) | ({"layer"} if spec.uses_layer else set())
    return {k: v for k, v in given.items() if k in allowed and v is not None}


def _passes(model_name: str, method: str, options: dict) -> int:
    """The passes `method` takes at the model's input size, whatever the picture (they size its GPU slot)."""
    try:
        size = features.input_shape(get_model(model_name)[0])[1:]
    except ValueError:   # refused inside, with its message
        return 1
    return at.image_passes(method, options, size)


def _attribute_seconds(model_name, image, method, target, options, job=None) -> int:
    return slot_seconds(model_name, _passes(model_name, method, options))


@gpu(duration=_attribute_seconds)
def _attribute(model_name: str, image: Image.Image, method: str, target: int, options: dict, job=None):
    model, _ = get_model(model_name)
    return at.attribute_input(model, model.preprocess(image), method, target, progress=reporter(job), **options)


@gpu(duration=lambda model_name, *args, **kwargs: slot_seconds(model_name))
def _predict(model_name: str, image: Image.Image) -> list[tuple[str, float]]:
    model, _ = get_model(model_name)
    return model.predict(image, k=5)


def _trust_seconds(model_name, image, result, sign, job=None) -> int:
    """The randomised model's map (the method's passes) and the deletion curves (explorer.core.trust)."""
    passes = _passes(model_name, result.method, result.options) + trust.CHECK_PASSES
    return slot_seconds(model_name, passes)


@gpu(duration=_trust_seconds)
def _trust(model_name: str, image: Image.Image, result: at.Attribution, sign: str, job=None) -> trust.TrustCheck:
    model, _ = get_model(model_name)
    return trust.trust_check(model, model.preprocess(image), result.method, result.target, sign=sign,
                             attribution=result, progress=reporter(job))


# Maps and trust checks are the same every time for the same picture, model, method, class and options:
# the example pictures, explained again and again on a public Space, are answered from here.
_MAPS = STORES.register("saliency.maps", Recent(max_entries=64), "attribution maps of recent requests")
_CHECKS = STORES.register("saliency.checks", Recent(max_entries=64), "trust checks of recent requests")


def forget_results() -> None:
    """Empty the stores of maps and trust checks (benchmarks time the computation, not the store)."""
    for store in (_MAPS, _CHECKS, trust.RANDOMISED_MAPS, trust.RANDOM_CURVES):
        store.clear()


def explained(model_name: str, picture, image: Image.Image, method: str, target, options: dict,
              progress=None) -> at.Attribution:
    key = (model_name, picture_key(picture), method, target, repr(sorted(options.items())))
    def compute() -> at.Attribution:
        with reporting(progress) as job:
            return _attribute(model_name, image, method, target, options, job)
    return _MAPS.get_or_compute(key, compute)


def checked(model_name: str, picture, image: Image.Image, result: at.Attribution, sign: str,
            progress=None) -> trust.TrustCheck:
    """The trust check of the part of the map shown (sign). The randomised model's map does not depend
    on the sign, so a new sign reuses it (explorer.core.trust keeps it)."""
    key = (model_name, picture_key(picture), result.method, result.target, result.layer,
           repr(sorted(result.options.items())), sign)
    def compute() -> trust.TrustCheck:
        with reporting(progress) as job:
            return _trust(model_name, image, result, sign, job)
    return _CHECKS.get_or_compute(key, compute)


# --- pictures ---------------------------------------------------------------------------------------

def _legend(width: int, cmap: str, sign: str) -> Image.Image:
    bar = at.colorize(np.tile(np.linspace(0, 1, max(width - 120, 10)), (12, 1)), cmap)
    strip = Image.new("RGB", (width, 30), "white")
    strip.paste(bar, (60, 9))
    draw = ImageDraw.Draw(strip)
    draw.text((6, 8), "low", fill="black")
    draw.text((width - 54, 8), "high", fill="black")
    return strip


def render(model_name: str, image: Image.Image, result: at.Attribution, sign: str, opacity: float,
           cmap: str) -> tuple[Image.Image, Image.Image]:
    """(overlay on the picture, heat map with a colour scale)."""
    model, _ = get_model(model_name)
    heat = at.normalise(at.signed(at._map_to_image(model, image, result.input_map), sign))
    over = at.overlay(image, heat, opacity, cmap)
    box = at.seen_box(model, image)
    if box and box != (0, 0, image.width, image.height):
        draw = ImageDraw.Draw(over)
        draw.rectangle(box, outline="white", width=3)
        draw.rectangle(box, outline="black", width=1)
    plain = at.colorize(heat, cmap)
    framed = Image.new("RGB", (plain.width, plain.height + 30), "white")
    framed.paste(plain, (0, 0))
    framed.paste(_legend(plain.width, cmap, sign), (0, plain.height))
    return over, framed


def gallery_items(model_name, image, results, sign, opacity, cmap) -> list:
    """(picture, caption) for each map: over the picture, then as a heat map; the caption says when the
    part of the map shown is empty."""
    items = []
    for result in results:
        over, heat = render(model_name, image, result, sign, opacity, cmap)
        title = at.method_title(result.method)
        empty = " (empty map)" if trust.blank_map(result.method, result.input_map, sign, result.layer) else ""
        items += [(over, f"{title}{empty}: over the picture"), (heat, f"{title}{empty}: heat map")]
    return items


def empty_maps_note(results) -> str:
    """A sentence for each map that is zero (or constant) everywhere, whatever the sign shown."""
    notes = [trust.blank_map(r.method, r.input_map, "absolute", r.layer) for r in results]
    return "".join(f"\n\n**Empty map.** {note}: it cannot show which pixels decided the answer."
                   for note in notes if note)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "map"


def download_name(model_name: str, results) -> str:
    """The sheet's file name says what it holds: saliency-<model>-<methods>-<class>.png."""
    methods = "+".join(_slug(r.method) for r in results)
    return f"saliency-{_slug(model_name)}-{methods}-{_slug(results[0].label)}.png"


def sheet_file(items: list, name: str) -> str:
    """All maps side by side, captioned, as one PNG file named `name`, in a folder of its own (visitors'
    files never collide) in Gradio's cache: the download button serves it from there and delete_cache
    removes it with the rest."""
    folder = Path(get_upload_folder()) / "saliency-sheets"
    folder.mkdir(parents=True, exist_ok=True)
    height = max(img.height for img, _ in items)
    width = sum(img.width for img, _ in items) + 10 * (len(items) - 1)
    sheet = Image.new("RGB", (width, height + 24), "white")
    left = 0
    for img, caption in items:
        sheet.paste(img, (left, 24))
        ImageDraw.Draw(sheet).text((left + 4, 6), caption[:max(10, img.width // 6)], fill="black")
        left += img.width + 10
    path = Path(tempfile.mkdtemp(dir=folder)) / name
    sheet.save(path, format="PNG")
    return str(path)


# --- trust, in words and a plot ---------------------------------------------------------------------

MARKS = {True: "✓ ", False: "⚠️ ", None: ""}


def _mark(check: trust.Check) -> str:
    return f"{MARKS[check.passed]}{check.verdict}"


def _areas(check: trust.TrustCheck) -> str:
    curve = check.curve
    if curve is None:
        return "—"
    return f"{curve.auc_map:.3f} (random {curve.auc_random:.3f} ± {curve.random_sd:.3f})"


def trust_table(rows: list[dict]) -> str:
    """One row per map: the figures and both verdicts; under the table, each verdict's reason in words
    (one sentence per map when the map itself cannot be checked)."""
    if not rows:
        return ""
    lines = ["| Map | Deletion area: map (random orders) | Deletion verdict | Rank correlation with the randomised "
             "model | Randomisation verdict |", "|---|---|---|---|---|"]
    reasons = []
    for r in rows:
        check = r["check"]
        rho = "—" if check.correlation is None else f"{check.correlation:.2f}"
        lines.append(f"| {r['title']} | {_areas(check)} | {_mark(check.deletion)} | {rho} | "
                     f"{_mark(check.randomisation)} |")
        verdict = "not measurable: " if check.blank is not None else ""
        reasons.append(f"- **{r['title']}**: {verdict}{check.reason}")
    return "\n".join(lines) + "\n\n" + "\n".join(reasons)


TRUST_HELP = (
    "**Deletion curve:** the picture's patches are greyed out, most-attributed first, and the class's "
    "probability is measured after each step; a map that points at what the model uses makes it fall "
    "sooner than greying patches in a random order (smaller area under the curve). "
    "**Randomisation test:** the same method on a copy of the model whose top layers are re-initialised "
    "(random weights); if the map hardly changes (rank correlation near 1) it does not depend on what the "
    "model learned, so it is not explaining the model.")


def curve_figure(rows: list[dict]):
    """The deletion curves of every map that could be checked, and the random orders' spread and mean, as a
    matplotlib figure (None: no curves)."""
    curves = [(r["title"], r["check"].curve) for r in rows if r["check"].curve is not None]
    if not curves:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 3.4), dpi=100, layout="constrained")
    axes = figure.subplots()
    for title, curve in curves:
        axes.plot(curve.fractions, curve.by_map, marker=".", label=f"{title} order (area {curve.auc_map:.2f})")
    first = curves[0][1]
    orders = first.by_random_orders
    axes.fill_between(first.fractions, orders.min(axis=0), orders.max(axis=0), color="0.5", alpha=0.25,
                      label=f"{len(orders)} random orders, their range")
    axes.plot(first.fractions, first.by_random, "k--", label=f"random orders' mean (area {first.auc_random:.2f})")
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="share of patches greyed out", ylabel="probability of the class",
             title="Deletion curves: lower sooner = the map found what the model uses")
    axes.title.set_fontsize(9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return figure


# --- events ------------------------------------------------------------------------------------------

def _labels(predictions) -> dict:
    return {name: p for name, p in predictions}


def _progress_for(progress, flag: threading.Event, label: str):
    """Reports progress between passes through the model, and stops there when the visitor pressed
    Cancel or left (flag: a _StopFlag; nobody waits for the result, so the queue serves the next request)."""
    def report(fraction: float) -> None:
        if flag.is_set():
            raise Stop("cancelled")
        progress(fraction, desc=label)
    return report


def explain(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples, sg_noise,
            occ_window, occ_stride, *, reset: bool, request: gr.Request | None = None, progress=None):
    """The maps; the trust check follows as its own queued step (on_trust), so that other visitors'
    requests wait behind one shorter job, not one long one."""
    flag = _flag(request)
    flag.clear()
    progress = progress or (lambda *a, **k: None)
    if picture is None:     # a model chosen before any picture: its own methods, decided now
        return ("### " + HINT,) + (gr.skip(),) * 4 + (methods_update(model_name, methods),
                                                      [], None, "", curve_figure([]), gr.skip())
    try:
        model, note = get_model(model_name or DEFAULT_MODEL)
        image = _image(picture)
        predictions = _predict(model.name, image)
        valid = at.methods_of(model.name)
        layers = at.conv_layers(model)
        if reset:      # a new picture or model: its top-1 class, the last conv layer
            target_index = None
            layer = layers[-1]
            methods = [m for m in (methods or DEFAULT_METHODS) if m in valid] or DEFAULT_METHODS
        else:
            target_index = at.resolve_target(model, target)
            if not methods:
                raise ValueError("methods: tick at least one method")
            unknown = [m for m in methods if m not in valid]
            if unknown:
                raise ValueError(f"methods: {', '.join(at.method_title(m) for m in unknown)} cannot be computed "
                                 f"correctly on {model.display_name}: {at.guided_backprop_check(model)[1]}")
        results = []
        for i, method in enumerate(methods):
            options = method_options(method, layer, ig_steps, sg_samples, sg_noise, occ_window, occ_stride)
            label = f"{at.method_title(method)} ({i + 1} of {len(methods)})"
            results.append(explained(model.name, picture, image, method, target_index, options,
                                     _progress_for(progress, flag, label)))
        items = gallery_items(model.name, image, results, sign, opacity, cmap)
    except Stop:
        raise gr.Error("Stopped: press Explain to compute the maps again.", title="Cancelled")
    except ValueError as error:
        return kept_maps(str(error))
    header = (f"**{model.display_name}** explains class **“{results[0].label}”** "
              f"(probability {_probability(predictions, results[0].label)}). Colour = {SIGN_WORDS[sign]}."
              + "".join(f" {at.method_title(r.method)} looks at layer `{r.layer}`." for r in results if r.layer)
              + empty_maps_note(results))
    maps = {"model": model.name, "results": results}
    updates = (gr.Markdown(note, visible=bool(note)), _labels(predictions),
               gr.Dropdown(choices=model.labels, value=results[0].label),
               gr.Dropdown(choices=layers, value=layer or layers[-1]),
               methods_update(model.name, methods))
    return (header,) + updates + (items, maps, "*Checking how far to trust the maps…*", curve_figure([]),
                                  gr.DownloadButton(value=sheet_file(items, download_name(model.name, results))))


def kept_maps(message: str) -> tuple:
    """A setting refused: one message where the maps' header stands, saying what is wrong, and the last
    maps, classes and trust check left on screen as they were (no toast, no error badge over them)."""
    return ((f"⚠️ **Not updated: {message}.** The maps below are still the last ones computed; change "
             "the setting named and explain again."),) + (gr.skip(),) * 10


def _probability(predictions, label) -> str:
    for name, p in predictions:
        if name == label:
            return f"{p:.1%}"
    return "below the top 5"


def trust_rows(model_name, picture, image, maps, sign, progress=None, flag=None) -> list[dict]:
    rows = []
    flag = flag or threading.Event()
    for result in maps["results"]:
        report = _progress_for(progress or (lambda *a, **k: None), flag,
                               f"Trust check: {at.method_title(result.method)} on the randomised model")
        rows.append({"title": at.method_title(result.method),
                     "check": checked(model_name, picture, image, result, sign, report)})
    return rows


def on_new_picture(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples, sg_noise,
                   occ_window, occ_stride, request: gr.Request, progress=gr.Progress()):
    return explain(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples,
                       sg_noise, occ_window, occ_stride, reset=True, request=request, progress=progress)


def on_explain(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples, sg_noise,
               occ_window, occ_stride, request: gr.Request, progress=gr.Progress()):
    return explain(picture, model_name, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples,
                       sg_noise, occ_window, occ_stride, reset=False, request=request, progress=progress)


def on_look(picture, maps, sign, opacity, cmap):
    """Opacity or colour map changed: repaint the stored maps, no model run."""
    if not maps or picture is None:
        return gr.skip(), gr.skip()
    try:
        items = gallery_items(maps["model"], _image(picture), maps["results"], sign, opacity, cmap)
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this")
    return items, gr.DownloadButton(value=sheet_file(items, download_name(maps["model"], maps["results"])))


def on_trust(picture, maps, sign, request: gr.Request = None, progress=gr.Progress()):
    """The trust check of the maps shown (after the maps, or when the sign changes)."""
    if not maps or picture is None:
        return gr.skip(), gr.skip()
    flag = _flag(request)
    flag.clear()
    try:
        rows = trust_rows(maps["model"], picture, _image(picture), maps, sign, progress, flag)
    except Stop:
        return "*Trust check stopped.*", curve_figure([])
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this")
    return trust_table(rows), curve_figure(rows)


def on_cancel(request: gr.Request):
    _flag(request).set()


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
        sign = options.pop("sign", "absolute")
        opacity = options.pop("opacity", 0.5)
        cmap = options.pop("colormap", "inferno")
        check = at.parse_boolean("trust", options.pop("trust", False))
        at.signed(np.zeros(1), sign)
        method = method or "saliency"
        if method not in at.METHODS:
            raise ValueError(f"method: unknown {at.echo(method)}; choose one of {', '.join(at.METHODS)}")
        at.check_options(method, options)
        model, note = get_model(model_name or DEFAULT_MODEL)
        picture = _image(image)
        target_index = at.resolve_target(model, None if target is None else str(target))
        waiting = _StopFlag()
        waiting.request = request
        stop = _progress_for(lambda *a, **k: None, waiting, method)
        result = explained(model.name, image, picture, method, target_index, options, stop)
        over, _ = render(model.name, picture, result, sign, opacity, cmap)
        numbers = {"model": model.name, "pretrained": model.pretrained, "method": method,
                   "target": result.target, "label": result.label, "layer": result.layer,
                   "map_size": [picture.height, picture.width], "note": note}
        if check:
            numbers |= trust_numbers(checked(model.name, image, picture, result, sign, stop))
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


# --- layout -------------------------------------------------------------------------------------------

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


def _method_help() -> str:
    return "\n".join(f"- **{m.title}**: {m.description}" for m in at.METHODS.values())


def build() -> None:
    passes = max(4, budgets.current().model_passes)          # the sliders stop at the budget
    most_steps, most_samples = min(128, passes), min(64, passes)
    with gr.Column(elem_id="saliency"):
        gr.Markdown(
            "Which pixels made the model say what it said? An **attribution map** colours each pixel by how much it "
            "pushed the score of one class. Different methods answer that question differently, and a map can "
            "look convincing without explaining the model at all: the **trust check** under the maps tests each one.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                picture = build_picture_input("saliency")
                note = gr.Markdown(visible=False)
                label = gr.Label(num_top_classes=5, label="Top-5 predictions (click one to explain it)")
                target = gr.Dropdown(choices=[], value=None, allow_custom_value=True, filterable=True,
                                     label="Class to explain (type to search all classes)")
            with gr.Column(scale=5):
                with gr.Row(equal_height=False):
                    methods = gr.CheckboxGroup(choices=method_choices(DEFAULT_MODEL),
                                               value=DEFAULT_METHODS, label="Methods (tick several to compare)",
                                               scale=4, elem_id="saliency-methods")
                    with gr.Column(scale=1, min_width=140):
                        run = gr.Button("Explain", variant="primary")
                        cancel = gr.Button("Cancel", variant="stop")
                with gr.Accordion("What the methods do", open=False):
                    gr.Markdown(_method_help())
                with gr.Row():
                    sign = gr.Radio([("absolute", "absolute"), ("positive (for)", "positive"),
                                     ("negative (against)", "negative")], value="absolute", label="Sign shown")
                    opacity = SliderInput(0, 1, value=0.6, step=0.05, label="Overlay opacity")
                    cmap = gr.Dropdown(list(at.COLORMAPS), value="inferno", label="Colour map")
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
                header = gr.Markdown("### " + HINT)
                gallery = gr.Gallery(label="Maps: over the picture (the box is what the model saw) and as heat maps",
                                     columns=4, height="auto", object_fit="contain", format="png",
                                     interactive=False, buttons=["download", "fullscreen"], elem_id="saliency-maps")
                download = gr.DownloadButton("Download the maps (PNG)", value=None, elem_id="saliency-download")
        gr.Markdown("### Can you trust these maps?")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                trust_md = gr.Markdown(elem_id="saliency-trust")
                gr.Markdown(TRUST_HELP)
            with gr.Column(scale=2):
                plot = gr.Plot(label="Deletion curves", show_label=False, format="png", elem_id="saliency-curves")
    gr.HTML(f"<style>{PAGE_CSS}</style>", padding=False, elem_id="saliency-style")
    maps = gr.State(None)

    controls = [picture.picture, picture.model, target, methods, layer, sign, opacity, cmap, ig_steps, sg_samples,
                sg_noise, occ_window, occ_stride]
    outputs = [header, note, label, target, layer, methods, gallery, maps, trust_md, plot, download]
    quiet = dict(api_visibility="private")
    trust_inputs, trust_outputs = [picture.picture, maps, sign], [trust_md, plot]

    def then_trust(event, name: str):
        return event.success(on_trust, trust_inputs, trust_outputs, api_name=f"{name}_trust", **quiet, **MODEL_QUEUE)

    events = []
    for name, shown in picture.on_new_input(on_new_picture, controls, outputs, show_progress="minimal",
                                            **MODEL_QUEUE).items():
        events += [shown, then_trust(shown, name)]
    for event, name, mode in [(run.click, "saliency_explain", "once"), (target.input, "saliency_target", "always_last")]:
        explained_event = event(on_explain, controls, outputs, api_name=name, trigger_mode=mode, **quiet, **MODEL_QUEUE)
        events += [explained_event, then_trust(explained_event, name)]
    picked = label.select(on_pick_class, None, target, api_name="saliency_pick_class", **quiet)
    explained_event = picked.then(on_explain, controls, outputs, api_name="saliency_explain_picked", **quiet,
                                  **MODEL_QUEUE)
    events += [explained_event, then_trust(explained_event, "saliency_explain_picked")]
    repainted = sign.input(on_look, [picture.picture, maps, sign, opacity, cmap], [gallery, download],
                           api_name="saliency_sign", **quiet)
    events.append(then_trust(repainted, "saliency_sign"))
    for control in (opacity, cmap):
        control.input(on_look, [picture.picture, maps, sign, opacity, cmap], [gallery, download],
                      api_name=f"saliency_{'opacity' if control is opacity else 'colormap'}",
                      trigger_mode="always_last", show_progress="hidden", **quiet)
    cancel.click(on_cancel, None, None, cancels=events, api_name="saliency_cancel", **quiet)

    # API-only inputs (gradio_client: handle_file(path), "efficientnet_lite0", "gradcam", "espresso", {...})
    with gr.Group(visible=False):
        api_image = ImageUpload(type="filepath", image_mode=None, label="image")
        api_model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="model")
        api_method = gr.Dropdown(list(at.METHODS), value="saliency", label="method")
        api_target = gr.Textbox(label="target (class name or index; empty = top-1)")
        api_options = gr.JSON(value={}, label="options")
        api_overlay = gr.Image(type="pil", format="png", label="overlay")
        api_numbers = gr.JSON(label="numbers")
        api_button = gr.Button("attribute")
    api_button.click(attribute_api, [api_image, api_model, api_method, api_target, api_options],
                     [api_overlay, api_numbers], api_name="attribute", **MODEL_QUEUE)
