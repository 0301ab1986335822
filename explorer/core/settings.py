"""Runtime settings in one place: every environment variable the app reads, its default and its meaning.

`SETTINGS_TABLE` lists them (a Settings field -> its Variable); `setting(field)` reads one, `current()`
reads them all into one frozen `Settings`. Both read the environment on each call (cheap), so a test or
a benchmark that sets a variable sees it at once. A variable that is unset, or set to blank text, takes
its default; a bad value raises ValueError naming the variable, what is wrong and what to give.

| variable                    | default    | meaning                                                          |
|-----------------------------|------------|------------------------------------------------------------------|
| EXPLORER_DEVICE             | (picked)   | the PyTorch device models run on: cuda, else mps, else cpu       |
| EXPLORER_MODEL_BUDGET_MB    | 1024       | megabytes of model weights kept loaded at once                   |
| EXPLORER_DELETE_CACHE       | 600,1800   | Gradio's delete_cache: every how many seconds, files how old     |
| EXPLORER_REQUEST_MEMORY_MB  | (machine)  | memory one request may add (explorer.core.budgets)               |
| EXPLORER_MODEL_PASSES       | (machine)  | pictures through a model in one request                          |
| EXPLORER_GIF_FRAMES         | (machine)  | frames of one GIF                                                |
| EXPLORER_GIF_FRAME_PIXELS   | (machine)  | pixels of one GIF frame (larger ones are scaled down)            |
| EXPLORER_COMPARE_MODELS     | (machine)  | models compared in one request                                   |
| EXPLORER_OWN_MODEL_MAX_MPARAMS | 100     | millions of parameters a timm model typed by name may have       |
| EXPLORER_OWN_MODEL_MAX_SIDE | 512        | pixels of the longer side of such a model's input                |
| EXPLORER_OWN_MODEL_UPLOAD_MB | 20        | megabytes of one .safetensors file uploaded in the page          |
| EXPLORER_REQUEST_SECONDS    | 60         | estimated seconds of computing one request may take (cost.py);   |
|                             |            | on ZeroGPU also the longest GPU slot                             |
| EXPLORER_SECONDS_PER_GMAC   | (measured) | seconds per billion multiply-accumulates of a forward pass here  |
| EXPLORER_UPLOAD_FILE_MB     | 20         | megabytes of one uploaded file                                   |
| EXPLORER_UPLOAD_VISITOR_MB  | 100        | megabytes of uploads one visitor keeps in Gradio's cache         |
| EXPLORER_UPLOAD_TOTAL_MB    | 512        | megabytes of uploads all visitors keep; past it the oldest go    |

"(machine)": None here; explorer.core.budgets.for_machine sets it from the machine's memory and cores.
"(measured)": None here; explorer.core.cost measures it once, with a few convolutions, at first use.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping

import torch

MB = 1 << 20
DEFAULT_MODEL_BUDGET_MB = 1024
DEFAULT_DELETE_CACHE = "600,1800"


@dataclass(frozen=True)
class Settings:
    device: torch.device | None             # None: picked (explorer.core.device.pick_device)
    model_budget_bytes: int                 # bytes of weights kept loaded at once (explorer.core.model_store)
    delete_cache: tuple[int, int]           # (every how many seconds, files older than how many seconds)
    request_memory: int | None              # the budgets' overrides (explorer.core.budgets): None, the
    model_passes: int | None                # machine's default
    gif_frames: int | None
    gif_frame_pixels: int | None
    compare_models: int | None
    own_model_params: int                   # your own model (explorer.core.timm_models): parameters,
    own_input_side: int                     # the longer side of its input in pixels,
    own_upload_bytes: int                   # and the bytes of its uploaded weights
    request_seconds: int                    # estimated seconds one request may compute (explorer.core.cost)
    seconds_per_gmac: float | None          # None: measured (explorer.core.cost.seconds_per_gmac)
    upload_file_bytes: int                  # upload budgets (explorer.ui.upload_budget)
    upload_visitor_bytes: int
    upload_total_bytes: int


@dataclass(frozen=True)
class Variable:
    """One environment variable: its `name`, the `default` text it takes when unset or blank (None:
    no text, the setting is None), its `meaning` in words, and `parse(name, text)` giving the value."""
    name: str
    default: str | None
    meaning: str
    parse: Callable[[str, str], object]


def _device(name: str, text: str) -> torch.device:
    try:
        return torch.device(text.strip())
    except RuntimeError:
        raise ValueError(f"{name}: {text!r} is not a PyTorch device; give cpu, cuda, cuda:1 or mps, or leave it "
                         "unset to pick one") from None


def _megabytes(name: str, text: str) -> int:
    try:
        megabytes = float(text)
    except ValueError:
        raise ValueError(f"{name}: give a number of megabytes, not {text!r}") from None
    if not megabytes > 0:
        raise ValueError(f"{name}: the budget must be more than 0 megabytes, not {text!r}")
    return int(megabytes * MB)


def _every_older(name: str, text: str) -> tuple[int, int]:
    try:
        every, older = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{name}: give two whole numbers of seconds, 'every,older', not {text!r}") from None
    if every <= 0 or older <= 0:
        raise ValueError(f"{name}: both numbers must be positive, not {text!r}")
    return every, older


def _positive_number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: give a number, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name}: give a number more than 0, not {text!r}")
    return value


def _at_least_one(unit: int) -> Callable[[str, str], int]:
    def parse(name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name}: give a whole number, not {text!r}") from None
        if value < 1:
            raise ValueError(f"{name}: must be at least 1, not {value}")
        return value * unit
    return parse


SETTINGS_TABLE: dict[str, Variable] = {
    "device": Variable("EXPLORER_DEVICE", None, "the PyTorch device models run on (cpu, cuda, cuda:1, mps); "
                       "unset: CUDA when present, else Apple MPS, else the CPU", _device),
    "model_budget_bytes": Variable("EXPLORER_MODEL_BUDGET_MB", str(DEFAULT_MODEL_BUDGET_MB),
                                   "megabytes of model weights kept loaded at once; past it the least recently "
                                   "used model goes first", _megabytes),
    "delete_cache": Variable("EXPLORER_DELETE_CACHE", DEFAULT_DELETE_CACHE,
                             "Gradio's delete_cache, 'every,older' in seconds: uploads and returned pictures "
                             "are deleted once older than `older`, checked every `every` seconds", _every_older),
    "request_memory": Variable("EXPLORER_REQUEST_MEMORY_MB", None, "megabytes one request may add to the "
                               "process; unset: 1/16 of the machine's memory, between 256 and 1024", _at_least_one(MB)),
    "model_passes": Variable("EXPLORER_MODEL_PASSES", None, "pictures through a model in one request; unset: "
                             "512 per core", _at_least_one(1)),
    "gif_frames": Variable("EXPLORER_GIF_FRAMES", None, "frames of one GIF; unset: 400", _at_least_one(1)),
    "gif_frame_pixels": Variable("EXPLORER_GIF_FRAME_PIXELS", None, "pixels of one GIF frame, larger frames "
                                 "are scaled down to it; unset: 2,000,000", _at_least_one(1)),
    "compare_models": Variable("EXPLORER_COMPARE_MODELS", None, "models compared in one request; unset: 4 per "
                               "core", _at_least_one(1)),
    "own_model_params": Variable("EXPLORER_OWN_MODEL_MAX_MPARAMS", "100", "millions of parameters a timm model "
                                 "typed by name (\"timm:<name>\") may have; larger ones are refused",
                                 _at_least_one(1_000_000)),
    "own_input_side": Variable("EXPLORER_OWN_MODEL_MAX_SIDE", "512", "pixels of the longer side of the input "
                               "such a model's pretrained_cfg asks for; larger ones are refused", _at_least_one(1)),
    "own_upload_bytes": Variable("EXPLORER_OWN_MODEL_UPLOAD_MB", "20", "megabytes of one .safetensors file of "
                                 "weights uploaded in the page (Gradio's max_file_size follows it above 20); "
                                 "a file given to explorer.load_model is not capped", _megabytes),
    "request_seconds": Variable("EXPLORER_REQUEST_SECONDS", "60", "seconds of computing one request may take, "
                                "estimated before it starts from the model's multiply-accumulates, the passes it "
                                "needs and the speed measured here; on ZeroGPU also the longest GPU slot",
                                _at_least_one(1)),
    "seconds_per_gmac": Variable("EXPLORER_SECONDS_PER_GMAC", None, "seconds one forward pass takes per billion "
                                 "multiply-accumulates here; unset: measured once with a few convolutions",
                                 _positive_number),
    "upload_file_bytes": Variable("EXPLORER_UPLOAD_FILE_MB", "20", "megabytes of one uploaded file", _megabytes),
    "upload_visitor_bytes": Variable("EXPLORER_UPLOAD_VISITOR_MB", "100", "megabytes of uploads one visitor keeps "
                                     "in Gradio's cache; past it their oldest upload goes", _megabytes),
    "upload_total_bytes": Variable("EXPLORER_UPLOAD_TOTAL_MB", "512", "megabytes of uploads all visitors keep in "
                                   "Gradio's cache; past it the oldest upload goes", _megabytes),
}


def setting(field: str, environ: Mapping[str, str] | None = None):
    """One setting (a Settings field) from the environment (`environ`, default os.environ): its parsed
    value, the parsed default when the variable is unset or blank, or None when it has no default.
    ValueError naming the variable when its value is bad."""
    variable = SETTINGS_TABLE[field]
    text = (os.environ if environ is None else environ).get(variable.name)
    if text is None or not text.strip():
        text = variable.default
    return None if text is None else variable.parse(variable.name, text)


def current(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting, each variable checked (the first bad one raises ValueError naming it)."""
    return Settings(**{field: setting(field, environ) for field in SETTINGS_TABLE})


def delete_cache_setting() -> tuple[int, int]:
    """(every how many seconds, files older than how many seconds): Gradio's delete_cache, from
    EXPLORER_DELETE_CACHE="every,older" (default 600,1800: uploads and returned pictures live 30 minutes)."""
    return setting("delete_cache")
