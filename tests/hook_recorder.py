"""The tests' own hook recorder: what modules see in a forward pass, recorded by hooks of the test's own.

It is written with PyTorch's hook API directly, not with explorer.core.hooks, so that the reference a
test compares the package with shares no code with the package.

    with recording(conv_layers, lambda module, inputs, output: output.clone()) as outputs:
        model(x)
"""
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from torch import nn


@contextmanager
def recording(modules: nn.Module | Iterable[nn.Module], keep: Callable = lambda module, inputs, output: output,
              *, before: bool = False) -> Iterator[list]:
    """Yield a list that gets `keep(module, inputs, output)` for every call of each module of `modules`
    (one module or an iterable), in call order; with `before`, a forward pre-hook and `keep(module,
    inputs)` instead, before the module runs. The hooks are removed when the block exits, however."""
    modules = [modules] if isinstance(modules, nn.Module) else list(modules)
    kept: list = []
    if before:
        handles = [m.register_forward_pre_hook(lambda m, inputs: kept.append(keep(m, inputs))) for m in modules]
    else:
        handles = [m.register_forward_hook(lambda m, inputs, output: kept.append(keep(m, inputs, output)))
                   for m in modules]
    try:
        yield kept
    finally:
        for handle in handles:
            handle.remove()


def hook_count(module: nn.Module) -> int:
    """The hooks of every kind on a module and its submodules: 0 when nothing was left behind."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(m._backward_pre_hooks) for m in module.modules())
