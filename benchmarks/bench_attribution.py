"""Attribution speed against floors measured in the same run (machines are noisy: read the ratios).

    python -m benchmarks.bench_attribution [--model efficientnet_lite0] [--device cpu] [--repeat 5]

Floors: one forward + backward pass on the input (saliency, gradcam); N forward + backward passes run as
one batch of N (integrated_gradients with N = 32 steps, smoothgrad with N = 16 samples). Also the tab's
full response for one method (maps phase; then with the trust check), on the default model.
"""
import argparse
import statistics
import time
import warnings
from pathlib import Path

import torch

from benchmarks.record import Record
from explorer.core.attribution import attribute_input
from explorer.core.models import DEFAULT_MODEL, get_model, load_model

IMAGE = Path(__file__).resolve().parent.parent / "assets" / "examples" / "espresso.jpg"
GOALS = {"saliency": 1.5, "gradcam": 1.5, "integrated_gradients": 1.3, "smoothgrad": 1.3}


def timed(fn, repeat: int) -> float:
    fn()                                   # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_backward(module, x, target, batch: int):
    def run():
        xb = x.expand(batch, -1, -1, -1).clone().requires_grad_()
        out = module(xb)[:, target].sum()
        torch.autograd.grad(out, xb)
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    model = get_model(args.model)[0] if args.device is None else load_model(args.model, device=args.device)
    x = model.preprocess(str(IMAGE))
    with torch.no_grad():
        target = int(model.module(x).argmax())
    print(f"{model.display_name} on {model.device}, input {tuple(x.shape)}, torch threads {torch.get_num_threads()}")
    floor1 = timed(forward_backward(model.module, x, target, 1), args.repeat)
    floor32 = timed(forward_backward(model.module, x, target, 32), args.repeat)
    floor16 = timed(forward_backward(model.module, x, target, 16), args.repeat)
    print(f"floor: 1 forward+backward {floor1 * 1e3:.1f} ms; batch of 16 {floor16 * 1e3:.1f} ms; "
          f"batch of 32 {floor32 * 1e3:.1f} ms")
    record = Record("bench_attribution", f"Saliency: attribution on {model.display_name} ({model.device})")
    floors = {floor1: "one forward+backward", floor16: "one batch of 16 forward+backward",
              floor32: "one batch of 32 forward+backward"}
    cases = [("saliency", {}, floor1), ("gradcam", {}, floor1),
             ("integrated_gradients", {"n_steps": 32}, floor32), ("smoothgrad", {"nt_samples": 16}, floor16)]
    for method, options, floor in cases:
        seconds = timed(lambda: attribute_input(model, x, method, target, **options), args.repeat)
        ratio = seconds / floor
        print(f"{method:22s} {seconds * 1e3:8.1f} ms  {ratio:5.2f}x floor  (goal <= {GOALS[method]}x: "
              f"{'ok' if ratio <= GOALS[method] else 'MISSED'})")
        what = method + "".join(f", {k} {v}" for k, v in options.items())
        record.measure(what, seconds * 1e3, "ms", goal=f"<= {GOALS[method]}x", met=ratio <= GOALS[method], ratio=ratio,
                       against=f"{floors[floor]}, {floor * 1e3:.1f} ms")
    if args.model == DEFAULT_MODEL and args.device is None:
        from explorer.ui.saliency_runs import forget_results
        from explorer.ui.saliency_tab import ExplainRequest, explain, trust_checked

        for method in ("saliency", "gradcam"):
            controls = dict(picture=str(IMAGE), model=model.name, target="", methods=[method], layer="",
                            sign="absolute", opacity=0.6, cmap="inferno", ig_steps=32, sg_samples=16, sg_noise=0.15,
                            occ_window=0, occ_stride=0)

            def maps_phase():
                forget_results()        # time the computation, not the store of recent results
                return explain(ExplainRequest.from_values(controls), reset=False)

            def with_trust():
                shown = {"picture": str(IMAGE), "maps": maps_phase()["maps"], "sign": "absolute"}
                trust_checked(shown, progress=lambda *a, **k: None)
            maps, trusted = timed(maps_phase, args.repeat), timed(with_trust, args.repeat)
            print(f"tab response, {method:9s}: maps {maps:.2f} s (goal < 1 s); with the trust check {trusted:.2f} s")
            record.measure(f"the tab's response, {method}: the maps (stores of recent results emptied)", maps, "s",
                           goal="< 1 s", met=maps < 1)
            record.measure(f"the tab's response, {method}: maps and trust check", trusted, "s")
    record.save()


if __name__ == "__main__":
    main()
