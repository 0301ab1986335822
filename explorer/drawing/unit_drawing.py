"""Pictures of one unit's arithmetic (explorer.core.bridge.Unit): for a convolution, one row per input
channel among the strongest (by |partial sum|): the window it reads, the kernel slice, their
products, and the partial sum; for pooling, the window with the max framed or the mean written.
Padding taps are lavender, as in the Kernel tab; values are on a diverging scale per map."""
import numpy as np
from PIL import Image, ImageDraw

from explorer.core.words import say
from explorer.drawing.feature_maps import BACKGROUND, TEXT, _font, diverging
from explorer.drawing.fonts import cjk_font, has_cjk
from explorer.drawing.kernel_frames import PAD_FILL, PAD_INK

MAX_ROWS = 8
MAP_SIDE = 96          # pixels of the longer side of each small map
LABEL_W = 170
GAP = 14
HEADER_H = 22
MARK = (255, 214, 0)


def _write(draw: ImageDraw.ImageDraw, xy, text: str, size: int = 11, **style) -> None:
    """`text` at `xy`: Chinese words in the CJK font, English in the usual one."""
    font = (cjk_font(size) if has_cjk(text) else None) or _font(size)
    draw.text(xy, text, font=font, **style)


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value + 0.0:.{digits}g}"   # + 0.0: no "-0" for a product with a negative weight


