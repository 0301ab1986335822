"""Checkpoints downloaded in the background, one at a time, each with its progress.

A Space's disk does not persist, so at every cold start torchvision's checkpoints (about 1 GB for the
nine classic models) are fetched again. The first visitor must not wait for that: the default model
ships in a package, and the others download here, in order, in one background thread. A visitor who
picks a model still in the line is told where it stands ("downloading VGG-16 weights: 312 of 528 MB")
rather than shown the untrained architecture, and that model moves to the front of the line.

Each file is streamed to `<name>.partial` beside its final path, its SHA-256 checked against the prefix
torchvision puts in the file name, then renamed into place, where torchvision's loader finds it.
"""
import hashlib
import os
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from explorer.core.both import said
from explorer.core.words import say

CHUNK = 1 << 20
TIMEOUT_SECONDS = 30


@dataclass
class Download:
    name: str
    title: str
    url: str
    path: Path
    state: str = "queued"          # queued, downloading, done, failed
    done_bytes: int = 0
    total_bytes: int = 0
    error: str = ""


def fetch(url: str, path: Path, on_bytes: Callable[[int, int], None] | None = None) -> None:
    """Stream `url` to `path`; ValueError when its SHA-256 does not start with the hex prefix after the
    last '-' in the file name (torchvision's convention), and then nothing is left at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    digest, done = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if on_bytes:
                    on_bytes(done, total)
        prefix = path.stem.rsplit("-", 1)[-1]
        if not digest.hexdigest().startswith(prefix):
            raise ValueError(say("{file}: its SHA-256 does not start with {prefix}: the download is corrupt",
                                 "{file}：它的 SHA-256 不以 {prefix} 开头：下载的文件已损坏", file=path.name, prefix=prefix))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class Downloads:
    """The line of checkpoints to fetch, served by one background thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[str, Download] = {}
        self._line: list[str] = []
        self._thread: threading.Thread | None = None

    def start(self, items: list[Download]) -> threading.Thread:
        """Queue the items whose file is missing and start the thread (once)."""
        with self._lock:
            for item in items:
                if not item.path.exists() and item.name not in self._items:
                    self._items[item.name] = item
                    self._line.append(item.name)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="explorer-downloads", daemon=True)
                self._thread.start()
            return self._thread

    def _next(self) -> Download | None:
        with self._lock:
            if not self._line:
                self._thread = None
                return None
            item = self._items[self._line.pop(0)]
            item.state = "downloading"
            return item

    def _work(self) -> None:
        while (item := self._next()) is not None:
            def on_bytes(done: int, total: int, item=item) -> None:
                item.done_bytes, item.total_bytes = done, total
            try:
                fetch(item.url, item.path, on_bytes)
                item.state = "done"
            except Exception as error:    # no network, a corrupt file: the model falls back to untrained
                item.state, item.error = "failed", f"{type(error).__name__}: {error}"

    def pending(self, name: str) -> bool:
        item = self._items.get(name)
        return item is not None and item.state in ("queued", "downloading")

    def finished(self, name: str) -> bool:
        item = self._items.get(name)
        return item is not None and item.state == "done"

    def status(self, name: str) -> Download | None:
        return self._items.get(name)

    def message(self, name: str) -> str:
        """Where the model's download stands, in words; "" when it is not in the line. A queued model
        moves to the front of the line: someone is waiting for it."""
        with self._lock:
            item = self._items.get(name)
            if item is None or item.state not in ("queued", "downloading"):
                return ""
            if item.state == "downloading":
                mb = 2**20
                total = f"{item.total_bytes / mb:.0f} MB" if item.total_bytes else "?"
                return say("downloading {title} weights: {done:.0f} of {total}", "正在下载 {title} 的权重：{done:.0f} / {total}",
                           title=said(item.title), done=item.done_bytes / mb, total=total)
            self._line.remove(name)
            self._line.insert(0, name)
            return say("{title} weights are next in line to download (another model's are downloading now)",
                       "下一个就下载 {title} 的权重（现在正在下载另一个模型的）", title=said(item.title))


DOWNLOADS = Downloads()
