"""The picture and model inputs the Stages and Saliency tabs share: upload / webcam / clipboard,
a Sketchpad, clickable examples and the model picker. The picture last given wins; drawing
switches to the digit model, a photo back to the default photo model."""
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from explorer.models import DEFAULT_MODEL, MODEL_NAMES, REGISTRY, SKETCH_MODEL
from explorer.recent import Recent
from explorer.upload import ImageUpload

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
MODEL_CHOICES = [(REGISTRY[name].title, name) for name in MODEL_NAMES]


def example_paths() -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob("*.jpg"))


@dataclass
class PictureInput:
    photo: gr.Image
    sketch: gr.Sketchpad
    model: gr.Dropdown
    picture: gr.State       # what the user gave last: a Gradio upload path or a sketch dict
    prefix: str
    _taken: tuple = ()

    def on_new_input(self, fn, inputs, outputs, **event_options) -> dict:
        """Run fn after a new picture was taken, and when the user picks another model: the events, by name."""
        events = {}
        for source, taken in zip(("photo", "sketch"), self._taken):
            name = f"{self.prefix}_after_{source}"
            events[name] = taken.then(fn, inputs, outputs, api_name=name, api_visibility="private", **event_options)
        name = f"{self.prefix}_after_model"
        events[name] = self.model.input(fn, inputs, outputs, api_name=name, api_visibility="private", **event_options)
        return events


def _model_for(current: str, kind: str) -> str:
    if kind == "sketch":
        return SKETCH_MODEL
    return DEFAULT_MODEL if REGISTRY[current].input_kind == "sketch" else current


@dataclass(frozen=True)
class Unreadable:
    """An upload that could not be used: the message saying why, and the file's path in Gradio's cache."""
    message: str
    path: str


class PictureUpload(ImageUpload):
    """ImageUpload whose unreadable file reaches the event as an Unreadable instead of failing it, so
    the event can put the previous picture back and say why, once."""

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error as error:
            return Unreadable(str(error.message), str(getattr(payload, "path", "")))


# Gradio's front end sends two change events when an upload replaces a picture; for a file that is
# not a picture, the second must not repeat the message. A good photo taken since clears the record,
# so the same broken file given again is reported again.
_REPORTED = Recent(max_entries=1024)      # (tab, session) -> the unreadable upload reported last


def _first_report(key, path: str) -> bool:
    return _REPORTED.swap(key, path) != path


def after_upload(key, photo, current_model: str, previous):
    """(the picture, the model, the upload box) after the upload box changed. An unreadable file gets one
    warning and the box goes back to the previous photo (or is emptied), so that what the tab shows
    always belongs to the picture in the box."""
    if isinstance(photo, Unreadable):
        if not _first_report(key, photo.path):
            return gr.skip(), gr.skip(), gr.skip()
        back = previous if isinstance(previous, str) else None
        gr.Warning(f"{photo.message}. " + ("Your previous picture is back." if back else "Give another picture."),
                   title="Cannot use this")
        return gr.skip(), gr.skip(), back
    if _REPORTED.get(key):
        _REPORTED.put(key, "")
    return photo, gr.Dropdown(value=_model_for(current_model, "photo")), gr.skip()


def build_picture_input(prefix: str) -> PictureInput:
    """Builds the inputs in the current layout context; `prefix` keeps api names unique per tab."""
    model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="Model")
    with gr.Tabs():
        with gr.Tab("Photo"):
            photo = PictureUpload(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                                label="Upload, webcam or paste a picture", height=300)
            gr.Examples(example_paths(), inputs=photo, label="Examples (click one)", examples_per_page=12)
        with gr.Tab("Draw"):
            gr.Markdown("Pick the pen in the canvas's left toolbar, then draw a digit (or anything).")
            sketch = gr.Sketchpad(type="pil", image_mode="RGBA", canvas_size=(400, 400), height=340,
                                  label="Drawing", show_label=False,
                                  brush=gr.Brush(default_size=24, colors=["#000000"], default_color="#000000"))
    picture = gr.State(None)

    def take_photo(path, current, previous, request: gr.Request):
        return after_upload((prefix, getattr(request, "session_hash", None)), path, current, previous)

    def take_sketch(value, current):
        return value, gr.Dropdown(value=_model_for(current, "sketch"))

    taken_photo = photo.change(take_photo, [photo, model, picture], [picture, model, photo],
                               api_name=f"{prefix}_photo", api_visibility="private", show_progress="hidden")
    taken_sketch = sketch.change(take_sketch, [sketch, model], [picture, model], api_name=f"{prefix}_sketch",
                  api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    return PictureInput(photo, sketch, model, picture, prefix, (taken_photo, taken_sketch))
