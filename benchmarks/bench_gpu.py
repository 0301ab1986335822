"""The GPU path: the tabs' computations on CUDA, with the ratios the issues ask for.

    .venv/bin/python benchmarks/bench_gpu.py

Runs, on the first CUDA device: the Stages benchmark (default model and ResNet-50), the attribution
benchmark (default model), and a ResNet-50 sweep: forward, stage capture and one Grad-CAM at
batch 1, and forward throughput at batches 1 / 8 / 32, each against a bare forward pass measured
in the same run. Without CUDA it says so and measures nothing.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(fn, repeat: int = 20) -> float:
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def resnet50_sweep() -> None:
    from PIL import Image

    from explorer.attribution import attribute
    from explorer.models import load_model

    model = load_model("resnet50", pretrained=False, device="cuda")
    image = Image.open(ROOT / "assets" / "examples" / "dog.jpg")
    x = model.preprocess(image)
    with torch.inference_mode():
        forward = _median_ms(lambda: model.module(x))
    stages = _median_ms(lambda: model.stages(image))
    gradcam = _median_ms(lambda: attribute(model, image, "gradcam"), repeat=10)
    print(f"ResNet-50 on {torch.cuda.get_device_name()}: forward {forward:.2f} ms; "
          f"stages() {stages:.2f} ms = {stages / forward:.2f}x; gradcam {gradcam:.2f} ms = {gradcam / forward:.2f}x")
    for batch in (1, 8, 32):
        xb = x.repeat(batch, 1, 1, 1)
        with torch.inference_mode():
            ms = _median_ms(lambda: model.module(xb))
        print(f"  batch {batch:>2}: {ms:.2f} ms, {batch / ms * 1000:.0f} images/s")


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (run this on a machine with an NVIDIA GPU)")
        return
    env = dict(os.environ, EXPLORER_DEVICE="cuda")
    for command in (["benchmarks/bench_stages.py", "--device", "cuda", "--rounds", "15"],
                    ["benchmarks/bench_stages.py", "--device", "cuda", "--rounds", "15", "--model", "resnet50"],
                    ["benchmarks/bench_attribution.py", "--device", "cuda", "--repeat", "5"]):
        print("$", " ".join(command), flush=True)
        subprocess.run([sys.executable, *command], cwd=ROOT, env=env, check=False)
    resnet50_sweep()


if __name__ == "__main__":
    main()
