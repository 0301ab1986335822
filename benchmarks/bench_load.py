"""Many users at once: the app launched on localhost (`python app.py` in a child process), driven by
N concurrent gradio_client sessions mixing /slide, /predict, /stages and /attribute.

    python -m benchmarks.bench_load                 # N = 1, 4, 16; every picture new to the app
    python -m benchmarks.bench_load --repeat        # the example pictures, sent again and again
    python -m benchmarks.bench_load --trust         # every /attribute with its trust check
    python -m benchmarks.bench_load --soak 500      # then 500 more requests: memory, temp files

Loopback only; every phase is bounded in requests and in time. For each N it prints requests per
second, p50 / p95 latency, errors and wrong answers (answers are compared with a single-user run),
per endpoint the median and the longest wait, and the fair-waiting ratio p95 / (N / requests per
second): how long a request waited against the time it needs when it queues behind the N-1 others
(goal: <= 1.25 at N = 16). The floor is the single user calling back to back, measured in the same
run: goal rps(N) / rps(1) >= 1.

By default every picture sent is a file the app has never seen (its bytes differ by a tag in the PNG's
text), so nothing the app keeps from earlier requests answers it; its pixels are one of SLOTS variants
of an example photo (one pixel changed), whose answers the single-user pass computed first, so every
answer is compared exactly. `--repeat` sends the example files themselves, as visitors clicking the
examples do: repeated maps and inspections then come from the app's store of recent results.
The users stand for browsers on other machines, but here they share the app's 2 cores: they run at a
lower priority (nice 10), share one SSL context, and each first connects and goes once through the mix,
untimed (a visitor whose page is open), since 16 gradio_client sessions opening at once would cost the
app CPU that browsers elsewhere would not.
"""
import argparse
import json
import os
import shutil
import socket
import ssl
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
from PIL.PngImagePlugin import PngInfo

from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
CHAPTER = {"headers": ["1", "2", "3", "4"], "data": [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]}
KERNEL = {"headers": ["1", "2"], "data": [[1, 0], [1, 0]]}


class Photos:
    """The example photos as request files: `fresh`, a new file for every request (see the docstring)."""
    SLOTS = 16

    def __init__(self, fresh: bool):
        self.fresh, self.folder = fresh, Path(tempfile.mkdtemp(prefix="explorer-photos-"))
        self.decoded: dict[str, Image.Image] = {}     # each example decoded once, not per request

    def __call__(self, name: str, slot: int, tag: str):
        if not self.fresh:
            return handle_file(str(EXAMPLES / name))
        if name not in self.decoded:
            with Image.open(EXAMPLES / name) as photo:
                self.decoded[name] = photo.convert("RGB")
        photo = self.decoded[name].copy()
        photo.putpixel((slot, 0), (slot * 16 % 256, 7, 7))
        text = PngInfo()
        text.add_text("request", tag)
        path = self.folder / f"{Path(name).stem}-{slot}-{tag}.png"
        photo.save(path, pnginfo=text)
        return handle_file(str(path))


def requests_mix(photos: Photos, trust: bool):
    """(label, endpoint, args(slot, tag) -> the request's arguments, what of the answer must equal the
    single-user answer, whether it sends a photo)."""
    return [
        ("slide", "/slide", lambda slot, tag: (CHAPTER, KERNEL, "conv", "2", "2", "0", "1", 0.0, False),
         lambda r: r[1:3], False),
        ("predict", "/predict", lambda slot, tag: (photos("espresso.jpg", slot, tag), "efficientnet_lite0"),
         _rounded, True),
        ("stages", "/stages", lambda slot, tag: (photos("cat.jpg", slot, tag), "efficientnet_lite0"),
         lambda r: r[0], True),
        ("attribute", "/attribute", lambda slot, tag: (photos("fish.jpg", slot, tag), "efficientnet_lite0",
                                                       "saliency", "", {"trust": trust}),
         lambda r: _rounded(r[1]), True),
        ("slide", "/slide", lambda slot, tag: (CHAPTER, KERNEL, "max", "2", "1", "1", "1", 0.0, True),
         lambda r: r[1:3], False),
        ("predict", "/predict", lambda slot, tag: (photos("dog.jpg", slot, tag), "digits"), _rounded, True),
    ]


