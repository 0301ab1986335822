"""Many users at once: the app launched on localhost (`python app.py` in a child process), driven by
N concurrent gradio_client sessions mixing /slide, /predict, /stages and /attribute.

    .venv/bin/python benchmarks/bench_load.py                 # N = 1, 4, 16
    .venv/bin/python benchmarks/bench_load.py --soak 500      # then 500 more requests: memory, temp files

Loopback only; every phase is bounded in requests and in time. For each N it prints requests per
second, p50 / p95 latency, errors and wrong answers (answers are compared with a single-user run),
and the fair-waiting ratio p95 / (N / requests per second): how long a request waited against the
time it needs when it queues behind the N-1 others (goal: <= 1.25 at N = 16). The floor is the
single user calling back to back, measured in the same run: goal rps(N) / rps(1) >= 1.
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

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
CHAPTER = {"headers": ["1", "2", "3", "4"], "data": [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]}
KERNEL = {"headers": ["1", "2"], "data": [[1, 0], [1, 0]]}


def requests_mix():
    """(label, endpoint, args, what of the answer must equal the single-user answer)."""
    return [
        ("slide", "/slide", (CHAPTER, KERNEL, "conv", "2", "2", "0", "1", 0.0, False), lambda r: r[1:3]),
        ("predict", "/predict", (handle_file(str(EXAMPLES / "espresso.jpg")), "efficientnet_lite0"), _rounded),
        ("stages", "/stages", (handle_file(str(EXAMPLES / "cat.jpg")), "efficientnet_lite0"), lambda r: r[0]),
        ("attribute", "/attribute", (handle_file(str(EXAMPLES / "fish.jpg")), "efficientnet_lite0", "saliency", "", {}),
         lambda r: _rounded(r[1])),
        ("slide", "/slide", (CHAPTER, KERNEL, "max", "2", "1", "1", "1", 0.0, True), lambda r: r[1:3]),
        ("predict", "/predict", (handle_file(str(EXAMPLES / "dog.jpg")), "digits"), _rounded),
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


def run_phase(url: str, users: int, per_user: int, expected: dict, time_limit: float) -> dict:
    mix = requests_mix()
    clients = [Client(url, verbose=False) for _ in range(users)]
    latencies, errors, wrong = [], [], []
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit
    barrier = threading.Barrier(users)

    def user(index: int) -> None:
        client = clients[index]
        barrier.wait()
        for k in range(per_user):
            if time.monotonic() > deadline:
                return
            which = (index + k) % len(mix)
            label, endpoint, args, key = mix[which]
            start = time.perf_counter()
            try:
                answer = key(client.predict(*args, api_name=endpoint))
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if expected and json.dumps(answer, sort_keys=True, default=str) != expected[which]:
                        wrong.append(label)
            except Exception as error:  # a failed request is counted, not fatal
                with lock:
                    errors.append(f"{label}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    done = len(latencies)
    rps = done / wall if wall else 0.0
    return {"users": users, "requests": done, "wall_s": wall, "rps": rps,
            "p50_s": statistics.median(latencies) if latencies else float("nan"),
            "p95_s": latencies[max(0, int(round(0.95 * done)) - 1)] if latencies else float("nan"),
            "errors": errors, "wrong": wrong}


def single_user_answers(url: str) -> dict:
    client = Client(url, verbose=False)
    answers = {}
    for which, (label, endpoint, args, key) in enumerate(requests_mix()):
        answers[which] = json.dumps(key(client.predict(*args, api_name=endpoint)),
                                                               sort_keys=True, default=str)
    return answers


def temp_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1,4,16")
    parser.add_argument("--per-user-requests", type=int, default=0, help="default: 48 requests per phase in all")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase at most")
    parser.add_argument("--soak", type=int, default=0, help="then this many more requests, 4 users")
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
        expected = single_user_answers(url)
        print(f"{'users':>5} {'requests':>8} {'req/s':>7} {'x 1 user':>8} {'p50 s':>7} {'p95 s':>7} "
              f"{'p95/(N/rps)':>11} {'errors':>6} {'wrong':>5}")
        floor = None
        for users in [int(u) for u in args.users.split(",")]:
            per_user = args.per_user_requests or max(1, 48 // users)
            r = run_phase(url, users, per_user, expected, args.time_limit)
            floor = floor or r["rps"]
            fair = r["p95_s"] / (users / r["rps"]) if r["rps"] else float("nan")
            print(f"{users:>5} {r['requests']:>8} {r['rps']:>7.2f} {r['rps'] / floor:>8.2f} {r['p50_s']:>7.2f} "
                  f"{r['p95_s']:>7.2f} {fair:>11.2f} {len(r['errors']):>6} {len(r['wrong']):>5}")
            for line in r["errors"][:5]:
                print("   error:", line[:300])
            if r["wrong"]:
                print("   wrong answers from:", sorted(set(r["wrong"])))
        if args.soak:
            first = run_phase(url, 4, max(1, 50 // 4), expected, args.time_limit * 2)
            rss_50 = memory.memory_info().rss
            rest = run_phase(url, 4, max(1, (args.soak - 50) // 4), expected, args.time_limit * 4)
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
