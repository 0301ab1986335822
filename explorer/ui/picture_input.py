"""The picture and model inputs the Stages and Saliency tabs share: upload / webcam / clipboard,
a Sketchpad, clickable examples and the model picker. The picture last given wins; drawing
switches to the digit model, a photo back to the default photo model."""
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.components.base import server
from gradio.data_classes import FileData
from PIL import Image, UnidentifiedImageError

from explorer.core.images import MAX_PIXELS, open_header
from explorer.core.models import DEFAULT_MODEL, SKETCH_MODEL, find
from explorer.core.recent import Recent
from explorer.core.state import STORES
from explorer.core.words import pick, say
from explorer.ui.by_name import event
from explorer.ui.own_model import MODEL_CHOICES, build_own_model
from explorer.ui.upload import ImageUpload
from explorer.ui.words import t

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"

# what the Stages and Saliency tabs say before any picture
# (HINT: the English, kept for the tabs that still use it; `hint()` at run time, `HINT_HEADING` in a page)
HINT_WORDS = {"en": "Upload, paste or snap a photo, click an example, or draw on the **Draw** tab.",
              "zh": "上传、粘贴或拍一张照片，点一个示例，或在 **画图** 页里画一张。"}
HINT = HINT_WORDS["en"]
HINT_HEADING = t("### " + HINT_WORDS["en"], "### " + HINT_WORDS["zh"])


def hint() -> str:
    """HINT in the language spoken now (a handler's message or Markdown)."""
    return pick(HINT_WORDS)


def example_paths() -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob("*.jpg"))


@dataclass
class PictureInput:
    photo: gr.Image
    sketch: "CheckedSketchpad"
    model: gr.Dropdown
    picture: gr.State       # what the user gave last: a Gradio upload path or a sketch dict
    prefix: str
    _taken: tuple = ()

    def on_new_input(self, fn, inputs, outputs, **event_options) -> dict:
        """Run fn after a new picture was taken, and when the user picks another model: the events, by name.
        `inputs` and `outputs` as Gradio takes them (a set of inputs: fn gets one dict)."""
        events = {}
        for source, taken in zip(("photo", "sketch"), self._taken):
            name = f"{self.prefix}_after_{source}"
            events[name] = taken.then(fn, inputs, outputs, api_name=name, api_visibility="private", **event_options)
        name = f"{self.prefix}_after_model"
        # `select`, not `input`: Gradio 6.31's dropdown sends `input` again on the blur after a pick
        events[name] = self.model.select(fn, inputs, outputs, api_name=name, api_visibility="private", **event_options)
        return events


MAX_LAYERS = 8              # the Sketchpad makes one; more come only from a hand-made request
STATE_SECONDS = 1800        # a session's picture is forgotten with its files (delete_cache's age, explorer.ui.app)


def _drawing_error(message: str) -> gr.Error:
    """gr.Error for the drawing, its message made by say() ("drawing: what is wrong")."""
    return gr.Error(message, title=say("Cannot use this", "无法使用"))


def _part_name(name: str) -> str:
    """A part of the drawing ("background", "composite", "layer 2") as the visitor's language names it."""
    if name.startswith("layer "):
        return say("layer {n}", "第 {n} 层", n=name.split(" ", 1)[1])
    return say(name, {"background": "背景", "composite": "合成图"}.get(name, name))


class CheckedSketchpad(gr.Sketchpad):
    """gr.Sketchpad whose drawing is checked before Gradio decodes it: the number of layers, and every
    part's size read from its file header, with the same limit as photos (explorer.core.images.MAX_PIXELS)
    for all the parts together. Gradio would otherwise decode every layer first (a 144-megapixel
    layer is 850 MB) and keep the decoded pictures in the session's state; with type="filepath" the
    state holds the parts' paths in Gradio's cache."""

    def get_block_name(self) -> str:
        return "imageeditor"      # rendered by gr.ImageEditor's front end, as gr.Sketchpad is

    @server
    def accept_blobs(self, data):
        """The canvas sends each layer as a blob before the event; a layer index beyond MAX_LAYERS
        would make Gradio grow a list to that length."""
        index = data.data.get("index")
        if index not in (None, "null") and not (str(index).isdigit() and int(index) < MAX_LAYERS):
            raise _drawing_error(say("drawing: layer index {index} is out of range; at most {most} layers",
                                     "drawing：图层编号 {index} 超出范围；最多 {most} 个图层",
                                     index=str(index)[:20], most=MAX_LAYERS))
        return super().accept_blobs(data)

    def preprocess(self, payload):
        if payload is not None:
            check_drawing(self._parts(payload), Path(self.GRADIO_CACHE))
        return super().preprocess(payload)

    def _parts(self, payload) -> dict:
        source = self.blob_storage.get(payload.id) if payload.id is not None else payload
        if source is None:
            return {}
        parts = {"background": source.background, "composite": source.composite}
        parts |= {f"layer {k + 1}": layer for k, layer in enumerate(source.layers or [])}
        return parts