def slot_of(photos: Photos, uses_photo: bool, user: int, k: int) -> int:
    return (user * 7 + k) % Photos.SLOTS if photos.fresh and uses_photo else 0


# gradio_client opens a new httpx client for every upload, request and download, and each one builds an
# SSL context (about 10 ms of CPU) even for plain http: one shared context keeps that client-side cost
# off the 2 cores the app is measured on.
SSL_CONTEXT = ssl.create_default_context()


def connect(url: str) -> Client:
    return Client(url, verbose=False, ssl_verify=SSL_CONTEXT)  # httpx takes a context where a bool goes


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


def start_app(temp_dir: str, delete_cache: str | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=temp_dir)
    if delete_cache:
        env["EXPLORER_DELETE_CACHE"] = delete_cache
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
    clients = [connect(url) for _ in range(users)]
    latencies, errors, wrong = [], [], []
    by_label: dict[str, list[float]] = {}
    lock = threading.Lock()
    began = []
    barrier = threading.Barrier(users, action=lambda: began.append(time.perf_counter()))

    def user(index: int) -> None:
        client = clients[index]
        for _, endpoint, args, _, _ in mix:    # untimed: a visitor whose page is open and connected
            try:
                client.predict(*args(0, f"warm-{users}-{index}"), api_name=endpoint)
            except Exception:
                pass
        barrier.wait()
        deadline = began[0] + time_limit
        for k in range(per_user):
            if time.perf_counter() > deadline:
                return
            which = (index + k) % len(mix)
            label, endpoint, args, key, uses_photo = mix[which]
            slot = slot_of(photos, uses_photo, index, k)
            request = args(slot, f"{users}-{index}-{k}-{time.time_ns()}")
            start = time.perf_counter()
            try:
                answer = key(client.predict(*request, api_name=endpoint))
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    by_label.setdefault(label, []).append(elapsed)
                    if expected and json.dumps(answer, sort_keys=True, default=str) != expected[which, slot]:
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
    """{(mix index, slot): the answer}, one user, one request at a time."""
    client = connect(url)
    answers = {}
    for which, (label, endpoint, args, key, uses_photo) in enumerate(requests_mix(photos, trust)):
        for slot in range(Photos.SLOTS if photos.fresh and uses_photo else 1):
            answer = key(client.predict(*args(slot, f"reference-{which}-{slot}"), api_name=endpoint))
            answers[which, slot] = json.dumps(answer, sort_keys=True, default=str)
    return answers


