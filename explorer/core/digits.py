"""The "digits" model's weights and input: a small LeNet-style CNN (explorer.core.nets.DigitNet, also
importable from here) that reads hand-drawn digits.

It is trained (scripts/train_digits.py) on scikit-learn's bundled digits: 8x8 grids whose cells count
the inked pixels of a 4x4 block of a 32x32 bitmap, the digit scaled so its taller side fills the grid.
A sketch goes through the same kind of 8x8 grid (crop to the ink, fit, thicken thin pen strokes,
average blocks) before both are upsampled to the network's 28x28 input the same way, so the network
sees drawings and training images alike.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from explorer.core.nets import DigitNet
from explorer.core.words import say

DIGIT_LABELS = [str(d) for d in range(10)]
INPUT_SIZE = (1, 28, 28)
WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "assets" / "models" / "digits.pt"
# What WEIGHTS_PATH scores on the held-out digits, a stratified 20 % of scikit-learn's load_digits (seed 0)
# never trained on: 359 of 360, as `scripts/train_digits.py --eval` prints (tests/core/test_digits.py checks it).
HELDOUT_ACCURACY = 99.72      # %
HELDOUT_DATA = "scikit-learn's digits, a stratified 20 % held out (seed 0)"

GRID = 8            # scikit-learn's digits are 8x8
BOX = 20            # the grid is upsampled to BOX x BOX in the middle of the 28x28 input (like MNIST)
MEAN, STD = 0.2, 0.3   # input normalisation (about the training set's pixel mean and std)

_WORK = 96          # working resolution of the sketch's longer side: 12 x 12 pixels per grid cell
_MAX_SIDE = 1024    # bigger sketches are reduced first: the grid has 8 cells, detail beyond is lost anyway
_INK_MIN = 0.25     # contrast against the background (0..1) that counts as ink
_NOISE = 0.1        # contrast below this is paper texture or compression noise, not ink
# Stroke width of the training digits relative to their taller side (about 4 of 32 pixels);
# thinner pen strokes are thickened to this so a fine brush still fills the grid cells.
_STROKE = 0.13


def load_digit_net(pretrained: bool = True) -> DigitNet:
    """DigitNet in eval mode, with the committed weights (or randomly initialised)."""
    net = DigitNet(num_classes=len(DIGIT_LABELS))
    if pretrained:
        net.load_state_dict(torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True))
    return net.eval()


def normalise_grid(grid: torch.Tensor) -> torch.Tensor:
    """Scale each grid (N, 8, 8), ink >= 0, so its most inked cell is 1, as in nearly all training digits."""
    peak = grid.flatten(1).amax(1).clamp_min(1e-6)
    return (grid / peak[:, None, None]).clamp(0, 1)


def grid_to_tensor(grid: torch.Tensor) -> torch.Tensor:
    """Grids (N, 8, 8) with ink in [0, 1] -> the network's normalised input (N, 1, 28, 28)."""
    x = F.interpolate(grid[:, None].float(), size=(BOX, BOX), mode="bilinear", align_corners=False)
    pad = (INPUT_SIZE[2] - BOX) // 2
    x = F.pad(x, (pad, pad, pad, pad))
    return (x - MEAN) / STD


def sketch_to_grid(image: Image.Image) -> np.ndarray:
    """A drawing of any mode -> 8x8 float grid in [0, 1] (1 = fully inked), like a scaled sklearn digit."""
    ink = _ink_map(image)
    mask = ink >= _INK_MIN
    if not mask.any():
        raise ValueError(_empty())
    ink = np.where(ink >= _NOISE, ink, 0.0).astype(np.float32)
    work = _fit(_crop(ink, mask), _WORK)
    work = _thicken(work / max(float(work.max()), 1e-6))     # a faint pen counts as fully inked
    work = _fit(_crop(work, work >= 0.5), _WORK)
    canvas = np.zeros((_WORK, _WORK), np.float32)
    h, w = work.shape
    top, left = (_WORK - h) // 2, (_WORK - w) // 2
    canvas[top:top + h, left:left + w] = work
    cell = _WORK // GRID
    return canvas.reshape(GRID, cell, GRID, cell).mean(axis=(1, 3))


