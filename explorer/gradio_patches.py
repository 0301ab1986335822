"""Two fixes to Gradio 6.31 that a public Space needs, applied once by explorer.ui.build_demo.

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
walks a copy of each set instead."""
import io
import os
import tempfile
import time
from pathlib import Path

from gradio import processing_utils, route_utils


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


def apply() -> None:
    processing_utils.save_pil_to_cache = save_pil_to_cache
    route_utils.delete_files_created_by_app = delete_files_created_by_app


def abandoned(request) -> bool:
    """True once nobody waits for this request's result: Gradio marks a session's running jobs not
    alive when its event stream closes (the browser tab closed, the API client gone), but lets the
    function run on; a long computation asks this between steps and stops. Gradio notices a closed
    stream at its next heartbeat (GRADIO_HEARTBEAT_INTERVAL, set short by explorer.ui)."""
    session = getattr(request, "session_hash", None)
    app = getattr(getattr(request, "request", None), "app", None)
    if session is None or not hasattr(app, "get_blocks"):
        return False                   # called outside a queued request (tests, the Python API)
    queue = app.get_blocks()._queue
    mine = [event for job in list(queue.active_jobs) if job for event in job if event.session_hash == session]
    return bool(mine) and not any(event.alive for event in mine)
