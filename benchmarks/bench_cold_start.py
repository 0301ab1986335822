"""Cold start: `python app.py` to the first right /predict answer, against its floor in the same run.

    python -m benchmarks.bench_cold_start [--rounds 3]

A free Space sleeps when idle, so a visit after a pause starts cold. The floor is what no app can skip:
a fresh Python importing torch, torchvision, gradio and captum, loading the default model and answering
once (the same photo). The app's time runs from launching `python app.py` to the /predict answer
(gradio_client, connected as soon as the port opens), which must name the floor's top-1 class.
Rounds alternate floor and app, so both see the same machine; the ratio is per round, then the median.
Goal: at most 1.2x the floor.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import Record

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "assets" / "examples" / "panda.jpg"
FLOOR = f"""
import torch, torchvision, gradio, captum
from PIL import Image
from explorer.core.models import get_model
model, _ = get_model()
print(model.predict(Image.open({str(PHOTO)!r}), k=1)[0][0], flush=True)
"""


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False", EXPLORER_DEVICE="cpu", **extra)


def floor_seconds() -> tuple[float, str]:
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", FLOOR], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         check=True)
    return time.perf_counter() - started, run.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the app did not open its port")


def app_seconds(temp_dir: str) -> tuple[float, str]:
    from gradio_client import Client, handle_file

    port = _free_port()
    env = _env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_TEMP_DIR=temp_dir)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        answer = client.predict(handle_file(str(PHOTO)), "efficientnet_lite0", api_name="/predict")
        return time.perf_counter() - started, answer["label"]
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from gradio_client import Client  # imported before timing: the client stands for a browser
    assert Client

    ratios, floors, apps = [], [], []
    with tempfile.TemporaryDirectory() as temp_dir:
        for round_no in range(1, args.rounds + 1):
            floor, expected = floor_seconds()
            app, answer = app_seconds(temp_dir)
            assert answer == expected, f"the app answered {answer!r}, the floor {expected!r}"
            ratios.append(app / floor)
            floors.append(floor)
            apps.append(app)
            print(f"round {round_no}: floor {floor:.2f} s, app to first right /predict {app:.2f} s: "
                  f"{app / floor:.2f}x ({answer})")
    print(f"cold start: median {statistics.median(ratios):.2f}x the floor "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} rounds; goal <= 1.2x)")
    record = Record("bench_cold_start", "Cold start: `python app.py` to the first right answer")
    ratio = statistics.median(ratios)
    record.measure("python app.py to the first right /predict, median", statistics.median(apps), "s",
                   goal="<= 1.2x", met=ratio <= 1.2, ratio=ratio,
                   against=f"a fresh Python importing torch, torchvision, gradio, captum, loading the default model "
                           f"and answering once, median {statistics.median(floors):.2f} s",
                   note=f"ratio {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} rounds")
    record.save()


if __name__ == "__main__":
    main()
