"""Module hooks that never outlive their use.

Models are shared by every request (explorer.core.models), so a hook left on one would run in every
later pass of everyone's. `hooked` installs hooks for the length of a `with` block and removes them on
every exit: the block's end, an exception (a cancelled run, a hook that ends the pass early by raising),
or a failure while installing them.

    >>> with hooked(layers, forward=lambda module, inputs, output: seen.append(output)):
    ...     model(x)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from torch import nn
from torch.utils.hooks import RemovableHandle

KINDS = (   # hooked's keyword, the nn.Module method that installs it, and what the hook is called with
    ("pre", "register_forward_pre_hook", "hook(module, inputs) before the module runs"),
    ("forward", "register_forward_hook", "hook(module, inputs, output) after it runs"),
    ("backward", "register_full_backward_hook", "hook(module, grad_inputs, grad_outputs) in the backward pass"),
)


@contextmanager
def hooked(modules: nn.Module | Iterable[nn.Module], *, pre: Callable | None = None,
           forward: Callable | None = None, backward: Callable | None = None) -> Iterator[list[RemovableHandle]]:
    """Install the given hooks on each module of `modules` (one module or any iterable of them), in
    module order and, per module, pre then forward then backward; yield their handles; remove them all
    when the block exits, however it exits. ValueError when no hook is given."""
    given = [(method, hook) for (_, method, _), hook in zip(KINDS, (pre, forward, backward))
             if hook is not None]
    if not given:
        raise ValueError("hooked: no hook given; pass pre=, forward= or backward= (a function)")
    modules = [modules] if isinstance(modules, nn.Module) else modules
    handles: list[RemovableHandle] = []
    try:
        for module in modules:
            for method, hook in given:
                handles.append(getattr(module, method)(hook))
        yield handles
    finally:
        for handle in handles:
            handle.remove()
