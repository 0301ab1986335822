"""Keep a long-running server's memory flat.

glibc gives each thread that allocates its own malloc arena and keeps freed memory in it. Gradio
runs requests on a pool of up to 40 threads, so every thread that once ran a large forward pass
(a deletion curve is a batch of 26 pictures) keeps that peak: resident memory climbs with each new
thread. Two arenas shared by all threads keep it near one peak
(measured: `benchmarks/bench_load.py --soak`)."""
import ctypes
import ctypes.util

M_ARENA_MAX = -8


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

