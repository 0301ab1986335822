"""Many users at once: the app launched on localhost (`python app.py` in a child process), driven by
N concurrent gradio_client sessions mixing /slide, /predict, /stages and /attribute.

    .venv/bin/python benchmarks/bench_load.py                 # N = 1, 4, 16
    .venv/bin/python benchmarks/bench_load.py --soak 500      # then 500 more requests: memory, temp files

Loopback only; every phase is bounded in requests and in time. For each N it prints requests per
second, p50 / p95 latency, errors and wrong answers (answers are compared with a single-user run),
per endpoint the median and the longest wait,
and the fair-waiting ratio p95 / (N / requests per second): how long a request waited against the
time it needs when it queues behind the N-1 others (goal: <= 1.25 at N = 16). The floor is the
single user calling back to back, measured in the same run: goal rps(N) / rps(1) >= 1.

Each user first connects and goes once through the mix, untimed (a visitor whose page is open): 16
gradio_client sessions opening at once cost this 2-core machine's CPU, which browsers elsewhere would not.
The mix repeats four pictures, as visitors clicking the examples do: repeated maps come from the app's
store of recent results. `--fresh` gives every model request a picture never seen before (the example
with one pixel changed), so every map is computed. `--trust`: every /attribute adds the trust check,
about 4x the cost of the map; a FIFO queue then makes whoever queues behind several of them wait longer
than 16 average requests (see the README).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from gradio_client import Client, handle_file
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
CHAPTER = {"headers": ["1", "2", "3", "4"], "data": [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]}
KERNEL = {"headers": ["1", "2"], "data": [[1, 0], [1, 0]]}


class Photos:
    """The example photos as request files; fresh=True: each call gives a copy never sent before (one
    pixel changed), so nothing the app keeps from earlier requests can answer it."""

    def __init__(self, fresh: bool = False):
        self.fresh, self.folder, self.count, self.lock = fresh, Path(tempfile.mkdtemp(prefix="photos-")), 0, threading.Lock()

    def __call__(self, name: str):
        if not self.fresh:
            return handle_file(str(EXAMPLES / name))
        with self.lock:
            self.count += 1
            count = self.count
        with Image.open(EXAMPLES / name) as photo:
            photo = photo.convert("RGB")
        photo.putpixel((count % photo.width, count // photo.width % photo.height), (count % 256, 7, 7))
        path = self.folder / f"{count}-{Path(name).stem}.png"
        photo.save(path)
        return handle_file(str(path))


def requests_mix(photos: Photos, trust: bool = False):
    """(label, endpoint, args() -> the request's arguments, what of the answer must equal the single-user
    answer). With fresh photos only the classes are compared (a changed pixel may move the 4th digit)."""
    fresh = photos.fresh
    top = (lambda r: r["label"]) if fresh else _rounded
    explained = (lambda r: [r[1]["target"], r[1]["label"]]) if fresh else (lambda r: _rounded(r[1]))
    return [
        ("slide", "/slide", lambda: (CHAPTER, KERNEL, "conv", "2", "2", "0", "1", 0.0, False), lambda r: r[1:3]),
        ("predict", "/predict", lambda: (photos("espresso.jpg"), "efficientnet_lite0"), top),
        ("stages", "/stages", lambda: (photos("cat.jpg"), "efficientnet_lite0"), lambda r: r[0]),
        ("attribute", "/attribute", lambda: (photos("fish.jpg"), "efficientnet_lite0", "saliency", "", {"trust": trust}),
         explained),
        ("slide", "/slide", lambda: (CHAPTER, KERNEL, "max", "2", "1", "1", "1", 0.0, True), lambda r: r[1:3]),
        ("predict", "/predict", lambda: (photos("dog.jpg"), "digits"), top),
    ]


def _rounded(value):
    """Numbers to 4 significant digits: concurrent runs may differ in the last float bits."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(temp_dir: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=temp_dir)
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app did not start within 120 s")


