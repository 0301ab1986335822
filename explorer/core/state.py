"""Every server-side store in one place.

Results, pictures and flags that outlive one request live in stores (a `Recent`, a dict, an
`lru_cache`...) created by the module that fills them and registered here by name, so that one object
can list them, empty them all (`STORES.clear()`: tests, a memory emergency) and forget one visitor's
entries when their session ends (`STORES.forget_session(session)`, which the UI calls from
`demo.unload`). Module-level state is only for what all visitors share; what belongs to one visitor is
keyed by their session and registered with a `forget` function.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Store:
    name: str
    store: object
    clear: Callable[[], None]
    forget: Callable[[Hashable], None] | None   # drops one session's entries; None: nothing per session
    shared: str                                  # what it holds and why all visitors share it


class Stores:
    def __init__(self):
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()

    def register(self, name: str, store: T, shared: str, clear: Callable[[], None] | None = None,
                 forget: Callable[[Hashable], None] | None = None) -> T:
        """Registers `store` under `name` and returns it: `CACHE = STORES.register("stages.inspections",
        Recent(...), "...")`. `clear` defaults to the store's own `clear` (or `cache_clear`)."""
        clear = clear or getattr(store, "clear", None) or getattr(store, "cache_clear", None)
        if clear is None:
            raise ValueError(f"store {name!r}: give clear=, it has no clear() or cache_clear()")
        with self._lock:
            if name in self._stores and self._stores[name].store is not store:
                raise ValueError(f"store {name!r} is already registered")
            self._stores[name] = Store(name, store, clear, forget, shared)
        return store

    def names(self) -> list[str]:
        return sorted(self._stores)

    def __getitem__(self, name: str) -> Store:
        return self._stores[name]

    def clear(self) -> None:
        """Empties every store, the loaded models' too: the next request loads what it needs again."""
        for entry in list(self._stores.values()):
            entry.clear()

    def forget_session(self, session: Hashable) -> None:
        """Drops what the stores keep for one visitor's session (called when the browser tab closes)."""
        if session is None:
            return
        for entry in list(self._stores.values()):
            if entry.forget is not None:
                entry.forget(session)


STORES = Stores()
