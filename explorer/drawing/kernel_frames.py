"""Frames of the sliding-window animation, drawn with PIL, and the whole animation as a GIF.

A frame shows the padded input with the window, the kernel, the element-wise products (or the pooled
window), the written sum of this step, and the output filled so far. Everything that does not change
between steps is drawn once per Slide; a frame is a copy of that plus a few pastes and a few words,
so it takes milliseconds even at 32x32.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import GifImagePlugin, Image, ImageDraw

from explorer.core import budgets
from explorer.core.sliding import OP_NAMES, Slide, fmt
from explorer.core.words import say
from explorer.drawing.kernel_text import _pieces, _stamp, font, put_caption, put_line, put_text, text_width

WHITE = (255, 255, 255)
INK = (33, 37, 41)
MUTED = (110, 110, 120)
GRID = (200, 200, 208)
PAD_FILL, PAD_INK = (228, 222, 245), (120, 108, 170)          # padding: lavender, never white
UNUSED_FILL, UNUSED_INK = (214, 214, 214), (140, 140, 140)     # input no window reads: grey
TAP_FILL = (255, 214, 92)                                     # cells under the kernel taps
WINDOW = (222, 84, 12)                                        # window outline, current output cell
KERNEL_FILL = (253, 235, 211)
PRODUCT_FILL = (255, 246, 214)
DONE_FILL = (206, 237, 214)                                   # output cells already computed
PICK_FILL = (255, 190, 60)                                    # the cell max pooling picks
MAX_WIDTH = 1400       # wider than this, the output table goes under the input instead of beside it


def op_title(op: str) -> str:
    """The operation's name, capitalised, in the language spoken: "Convolution", "最大池化"..."""
    return say(OP_NAMES[op].capitalize(), {"conv": "卷积", "max": "最大池化", "avg": "平均池化"}[op])


def cell_text(v: float) -> str:
    if math.isinf(v):
        return "-∞" if v < 0 else "∞"
    return fmt(v)


@dataclass
class Grid:
    """A table drawn at (x, y) with cells of cw x ch pixels."""
    x: int
    y: int
    rows: int
    cols: int
    cw: int
    ch: int

    @property
    def width(self) -> int:
        return self.cols * self.cw

    @property
    def height(self) -> int:
        return self.rows * self.ch

    def box(self, r: int, c: int) -> tuple[int, int, int, int]:
        x0, y0 = self.x + c * self.cw, self.y + r * self.ch
        return x0, y0, x0 + self.cw, y0 + self.ch

    def span(self, r0: int, c0: int, r1: int, c1: int) -> tuple[int, int, int, int]:
        """Pixel box covering cells r0..r1, c0..c1 (inclusive)."""
        return self.x + c0 * self.cw, self.y + r0 * self.ch, self.x + (c1 + 1) * self.cw, self.y + (r1 + 1) * self.ch


def _cell_width(texts, size: int) -> int:
    widest = max((font(size, True, True).getlength(t) for t in set(texts)), default=0)
    return int(max(widest + 8, size * 2))


def _draw_cells(im: Image.Image, grid: Grid, texts, fills, inks, size: int, bold=False):
    draw = ImageDraw.Draw(im)
    for r in range(grid.rows):
        for c in range(grid.cols):
            x0, y0, x1, y1 = grid.box(r, c)
            draw.rectangle((x0, y0, x1, y1), fill=fills[r][c], outline=GRID)
            if texts[r][c]:
                put_text(im, ((x0 + x1) / 2, (y0 + y1) / 2 + 1), texts[r][c], size, inks[r][c], bold, True)


def _input_colours(s: Slide) -> tuple[list, list]:
    """Fill and ink of each cell of the padded input: padding lavender, input no window reads grey."""
    pr, pc = s.padding
    n_rows, n_cols = s.matrix.shape
    unused_r, unused_c = set(s.unused_rows), set(s.unused_cols)
    fills, inks = [], []
    for r in range(s.padded.shape[0]):
        fill_row, ink_row = [], []
        for c in range(s.padded.shape[1]):
            ri, ci = r - pr, c - pc
            if not (0 <= ri < n_rows and 0 <= ci < n_cols):
                fill, ink = PAD_FILL, PAD_INK
            elif ri in unused_r or ci in unused_c:
                fill, ink = UNUSED_FILL, UNUSED_INK
            else:
                fill, ink = WHITE, INK
            fill_row.append(fill)
            ink_row.append(ink)
        fills.append(fill_row)
        inks.append(ink_row)
    return fills, inks


