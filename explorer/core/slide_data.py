"""A Slide as data for the page's own player (explorer/ui/kernel_live.py): every number the animation
draws, written once by `fmt` here, so the browser animates without asking the server again and shows
exactly the numbers PyTorch gave."""
from __future__ import annotations

import json
import math

import numpy as np

from explorer.core.sliding import Slide, fmt

MAX_PRODUCT_TAPS = 36      # larger kernels show their sum written out, not a grid of products
MAX_TERMS = 12             # terms of a step's sum written out before the middle ones are abbreviated


def _grid(a: np.ndarray) -> list[list[str]]:
    return [[fmt(float(v)) for v in row] for row in a]


def _shade(a: np.ndarray) -> list[list[float]]:
    """Each value as 0..1 of the finite values' range (for the cells' shading); 0 where not finite."""
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo or 1.0
    return [[round((float(v) - lo) / span, 3) if math.isfinite(v) else 0.0 for v in row] for row in a]


def _products(s: Slide, index: int) -> list[list[str]] | None:
    """What the window's taps give at step `index`: value x weight (conv) or the value (pooling)."""
    if s.kernel_size[0] * s.kernel_size[1] > MAX_PRODUCT_TAPS:
        return None
    window = s.steps[index].window
    got = window * s.kernel if s.op == "conv" else window
    return [["" if math.isnan(v) else fmt(float(v)) for v in row] for row in got]


def slide_data(s: Slide, start: int = 1) -> dict:
    """Everything the page's player draws, by name; `start` is the step (1-based) it opens on."""
    steps = [dict(pos=list(st.position), rows=[int(r) for r in st.rows], cols=[int(c) for c in st.cols],
                  sum=s.expression(k, MAX_TERMS, times="×"), products=_products(s, k))
             for k, st in enumerate(s.steps)]
    return dict(op=s.op, padding=list(s.padding), shape=list(s.matrix.shape), padded=_grid(s.padded),
                shade=_shade(s.padded), kernel=None if s.kernel is None else _grid(s.kernel),
                kernel_size=list(s.kernel_size), output=_grid(s.output), output_shade=_shade(s.output),
                unused_rows=s.unused_rows, unused_cols=s.unused_cols, steps=steps,
                start=min(max(int(start), 1), len(steps)))


def slide_json(s: Slide, start: int = 1) -> str:
    """slide_data as JSON text (what the page's gr.HTML holds as its value)."""
    return json.dumps(slide_data(s, start), separators=(",", ":"))
