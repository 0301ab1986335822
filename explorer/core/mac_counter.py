"""Multiply-accumulates counted without touching any other thread's work.

PyTorch's FlopCounterMode counts the operators of its own thread (a TorchDispatchMode: thread-local),
but finds which module each one belongs to with a ModuleTracker, which installs *global* module hooks
(torch.nn.modules.module.register_module_forward_pre_hook): every module of every thread runs them
while a count is on, and they hang hooks on the gradients of what those modules return. A gradient
computed meanwhile in another thread (a Saliency map) then fails with "A leaf node was passed to
_will_engine_execute_node" (tests/core/test_mac_race.py shows it). `mac_counter(model)` is a
FlopCounterMode whose tracker hooks only the model being counted and never a gradient: the same
counts (per module path, "Global" for all), nothing global installed."""
from __future__ import annotations

from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explorer.core.hooks import hooked


class _ModelModules:
    """ModuleTracker's `parents` (the names of the modules running now, and "Global"), from forward hooks
    on one model's own modules, named as ModuleTracker names them: the root by its class, each
    submodule by its path under it."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.parents: set[str] = {"Global"}
        self._hooks = None

    def __enter__(self):
        root = type(self.model).__name__
        names = {module: f"{root}.{path}" if path else root
                 for path, module in self.model.named_modules(remove_duplicate=False)}
        self._hooks = hooked(names, pre=lambda module, args: self.parents.add(names[module]),
                             forward=lambda module, args, output: self.parents.discard(names[module]))
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):       # FlopCounterMode calls it with no arguments
        hooks, self._hooks = self._hooks, None
        self.parents = {"Global"}
        if hooks is not None:
            hooks.__exit__(None, None, None)


def mac_counter(model: nn.Module) -> FlopCounterMode:
    """`with mac_counter(model) as counter: model(x)`; then counter.get_total_flops() // 2 and
    counter.get_flop_counts() as FlopCounterMode gives them, without its global hooks."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _ModelModules(model)
    return counter