def check_drawing(parts: dict, cache: Path) -> None:
    """gr.Error naming what is wrong when the drawing has too many layers or pixels (headers only)."""
    layers = sum(name.startswith("layer") for name in parts)
    if layers > MAX_LAYERS:
        raise _drawing_error(say("drawing: it has {layers} layers; at most {most}",
                                 "drawing：它有 {layers} 个图层；最多 {most} 个", layers=layers, most=MAX_LAYERS))
    total = 0
    for name, part in parts.items():
        if part is None:
            continue
        width, height = _header_size(name, part, cache)
        if width * height > MAX_PIXELS:
            raise _drawing_error(say("drawing: the {name} is {width}x{height}, {size:.0f} megapixels; the limit "
                                     "is {most:.0f}",
                                     "drawing：{name}为 {width}x{height}，{size:.0f} 百万像素；上限是 {most:.0f} 百万像素",
                                     name=_part_name(name), width=width, height=height, size=width * height / 1e6,
                                     most=MAX_PIXELS / 1e6))
        total += width * height
    if total > MAX_PIXELS:
        raise _drawing_error(say("drawing: its {count} pictures (background, layers and composite) have {size:.0f} "
                                 "megapixels together; the limit is {most:.0f}",
                                 "drawing：它的 {count} 张图（背景、图层和合成图）合计 {size:.0f} 百万像素；"
                                 "上限是 {most:.0f} 百万像素",
                                 count=len([p for p in parts.values() if p is not None]), size=total / 1e6,
                                 most=MAX_PIXELS / 1e6))


def _header_size(name: str, part, cache: Path) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)     # the size is checked next
            return _opened_size(name, part, cache)
    except gr.Error:
        raise
    except Image.DecompressionBombError:
        raise _drawing_error(say("drawing: the {name} has too many pixels to open safely; the limit is {most:.0f} "
                                 "megapixels", "drawing：{name}像素太多，无法安全打开；上限是 {most:.0f} 百万像素",
                                 name=_part_name(name), most=MAX_PIXELS / 1e6)) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise _drawing_error(say("drawing: the {name} is not a picture that can be read",
                                 "drawing：{name}不是能读取的图片", name=_part_name(name))) from None
    except ValueError as error:                 # EPS and the like, refused by their header
        raise _drawing_error(say("drawing: the {name}: {error}", "drawing：{name}：{error}",
                                 name=_part_name(name), error=error)) from None


def _opened_size(name: str, part, cache: Path) -> tuple[int, int]:
    if isinstance(part, FileData):
        path = Path(part.path).resolve()
        if not path.is_relative_to(cache.resolve()):
            raise _drawing_error(say("drawing: the {name} is not an uploaded file", "drawing：{name}不是上传的文件",
                                     name=_part_name(name)))
        with open_header(path) as image:
            return image.size
    with open_header(io.BytesIO(bytes(part))) as image:
        return image.size


def _model_for(current: str, kind: str) -> str:
    if kind == "sketch":
        return SKETCH_MODEL
    try:
        found = find(current)
    except ValueError:              # a name typed in the picker that is refused: the photo model
        found = None
    return DEFAULT_MODEL if found is None or found.input_kind == "sketch" else current


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
_REPORTED = STORES.register(      # (tab, session) -> the unreadable upload reported last
    "picture_input.reported", Recent(max_entries=1024), "the unreadable upload each session was told about",
    forget=lambda session: _REPORTED.drop_where(lambda key: isinstance(key, tuple) and session in key))


def _first_report(key, path: str) -> bool:
    return _REPORTED.swap(key, path) != path


def after_upload(key, photo, current_model: str, previous) -> dict:
    """What changes after the upload box changed, by PictureInput's names: "picture" (the picture
    given), "model" and "photo" (the upload box); left out: unchanged. An unreadable file gets one
    warning and the box goes back to the previous photo (or is emptied), so that what the tab shows
    always belongs to the picture in the box."""
    if isinstance(photo, Unreadable):
        if not _first_report(key, photo.path):
            return {}
        back = previous if isinstance(previous, str) else None
        if back:
            said = say("{message}. Your previous picture is back.", "{message}。已换回你之前的图片。",
                       message=photo.message)
        else:
            said = say("{message}. Give another picture.", "{message}。请换一张图片。", message=photo.message)
        gr.Warning(said, title=say("Cannot use this", "无法使用"))
        return {"photo": back}
    if _REPORTED.get(key):
        _REPORTED.put(key, "")
    return {"picture": photo} | _model_change(current_model, "photo")