def temp_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1,4,16")
    parser.add_argument("--per-user-requests", type=int, default=0, help="default: 96 requests per phase in all")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase at most")
    parser.add_argument("--soak", type=int, default=0, help="then this many more requests, 4 users")
    parser.add_argument("--delete-cache", default=None, metavar="EVERY,OLDER",
                        help="the app's temporary-file lifetime in seconds (default: its own, 600,1800)")
    parser.add_argument("--repeat", action="store_true", help="send the example files themselves, again and again")
    parser.add_argument("--trust", action="store_true", help="every /attribute adds the trust check (about 4x its cost)")
    args = parser.parse_args()

    temp_dir = tempfile.mkdtemp(prefix="explorer-load-")
    photos = Photos(fresh=not args.repeat)
    started = time.perf_counter()
    process, url = start_app(temp_dir, args.delete_cache)
    os.nice(10)    # the users stand for browsers on other machines: the app gets the CPU first
    record = Record("bench_load", "Many users at once: the app on localhost under load")
    phases = []
    try:
        connect(url).predict(handle_file(str(EXAMPLES / "espresso.jpg")), "efficientnet_lite0", api_name="/predict")
        cold = time.perf_counter() - started
        print(f"cold start: {cold:.1f} s from launching app.py to the first /predict answer")
        record.measure("cold start: launching app.py to the first /predict answer", cold, "s", goal="< 15 s", met=cold < 15)
        memory = psutil.Process(process.pid)
        resident = memory.memory_info().rss
        print(f"resident memory after start: {resident / 2**20:.0f} MiB")
        record.measure("resident memory after start", resident / 2**20, "MiB", goal="< 1.5 GB", met=resident < 1.5 * 2**30)
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
            phases.append([users, r["requests"], r["rps"], r["rps"] / floor, r["p50_s"], r["p95_s"],
                           fair if users > 1 else None, len(r["errors"]), len(r["wrong"])])
            print("      " + ", ".join(f"{label} {statistics.median(v):.2f}/{max(v):.2f} s ({len(v)})"
                                      for label, v in sorted(r["by_label"].items())) + "  (median/max per endpoint)")
            for line in r["errors"][:5]:
                print("   error:", line[:300])
            if r["wrong"]:
                print("   wrong answers from:", sorted(set(r["wrong"])))
        if args.soak:
            counts, rss, soaking = [], [], threading.Event()

            def count_files() -> None:
                while not soaking.wait(1.0):
                    counts.append(temp_files(temp_dir))
                    rss.append(memory.memory_info().rss / 2**20)

            counter = threading.Thread(target=count_files)
            counter.start()
            try:
                first = run_phase(url, 4, max(1, 50 // 4), expected, args.time_limit * 2, photos, args.trust)
                rss_50 = memory.memory_info().rss
                rest = run_phase(url, 4, max(1, (args.soak - 50) // 4), expected, args.time_limit * 4, photos,
                                 args.trust)
                rss_end = memory.memory_info().rss
            finally:
                soaking.set()
                counter.join()
            total = first["requests"] + rest["requests"]
            print(f"soak: {total} requests, errors {len(first['errors']) + len(rest['errors'])}, "
                  f"wrong {len(first['wrong']) + len(rest['wrong'])}; resident memory after 50: "
                  f"{rss_50 / 2**20:.0f} MiB, after {total}: {rss_end / 2**20:.0f} MiB "
                  f"(growth {100 * (rss_end / rss_50 - 1):+.1f}%, goal < 10%)")
            quarters = [counts[min(len(counts) - 1, len(counts) * q // 4)] for q in (1, 2, 3)] if counts else []
            print("resident memory (MiB) at each tenth of the soak: " +
                  " ".join(f"{rss[min(len(rss) - 1, len(rss) * q // 10)]:.0f}" for q in range(1, 11)))
            print(f"files in Gradio's temp dir (delete_cache {args.delete_cache or '600,1800'} s): "
                  f"{' / '.join(map(str, quarters))} at a quarter / half / three quarters of the soak's "
                  f"{len(counts)} s, at most {max(counts, default=0)}, {temp_files(temp_dir)} at its end")
            growth = rss_end / rss_50 - 1
            record.measure(f"soak: resident memory growth from request 50 to {total} (4 users)", 100 * growth, "%",
                           goal="< 10 %", met=growth < 0.1,
                           note=f"{rss_50 / 2**20:.0f} to {rss_end / 2**20:.0f} MiB; errors "
                                f"{len(first['errors']) + len(rest['errors'])}, wrong "
                                f"{len(first['wrong']) + len(rest['wrong'])}; temp files at most {max(counts, default=0)}")
        record.table("users at once (fair waiting: p95 / (N / requests per second), goal <= 1.25 at N = 16)",
                     ["users", "requests", "requests/s", "x one user", "p50 s", "p95 s", "fair waiting", "errors",
                      "wrong answers"], phases)
        record.note("every picture sent is new to the app" if photos.fresh else "the example files, sent again")
        if args.trust:
            record.note("every /attribute with its trust check")
        record.save()
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(photos.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