def _cell(shape) -> int:
    """Pixels per tap: room for a written number up to 3x3, else MAP_SIDE for the longer side."""
    return 44 if max(shape) <= 3 else int(min(32, max(2, MAP_SIDE // max(shape))))


def _small_map(values: np.ndarray, padding: np.ndarray, numbers: bool) -> Image.Image:
    """One (kh, kw) map, enlarged, padding lavender; NaN (beyond the input) background."""
    cell = _cell(values.shape)
    limit = float(np.nanmax(np.abs(np.where(np.isfinite(values), values, 0)))) if values.size else 1.0
    rgb = diverging(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0), max(limit, 1e-12))
    rgb[padding] = PAD_FILL
    rgb[np.isnan(values)] = BACKGROUND
    big = np.repeat(np.repeat(rgb, cell, 0), cell, 1)
    if cell >= 8:                                         # grid lines between taps
        big[::cell, :] = big[:, ::cell] = (200, 200, 205)
    image = Image.fromarray(big)
    if numbers and cell >= 40:
        draw = ImageDraw.Draw(image)
        pad = say("pad", "填充")
        for (i, j), v in np.ndenumerate(values):
            text = pad if padding[i, j] else ("" if np.isnan(v) else _fmt(float(v), 2))
            strong = not padding[i, j] and np.isfinite(v) and abs(v) > 0.55 * limit
            ink = PAD_INK if padding[i, j] else (255, 255, 255) if strong else TEXT
            _write(draw, (j * cell + cell / 2, i * cell + cell / 2), text, 9, fill=ink, anchor="mm")
    return image


def _frame(image: Image.Image, cell: int, tap: tuple[int, int]) -> None:
    draw = ImageDraw.Draw(image)
    top, left = tap[0] * cell, tap[1] * cell
    draw.rectangle((left, top, left + cell - 1, top + cell - 1), outline=(0, 0, 0), width=3)
    draw.rectangle((left + 2, top + 2, left + cell - 3, top + cell - 3), outline=MARK, width=2)


def render_unit(u, max_rows: int = MAX_ROWS) -> Image.Image:
    """The unit's arithmetic as one picture (RGB)."""
    if u.kind == "conv":
        return _render_conv(u, max_rows)
    return _render_pool(u)


def _canvas(rows: int, columns: int, shape) -> tuple[Image.Image, int, int]:
    cell = _cell(shape)
    map_h, map_w = cell * shape[0], cell * shape[1]
    width = max(LABEL_W + columns * (max(map_w, 90) + GAP), 480)
    height = HEADER_H + rows * (max(map_h, 30) + GAP) + 40
    return Image.new("RGB", (width, height), BACKGROUND), map_h, map_w


def _render_conv(u, max_rows: int) -> Image.Image:
    order = u.order[:max_rows]
    shape = u.kernel.shape[1:]
    image, map_h, map_w = _canvas(len(order), 3, shape)
    draw = ImageDraw.Draw(image)
    step = max(map_w, 90) + GAP
    titles = (say("window (input)", "窗口（输入）"), say("kernel (weights)", "卷积核（权重）"),
              say("window x kernel", "窗口 × 卷积核"))
    for k, title in enumerate(titles):
        _write(draw, (LABEL_W + k * step, 4), title, fill=TEXT)
    numbers = max(shape) <= 3
    row_h = max(map_h, 30) + GAP
    for r, index in enumerate(order):
        y = HEADER_H + r * row_h
        window, kernel = u.window[index], u.kernel[index]
        _write(draw, (4, y + 2), say("#{rank}  input channel {channel}", "#{rank}  输入通道 {channel}", rank=r + 1,
                                     channel=u.channels[index]), fill=TEXT)
        _write(draw, (4, y + 18), say("sum = {sum}", "和 = {sum}", sum=_fmt(float(u.partials[index]))), fill=TEXT)
        maps = (_small_map(window, u.padding_mask, numbers),
                _small_map(kernel, np.zeros_like(u.padding_mask), numbers),
                _small_map(window * kernel, u.padding_mask, numbers))
        for k, small in enumerate(maps):
            image.paste(small, (LABEL_W + k * step, y))
    rest = len(u.channels) - len(order)
    y = HEADER_H + len(order) * row_h
    if rest:
        others = float(u.partials.sum() - u.partials[order].sum())
        _write(draw, (4, y + 2), say("the other {rest} channels: sum = {sum}", "其余 {rest} 个通道：和 = {sum}",
                                     rest=rest, sum=_fmt(others)), fill=TEXT)
        y += 18
    _write(draw, (4, y + 2), say("lavender: padding (zeros); blue < 0, white = 0, red > 0; each map on its own scale",
                                 "淡紫色：填充（0）；蓝 < 0，白 = 0，红 > 0；每张小图各用自己的色标"), fill=TEXT)
    return image


def _render_pool(u) -> Image.Image:
    window = u.window[0]
    image, map_h, _ = _canvas(1, 1, window.shape)
    draw = ImageDraw.Draw(image)
    _write(draw, (4, 4), _pool_title(u), fill=TEXT)
    small = _small_map(window, u.padding_mask, max(window.shape) <= 3)
    if u.op.endswith("max_pool2d") or u.op == "adaptive_max_pool2d":
        scores = np.where(u.padding_mask | np.isnan(window), -np.inf, window)
        _frame(small, _cell(window.shape), np.unravel_index(int(np.argmax(scores)), window.shape))
        words = say("max = {v}", "最大值 = {v}", v=_fmt(u.total))
    else:
        words = say("sum / {d} = {v}", "和 / {d} = {v}", d=u.divisor, v=_fmt(u.total))
    image.paste(small, (LABEL_W, HEADER_H))
    _write(draw, (4, HEADER_H + 2), words, fill=TEXT)
    _write(draw, (4, HEADER_H + max(map_h, 30) + GAP + 2),
           say("lavender: padding; framed: the largest tap", "淡紫色：填充；框出的是最大的位置") if "max" in u.op
           else say("lavender: padding", "淡紫色：填充"), fill=TEXT)
    return image


def _pool_title(u) -> str:
    """The pool picture's title: the window and what is taken of it (a pooling unit has no kernel, no weights)."""
    h, w = u.window.shape[1:]
    if "max" in u.op:
        return say("{h}x{w} window of input channel {c}: max pooling (no weights)",
                   "输入通道 {c} 的 {h}x{w} 窗口：最大池化（没有权重）", h=h, w=w, c=u.channels[0])
    return say("{h}x{w} window of input channel {c}: average pooling (no weights)",
               "输入通道 {c} 的 {h}x{w} 窗口：平均池化（没有权重）", h=h, w=w, c=u.channels[0])
