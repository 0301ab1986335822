"""Turn whatever a user sends (upload, sketch, webcam, example) into a safe RGB PIL image."""
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from explorer.core.words import say

MAX_PIXELS = 50_000_000   # refuse larger images before decoding them (decompression bombs)
WORK_SIZE = 1024          # longest side kept: more pixels only slow every model down
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def unreadable() -> str:
    """The message for a file that no image reader recognises."""
    return say("image: the file is not an image that can be read (PNG, JPEG, GIF, WebP, BMP, TIFF)",
               "image：这个文件不是能读取的图片（PNG、JPEG、GIF、WebP、BMP、TIFF）")


def damaged(error) -> str:
    """The message for a picture file whose reading failed half-way."""
    return say("image: the file is damaged or truncated ({error})", "image：文件已损坏或不完整（{error}）",
               error=error)


def _allowed_roots() -> list[Path]:
    gradio_cache = os.environ.get("GRADIO_TEMP_DIR") or os.path.join(tempfile.gettempdir(), "gradio")
    return [Path(gradio_cache).resolve(), ASSETS.resolve()]


# Formats whose reading runs another program (Pillow hands EPS to Ghostscript): refused by their first
# bytes, before Pillow looks at them.
PROGRAM_FORMATS = {b"%!PS": "PostScript (EPS)", b"\xc5\xd0\xd3\xc6": "PostScript (EPS)"}
SAFE_FORMATS = None     # every format Pillow reads, less EPS: filled on first use (plugins load lazily)


class ProgramFormat(ValueError):
    """A file in a format whose reading runs another program."""


def refuse_program_formats(head: bytes) -> None:
    """ProgramFormat (a ValueError) when the file's first bytes announce a format read by running another program."""
    for magic, name in PROGRAM_FORMATS.items():
        if head.startswith(magic):
            raise ProgramFormat(say("image: {name} files are not accepted (reading them runs another program); "
                                 "save the picture as PNG or JPEG",
                                 "image：不接受 {name} 文件（读取它要运行另一个程序）；请把图片存成 PNG 或 JPEG",
                                 name=name))


def safe_formats() -> list[str]:
    global SAFE_FORMATS
    if SAFE_FORMATS is None:
        Image.init()
        SAFE_FORMATS = sorted(set(Image.OPEN) - {"EPS"})
    return SAFE_FORMATS


def open_header(source) -> Image.Image:
    """The picture opened lazily (its header read, no pixels decoded), EPS refused before Pillow
    sees it: `source` is a path or a binary file."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            refuse_program_formats(file.read(8))
    else:
        refuse_program_formats(source.read(8))
        source.seek(0)
    return Image.open(source, formats=safe_formats())


def _open_path(path: str) -> Image.Image:
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root) for root in _allowed_roots()):
        raise ValueError(say("image: only uploaded files and the app's own examples can be opened",
                             "image：只能打开上传的文件和本应用自带的示例图片"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = open_header(resolved)
            _check_size(image)
            image = _first_frame(image)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(say("image: too large to open safely ({error}); the limit is {most:.0f} megapixels",
                             "image：图片太大，无法安全打开（{error}）；上限是 {most:.0f} 百万像素",
                             error=error, most=MAX_PIXELS / 1e6))
    except UnidentifiedImageError:
        raise ValueError(unreadable())
    except (OSError, SyntaxError) as error:
        raise ValueError(damaged(error))
    return image


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(say("image: it has no pixels", "image：图片没有像素"))
    if width * height > MAX_PIXELS:
        raise ValueError(say("image: {width}x{height} is {size:.0f} megapixels; the limit is {most:.0f}",
                             "image：{width}x{height} 有 {size:.0f} 百万像素；上限是 {most:.0f} 百万像素",
                             width=width, height=height, size=width * height / 1e6, most=MAX_PIXELS / 1e6))


def _first_frame(image: Image.Image) -> Image.Image:
    if getattr(image, "is_animated", False):
        return next(ImageSequence.Iterator(image)).copy()
    if image.format == "JPEG":
        image.draft("RGB", (WORK_SIZE, WORK_SIZE))  # decode huge JPEGs at a reduced scale
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    array = np.asarray(array)
    if array.ndim not in (2, 3) or array.size == 0 or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError(say("image: an array of shape {shape} is not an image",
                             "image：形状为 {shape} 的数组不是图片", shape=array.shape))
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8:
        array = np.asarray(array, dtype=np.float64)
        if not np.isfinite(array).all():
            raise ValueError(say("image: it contains NaN or infinite values", "image：其中有 NaN 或无穷大的值"))
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0 if array.max() <= 255 else array.max()
        array = np.clip(array / top * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def _to_pil(source) -> Image.Image | None:
    if source is None:
        return None
    if isinstance(source, Image.Image):
        _check_size(source)
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, (str, os.PathLike)):
        return _open_path(str(source))
    if isinstance(source, dict) and "path" in source:  # a gradio FileData
        return _open_path(source["path"])
    raise ValueError(say("image: a value of type {kind} is not an image", "image：{kind} 类型的值不是图片",
                         kind=type(source).__name__))


def _flatten(image: Image.Image) -> Image.Image:
    """Any mode (RGBA, LA, P, L, I;16, F, CMYK, ...) -> RGB, transparency composited onto white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        array = np.asarray(image, dtype=np.float64)
        if not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise ValueError(say("image: {bad:,} of its pixels {verb} NaN or infinite (a floating-point "
                                 "picture); save it with finite values",
                                 "image：有 {bad:,} 个像素是 NaN 或无穷大（浮点图片）；请存成有限值再上传",
                                 bad=bad, verb="is" if bad == 1 else "are"))
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return image.convert("RGB")


def _sketch(value: dict) -> Image.Image:
    composite = _to_pil(value.get("composite"))
    if composite is None:
        parts = [_to_pil(value.get("background"))] + [_to_pil(layer) for layer in value.get("layers") or []]
        parts = [p.convert("RGBA") for p in parts if p is not None]
        if not parts:
            raise ValueError(say("sketch: the canvas is empty: draw something or upload a picture",
                                 "sketch：画布是空的：请画点什么，或上传一张图片"))
        composite = parts[0]
        for layer in parts[1:]:
            composite = Image.alpha_composite(composite, layer.resize(composite.size))
    return composite


def load_image(source) -> Image.Image:
    """A sketch dict, PIL image, numpy array or Gradio upload path -> RGB image, at most WORK_SIZE wide."""
    if isinstance(source, dict) and ("composite" in source or "layers" in source or "background" in source):
        image = _sketch(source)
    else:
        image = _to_pil(source)
    if image is None:
        raise ValueError(say("image: none was given: upload, draw or pick an example first",
                             "image：还没有图片：请先上传、画一张或点一个示例"))
    image = _flatten(image)
    if max(image.size) > WORK_SIZE:
        image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS)
    return image


def is_blank(image: Image.Image) -> bool:
    """True when every pixel has the same colour (an untouched canvas)."""
    extrema = image.convert("L").getextrema()
    return extrema[0] == extrema[1]
