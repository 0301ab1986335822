"""Module hooks that never outlive their use.

Models are shared by every request (explorer.core.models), so a hook left on one would run in every
later pass of everyone's. `hooked` installs hooks for the length of a `with` block and removes them on
every exit: the block's end, an exception (a cancelled run, a hook that ends the pass early by raising),
or a failure while installing them.

    >>> with hooked(layers, forward=lambda module, inputs, output: seen.append(output)):
    ...     model(x)

`wrapped` does what a forward hook does at a fraction of its cost (a module with a hook takes PyTorch's
slow call path, about 8 µs a call; a wrapped forward adds under 1 µs): the stage sweep runs it on every
convolution and pooling layer of a pass, at the speed live work needs.
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


_ABSENT = object()


@contextmanager
def wrapped(modules: Iterable[nn.Module], after: Callable) -> Iterator[None]:
    """For the length of the block, each call of each module of `modules` (each once) is followed by
    `after(module, inputs, output)`, as a forward hook would be (`inputs`: the positional arguments;
    what `after` returns is ignored, the output goes on unchanged). It wraps the module's `forward` in an
    attribute of the instance, which Module.__call__ calls; the previous one (the class's, or an
    instance's own) is back when the block exits, however it exits."""
    saved: list[tuple[nn.Module, object]] = []
    try:
        for module in dict.fromkeys(modules):
            own = module.__dict__
            saved.append((module, own.get("forward", _ABSENT)))
            own["forward"] = _after(module, module.forward, after)     # what nn.Module.__setattr__ would do
        yield
    finally:
        for module, forward in reversed(saved):
            if forward is _ABSENT:
                module.__dict__.pop("forward", None)
            else:
                module.__dict__["forward"] = forward


def _after(module: nn.Module, forward: Callable, after: Callable) -> Callable:
    def call(*args, **kwargs):
        output = forward(*args, **kwargs)
        after(module, args, output)
        return output
    return call
