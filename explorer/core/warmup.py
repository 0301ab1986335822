"""Start-up work done in the background, so the first visitor does not wait for it."""
import os
import threading
from pathlib import Path

import torch

from explorer.core.downloads import DOWNLOADS, Download
from explorer.core.memory import freeze_startup_objects
from explorer.core.models import get_model
from explorer.core.registry import DEFAULT_MODEL, REGISTRY


def downloaded_names() -> list[str]:
    """The models whose checkpoints are downloaded rather than shipped (their entries give the address)."""
    return [name for name, entry in REGISTRY.items() if entry.download_url]


def checkpoint_path(name: str) -> Path:
    """Where torch.hub keeps the model's checkpoint (torchvision looks there before downloading)."""
    url = REGISTRY[name].download_url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def download_of(name: str) -> Download:
    return Download(name, REGISTRY[name].title, REGISTRY[name].download_url, checkpoint_path(name))


def prefetch_weights(names=None) -> threading.Thread:
    """Queue each missing checkpoint for the background download (explorer.core.downloads), one at a time;
    returns the downloading thread. A failure is kept in DOWNLOADS.status(name); it never raises."""
    return DOWNLOADS.start([download_of(name) for name in names or downloaded_names()])


def on_a_space() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def start_background_warmup() -> threading.Thread:
    """Load the default model now, then freeze what start-up created out of the garbage collector's
    walks (explorer.core.memory); on a Space, start the background download of the other models' weights."""
    def work():
        get_model(DEFAULT_MODEL)
        freeze_startup_objects()
        if on_a_space():
            prefetch_weights()

    thread = threading.Thread(target=work, name="explorer-warmup", daemon=True)
    thread.start()
    return thread
