"""The activations the Stages tab steps through: one forward pass per picture and model, kept
server-side (every event of a session sends the same picture and model, so stepping finds them here)."""
import gradio as gr
from PIL import Image

from explorer.core.gpu import gpu
from explorer.core.images import is_blank, load_image
from explorer.core.models import Inspection, get_model
from explorer.core.recent import Recent, picture_key
from explorer.core.state import STORES
from explorer.core.words import say
from explorer.ui.predictions import one_pass

# What the tab says before any picture, (English, Chinese): the page's first words (explorer.ui.words.t)
# and the events' (`hint()`). The same words as explorer.ui.picture_input's.
HINT = ("Upload, paste or snap a photo, click an example, or draw on the **Draw** tab.",
        "上传、粘贴或拍一张照片，点一个示例，或在 **画图** 页里画一张。")


def hint() -> str:
    """HINT in the language spoken now."""
    return say(*HINT)


def cannot_use() -> str:
    """The title of a message saying an input cannot be used."""
    return say("Cannot use this", "无法使用")


def inspection_bytes(inspection: Inspection) -> int:
    """The memory an inspection's activations and layer inputs hold: each storage once, whole (a view
    keeps all of the tensor it was cut from)."""
    storages = {}
    for stage in inspection.stages:
        for tensor in (stage.activation, stage.input):
            if tensor is not None:
                storage = tensor.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


# Every event of a session sends the same picture and model, so stepping finds its activations here.
# 256 MB: two VGG-16 inspections, or dozens of the smaller models'.
CACHE = STORES.register("stages.inspections", Recent(max_entries=8, max_bytes=256 * 2**20, size_of=inspection_bytes),
                        "the last inspections (picture, model): a picture everyone tries is run once")


def is_sketch(picture) -> bool:
    """A drawing from the Sketchpad (a dict of its layers), not a photo."""
    return isinstance(picture, dict) and ("composite" in picture or "layers" in picture)


def picture_image(picture) -> Image.Image:
    """The user's picture as RGB; ValueError with the reason when it cannot be used."""
    image = load_image(picture)
    if is_sketch(picture) and is_blank(image):
        raise ValueError(say("sketch: the canvas is empty; draw a digit (or anything) first",
                             "sketch：画布是空的；请先画一个数字（或随便画点什么）"))
    return image


@gpu(duration=one_pass)
def _inspect(model_name: str, image: Image.Image) -> Inspection:
    model, _ = get_model(model_name)
    return model.inspect(image)


def inspection_for(model_name: str, picture) -> Inspection:
    """The picture's inspection: from the cache, else one forward pass (ValueError on bad input)."""
    key = (model_name, picture_key(picture))
    found = CACHE.get(key)
    if found is None:
        found = _inspect(model_name, picture_image(picture))
        CACHE.put(key, found)
    return found


def user_error(error: Exception) -> gr.Error:
    """The error shown to the visitor for a ValueError of the core (its message names what is wrong)."""
    return gr.Error(str(error), title=cannot_use())


def stage_index(inspection: Inspection, stage_no) -> int:
    """The 0-based index of stage `stage_no` (1-based, as the slider counts), kept within the stages."""
    return min(max(int(stage_no or 1), 1), len(inspection.stages)) - 1


def cached_inspection(picture, model_name) -> Inspection:
    """inspection_for, for an event: gr.Error when there is no picture yet or it cannot be used."""
    if picture is None:
        raise gr.Error(hint().replace("**", ""), title=say("No picture yet", "还没有图片"))
    try:
        return inspection_for(model_name, picture)
    except ValueError as error:
        raise user_error(error)



def live_inspection(model_name: str, image: Image.Image) -> Inspection:
    """One forward pass on a live webcam frame, not kept: frames do not come back."""
    return _inspect(model_name, image)
