"""Speed of the Stages tab, as ratios against a bare forward pass measured in the same run.

    python -m benchmarks.bench_stages [--model NAME] [--rounds N] [--device cpu|cuda]

Goals: the stage sweep m.sweep(x) within 1.35x of m.module(x) on the same tensor; m.stages(image),
which also resizes and normalises the picture, within 1.5x; the tab's full response to a new picture
(one forward pass with stage capture, top-5, the first grid, the overview strip, the channel
views, and the PNG encoding Gradio does) within 3x; a stage change from cached activations
(grid, channel views, their encoding) under 50 ms. Rounds interleave the measurements so a
busy machine slows them alike; medians are reported.
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

PHOTO = ROOT / "assets" / "examples" / "espresso.jpg"


def _encode(pngs, overlay) -> None:
    """What the app does with each returned picture: one encode, in the component's format."""
    for image in pngs:
        encode(image, "png")
    encode(overlay, stages_tab.OVERLAY_FORMAT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default=None, help="overrides EXPLORER_DEVICE")
    args = parser.parse_args()
    if args.device:
        os.environ["EXPLORER_DEVICE"] = args.device

    model, note = get_model(args.model)
    device = model.device
    photo = Image.open(PHOTO)
    x = model.preprocess(photo)
    picture = str(PHOTO)
    shown = dict(picture=picture, model=args.model, count="16", scale="shared")   # the tab's inputs, by name

    def forward():
        with torch.inference_mode():
            model.module(x)

    def stages():
        model.stages(photo)

    def sweep():
        model.sweep(x)

    def full_response():
        stages_inspections.CACHE.clear()
        out = stages_events.on_new_picture(shown)
        _encode([out["grid"], out["strip"], out["large"]], out["overlay"])

    n_stages = len(model.stages(photo))

    def stage_change(number):
        out = stages_events.on_stage(shown | {"stage": number})
        _encode([out["grid"], out["strip"], out["large"]], out["overlay"])   # the strip with this stage framed

    for _ in range(2):  # warm-up: first calls allocate, JIT-select kernels, fill caches
        forward(), stages(), sweep(), full_response()
    times = {"forward": [], "stages": [], "sweep": [], "sweep_floor": [], "full": [], "step": []}
    for _ in range(args.rounds):
        times["forward"].append(timed(forward, device))
        times["stages"].append(timed(stages, device))
        times["sweep_floor"].append(timed(forward, device))   # right before it: the same cache state
        times["sweep"].append(timed(sweep, device))
        times["full"].append(timed(full_response, device))
        times["forward"].append(timed(forward, device))
    stages_events.on_new_picture(shown)
    for number in range(1, n_stages + 1):
        times["step"].append(timed(lambda: stage_change(number), device))

    record = Record("bench_stages", f"Stages tab: {model.display_name} on {device}")
    floor = statistics.median(times["forward"])
    against = f"a bare forward m.module(x), {floor * 1e3:.1f} ms"
    step_median, step_max = statistics.median(times["step"]), max(times["step"])
    print(f"model {model.display_name} on {device} ({torch.get_num_threads()} threads), {n_stages} stages, "
          f"{args.rounds} rounds, medians")
    print(f"bare forward m.module(x)        {floor * 1e3:8.1f} ms   (the floor)")
    ratio = statistics.median(s / f for s, f in zip(times["sweep"], times["sweep_floor"]))
    print(f"m.sweep(x): the stage sweep     {statistics.median(times['sweep']) * 1e3:8.1f} ms   "
          f"{ratio:.2f}x   goal <= 1.35x {'ok' if ratio <= 1.35 else 'MISSED'}   (each against a forward of the same x run just before it)")
    record.measure("the stage sweep m.sweep(x)", statistics.median(times["sweep"]) * 1e3, "ms", goal="<= 1.35x",
                   met=ratio <= 1.35, ratio=ratio, against="a bare forward of the same x run just before each")
    ratio = statistics.median(times["stages"]) / floor
    print(f"m.stages(image)                 {statistics.median(times['stages']) * 1e3:8.1f} ms   "
          f"{ratio:.2f}x   goal <= 1.5x  {'ok' if ratio <= 1.5 else 'MISSED'}")
    record.measure("m.stages(image): the sweep plus resizing and normalising the picture",
                   statistics.median(times["stages"]) * 1e3, "ms", goal="<= 1.5x", met=ratio <= 1.5, ratio=ratio,
                   against=against)
    ratio = statistics.median(times["full"]) / floor
    print(f"tab's full response             {statistics.median(times['full']) * 1e3:8.1f} ms   "
          f"{ratio:.2f}x   goal <= 3x    {'ok' if ratio <= 3 else 'MISSED'}")
    record.measure("the tab's full response to a new picture (predict, stages, grid, strip, channel; encoded)",
                   statistics.median(times["full"]) * 1e3, "ms", goal="<= 3x", met=ratio <= 3, ratio=ratio,
                   against=against)
    print(f"stage change (cached), median   {step_median * 1e3:8.1f} ms   "
          f"max {step_max * 1e3:.1f} ms over {n_stages} stages   goal < 50 ms  "
          f"{'ok' if step_median < 0.05 else 'MISSED'}")
    record.measure(f"a stage change from cached activations, median over {n_stages} stages", step_median * 1e3, "ms",
                   goal="< 50 ms", met=step_median < 0.05, note=f"slowest {step_max * 1e3:.1f} ms")
    record.note(f"{n_stages} stages, {args.rounds} rounds, medians; {torch.get_num_threads()} torch threads")
    record.save()


if __name__ == "__main__":
    main()
