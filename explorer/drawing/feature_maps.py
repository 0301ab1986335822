"""Pictures of feature maps: a grid of a stage's channels ranked by mean activation, one channel
large and overlaid on the picture the model saw with its strongest unit's receptive field, and an
overview strip with one thumbnail per stage.

Colours are diverging: blue below zero, red above, white at exactly zero. Every picture is built
as one numpy array (one encode downstream); labels are blitted from a small glyph atlas because
drawing hundreds of strings with PIL costs more than the whole grid.
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorer.core.state import STORES
from explorer.core.unit_words import kind_name
from explorer.core.words import pick, say
from explorer.drawing.fonts import cjk_font, has_cjk

NEGATIVE = np.array((33, 102, 172), dtype=np.float32)    # blue
POSITIVE = np.array((178, 24, 43), dtype=np.float32)     # red
WHITE = np.array((255, 255, 255), dtype=np.float32)
BACKGROUND = (236, 238, 242)
TEXT = (20, 20, 20)

# Palette of every picture built here: LEVELS diverging colours (the middle one exactly white, for
# zero), then the background, then TEXT_LEVELS blends of the background into the text colour.
# Index pictures (one byte per pixel) colour in one lookup and encode three times faster than RGB.
LEVELS = 239
MIDDLE = LEVELS // 2
BG_INDEX = LEVELS
TEXT_LEVELS = 256 - LEVELS - 1

COUNTS = {"16": 16, "64": 64, "all": None}
SCALES = ("shared", "per channel")
PAD = 4
LABEL_H = 14
LEGEND_H = 44
FONT_SIZE = 11
# Widest grid drawn: the Stages tab's column at 1440x900 (about 850 px) shows it at its own size, with
# room on the right for the image's buttons. A wider picture would be shrunk in the page, and its
# labels with it (11 px text became about 5 px).
SHOWN_WIDTH = 720


def _values(activation) -> np.ndarray:
    """A (C, H, W) tensor or array as float32 numpy (no copy when it already is one). The pictures
    are computed in numpy: torch's threaded small reductions stall on a busy machine."""
    if isinstance(activation, torch.Tensor):
        activation = activation.detach().cpu().float().numpy()
    return np.asarray(activation, dtype=np.float32)


def channel_means(activation) -> np.ndarray:
    """Mean activation of each channel of a (C, H, W) activation, in float64."""
    values = _values(activation)
    return values.reshape(values.shape[0], -1).mean(1, dtype=np.float64)


def rank_channels(activation) -> np.ndarray:
    """Channel indices, highest mean activation first (equal means: lower index first)."""
    return np.argsort(-channel_means(activation), kind="stable")


def _palette() -> np.ndarray:
    t = (np.arange(LEVELS, dtype=np.float32) - MIDDLE) / MIDDLE
    colours = WHITE + (np.where(t[:, None] >= 0, POSITIVE, NEGATIVE) - WHITE) * np.abs(t)[:, None]
    alpha = np.linspace(0.0, 1.0, TEXT_LEVELS, dtype=np.float32)[:, None]
    text = np.asarray(BACKGROUND, np.float32) * (1 - alpha) + np.asarray(TEXT, np.float32) * alpha
    return np.concatenate([colours, np.asarray([BACKGROUND], np.float32), text]).round().astype(np.uint8)


PALETTE = _palette()                      # (256, 3) uint8
FRAME_INDEX = BG_INDEX + TEXT_LEVELS     # the text's darkest shade, near black
UNIT_EDGE = BG_INDEX + TEXT_LEVELS // 3   # light grey: the inner line of a chosen unit's frame


