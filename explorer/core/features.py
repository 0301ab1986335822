"""What does this channel look for? Feature visualisation by optimisation, on the real models.

`visualize(model, stage, channel)` draws the picture that excites one channel of one stage (or one
unit, or one class logit) as much as it can, following the recipe of Lucid and Distill's "Feature
Visualization" (Olah, Mordvintsev and Schubert, 2017), written here for PyTorch:

- the picture is parameterised in a decorrelated space, not as raw pixels: a Fourier spectrum scaled
  by 1 / frequency (Lucid's `fft_image`, decay power 1), colours through ImageNet's colour-correlation
  square root (Lucid's `color_correlation_svd_sqrt`), then a sigmoid to [0, 1];
- the steps see the picture through small random transformations (jitter of a few pixels, a
  scale of 0.9 to 1.1 and a rotation of up to 5 degrees, what falls outside filled with a plain colour),
  so the result is a feature the model finds at any position and scale, not a pattern tuned to pixels;
  the last SETTLE (30 %) of the steps then see it as it is, which sharpens what the robust steps found
  (bilinear resampling blurs every transformed view); the benchmark checks that it still excites its
  channel after a zoom and a shift;
- Adam updates the spectrum only; one torch.Generator seeded by `seed` draws the initial spectrum and
  every transformation, so the same seed gives the same picture;
- a feature that is off everywhere on the first pictures (behind a ReLU) is woken with Lucid's
  redirected ReLU gradient, used only for the steps after one that found no gradient at all.

The shared module is used only under `model.lock`, held for one forward pass at a time; the objective's
hook exists only while the lock is held and stops the pass as soon as the stage has run.
Results are kept in `RESULTS` (an `explorer.core.recent.Recent`), so asking again is instant.

This module runs the optimisation and keeps its results; each part of the recipe has its own module,
whose public names are importable from here too: explorer.core.feature_params (the picture's
parameterisation), feature_transforms (the random transformations and the model's normalisation),
feature_objectives (the objective's hook, the redirected gradient, the ceiling), feature_request
(checking a request, the default steps) and feature_stages (the model's stages and their cost).

    >>> from explorer.core.models import get_model
    >>> model, _ = get_model("efficientnet_lite0")
    >>> v = visualize(model, "blocks.2.1.conv_pw", 7, progress=lambda f: print(f"{f:.0%}"))
    >>> v.image.save("channel7.png"); print(v.activation, activation_of(model, v.stage, 7, photo))
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from PIL import Image

from explorer.core.feature_objectives import Ceiling, _measure, ceiling
from explorer.core.feature_params import FourierPicture, from_image, to_image
from explorer.core.feature_request import (
    CPU_BUDGET,
    DEFAULT_STEPS,
    MAX_SIZE,
    MAX_STEPS,
    MIN_SIZE,
    OBJECTIVES,
    _Job,
    _job,
    _target,
    default_steps,
)
from explorer.core.feature_stages import StageRef, input_shape, stages_of
from explorer.core.feature_transforms import _fill, _on_device, _transformed, normalise
from explorer.core.loaded_model import LoadedModel
from explorer.core.recent import Recent
from explorer.core.state import STORES
from explorer.core.words import say

__all__ = [   # this module's own names, then those it re-exports from the modules that hold them
    "Progress", "LEARNING_RATE", "SETTLE", "REDIRECT_STEPS", "Visualization", "RESULTS", "visualize",
    "activation_of", "Ceiling", "ceiling", "FourierPicture", "from_image", "to_image", "CPU_BUDGET",
    "DEFAULT_STEPS", "MAX_SIZE", "MAX_STEPS", "MIN_SIZE", "OBJECTIVES", "default_steps", "StageRef",
    "input_shape", "stages_of", "normalise",
]

Progress = Callable[[float], None]   # called with the fraction done once per step; may raise to cancel

LEARNING_RATE = 0.05
SETTLE = 0.3                  # the last 30 % of the steps see the picture as it is, with no random transformation
REDIRECT_STEPS = 8            # steps run with _RedirectedReLU after one whose gradient was all zero


@dataclass
class Visualization:
    """A picture drawn to excite one feature, and how it got there.

    `image`: the picture (RGB, or L for the digit model, whose bright pixels are ink), `size` x `size`.
    `objective`: the objective measured at every step (on that step's randomly transformed picture).
    `activation`: the objective on `image` itself as the model sees it (no transformation): `input`,
    the picture's 8-bit pixels normalised as the model expects, (1, C, size, size) on the CPU.
    `stage` / `stage_index`: the stage's name and index ("logits" / None for the "class" objective).
    `channel`, `objective_name`, `seed`, `steps`, `size`: the request; `seconds`: the time the
    optimisation took.
    """
    image: Image.Image
    objective: list[float]
    stage: str
    stage_index: int | None
    channel: int
    objective_name: str
    seed: int
    steps: int
    size: int
    activation: float
    input: torch.Tensor
    seconds: float


RESULTS = STORES.register("features.results", Recent(max_entries=64), "feature visualisations")   # (model, pretrained, stage index, channel, objective, seed, steps, size)


# ----------------------------------------------------------------------------------------------------
# The optimisation.

def _redirect_next(redirected: int, dead: bool) -> int:
    """How many of the next steps run with _RedirectedReLU: REDIRECT_STEPS after a plain step that found
    no gradient (the feature is off); none ever again (-1) once a redirected step found none either (the
    feature is at its ceiling, every unit saturated, say at a ReLU6's 6: redirecting only costs time)."""
    if redirected > 0:
        return -1 if dead else redirected - 1
    return REDIRECT_STEPS if redirected == 0 and dead else redirected


def _optimise(model: LoadedModel, job: _Job, progress: Progress | None) -> Visualization:
    """Adam (learning rate 0.05) on a Fourier spectrum scaled by 1 / frequency whose colours go through
    ImageNet's colour-correlation matrix and a sigmoid (Lucid's recipe, with the inverse FFT divided by 2
    rather than Lucid's 4), seen for the first 70 % of the steps through a random jitter of up to 8 px
    (at 224; proportionally at other sizes), a zoom of 0.9 to 1.1 and a rotation of up to 5 degrees, and
    for the last 30 % as it is, then normalised with the model's own mean and standard deviation: one
    forward+backward per step. The gradient is taken with respect to the spectrum only. When a step
    finds the feature off everywhere (no gradient reaches the picture, as happens to a channel behind a
    ReLU), the next steps run with Lucid's redirected ReLU gradient until it comes on. The lock is held
    for each forward pass only (the backward pass reads saved tensors, never the module)."""
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(job.seed)
    picture = FourierPicture(input_shape(model)[0], job.size, generator)
    optimizer = torch.optim.Adam([picture.spectrum], lr=LEARNING_RATE)
    fill, values, redirected = _fill(model), [], 0
    settle_from = job.steps - round(SETTLE * job.steps)
    for step in range(job.steps):
        optimizer.zero_grad(set_to_none=True)
        pixels = picture.pixels()
        if step < settle_from:
            pixels = _transformed(pixels, generator, fill)
        x = _on_device(model, normalise(model, pixels))
        value = _measure(model, job.ref, job.channel, job.objective, x, redirect=redirected > 0)[0]
        (-value).backward()
        redirected = _redirect_next(redirected, not picture.spectrum.grad.any())
        optimizer.step()
        values.append(float(value.detach()))
        if progress is not None:
            progress((step + 1) / job.steps)
    with torch.no_grad():
        image = to_image(picture.pixels())
    x = normalise(model, from_image(image))
    with torch.no_grad():
        activation = float(_measure(model, job.ref, job.channel, job.objective, _on_device(model, x))[0])
    return Visualization(image, values, job.stage, job.stage_index, job.channel, job.objective, job.seed,
                         job.steps, job.size, activation, x, time.perf_counter() - start)


def visualize(model: LoadedModel, stage, channel, *, objective: str = "channel", size: int | None = None,
              steps: int | None = None, seed: int = 0, progress: Progress | None = None) -> Visualization:
    r"""Draw a picture that excites one feature of the model as much as it can.

    The picture is optimised by gradient ascent on the objective, by Lucid's recipe (`_optimise` says
    how). The model stays in eval mode and its weights are never changed.

    Args:
        model (LoadedModel): A model from `explorer.core.models.get_model` or `load_model`. Its `lock` is
            held for each forward pass only: other users of the shared module run between steps.
        stage (int or str): The stage whose output is measured: its index in the Stages tab's order
            (0-based; a numeric string counts) or its name as the Stages tab lists it (e.g.
            ``"blocks.2.0.conv_pw"``, or ``"name (call 2)"`` for a module's second call). Conv and
            pooling stages alike. Ignored when ``objective="class"``.
        channel (int): The channel of the stage, 0 to the stage's channels - 1. With
            ``objective="class"`` it is the class index instead, 0 to ``len(model.labels) - 1``.
        objective (str, optional): What is maximised:

            - ``"channel"`` (default): the mean of the channel over the stage's whole output map;
            - ``"unit"``: the one neuron at the centre of the channel's map (row H // 2, column W // 2);
            - ``"class"``: the classifier's logit for class ``channel`` (a whole forward pass).

            The stage's output is taken as the stage's module returns it (a convolution's output before
            its BatchNorm and activation), as the Stages tab shows it.
        size (int, optional): The side of the picture in pixels, which is also the size the model reads
            it at. None (default): the model's own input size (224 for the ImageNet models, 28 for the
            digit model, which accepts only 28). Photo models accept 64 to 512; smaller is faster.
        steps (int, optional): Optimisation steps, one forward and one backward pass each (the forward
            pass stops at the stage), 1 to 512. None (default): `default_steps` (200 on a GPU; on a
            CPU as many as its budget allows, 48 to 200).
        seed (int, optional): Seeds the initial spectrum and every random transformation (one
            torch.Generator). The same seed, steps and size give the same picture on the same machine
            (bitwise on the CPU); another seed gives another picture of the same feature. Default: 0.
        progress (callable, optional): Called as ``progress(fraction_done)`` after every step (and with
            1.0 when the answer comes from the cache). If it raises (e.g. a Cancel button), the run
            stops at once, the exception propagates, no hook is left and nothing is cached.

    Returns:
        Visualization: the picture, the objective after each step (a list that should rise), its
        `activation` (compare it with `activation_of` on any other picture) and the request's numbers.
        Results are kept in `RESULTS`, keyed by (model name, pretrained, stage index, channel, objective,
        seed, steps, size): asking again returns the same object at once. Treat it as read-only.

    Raises:
        ValueError: naming the argument and the allowed range, for an unknown objective, an unknown
            stage name, a stage index out of range, a channel (or class) out of range, steps outside
            1 to 512, a size the model cannot read or a seed that is not a non-negative whole number.
    """
    job = _job(model, stage, channel, objective, size, steps, seed)
    key = (model.name, model.pretrained, job.stage_index, job.channel, job.objective, job.seed, job.steps, job.size)
    found = RESULTS.get(key)
    if found is None:
        with torch.inference_mode(False), torch.enable_grad():     # whatever mode the caller runs in
            found = _optimise(model, job, progress)
        RESULTS.put(key, found)
    elif progress is not None:
        progress(1.0)
    return found


def activation_of(model: LoadedModel, stage, channel, picture, objective: str = "channel") -> float:
    """The objective (see `visualize`) on any picture: a PIL image (or anything `model.preprocess`
    takes), which goes through the model's own transform (resize and crop for photo models, the sketch
    reading for the digit model), or a tensor (C, H, W) or (1, C, H, W) already normalised as the model
    expects (e.g. `Visualization.input`), used as it is. With ``objective="class"`` `stage` is ignored
    and `channel` is a class index. ValueError for a bad stage, channel or objective, as `visualize`."""
    ref, _, _, channel = _target(model, stage, channel, objective)
    if isinstance(picture, torch.Tensor):
        x = picture if picture.dim() == 4 else picture[None]
        if x.shape[0] != 1 or x.shape[1] != input_shape(model)[0]:
            raise ValueError(say("picture: a tensor of shape {shape}; give (C, H, W) or (1, C, H, W) with C = {c}",
                                 "picture：张量的形状是 {shape}；请给 (C, H, W) 或 (1, C, H, W)，其中 C = {c}",
                                 shape=tuple(picture.shape), c=input_shape(model)[0]))
        x = x.float()
    else:
        x = model.preprocess(picture)
    with torch.no_grad():
        return float(_measure(model, ref, channel, objective, _on_device(model, x))[0])
