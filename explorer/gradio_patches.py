"""A fix to Gradio 6.31 that a public Space needs, applied once by explorer.ui.build_demo.

Gradio saves every returned picture under a folder named after a hash of its bytes, rewriting the
file each time. Two users who get the same picture (the same example, the same kernel frame) then
race: while one browser downloads the file, the second request truncates and rewrites it, and the
download breaks ("peer closed connection without sending complete message body"). Same bytes give
the same path, so a file already there is kept, and a new one is written under a temporary name and
renamed into place, as Gradio already does for files returned as paths (save_file_to_cache)."""
import os
import tempfile
from pathlib import Path

from gradio import processing_utils


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = processing_utils.encode_pil_to_bytes(img, format)
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


def apply() -> None:
    processing_utils.save_pil_to_cache = save_pil_to_cache
