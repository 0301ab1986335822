"""Fonts for the words drawn into pictures: Chinese words need a CJK font (Noto Sans CJK SC, Debian's
fonts-noto-cjk; the Space installs it from packages.txt). English pictures keep their fonts.

`has_cjk(text)` says whether a text needs it; `cjk_font(size, bold)` is the PIL font (None where no CJK font
is installed: the caller then draws with its usual font, and tests/drawing/test_fonts.py fails on such a
machine); `use_cjk_fallback()` makes matplotlib fall back to it for any glyph DejaVu Sans lacks."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from explorer.core.state import STORES

CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")
FAMILY = "Noto Sans CJK SC"
PLACES = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
          Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts"))


def has_cjk(text: str) -> bool:
    """Whether `text` has a Chinese character or full-width punctuation."""
    return bool(CJK.search(text or ""))


@lru_cache(maxsize=None)
def cjk_file(bold: bool = False) -> tuple[str, int] | None:
    """(file, face index) of Noto Sans CJK SC, or None when it is not installed."""
    names = ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf") if bold else ()
    names += ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf")
    for place in PLACES:
        for name in names:
            hits = [place / name] if (place / name).exists() else sorted(place.rglob(name)) if place.exists() else []
            for path in hits[:1]:
                for index in range(10):
                    try:
                        face = ImageFont.truetype(str(path), 12, index=index)
                    except OSError:
                        break
                    if face.getname()[0] == FAMILY:
                        return str(path), index
    return None


@lru_cache(maxsize=64)
def cjk_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | None:
    """Noto Sans CJK SC at `size` pixels, or None when it is not installed."""
    found = cjk_file(bold)
    return ImageFont.truetype(found[0], size, index=found[1]) if found else None


def use_cjk_fallback() -> None:
    """matplotlib draws any glyph DejaVu Sans lacks (Chinese) with Noto Sans CJK SC, when installed."""
    import matplotlib
    from matplotlib import font_manager

    found = cjk_file(False)
    if found is None:
        return
    manager = font_manager.fontManager
    if not any(entry.fname == found[0] for entry in manager.ttflist):
        manager.addfont(found[0])
    # matplotlib reads a collection's first face only (Noto Sans CJK JP: it has the Simplified glyphs too)
    family = next(entry.name for entry in manager.ttflist if entry.fname == found[0])
    if family not in matplotlib.rcParams["font.family"]:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]     # fallback glyph by glyph


STORES.register("drawing.cjk_file", cjk_file, "where the CJK font is")
STORES.register("drawing.cjk_font", cjk_font, "the CJK font per size")
