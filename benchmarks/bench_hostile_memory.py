"""Peak and kept memory of the most expensive request each tab allows (issue 15), against the app's
memory after start: `python app.py` in a child process, its resident memory sampled every 10 ms
while one request runs, then read again 3 s after it (what the request kept).

    python -m benchmarks.bench_hostile_memory                # this checkout
    python -m benchmarks.bench_hostile_memory --app /path/to/another/checkout --only gif,ig32

Goal (with the default budget): no request raises the peak by more than about 1 GB (explorer.core.budgets
request_memory, plus the model itself the first time it is loaded, which is warmed first here).
Requests run one at a time, each once; each prints +peak and +kept in MB over the memory before it,
and the whole run's peak over the memory after start. Bounded: every request has a time limit.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "assets" / "examples" / "bird.jpg"
PHOTO_MODEL = "efficientnet_lite0"
MB = 1 << 20


def table(rows) -> dict:
    return {"headers": [str(c + 1) for c in range(len(rows[0]))], "data": rows}


def _gif(matrix_side: int, kernel_side: int, padding: int) -> list:
    matrix = [[(r * 7 + c * 3) % 19 - 9 for c in range(matrix_side)] for r in range(matrix_side)]
    kernel = [[(r + c) % 3 - 1 for c in range(kernel_side)] for r in range(kernel_side)]
    return [10, table(matrix), table(kernel), "conv", str(kernel_side), "1", str(padding), "1", 0, False]


PHOTO_ARG = object()
# name: (endpoint, data, what it is)
REQUESTS = {
    "gif": ("kernel_gif", _gif(32, 13, 0), "Kernel: GIF of 400 frames (32x32 matrix, 13x13 kernel): the most frames "
                                          "the budget allows, at the largest table"),
    "ig32": ("attribute", [PHOTO_ARG, PHOTO_MODEL, "integrated_gradients", "", {"n_steps": 32}],
             "Saliency: Integrated Gradients, 32 steps (the default)"),
    "ig128": ("attribute", [PHOTO_ARG, PHOTO_MODEL, "integrated_gradients", "", {"n_steps": 128}],
              "Saliency: Integrated Gradients, 128 steps (the tab's most)"),
    "sg64": ("attribute", [PHOTO_ARG, PHOTO_MODEL, "smoothgrad", "", {"nt_samples": 64}],
             "Saliency: SmoothGrad, 64 noisy copies (the tab's most)"),
    "occlusion": ("attribute", [PHOTO_ARG, PHOTO_MODEL, "occlusion", "", {"window": 8, "stride": 8}],
                  "Saliency: occlusion, window 8 stride 8 (785 passes)"),
    "stages": ("stages", [PHOTO_ARG, "vgg16"], "Stages: every stage of VGG-16"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(app: Path, temp: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=temp, PYTHONPATH=str(app))
    process = subprocess.Popen([sys.executable, "app.py"], cwd=app, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(1)
    process.kill()
    raise RuntimeError("the app did not start within 240 s")


class Sampler:
    """The child's resident memory, sampled every 10 ms in a thread: the peak since reset()."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = self.now()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def now(self) -> int:
        return self.process.memory_info().rss

    def reset(self) -> int:
        self.peak = self.now()
        return self.peak

    def _run(self):
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.01)


def call(url: str, api_name: str, data: list, timeout: float = 900) -> tuple[str, str]:
    started = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=60)
    started.raise_for_status()
    event = started.json()["event_id"]
    kind = None
    with httpx.stream("GET", f"{url}gradio_api/call/{api_name}/{event}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: ") and kind in ("complete", "error"):
                return kind, line[len("data: "):][:200]
    return "none", ""


def upload(url: str) -> dict:
    with PHOTO.open("rb") as body:
        response = httpx.post(f"{url}gradio_api/upload", files=[("files", (PHOTO.name, body))], timeout=60)
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": PHOTO.name}


def settle(sampler: Sampler, seconds: float = 3.0) -> int:
    time.sleep(seconds)
    return sampler.now()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py to run")
    parser.add_argument("--only", default=",".join(REQUESTS), help=f"comma-separated, of {', '.join(REQUESTS)}")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as temp:
        process, url = start_app(args.app.resolve(), temp)
        try:
            sampler = Sampler(process.pid)
            photo = upload(url)
            # warm: the photo model loaded, the kernel tab's renderer, Captum imported
            call(url, "predict", [photo, PHOTO_MODEL])
            call(url, "attribute", [photo, PHOTO_MODEL, "saliency", "", {}])
            if "stages" in names:
                call(url, "predict", [photo, "vgg16"])
            started = settle(sampler, 5)
            print(f"app: {args.app.resolve()}\nmemory after start (warm): {started / MB:.0f} MB")
            print(f"{'request':<12} {'result':<9} {'seconds':>8} {'+peak MB':>9} {'+kept MB':>9}  what")
            overall = started
            record = Record("bench_hostile_memory", "Memory: the most expensive request each tab allows")
            record.measure("memory after start (warm)", started / MB, "MB")
            for name in names:
                endpoint, data, what = REQUESTS[name]
                data = [photo if value is PHOTO_ARG else value for value in data]
                before = sampler.reset()
                t0 = time.perf_counter()
                kind, _ = call(url, endpoint, data)
                seconds = time.perf_counter() - t0
                peak = sampler.peak
                kept = settle(sampler) - before
                overall = max(overall, peak)
                print(f"{name:<12} {kind:<9} {seconds:8.1f} {(peak - before) / MB:9.0f} {kept / MB:9.0f}  {what}")
                record.measure(f"{what}: peak over the memory before it", (peak - before) / MB, "MB",
                               note=f"{kind} in {seconds:.1f} s; kept afterwards {kept / MB:+.0f} MB")
            print(f"whole run: peak {overall / MB:.0f} MB = +{(overall - started) / MB:.0f} MB over the memory "
                  f"after start; now {sampler.now() / MB:.0f} MB")
            record.measure("whole run: peak over the memory after start", (overall - started) / MB, "MB",
                           goal="<= 1024 MB (about 1 GB)", met=overall - started <= 1024 * MB)
            if args.app.resolve() == ROOT:
                record.save()
            sampler.running = False
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
