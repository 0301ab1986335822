"""The chapter's other layers on a small matrix of the user's numbers: ReLU, Dropout (train and eval
mode), BatchNorm2d with its batch statistics, AdaptiveAvgPool2d / AdaptiveMaxPool2d. Every number
comes from the PyTorch layer itself; the matrix is one channel of one image, shape (1, 1, H, W)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from explorer.core.receptive_field import adaptive_windows
from explorer.core.words import say

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
        raise ValueError(say("matrix: it is empty; enter at least one number", "matrix：是空的；请至少填一个数"))
    if len(rows) > MAX_SIDE or len(rows[0]) > MAX_SIDE:
        raise ValueError(say("matrix: at most {m}×{m}, got {h}×{w}", "matrix：最大 {m}×{m}，收到的是 {h}×{w}",
                             m=MAX_SIDE, h=len(rows), w=len(rows[0])))
    out = np.zeros((len(rows), len(rows[0])))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            try:
                number = float(str(cell).strip()) if not isinstance(cell, (int, float, np.number)) else float(cell)
            except ValueError:
                raise ValueError(say("matrix row {r}, column {c}: {v!r} is not a number",
                                     "matrix 第 {r} 行第 {c} 列：{v!r} 不是数", r=r, c=c, v=str(cell))) from None
            if not math.isfinite(number):
                raise ValueError(say("matrix row {r}, column {c}: {v} is not a finite number",
                                     "matrix 第 {r} 行第 {c} 列：{v} 不是有限的数", r=r, c=c, v=number))
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
        raise ValueError(say("p: the share of values to zero must be between 0 and 1, got {p}",
                             "p：置零的比例应在 0 到 1 之间，收到的是 {p}", p=p))
    if not isinstance(seed, (int, np.integer)) or not MIN_SEED <= seed <= MAX_SEED:
        raise ValueError(say("seed: a whole number from {a} to {b}, got {seed}", "seed：应是 {a} 到 {b} 之间的整数，收到的是 {seed}",
                             a=MIN_SEED, b=MAX_SEED, seed=seed))
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
        raise ValueError(say("BatchNorm2d: in train mode it needs at least 2 numbers per channel to measure their "
                             "variance, and a {h}×{w} matrix has one; add a row or a column",
                             "BatchNorm2d：训练模式下每个通道至少要有 2 个数才能算方差，而 {h}×{w} 的矩阵只有一个；"
                             "请加一行或一列", h=matrix.shape[0], w=matrix.shape[1]))
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
        raise ValueError(say("kind: 'avg' or 'max', got {kind!r}", "kind：应为 'avg' 或 'max'，收到的是 {kind!r}", kind=kind))
    for label, value in ((say("output height", "输出高度"), out_h), (say("output width", "输出宽度"), out_w)):
        if value is None or int(value) != value or not 1 <= value <= MAX_SIDE:
            raise ValueError(say("{label}: a whole number from 1 to {m}, got {v}", "{label}：应是 1 到 {m} 之间的整数，收到的是 {v}",
                                 label=label, m=MAX_SIDE, v=value))
    out_h, out_w = int(out_h), int(out_w)
    layer = nn.AdaptiveAvgPool2d((out_h, out_w)) if kind == "avg" else nn.AdaptiveMaxPool2d((out_h, out_w))
    output = _back(layer(_image(matrix)))
    return output, adaptive_windows(matrix.shape[0], out_h), adaptive_windows(matrix.shape[1], out_w)
