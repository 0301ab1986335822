"""Work that may wait: a thread of low priority for frames nobody queues for (the Stages tab's live webcam).

On a machine of two cores, a live stream's passes and drawings use both cores as fast as frames come. A
visitor who only slides a kernel then waits for the processor behind them: their request takes a few
milliseconds of Python, but the server's event loop and the request's worker thread get the cores only
between the stream's work. `in_background(fn, ...)` runs fn in a worker thread whose scheduling priority is
lowered (Linux gives each thread its own nice value, and the threads a thread starts, PyTorch's OpenMP
workers among them, inherit it), so the operating system hands the cores to any other work first and to
the stream the rest of the time. The caller waits for the result (a wait holds no lock and no core).

Where a thread's priority cannot be lowered (no per-thread nice values), the work still runs in that
worker thread, at normal priority.
"""
from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

NICE = 15                   # the worker thread's nice value (0 normal, 19 lowest)
WORKERS = 1                 # frames of every stream take turns (they share the model's lock anyway)


def _lower_priority() -> None:
    """The worker thread's own priority lowered (Linux: setpriority on a thread id affects that thread)."""
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, max(NICE, os.getpriority(os.PRIO_PROCESS, me)))
    except (AttributeError, OSError):
        pass


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _worker() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="background",
                                       initializer=_lower_priority)
        return _pool


def in_background(fn, /, *args, **kwargs):
    """fn(*args, **kwargs) run in the low-priority worker thread, in the caller's context (its language, its
    request's marks); returns its result or raises its exception."""
    context = contextvars.copy_context()
    return _worker().submit(context.run, fn, *args, **kwargs).result()


def priority_of_worker() -> int:
    """The worker thread's nice value as the operating system reports it (for tests and benchmarks)."""
    return _worker().submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
