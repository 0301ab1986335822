"""Fixes to Gradio 6.31 that a public Space needs, applied once by explorer.ui.build_demo.

1. Gradio saves every returned picture under a folder named after a hash of its bytes, rewriting the
file each time. Two users who get the same picture (the same example, the same kernel frame) then
race: while one browser downloads the file, the second request truncates and rewrites it, and the
download breaks ("peer closed connection without sending complete message body"). Same bytes give
the same path, so a file already there is kept, and a new one is written under a temporary name and
renamed into place, as Gradio already does for files returned as paths (save_file_to_cache).
PNGs are written at zlib level 1 (`encode`).

2. delete_cache's scheduled task walks the set of uploaded files while uploads keep adding to it; the
walk then fails ("Set changed size during iteration"), the exception ends the task, and from then on
no temporary file is ever deleted: under steady uploads the disk fills. `delete_files_created_by_app`
walks a copy of each set instead.

3. Gradio prints a full traceback (about 28 lines) for every gr.Error, that is for every mistake a
visitor makes (a text file renamed .png, a channel that does not exist), and for every request its
own checks refuse (a path outside the upload cache), which buries the real errors in the log. Its queue and its API route print them with `traceback.print_exc()`; those two
modules get a `traceback` whose print_exc logs a visitor's mistake as one line (logger
"explorer.requests") and prints every other exception in full, as before.

4. After each request of the queues that run models (`MEMORY_QUEUES`), the memory it freed is handed
back to the system (explorer.core.memory.release_memory): without it a long session stays at its peak.

5. Requests are sorted into lanes when they join the queue, a visitor's share is kept, and a job whose
caller is gone is dropped before it starts (explorer.ui.lanes); uploads are kept within byte budgets
(explorer.ui.upload_budget).

6. Every error message the page or the API gets, and every log line of a refused request, repeats at
most 40 characters of any value, numbers as numbers (explorer.core.shown.capped); a request for an
unknown session hash is one log line (OneLineForUnknownSessions).

7. A component's own checks run before the event's handler, outside the language the handler speaks:
`preprocess_data` speaks the page's language around them (explorer.core.words), so an upload or a
drawing refused there is refused in the visitor's language.

8. A new session (each page load, and every call of an HTTP endpoint) no longer computes every
component's configuration in the server's event loop before anything else can move (about 35 ms for this
app at each API call): explorer.ui.lazy_session computes them when first used."""
import asyncio
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

import gradio
from gradio import processing_utils, queueing, route_utils, routes
from gradio import utils as gradio_utils
from gradio.exceptions import Error

from explorer.core import cost
from explorer.core.memory import release_memory
from explorer.core.shown import capped
from explorer.core.words import speaking
from explorer.ui import lanes, lazy_session, upload_budget

REQUEST_LOG = logging.getLogger("explorer.requests")
MEMORY_QUEUES = ("model", "features")
APP_CODE = str(Path(__file__).resolve().parents[1]) + os.sep   # the whole explorer package


