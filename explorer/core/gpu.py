"""`gpu`: the decorator for every function that runs a model on behalf of a request.

On a Hugging Face ZeroGPU Space it is `spaces.GPU`: a GPU is attached only while the decorated function
runs (outside such functions CUDA is emulated), and the function reserves a slot of `duration` seconds.
Shorter slots are served first and a visitor's daily quota is counted in GPU minutes, so each function
passes a `duration` estimated from its own arguments (the model, how many passes the request needs)
instead of the default 60 s. Off ZeroGPU `spaces.GPU` returns the function unchanged; where `spaces` is
not installed, `gpu` does the same itself.

The estimate: SLOT_BASE_SECONDS for attaching the GPU, plus SAFETY times the compute: per image-pass
(one forward and backward of one picture) a fixed launch overhead and the model's multiply-accumulates
at a modest throughput (none of this was measured on a ZeroGPU slot), clamped to [MIN_SLOT, the request
time budget EXPLORER_REQUEST_SECONDS] (explorer.core.cost; MAX_SLOT is its default).
"""
import importlib.util
import math
from contextlib import contextmanager
from typing import Callable

from explorer.core import cost
from explorer.core.state import STORES

SLOT_BASE_SECONDS = 3.0
PASS_OVERHEAD_SECONDS = 0.005    # Python and kernel launches of one pass of a ~100-layer model
SECONDS_PER_GMAC = 0.001         # 2 TFLOP/s: a one-picture pass keeps a GPU far from its peak
SAFETY = 2.0
MIN_SLOT, MAX_SLOT = 5, 60     # MAX_SLOT: EXPLORER_REQUEST_SECONDS' default; the slot never exceeds the budget


def _spaces_gpu() -> Callable | None:
    if importlib.util.find_spec("spaces") is None:
        return None
    import spaces

    return spaces.GPU


def gpu(fn: Callable | None = None, *, duration: int | Callable | None = None):
    """Usable as `@gpu` and as `@gpu(duration=seconds or a function of the call's arguments)`."""
    def decorate(function: Callable) -> Callable:
        spaces_gpu = _spaces_gpu()
        if spaces_gpu is None:
            return function
        return spaces_gpu(function, duration=duration)
    return decorate if fn is None else decorate(fn)


def model_gmacs(model_name: str) -> float:
    """Billions of multiply-accumulates of one forward pass (explorer.core.cost.model_gmacs)."""
    return cost.model_gmacs(model_name)


def slot_seconds(model_name: str, passes: float = 1.0) -> int:
    """The GPU slot (seconds) a request of `passes` image-passes through the model reserves."""
    per_pass = PASS_OVERHEAD_SECONDS + SECONDS_PER_GMAC * model_gmacs(model_name)
    seconds = SLOT_BASE_SECONDS + SAFETY * max(1.0, passes) * per_pass
    from explorer.core.cost import budget_seconds  # a request's time budget is also its longest slot

    return int(min(budget_seconds(), max(MIN_SLOT, math.ceil(seconds))))


# On ZeroGPU a decorated function runs in another process and its arguments travel pickled, so a
# progress callback (a closure over the request's cancel flag and Gradio's progress bar) cannot be an
# argument. The caller registers it here under a job key and passes the key; the function looks it
# up. In this process (anywhere but ZeroGPU) the lookup finds it: progress and Cancel work as before.
# In ZeroGPU's worker process it finds nothing, and the run goes to its end, bounded by its slot.
_REPORTERS: dict[str, Callable] = STORES.register("gpu.reporters", {}, "progress callbacks of running GPU jobs")
_next_job = iter(range(1, 1 << 62))


@contextmanager
def reporting(progress: Callable | None):
    """`with reporting(callback) as job:` pass `job` to a GPU function, which calls `reporter(job)`."""
    if progress is None:
        yield None
        return
    job = f"job-{next(_next_job)}"
    _REPORTERS[job] = progress
    try:
        yield job
    finally:
        _REPORTERS.pop(job, None)


def reporter(job: str | None) -> Callable | None:
    return _REPORTERS.get(job) if job else None