def sketch_to_tensor(image: Image.Image) -> torch.Tensor:
    """A drawing (PIL image, any mode, dark-on-light or light-on-dark) -> input tensor (1, 1, 28, 28)."""
    grid = torch.from_numpy(sketch_to_grid(image))[None]
    return grid_to_tensor(normalise_grid(grid))


@dataclass(frozen=True)
class SketchTransform:
    """The digit net's preprocessing, as its registry entry hands it out: a drawing -> input (1, 28, 28)
    (sketch_to_tensor), with the geometry and normalisation that code making inputs itself needs
    (feature visualisation: ink in [0, 1] -> (ink - mean) / std, as grid_to_tensor does)."""
    input_size: tuple = INPUT_SIZE
    mean: float = MEAN
    std: float = STD

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return sketch_to_tensor(image)[0]


def _empty() -> str:
    return say("the sketch is empty: draw a digit", "画布是空的：请画一个数字")


def _ink_map(image: Image.Image) -> np.ndarray:
    """Ink strength in [0, 1] per pixel: contrast against the background, whichever is lighter."""
    if not isinstance(image, Image.Image):
        raise ValueError(say("sketch: expected a PIL image, got {kind}", "sketch：应为 PIL 图片，收到的是 {kind}",
                             kind=type(image).__name__))
    if image.width < 1 or image.height < 1:
        raise ValueError(_empty())
    image = _reduce(_readable_mode(image))
    if image.mode in ("I", "F"):        # 16- and 32-bit: stretch to the image's own range
        gray = np.asarray(image, dtype=np.float32)
        lo, hi = float(gray.min()), float(gray.max())
        gray = (gray - lo) / (hi - lo) if hi > lo else np.zeros_like(gray)
    else:
        if image.mode == "RGBA":
            # Gradio's Sketchpad leaves the untouched canvas transparent black: paint it white.
            image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
        try:
            gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        except ValueError as exc:
            raise ValueError(say("sketch: cannot read a sketch in colour mode {mode}; save it as PNG (RGB or RGBA)",
                                 "sketch：无法读取颜色模式为 {mode} 的画；请存成 PNG（RGB 或 RGBA）",
                                 mode=image.mode)) from exc
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background >= 0.5:       # dark ink on light paper
        ink = (background - gray) / max(background, 1e-6)
    else:                       # light ink on a dark board
        ink = (gray - background) / max(1.0 - background, 1e-6)
    return np.clip(ink, 0.0, 1.0)


def _readable_mode(image: Image.Image) -> Image.Image:
    """Modes whose pixels can be averaged: transparency -> RGBA, palette / bilevel -> L, 16-bit -> I."""
    if image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("P", "1"):
        return image.convert("L")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return image


def _reduce(image: Image.Image) -> Image.Image:
    factor = -(-max(image.size) // _MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def _crop(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit(ink: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is `side` pixels, keeping the aspect ratio."""
    h, w = ink.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.BOX if scale < 1 else Image.BILINEAR
    return np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, resample), dtype=np.float32)


def _thicken(work: np.ndarray) -> np.ndarray:
    """Dilate strokes thinner than the training digits' (width estimated as 2 * area / boundary)."""
    inked = work >= 0.5
    area = int(inked.sum())
    padded = np.pad(inked, 1)
    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    boundary = int((inked & ~interior).sum())
    width = 2.0 * area / max(boundary, 1)
    grow = int(round(_STROKE * _WORK - width))
    if grow < 2:
        return work
    k = grow + 1 if grow % 2 == 0 else grow     # odd kernel: grows each side by grow / 2
    x = torch.from_numpy(np.pad(work, k))[None, None]
    return F.max_pool2d(x, k, stride=1, padding=k // 2)[0, 0].numpy()
