"""The trust check's time: one check (the default model, an example photo, Grad-CAM) cold and warm, against
the model's own forward passes of the same pictures measured in the same run.

    python -m benchmarks.bench_trust_time [--model efficientnet_lite0] [--photo espresso] [--rounds 3]

Cold: the first check of a picture and class (the first round's also makes the model's randomised copy) (the model loaded): its
random orders' curves, the cascade's randomised model and maps, the map's own curves. Warm: another map of
the same picture and class (Saliency after Grad-CAM, as the tab checks several maps), whose random orders'
curves are kept. The floor is what no check of this size can skip: the same number of pictures through the
model, CHUNK at a time (explorer.core.trust_curves.curve_passes pictures, the replaced pictures of the
curves without their making). Each round measures the floor, then clears the stores and runs cold, then
warm; the figures are the rounds' medians (ratios: each round's against its own floor, then the median),
in wall-clock seconds and in CPU seconds of the process (steadier on a shared machine).
"""
import argparse
import statistics
import time
from pathlib import Path

import torch

from benchmarks.record import Record
from explorer.core import trust, trust_curves
from explorer.core.attribution import attribute_input
from explorer.core.models import get_model

ROOT = Path(__file__).resolve().parent.parent


def _clear() -> None:
    """Forgets what a check keeps of a picture: the random orders' curves and the randomised maps (the
    randomised copy of the model is kept with the model: only the first round makes it)."""
    trust_curves.RANDOM_CURVES.clear()
    trust.RANDOMISED_MAPS.clear()


class Clock:
    """Wall-clock and CPU seconds (every thread of this process: steadier on a shared machine) of a block."""
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def floor_seconds(model, x: torch.Tensor, pictures: int) -> Clock:
    """`pictures` copies of x through the model, CHUNK at a time (only the passes, no picture made)."""
    batch = x.expand(trust_curves.CHUNK, -1, -1, -1).contiguous()
    with Clock() as clock, torch.inference_mode():
        for start in range(0, pictures, trust_curves.CHUNK):
            model.module(batch[:min(trust_curves.CHUNK, pictures - start)])
    return clock


def one_round(model, photo: Path) -> dict:
    x = model.preprocess(photo)
    gradcam = attribute_input(model, x, "gradcam")
    saliency = attribute_input(model, x, "saliency", target=gradcam.target)
    cold_passes = trust.check_passes(1)
    floor = floor_seconds(model, x, trust_curves.curve_passes())
    _clear()
    with Clock() as cold:
        cold_check = trust.trust_check(model, x, "gradcam", attribution=gradcam)
    with Clock() as warm:
        trust.trust_check(model, x, "saliency", attribution=saliency)
    warm_floor = floor_seconds(model, x, trust_curves.curve_passes(random_known=True))
    return {"floor": floor.wall, "cold": cold.wall, "warm": warm.wall, "warm_floor": warm_floor.wall,
            "floor_cpu": floor.cpu, "cold_cpu": cold.cpu, "warm_cpu": warm.cpu, "warm_floor_cpu": warm_floor.cpu,
            "passes": cold_passes, "verdict": cold_check.verdict}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--photo", default="espresso")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    record = Record("bench_trust_time", "Trust check: the time of one check, cold and warm", argv)
    started = time.perf_counter()
    model, _ = get_model(args.model)
    load = time.perf_counter() - started
    photo = ROOT / "assets" / "examples" / f"{args.photo}.jpg"
    rounds = []
    for i in range(args.rounds):
        rounds.append(one_round(model, photo))
        print(f"round {i + 1}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in rounds[-1].items()), flush=True)
    def median(key: str, floor: str | None = None) -> float:
        """The rounds' median of a figure, or of its ratio to a floor of the same round."""
        return statistics.median(r[key] / r[floor] if floor else r[key] for r in rounds)

    against = f"{trust_curves.curve_passes()} pictures through the model, {trust_curves.CHUNK} a pass"
    warm_against = f"{trust_curves.curve_passes(random_known=True)} pictures through the model"
    record.measure("loading the model", load, "s")
    record.measure("first check in the process (the randomised copy made too)", rounds[0]["cold"], "s",
                   ratio=rounds[0]["cold"] / rounds[0]["floor"], against="the same round's floor: " + against)
    record.measure(f"cold check: {args.model}, {args.photo}, Grad-CAM", median("cold"), "s",
                   ratio=median("cold", "floor"), against=against)
    record.measure("cold check, CPU seconds (all threads)", median("cold_cpu"), "s",
                   ratio=median("cold_cpu", "floor_cpu"), against=against + " (CPU seconds)")
    record.measure("warm check: Saliency on the same picture and class", median("warm"), "s",
                   ratio=median("warm", "warm_floor"), against=warm_against)
    record.measure("warm check, CPU seconds (all threads)", median("warm_cpu"), "s",
                   ratio=median("warm_cpu", "warm_floor_cpu"), against=warm_against + " (CPU seconds)")
    record.note(f"{args.rounds} rounds (medians); a cold check counts {rounds[0]['passes']} pictures "
                f"(explorer.core.trust.check_passes) for Grad-CAM; its verdict: {rounds[0]['verdict']}")
    record.save()


if __name__ == "__main__":
    main()
