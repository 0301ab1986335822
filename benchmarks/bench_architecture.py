"""Architecture tab timings against a floor measured in the same run.

    python -m benchmarks.bench_architecture

Floor: one bare forward pass of one image through every registered model (modules built beforehand).
compare() over all of them builds each model, counts its MACs (first time only), runs 1 warm-up and
3 timed passes: about 4-5 floors plus building. Goal: under 20 s on the 2-core CPU here. The tab's
first view (the default model's summary and drawings) is computed while the app is built; the goal is
that computing it takes under 1 s, and a cached summary costs next to nothing.
"""
import os
import time

import torch

from benchmarks.record import Record


def main() -> None:
    os.environ.setdefault("EXPLORER_DEVICE", "cpu")
    # all 12 models in one compare(): more than a request may ask on this machine (explorer.core.budgets), timed here
    os.environ.setdefault("EXPLORER_COMPARE_MODELS", "12")
    from explorer.core import architecture as arch
    from explorer.core.models import MODEL_NAMES

    record = Record("bench_architecture", "Architecture tab: the summary, the first view and compare()")
    measure(arch, list(MODEL_NAMES), record)
    record.save()


def measure(arch, names: list[str], record: Record) -> None:
    from explorer.core.models import load_model

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    start = time.perf_counter()
    summary = arch.summarize(names[0])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    arch.summarize(names[0])
    cached = time.perf_counter() - start

    from explorer.ui.architecture_tab import inspect_values
    _, h, w = arch.model_input_size(names[0])
    start = time.perf_counter()
    inspect_values(names[0], h, w)
    first_view = time.perf_counter() - start
    print(f"summarize({names[0]!r}) cold (imports timm, builds on 'meta'): {cold:.2f} s, "
          f"cached: {cached * 1000:.2f} ms, {len(summary.rows)} rows")
    print(f"first view of the tab (summary + chain + block picture + table), summary cached: {first_view:.2f} s")
    record.measure(f"summarize({names[0]!r}), cold (imports timm, builds on the meta device)", cold, "s",
                   note=f"cached: {cached * 1000:.2f} ms")
    record.measure("the tab's first view (summary, chain, block picture, table), summary cached", first_view, "s",
                   goal="< 1 s", met=first_view < 1)

    floor = 0.0
    for name in names:
        module = load_model(name, pretrained=False).module
        x = torch.randn(1, *arch.model_input_size(name))
        with torch.inference_mode():
            start = time.perf_counter()
            module(x)
            floor += time.perf_counter() - start
        del module
    print(f"floor: one bare forward pass per model, {len(names)} models: {floor:.2f} s")

    start = time.perf_counter()
    rows = arch.compare(names)
    total = time.perf_counter() - start
    print(f"compare(all {len(rows)} models), cold MAC cache, latency measured: {total:.2f} s "
          f"= {total / floor:.1f} x floor (goal: under 20 s)")
    record.measure(f"compare() on all {len(rows)} models, latency measured", total, "s", goal="< 20 s", met=total < 20,
                   ratio=total / floor, against=f"one bare forward pass per model, {floor:.2f} s")
    for r in rows:
        print(f"  {r.name:20s} {r.params / 1e6:8.2f} M params {r.macs / 1e9:7.3f} G MACs {r.latency_ms:8.1f} ms")


if __name__ == "__main__":
    main()
