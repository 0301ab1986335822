"""Kernel visitors while webcams stream: what a visitor who only slides a kernel waits when 16 visitors
play the Kernel animation and 4 stream their webcam through the Stages tab's live mode, against the
same visitor on an idle app, measured in the same run (issue 24: within 1.25x).

    python -m benchmarks.bench_live_load [--seconds 30] [--visitors 16] [--streams 4] [--rounds 3]

The app runs as `python app.py` in a child process on localhost. The Kernel animation is drawn in the
browser, so a visitor playing it costs the server one /slide request when a setting changes: each of
the 16 visitors changes a kernel setting every 2 to 4 seconds (REST: POST /gradio_api/call/slide, then
its result). Each stream does what Gradio's front end does for a streaming webcam: it joins the queue
for the live event (explorer.ui.stages_live, fn_index from /config), reads its session's event stream,
and posts a new frame (640x480 JPEG, uploaded once, as recorded frames) to /gradio_api/stream/{event_id}
every STREAM_EVERY seconds; frames the model has no time for replace each other (never queued). Phases,
in this order, repeated --rounds times (so that a change in the machine's other load falls on all three):
one visitor alone on the idle app (the floor), 16 visitors without streams, 16 visitors with the 4 streams. For each: /slide round trips, median and 95th percentile, and the streams' updates
a second. The clients are light (one thread each, mostly asleep) and run at the app's priority: on a
machine shared with other work, a lower one starved them and their own waits counted as the app's.
"""
import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.bench_live import recorded_frames
from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent
MATRIX = {"headers": ["1", "2", "3", "4"], "data": [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]}
KERNELS = [{"headers": ["1", "2"], "data": [[1, 0], [1, 0]]}, {"headers": ["1", "2"], "data": [[0, 1], [-1, 2]]}]
GOAL = 1.25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(temp_dir: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=temp_dir, EXPLORER_MCP="0")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/config", timeout=5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start within 300 s")


def slide_once(http: httpx.Client, k: int) -> float:
    """One settings change: /slide with stride and kernel depending on k; seconds to its result."""
    args = [MATRIX, KERNELS[k % 2], "conv", str(1 + k % 2), "2", str(k % 2), "1", 0.0, False]
    started = time.perf_counter()
    event = http.post("/gradio_api/call/slide", json={"data": args}).json()["event_id"]
    with http.stream("GET", f"/gradio_api/call/slide/{event}") as answer:
        kind = None
        for line in answer.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                if kind == "error":
                    raise RuntimeError(f"/slide failed: {line[:200]}")
                break
    return time.perf_counter() - started


def kernel_visitor(url: str, until: float, waits: list, lock: threading.Lock, seed: int, pause=(2.0, 4.0)) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=120) as http:
        time.sleep(rng.uniform(0, pause[1]))           # visitors do not all start on the same beat
        k = seed
        while time.perf_counter() < until:
            took = slide_once(http, k)
            with lock:
                waits.append(took)
            k += 1
            time.sleep(rng.uniform(*pause))


class Stream:
    """One webcam streaming through the live event, as Gradio's front end does it."""

    def __init__(self, url: str, config: dict, frames: list[str], every: float):
        self.url, self.frames, self.every = url, frames, every
        dep = next(d for d in config["dependencies"] if d.get("api_name") == "stages_live")
        self.fn_index, self.trigger = dep["id"], (dep.get("targets") or [[None]])[0][0]
        values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
        kinds = {c["id"]: c.get("type") for c in config["components"]}
        self.camera = next(i for i in dep["inputs"] if kinds.get(i) == "image")
        self.inputs, self.defaults = dep["inputs"], values
        self.session = uuid.uuid4().hex[:11]
        self.updates, self.errors, self.event_id = 0, [], None

    def _data(self, k: int) -> list:
        frame = {"path": self.frames[k % len(self.frames)], "orig_name": "frame.jpg", "meta": {"_type": "gradio.FileData"}}
        return [frame if i == self.camera else self.defaults.get(i) for i in self.inputs]

    def _body(self, k: int) -> dict:
        return {"data": self._data(k), "fn_index": self.fn_index, "trigger_id": self.trigger,
                "session_hash": self.session, "event_data": None}

    def _listen(self, http: httpx.Client, stop: threading.Event) -> None:
        try:
            with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as events:
                for line in events.iter_lines():
                    if stop.is_set():
                        return
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    if message.get("msg") in ("process_generating", "process_streaming", "process_completed"):
                        if message.get("success", True) and message.get("output", {}).get("data") is not None:
                            self.updates += 1
                        elif message.get("success") is False:
                            self.errors.append(str(message.get("output"))[:200])
                    if message.get("msg") == "close_stream":
                        return
        except httpx.HTTPError as error:
            if not stop.is_set():
                self.errors.append(f"{type(error).__name__}: {error}")

    def run(self, until: float) -> None:
        stop = threading.Event()
        with httpx.Client(base_url=self.url, timeout=120) as http, httpx.Client(base_url=self.url, timeout=None) as sse:
            self.event_id = http.post("/gradio_api/queue/join", json=self._body(0)).json()["event_id"]
            listener = threading.Thread(target=self._listen, args=(sse, stop), daemon=True)
            listener.start()
            k, started = 1, time.perf_counter()
            while time.perf_counter() < until:
                http.post(f"/gradio_api/stream/{self.event_id}", json=self._body(k))
                k += 1
                time.sleep(max(0.0, started + k * self.every - time.perf_counter()))
            stop.set()
            http.post(f"/gradio_api/stream/{self.event_id}/close")
            listener.join(5)