def encode(img, format: str) -> bytes:
    """Gradio's encoding, except PNGs at zlib level 1: about three times faster than its level 6 for
    our palette pictures (feature-map grids, kernel frames), a little larger; CPU is what a Space lacks."""
    if format.lower() != "png":
        return processing_utils.encode_pil_to_bytes(img, format)
    with io.BytesIO() as output:
        img.save(output, "png", pnginfo=processing_utils.get_pil_metadata(img), compress_level=1)
        return output.getvalue()


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = encode(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if path.exists():
        os.utime(path)  # handed out again: delete_cache ages files by their time
        return str(path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(path)


GRADIOS_DELETE_FILES = route_utils.delete_files_created_by_app     # the original, for the test that shows its bug


def delete_files_created_by_app(blocks, age: int | None) -> None:
    """Gradio's: delete the app's temporary files older than `age` seconds (all if None), except the
    ones components keep; over copies of the sets, which other threads grow meanwhile."""
    keep = set()
    for component in list(blocks.blocks.values()):
        keep.update(getattr(component, "keep_in_cache", set()))
    for files in list(blocks.temp_file_sets):
        gone = set()
        for file in list(files):
            if file in keep:
                continue
            try:
                if age is None or time.time() - os.lstat(file).st_ctime > age:
                    os.remove(file)
                    gone.add(file)
            except FileNotFoundError:
                gone.add(file)
            except OSError:
                continue            # kept for the next round rather than ending the task
        files -= gone


def refused_request(error: BaseException | None) -> bool:
    """A visitor's mistake rather than a fault: a gr.Error, or a ValueError that Gradio's own checks of
    the request raised before any of the app's code ran (a path outside the upload cache, a URL to a
    private address, a payload of the wrong shape)."""
    if isinstance(error, Error):
        return True
    if not isinstance(error, ValueError):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    return (any(frame.name == "preprocess_data" for frame in frames)
            and not any(frame.filename.startswith(APP_CODE) for frame in frames))


def print_exc(limit=None, file=None, chain=True) -> None:
    """traceback.print_exc, except that a visitor's mistake (`refused_request`) is logged as one line."""
    error = sys.exc_info()[1]
    if not refused_request(error):
        traceback.print_exc(limit=limit, file=file, chain=chain)
    elif isinstance(error, Error):
        REQUEST_LOG.warning("refused: %s", capped(" ".join(str(error.message).split())))
    else:
        REQUEST_LOG.warning("refused: %s: %s", type(error).__name__, capped(" ".join(str(error).split())))


def unknown_session(error: BaseException | None) -> bool:
    """An event stream asked for a session the queue does not know (Gradio answers 404, then Starlette
    logs a long traceback): in the exception or what caused it."""
    seen = 0
    while error is not None and seen < 8:
        if getattr(error, "status_code", None) == 404 and type(error).__name__ == "HTTPException":
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


class OneLineForUnknownSessions(logging.Filter):
    """On uvicorn's error log: a request for an unknown session hash is one line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and unknown_session(record.exc_info[1]):
            record.msg, record.args = "refused: an event stream for an unknown session (HTTP 404)", ()
            record.exc_info = record.exc_text = None
        return True


def _traceback_module() -> types.ModuleType:
    """The traceback module with print_exc replaced, for the Gradio modules that print errors."""
    module = types.ModuleType("traceback")
    module.__dict__.update({name: getattr(traceback, name) for name in dir(traceback) if not name.startswith("__")})
    module.print_exc = print_exc
    return module


GRADIOS_ERROR_PAYLOAD = gradio_utils.error_payload


def error_payload(error, show_error: bool) -> dict:
    """Gradio's error payload (what the page and the API get), its message with every echo cut."""
    content = GRADIOS_ERROR_PAYLOAD(error, show_error)
    if isinstance(content.get("error"), str):
        content["error"] = capped(content["error"])
    return content


GRADIOS_PROCESS_EVENTS = queueing.Queue.process_events


async def process_events(self, events, *args, **kwargs):
    """Gradio's, then the memory the request freed handed back to the system. Before it, a heavy job
    whose caller is gone is dropped, and a small one runs with right of way (explorer.ui.lanes)."""
    small = lanes.before_start(self, events)
    try:
        with cost.small_request() if small else contextlib.nullcontext():
            return await GRADIOS_PROCESS_EVENTS(self, events, *args, **kwargs)
    finally:
        if any(event.concurrency_id in MEMORY_QUEUES for event in events):
            await asyncio.to_thread(release_memory)


GRADIOS_PREPROCESS = gradio.Blocks.preprocess_data


async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
    """Gradio's, speaking the language of the page that sent the event (lanes.page_language): what a
    component's own checks refuse before the handler runs (an upload that is no picture, a drawing too
    large) is said in the visitor's language, as the handler's words are (explorer.ui.by_name)."""
    with speaking(lanes.page_language(block_fn, state) if state is not None else None):
        return await GRADIOS_PREPROCESS(self, block_fn, inputs, state, explicit_call)


WRITTEN_FOR = "6.31.0"      # the Gradio these patches were written against and tested with


def version_note(version: str) -> str | None:
    """None for the Gradio these patches were written for; else a sentence saying so."""
    if version == WRITTEN_FOR:
        return None
    return (f"explorer.ui.gradio_patches was written for Gradio {WRITTEN_FOR}, this is Gradio {version}: "
            f"the patched internals may have changed; run the tests (tests/ui/test_request_log.py, "
            f"tests/ui/test_public_space.py show each upstream bug) before serving.")


def apply() -> str | None:
    """Applies every patch (idempotent). Returns (and logs) a note when Gradio is not the version the
    patches were written for; they are applied anyway, since the tests are what tells."""
    note = version_note(gradio.__version__)
    if note:
        logging.getLogger("explorer").warning(note)
    _apply()
    return note


def _apply() -> None:
    processing_utils.save_pil_to_cache = save_pil_to_cache
    route_utils.delete_files_created_by_app = delete_files_created_by_app
    queueing.traceback = routes.traceback = _traceback_module()
    queueing.Queue.process_events = process_events
    gradio.Blocks.preprocess_data = preprocess_data
    queueing.error_payload = gradio_utils.error_payload = error_payload
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, OneLineForUnknownSessions) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(OneLineForUnknownSessions())
    lanes.apply()
    upload_budget.apply()
    lazy_session.apply()
    if not REQUEST_LOG.handlers:      # one line on stderr, like Gradio's own messages
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        REQUEST_LOG.addHandler(handler)
        REQUEST_LOG.setLevel(logging.INFO)


def abandoned(request) -> bool:
    """True once nobody waits for this request's result: Gradio marks a session's running jobs not
    alive when its event stream closes (the browser tab closed, the API client gone), but lets the
    function run on; a long computation asks this between steps and stops. Gradio notices a closed
    stream at its next heartbeat (GRADIO_HEARTBEAT_INTERVAL, set short by explorer.ui.app.build_demo)."""
    session = getattr(request, "session_hash", None)
    app = getattr(getattr(request, "request", None), "app", None)
    if session is None or not hasattr(app, "get_blocks"):
        return False                   # called outside a queued request (tests, the Python API)
    queue = app.get_blocks()._queue
    mine = [event for job in list(queue.active_jobs) if job for event in job if event.session_hash == session]
    return bool(mine) and not any(event.alive for event in mine)