def colour_index(values: np.ndarray, limit) -> np.ndarray:
    """values -> palette indices (uint8): 0 for <= -limit, MIDDLE (white) for 0, LEVELS-1 for >= +limit.
    `limit` is a number or an array broadcastable to values (one limit per channel)."""
    limit = np.maximum(np.asarray(limit, dtype=np.float32), np.float32(1e-12))
    scaled = values.astype(np.float32) * (np.float32(MIDDLE) / limit)
    return (np.clip(scaled, -MIDDLE, MIDDLE) + np.float32(MIDDLE + 0.5)).astype(np.uint8)


def diverging(values: np.ndarray, limit) -> np.ndarray:
    """values (..., H, W) -> RGB uint8 (..., H, W, 3): blue for -limit, white for 0, red for +limit."""
    return PALETTE[colour_index(values, limit)]


def to_image(indices: np.ndarray) -> Image.Image:
    """A palette-index array -> a PIL image in mode P (what gradio encodes, once)."""
    image = Image.fromarray(indices, mode="P")
    image.putpalette(PALETTE.tobytes())
    return image


def fmt(value: float) -> str:
    return f"{value:.3g}"


def count_of(count) -> int | None:
    """"16" / "64" / "all" (or an int) -> how many channels to show (None: all)."""
    if isinstance(count, str):
        if count not in COUNTS:
            raise ValueError(say("count: {count!r} is not one of {choices}", "count：{count!r} 不是 {choices} 之一",
                                 count=count, choices=", ".join(COUNTS)))
        return COUNTS[count]
    if count is None:
        return None
    if int(count) < 1:
        raise ValueError(say("count: {count} channels cannot be shown; choose at least 1",
                             "count：无法显示 {count} 个通道；请至少选 1 个", count=count))
    return int(count)


# --- labels -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=256)
def _glyph(char: str) -> np.ndarray:
    """One character as palette indices over the background (uint8, LABEL_H - 2 pixels high); a Chinese
    character from the CJK font (a size smaller: its glyphs fill the whole em)."""
    font = (cjk_font(FONT_SIZE - 1) if has_cjk(char) else None) or _font()
    width = max(1, round(font.getlength(char)))
    canvas = Image.new("L", (width, LABEL_H - 2), 0)
    ImageDraw.Draw(canvas).text((0, 0), char, fill=255, font=font)
    coverage = np.asarray(canvas, dtype=np.float32) / 255.0
    return (BG_INDEX + 1 + np.round(coverage * (TEXT_LEVELS - 1))).astype(np.uint8)


STORES.register("drawing.label_font", _font, "the label font per size")
STORES.register("drawing.label_glyphs", _glyph, "label characters as palette indices")


def text_width(text: str) -> int:
    return sum(_glyph(c).shape[1] for c in text)


def blit_text(image: np.ndarray, x: int, y: int, text: str, max_width: int | None = None) -> None:
    """Write text into an index array in place (on the background), clipped to it and to max_width."""
    limit = image.shape[1] if max_width is None else min(image.shape[1], x + max_width)
    for char in text:
        glyph = _glyph(char)
        h, w = min(glyph.shape[0], image.shape[0] - y), min(glyph.shape[1], limit - x)
        if w <= 0 or h <= 0:
            return
        image[y:y + h, x:x + w] = glyph[:h, :w]
        x += glyph.shape[1]


SCALE_WORDS = {"shared": {"en": "one scale for all", "zh": "所有通道共用一个色标"},
               "per channel": {"en": "each channel on its own scale", "zh": "每个通道各用自己的色标"},
               "channel": {"en": "this channel's own scale", "zh": "这个通道自己的色标"}}


def legend_lines(low: float, high: float, scale: str) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """The colour bar's three end labels and the three lines beside it, for a scale of SCALE_WORDS:
    the colours run from -limit to +limit, limit the largest |value| (per channel: each its own)."""
    limit = max(abs(low), abs(high))
    most = say("max", "最大")
    ends = (f"-{most}", "0", f"+{most}") if scale == "per channel" else (f"-{fmt(limit)}", "0", f"+{fmt(limit)}")
    return ends, (say("min {low}   max {high}", "最小 {low}   最大 {high}", low=fmt(low), high=fmt(high)),
                  pick(SCALE_WORDS[scale]), say("blue < 0, white = 0, red > 0", "蓝 < 0，白 = 0，红 > 0"))


