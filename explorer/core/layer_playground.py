"""The chapter's other layers on a small matrix of the user's numbers: ReLU, Dropout (train and eval
mode), BatchNorm2d with its batch statistics, AdaptiveAvgPool2d / AdaptiveMaxPool2d. Every number
comes from the PyTorch layer itself; the matrix is one channel of one image, shape (1, 1, H, W)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from explorer.core.receptive_field import adaptive_windows

MAX_SIDE = 64
MIN_SEED, MAX_SEED = -2**63, 2**64 - 1    # torch.manual_seed's range


def to_matrix(value) -> np.ndarray:
    """A Dataframe value (pandas DataFrame, numpy array, list of rows, or {"data": rows}) -> float64 (H, W).
    Raises ValueError naming the first cell that is empty or not a number, in the Kernel tab's words."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    if isinstance(value, dict):
        value = value.get("data", [])
    rows = [list(r) for r in np.asarray(value, dtype=object)] if len(value) else []
    if not rows or not rows[0]:
        raise ValueError("matrix: it is empty; enter at least one number")
    if len(rows) > MAX_SIDE or len(rows[0]) > MAX_SIDE:
        raise ValueError(f"matrix: at most {MAX_SIDE}×{MAX_SIDE}, got {len(rows)}×{len(rows[0])}")
    out = np.zeros((len(rows), len(rows[0])))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            try:
                number = float(str(cell).strip()) if not isinstance(cell, (int, float, np.number)) else float(cell)
            except ValueError:
                raise ValueError(f"matrix row {r + 1}, column {c + 1}: {str(cell)!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"matrix row {r + 1}, column {c + 1}: {number} is not a finite number")
            out[r, c] = number
    return out


def _image(matrix: np.ndarray) -> torch.Tensor:
    return torch.tensor(matrix, dtype=torch.float64).reshape(1, 1, *matrix.shape)


def _back(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach()[0, 0].numpy()


def relu(matrix: np.ndarray) -> np.ndarray:
    return _back(nn.ReLU()(_image(matrix)))


def dropout(matrix: np.ndarray, p: float = 0.5, seed: int = 0, train: bool = True) -> np.ndarray:
    """nn.Dropout(p) in train mode (a fresh random mask from `seed`; kept values scaled by 1/(1-p)) or
    eval mode (the input unchanged). The global random state is left as it was."""
    if not 0 <= p <= 1:
        raise ValueError(f"p: the share of values to zero must be between 0 and 1, got {p}")
    if not isinstance(seed, (int, np.integer)) or not MIN_SEED <= seed <= MAX_SEED:
        raise ValueError(f"seed: a whole number from {MIN_SEED} to {MAX_SEED}, got {seed}")
    layer = nn.Dropout(p).train(train)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return _back(layer(_image(matrix)))


def batchnorm(matrix: np.ndarray, eps: float = 1e-5, momentum: float = 0.1) -> dict:
    """nn.BatchNorm2d(1) on the matrix as a batch of one single-channel image.

    train: output = (x - batch mean) / sqrt(batch variance + eps) * weight + bias, weight=1, bias=0 at the
    start; running_mean/var move `momentum` of the way towards the batch's (unbiased variance).
    eval (straight after that one training step): the running statistics replace the batch's.
    A 1x1 matrix raises ValueError: one number has no variance (PyTorch refuses it in train mode)."""
    if matrix.size < 2:
        raise ValueError("BatchNorm2d: in train mode it needs at least 2 numbers per channel to measure their "
                         f"variance, and a {matrix.shape[0]}×{matrix.shape[1]} matrix has one; add a row or a column")
    layer = nn.BatchNorm2d(1, eps=eps, momentum=momentum, dtype=torch.float64)
    x = _image(matrix)
    with torch.no_grad():
        train_out = layer.train()(x)
        eval_out = layer.eval()(x)
    return {"train_output": _back(train_out), "eval_output": _back(eval_out),
            "batch_mean": float(x.mean()), "batch_var": float(x.var(unbiased=False)),
            "batch_var_unbiased": float(x.var(unbiased=True)) if x.numel() > 1 else float("nan"),
            "running_mean": float(layer.running_mean[0]), "running_var": float(layer.running_var[0]),
            "weight": layer.weight[0].item(), "bias": layer.bias[0].item(), "eps": eps, "momentum": momentum}


def adaptive_pool(matrix: np.ndarray, out_h: int, out_w: int, kind: str = "avg"):
    """(output, row windows, column windows) of AdaptiveAvgPool2d / AdaptiveMaxPool2d((out_h, out_w))."""
    if kind not in ("avg", "max"):
        raise ValueError(f"kind: 'avg' or 'max', got {kind!r}")
    for label, value in (("output height", out_h), ("output width", out_w)):
        if value is None or int(value) != value or not 1 <= value <= MAX_SIDE:
            raise ValueError(f"{label}: a whole number from 1 to {MAX_SIDE}, got {value}")
    out_h, out_w = int(out_h), int(out_w)
    layer = nn.AdaptiveAvgPool2d((out_h, out_w)) if kind == "avg" else nn.AdaptiveMaxPool2d((out_h, out_w))
    output = _back(layer(_image(matrix)))
    return output, adaptive_windows(matrix.shape[0], out_h), adaptive_windows(matrix.shape[1], out_w)
