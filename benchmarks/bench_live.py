"""Live work: the Stages tab's webcam frames through the default model, and the Kernel tab's player data.

Stages live: recorded frames (a 640x480 moving pattern, as a webcam sends) go through the very handler
the stream calls (explorer.ui.stages_live.on_live_frame), and what it returns is encoded as Gradio
sends it (PNG maps, JPEG overlay). Updates a second = 1 / the median time per frame. Goal (issue 24):
at least 5 a second for the default model on this machine. The floor it is compared with: the bare
forward pass of the same model in inference mode on the same frame.

Kernel player: the JSON a settings change sends (once; playing sends nothing): its size and the time
to make it, for the default preset and for the largest animation the tab accepts.

    python -m benchmarks.bench_live
"""
import io
import time

import numpy as np
import torch
from PIL import Image

from benchmarks.record import Record
from explorer.core.models import DEFAULT_MODEL, get_model
from explorer.core.slide_data import slide_json
from explorer.core.sliding import slide
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX
from explorer.ui.stages_live import STREAM_EVERY, on_live_frame

FRAMES = 30


def recorded_frames(n: int = FRAMES) -> list[Image.Image]:
    """n frames of a bright disc moving over stripes, 640x480: what a webcam sends, never twice the same."""
    yy, xx = np.mgrid[0:480, 0:640]
    frames = []
    for t in range(n):
        cx, cy = 320 + 200 * np.cos(t / 5), 240 + 120 * np.sin(t / 5)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < 80 ** 2)
        stripes = (((xx + 7 * t) // 24) % 2) * 90
        rgb = np.stack([stripes + disc * 160, 60 + disc * 120, 140 - disc * 100], axis=-1).clip(0, 255)
        frames.append(Image.fromarray(rgb.astype(np.uint8)))
    return frames


def sent(views: dict) -> int:
    """Encode what the stream returns as Gradio does (PNG maps, JPEG overlay); the bytes sent."""
    total = 0
    for name, fmt in (("grid", "PNG"), ("large", "PNG"), ("overlay", "JPEG")):
        buf = io.BytesIO()
        views[name].save(buf, fmt)
        total += buf.tell()
    return total


def main() -> None:
    record = Record("bench_live", "Live: webcam frames through a stage, and the Kernel player's data")
    frames = recorded_frames()
    model, _ = get_model(DEFAULT_MODEL)
    values = dict(model=DEFAULT_MODEL, stage=1, count="16", scale="shared", shown_channel=None)
    on_live_frame({**values, "live": frames[0]})                        # warm-up
    live, bare = [], []
    for stage in (1, 10):                                               # an early (large) and a middle stage
        for frame in frames:
            t = time.perf_counter()
            sent(on_live_frame({**values, "stage": stage, "live": frame}))
            live.append(time.perf_counter() - t)
            x = model.preprocess(frame)
            t = time.perf_counter()
            with torch.inference_mode():
                model.module(x)
            bare.append(time.perf_counter() - t)
    per = float(np.median(live))
    rate = 1 / per
    print(f"Stages live, {DEFAULT_MODEL}: {per * 1e3:.0f} ms a frame (median of {len(live)}), "
          f"{rate:.1f} updates/s (goal >= {1 / STREAM_EVERY:.0f})")
    floor = float(np.median(bare))
    record.measure(f"Stages live: one webcam frame through {DEFAULT_MODEL}, encoded", per * 1e3, "ms",
                   goal=f"<= {STREAM_EVERY * 1e3:.0f} ms (>= {1 / STREAM_EVERY:.0f} updates/s)",
                   met=per <= STREAM_EVERY, ratio=per / floor,
                   against=f"the bare forward in inference mode, {floor * 1e3:.0f} ms",
                   note=f"{rate:.1f} updates/s; median of {len(live)} frames (stages 1 and 10)")
    for name, s in (("default preset (4x4, 2x2 kernel, stride 2)", slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2)),
                    ("largest (32x32, 3x3 kernel, padding 16)",
                     slide(np.random.default_rng(0).integers(0, 256, (32, 32)), np.ones((3, 3)), padding=16))):
        t = time.perf_counter()
        text = slide_json(s)
        took = time.perf_counter() - t
        print(f"Kernel player data, {name}: {len(text) / 1024:.1f} KiB, {took * 1e3:.1f} ms, {len(s.steps)} steps")
        record.measure(f"Kernel player data, {name}", len(text) / 1024, "KiB",
                       note=f"{len(s.steps)} steps, made in {took * 1e3:.1f} ms; sent once per settings, "
                            "nothing while it plays")
    record.save()


if __name__ == "__main__":
    main()
