"""Start-up work done in the background, so the first visitor does not wait for it."""
import os
import threading
from pathlib import Path

import torch
from torchvision import models as tvm

from explorer.memory import freeze_startup_objects
from explorer.models import DEFAULT_MODEL, REGISTRY, get_model


def torchvision_names() -> list[str]:
    return [name for name, entry in REGISTRY.items() if entry.about.startswith("torchvision")]


def checkpoint_path(name: str) -> Path:
    url = tvm.get_model_weights(name).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def prefetch_weights(names=None) -> dict[str, str]:
    """Download each missing torchvision checkpoint once (on a Space: at start-up).
    Returns name -> "present" / "downloaded" / the error; never raises."""
    report = {}
    for name in names or torchvision_names():
        path = checkpoint_path(name)
        if path.exists():
            report[name] = "present"
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        url = tvm.get_model_weights(name).DEFAULT.url
        try:
            torch.hub.download_url_to_file(url, str(path), hash_prefix=path.stem.rsplit("-", 1)[-1], progress=False)
            report[name] = "downloaded"
        except Exception as error:  # no network: the app offers the untrained architecture instead
            report[name] = f"{type(error).__name__}: {error}"
    return report


def on_a_space() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def start_background_warmup() -> threading.Thread:
    """Load the default model now, then freeze what start-up created out of the garbage collector's
    walks (explorer.memory); on a Space, fetch the torchvision weights too."""
    def work():
        get_model(DEFAULT_MODEL)
        freeze_startup_objects()
        if on_a_space():
            prefetch_weights()

    thread = threading.Thread(target=work, name="explorer-warmup", daemon=True)
    thread.start()
    return thread