def run_phase(url: str, users: int, per_user: int, expected: dict, time_limit: float, photos: Photos,
              trust: bool) -> dict:
    mix = requests_mix(photos, trust)
    clients = [Client(url, verbose=False) for _ in range(users)]
    latencies, errors, wrong = [], [], []
    by_label: dict[str, list[float]] = {}
    lock = threading.Lock()
    began = []
    barrier = threading.Barrier(users, action=lambda: began.append(time.perf_counter()))

    def user(index: int) -> None:
        client = clients[index]
        for _, endpoint, args, _ in mix:    # untimed: a visitor whose page is open and connected
            try:
                client.predict(*args(), api_name=endpoint)
            except Exception:
                pass
        barrier.wait()
        deadline = began[0] + time_limit
        for k in range(per_user):
            if time.perf_counter() > deadline:
                return
            which = (index + k) % len(mix)
            label, endpoint, args, key = mix[which]
            request = args()
            start = time.perf_counter()
            try:
                answer = key(client.predict(*request, api_name=endpoint))
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    by_label.setdefault(label, []).append(elapsed)
                    if expected and json.dumps(answer, sort_keys=True, default=str) != expected[which]:
                        wrong.append(label)
            except Exception as error:  # a failed request is counted, not fatal
                with lock:
                    errors.append(f"{label}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began[0]
    latencies.sort()
    done = len(latencies)
    rps = done / wall if wall else 0.0
    return {"users": users, "requests": done, "wall_s": wall, "rps": rps,
            "p50_s": statistics.median(latencies) if latencies else float("nan"),
            "p95_s": latencies[max(0, int(round(0.95 * done)) - 1)] if latencies else float("nan"),
            "errors": errors, "wrong": wrong, "by_label": by_label}


def single_user_answers(url: str, photos: Photos, trust: bool) -> dict:
    client = Client(url, verbose=False)
    answers = {}
    for which, (label, endpoint, args, key) in enumerate(requests_mix(photos, trust)):
        answers[which] = json.dumps(key(client.predict(*args(), api_name=endpoint)),
                                                               sort_keys=True, default=str)
    return answers


def temp_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1,4,16")
    parser.add_argument("--per-user-requests", type=int, default=0, help="default: 96 requests per phase in all")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase at most")
    parser.add_argument("--soak", type=int, default=0, help="then this many more requests, 4 users")
    parser.add_argument("--fresh", action="store_true", help="every model request sends a picture never seen before")
    parser.add_argument("--trust", action="store_true", help="every /attribute adds the trust check (about 4x its cost)")
    args = parser.parse_args()

    temp_dir = tempfile.mkdtemp(prefix="explorer-load-")
    started = time.perf_counter()
    process, url = start_app(temp_dir)
    try:
        Client(url, verbose=False).predict(handle_file(str(EXAMPLES / "espresso.jpg")), "efficientnet_lite0",
                                           api_name="/predict")
        print(f"cold start: {time.perf_counter() - started:.1f} s from launching app.py to the first /predict answer")
        memory = psutil.Process(process.pid)
        print(f"resident memory after start: {memory.memory_info().rss / 2**20:.0f} MiB")
        photos = Photos(fresh=args.fresh)
        expected = single_user_answers(url, photos, args.trust)
        print(f"{'users':>5} {'requests':>8} {'req/s':>7} {'x 1 user':>8} {'p50 s':>7} {'p95 s':>7} "
              f"{'p95/(N/rps)':>11} {'errors':>6} {'wrong':>5}")
        floor = None
        for users in [int(u) for u in args.users.split(",")]:
            per_user = args.per_user_requests or max(1, 96 // users)
            r = run_phase(url, users, per_user, expected, args.time_limit, photos, args.trust)
            floor = floor or r["rps"]
            fair = r["p95_s"] / (users / r["rps"]) if r["rps"] else float("nan")
            print(f"{users:>5} {r['requests']:>8} {r['rps']:>7.2f} {r['rps'] / floor:>8.2f} {r['p50_s']:>7.2f} "
                  f"{r['p95_s']:>7.2f} {fair:>11.2f} {len(r['errors']):>6} {len(r['wrong']):>5}")
            print("      " + ", ".join(f"{label} {statistics.median(v):.2f}/{max(v):.2f} s ({len(v)})"
                                      for label, v in sorted(r["by_label"].items())) + "  (median/max per endpoint)")
            for line in r["errors"][:5]:
                print("   error:", line[:300])
            if r["wrong"]:
                print("   wrong answers from:", sorted(set(r["wrong"])))
        if args.soak:
            first = run_phase(url, 4, max(1, 50 // 4), expected, args.time_limit * 2, photos, args.trust)
            rss_50 = memory.memory_info().rss
            rest = run_phase(url, 4, max(1, (args.soak - 50) // 4), expected, args.time_limit * 4, photos, args.trust)
            rss_end = memory.memory_info().rss
            total = first["requests"] + rest["requests"]
            print(f"soak: {total} requests, errors {len(first['errors']) + len(rest['errors'])}, "
                  f"wrong {len(first['wrong']) + len(rest['wrong'])}; resident memory after 50: "
                  f"{rss_50 / 2**20:.0f} MiB, after {total}: {rss_end / 2**20:.0f} MiB "
                  f"(growth {100 * (rss_end / rss_50 - 1):+.1f}%, goal < 10%); files in Gradio's temp dir: "
                  f"{temp_files(temp_dir)}")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
