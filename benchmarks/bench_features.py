"""Feature visualisation by optimisation (explorer.core.features.visualize) against issue 12's goals, every
ratio measured in the same run.

    python -m benchmarks.bench_features [--model NAME] [--steps N] [--seed S] [--rules ...] [--save DIR]

Goals:
1. Strength: the picture excites its channel (the mean of the channel over the stage's output map) at
   least 3x as much as the strongest of the example photos (assets/examples/*.jpg, each through the
   model's own transform); and still at least 2x after a 10 % zoom and an 8-pixel shift of the picture.
2. Not noise: the spectral flatness of the picture's grey levels is under 0.3 (geometric over arithmetic
   mean of the power spectrum without DC; white noise is about 0.56, printed by the same function).
3. Time: at most 200 forward+backward passes of the model at its input size; seconds, seconds per pass
   and the ratio of a step to one bare forward+backward of the whole model, measured in the same run.

Which channels: the stages at 10 %, 50 % and 90 % of the Stages list (early, middle, late) and the last
pooling stage, and on each by two rules: "first", channel 0 (what the Stages tab shows first), and "photo-top", the channel with the
largest mean activation on the first example photo (bird.jpg): the hardest case, as a photo already
drives that channel hard. A channel that no example photo excites above 0 has no ratio and is not
counted for goal 1. The load average is printed: timings on a shared machine vary with it.

Ceilings: `features.ceiling` reads from the model itself how high a channel can go on any picture at all
(a stage that reads a ReLU6's output: a pooling of it is at most 6.0; a convolution of it at most 6 x the
sum of its positive weights). Where the ceiling divided by the strongest photo is under a goal, no picture
can meet it: the channel is printed with its ceiling, the best reachable ratio, how close the picture came
and "not reachable: ReLU6 caps the mean at 6.0", and that goal is judged on the other channels.
"""
import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.record import Record
from explorer.core import features
from explorer.core.models import DEFAULT_MODEL, get_model

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.jpg"))
FRACTIONS = {"early": 0.1, "middle": 0.5, "late": 0.9}
STRENGTH, MOVED_STRENGTH, FLATNESS, PASSES = 3.0, 2.0, 0.3, 200
ZOOM, SHIFT = 1.1, 8


def spectral_flatness(gray: np.ndarray) -> float:
    """Geometric mean / arithmetic mean of the power spectrum of a 2-D array, DC excluded: about 0.56
    for white noise, near 0 for a picture whose power sits in a few (low) frequencies."""
    power = np.abs(np.fft.rfft2(gray - gray.mean())) ** 2
    power = power.ravel()[1:] + 1e-20
    return float(np.exp(np.log(power).mean()) / power.mean())


def gray_levels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def zoomed_and_shifted(image: Image.Image, fill) -> Image.Image:
    """The picture zoomed in by ZOOM about its centre, then moved SHIFT pixels right and down."""
    cx, cy = image.width / 2, image.height / 2
    data = (1 / ZOOM, 0, cx - (cx + SHIFT) / ZOOM, 0, 1 / ZOOM, cy - (cy + SHIFT) / ZOOM)
    return image.transform(image.size, Image.AFFINE, data, resample=Image.BICUBIC, fillcolor=fill)


def one_forward_backward(model, rounds: int = 7) -> float:
    """Median seconds of one bare forward+backward of the whole model at its input size."""
    x = torch.randn(1, *features.input_shape(model))
    times = []
    for _ in range(rounds):
        leaf = x.clone().requires_grad_(True)
        start = time.perf_counter()
        with model.lock:
            logits = model.module(leaf.contiguous(memory_format=torch.channels_last))
        logits[0].max().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def choose(model, rules: list[str]) -> list[tuple[str, int, str, int]]:
    """(position, stage index, rule, channel) for every chosen stage and rule, without repeats."""
    inspection = model.inspect(Image.open(EXAMPLES[0]))
    n = len(inspection.stages)
    positions = {position: round(fraction * (n - 1)) for position, fraction in FRACTIONS.items()}
    pools = [i for i, stage in enumerate(inspection.stages) if stage.kind == "pool"]
    if pools:
        positions["last pool"] = pools[-1]
    chosen = []
    for position, index in positions.items():
        for rule in rules:
            channel = 0 if rule == "first" else int(inspection.stages[index].activation.mean(dim=(1, 2)).argmax())
            if (index, channel) not in [(i, c) for _, i, _, c in chosen]:
                chosen.append((position, index, rule, channel))
    return chosen


