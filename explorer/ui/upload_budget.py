"""Uploads within a byte budget: per file, per visitor and in all, oldest first out.

Gradio's /gradio_api/upload runs outside the queue and keeps every file until delete_cache's next
round (30 minutes here): one client sending 40 files of 19 MB kept 760 MB. Gradio's upload function is
wrapped (`apply`, from explorer.ui.gradio_patches) so that each upload is entered in a ledger by
visitor (the first address of X-Forwarded-For where the Space's proxy gives one, else the connection's
address) and, before it is kept:

- a file over EXPLORER_UPLOAD_FILE_MB is refused (Gradio's max_file_size is set to the same figure);
- past EXPLORER_UPLOAD_VISITOR_MB for its visitor, or EXPLORER_UPLOAD_TOTAL_MB for everyone, the
  oldest uploads (the visitor's own first) are deleted, but never one younger than IN_USE_SECONDS
  (a request may be reading it); when that does not make room the upload is refused, in words.
A refused upload's files are deleted at once; the answer is HTTP 413 with the reason."""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from gradio import route_utils, routes
from starlette.formparsers import MultiPartException

from explorer.core import settings
from explorer.core.state import STORES
from explorer.core.words import say, speaking
from explorer.ui.language import chosen

IN_USE_SECONDS = 60.0          # an upload this young may be read by a request: never deleted to make room
MB = settings.MB

# path -> (visitor, bytes, time kept), oldest first
LEDGER: OrderedDict[str, tuple[str, int, float]] = STORES.register(
    "uploads.ledger", OrderedDict(), "the uploads kept in Gradio's cache, by visitor, for their byte budgets")
_LOCK = threading.Lock()


def visitor_of(request) -> str:
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded.strip():
        return forwarded.split(",")[0].strip()
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _forget_missing(now: float) -> None:
    for path, (_, _, kept) in list(LEDGER.items()):
        if now - kept > 5 and not os.path.exists(path):        # deleted by delete_cache (moves take < 5 s)
            LEDGER.pop(path, None)


def _make_room(who: str | None, size: int, most: int, now: float) -> bool:
    """Deletes the oldest uploads (of `who`, or anyone's when None) until `size` more fits in `most`."""
    def held() -> int:
        return sum(b for v, b, _ in LEDGER.values() if who is None or v == who)
    for path, (visitor, _, kept) in list(LEDGER.items()):
        if held() + size <= most:
            break
        if (who is None or visitor == who) and now - kept >= IN_USE_SECONDS:
            Path(path).unlink(missing_ok=True)
            LEDGER.pop(path, None)
    return held() + size <= most


def admit(who: str, paths: list[str], sizes: list[int], now: float | None = None) -> str | None:
    """Enters the upload in the ledger, making room; None when kept, else the reason it is refused."""
    now = time.monotonic() if now is None else now
    size = sum(sizes)
    per_visitor, total = settings.setting("upload_visitor_bytes"), settings.setting("upload_total_bytes")
    for path, bytes_ in zip(paths, sizes):
        weights = str(path).lower().endswith(".safetensors")        # a visitor's own model's weights
        each = settings.setting("own_upload_bytes" if weights else "upload_file_bytes")
        if bytes_ > each and weights:
            return say("upload: a file of {size:.1f} MB is over the maximum allowed size of {most:.0f} MB per file; "
                       "save the weights in half precision (model.half())",
                       "upload：文件有 {size:.1f} MB，超过了每个文件 {most:.0f} MB 的上限；请用半精度保存权重（model.half()）",
                       size=bytes_ / MB, most=each / MB)
        if bytes_ > each:
            return say("upload: a file of {size:.1f} MB is over the maximum allowed size of {most:.0f} MB per file; "
                       "send a smaller picture",
                       "upload：文件有 {size:.1f} MB，超过了每个文件 {most:.0f} MB 的上限；请换一张更小的图片",
                       size=bytes_ / MB, most=each / MB)
    with _LOCK:
        _forget_missing(now)
        if not _make_room(who, size, per_visitor, now):
            return say("upload: your uploads of the last minute already fill the maximum allowed size of {most:.0f} MB "
                       "per visitor; wait a minute and send it again",
                       "upload：你最近一分钟的上传已经用满了每位访客 {most:.0f} MB 的上限；请等一分钟再发送",
                       most=per_visitor / MB)
        if not _make_room(None, size, total, now):
            return say("upload: this Space's uploads of the last minute fill the maximum allowed size of {most:.0f} MB "
                       "in all; wait a minute and send it again",
                       "upload：这个 Space 最近一分钟的上传已经用满了总共 {most:.0f} MB 的上限；请等一分钟再发送",
                       most=total / MB)
        for path, bytes_ in zip(paths, sizes):
            LEDGER[path] = (who, bytes_, now)
    return None


def language_of_upload(request) -> str:
    """The language to refuse an upload in: the page's `?lang=` (the upload's Referer), else the browser's
    (Accept-Language), else English. An upload runs outside the page's events, which know the choice."""
    headers = getattr(request, "headers", None) or {}
    asked = parse_qs(urlsplit(headers.get("referer", "")).query).get("lang", [None])[0]
    return chosen(asked, None, headers.get("accept-language"))


GRADIOS_UPLOAD = route_utils.upload_fn


async def upload_fn(request, upload_dir, max_file_size, upload_id, *args, **kwargs):
    """Gradio's, then the files entered in the budget, or deleted and refused (HTTP 413, in words)."""
    output_files, files_to_copy, locations = await GRADIOS_UPLOAD(request, upload_dir, max_file_size, upload_id,
                                                                  *args, **kwargs)
    moved = dict(zip(locations, files_to_copy))
    sizes = [_size(moved.get(path, path)) for path in output_files]
    with speaking(language_of_upload(request)):
        reason = admit(visitor_of(request), list(output_files), sizes)
    if reason is not None:
        for path in list(output_files) + list(files_to_copy):
            Path(path).unlink(missing_ok=True)
        raise MultiPartException(reason)
    return output_files, files_to_copy, locations


def apply() -> None:
    routes.upload_fn = upload_fn
