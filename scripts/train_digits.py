"""Train the "digits" model on scikit-learn's bundled digits and save assets/models/digits.pt.

    python -m scripts.train_digits            # train (about a minute on 2 cores), save, evaluate
    python -m scripts.train_digits --eval     # only evaluate the committed weights

Held out: a stratified 20% of load_digits (seed 0), never augmented, never trained on.
Training digits are augmented the way drawings differ: each 8x8 grid is upsampled to a 32x32 bitmap,
rotated, sheared, stretched, its strokes thickened or thinned, then cropped to the ink and fitted back
into 8x8 cells exactly as explorer.core.digits.sketch_to_grid does with a sketch.
"""
import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from explorer.core.digits import WEIGHTS_PATH, DigitNet, grid_to_tensor, normalise_grid

SEED = 0
TEST_FRACTION = 0.2
HIRES = 32          # the bitmap size sklearn's digits were counted from (4x4 pixels per cell)


def heldout_split():
    """(train_grids, train_labels, test_grids, test_labels); grids (N, 8, 8) float in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=TEST_FRACTION, stratify=digits.target, random_state=SEED)
    as_grid = lambda a: torch.tensor(a, dtype=torch.float32) / 16.0  # noqa: E731
    as_label = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return as_grid(x_train), as_label(y_train), as_grid(x_test), as_label(y_test)


def heldout_accuracy(net: torch.nn.Module, grids: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        predicted = net.eval()(grid_to_tensor(normalise_grid(grids))).argmax(1)
    return (predicted == labels).float().mean().item()


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _refit(x: torch.Tensor) -> torch.Tensor:
    """Crop each bitmap (N, 1, S, S) to its ink, fit the longer side to S, centre (as sketches are)."""
    n, _, s, _ = x.shape
    ink = x[:, 0] >= 0.3
    ink[~ink.flatten(1).any(1)] = True          # nothing left (never in practice): keep the frame
    idx = torch.arange(s)
    rows, cols = ink.any(2), ink.any(1)
    first = lambda m: torch.where(m, idx, s).amin(1)  # noqa: E731
    last = lambda m: torch.where(m, idx, -1).amax(1)  # noqa: E731
    r0, r1, c0, c1 = first(rows), last(rows), first(cols), last(cols)
    # align_corners=False: pixel edges lie at 2 * i / s - 1
    cy = (r0 + r1 + 1).float() / s - 1
    cx = (c0 + c1 + 1).float() / s - 1
    half = torch.maximum(r1 - r0 + 1, c1 - c0 + 1).float() / s
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = half
    theta[:, 1, 1] = half
    theta[:, 0, 2] = cx
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment(grids: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Grids (N, 8, 8) -> randomly distorted grids (N, 8, 8), ink in [0, 1]."""
    n = grids.shape[0]
    x = F.interpolate(grids[:, None], size=(HIRES, HIRES), mode="bilinear", align_corners=False)
    angle = _uniform(n, -12, 12, gen) * math.pi / 180
    shear = _uniform(n, -0.2, 0.2, gen)
    sx, sy = _uniform(n, 0.85, 1.15, gen), _uniform(n, 0.9, 1.1, gen)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)                # maps output coordinates to input coordinates
    theta[:, 0, 0] = cos / sx
    theta[:, 0, 1] = (-sin + shear) / sx
    theta[:, 1, 0] = sin / sy
    theta[:, 1, 1] = cos / sy
    theta[:, :, 2] = _uniform(2 * n, -0.08, 0.08, gen).view(n, 2)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False),
                      mode="bilinear", padding_mode="zeros", align_corners=False)
    # stroke thickness: dilate (3x3 or 5x5), erode (3x3) or leave, chosen per digit
    choice = torch.rand(n, generator=gen)[:, None, None, None]
    dilate3 = F.max_pool2d(x, 3, stride=1, padding=1)
    dilate5 = F.max_pool2d(x, 5, stride=1, padding=2)
    erode3 = -F.max_pool2d(-x, 3, stride=1, padding=1)
    x = torch.where(choice < 0.3, dilate3, torch.where(choice < 0.4, dilate5,
                    torch.where(choice < 0.55, erode3, x)))
    x = _refit(x)
    return normalise_grid(F.avg_pool2d(x, HIRES // 8)[:, 0])


def train(epochs: int, batch: int = 64, threads: int = 1) -> DigitNet:
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(SEED)
    x_train, y_train, x_test, y_test = heldout_split()
    net = DigitNet()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * math.ceil(len(x_train) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        total = 0.0
        for start in range(0, len(order), batch):
            i = order[start:start + batch]
            inputs = grid_to_tensor(augment(x_train[i], gen))
            loss = F.cross_entropy(net(inputs), y_train[i], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(i)
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            print(f"epoch {epoch + 1:3d}  loss {total / len(x_train):.4f}  "
                  f"held-out accuracy {heldout_accuracy(net, x_test, y_test):.4f}", flush=True)
    return net.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--eval", action="store_true", help="only evaluate the weights in --out")
    args = parser.parse_args()
    if not args.eval:
        began = time.perf_counter()
        net = train(args.epochs)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), args.out)
        print(f"trained in {time.perf_counter() - began:.0f} s, saved {args.out} "
              f"({args.out.stat().st_size / 1024:.0f} KiB)")
    net = DigitNet()
    net.load_state_dict(torch.load(args.out, map_location="cpu", weights_only=True))
    _, _, x_test, y_test = heldout_split()
    acc = heldout_accuracy(net, x_test, y_test)
    print(f"held-out accuracy: {acc:.4f} ({round(acc * len(y_test))}/{len(y_test)} digits, "
          f"stratified {TEST_FRACTION:.0%} of sklearn load_digits, seed {SEED})")


if __name__ == "__main__":
    main()