def _model_change(current: str, kind: str) -> dict:
    """The model box's new value for a picture of `kind`, or nothing when the model in the box suits it: the
    box is then left alone, so a model put there with the picture (a link's view: both arrive in one answer,
    and the picture's event may read the box before the model lands) is not overwritten by the old one."""
    model = _model_for(current, kind)
    return {} if model == current else {"model": gr.Dropdown(value=model)}


# The Brush button's name (its aria-label, Gradio's word "image_editor.brush": Gradio 6.31 has no Chinese for
# it, so a zh-CN page names it in English too; tests/browser/test_picture_input_browser.py draws in both)
BRUSH_NAMES = ("Brush",)


def pick_brush(prefix: str) -> str:
    """JavaScript that selects the Sketchpad's brush once its button is there (a Draw tab opened for the
    first time draws its Sketchpad after the select event), after Gradio's own change of tool (100 ms)."""
    return f"""() => {{
        let tries = 0;
        const pick = () => {{
            const brush = [...document.querySelectorAll('#{prefix}-draw button')]
                .find((b) => {list(BRUSH_NAMES)}.includes(b.getAttribute('aria-label')));
            if (brush) brush.click();
            else if (++tries < 50) setTimeout(pick, 100);
        }};
        setTimeout(pick, 100);
    }}"""


def build_picture_input(prefix: str) -> PictureInput:
    """Builds the inputs in the current layout context; `prefix` keeps api names unique per tab."""
    model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label=t("Model", "模型"), allow_custom_value=True,
                        elem_id=f"{prefix}-model",
                        info=t("Pick a model, or type any timm CNN as timm:<name> (e.g. timm:resnet18). A drawing "
                               "switches to the digit model, a photo back to a photo model. Your own weights: "
                               "\"Your model\" below.",
                               "选一个模型，或输入任意 timm 卷积神经网络，写作 timm:<名称>（例如 timm:resnet18）。"
                               "画图时会换成手写数字模型，换回照片时回到照片模型。用你自己的权重：见下方“你的模型”。"))
    build_own_model(prefix, model)
    with gr.Tabs() as sources:          # ids "photo" and "draw": a view that gives a drawing opens Draw
        with gr.Tab(t("Photo", "照片"), id="photo"):
            photo = PictureUpload(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                                  label=t("Upload, webcam or paste a picture", "上传、用摄像头拍或粘贴一张图片"),
                                  height=300, elem_id=f"{prefix}-photo")
            gr.Examples(example_paths(), inputs=photo, label=t("Examples (click one)", "示例（点一个）"),
                        examples_per_page=12)
        with gr.Tab(t("Draw", "画图"), elem_id=f"{prefix}-draw", id="draw") as draw_tab:
            gr.Markdown(t("Draw a digit (or anything) with the mouse or a finger.",
                          "用鼠标或手指画一个数字（画别的也行）。"))
            sketch = CheckedSketchpad(type="filepath", format="png", image_mode="RGBA", canvas_size=(400, 400),
                                      height=340, label=t("Drawing", "画"), show_label=False,
                                      brush=gr.Brush(default_size=24, colors=["#000000"], default_color="#000000"))
    picture = gr.State(None, time_to_live=STATE_SECONDS)
    # Gradio 6.31's Sketchpad opens with its Brush button lit but no tool active, and its Clear button
    # (the bin) leaves no tool active: the next strokes draw nothing. Opening the Draw tab and clearing
    # the canvas pick the brush, so the canvas is always ready to draw.
    draw_tab.select(None, js=pick_brush(prefix), api_name=f"{prefix}_draw_ready", api_visibility="private")
    sketch.clear(None, js=pick_brush(prefix), api_name=f"{prefix}_draw_cleared", api_visibility="private")

    components = dict(photo=photo, sketch=sketch, model=model, picture=picture)

    def take_photo(v: dict, request: gr.Request) -> dict:
        return after_upload((prefix, getattr(request, "session_hash", None)), v["photo"], v["model"], v["picture"])

    def take_sketch(v: dict) -> dict:
        return {"picture": v["sketch"]} | _model_change(v["model"], "sketch")

    taken_photo = photo.change(**event(components, take_photo, ("photo", "model", "picture"),
                                       ("picture", "model", "photo")),
                               api_name=f"{prefix}_photo", api_visibility="private", show_progress="hidden")
    taken_sketch = sketch.change(**event(components, take_sketch, ("sketch", "model"), ("picture", "model")),
                                 api_name=f"{prefix}_sketch", api_visibility="private", show_progress="hidden",
                                 trigger_mode="always_last")
    given = PictureInput(photo, sketch, model, picture, prefix, (taken_photo, taken_sketch))
    given.sources = sources
    return given