def strength(model, index: int, channel: int, v) -> dict:
    photos = {p.name: features.activation_of(model, index, channel, Image.open(p)) for p in EXAMPLES}
    best_name = max(photos, key=photos.get)
    fill = 0 if v.image.mode == "L" else (128, 128, 128)
    moved = zoomed_and_shifted(v.image, fill)
    moved_value = features.activation_of(model, index, channel, features.normalise(model, features.from_image(moved)))
    best = photos[best_name]
    return dict(best=best, best_name=best_name, picture=v.activation, moved=moved_value,
                ratio=v.activation / best if best > 0 else float("nan"),
                moved_ratio=moved_value / best if best > 0 else float("nan"))


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "ok" if ok else "MISSED"


def at_least(ratio: float, goal: float, reachable: float | None = None) -> bool | None:
    """None where the ratio means nothing (no example photo excites the channel above 0) or where no
    picture can meet the goal (the ceiling over the strongest photo, `reachable`, is under it)."""
    if ratio != ratio or (reachable is not None and reachable < goal):
        return None
    return ratio >= goal


def clamp_name(ceiling) -> str:
    return "ReLU6" if ceiling.clamp == (0.0, 6.0) else f"a clamp to [{ceiling.clamp[0]:g}, {ceiling.clamp[1]:g}]"


def report_row(position, index, rule, channel, name, s, flat, v, fb, top) -> dict:
    passes = v.steps
    step_s = v.seconds / v.steps
    print(f"\n[{position}] stage {index} {name}, channel {channel} (rule {rule})")
    note = "" if s["best"] > 0 else "   (no example photo excites it above 0: no ratio, not counted)"
    reachable = top.value / s["best"] if top is not None and s["best"] > 0 else None
    strong = at_least(s["ratio"], STRENGTH, reachable)
    moved = at_least(s["moved_ratio"], MOVED_STRENGTH, reachable)
    print(f"  strongest example photo: {s['best']:.3f} ({s['best_name']}); picture: {s['picture']:.3f}{note}")
    if top is None:
        print("  ceiling    none read from the model (the stage does not read a bounded clamp's output)")
    else:
        print(f"  ceiling    {top.value:.3f}: {top.reason}; the picture reaches {s['picture'] / top.value:.1%} of it")
    if reachable is not None:
        print(f"  best reachable ratio at most {reachable:.2f}x (the ceiling over the strongest photo: no picture passes it)")
    unreachable = (f"not reachable: {clamp_name(top)} caps the mean at {top.value:.1f}, so at most {reachable:.2f}x;"
                   " not counted" if reachable is not None else "")
    print(f"  strength   {s['ratio']:6.2f}x  (goal >= {STRENGTH}x)  "
          f"{unreachable if reachable is not None and reachable < STRENGTH else verdict(strong)}")
    print(f"  zoom {ZOOM:.0%} + shift {SHIFT}px: {s['moved']:.3f} = {s['moved_ratio']:6.2f}x  (goal >= {MOVED_STRENGTH}x)  "
          f"{unreachable if reachable is not None and reachable < MOVED_STRENGTH else verdict(moved)}")
    print(f"  flatness   {flat:.3f}  (goal < {FLATNESS})  {verdict(flat < FLATNESS)}")
    print(f"  time       {v.seconds:.2f} s for {v.steps} steps = {passes} forward+backward passes (+1 forward); "
          f"{step_s * 1000:.1f} ms per pass = {step_s / fb:.2f}x one bare forward+backward  "
          f"(goal <= {PASSES} passes)  {verdict(passes <= PASSES)}")
    return dict(strength=strong, moved=moved, flat=flat < FLATNESS, passes=passes <= PASSES,
                where=f"stage {index} channel {channel}", ratio=s["ratio"], reachable=reachable, ceiling=top,
                name=f"{position}: {name}, channel {channel}", moved_ratio=s["moved_ratio"], flatness=flat,
                seconds=v.seconds, steps=v.steps, per_pass=step_s / fb)


