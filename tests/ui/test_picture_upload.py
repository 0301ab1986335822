"""The shared picture input: a file that is not a picture is reported once and the previous photo
comes back; the same broken file given again later is reported again."""
import warnings

import pytest

from explorer.core.models import DEFAULT_MODEL
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
        changed = after_upload(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")
    assert changed == {"photo": "/tmp/gradio/def/cat.jpg"}          # the picture and model stay as they are
    changed, said = _quietly(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")   # the second event
    assert said == [] and changed == {}

    changed = after_upload(key, "/tmp/gradio/def/cat.jpg", "resnet18", "/tmp/gradio/def/cat.jpg")
    assert changed == {"picture": "/tmp/gradio/def/cat.jpg"}          # a photo model in the box is left alone
    changed, said = _quietly(key, JUNK, "resnet18", "/tmp/gradio/def/cat.jpg")      # given again: said again
    assert len(said) == 1 and changed == {"photo": "/tmp/gradio/def/cat.jpg"}


def test_with_no_photo_before_the_box_is_emptied_and_the_message_says_what_to_do():
    sketch = {"composite": None, "layers": []}
    changed, said = _quietly(("stages", "session-2"), JUNK, "digits", sketch)
    assert changed == {"photo": None} and len(said) == 1 and said[0].endswith("Give another picture.")
    changed, said = _quietly(("saliency", "session-2"), JUNK, "digits", None)          # each tab its own
    assert changed == {"photo": None} and len(said) == 1


def test_a_photo_after_a_drawing_goes_back_to_the_photo_model():
    changed = after_upload(("stages", "session-3"), "/tmp/gradio/def/cat.jpg", "digits", None)
    assert changed["picture"] == "/tmp/gradio/def/cat.jpg" and changed["model"].value == DEFAULT_MODEL


def test_a_photo_leaves_a_photo_model_in_the_box_alone_so_a_model_set_with_it_is_not_overwritten():
    # a link's view sets the model and the photo in one answer; the photo's event may read the box before
    # the new model lands: it must not send the old model back
    for model in ("efficientnet_lite0", "resnet18", "vgg16"):
        assert "model" not in after_upload(("stages", "session-4"), "/tmp/gradio/def/cat.jpg", model, None)
    assert after_upload(("stages", "session-4"), "/tmp/gradio/def/cat.jpg", "digits", None)["model"].value \
        == DEFAULT_MODEL
