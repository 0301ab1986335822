"""Speed of the Stages tab, as ratios against the fastest honest floor measured in the same run: a bare
forward pass `m.module(x)` in torch.inference_mode on the same input.

    python -m benchmarks.bench_stages [--model NAME] [--rounds 15] [--device cpu|cuda] [--threads N]

Goals (issue 24: the speed live work needs): the stage sweep m.sweep(x) within 1.2x of the forward on
the same tensor x = m.preprocess(photo); m.stages(photo), which also resizes, crops and normalises the
picture, within 1.35x of that same forward; the tab's full response to a new picture (one forward pass
with stage capture, top-5, the first grid, the overview strip, the channel views, and the PNG encoding
Gradio does) within 3x; a stage change from cached activations (grid, channel views, their encoding)
under 50 ms. The photo is not square (skimage's coffee where scikit-image is installed, else the
espresso example, 512x341), so resizing and cropping cost what they cost on a real photo. Each of the
15 rounds measures forward, sweep, forward, stages, full response in turn, so a busy machine slows them
alike; medians of each are compared.
"""
import argparse
import os
import statistics
from pathlib import Path

import torch
from PIL import Image

from benchmarks.record import Record
from benchmarks.timing import timed
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.ui import stages_events, stages_inspections, stages_tab
from explorer.ui.gradio_patches import encode

ROOT = Path(__file__).resolve().parent.parent
ESPRESSO = ROOT / "assets" / "examples" / "espresso.jpg"
GOALS = {"sweep": 1.2, "stages": 1.35, "full": 3.0}


def photo() -> tuple[Image.Image, str, str]:
    """(the photo, its path for the tab's inputs, what it is): skimage's coffee if installed."""
    try:
        from skimage import data
    except ImportError:
        picture = Image.open(ESPRESSO)
        picture.load()
        return picture, str(ESPRESSO), f"assets/examples/espresso.jpg, {picture.width}x{picture.height}"
    picture = Image.fromarray(data.coffee())
    path = Path(os.environ.get("TMPDIR", "/tmp")) / "explorer-bench-coffee.png"
    picture.save(path)
    return picture, str(path), f"skimage's coffee, {picture.width}x{picture.height}"


def _encode(pngs, overlay) -> None:
    """What the app does with each returned picture: one encode, in the component's format."""
    for image in pngs:
        encode(image, "png")
    encode(overlay, stages_tab.OVERLAY_FORMAT)


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--device", default=None, help="overrides EXPLORER_DEVICE")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own, as the app runs); on a machine shared with "
                             "other work, 1 keeps a descheduled thread from stalling every layer of the pass")
    args = parser.parse_args()
    if args.device:
        os.environ["EXPLORER_DEVICE"] = args.device
    if args.threads:
        torch.set_num_threads(args.threads)

    load_before = _load()
    model, note = get_model(args.model)
    device = model.device
    picture, path, which = photo()
    x = model.preprocess(picture)
    shown = dict(picture=path, model=args.model, count="16", scale="shared")   # the tab's inputs, by name

    def forward():
        with torch.inference_mode():
            model.module(x)

    def full_response():
        stages_inspections.CACHE.clear()
        out = stages_events.on_new_picture(shown)
        _encode([out["grid"], out["strip"], out["large"]], out["overlay"])

    n_stages = len(model.stages(picture))

    def stage_change(number):
        out = stages_events.on_stage(shown | {"stage": number})
        _encode([out["grid"], out["strip"], out["large"]], out["overlay"])   # the strip with this stage framed

    runs = (("forward", forward), ("sweep", lambda: model.sweep(x)), ("forward", forward),
            ("stages", lambda: model.stages(picture)), ("full", full_response))
    for _ in range(3):  # warm-up: first calls allocate, pick kernels, trace the stages, fill caches
        for _, run in runs:
            run()
    times = {name: [] for name, _ in runs} | {"step": []}
    for _ in range(args.rounds):
        for name, run in runs:
            times[name].append(timed(run, device))
    stages_events.on_new_picture(shown)
    for number in range(1, n_stages + 1):
        times["step"].append(timed(lambda: stage_change(number), device))
    load_after = _load()

    record = Record("bench_stages", f"Stages tab: {model.display_name} on {device}")
    floor = statistics.median(times["forward"])
    against = f"a bare forward m.module(x) in inference mode on the same x, {floor * 1e3:.1f} ms"
    print(f"model {model.display_name} on {device} ({torch.get_num_threads()} threads), {n_stages} stages, "
          f"{which}, {args.rounds} rounds, medians; load average {load_before} before, {load_after} after")
    print(f"bare forward m.module(x)        {floor * 1e3:8.1f} ms   (the floor)")
    what = {"sweep": "the stage sweep m.sweep(x)",
            "stages": "m.stages(photo): the sweep plus resizing, cropping and normalising the photo",
            "full": "the tab's full response to a new picture (predict, stages, grid, strip, channel; encoded)"}
    for name, label in (("sweep", "m.sweep(x): the stage sweep"), ("stages", "m.stages(photo)"),
                        ("full", "tab's full response")):
        value = statistics.median(times[name])
        ratio, goal = value / floor, GOALS[name]
        print(f"{label:<31} {value * 1e3:8.1f} ms   {ratio:.2f}x   goal <= {goal}x "
              f"{'ok' if ratio <= goal else 'MISSED'}")
        record.measure(what[name], value * 1e3, "ms", goal=f"<= {goal}x", met=ratio <= goal, ratio=ratio,
                       against=against)
    step_median, step_max = statistics.median(times["step"]), max(times["step"])
    print(f"stage change (cached), median   {step_median * 1e3:8.1f} ms   "
          f"max {step_max * 1e3:.1f} ms over {n_stages} stages   goal < 50 ms  "
          f"{'ok' if step_median < 0.05 else 'MISSED'}")
    record.measure(f"a stage change from cached activations, median over {n_stages} stages", step_median * 1e3, "ms",
                   goal="< 50 ms", met=step_median < 0.05, note=f"slowest {step_max * 1e3:.1f} ms")
    record.note(f"{n_stages} stages, {which}, {args.rounds} rounds (forward, sweep, forward, stages, full response "
                f"in turn), medians; {torch.get_num_threads()} torch threads; load average {load_before} before, "
                f"{load_after} after")
    if note:
        record.note(note)
    record.save()


if __name__ == "__main__":
    main()
