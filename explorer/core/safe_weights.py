"""Your own weights and class names for a model: a `.safetensors` state_dict read without unpickling and
loaded strictly, a list (or text file) of class names, and a timm model's pretrained weights from the
Hugging Face Hub, safetensors only, downloaded in the background on a Space.

Nothing here calls torch.load or unpickles: a file is refused unless its first bytes are a safetensors
header (an 8-byte little-endian length, then a JSON object), before any parser sees it.
"""
from __future__ import annotations

import json
import os
import struct
import threading
from pathlib import Path

import torch
from torch import nn

from explorer.core import settings
from explorer.core.state import STORES

SAFETENSORS_FILE = "model.safetensors"       # the file a timm repository on the Hub holds its weights in
EXPORT_HINT = ("save it with `from safetensors.torch import save_file; "
               "save_file(model.state_dict(), 'model.safetensors')`")
MAX_HEADER_BYTES = 100 << 20                 # safetensors' own limit on the JSON header


def _what_it_looks_like(head: bytes) -> str:
    if head[:2] == b"PK":
        return "it is a zip archive (what torch.save writes), which is unpickled to load"
    if head[:1] == b"\x80":
        return "it is a Python pickle, which could run code when opened"
    return "it does not start with a safetensors header"


def check_safetensors(path, upload: bool = False) -> int:
    """The file's size in bytes when it starts like a safetensors file (a header length that fits the
    file, then '{'); ValueError naming what it looks like otherwise. Reads 9 bytes, parses nothing.
    A visitor's upload (`upload`) is also held to EXPLORER_OWN_MODEL_UPLOAD_MB."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights: {path.name!r} is not a file; give the path of a .safetensors file")
    size = path.stat().st_size
    cap = settings.setting("own_upload_bytes")
    if upload and size > cap:
        raise ValueError(f"weights: {path.name} is {size / settings.MB:.0f} MB; the limit is "
                         f"{cap / settings.MB:.0f} MB (EXPLORER_OWN_MODEL_UPLOAD_MB)")
    with open(path, "rb") as file:
        head = file.read(9)
    length = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
    if len(head) < 9 or not 2 <= length <= min(size - 8, MAX_HEADER_BYTES) or head[8:9] != b"{":
        raise ValueError(f"weights: {path.name} is not a safetensors file ({_what_it_looks_like(head)}); only "
                         f".safetensors files are opened: {EXPORT_HINT}")
    return size


def read_safetensors(path, upload: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, on the CPU (checked by check_safetensors first)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safetensors(path, upload)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, json.JSONDecodeError, ValueError, OSError) as error:
        raise ValueError(f"weights: {Path(path).name} could not be read as safetensors ({error}); "
                         f"{EXPORT_HINT}") from None


def _listed(names: list[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def mismatch(module: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """"" when `state` has exactly the module's keys with the same shapes, else what differs first, in
    words: keys the file lacks, keys the model lacks, and shapes that differ (file vs model)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = []
    if missing:
        parts.append(f"the file lacks {_listed(missing)}")
    if extra:
        parts.append(f"the model has no {_listed(extra)}")
    if shapes:
        parts.append(f"shapes differ: {_listed(shapes, 2)}")
    return "; ".join(parts)


def check_fits(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """ValueError naming the first differing keys and shapes when `state` does not fit `module`."""
    differs = mismatch(module, state)
    if differs:
        raise ValueError(f"weights: {what} does not fit the architecture: {differs}. Give the state_dict of "
                         "this very architecture (and class count)")


def load_strictly(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load `state` into `module` strictly (check_fits first)."""
    check_fits(module, state, what)
    module.load_state_dict(state, strict=True)


def read_labels(labels) -> list[str]:
    """Class names from a list, or from a text file with one name per line (blank lines skipped)."""
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise ValueError(f"labels: {path.name!r} is not a file; give a text file with one class name per line")
        if path.stat().st_size > 10 * settings.MB:
            raise ValueError(f"labels: {path.name} is over 10 MB; give one class name per line")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"labels: {path.name} is not UTF-8 text; give one class name per line") from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [str(name).strip() for name in labels]
    if not names:
        raise ValueError("labels: no class names were given; give one per line")
    return names


# --- pretrained weights from the Hugging Face Hub --------------------------------------------------------

def on_a_space() -> bool:
    """Whether the app runs on a Hugging Face Space (which sets SPACE_ID), where the Hub can be reached."""
    return bool(os.environ.get("SPACE_ID"))


def cached_hub_weights(repo: str) -> Path | None:
    """The repository's model.safetensors in the local Hugging Face cache, or None (no network)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo, SAFETENSORS_FILE, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


class HubDownloads:
    """model.safetensors files being fetched from the Hub, one thread each, with their progress (read
    from the partial file in the cache) so that a visitor is told how far a download is."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state: dict[str, dict] = {}     # key -> {"repo", "title", "state", "total", "error"}

    def start(self, key: str, repo: str, title: str) -> None:
        with self._lock:
            if key in self._state and self._state[key]["state"] in ("downloading", "done"):
                return
            self._state[key] = {"repo": repo, "title": title, "state": "downloading", "total": 0, "error": ""}
        threading.Thread(target=self._work, args=(key, repo), name=f"hub-{repo}", daemon=True).start()

    def _work(self, key: str, repo: str) -> None:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

        item = self._state[key]
        try:
            item["total"] = get_hf_file_metadata(hf_hub_url(repo, SAFETENSORS_FILE)).size or 0
        except Exception:                  # noqa: BLE001 (the size is only for the progress message)
            item["total"] = 0
        try:
            hf_hub_download(repo, SAFETENSORS_FILE)
            item["state"] = "done"
        except Exception as error:         # no network, no safetensors in the repository: untrained
            item["state"], item["error"] = "failed", f"{type(error).__name__}: {error}"

    def _done_bytes(self, repo: str) -> int:
        from huggingface_hub.constants import HF_HUB_CACHE

        blobs = Path(HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "blobs"
        return sum(p.stat().st_size for p in blobs.glob("*.incomplete")) if blobs.is_dir() else 0

    def message(self, key: str) -> str:
        """How far the download is, in words; "" when none is under way."""
        item = self._state.get(key)
        if item is None or item["state"] != "downloading":
            return ""
        done, total = self._done_bytes(item["repo"]) / settings.MB, item["total"] / settings.MB
        of = f"{total:.0f} MB" if total else "?"
        return f"downloading {item['title']} weights from the Hugging Face Hub: {done:.0f} of {of}"

    def state(self, key: str) -> str:
        item = self._state.get(key)
        return "" if item is None else item["state"]

    def failed(self, key: str) -> str:
        item = self._state.get(key)
        return item["error"] if item is not None and item["state"] == "failed" else ""

    def clear(self) -> None:
        with self._lock:
            self._state = {k: v for k, v in self._state.items() if v["state"] == "downloading"}


HUB = STORES.register("timm.hub_downloads", HubDownloads(), "timm weights being fetched from the Hugging Face "
                      "Hub, and how far (shared: the files serve every visitor)")