def record_row(record: Record, r: dict) -> None:
    capped = "" if r["reachable"] is None else f"; no picture can pass {r['reachable']:.2f}x ({clamp_name(r['ceiling'])})"
    record.measure(f"{r['name']}: strength against the strongest example photo", r["ratio"], "x",
                   goal=f">= {STRENGTH}x", met=r["strength"], note=capped[2:] or None)
    record.measure(f"{r['name']}: after a {ZOOM - 1:.0%} zoom and a {SHIFT}-pixel shift", r["moved_ratio"], "x",
                   goal=f">= {MOVED_STRENGTH}x", met=r["moved"])
    record.measure(f"{r['name']}: spectral flatness (white noise about 0.56)", r["flatness"], "",
                   goal=f"< {FLATNESS}", met=r["flat"])
    record.measure(f"{r['name']}: {r['steps']} steps, one forward+backward each", r["seconds"], "s",
                   goal=f"<= {PASSES} passes", met=r["passes"], ratio=r["per_pass"],
                   against="one bare forward+backward of the whole model, per pass")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=None, help="default: features.default_steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rules", nargs="+", default=["first", "photo-top"], choices=["first", "photo-top"])
    parser.add_argument("--save", type=Path, default=None, help="a folder to save the pictures in")
    args = parser.parse_args()

    model, note = get_model(args.model)
    print(f"model {model.display_name} ({args.model}, pretrained={model.pretrained}) on {model.device}; "
          f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.2f}  {note}")
    fb = one_forward_backward(model)
    print(f"one bare forward+backward of the whole model at {features.input_shape(model)}: {fb * 1000:.1f} ms")
    noise = spectral_flatness(np.random.default_rng(0).random((224, 224)))
    photos = [spectral_flatness(gray_levels(Image.open(p))) for p in EXAMPLES]
    print(f"spectral flatness: white noise {noise:.3f}; example photos {min(photos):.3f} to {max(photos):.3f}")
    refs = features.stages_of(model)
    results = []
    for position, index, rule, channel in choose(model, args.rules):
        v = features.visualize(model, index, channel, steps=args.steps, seed=args.seed)
        s = strength(model, index, channel, v)
        flat = spectral_flatness(gray_levels(v.image))
        top = features.ceiling(model, index, channel)
        results.append(report_row(position, index, rule, channel, refs[index].name, s, flat, v, fb, top))
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            v.image.save(args.save / f"features_{args.model}_{index}_{channel}.png")
    print(f"\nload average {os.getloadavg()[0]:.2f}")
    record = Record("bench_features", f"Feature visualisation: {model.display_name}")
    for r in results:
        record_row(record, r)
    record.save()
    print("SUMMARY")
    for goal, title in [("strength", f"strength >= {STRENGTH}x the strongest photo"),
                        ("moved", f"after zoom and shift >= {MOVED_STRENGTH}x"),
                        ("flat", f"spectral flatness < {FLATNESS}"), ("passes", f"<= {PASSES} passes")]:
        counted = [r[goal] for r in results if r[goal] is not None]
        print(f"  {title:45s} {sum(counted)}/{len(counted)} channels  {verdict(all(counted))}")
        goal_value = {"strength": STRENGTH, "moved": MOVED_STRENGTH}.get(goal)
        for r in results:
            if goal_value is not None and r["reachable"] is not None and r["reachable"] < goal_value:
                print(f"    not counted: {r['where']}, not reachable: {clamp_name(r['ceiling'])} caps the mean at "
                      f"{r['ceiling'].value:.1f}; best reachable {r['reachable']:.2f}x, the picture {r['ratio']:.2f}x")


if __name__ == "__main__":
    main()
