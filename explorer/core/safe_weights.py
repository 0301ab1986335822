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
from explorer.core.words import say

SAFETENSORS_FILE = "model.safetensors"       # the file a timm repository on the Hub holds its weights in


def export_hint() -> str:
    """How to save weights as safetensors, in the language spoken now."""
    return say("save it with {code}", "请这样保存：{code}",
               code="`from safetensors.torch import save_file; save_file(model.state_dict(), 'model.safetensors')`")
MAX_HEADER_BYTES = 100 << 20                 # safetensors' own limit on the JSON header


def _what_it_looks_like(head: bytes) -> str:
    if head[:2] == b"PK":
        return say("it is a zip archive (what torch.save writes), which is unpickled to load",
                   "它是 zip 压缩包（torch.save 写出的格式），读取时要反序列化（unpickle）")
    if head[:1] == b"\x80":
        return say("it is a Python pickle, which could run code when opened", "它是 Python pickle，打开时可能运行代码")
    return say("it does not start with a safetensors header", "它的开头不是 safetensors 文件头")


def check_safetensors(path, upload: bool = False) -> int:
    """The file's size in bytes when it starts like a safetensors file (a header length that fits the
    file, then '{'); ValueError naming what it looks like otherwise. Reads 9 bytes, parses nothing.
    A visitor's upload (`upload`) is also held to EXPLORER_OWN_MODEL_UPLOAD_MB."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(say("weights: {file!r} is not a file; give the path of a .safetensors file",
                             "weights：{file!r} 不是文件；请给出一个 .safetensors 文件的路径", file=path.name))
    size = path.stat().st_size
    cap = settings.setting("own_upload_bytes")
    if upload and size > cap:
        raise ValueError(say("weights: {file} is {size:.0f} MB; the limit is {most:.0f} MB "
                             "(EXPLORER_OWN_MODEL_UPLOAD_MB); save the weights in half precision (model.half())",
                             "weights：{file} 有 {size:.0f} MB；上限是 {most:.0f} MB（EXPLORER_OWN_MODEL_UPLOAD_MB）；"
                             "请用半精度保存权重（model.half()）",
                             file=path.name, size=size / settings.MB, most=cap / settings.MB))
    with open(path, "rb") as file:
        head = file.read(9)
    length = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
    if len(head) < 9 or not 2 <= length <= min(size - 8, MAX_HEADER_BYTES) or head[8:9] != b"{":
        raise ValueError(say("weights: {file} is not a safetensors file ({why}); only .safetensors files are "
                             "opened: {hint}",
                             "weights：{file} 不是 safetensors 文件（{why}）；这里只打开 .safetensors 文件：{hint}",
                             file=path.name, why=_what_it_looks_like(head), hint=export_hint()))
    return size


def read_safetensors(path, upload: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, on the CPU (checked by check_safetensors first)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safetensors(path, upload)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, json.JSONDecodeError, ValueError, OSError) as error:
        raise ValueError(say("weights: {file} could not be read as safetensors ({error}); {hint}",
                             "weights：{file} 无法按 safetensors 读取（{error}）；{hint}",
                             file=Path(path).name, error=error, hint=export_hint())) from None


def _listed(names: list[str], limit: int = 3) -> str:
    shown_ = ", ".join(names[:limit])
    if len(names) <= limit:
        return shown_
    return say("{names} and {more} more", "{names} 等（另有 {more} 个）", names=shown_, more=len(names) - limit)


def mismatch(module: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """"" when `state` has exactly the module's keys with the same shapes, else what differs first, in
    words: keys the file lacks, keys the model lacks, and shapes that differ (file vs model)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [say("{key} {file} in the file, {model} in the model", "{key} 在文件中是 {file}，在模型中是 {model}",
                  key=k, file=tuple(state[k].shape), model=tuple(own[k].shape))
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = []
    if missing:
        parts.append(say("the file lacks {keys}", "文件里缺少 {keys}", keys=_listed(missing)))
    if extra:
        parts.append(say("the model has no {keys}", "模型里没有 {keys}", keys=_listed(extra)))
    if shapes:
        parts.append(say("shapes differ: {shapes}", "形状不同：{shapes}", shapes=_listed(shapes, 2)))
    return say("; ", "；").join(parts)


def check_fits(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """ValueError naming the first differing keys and shapes when `state` does not fit `module`."""
    differs = mismatch(module, state)
    if differs:
        raise ValueError(say("weights: {what} does not fit the architecture: {differs}. Give the state_dict of "
                             "this very architecture (and class count)",
                             "weights：{what} 与这个架构不符：{differs}。请给出正是这个架构（和类别数）的 state_dict",
                             what=what, differs=differs))


def load_strictly(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load `state` into `module` strictly (check_fits first)."""
    check_fits(module, state, what)
    module.load_state_dict(state, strict=True)


def read_labels(labels) -> list[str]:
    """Class names from a list, or from a text file with one name per line (blank lines skipped)."""
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise ValueError(say("labels: {file!r} is not a file; give a text file with one class name per line",
                                 "labels：{file!r} 不是文件；请给出一个每行一个类别名的文本文件", file=path.name))
        if path.stat().st_size > 10 * settings.MB:
            raise ValueError(say("labels: {file} is over 10 MB; give one class name per line",
                                 "labels：{file} 超过 10 MB；请每行只写一个类别名", file=path.name))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(say("labels: {file} is not UTF-8 text; give one class name per line",
                                 "labels：{file} 不是 UTF-8 文本；请每行写一个类别名", file=path.name)) from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [str(name).strip() for name in labels]
    if not names:
        raise ValueError(say("labels: no class names were given; give one per line",
                             "labels：没有给出类别名；请每行写一个"))
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
        return say("downloading {title} weights from the Hugging Face Hub: {done:.0f} of {of}",
                   "正在从 Hugging Face Hub 下载 {title} 的权重：{done:.0f} / {of}", title=item["title"], done=done, of=of)

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
