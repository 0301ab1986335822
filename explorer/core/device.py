"""Which device the models run on: EXPLORER_DEVICE when set (explorer.core.settings), else CUDA when
present, else Apple's MPS, else the CPU."""
import torch

from explorer.core import settings


def pick_device() -> torch.device:
    wanted = settings.setting("device")
    if wanted is not None:
        return wanted
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
