"""Resident memory of the app over a long visit: every registered model through every tab's computation.

    python -m benchmarks.bench_memory_tour [--budget-mb N] [--rounds N] [--no-trust]

Starts `app.py` in a process of its own (CPU), then, through its HTTP API with gradio_client, for each
model in turn: /predict, /stages, /attribute (Grad-CAM with the Saliency tab's trust check, which
keeps a randomised copy of the model) and /summarize (the Architecture tab). The server's resident set
(psutil) is sampled every 0.1 s. Printed: after start (answering, the default model loaded by one
/predict), the peak, the end, and the end as a ratio of the start measured in the same run.
Goal: at most 3 GB at the end with the default budget (EXPLORER_MODEL_BUDGET_MB); the issue's
28-minute visit ended at 5.66 GB. Models without weights on this machine load untrained: same sizes.
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from benchmarks.record import Record
from explorer.core.architecture import model_input_size
from explorer.core.models import DEFAULT_MODEL, MODEL_NAMES

ROOT = Path(__file__).resolve().parent.parent

PHOTO = ROOT / "assets" / "examples" / "cat.jpg"
GOAL_BYTES = 3 * 2**30
MB = 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(port: int, budget_mb: float | None) -> subprocess.Popen:
    env = dict(os.environ, EXPLORER_DEVICE="cpu", GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    if budget_mb is not None:
        env["EXPLORER_MODEL_BUDGET_MB"] = str(budget_mb)
    return subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_serving(url: str, app: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f"the app exited with status {app.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the app did not answer at {url} within {seconds:.0f} s")


class PeakSampler:
    """The largest resident set of a process, sampled every `every` seconds in a thread."""

    def __init__(self, process: psutil.Process, every: float = 0.1):
        self.process, self.every, self.peak = process, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def tour_one_model(client, name: str, trust: bool) -> None:
    from gradio_client import handle_file

    photo = handle_file(str(PHOTO))
    client.predict(photo, name, api_name="/predict")
    client.predict(photo, name, api_name="/stages")
    client.predict(photo, name, "gradcam", "", {"trust": True} if trust else {}, api_name="/attribute")
    _, height, width = model_input_size(name)
    client.predict(name, height, width, api_name="/summarize")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-mb", type=float, default=None, help="EXPLORER_MODEL_BUDGET_MB for the app")
    parser.add_argument("--rounds", type=int, default=1, help="how many times to tour every model")
    parser.add_argument("--no-trust", action="store_true", help="Grad-CAM without the trust check")
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    app = _start_app(port, args.budget_mb)
    try:
        _wait_until_serving(url, app)
        server = psutil.Process(app.pid)
        client = Client(url, verbose=False)
        client.predict(handle_file(str(PHOTO)), DEFAULT_MODEL, api_name="/predict")
        time.sleep(2)
        start = server.memory_info().rss
        print(f"after start: {start / MB:.0f} MiB (budget {args.budget_mb or 'default'} MB)", flush=True)
        began = time.monotonic()
        with PeakSampler(server) as sampler:
            for round_ in range(args.rounds):
                for name in MODEL_NAMES:
                    tour_one_model(client, name, trust=not args.no_trust)
                    print(f"  round {round_ + 1}, {name:<20} resident {server.memory_info().rss / MB:6.0f} MiB, "
                          f"peak so far {sampler.peak / MB:6.0f} MiB ({time.monotonic() - began:.0f} s)", flush=True)
            time.sleep(2)
        end = server.memory_info().rss
        peak = max(sampler.peak, end)
        print(f"peak: {peak / MB:.0f} MiB ({peak / start:.2f}x the start)")
        print(f"end:  {end / MB:.0f} MiB ({end / start:.2f}x the start); goal at most {GOAL_BYTES / MB:.0f} MiB: "
              f"{'met' if end <= GOAL_BYTES else 'NOT met'}")
        print(f"tour: {len(MODEL_NAMES)} models x {args.rounds} round(s) in {time.monotonic() - began:.0f} s")
        record = Record("bench_memory_tour", "Memory: every model through every tab's computation")
        budget = f"budget {args.budget_mb} MB" if args.budget_mb else "the default budget"
        record.measure("resident memory after start (answering, default model loaded)", start / MB, "MiB")
        record.measure(f"resident memory at the end, {budget}", end / MB, "MiB", goal=f"<= {GOAL_BYTES / MB:.0f} MiB",
                       met=end <= GOAL_BYTES, ratio=end / start, against="the memory after start")
        record.measure("peak resident memory", peak / MB, "MiB", ratio=peak / start, against="the memory after start")
        record.note(f"{len(MODEL_NAMES)} models x {args.rounds} round(s) through /predict, /stages, /attribute "
                    f"(Grad-CAM{'' if args.no_trust else ' with the trust check'}) and /summarize, "
                    f"in {time.monotonic() - began:.0f} s")
        record.save()
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()


if __name__ == "__main__":
    main()
