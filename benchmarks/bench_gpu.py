"""The GPU path against the CPU, in one run: what a visitor waits for on each.

    python -m benchmarks.bench_gpu [--model efficientnet_lite0] [--device cuda]

For the default model on one photo, the median time on the CPU and on the device, and their ratio
(device / CPU: below 1 is faster), for: the stage sweep (`model.inspect`: the prediction and every
Conv and Pool stage), each attribution method at the app's default settings, and one feature
visualisation (48 steps); then the peak CUDA memory of the whole run. Without CUDA it says so and
measures nothing (`--device cpu` runs the same script CPU against CPU, to check the script itself).
"""
import argparse
import statistics
import time
from pathlib import Path

import torch

from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent

METHODS = ("saliency", "integrated_gradients", "smoothgrad", "gradcam", "guided_gradcam", "occlusion")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn, device: torch.device, repeat: int) -> float:
    fn()                                   # warm-up: cuDNN picks its algorithms, caches fill
    _sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def jobs(model, image):
    from explorer.core import attribution as at
    from explorer.core import features

    valid = at.methods_for(model)
    yield "stage sweep (inspect)", lambda: model.inspect(image), 5
    for method in METHODS:
        if method in valid:
            yield f"attribution: {method}", lambda m=method: at.attribute(model, image, m), 3 if method != "occlusion" else 1
    yield "feature visualisation, 48 steps", lambda: features.visualize(model, 5, 0, steps=48, seed=1), 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (run this on a machine with an NVIDIA GPU)")
        return
    from PIL import Image

    from explorer.core import features
    from explorer.core.models import load_model

    image = Image.open(ROOT / "assets" / "examples" / "dog.jpg").convert("RGB")
    cpu, dev = load_model(args.model, device="cpu"), load_model(args.model, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, model {args.model}")
    record = Record("bench_gpu", f"On a GPU: {args.model} on {args.device} against the CPU")
    print(f"{'computation':<36} {'CPU s':>8} {args.device + ' s':>9} {'ratio':>7}")
    for (name, on_cpu, repeat), (_, on_dev, _) in zip(jobs(cpu, image), jobs(dev, image)):
        features.RESULTS.clear()
        seconds_cpu = median_seconds(lambda: (features.RESULTS.clear(), on_cpu()), torch.device("cpu"), repeat)
        seconds_dev = median_seconds(lambda: (features.RESULTS.clear(), on_dev()), device, repeat)
        print(f"{name:<36} {seconds_cpu:>8.3f} {seconds_dev:>9.3f} {seconds_dev / seconds_cpu:>6.3f}x", flush=True)
        record.measure(f"{name} on {args.device}", seconds_dev, "s", ratio=seconds_dev / seconds_cpu,
                       against=f"the same on the CPU, {seconds_cpu:.3f} s")
    if device.type == "cuda":
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB allocated, "
              f"{torch.cuda.max_memory_reserved(device) / 2**20:.0f} MiB reserved")
        record.measure("peak CUDA memory allocated over the run", torch.cuda.max_memory_allocated(device) / 2**20, "MiB",
                       note=f"{torch.cuda.max_memory_reserved(device) / 2**20:.0f} MiB reserved")
    if device.type == "cuda":
        record.save()


if __name__ == "__main__":
    main()
