"""Drawings are checked before Gradio decodes them (explorer.ui.picture_input.CheckedSketchpad): layers
counted, sizes read from the file headers, the photos' 50-megapixel limit for all parts together."""
import gradio as gr
import pytest
from gradio.components.image_editor import AcceptBlobs, EditorData, EditorDataBlobs
from gradio.data_classes import FileData
from image_files import encoded, png_claiming
from PIL import Image

from explorer.core.images import load_image
from explorer.ui.picture_input import MAX_LAYERS, CheckedSketchpad


@pytest.fixture
def pad(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    return CheckedSketchpad(type="filepath", format="png", image_mode="RGBA")


def _file(pad, name: str, data: bytes) -> FileData:
    path = f"{pad.GRADIO_CACHE}/{name}"
    with open(path, "wb") as out:
        out.write(data)
    return FileData(path=path, orig_name=name)


def _stroke() -> bytes:
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (15, 5, 25, 35))
    return encoded(image, "PNG")


def test_a_small_drawing_arrives_as_file_paths_that_load(pad):
    payload = EditorData(background=_file(pad, "bg.png", encoded(Image.new("RGBA", (40, 40), "white"), "PNG")),
                         layers=[_file(pad, "layer.png", _stroke())], composite=_file(pad, "c.png", _stroke()))
    value = pad.preprocess(payload)
    assert isinstance(value["composite"], str) and isinstance(value["layers"][0], str)
    picture = load_image(value)
    assert picture.size == (40, 40) and picture.getpixel((20, 20)) == (0, 0, 0)
    assert picture.getpixel((2, 2)) == (255, 255, 255)


@pytest.mark.parametrize("parts, message", [
    (dict(layers=[("huge.png", png_claiming(12_000, 12_000))]),
     "drawing: the layer 1 is 12000x12000, 144 megapixels; the limit is 50"),
    (dict(background=("bomb.png", png_claiming(30_000, 30_000))),
     "drawing: the background has too many pixels to open safely; the limit is 50 megapixels"),
    (dict(background=("bg.png", png_claiming(5000, 5000)),
          layers=[(f"l{k}.png", png_claiming(5000, 5000)) for k in range(2)]),
     "drawing: its 3 pictures (background, layers and composite) have 75 megapixels together; the limit is 50"),
    (dict(layers=[(f"l{k}.png", _stroke()) for k in range(MAX_LAYERS + 1)]),
     f"drawing: it has {MAX_LAYERS + 1} layers; at most {MAX_LAYERS}"),
    (dict(composite=("c.png", b"%!PS-Adobe-3.0 EPSF-3.0\n")),
     "drawing: the composite: image: PostScript (EPS) files are not accepted"),
    (dict(composite=("c.png", b"not a picture")), "drawing: the composite is not a picture that can be read"),
])
def test_a_costly_or_broken_drawing_is_refused_before_decoding(pad, monkeypatch, parts, message):
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self))
    payload = EditorData(background=_file(pad, *parts["background"]) if "background" in parts else None,
                         layers=[_file(pad, *layer) for layer in parts.get("layers", [])],
                         composite=_file(pad, *parts["composite"]) if "composite" in parts else None)
    with pytest.raises(gr.Error) as refused:
        pad.preprocess(payload)
    assert message in str(refused.value)
    assert decoded == []


def test_a_part_outside_gradios_cache_is_not_opened(pad, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "stroke.png"
    outside.write_bytes(_stroke())
    with pytest.raises(gr.Error, match="drawing: the composite is not an uploaded file"):
        pad.preprocess(EditorData(composite=FileData(path=str(outside))))


def test_blobs_sent_by_the_canvas_are_checked_the_same_way(pad):
    pad.blob_storage["abc"] = EditorDataBlobs(background=None, layers=[png_claiming(12_000, 12_000)],
                                              composite=None)
    with pytest.raises(gr.Error, match="drawing: the layer 1 is 12000x12000"):
        pad.preprocess(EditorData(id="abc"))


def test_a_layer_index_far_out_of_range_is_refused_without_growing_a_list(pad):
    blob = AcceptBlobs(data={"type": "layer", "index": str(10 ** 9), "id": "x", "file": b""},
                       files=[("blob", _stroke())])
    with pytest.raises(gr.Error, match="drawing: layer index 1000000000 is out of range; at most 8 layers"):
        pad.accept_blobs(blob)
    assert "x" not in pad.blob_storage
    pad.accept_blobs(AcceptBlobs(data={"type": "layer", "index": "1", "id": "x", "file": b""},
                                 files=[("blob", _stroke())]))
    assert len(pad.blob_storage["x"].layers) == 2
