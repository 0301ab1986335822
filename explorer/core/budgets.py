"""What one request may cost, in one place: set from the machine, changed by environment variables.

A public Space is one process on a few cores shared by everyone, so every computation estimates its
cost from its settings before doing any work and refuses, with a message that says what to change,
when the cost is beyond the budget. Costs are counted in what they are made of:

- memory one request may add to the process (`request_memory`): batched attribution runs in chunks
  that fit it; from the machine's memory, 1/16 of it, between 256 MB and 1 GB;
- model passes (`model_passes`): pictures through a model in one request (occlusion positions,
  Integrated Gradients steps, SmoothGrad samples); 512 per core;
- GIF frames (`gif_frames`, 400) and the pixels of one frame (`gif_frame_pixels`, 2 megapixels: larger
  frames are scaled down to it);
- feature visualisation steps: each model and stage has its own default (explorer.core.features.default_steps),
  which is also the most a request may ask for;
- models compared at once (`compare_models`): 4 per core.

Environment variables (whole numbers) override each: EXPLORER_REQUEST_MEMORY_MB, EXPLORER_MODEL_PASSES,
EXPLORER_GIF_FRAMES, EXPLORER_GIF_FRAME_PIXELS, EXPLORER_COMPARE_MODELS (explorer.core.settings reads
and checks them, with the app's other settings).
"""
import functools
import math
import os
from dataclasses import dataclass

from explorer.core import settings
from explorer.core.shown import shown
from explorer.core.words import say

MB = settings.MB


class OverBudget(ValueError):
    """A request whose settings cost more than the budget allows; the message says what to change."""


@dataclass(frozen=True)
class Budget:
    request_memory: int      # bytes one request may add to the process
    model_passes: int        # pictures through a model in one request
    gif_frames: int
    gif_frame_pixels: int    # larger GIF frames are scaled down to this many pixels
    compare_models: int


@functools.lru_cache(maxsize=1)
def machine_memory() -> int:
    """Total memory of the machine (or of its container, when cgroup limits it lower), in bytes."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = int(open("/sys/fs/cgroup/memory.max").read().strip())
    except (OSError, ValueError):                  # no cgroup v2 limit, or "max"
        return total
    return min(total, limit)


@functools.lru_cache(maxsize=1)
def machine_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                         # not Linux
        return max(1, os.cpu_count() or 1)


ENVIRONMENT = {          # field: its environment variable (explorer.core.settings.SETTINGS_TABLE)
    name: settings.SETTINGS_TABLE[name].name
    for name in ("request_memory", "model_passes", "gif_frames", "gif_frame_pixels", "compare_models")
}


def for_machine(memory_bytes: int, cores: int) -> Budget:
    """The default budget of a machine with this much memory and this many cores."""
    return Budget(request_memory=min(max(memory_bytes // 16, 256 * MB), 1024 * MB),
                  model_passes=512 * cores, gif_frames=400, gif_frame_pixels=2_000_000,
                  compare_models=4 * cores)


def current(environ=None) -> Budget:
    """This machine's budget, with the environment's overrides (read on each call: cheap)."""
    default = for_machine(machine_memory(), machine_cores())
    overrides = {name: settings.setting(name, environ) for name in ENVIRONMENT}
    return Budget(**{name: getattr(default, name) if value is None else value for name, value in overrides.items()})


# ----------------------------------------------------------------------------------------------------
# The checks: each runs before any work and raises OverBudget naming the setting to change.

def check_model_passes(what: str, passes: int, change: str, budget: Budget | None = None) -> None:
    """`what` (e.g. "occlusion: window 4 px and stride 4 px make 3,136 positions") costs `passes`
    pictures through the model; `change` says what to do about it."""
    most = (budget or current()).model_passes
    if passes > most:
        raise OverBudget(say("{what}, {passes:,} passes through the model; at most {most:,} on this machine: {change}",
                             "{what}，要让模型跑 {passes:,} 遍；这台机器最多 {most:,} 遍：{change}",
                             what=what, passes=passes, most=most, change=change))


def check_gif(frames: int, width: int, height: int, budget: Budget | None = None) -> None:
    most = (budget or current()).gif_frames
    if frames > most:
        raise OverBudget(say("GIF: this GIF would have {frames:,} frames of {size:.1f} megapixels; at most {most:,} "
                             "frames: use a smaller matrix, less padding or a larger stride",
                             "GIF：这个 GIF 会有 {frames:,} 帧，每帧 {size:.1f} 百万像素；最多 {most:,} 帧："
                             "请用更小的矩阵、更少的填充或更大的步幅",
                             frames=frames, size=width * height / 1e6, most=most))


def gif_frame_size(width: int, height: int, budget: Budget | None = None) -> tuple[int, int]:
    """The size GIF frames are written at: the frame's own, or scaled down to the pixel budget."""
    most = (budget or current()).gif_frame_pixels
    if width * height <= most:
        return width, height
    scale = math.sqrt(most / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def check_compare(models: int, budget: Budget | None = None) -> None:
    most = (budget or current()).compare_models
    if models > most:
        raise OverBudget(say("models: {models} models at once is more than this machine compares in one request; "
                             "pick at most {most}",
                             "models：一次比较 {models} 个模型，超过了这台机器一次请求能比较的数量；最多选 {most} 个",
                             models=models, most=most))


def check_visualize_steps(steps: int | float, most: int) -> None:
    """Feature visualisation: `most` is the model and stage's default number of steps on this machine."""
    if float(steps) > most:
        raise OverBudget(say("steps: {steps} is more than this model and stage take here: at most {most} "
                             "(each step is one forward and one backward pass)",
                             "steps：{steps} 超过了这里这个模型和阶段能承受的步数：最多 {most} 步"
                             "（每一步是一次前向和一次反向传播）", steps=shown(steps), most=most))


def chunk(per_picture_bytes: int, wanted: int, budget: Budget | None = None) -> int:
    """How many pictures to send through the model at once so that one chunk fits the memory budget
    (with a fifth left for the rest of the request): between 1 and `wanted`."""
    fits = int((budget or current()).request_memory * 0.8) // max(1, per_picture_bytes)
    return max(1, min(int(wanted), fits))


def echo(value, most: int = 40) -> str:
    """A value as a message may repeat it: a number as a number, anything else its repr cut to `most`
    characters (a visitor may send a megabyte of text in one cell; the message names it, it does not
    return it). explorer.core.shown.shown."""
    return shown(value, most)
