"""The byte-budget store of loaded models (ModelStore): models loaded on demand and kept while their weights
fit a budget (EXPLORER_MODEL_BUDGET_MB, explorer.core.settings), the least recently used going first,
and the byte counts it measures them by."""
import threading
from collections import OrderedDict
from typing import Callable

from torch import nn

from explorer.core import settings
from explorer.core.loaded_model import LoadedModel
from explorer.core.memory import release_memory


def model_bytes(model: LoadedModel) -> int:
    """The bytes of a loaded model's weights and of the modules among its companions."""
    modules = [model.module] + [found for value in list(model._companions.values())
                                for found in _modules_in(value)]
    return sum(module_bytes(m) for m in modules)


def _modules_in(value) -> list[nn.Module]:
    if isinstance(value, nn.Module):
        return [value]
    if isinstance(value, LoadedModel):
        return [value.module]
    if isinstance(value, (tuple, list)):
        return [m for item in value for m in _modules_in(item)]
    return []


MODEL_BUDGET_VARIABLE = settings.SETTINGS_TABLE["model_budget_bytes"].name
DEFAULT_MODEL_BUDGET_MB = settings.DEFAULT_MODEL_BUDGET_MB


def model_budget_bytes() -> int:
    """The bytes of weights the app keeps loaded at once: EXPLORER_MODEL_BUDGET_MB megabytes (default 1024)."""
    return settings.setting("model_budget_bytes")


def module_bytes(module: nn.Module) -> int:
    """The bytes a module's parameters and buffers hold (each storage counted once)."""
    storages = {}
    for tensor in (*module.parameters(), *module.buffers()):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


class ModelStore:
    """Models loaded on demand and kept while they fit a byte budget: past it, the least recently used
    go first, and before a load makes room for the model's `estimate` (so the peak is not the old models
    and the new one together). The pinned ones are never evicted, and neither is the most recently used,
    so a model larger than the budget still loads (alone). Sizes are measured at each check (`size_of`):
    what is made from a model later (companion) counts too. A thread still using an evicted model keeps
    it until it is done; its memory then goes back to the system."""

    def __init__(self, load: Callable[[str], tuple], budget_bytes: int, pinned=(),
                 size_of: Callable[[tuple], int] = lambda loaded: model_bytes(loaded[0]),
                 estimate: Callable[[str], int] = lambda name: 0):
        self.load, self.budget_bytes, self.pinned, self.size_of = load, budget_bytes, set(pinned), size_of
        self.estimate = estimate
        self._loaded: OrderedDict[str, tuple] = OrderedDict()     # least recently used first
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, name: str):
        found = self._touch(name)
        if found is not None:
            return found
        with self._loading_lock(name):      # one load per model at a time; the others stay available
            found = self._touch(name)
            if found is not None:
                return found
            self.enforce_budget(incoming=self.estimate(name))
            loaded = self.load(name)
            with self._lock:
                self._loaded[name] = loaded
            self.enforce_budget()
        return loaded

    def _touch(self, name: str):
        with self._lock:
            if name not in self._loaded:
                return None
            self._loaded.move_to_end(name)
            return self._loaded[name]

    def _loading_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(name, threading.Lock())

    def enforce_budget(self, incoming: int = 0) -> None:
        """Evict least recently used models until the rest, and `incoming` bytes about to load, fit the
        budget, then hand the memory they held back to the system. Never a pinned model, nor the most
        recently used unless a model is about to load (it is then the most recently used)."""
        with self._lock:
            sizes = {name: self.size_of(loaded) for name, loaded in self._loaded.items()}
            total, evicted = sum(sizes.values()) + incoming, []
            for name in list(self._loaded) if incoming else list(self._loaded)[:-1]:
                if total <= self.budget_bytes:
                    break
                if name not in self.pinned:
                    evicted.append(self._loaded.pop(name))
                    total -= sizes[name]
        if evicted:
            del evicted
            release_memory(collect=True)    # collect: a module in a reference cycle would otherwise wait

    def loaded_bytes(self) -> int:
        with self._lock:
            return sum(self.size_of(loaded) for loaded in self._loaded.values())

    def values(self) -> list:
        """What the loader gave for each loaded model, least recently used first."""
        with self._lock:
            return list(self._loaded.values())

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()

    def forget(self, name: str, unless: Callable[[tuple], bool] = lambda loaded: False) -> None:
        """Drop one model (loaded again on its next use), unless `unless(what the loader gave)` holds."""
        with self._lock:
            if name in self._loaded and not unless(self._loaded[name]):
                del self._loaded[name]
