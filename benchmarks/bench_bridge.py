"""Speed of the bridge (explorer.core.bridge.explain_unit), as ratios against a bare forward pass measured
in the same run, and of the Stages tab's whole answer to a click on a unit.

    python -m benchmarks.bench_bridge [--model NAME] [--rounds N] [--units N]

Goals: explaining a unit from an inspection already made (slicing and a few hundred multiplications,
no forward pass) costs at most 0.5x a bare forward pass of the model, for the median and for the
slowest stage; the tab's answer to a click (the explanation, the panel's words and picture, the channel
views with the unit framed, and the PNG/JPEG encoding Gradio does) arrives in under 100 ms.
Units are spread over every stage; rounds interleave the measurements; medians are reported.
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
from PIL import Image

from benchmarks.record import Record
from explorer.core.bridge import explain_unit
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.ui import stages_inspections, stages_tab, stages_views
from explorer.ui.gradio_patches import encode

ROOT = Path(__file__).resolve().parent.parent

PHOTO = ROOT / "assets" / "examples" / "espresso.jpg"


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _units(inspection, per_stage: int):
    """(stage index, channel, row, col): corners, centre and inner points of every stage."""
    for index, stage in enumerate(inspection.stages):
        c, h, w = stage.output_shape
        points = [(0, 0), (h - 1, w - 1), (h // 2, w // 2), (h // 3, 2 * w // 3), (h - 1, 0)][:per_stage]
        for k, (row, col) in enumerate(points):
            yield index, (index * 7 + k * 13) % c, row, col


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--units", type=int, default=3, help="units per stage")
    args = parser.parse_args()

    model, _ = get_model(args.model)
    photo = Image.open(PHOTO)
    x = model.preprocess(photo)
    picture = str(PHOTO)
    inspection = stages_inspections.inspection_for(args.model, picture)
    units = list(_units(inspection, args.units))

    def forward():
        with torch.inference_mode():
            model.module(x)

    def click(index, channel, row, col):
        out = stages_views.unit_views(stages_inspections.inspection_for(args.model, picture), index + 1, channel, row,
                                      col)
        encode(out["large"], "png"), encode(out["overlay"], stages_tab.OVERLAY_FORMAT), encode(out["unit_picture"], "png")

    for _ in range(2):
        forward()
        for unit in units[:20]:
            explain_unit(model, inspection, *unit), click(*unit)
    floors, explain, answer, per_stage = [], [], [], {}
    for _ in range(args.rounds):
        floors.append(_timed(forward))
        for unit in units:
            took = _timed(lambda: explain_unit(model, inspection, *unit))
            explain.append(took)
            per_stage.setdefault(unit[0], []).append(took)
        floors.append(_timed(forward))
        for unit in units[::3]:
            answer.append(_timed(lambda: click(*unit)))

    floor = statistics.median(floors)
    median = statistics.median(explain)
    worst_stage, worst = max(((k, statistics.median(v)) for k, v in per_stage.items()), key=lambda kv: kv[1])
    print(f"model {model.display_name}, {len(inspection.stages)} stages, {len(units)} units, {args.rounds} rounds, "
          f"{torch.get_num_threads()} threads, medians")
    print(f"bare forward m.module(x)           {floor * 1e3:8.1f} ms   (the floor)")
    print(f"explain_unit, median over units    {median * 1e3:8.2f} ms   {median / floor:.3f}x   goal <= 0.5x  "
          f"{'ok' if median / floor <= 0.5 else 'MISSED'}")
    print(f"explain_unit, slowest stage        {worst * 1e3:8.2f} ms   {worst / floor:.3f}x   goal <= 0.5x  "
          f"{'ok' if worst / floor <= 0.5 else 'MISSED'}   ({inspection.stages[worst_stage].name})")
    median_answer, slowest = statistics.median(answer), max(answer)
    print(f"the tab's answer to a click        {median_answer * 1e3:8.1f} ms   max {slowest * 1e3:.1f} ms   "
          f"goal < 100 ms  {'ok' if median_answer < 0.1 else 'MISSED'}")
    record = Record("bench_bridge", f"The bridge: how one number was made ({model.display_name})")
    against = f"a bare forward m.module(x), {floor * 1e3:.1f} ms"
    record.measure(f"explain_unit from an inspection, median over {len(units)} units", median * 1e3, "ms",
                   goal="<= 0.5x", met=median / floor <= 0.5, ratio=median / floor, against=against)
    record.measure(f"explain_unit, slowest stage ({inspection.stages[worst_stage].name})", worst * 1e3, "ms",
                   goal="<= 0.5x", met=worst / floor <= 0.5, ratio=worst / floor, against=against)
    record.measure("the tab's answer to a click (explanation, words, picture, channel views; encoded)",
                   median_answer * 1e3, "ms", goal="< 100 ms", met=median_answer < 0.1,
                   note=f"slowest {slowest * 1e3:.1f} ms")
    record.note(f"{len(inspection.stages)} stages, {args.rounds} rounds, {torch.get_num_threads()} torch threads")
    record.save()


if __name__ == "__main__":
    main()
