"""The shared picture input: a file that is not a picture is reported once and the previous photo
comes back; the same broken file given again later is reported again."""
import warnings

import gradio as gr
import pytest

from explorer.ui.picture_input import Unreadable, after_upload

JUNK = Unreadable("image: the file is not an image that can be read (PNG, JPEG, GIF, WebP, BMP, TIFF)",
                  "/tmp/gradio/abc/notes.png")


def _quietly(*args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = after_upload(*args)
    return result, [str(w.message) for w in caught]


def test_one_message_for_the_two_change_events_of_one_upload_and_the_previous_photo_back():
    key = ("stages", "session-1")
    with pytest.warns(UserWarning, match=r"not an image that can be read .*\. Your previous picture is back"):
        picture, model, box = after_upload(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")
    assert picture == gr.skip() and model == gr.skip() and box == "/tmp/gradio/def/cat.jpg"
    (picture, model, box), said = _quietly(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")   # the second event
    assert said == [] and picture == model == box == gr.skip()

    picture, model, box = after_upload(key, "/tmp/gradio/def/cat.jpg", "resnet18", "/tmp/gradio/def/cat.jpg")
    assert picture == "/tmp/gradio/def/cat.jpg" and box == gr.skip()
    (_, _, box), said = _quietly(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")      # given again: said again
    assert len(said) == 1 and box == "/tmp/gradio/def/cat.jpg"


def test_with_no_photo_before_the_box_is_emptied_and_the_message_says_what_to_do():
    sketch = {"composite": None, "layers": []}
    (picture, model, box), said = _quietly(("stages", "session-2"), JUNK, "digits", sketch)
    assert box is None and len(said) == 1 and said[0].endswith("Give another picture.")
    (_, _, box), said = _quietly(("saliency", "session-2"), JUNK, "digits", None)          # each tab its own
    assert box is None and len(said) == 1