def legend_strip(width: int, low: float, high: float, scale: str) -> np.ndarray:
    """A colour bar from -limit to +limit with the value range written beside it (index array)."""
    strip = np.full((LEGEND_H, width), BG_INDEX, dtype=np.uint8)
    bar_w = max(40, min(200, width // 3))
    strip[PAD:PAD + 12, PAD:PAD + bar_w] = colour_index(np.linspace(-1.0, 1.0, bar_w), 1.0)[None]
    ends, lines = legend_lines(low, high, scale)
    y = PAD + 14
    blit_text(strip, PAD, y, ends[0])
    blit_text(strip, PAD + bar_w // 2 - text_width("0") // 2, y, ends[1])
    blit_text(strip, PAD + bar_w - text_width(ends[2]), y, ends[2])
    x = PAD + bar_w + 12
    for k, line in enumerate(lines):
        blit_text(strip, x, PAD + 14 * k, line)
    return strip


# --- the grid ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridLayout:
    """Where cell k (rank order) sits in the grid image."""
    count: int
    cols: int
    rows: int
    cell_h: int
    cell_w: int
    label_h: int

    @property
    def step_x(self) -> int:
        return self.cell_w + PAD

    @property
    def step_y(self) -> int:
        return self.cell_h + self.label_h + PAD

    @property
    def width(self) -> int:
        return PAD + self.cols * self.step_x

    @property
    def height(self) -> int:
        return PAD + self.rows * self.step_y

    def origin(self, k: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of cell k's map (below its label)."""
        row, col = divmod(k, self.cols)
        return PAD + col * self.step_x, PAD + row * self.step_y + self.label_h

    def cell_at(self, x: float, y: float) -> int | None:
        """Rank position (0-based) of the cell under pixel (x, y); None on gaps and the legend."""
        col, dx = divmod(int(x) - PAD, self.step_x)
        row, dy = divmod(int(y) - PAD, self.step_y)
        if not (0 <= col < self.cols and 0 <= row < self.rows) or dx >= self.cell_w or dy >= self.step_y - PAD:
            return None
        k = row * self.cols + col
        return k if k < self.count else None


def grid_layout(count: int, height: int, width: int, max_width: int | None = None) -> GridLayout:
    """Cells in as square a grid as fits max_width; small maps upscaled by a whole factor."""
    if max_width is None:
        max_width = 600 if count <= 16 else SHOWN_WIDTH
    cols = max(1, min(count, math.ceil(math.sqrt(count * height / width))))
    room = max(4, min((max_width - PAD) // cols - PAD, 160))
    if width <= room:
        factor = room // width
        cell_w, cell_h = width * factor, height * factor
    else:
        cell_w, cell_h = room, max(1, round(height * room / width))
    label_h = LABEL_H if cell_w >= 16 else 0
    return GridLayout(count, cols, math.ceil(count / cols), cell_h, cell_w, label_h)


def _resample(maps: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Nearest-neighbour resize of (..., H, W) maps by one fancy index."""
    h, w = maps.shape[-2:]
    rows = np.arange(out_h) * h // out_h
    cols = np.arange(out_w) * w // out_w
    return maps[..., rows[:, None], cols[None, :]]


@dataclass
class FeatureGrid:
    image: Image.Image                # mode P: the cells, then the legend
    channels: list[int]               # channel index of each cell, strongest mean first
    means: list[float]                # mean activation of each shown channel, same order
    layout: GridLayout
    value_range: tuple[float, float]  # min and max over the shown channels
    scale: str                        # "shared" or "per channel"
    legend: str                       # the value range in words

    def channel_at(self, x: float, y: float) -> int | None:
        k = self.layout.cell_at(x, y)
        return None if k is None else self.channels[k]

    def rank_of(self, channel: int) -> int | None:
        return self.channels.index(channel) + 1 if channel in self.channels else None

    def rgb(self) -> np.ndarray:
        return np.asarray(self.image.convert("RGB"))


def _shown(values: np.ndarray, count) -> np.ndarray:
    wanted = count_of(count)
    order = rank_channels(values)
    return order if wanted is None else order[:wanted]


def channel_at(activation, count, x: float, y: float, max_width: int | None = None) -> int | None:
    """The channel under pixel (x, y) of render_grid(activation, count)'s image, without drawing it."""
    values = _values(activation)
    shown = _shown(values, count)
    k = grid_layout(len(shown), values.shape[1], values.shape[2], max_width).cell_at(x, y)
    return None if k is None else int(shown[k])


def unit_at(activation, count, x: float, y: float, max_width: int | None = None) -> tuple[int, int, int] | None:
    """(channel, row, col) of the unit under pixel (x, y) of render_grid(activation, count)'s image."""
    values = _values(activation)
    shown = _shown(values, count)
    _, h, w = values.shape
    layout = grid_layout(len(shown), h, w, max_width)
    k = layout.cell_at(x, y)
    if k is None:
        return None
    left, top = layout.origin(k)
    dx, dy = int(x) - left, int(y) - top
    if not (0 <= dx < layout.cell_w and 0 <= dy < layout.cell_h):   # on the cell's label
        return None
    return int(shown[k]), dy * h // layout.cell_h, dx * w // layout.cell_w


def render_grid(activation: torch.Tensor, count="16", scale: str = "shared",
                max_width: int | None = None) -> FeatureGrid:
    """The strongest `count` channels of a (C, H, W) activation as one image, ranked by mean,
    each cell labelled with its rank and channel index."""
    values = _values(activation)
    if values.ndim != 3:
        raise ValueError(say("activation: expected (channels, height, width), got shape {shape}",
                             "activation：应为 (通道, 高, 宽)，得到的形状是 {shape}", shape=values.shape))
    if scale not in SCALES:
        raise ValueError(say("scale: {scale!r} is not one of {choices}", "scale：{scale!r} 不是 {choices} 之一",
                             scale=scale, choices=", ".join(SCALES)))
    shown = _shown(values, count)
    maps = values[shown]
    n, h, w = maps.shape
    layout = grid_layout(n, h, w, max_width)
    low, high = float(maps.min()), float(maps.max())
    if scale == "shared":
        limit = max(abs(low), abs(high))
    else:
        limit = np.abs(maps).reshape(n, -1).max(1)[:, None, None]
    # colour at the maps' own size, then enlarge the one-byte indices
    cells = _resample(colour_index(maps, limit), layout.cell_h, layout.cell_w)

    indices = np.full((layout.height + LEGEND_H, layout.width), BG_INDEX, dtype=np.uint8)
    channels, named = shown.tolist(), say("#{rank} ch {channel}", "#{rank} 通道 {channel}", rank="{rank}",
                                                        channel="{channel}")
    for k, channel in enumerate(channels):
        x, y = layout.origin(k)
        indices[y:y + layout.cell_h, x:x + layout.cell_w] = cells[k]
        if layout.label_h:
            label = named.format(rank=k + 1, channel=channel) if layout.cell_w >= 64 else f"{k + 1}"
            blit_text(indices, x, y - layout.label_h + 1, label, max_width=layout.cell_w)
    indices[layout.height:] = legend_strip(layout.width, low, high, scale)
    means = maps.reshape(n, -1).mean(1, dtype=np.float64).tolist()
    words = dict(n=n, of=values.shape[0], low=fmt(low), high=fmt(high), limit=fmt(max(abs(low), abs(high))))
    legend = (say("{n} of {of} channels, strongest mean activation first; values from {low} to {high}; ",
                  "{of} 个通道中的 {n} 个，平均激活值最强的在前；数值从 {low} 到 {high}；", **words)
              + (say("one colour scale for all, ±{limit}", "所有通道共用一个色标，±{limit}", **words) if scale == "shared"
                 else say("each channel on its own colour scale, ± its largest |value|",
                          "每个通道各用自己的色标，± 它最大的 |值|")))
    return FeatureGrid(to_image(indices), channels, means, layout, (low, high), scale, legend)


# --- one channel ------------------------------------------------------------------------------

@dataclass
class ChannelView:
    large: Image.Image                      # the channel alone, enlarged, with its legend (mode P)
    overlay: Image.Image                    # the seen picture, the channel over it, the box drawn (RGB)
    unit: tuple[int, int]                   # (row, col) of the strongest unit
    value: float                            # its activation
    box: tuple[float, float, float, float]  # its receptive field in seen pixels (may pass the edges)
    value_range: tuple[float, float]
    legend: tuple                           # legend_lines: the colour bar's ends and the words beside it


def large_factor(shape, size: int = 448) -> int:
    """How many pixels render_channel's large picture gives each unit of an (H, W) map."""
    return max(1, size // max(shape[-2:]))


def unit_in_large(shape, x: float, y: float, size: int = 448) -> tuple[int, int] | None:
    """(row, col) of the unit under pixel (x, y) of render_channel's large picture (None: the legend)."""
    h, w = shape[-2:]
    factor = large_factor(shape, size)
    row, col = int(y) // factor, int(x) // factor
    return (row, col) if 0 <= row < h and 0 <= col < w and x >= 0 and y >= 0 else None


def _mark_unit(big: np.ndarray, unit: tuple[int, int], factor: int) -> None:
    """A black frame with a light grey inner line around one unit of the enlarged map, in place."""
    top, left = unit[0] * factor, unit[1] * factor
    t = max(1, min(3, factor // 4))
    for colour, inset in ((FRAME_INDEX, 0), (UNIT_EDGE, t)):
        y0, x0 = max(top - t + inset, 0), max(left - t + inset, 0)
        y1, x1 = min(top + factor + t - inset, big.shape[0]), min(left + factor + t - inset, big.shape[1])
        big[y0:y0 + t, x0:x1] = big[y1 - t:y1, x0:x1] = colour
        big[y0:y1, x0:x0 + t] = big[y0:y1, x1 - t:x1] = colour


def render_channel(stage, channel: int, seen: Image.Image, size: int = 448,
                   unit: tuple[int, int] | None = None) -> ChannelView:
    """Channel `channel` of a Stage: large, and over the picture the model saw, with the receptive
    field of its strongest unit (largest activation), or of `unit` (row, col) framed, drawn as a box."""
    activation = _values(stage.activation)
    if not 0 <= channel < activation.shape[0]:
        raise ValueError(say("channel: {channel} does not exist; this stage has channels 0 to {end}",
                             "channel：通道 {channel} 不存在；这个阶段的通道是 0 到 {end}", channel=channel,
                             end=activation.shape[0] - 1))
    values = activation[channel]
    h, w = values.shape
    low, high = float(values.min()), float(values.max())
    limit = max(abs(low), abs(high))
    chosen = unit is not None
    unit = tuple(unit) if chosen else divmod(int(values.argmax()), w)

    factor = large_factor(values.shape, size)
    big = np.repeat(np.repeat(colour_index(values, limit), factor, 0), factor, 1)
    if chosen:
        _mark_unit(big, unit, factor)
    width = max(big.shape[1], 420)
    large = np.full((big.shape[0] + LEGEND_H, width), BG_INDEX, dtype=np.uint8)
    large[:big.shape[0], :big.shape[1]] = big
    large[big.shape[0]:] = legend_strip(width, low, high, "channel")

    scale = size / max(seen.size)
    shown = seen.convert("RGB").resize((round(seen.width * scale), round(seen.height * scale)),
                                       Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)
    heat = Image.fromarray(diverging(values, limit)).resize(shown.size, Image.Resampling.BILINEAR)
    strength = np.clip(np.abs(values) / max(limit, 1e-12), 0, 1)
    alpha = Image.fromarray((strength * 150).astype(np.uint8)).resize(shown.size, Image.Resampling.BILINEAR)
    blended = Image.composite(heat, shown, alpha)

    box = stage.box(*unit)
    left, top, right, bottom = (v * scale for v in box)
    clipped = (min(max(left, 0), blended.width - 1), min(max(top, 0), blended.height - 1),
               min(max(right, 1), blended.width) - 1, min(max(bottom, 1), blended.height) - 1)
    draw = ImageDraw.Draw(blended)
    draw.rectangle(clipped, outline=(0, 0, 0), width=5)
    draw.rectangle(clipped, outline=(255, 214, 0), width=3)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    draw.ellipse((cx - 5, cy - 5, cx + 5, cy + 5), fill=(255, 214, 0), outline=(0, 0, 0), width=2)
    return ChannelView(to_image(large), blended, unit, float(values[unit]), box, (low, high),
                       legend_lines(low, high, "channel"))


# --- overview ---------------------------------------------------------------------------------

def thumbnail(activation: torch.Tensor, size: int = 72) -> Image.Image:
    """The stage's strongest channel (highest mean), size x size pixels, on its own scale."""
    values = _values(activation)
    values = values[int(rank_channels(values)[0])]
    return to_image(_resample(colour_index(values, float(np.abs(values).max())), size, size))


def overview_layout(n: int, size: int | None = None, max_width: int = SHOWN_WIDTH) -> GridLayout:
    size = size or (112 if n <= 8 else 64)
    cols = max(1, min(n, (max_width - PAD) // (size + PAD)))
    return GridLayout(n, cols, math.ceil(n / cols), size, size, LABEL_H)


def overview_indices(stages, size: int | None = None,
                     max_width: int = SHOWN_WIDTH) -> tuple[np.ndarray, GridLayout]:
    """One picture (as palette indices) with a thumbnail per stage (its strongest channel), labelled with
    the stage's number and kind, in the order the forward pass ran them; the layout maps a click to a stage."""
    layout = overview_layout(len(stages), size, max_width)
    size = layout.cell_w
    indices = np.full((layout.height, layout.width), BG_INDEX, dtype=np.uint8)
    for k, stage in enumerate(stages):
        x, y = layout.origin(k)
        values = _values(stage.activation)
        values = values[int(rank_channels(values)[0])]
        indices[y:y + size, x:x + size] = _resample(colour_index(values, float(np.abs(values).max())), size, size)
        blit_text(indices, x, y - LABEL_H + 1, f"{k + 1} {kind_name(stage.kind)}", max_width=size)
    return indices, layout


FRAME = 2                                # pixels, inside the PAD gap between cells


def mark_cell(indices: np.ndarray, layout: GridLayout, k: int) -> np.ndarray:
    """A copy with a black frame around cell k, label included (the stage shown now)."""
    marked = indices.copy()
    x, y = layout.origin(k)
    top, bottom = y - layout.label_h - FRAME, y + layout.cell_h + FRAME
    left, right = x - FRAME, x + layout.cell_w + FRAME
    marked[top:top + FRAME, left:right] = marked[bottom - FRAME:bottom, left:right] = FRAME_INDEX
    marked[top:bottom, left:left + FRAME] = marked[top:bottom, right - FRAME:right] = FRAME_INDEX
    return marked


def overview(stages, size: int | None = None, max_width: int = SHOWN_WIDTH, current: int | None = None):
    """The overview as an image and its layout; `current` (0-based) framed."""
    indices, layout = overview_indices(stages, size, max_width)
    return to_image(indices if current is None else mark_cell(indices, layout, current)), layout
