"""What a request costs in seconds, estimated before any of its work, and the small requests' right of way.

The budgets in explorer.core.budgets count passes through a model; a pass of VGG-16 costs about fifty of
the digit model's. Here a request's cost is counted in seconds: the model's multiply-accumulates (its
registry entry's `gmacs`) times the passes the request needs, at the speed of this machine, measured
once at first use with a few convolutions (`seconds_per_gmac`; EXPLORER_SECONDS_PER_GMAC sets it instead).
A gradient pass (forward and backward) counts BACKWARD forward passes. `check` refuses, naming the
argument and what to change, a request estimated beyond EXPLORER_REQUEST_SECONDS (default 60 s; on
ZeroGPU the longest GPU slot, explorer.core.gpu, is the same figure).

Long jobs run in chunks (Integrated Gradients' internal batches, occlusion's perturbations per
evaluation, one feature-drawing step) and report progress between them; `give_way()`, called there,
waits while a small request (explorer.ui.lanes: the Kernel and layer endpoints, the digit model) is
running, up to GIVE_WAY_SECONDS, so the two cores are the small request's for the moment it needs them.
"""
from __future__ import annotations

import contextvars
import functools
import os
import threading
import time
from contextlib import contextmanager

import torch

from explorer.core import budgets, settings
from explorer.core.both import said
from explorer.core.budgets import OverBudget
from explorer.core.state import STORES
from explorer.core.words import pick, say

BACKWARD = 2.5                 # a forward and a backward pass cost about 2.5 forward passes
CPU_PASS_OVERHEAD = 0.01       # seconds of Python and small operators around each pass on a CPU
GPU_SECONDS_PER_GMAC = 0.001   # explorer.core.gpu's figures: 2 TFLOP/s, 5 ms per pass
GPU_PASS_OVERHEAD = 0.005
GIVE_WAY_SECONDS = 5.0         # the most a chunk boundary waits for small requests
CHUNK_SECONDS = 1.0            # a long job's chunk (pictures through the model at once) takes about this at most


def _on_zerogpu() -> bool:
    """Hugging Face sets SPACES_ZERO_GPU on ZeroGPU Spaces (the `spaces` package is on every Space)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "true")


@functools.lru_cache(maxsize=1)
def measured_seconds_per_gmac() -> float:      # registered in STORES below
    """Seconds per billion multiply-accumulates of a batch-of-one 3x3 convolution (64 channels at 56x56,
    the middle of a typical CNN) on the device models run on: the best of five runs (the others include
    whatever else ran meanwhile)."""
    from explorer.core.device import pick_device

    device = pick_device()
    if device.type != "cpu" or _on_zerogpu():
        return GPU_SECONDS_PER_GMAC
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    x = torch.randn(1, 64, 56, 56)
    gmacs = 64 * 64 * 9 * 56 * 56 / 1e9
    times = []
    with torch.inference_mode():
        conv(x)
        for _ in range(5):
            start = time.perf_counter()
            conv(x)
            times.append(time.perf_counter() - start)
    return min(times) / gmacs


STORES.register("cost.speed", measured_seconds_per_gmac, "this machine's measured speed (seconds per GMAC)")


def seconds_per_gmac() -> float:
    given = settings.setting("seconds_per_gmac")
    return given if given is not None else measured_seconds_per_gmac()


def budget_seconds() -> int:
    """EXPLORER_REQUEST_SECONDS: the estimated seconds one request may compute."""
    return settings.setting("request_seconds")


def pass_seconds(gmacs: float, backward: bool = True) -> float:
    """Seconds of one one-picture pass through a model of `gmacs`, with its backward pass if `backward`."""
    overhead = GPU_PASS_OVERHEAD if seconds_per_gmac() <= GPU_SECONDS_PER_GMAC else CPU_PASS_OVERHEAD
    return overhead + gmacs * seconds_per_gmac() * (BACKWARD if backward else 1.0)


def model_gmacs(model_name: str) -> float:
    """Billions of multiply-accumulates of one forward pass at the model's input size (registry entry);
    an unknown name (refused later, with a message) is sized as the largest model."""
    from explorer.core.registry import REGISTRY, find

    try:
        entry = find(model_name)            # registered, or a timm model typed by name (its measured MACs)
    except ValueError:
        entry = None
    return entry.gmacs if entry is not None else max(e.gmacs for e in REGISTRY.values())


def priced(model_name: str) -> bool:
    """Whether the model's multiply-accumulates are on record (registered, or a timm model typed by name);
    a library user's own module is not, and is not refused by time."""
    from explorer.core.registry import find

    try:
        return find(model_name) is not None
    except ValueError:
        return False