def _product_texts(s: Slide, in_texts: list[list[str]]) -> list[str]:
    """Texts as wide as the widest the products' table will show (its cell width is measured on them)."""
    if s.op != "conv":
        return in_texts[0] + ["-∞"]
    products = np.stack([st.window * s.kernel for st in s.steps])
    if products.size < 20000:
        return [cell_text(v) for v in np.unique(products)]
    return [cell_text(v) for v in (products.min(), products.max(), -abs(products).max() - 0.111)]


class FrameRenderer:
    """Draws frame k of the animation of one Slide; build it once, then call frame(k) per step."""

    def __init__(self, s: Slide):
        self.s = s
        side = max(*s.padded.shape, *s.output.shape)
        self.size = 18 if side <= 8 else 15 if side <= 16 else 13     # cell text, legible at 32x32
        self.small = max(11, self.size - 3)
        self.title = self.size + 1
        self.conv = s.op == "conv"
        self.in_texts = [[cell_text(v) for v in row] for row in s.padded]
        self.k_texts = [[cell_text(v) for v in row] for row in s.kernel] if self.conv else None
        self.out_texts = [[cell_text(v) for v in row] for row in s.output]
        cap_h = self.small + 10                         # caption above each table
        self._lay_out(cap_h)
        self.base = self._draw_base(*_input_colours(s), cap_h)
        # the same input with every cell as it looks under the window: frames paste the tapped cells
        rows, cols = s.padded.shape
        self.hi = self.base.copy()
        _draw_cells(self.hi, self.input, self.in_texts, [[TAP_FILL] * cols] * rows, [[INK] * cols] * rows,
                    self.size, bold=True)
        self.done = self.base.copy()
        _draw_cells(self.done, self.output, self.out_texts, [[DONE_FILL] * self.output.cols] * self.output.rows,
                    [[INK] * self.output.cols] * self.output.rows, self.size)

    def _lay_out(self, cap_h: int) -> None:
        """Where every table, the formula and the legend go, and the frame's size: the input on the left,
        the kernel over the products in the middle, the output on the right (under the input when the
        frame would grow wider than MAX_WIDTH)."""
        s = self.s
        m = 18                                          # margin
        ch = self.size + 12
        kh, kw = s.kernel_size
        label_w = int(text_width("32", self.small)) + 8  # row numbers left of the input
        cw_in = _cell_width([t for row in self.in_texts for t in row], self.size)
        cw_out = _cell_width([t for row in self.out_texts for t in row], self.size)
        cw_k = _cell_width([t for row in self.k_texts for t in row], self.size) if self.conv else 0
        cw_p = _cell_width(_product_texts(s, self.in_texts), self.size)
        top = m + self.title + 16 + cap_h
        self.input = Grid(m + label_w, top + self.small + 6, *s.padded.shape, cw_in, ch)
        mid_x = self.input.x + self.input.width + 2 * m
        self.kernel = Grid(mid_x, self.input.y, kh, kw, cw_k, ch) if self.conv else None
        y_prod = self.kernel.y + self.kernel.height + cap_h + 18 if self.conv else self.input.y
        self.products = Grid(mid_x, y_prod, kh, kw, cw_p, ch)
        mid_w = max(self.products.width, self.kernel.width if self.conv else 0,
                    int(text_width(self._window_caption(), self.small, True)) + 4)
        right_x = mid_x + mid_w + 2 * m
        if right_x + s.output.shape[1] * cw_out + m <= MAX_WIDTH:
            self.output = Grid(right_x, self.input.y, *s.output.shape, cw_out, ch)
        else:                                           # big: the output goes under the input
            self.output = Grid(self.input.x, self.input.y + self.input.height + cap_h + 14,
                               *s.output.shape, cw_out, ch)
        self.width = max(self.output.x + self.output.width + m, mid_x + mid_w + m, 640)
        body_bottom = max(self.input.y + self.input.height, self.products.y + self.products.height,
                          self.output.y + self.output.height)
        self.formula_y = body_bottom + 18
        self.formula_size = self.size + 1
        self.max_lines = 3
        self.line_h = self.formula_size + 8
        self.legend_y = self.formula_y + self.max_lines * self.line_h + 8
        self.legend = self._legend_lines()
        self.height = self.legend_y + len(self.legend) * (self.small + 10) + 8

    def _window_caption(self) -> str:
        if self.conv:
            return say("window x kernel", "窗口 x 卷积核")
        kh, kw = self.s.kernel_size
        return say("window {kh}x{kw} ({op})", "窗口 {kh}x{kw}（{zh}）", kh=kh, kw=kw, op=self.s.op, zh=op_title(self.s.op))

    def _legend_lines(self) -> list[list[tuple]]:
        """The legend's items, (colour, words, x), broken into lines that fit the frame's width."""
        under = say("under the kernel", "卷积核覆盖的格") if self.conv else say("under the window", "窗口覆盖的格")
        items = [(TAP_FILL, under), (PAD_FILL, say("padding", "填充")),
                 (DONE_FILL, say("output so far", "已算出的输出"))]
        if self.s.unused_rows or self.s.unused_cols:
            items.append((UNUSED_FILL, say("never read by any window (PyTorch drops it)",
                                           "没有窗口读到（PyTorch 丢弃它）")))
        sw = self.small + 2
        lines, x = [[]], 18
        for colour, label in items:
            wide = sw + 6 + int(text_width(label, self.small, False)) + 22
            if lines[-1] and x + wide - 22 > self.width - 18:
                lines.append([])
                x = 18
            lines[-1].append((colour, label, x))
            x += wide
        return lines

    def __len__(self) -> int:
        return len(self.s.steps)

    def _draw_base(self, in_fill, in_ink, cap_h) -> Image.Image:
        s = self.s
        im = Image.new("RGB", (self.width, self.height), WHITE)
        draw = ImageDraw.Draw(im)
        pr, pc = s.padding
        rows, cols = s.matrix.shape
        if not (pr or pc):
            caption = say("input {r}x{c}", "输入 {r}x{c}", r=rows, c=cols)
        elif pr == pc:
            caption = say("input {r}x{c}, padded by {p}", "输入 {r}x{c}，填充 {p}", r=rows, c=cols, p=pr)
        else:
            caption = say("input {r}x{c}, padded by {pr} (rows) and {pc} (columns)",
                          "输入 {r}x{c}，行方向填充 {pr}，列方向填充 {pc}", r=rows, c=cols, pr=pr, pc=pc)
        put_caption(draw, (self.input.x - 4, self.input.y - cap_h - self.small - 6), caption, self.small, INK)
        _draw_cells(im, self.input, self.in_texts, in_fill, in_ink, self.size)
        for r in range(s.matrix.shape[0]):       # row / column numbers of the real input, from 0 as PyTorch's
            y = self.input.y + (r + pr) * self.input.ch + self.input.ch / 2
            put_text(im, (self.input.x - 12, y), str(r), self.small - 1, MUTED)
        for c in range(s.matrix.shape[1]):
            x = self.input.x + (c + pc) * self.input.cw + self.input.cw / 2
            put_text(im, (x, self.input.y - self.small / 2 - 3), str(c), self.small - 1, MUTED)
        if self.conv:
            put_caption(draw, (self.kernel.x, self.kernel.y - cap_h), say("kernel", "卷积核"), self.small, INK)
            _draw_cells(im, self.kernel, self.k_texts, [[KERNEL_FILL] * self.kernel.cols] * self.kernel.rows,
                        [[INK] * self.kernel.cols] * self.kernel.rows, self.size)
        put_caption(draw, (self.products.x, self.products.y - cap_h), self._window_caption(), self.small, INK)
        oh, ow = s.output.shape
        put_caption(draw, (self.output.x, self.output.y - cap_h), say("output {oh}x{ow}", "输出 {oh}x{ow}", oh=oh, ow=ow),
                    self.small, INK)
        empty = [[""] * ow] * oh
        _draw_cells(im, self.output, empty, [[WHITE] * ow] * oh, [[INK] * ow] * oh, self.size)
        self._draw_legend(im)
        return im

    def _draw_legend(self, im: Image.Image):
        draw = ImageDraw.Draw(im)
        sw = self.small + 2
        for k, line in enumerate(self.legend):
            y = self.legend_y + k * (self.small + 10)
            for colour, label, x in line:
                draw.rectangle((x, y, x + sw, y + sw), fill=colour, outline=GRID)
                put_caption(draw, (x + sw + 6, y - 1), label, self.small, MUTED, bold=False)

    def frame(self, index: int) -> Image.Image:
        s = self.s
        n = len(s.steps)
        if not 0 <= index < n:
            raise ValueError(say("step: must be between 1 and {n}, got {k}", "step：应在 1 到 {n} 之间，收到的是 {k}",
                                 n=n, k=index + 1))
        step = s.steps[index]
        i, j = step.position
        im = self.base.copy()
        # output filled so far: full rows above, this row up to and including the current cell
        if i:
            im.paste(self.done.crop(self.output.span(0, 0, i - 1, self.output.cols - 1)),
                     self.output.span(0, 0, i - 1, self.output.cols - 1)[:2])
        box = self.output.span(i, 0, i, j)
        im.paste(self.done.crop(box), box[:2])
        # the taps of the window (one paste when they are adjacent)
        rows, cols = step.rows, step.cols
        inside_r = rows[rows < self.input.rows]
        inside_c = cols[cols < self.input.cols]
        if s.dilation == (1, 1) and inside_r.size and inside_c.size:
            box = self.input.span(inside_r[0], inside_c[0], inside_r[-1], inside_c[-1])
            im.paste(self.hi.crop(box), box[:2])
        else:
            for r in inside_r:
                for c in inside_c:
                    box = self.input.box(r, c)
                    im.paste(self.hi.crop(box), box[:2])
        draw = ImageDraw.Draw(im)
        x0, y0, _, _ = self.input.box(rows[0], cols[0])
        _, _, x1, y1 = self.input.box(rows[-1], cols[-1])
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=WINDOW, width=3)
        ox0, oy0, ox1, oy1 = self.output.box(i, j)
        draw.rectangle((ox0, oy0, ox1, oy1), fill=TAP_FILL)
        put_text(im, ((ox0 + ox1) / 2, (oy0 + oy1) / 2 + 1), self.out_texts[i][j], self.size, INK, True, True)
        draw.rectangle((ox0 - 1, oy0 - 1, ox1 + 1, oy1 + 1), outline=WINDOW, width=3)
        self._draw_window_values(im, draw, step)
        head = say("{op}, step {k} of {n}: output row {i}, column {j} = {v}",
                   "{op}，第 {k} 步（共 {n} 步）：输出第 {i} 行第 {j} 列 = {v}",
                   op=op_title(s.op), k=index + 1, n=n, i=i, j=j, v=fmt(float(s.output[i, j])))
        put_line(im, (18, 14), head, self.title, INK, True)
        self._draw_formula(im, index)
        return im

    def _draw_window_values(self, im, draw, step):
        g = self.products
        window = step.window
        if self.conv:
            values = window * self.s.kernel
            fills = [[PRODUCT_FILL] * g.cols] * g.rows
        else:
            values = window
            pick = np.nanmax(window) if self.s.op == "max" else None
            fills = [[PICK_FILL if pick is not None and v == pick else PRODUCT_FILL for v in row]
                     for row in window]
        for r in range(g.rows):
            for c in range(g.cols):
                x0, y0, x1, y1 = g.box(r, c)
                v = values[r, c]
                outside = math.isnan(v)
                draw.rectangle((x0, y0, x1, y1), fill=WHITE if outside else fills[r][c], outline=GRID)
                if not outside:                 # NaN: a ceil_mode tap beyond the padded input
                    put_text(im, ((x0 + x1) / 2, (y0 + y1) / 2 + 1), cell_text(v), self.size, INK, False, True)

    def _draw_formula(self, im, index):
        s = self.s
        size = self.formula_size
        avail = self.width - 36
        lines = _wrap(s.expression(index, times="×"), size, avail)
        for keep in (16, 10, 6, 4):
            if len(lines) <= self.max_lines:
                break
            lines = _wrap(s.expression(index, max_terms=keep, times="×"), size, avail)
        for k, line in enumerate(lines[:self.max_lines]):
            put_line(im, (18, self.formula_y + k * self.line_h), line, size, INK)

    def frames(self):
        for k in range(len(self)):
            yield self.frame(k)

    def gif_size(self) -> tuple[int, int]:
        """The size the GIF's frames are written at: the frame's own, or scaled down to the budget."""
        return budgets.gif_frame_size(self.width, self.height)

    def gif(self, path, step_ms: int = 400, keep_going: Callable[[], bool] | None = None) -> Path:
        """The whole animation as an (endlessly looping) GIF at `path`, refused beyond the GIF budget.
        Frames are written one by one (only the frame written and the one before it are in memory),
        each as the box that changed since the one before; frames over the budget's pixels are scaled
        down. `keep_going()` is asked before each frame: False stops and removes the file."""
        budgets.check_gif(len(self), self.width, self.height)
        size = self.gif_size()
        palette = self._gif_palette(size)
        path = Path(path)
        try:
            with path.open("wb") as out:
                previous = None
                for k in range(len(self)):
                    if keep_going is not None and not keep_going():
                        raise GifStopped(say("GIF: stopped at frame {k} of {n}", "GIF：停在第 {k} 帧（共 {n} 帧）",
                                             k=k + 1, n=len(self)))
                    frame = self.frame(k)
                    if frame.size != size:
                        frame = frame.resize(size, Image.Resampling.BOX)
                    indexed = frame.quantize(palette=palette, dither=Image.Dither.NONE)
                    if previous is None:
                        out.write(b"".join(GifImagePlugin.getheader(indexed, info={"loop": 0})[0]))
                    _write_gif_frame(out, indexed, previous, step_ms)
                    previous = indexed
                out.write(b";")                                 # the GIF trailer
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _gif_palette(self, size: tuple[int, int]) -> Image.Image:
        """One palette for every frame, taken from images that hold all the frame's colours: no
        per-frame colour search, and text keeps its colours from frame to frame."""
        sample = Image.new("RGB", (self.width, self.height * 3))
        sample.paste(self.base, (0, 0))
        sample.paste(self.hi, (0, self.height))
        sample.paste(self.frame(0), (0, 2 * self.height))
        if size != (self.width, self.height):                  # the colours the scaled frames have
            sample = sample.resize((size[0], size[1] * 3), Image.Resampling.BOX)
        keys = [WHITE, INK, MUTED, GRID, PAD_FILL, PAD_INK, UNUSED_FILL, UNUSED_INK, TAP_FILL, WINDOW,
                KERNEL_FILL, PRODUCT_FILL, DONE_FILL, PICK_FILL]     # the exact colours of every cell
        shades = sample.quantize(colors=256 - len(keys), method=Image.Quantize.FASTOCTREE,
                                 dither=Image.Dither.NONE).getpalette()[:3 * (256 - len(keys))]
        palette = Image.new("P", (1, 1))
        palette.putpalette([v for c in keys for v in c] + shades)
        return palette


class GifStopped(RuntimeError):
    """Nobody waits for the GIF any more (keep_going() said False)."""


def _write_gif_frame(out, indexed: Image.Image, previous: Image.Image | None, step_ms: int) -> None:
    """One frame: the box that differs from the previous frame (all of the first), drawn over it."""
    left, top = 0, 0
    if previous is not None:
        changed = np.asarray(indexed) != np.asarray(previous)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if rows.size:
            left, top = int(cols[0]), int(rows[0])
            indexed = indexed.crop((left, top, int(cols[-1]) + 1, int(rows[-1]) + 1))
        else:                                                   # the same picture: one pixel, redrawn
            indexed = indexed.crop((0, 0, 1, 1))
    out.write(b"".join(GifImagePlugin.getdata(indexed, offset=(left, top), duration=step_ms, disposal=1)))


def _wrap(text: str, size: int, width: float) -> list[str]:
    """Break the written sum after '+' or ',' so that each line fits `width` pixels."""
    lines, line, used = [], "", 0.0
    for piece in _pieces(text):
        w = _stamp(piece, size, False, "ls")[2]
        if line and used + w > width:
            lines.append(line)
            line, used = "", 0.0
        line += piece
        used += w
    lines.append(line)
    return lines
