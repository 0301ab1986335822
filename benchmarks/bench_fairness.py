"""Fair to every visitor (issue 25): small requests beside heavy ones, a flooding client, gradients while
MACs are counted, and an upload flood, against the app started as `python app.py` on localhost.

    python -m benchmarks.bench_fairness                       # every phase (about 3 to 5 minutes)
    python -m benchmarks.bench_fairness --app-root /work/main --idle-only   # another checkout's idle floor

Phases, each bounded in requests and in time:
1. idle: /slide of the chapter's 4x4 matrix and a digit /predict, one after another: the floor;
2. six heavy: six clients each ask one Integrated Gradients map (EfficientNet-Lite0, 32 steps) while
   a seventh keeps asking /slide and digit /predict; their p95 wait against the idle p95 (goal: within
   1.5x of idle plus one chunk, and under 3 s);
3. flood: one client asks 20 heavy maps at once; the app keeps one running and one waiting and answers
   the others at once, in words, while another client's small and heavy requests are served;
4. gradients during MAC counts: /attribute (saliency: a gradient) in two clients while two others ask
   /summarize and /compare, which count multiply-accumulates;
5. upload flood: one address (as the Space's proxy gives it, X-Forwarded-For) uploads 40 files of
   19 MB; the cache must stay within the upload budgets.
Across all: failures without a message (goal: none).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from gradio_client import Client, handle_file

from benchmarks.bench_load import CHAPTER, KERNEL, _free_port
from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "assets" / "examples" / "fish.jpg"
DIGIT = ROOT / "assets" / "examples" / "dog.jpg"
SLIDE = (CHAPTER, KERNEL, "conv", "2", "2", "0", "1", 0.0, False)
HEAVY = ("efficientnet_lite0", "integrated_gradients", "", {"n_steps": 32})
UPLOAD_MB, UPLOADS = 19, 40


def start_app(app_root: Path, temp_dir: str) -> tuple:
    import subprocess

    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=temp_dir, EXPLORER_MCP="0")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=app_root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start within 180 s")


class Outcomes:
    """Every answer of a phase: its time, or its refusal's words, or a failure without a message."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.refused: list[str] = []
        self.silent: list[str] = []

    def call(self, client: Client, label: str, *args, api_name: str):
        start = time.perf_counter()
        try:
            result = client.predict(*args, api_name=api_name)
        except Exception as error:          # noqa: BLE001 - every failure is sorted, none is lost
            text = str(error).strip()
            with self.lock:
                if not text or "verbose error reporting" in text or text == "None":
                    self.silent.append(f"{label}: {type(error).__name__}")
                else:
                    self.refused.append(f"{label}: {text[:120]}")
            return None
        with self.lock:
            self.times.setdefault(label, []).append(time.perf_counter() - start)
        return result


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def small_requests(client: Client, outcomes: Outcomes, stop: threading.Event, most: int) -> None:
    digit = handle_file(str(DIGIT))
    for k in range(most):
        if stop.is_set():
            return
        outcomes.call(client, "slide", *SLIDE, api_name="/slide")
        outcomes.call(client, "digit predict", digit, "digits", api_name="/predict")


def idle(url: str, rounds: int) -> Outcomes:
    client, outcomes = Client(url, verbose=False), Outcomes()
    small_requests(client, Outcomes(), threading.Event(), 2)          # warm: models loaded, routes opened
    small_requests(client, outcomes, threading.Event(), rounds)
    return outcomes


def six_heavy(url: str) -> tuple[Outcomes, Outcomes, float]:
    heavy, small, stop = Outcomes(), Outcomes(), threading.Event()
    clients = [Client(url, verbose=False) for _ in range(6)]
    photo = handle_file(str(PHOTO))
    heavy.call(clients[0], "warm heavy", photo, *HEAVY[:2], "", {"n_steps": 2}, api_name="/attribute")
    watcher = threading.Thread(target=small_requests, args=(Client(url, verbose=False), small, stop, 200))
    start = time.perf_counter()
    workers = [threading.Thread(target=heavy.call, args=(c, "heavy", photo, *HEAVY), kwargs={"api_name": "/attribute"})
               for c in clients]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    watcher.start()
    for worker in workers:
        worker.join(timeout=400)
    stop.set()
    watcher.join(timeout=60)
    return heavy, small, time.perf_counter() - start