def estimate(model_name: str, passes: float, backward: bool = True) -> float:
    """Seconds of `passes` one-picture passes through the registered model `model_name` (an unknown
    name is sized as the largest model)."""
    return max(1.0, float(passes)) * pass_seconds(model_gmacs(model_name), backward)


def check(what: str, model_name: str, passes: float, change: str, backward: bool = True) -> float:
    """Refuses (OverBudget) a request estimated beyond the budget, before any of its work; else returns
    the estimate. `what` starts with the argument that drives the cost ("n_steps: 512 steps of
    Integrated Gradients"), `change` says what to do about it."""
    from explorer.core.registry import REGISTRY

    seconds = estimate(model_name, passes, backward)
    if model_name in REGISTRY:
        made_of = say("{passes:,} passes through {title}", "{title} 要跑 {passes:,} 遍",
                      passes=int(passes), title=said(REGISTRY[model_name].title))
    else:
        made_of = say("{passes:,} passes through this model", "这个模型要跑 {passes:,} 遍", passes=int(passes))
    return refuse_over(what, seconds, made_of, change)


_CHANGE = {"integrated_gradients": ("n_steps", {"en": "use fewer steps or a smaller model",   # explorer.core.attribution
                                                "zh": "请减少步数，或换一个更小的模型"}),
           "smoothgrad": ("nt_samples", {"en": "use fewer noisy copies or a smaller model",
                                         "zh": "请减少加噪副本的数量，或换一个更小的模型"}),
           "occlusion": ("stride", {"en": "use a larger stride or window, or a smaller model",
                                    "zh": "请用更大的步幅或遮挡窗口，或换一个更小的模型"})}


def check_method(model_name: str, method: str, title: str, passes: int) -> None:
    """An attribution method's seconds, before any pass (occlusion's passes are forward only). A module
    that is not a registered model (a library user's own) has no cost on record and is not refused; past
    the passes budget the method itself refuses first, naming the passes (budgets.check_model_passes)."""
    from explorer.core.registry import REGISTRY

    if model_name not in REGISTRY or passes > budgets.current().model_passes:
        return
    argument, change = _CHANGE.get(method, ("method", {"en": "pick a smaller model", "zh": "请换一个更小的模型"}))
    check(say("{argument}: {title} ({passes:,} pictures)", "{argument}：{title}（{passes:,} 张图）",
              argument=argument, title=title, passes=passes),
          model_name, passes, pick(change), backward=method != "occlusion")


def refuse_over(what: str, seconds: float, made_of: str, change: str) -> float:
    """OverBudget when `seconds` (an estimate `made_of` these passes) is beyond the budget; else seconds."""
    most = budget_seconds()
    if seconds > most:
        raise OverBudget(say("{what} would take about {seconds:,.0f} s on this machine ({made_of}); one request "
                             "may take at most {most} s here (EXPLORER_REQUEST_SECONDS): {change}",
                             "{what}在这台机器上大约要 {seconds:,.0f} 秒（{made_of}）；这里一次请求最多 {most} 秒"
                             "（EXPLORER_REQUEST_SECONDS）：{change}",
                             what=what, seconds=seconds, made_of=made_of, most=most, change=change))
    return seconds


# ----------------------------------------------------------------------------------------------------
# Small requests' right of way.

_small = threading.Condition()
_small_running = 0
_in_small = contextvars.ContextVar("in_small_request", default=False)   # seen by the request's worker thread


@contextmanager
def small_request():
    """Marks a small request as running for the length of the block (explorer.ui.lanes wraps each)."""
    global _small_running
    with _small:
        _small_running += 1
    mine = _in_small.set(True)
    try:
        yield
    finally:
        _in_small.reset(mine)
        with _small:
            _small_running -= 1
            _small.notify_all()


def small_running() -> int:
    return _small_running


def give_way(most: float = GIVE_WAY_SECONDS) -> float:
    """Called by a long job between two chunks: waits while small requests run, at most `most` seconds.
    Returns the seconds waited (0.0 when none ran: the usual case costs one lock). A small request's own
    chunks (a digit-model drawing) never wait: it would wait for itself."""
    if _in_small.get():
        return 0.0
    start = time.monotonic()
    with _small:
        _small.wait_for(lambda: _small_running == 0, timeout=most)
    return time.monotonic() - start
