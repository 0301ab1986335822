"""Whatever a user sends becomes a safe RGB image, or a ValueError that names the problem."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
from image_files import encoded, png_claiming
from PIL import Image

from explorer.core.images import MAX_PIXELS, WORK_SIZE, is_blank, load_image

UPLOADS = Path(tempfile.gettempdir()) / "gradio" / "explorer-tests"


def _upload(name: str, data: bytes) -> str:
    UPLOADS.mkdir(parents=True, exist_ok=True)
    path = UPLOADS / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_mode_becomes_rgb(mode):
    image = Image.new(mode, (40, 30))
    result = load_image(image)
    assert result.mode == "RGB" and result.size == (40, 30)


def test_transparent_sketch_is_flattened_onto_white():
    canvas = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    canvas.paste((0, 0, 0, 255), (20, 20, 30, 30))
    result = np.asarray(load_image({"background": None, "layers": [], "composite": canvas}))
    assert (result[0, 0] == 255).all() and (result[25, 25] == 0).all()


def test_sketch_without_composite_is_built_from_its_layers():
    background = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    layer = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    layer.paste((0, 0, 255, 255), (0, 0, 10, 10))
    result = np.asarray(load_image({"background": background, "layers": [layer], "composite": None}))
    assert tuple(result[5, 5]) == (0, 0, 255) and tuple(result[20, 20]) == (255, 255, 255)


def test_empty_sketch_and_missing_image_are_clear_errors():
    with pytest.raises(ValueError, match="canvas is empty"):
        load_image({"background": None, "layers": [], "composite": None})
    with pytest.raises(ValueError, match="none was given"):
        load_image(None)


def test_blank_canvas_is_detected():
    assert is_blank(load_image(Image.new("RGBA", (20, 20), (0, 0, 0, 0))))
    assert not is_blank(load_image(np.eye(20)))


def test_16_bit_values_keep_their_contrast():
    array = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    result = np.asarray(load_image(Image.fromarray(array)))
    assert result.min() == 0 and result.max() == 255


def test_huge_images_are_refused_before_decoding():
    with pytest.raises(ValueError, match="too large.*400000000 pixels"):
        load_image(_upload("bomb.png", png_claiming(20000, 20000)))
    with pytest.raises(ValueError, match="8000x8000 is 64 megapixels; the limit is 50"):
        load_image(_upload("big.png", png_claiming(8000, 8000)))


def test_large_images_are_scaled_down():
    path = _upload("large.jpg", encoded(Image.new("RGB", (3000, 2000), (9, 9, 9)), "JPEG"))
    assert max(load_image(path).size) <= WORK_SIZE


def test_one_pixel_image_is_accepted():
    assert load_image(_upload("one.png", encoded(Image.new("RGB", (1, 1)), "PNG"))).size == (1, 1)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(_upload("anim.gif", data)).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("name, data, message", [
    ("notes.png", b"this is a text file, not a picture", "not an image"),
    ("cut.jpg", encoded(Image.new("RGB", (200, 200), (90, 10, 10)), "JPEG")[:300], "damaged or truncated"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>', "not an image"),
])
def test_broken_files_are_clear_errors(name, data, message):
    with pytest.raises(ValueError, match=message):
        load_image(_upload(name, data))


def test_paths_outside_the_upload_cache_are_never_opened():
    with pytest.raises(ValueError, match="only uploaded files"):
        load_image("/etc/passwd")
    with pytest.raises(ValueError, match="only uploaded files"):
        load_image(str(UPLOADS / ".." / ".." / ".." / "etc" / "hostname"))


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 5)), "not an image"), (np.zeros((4, 4, 7)), "not an image"),
    (np.full((4, 4), np.nan), "NaN"), ("hello", "only uploaded files"), (5, "type int is not an image"),
])
def test_bad_arrays_are_clear_errors(array, message):
    with pytest.raises(ValueError, match=message):
        load_image(array)


def test_pixel_limit_is_large_enough_for_photos():
    assert MAX_PIXELS >= 24_000_000  # a 6000x4000 camera photo
