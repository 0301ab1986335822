"""Keep a long-running server's memory flat, and its pauses short.

glibc gives each thread that allocates its own malloc arena and keeps freed memory in it. Gradio
runs requests on a pool of up to 40 threads, so every thread that once ran a large forward pass
(a deletion curve is a batch of 26 pictures) keeps that peak: resident memory climbs with each new
thread. Two arenas shared by all threads keep it near one peak
(measured: `benchmarks/bench_load.py --soak`).

Python's full garbage collection walks every tracked object, and after importing torch, torchvision,
timm, Captum and Gradio and loading a model there are millions: each full collection stopped the whole
server for about 300 ms, every request in flight included. Objects alive once start-up is done live
as long as the process, so they are frozen out of collection (`freeze_startup_objects`).

Memory a request freed stays in the process (glibc keeps it for later allocations) until
`release_memory` hands the free pages back: the app calls it after every request of the model queues,
after a model is evicted (explorer.core.model_store) and after a large attribution
(explorer.core.attribution).

Between those hand-backs, freed memory is kept for the next pass (`keep_freed_memory`): glibc otherwise
hands the top of its heap back as soon as a pass frees it, and the next pass pays a page fault for every
4 KiB it touches again. A stage sweep keeps every stage's output (26 MiB for EfficientNet-Lite0), so
each sweep grew the heap afresh: about 11,000 page faults, a third more time than the bare forward
(measured: `benchmarks/bench_stages.py`)."""
import ctypes
import ctypes.util
import gc

M_ARENA_MAX = -8
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEPT_FREE_BYTES = 512 * 2**20     # free memory glibc keeps before trimming on its own (release_memory trims)
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's largest: blocks below it come from the heap, reused without faults


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_allocator_arenas(arenas: int = 2) -> bool:
    """Limit glibc's malloc arenas (no-op, returning False, where the C library is not glibc)."""
    return bool(_LIBC and _LIBC.mallopt(M_ARENA_MAX, arenas))


def keep_freed_memory() -> bool:
    """Keep what a pass frees for the next one instead of trimming the heap after every free (no-op,
    returning False, where the C library is not glibc). The app still hands memory back after each
    request of the model queues (release_memory). Setting either value fixes glibc's otherwise
    self-adjusting mmap threshold, so both are set."""
    if not _LIBC:
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and _LIBC.mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES))


def release_memory(collect: bool = False) -> bool:
    """Return the allocator's free pages to the system (glibc's malloc_trim), after a full garbage
    collection when `collect` (what a large request or an evicted model left in reference cycles is
    freed first). The one place the app hands memory back. False where the C library has no
    malloc_trim (musl, macOS) or nothing could be returned."""
    if collect:
        gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    return bool(trim is not None and trim(0))


def freeze_startup_objects() -> int:
    """Collect, then move every object now alive out of the garbage collector's reach (it stays alive;
    it is just never walked again). Returns how many objects were frozen so far."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
