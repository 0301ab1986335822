"""Your own model: the Stages tab on five timm CNN families, as ratios against a bare forward pass measured
in the same run, and the first view of a model never loaded before.

    python -m benchmarks.bench_timm [--rounds N] [--device cpu|cuda] [--families a,b,c]

Goals: the stage sweep m.sweep(x) within 1.5x of m.module(x) on the same tensor, for every family
(rounds interleave the two, medians reported). The first view of a new model, everything a visitor waits
for after typing its name (its facts measured on the meta device, the module built, one forward pass
with stage capture, the first stage's grid, strip and channel views), is reported against the bare
forward it contains; offline the models are untrained (the timing does not depend on the weights).
"""
import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from PIL import Image

from benchmarks.record import Record
from benchmarks.timing import timed
from explorer.core.models import get_model
from explorer.core.state import STORES

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "assets" / "examples" / "espresso.jpg"
# one of each: plain residual, depthwise ConvNeXt, mixed kernels, weight-standardised, split attention
FAMILIES = ("resnet18", "convnext_atto", "mixnet_s", "nf_regnet_b0", "resnest14d")


def first_view(name: str) -> float:
    """Seconds from a name never seen to the Stages tab's first answer (the app's stores emptied first)."""
    from explorer.ui import stages_events

    STORES.clear()
    start = time.perf_counter()
    stages_events.on_new_picture(dict(picture=str(PHOTO), model=f"timm:{name}", count="16", scale="shared"))
    return time.perf_counter() - start


def family(name: str, rounds: int, record: Record) -> list:
    first = first_view(name)
    model, _ = get_model(f"timm:{name}")
    device, photo = model.device, Image.open(PHOTO)
    x = model.preprocess(photo)

    def forward():
        with torch.inference_mode():
            model.module(x)

    for _ in range(2):                           # warm-up: allocations, kernel choice, the stage layers
        forward(), model.sweep(x)
    floors, sweeps, ratios = [], [], []
    for _ in range(rounds):
        floors.append(timed(forward, device))
        sweeps.append(timed(lambda: model.sweep(x), device))
        ratios.append(sweeps[-1] / floors[-1])
    floor, sweep, ratio = statistics.median(floors), statistics.median(sweeps), statistics.median(ratios)
    stages = len(model.sweep(x)[1])
    record.measure(f"timm:{name}: the stage sweep ({stages} stages, input {tuple(x.shape[-2:])})", sweep * 1e3, "ms",
                   goal="<= 1.5x", met=ratio <= 1.5, ratio=ratio, against=f"a bare forward, {floor * 1e3:.1f} ms")
    record.measure(f"timm:{name}: the first view of the model (facts, build, traced pass, first stage drawn)",
                   first * 1e3, "ms", ratio=first / floor, against=f"a bare forward, {floor * 1e3:.1f} ms")
    print(f"timm:{name:16s} forward {floor * 1e3:7.1f} ms  sweep {sweep * 1e3:7.1f} ms  {ratio:.2f}x "
          f"{'ok' if ratio <= 1.5 else 'MISSED'}   first view {first:6.2f} s ({first / floor:.0f}x a forward)")
    return [f"timm:{name}", stages, round(floor * 1e3, 1), round(sweep * 1e3, 1), round(ratio, 2), round(first, 2)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default=None, help="overrides EXPLORER_DEVICE")
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    if args.device:
        os.environ["EXPLORER_DEVICE"] = args.device
    record = Record("bench_timm", "Your own model: timm CNNs in the Stages tab")
    rows = [family(name, args.rounds, record) for name in args.families.split(",")]
    record.table("Five timm families", ["model", "stages", "forward (ms)", "sweep (ms)", "sweep / forward",
                                        "first view (s)"], rows)
    record.note(f"{args.rounds} interleaved rounds, medians; untrained weights (offline); "
                f"{torch.get_num_threads()} torch threads")
    record.save()


if __name__ == "__main__":
    main()