def upload_frames(url: str, count: int = 12) -> list[str]:
    """Recorded webcam frames as JPEGs, uploaded once: the paths the stream's data name."""
    paths = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for k, frame in enumerate(recorded_frames(count)):
            buffer = io.BytesIO()
            frame.save(buffer, "JPEG", quality=85)
            files = {"files": (f"frame{k}.jpg", buffer.getvalue(), "image/jpeg")}
            paths.extend(http.post("/gradio_api/upload", files=files).json())
    return paths


def phase(url: str, seconds: float, visitors: int, streams: list[Stream], pause=(2.0, 4.0)) -> list[float]:
    waits, lock = [], threading.Lock()
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=s.run, args=(until,)) for s in streams]
    threads += [threading.Thread(target=kernel_visitor, args=(url, until, waits, lock, 1000 * len(streams) + i, pause))
                for i in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return waits


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--visitors", type=int, default=16)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases, one after the other")
    args = parser.parse_args()
    from explorer.ui.stages_live import STREAM_EVERY

    load_before = os.getloadavg()[0]
    temp_dir = tempfile.mkdtemp(prefix="explorer-live-load-")
    process, url = start_app(temp_dir)
    try:
        config = httpx.get(f"{url}/config", timeout=30).json()
        frames = upload_frames(url)
        with httpx.Client(base_url=url, timeout=120) as http:   # warm: the first slide, the first frame
            slide_once(http, 0)
        phase(url, 6, 0, [Stream(url, config, frames, STREAM_EVERY)])
        alone, crowd, loaded, streams = [], [], [], []
        for _ in range(args.rounds):        # the phases alternate: a change in the machine's load hits all three
            alone += phase(url, args.seconds, 1, [], pause=(0.3, 0.6))
            crowd += phase(url, args.seconds, args.visitors, [])
            these = [Stream(url, config, frames, STREAM_EVERY) for _ in range(args.streams)]
            loaded += phase(url, args.seconds, args.visitors, these)
            streams += these
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)
    load_after = os.getloadavg()[0]
    record = Record("bench_live_load", "Kernel visitors while webcams stream")
    floor_median, floor_p95 = statistics.median(alone), p95(alone)
    print(f"load average {load_before:.2f} before, {load_after:.2f} after; {args.seconds:.0f} s a phase, "
          f"{args.rounds} rounds")
    print(f"{'phase':<44} {'slides':>6} {'median ms':>9} {'p95 ms':>7} {'x idle median':>13} {'x idle p95':>10}")
    rows = []
    for label, waits in (("1 visitor alone, idle app (the floor)", alone),
                         (f"{args.visitors} kernel visitors, no stream", crowd),
                         (f"{args.visitors} kernel visitors + {args.streams} webcam streams", loaded)):
        median, high = statistics.median(waits), p95(waits)
        print(f"{label:<44} {len(waits):>6} {median * 1e3:>9.0f} {high * 1e3:>7.0f} {median / floor_median:>13.2f} "
              f"{high / floor_p95:>10.2f}")
        rows.append([label, len(waits), median * 1e3, high * 1e3, median / floor_median, high / floor_p95])
    rates = [s.updates / args.seconds for s in streams]        # each Stream object runs one phase
    errors = [e for s in streams for e in s.errors]
    print(f"streams: {', '.join(f'{r:.1f}' for r in rates)} updates/s each ({1 / STREAM_EVERY:.0f} frames/s sent); "
          f"errors {len(errors)}" + (f": {errors[0]}" if errors else ""))
    for what, value, floor, crowd_value in (("median", statistics.median(loaded), floor_median, statistics.median(crowd)),
                                            ("p95", p95(loaded), floor_p95, p95(crowd))):
        ratio = value / floor
        print(f"/slide {what} with the streams: {ratio:.2f}x idle, goal <= {GOAL}x {'ok' if ratio <= GOAL else 'MISSED'}"
              f"; {value / crowd_value:.2f}x the same visitors without the streams")
        record.measure(f"/slide round trip, {what}, {args.visitors} kernel visitors + {args.streams} webcam streams",
                       value * 1e3, "ms", goal=f"<= {GOAL}x", met=ratio <= GOAL, ratio=ratio,
                       against=f"the same visitor alone on the idle app, {what} {floor * 1e3:.0f} ms",
                       note=f"{value / crowd_value:.2f}x the {args.visitors} visitors without streams "
                            f"({crowd_value * 1e3:.0f} ms)")
    record.measure(f"webcam stream updates a second, each of {args.streams}, while the visitors slide",
                   statistics.median(rates) if rates else 0.0, "updates/s",
                   note=f"{', '.join(f'{r:.1f}' for r in rates)}; {1 / STREAM_EVERY:.0f} frames/s sent; errors {len(errors)}")
    record.table("/slide round trips by phase", ["phase", "slides", "median ms", "p95 ms", "x idle median",
                                                 "x idle p95"], rows)
    record.note(f"{args.seconds:.0f} s a phase, {args.rounds} rounds of the three phases in turn; load average {load_before:.2f} before, {load_after:.2f} after")
    record.save()


if __name__ == "__main__":
    main()
