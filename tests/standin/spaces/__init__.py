"""A stand-in for Hugging Face's `spaces` package, for tests: `spaces.GPU` behaves as on ZeroGPU in the
ways the app can get wrong, and records every call.

- Each decorated call is a GPU slot: it is recorded (function, the `duration` its decorator computes
  from the call's arguments) as one JSON line in the file named by SPACES_STANDIN_LOG.
- Arguments and results must pickle, as ZeroGPU sends them through a queue to the process that owns
  the GPU; a call whose arguments or result do not is recorded as a violation and raises.
- A forward pass of a model the app serves (a module `explorer.core.models.load_model` marked with
  `served_model`, on a real device, not "meta") while Gradio handles an event but outside a slot is
  recorded as a violation and raises, as CUDA would fail outside a slot there. (Tests that call the
  package directly, outside any event, are not checked.)
"""
import functools
import json
import os
import pickle
import threading
import traceback

import torch

_inside = threading.local()
_log_lock = threading.Lock()


def _log(record: dict) -> None:
    path = os.environ.get("SPACES_STANDIN_LOG")
    if path:
        with _log_lock, open(path, "a") as out:
            out.write(json.dumps(record) + "\n")


def _served(module) -> bool:
    if getattr(module, "served_model", None) is None:
        return False
    parameter = next(module.parameters(), None)
    return parameter is not None and parameter.device.type != "meta"


def _in_event() -> bool:
    from gradio.context import LocalContext

    return LocalContext.event_id.get(None) is not None


def _forward_outside_slot(module, args):
    if getattr(_inside, "depth", 0) == 0 and _served(module) and _in_event():
        where = "".join(traceback.format_stack(limit=12)[:-1])
        _log({"violation": "forward outside a GPU slot", "module": type(module).__name__, "stack": where})
        raise RuntimeError(f"spaces stand-in: {type(module).__name__}.forward ran outside a @spaces.GPU function")


torch.nn.modules.module.register_module_forward_pre_hook(_forward_outside_slot)


def _check_pickles(what: str, name: str, value) -> None:
    try:
        pickle.dumps(value)
    except Exception as error:
        _log({"violation": f"{what} do not pickle", "function": name, "error": repr(error)[:300]})
        raise RuntimeError(f"spaces stand-in: {name}: its {what} do not pickle ({error})") from error


def GPU(task=None, *, duration=None, size=None, **ignored):
    if task is None:
        return functools.partial(GPU, duration=duration, size=size)

    name = f"{task.__module__}.{task.__qualname__}"

    @functools.wraps(task)
    def slot(*args, **kwargs):
        seconds = duration(*args, **kwargs) if callable(duration) else (duration or 60)
        _log({"function": name, "duration": seconds})
        if getattr(_inside, "depth", 0) == 0:
            _check_pickles("arguments", name, (args, kwargs))
        _inside.depth = getattr(_inside, "depth", 0) + 1
        try:
            result = task(*args, **kwargs)
        finally:
            _inside.depth -= 1
        if _inside.depth == 0:
            _check_pickles("results", name, result)
        return result

    slot.zerogpu = None
    return slot
