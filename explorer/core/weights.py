"""Pretrained weights: loaded with the safe unpickler, and what to tell a learner when they cannot be had
(untrained, still downloading)."""
import os
import pickle
import socket
import threading
import urllib.error
from contextlib import contextmanager

_SAFE_LOADING = threading.Lock()


@contextmanager
def weights_only_loading():
    """torchvision loads its checkpoints through torch.hub with weights_only=False: within this block
    every torch.load uses the safe unpickler (TORCH_FORCE_WEIGHTS_ONLY_LOAD, read at each call), so a
    tampered checkpoint can hold tensors but never run code. One block at a time, since the switch is
    an environment variable; it is set back afterwards, so importing the package configures nothing."""
    with _SAFE_LOADING:
        before = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = before

ON_A_SPACE = "(On a Hugging Face Space they are downloaded when the app starts.)"


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be found on disk nor downloaded; `reason` says why in words, and
    `on_a_space` what a Hugging Face Space does about it."""

    def __init__(self, message: str, reason: str, on_a_space: str = ON_A_SPACE):
        super().__init__(message)
        self.reason, self.on_a_space = reason, on_a_space


def unavailable_in_words(error: Exception) -> str:
    """Why a checkpoint could not be had, for a learner (the raw error goes to the log)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"the download server refused them (HTTP {error.code})"
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
        return "they are not on this machine, and it cannot reach the internet to download them"
    if isinstance(error, pickle.UnpicklingError):
        return "the file on this machine holds more than weights, so it was not opened"
    return "the file on this machine could not be read and no fresh copy could be downloaded"


def untrained_note(title: str, reason: str, on_a_space: str = ON_A_SPACE) -> str:
    return (f"**{title} is untrained here.** Its pretrained weights could not be loaded: {reason}. "
            f"{on_a_space} Shown instead: the same "
            "architecture with random weights. Its predictions mean nothing; its stages show the real shapes "
            "and what random filters do.")


class WeightsDownloading(ValueError):
    """The model's weights are still downloading in the background (explorer.core.downloads): its message
    says how far, and the visitor is asked to pick it again in a moment."""
