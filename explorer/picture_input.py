"""The picture and model inputs the Stages and Saliency tabs share: upload / webcam / clipboard,
a Sketchpad, clickable examples and the model picker. The picture last given wins; drawing
switches to the digit model, a photo back to the default photo model."""
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from explorer.models import DEFAULT_MODEL, MODEL_NAMES, REGISTRY, SKETCH_MODEL
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


def build_picture_input(prefix: str) -> PictureInput:
    """Builds the inputs in the current layout context; `prefix` keeps api names unique per tab."""
    model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="Model")
    with gr.Tabs():
        with gr.Tab("Photo"):
            photo = ImageUpload(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                                label="Upload, webcam or paste a picture", height=300)
            gr.Examples(example_paths(), inputs=photo, label="Examples (click one)", examples_per_page=12)
        with gr.Tab("Draw"):
            gr.Markdown("Pick the pen in the canvas's left toolbar, then draw a digit (or anything).")
            sketch = gr.Sketchpad(type="pil", image_mode="RGBA", canvas_size=(400, 400), height=340,
                                  label="Drawing", show_label=False,
                                  brush=gr.Brush(default_size=24, colors=["#000000"], default_color="#000000"))
    picture = gr.State(None)

    def take_photo(path, current):
        return path, gr.Dropdown(value=_model_for(current, "photo"))

    def take_sketch(value, current):
        return value, gr.Dropdown(value=_model_for(current, "sketch"))

    taken_photo = photo.change(take_photo, [photo, model], [picture, model], api_name=f"{prefix}_photo",
                 api_visibility="private", show_progress="hidden")
    taken_sketch = sketch.change(take_sketch, [sketch, model], [picture, model], api_name=f"{prefix}_sketch",
                  api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    return PictureInput(photo, sketch, model, picture, prefix, (taken_photo, taken_sketch))