def flood(url: str) -> tuple[Outcomes, Outcomes]:
    mine, others = Outcomes(), Outcomes()
    flooder, other = Client(url, verbose=False), Client(url, verbose=False)
    photo = handle_file(str(PHOTO))
    jobs = [flooder.submit(photo, *HEAVY[:2], "", {"n_steps": 8}, api_name="/attribute") for _ in range(20)]
    time.sleep(1.0)
    other_heavy = threading.Thread(target=others.call, args=(other, "other heavy", photo, *HEAVY[:2], "",
                                                             {"n_steps": 8}), kwargs={"api_name": "/attribute"})
    other_heavy.start()
    small_requests(Client(url, verbose=False), others, threading.Event(), 5)
    for job in jobs:
        try:
            job.result(timeout=300)
            mine.times.setdefault("flood", []).append(0.0)
        except Exception as error:      # noqa: BLE001
            text = str(error).strip()
            (mine.refused if text and "verbose error reporting" not in text else mine.silent).append(text[:120])
    other_heavy.join(timeout=300)
    return mine, others


def gradients_during_mac_counts(url: str, rounds: int) -> Outcomes:
    outcomes, photo = Outcomes(), handle_file(str(PHOTO))

    def gradients():
        client = Client(url, verbose=False)
        for _ in range(rounds):
            outcomes.call(client, "saliency", photo, "resnet18", "saliency", "", {}, api_name="/attribute")

    def counts():
        client = Client(url, verbose=False)
        for k in range(rounds):
            outcomes.call(client, "summarize", ("resnet18", "alexnet", "vgg16")[k % 3], 224, 224,
                          api_name="/summarize")
            outcomes.call(client, "compare", ["resnet18", "squeezenet1_1"], api_name="/compare")

    threads = [threading.Thread(target=f) for f in (gradients, gradients, counts, counts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=400)
    return outcomes


def upload_flood(url: str, temp_dir: str) -> tuple[int, int, list[str], float]:
    data = os.urandom(UPLOAD_MB << 20)
    kept, refused, reasons = 0, 0, []
    with httpx.Client(timeout=120) as http:
        for k in range(UPLOADS):
            answer = http.post(f"{url}gradio_api/upload", files={"files": (f"big{k}.png", data)},
                               headers={"x-forwarded-for": "203.0.113.9"})
            if answer.status_code == 200:
                kept += 1
            else:
                refused += 1
                reasons.append(answer.text[:120])
    return kept, refused, reasons, folder_mb(temp_dir)


def folder_mb(folder: str) -> float:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


def _ratio(a: float, b: float) -> float | None:
    return a / b if b and b == b and a == a else None


def record_idle(record: Record, floor: Outcomes) -> dict[str, float]:
    floors = {}
    for label in ("slide", "digit predict"):
        times = floor.times.get(label, [])
        floors[label] = p95(times)
        median = statistics.median(times) if times else float("nan")
        record.measure(f"idle app: {label} p95", floors[label] * 1000, "ms", note=f"the floor; median {median * 1000:.0f} ms")
        print(f"idle: {label} p95 {floors[label] * 1000:.0f} ms, median {median * 1000:.0f} ms ({len(times)} requests)")
    return floors


def record_six_heavy(record: Record, floors: dict, heavy: Outcomes, small: Outcomes, seconds: float) -> None:
    chunk = (statistics.median(heavy.times["heavy"]) / 6 if heavy.times.get("heavy") else 0.0)   # 32 steps in ~6 chunks
    for label in ("slide", "digit predict"):
        wait = p95(small.times.get(label, []))
        goal = min(3.0, 1.5 * floors[label] + chunk)
        record.measure(f"six heavy maps running: {label} p95", wait * 1000, "ms",
                       goal=f"< {goal * 1000:,.0f} ms (1.5x idle + one chunk, under 3 s)", met=wait < goal,
                       ratio=_ratio(wait, floors[label]), against="the idle app's p95",
                       note=f"{len(small.times.get(label, []))} requests")
        print(f"six heavy: {label} p95 {wait * 1000:.0f} ms = {_ratio(wait, floors[label]) or 0:.2f}x idle "
              f"(goal < {goal * 1000:.0f} ms)")
    done = len(heavy.times.get("heavy", []))
    record.measure("six heavy maps: finished", done, "maps", goal="6", met=done == 6,
                   note=f"in {seconds:.0f} s, each {statistics.median(heavy.times.get('heavy', [0])):.1f} s median")
    print(f"six heavy: {done} of 6 maps in {seconds:.0f} s; refused {heavy.refused[:2]}")


def record_flood(record: Record, mine: Outcomes, others: Outcomes) -> None:
    ran, refused = len(mine.times.get("flood", [])), len(mine.refused)
    worded = sum("already have" in r for r in mine.refused)
    record.measure("one client asks 20 heavy maps: run", ran, "maps", goal="2 (one running, one waiting)",
                   met=ran == 2, note=f"{refused} refused, {worded} of them in words naming the share")
    served = len(others.times.get("other heavy", [])) + len(others.times.get("slide", []))
    record.measure("meanwhile another client: served", served, "requests", goal="6 (its heavy map and 5 slides)",
                   met=served == 6)
    print(f"flood: {ran} run, {refused} refused ({worded} in words); the other client served {served} of 6")


def record_macs(record: Record, outcomes: Outcomes) -> None:
    ran = sum(len(v) for v in outcomes.times.values())
    record.measure("gradients while MACs are counted: failed", len(outcomes.silent) + len(outcomes.refused),
                   "requests", goal="0", met=not outcomes.silent and not outcomes.refused,
                   note=f"{ran} answered: {', '.join(f'{k} {len(v)}' for k, v in sorted(outcomes.times.items()))}")
    print(f"gradients during MAC counts: {ran} answered, failures {outcomes.refused[:2] + outcomes.silent[:2]}")


def record_uploads(record: Record, kept: int, refused: int, reasons: list[str], cache_mb: float) -> None:
    budget = int(os.environ.get("EXPLORER_UPLOAD_VISITOR_MB", "100"))
    record.measure(f"{UPLOADS} uploads of {UPLOAD_MB} MB from one address: kept", kept, "files",
                   note=f"{refused} refused: {reasons[0] if reasons else ''}")
    record.measure("Gradio's cache after the upload flood", cache_mb, "MB", goal=f"< {budget} MB per visitor + "
                   "the other phases' files", met=cache_mb < budget + 60)
    print(f"uploads: {kept} kept, {refused} refused ({reasons[:1]}); cache {cache_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-root", type=Path, default=ROOT, help="the checkout whose app.py is started")
    parser.add_argument("--idle-only", action="store_true", help="only the idle floor (e.g. of another checkout)")
    parser.add_argument("--rounds", type=int, default=10, help="idle requests of each kind (default 10)")
    args = parser.parse_args()
    temp_dir = tempfile.mkdtemp(prefix="explorer-fairness-")
    process, url = start_app(args.app_root, temp_dir)
    record = Record("bench_fairness", "Fair to every visitor: small requests beside heavy ones, shares, uploads")
    try:
        floors = record_idle(record, idle(url, args.rounds))
        if args.idle_only:
            return
        heavy, small, seconds = six_heavy(url)
        record_six_heavy(record, floors, heavy, small, seconds)
        mine, others = flood(url)
        record_flood(record, mine, others)
        macs = gradients_during_mac_counts(url, 4)
        record_macs(record, macs)
        record_uploads(record, *upload_flood(url, temp_dir))
        silent = heavy.silent + small.silent + mine.silent + others.silent + macs.silent
        record.measure("failures without a message, all phases", len(silent), "requests", goal="0", met=not silent)
        print(f"failures without a message: {len(silent)} {silent[:3]}")
        record.note("All clients on loopback, on the app's own 2 cores; the upload flood sends X-Forwarded-For "
                    "as the Space's proxy does. Heavy map: Integrated Gradients, EfficientNet-Lite0, 32 steps.")
        record.save()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except Exception:       # noqa: BLE001
            process.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
