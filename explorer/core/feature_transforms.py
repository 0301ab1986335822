"""What a feature drawing's steps see: the picture through small random transformations (jitter, zoom,
rotation, the outside filled with a plain colour), then normalised as the model's own transform does,
on the model's device."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from explorer.core.digits import SketchTransform
from explorer.core.loaded_model import LoadedModel
from explorer.core.registry import PhotoTransform
from explorer.core.words import say

JITTER = 8 / 224              # random shift, as a fraction of the side (8 px at 224)
SCALES = (0.9, 1.1)           # random zoom
DEGREES = 5.0                 # random rotation, either way


def _transformed(pixels: torch.Tensor, generator: torch.Generator, fill: float) -> torch.Tensor:
    """The picture randomly shifted (up to JITTER of its side), zoomed (SCALES) and turned (DEGREES)
    about its centre, at its own size; what comes in from outside is the plain colour `fill` (like
    padding first and cropping after)."""
    jitter = round(JITTER * pixels.shape[-1]) or 1
    shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator).double() * 2 / pixels.shape[-1]
    zoom = SCALES[0] + (SCALES[1] - SCALES[0]) * float(torch.rand((), generator=generator, dtype=torch.float64))
    angle = math.radians(DEGREES * (2 * float(torch.rand((), generator=generator, dtype=torch.float64)) - 1))
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    theta = torch.tensor([[[cos, -sin, float(shift[0])], [sin, cos, float(shift[1])]]], dtype=pixels.dtype)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    return F.grid_sample(pixels - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def _fill(model: LoadedModel) -> float:
    """The plain colour around the picture: grey for photos, no ink for the digit model."""
    return 0.0 if model.input_kind == "sketch" else 0.5


def normalise(model: LoadedModel, pixels: torch.Tensor) -> torch.Tensor:
    """Pixels (N, C, H, W) in [0, 1] -> the model's input, normalised as its own transform does (for the
    digit model: ink in [0, 1] -> (ink - 0.2) / 0.3, as explorer.core.digits.grid_to_tensor)."""
    if isinstance(model.transform, PhotoTransform):
        mean = torch.tensor(model.transform.mean, dtype=pixels.dtype).view(1, -1, 1, 1)
        std = torch.tensor(model.transform.std, dtype=pixels.dtype).view(1, -1, 1, 1)
        return (pixels - mean) / std
    if isinstance(model.transform, SketchTransform):
        return (pixels - model.transform.mean) / model.transform.std
    raise ValueError(say("model: {name} has no known normalisation to draw a picture for",
                         "model：不知道 {name} 的输入归一化方式，无法为它画图", name=model.name))


def _on_device(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """A normalised input on the model's device, in the channels-last layout its weights use."""
    return x.to(model.device).contiguous(memory_format=torch.channels_last)
