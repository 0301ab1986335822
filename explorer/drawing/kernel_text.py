"""Words and numbers drawn into the Kernel tab's pictures: glyph masks rendered once and pasted (ten
times faster than drawing the text again), in DejaVu Sans for English and Noto Sans CJK SC for Chinese."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from explorer.core.state import STORES
from explorer.drawing.fonts import cjk_font, has_cjk

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _font_file(bold: bool, condensed: bool = False) -> str:
    name = "DejaVuSans" + ("Condensed" if condensed else "") + ("-Bold" if bold else "") + ".ttf"
    if (FONT_DIR / name).exists():
        return str(FONT_DIR / name)
    import matplotlib  # ships DejaVu Sans wherever the app is installed
    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name.replace("Condensed", ""))


_FONTS: dict[tuple, ImageFont.FreeTypeFont] = STORES.register("drawing.fonts", {}, "loaded fonts")
_STAMPS: dict[tuple, tuple[Image.Image, tuple[int, int], float]] = STORES.register("drawing.glyphs", {}, "rendered glyph masks")


def font(size: int, bold: bool = False, condensed: bool = False) -> ImageFont.FreeTypeFont:
    key = (size, bold, condensed)
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(_font_file(bold, condensed), size)
    return _FONTS[key]


def font_for(text: str, size: int, bold: bool = False, condensed: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu for English (the pictures as they always were); Noto Sans CJK SC for a text with Chinese."""
    if has_cjk(text):
        found = cjk_font(size, bold)
        if found is not None:
            return found
    return font(size, bold, condensed)


def _stamp(text: str, size: int, bold: bool, anchor: str = "mm", condensed: bool = False):
    """The text's glyph mask, offset and advance, rendered once: pasting a cached mask is ten times
    faster than drawing the text again."""
    key = (size, bold, text, anchor, condensed)
    hit = _STAMPS.get(key)
    if hit is None:
        if len(_STAMPS) > 50_000:
            _STAMPS.clear()
        f = font_for(text, size, bold, condensed)
        left, top, right, bottom = f.getbbox(text, anchor=anchor)
        mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=f, anchor=anchor)
        hit = _STAMPS[key] = (mask, (left, top), f.getlength(text))
    return hit


def put_text(im: Image.Image, center, text: str, size: int, color, bold=False, condensed=False):
    """Text centred on `center` (cell numbers)."""
    mask, (left, top), _ = _stamp(text, size, bold, "mm", condensed)
    im.paste(color, (int(center[0]) + left, int(center[1]) + top), mask)


def put_line(im: Image.Image, xy, text: str, size: int, color, bold=False) -> float:
    """A line of text from its top-left corner, stamped piece by piece; returns its width."""
    x, y = xy
    baseline = y + font(size, bold).getmetrics()[0]
    for piece in _pieces(text):
        mask, (left, top), advance = _stamp(piece, size, bold, "ls")
        if piece.strip():
            im.paste(color, (int(x) + left, baseline + top), mask)
        x += advance
    return x - xy[0]


def _pieces(text: str) -> list[str]:
    """Words and the sum's terms, each ending at a space, '+' or ','."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch in " +,=":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def line_width(text: str, size: int, bold: bool = False) -> float:
    return sum(_stamp(p, size, bold, "ls")[2] for p in _pieces(text))


def text_width(text: str, size: int, bold: bool = False) -> float:
    return font_for(text, size, bold).getlength(text)


def put_caption(draw: ImageDraw.ImageDraw, xy, text: str, size: int, color, bold: bool = True) -> None:
    """A caption or a legend's words from its top-left corner, in the font its language needs."""
    draw.text(xy, text, fill=color, font=font_for(text, size, bold))
