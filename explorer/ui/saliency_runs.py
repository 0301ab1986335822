"""Running the Saliency tab's methods, for the page and /attribute alike: the picture given as an image,
each map and each trust check in a GPU slot sized from the request, answered from a store of recent
results when asked again, and stopped between passes when the visitor pressed Cancel or left."""
import threading
from contextlib import contextmanager

import gradio as gr
from PIL import Image

from explorer.core import attribution as at
from explorer.core import features, trust
from explorer.core.gpu import gpu, reporter, reporting, slot_seconds
from explorer.core.images import is_blank, load_image
from explorer.core.models import get_model
from explorer.core.recent import Recent, picture_key
from explorer.core.state import STORES
from explorer.core.words import current, say, speaking
from explorer.ui.cancel import CancelFlags, StopFlag, stopping_progress

# --- Cancel ---------------------------------------------------------------------------------------------

_FLAGS = CancelFlags("saliency.cancel")


def cancel_flag(request: gr.Request | None) -> StopFlag:
    """The session's Cancel flag for the maps and the trust check."""
    return _FLAGS.for_request(request)


# Whether the session's maps or trust check are being computed now: Cancel then says, where they stand, that
# they were stopped (Gradio drops the stopped event's own answer).
_BUSY = {"maps": CancelFlags("saliency.busy_maps"), "trust": CancelFlags("saliency.busy_trust")}


@contextmanager
def running(job: str, request: gr.Request | None):
    """Marks the session's `job` ("maps" or "trust") as running for the block."""
    flag = _BUSY[job].for_request(request)
    flag.set()
    try:
        yield
    finally:
        flag.clear()


def is_running(job: str, request: gr.Request | None) -> bool:
    return threading.Event.is_set(_BUSY[job].for_request(request))


# --- the picture ----------------------------------------------------------------------------------------

def image_of(picture) -> Image.Image:
    """The picture the tab or /attribute was given (a file path or a Sketchpad's dict) as an image; an
    empty sketch is refused (ValueError naming it)."""
    image = load_image(picture)
    if isinstance(picture, dict) and is_blank(image):
        raise ValueError(say("sketch: the canvas is empty: draw a digit (or anything) first",
                             "sketch：画布是空的：请先画一个数字（画什么都行）"))
    return image


# --- the GPU slots --------------------------------------------------------------------------------------

def _passes(model_name: str, method: str, options: dict) -> int:
    """The passes `method` takes at the model's input size, whatever the picture (they size its GPU slot)."""
    try:
        size = features.input_shape(get_model(model_name)[0])[1:]
    except ValueError:   # refused inside, with its message
        return 1
    return at.image_passes(method, options, size)


# On ZeroGPU a GPU function runs in another process: the visitor's language travels as an argument (`lang`),
# so that its refusals and the trust check's reasons are in their words.

def _attribute_seconds(model_name, image, method, target, options, lang="en", job=None) -> int:
    return slot_seconds(model_name, _passes(model_name, method, options))


@gpu(duration=_attribute_seconds)
def _attribute(model_name: str, image: Image.Image, method: str, target: int, options: dict, lang: str = "en",
               job=None):
    model, _ = get_model(model_name)
    with speaking(lang):
        return at.attribute_input(model, model.preprocess(image), method, target, progress=reporter(job), **options)


def _trust_seconds(model_name, image, result, sign, lang="en", job=None) -> int:
    """The randomised model's maps (the method's passes at each cascade step) and the deletion and insertion
    curves against the random orders (explorer.core.trust.check_passes)."""
    return slot_seconds(model_name, trust.check_passes(_passes(model_name, result.method, result.options)))


@gpu(duration=_trust_seconds)
def _trust(model_name: str, image: Image.Image, result: at.Attribution, sign: str, lang: str = "en",
           job=None) -> trust.TrustCheck:
    model, _ = get_model(model_name)
    with speaking(lang):
        return trust.trust_check(model, model.preprocess(image), result.method, result.target, sign=sign,
                                 attribution=result, progress=reporter(job))


# --- recent results -------------------------------------------------------------------------------------

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
            return _attribute(model_name, image, method, target, options, current(), job)
    return _MAPS.get_or_compute(key, compute)


def checked(model_name: str, picture, image: Image.Image, result: at.Attribution, sign: str,
            progress=None) -> trust.TrustCheck:
    """The trust check of the part of the map shown (sign). The randomised model's map does not depend
    on the sign, so a new sign reuses it (explorer.core.trust keeps it). A check's reasons are words, kept
    per language: a visitor in the other language gets them again from its kept figures, in theirs."""
    key = (model_name, picture_key(picture), result.method, result.target, result.layer,
           repr(sorted(result.options.items())), sign, current())
    def compute() -> trust.TrustCheck:
        with reporting(progress) as job:
            return _trust(model_name, image, result, sign, current(), job)
    return _CHECKS.get_or_compute(key, compute)


def trust_rows(model_name, picture, image, maps, sign, progress=None, flag=None) -> list[dict]:
    """{"title", "check"} of each map in `maps` (the tab's stored maps), for the trust table and plot."""
    rows = []
    flag = flag or threading.Event()
    for result in maps["results"]:
        report = stopping_progress(progress or (lambda *a, **k: None), flag,
                                   say("Trust check: {method} on the randomised model", "可信度检验：{method}，在随机化的"
                                       "模型上", method=at.method_title(result.method)))
        rows.append({"title": at.method_title(result.method),
                     "check": checked(model_name, picture, image, result, sign, report)})
    return rows
