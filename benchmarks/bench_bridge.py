"""Speed of the bridge (explorer.core.bridge.explain_unit), as ratios against a bare forward pass measured
in the same run, and of the Stages tab's whole answer to a click on a unit.

    .venv/bin/python benchmarks/bench_bridge.py [--model NAME] [--rounds N] [--units N]

Goals: explaining a unit from an inspection already made (slicing and a few hundred multiplications,
no forward pass) costs at most 0.5x a bare forward pass of the model, for the median and for the
slowest stage; the tab's answer to a click (the explanation, the panel's words and picture, the channel
views with the unit framed, and the PNG/JPEG encoding Gradio does) arrives in under 100 ms.
Units are spread over every stage; rounds interleave the measurements; medians are reported.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from explorer.core.bridge import explain_unit  # noqa: E402
from explorer.core.models import DEFAULT_MODEL, get_model  # noqa: E402
from explorer.ui import stages_inspections, stages_tab, stages_views  # noqa: E402
from explorer.ui.gradio_patches import encode  # noqa: E402

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


if __name__ == "__main__":
    main()
