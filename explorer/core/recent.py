"""`Recent`: the most recently used results, kept so that the same question asked again is answered
without recomputing it: a Stages session steps through one picture's activations, the Kernel tab's
timer asks for one frame at a time, and on a public Space the example pictures are explained over and
over with the same method. `picture_key` and `fingerprint` name what such results were computed from."""
import hashlib
import itertools
import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

import numpy as np
import torch
from PIL import Image

T = TypeVar("T")


class Recent:
    """A thread-safe store of at most `max_entries` values (and, given `size_of`, at most `max_bytes`
    in all, though the newest one is always kept); the least recently used value goes first."""

    def __init__(self, max_entries: int = 64, max_bytes: int | None = None, size_of: Callable[[object], int] = None):
        self.max_entries, self.max_bytes, self.size_of = max_entries, max_bytes, size_of
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value) -> None:
        size = self.size_of(value) if self.size_of else 0
        with self._lock:
            self._store(key, value, size)

    def swap(self, key: Hashable, value):
        """Store value under key and return the value it replaced (None if there was none), in one step:
        of two threads swapping in the same value, only the first sees it as new."""
        size = self.size_of(value) if self.size_of else 0
        with self._lock:
            found = self._items.get(key)
            self._store(key, value, size)
        return None if found is None else found[0]

    def _store(self, key: Hashable, value, size: int) -> None:
        """put's work; the caller holds the lock."""
        if key in self._items:
            self._bytes -= self._items.pop(key)[1]
        self._items[key] = (value, size)
        self._bytes += size
        while len(self._items) > 1 and (len(self._items) > self.max_entries or
                                        (self.max_bytes is not None and self._bytes > self.max_bytes)):
            self._bytes -= self._items.popitem(last=False)[1][1]

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The stored value, or compute()'s, then stored. It runs outside the lock: two threads asking at
        once may both compute it (the work is deterministic, so both get the same answer)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def drop_where(self, predicate: Callable[[Hashable], bool]) -> None:
        """Removes every entry whose key satisfies `predicate` (one visitor's entries, when they leave)."""
        with self._lock:
            for key in [k for k in self._items if predicate(k)]:
                self._bytes -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


_MODULES = itertools.count()


def module_key(module) -> tuple[int, int]:
    """A key for one module object for as long as the process runs: its id and a number given to it once.
    An id alone is reused by a new object once the old one is freed (a test's toy model after another's),
    which then found the freed model's kept results."""
    number = module.__dict__.get("_explorer_number")
    if number is None:
        number = next(_MODULES)
        object.__setattr__(module, "_explorer_number", number)
    return id(module), number


def fingerprint(x: torch.Tensor | np.ndarray) -> str:
    """A tensor or array named by its shape, type and bytes."""
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    digest = hashlib.blake2b(f"{array.dtype}{array.shape}".encode(), digest_size=16)
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def picture_key(picture) -> str:
    """A short key for what the user gave: an upload path names its content (Gradio stores uploads
    under a hash of their bytes); a sketch is hashed pixel by pixel."""
    digest = hashlib.blake2b(digest_size=16)

    def feed(value):
        if value is None:
            digest.update(b"-")
        elif isinstance(value, str):
            digest.update(value.encode())
        elif isinstance(value, Image.Image):
            digest.update(f"{value.mode}{value.size}".encode())
            digest.update(value.tobytes())
        elif isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            for name in sorted(value):
                digest.update(name.encode())
                feed(value[name])
        elif isinstance(value, (list, tuple)):
            for item in value:
                feed(item)
        else:
            digest.update(repr(value).encode())

    feed(picture)
    return digest.hexdigest()
