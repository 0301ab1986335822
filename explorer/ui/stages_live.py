"""The Stages tab's live mode: the webcam streamed through the model, the current stage's maps, the
enlarged channel and the top-5 redrawn from every frame the server has time for.

Frames are dropped, never queued: while a frame is computed, the browser posts the next ones to the
running event (Gradio 6.31's /stream/{event_id} sets `event.data = body`, so each replaces the one
before), and the model takes only the newest when it is free. The streams share a queue of their own
(`LIVE_QUEUE`), not the model queue: a visitor sliding a kernel never waits behind a webcam. A stream
holds its worker for as long as it runs, so up to LIVE_STREAMS visitors stream at once (with one, a
second visitor waited for the first one's whole minute); their passes take the model one at a time
(its lock), and each frame first lets the kernel visitors' running requests finish (cost.give_way):
benchmarks/bench_live_load.py measures a kernel visitor's wait while webcams stream.
(trigger_mode="always_last" must not be set: with it Gradio's front end sends one frame and stops.) Each visitor streams for at most LIVE_SECONDS at a time (`time_limit`). "Keep this frame"
puts the last frame into the picture box: the tab then works on it as on any photo."""
from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
from gradio import processing_utils
from PIL import Image

from explorer.core.background import in_background
from explorer.core.cost import give_way
from explorer.core.words import say
from explorer.ui.by_name import event
from explorer.ui.predictions import as_label
from explorer.ui.stages_inspections import live_inspection, stage_index
from explorer.ui.stages_views import stage_views
from explorer.ui.words import t

STREAM_EVERY = 0.2          # seconds between the frames the browser sends (5 a second)
LIVE_SECONDS = 60           # a visitor's stream stops after this long; Record again to go on
LIVE_STREAMS = 8           # visitors streaming at once: a stream holds its worker for as long as it runs
LIVE_QUEUE = dict(concurrency_id="stages_live", concurrency_limit=LIVE_STREAMS)
# what a live frame redraws (of StagesTab's names), and the frame kept for "Keep this frame"
LIVE_VIEWS = ("label", "stage_md", "grid", "channel", "large", "overlay", "channel_md", "shown_channel",
              "shown_stage")
LIVE_PICTURES = ("grid", "large", "overlay")          # the picture boxes among them


# Opening Live puts the camera at the top of the picture column, beside the maps (under them on a phone:
# explorer.ui.stages_tab's STYLE); the box the visitor clicked is brought to the top of the screen, with the
# maps beside or below it.
LIVE_JS = """() => {
  requestAnimationFrame(() => document.querySelector("#stages-live-box")?.scrollIntoView({block: "start"}));
  return [];
}"""


@dataclass
class LiveRow:
    box: gr.Accordion
    camera: gr.Image
    last: gr.State              # the last frame computed: what "Keep this frame" keeps
    keep: gr.Button
    status: gr.Markdown


def live_layout() -> LiveRow:
    """The live webcam in a closed accordion (asking for the camera only when opened)."""
    with gr.Accordion(t("Live: stream your webcam through this stage", "实时：把摄像头画面送进这个阶段"), open=False,
                      elem_id="stages-live-box") as box:
        camera = gr.Image(sources=["webcam"], streaming=True, type="pil", label=t("Webcam (live)", "摄像头（实时）"),
                          height=200, elem_id="stages-live", webcam_options=gr.WebcamOptions(mirror=True))
        rate = f"{1 / STREAM_EVERY:.0f}"
        status = gr.Markdown(t(f"Press the record button: the maps follow the camera, about {rate} times a second, "
                               f"for {LIVE_SECONDS} s at a time.",
                               f"按下录制按钮：特征图跟着摄像头变化，每秒大约 {rate} 次，每次最长 {LIVE_SECONDS} 秒。"),
                             elem_id="stages-live-status")
        keep = gr.Button(t("Keep this frame as the picture", "把这一帧留作图片"), size="sm", elem_id="stages-live-keep")
    return LiveRow(box=box, camera=camera, last=gr.State(None), keep=keep, status=status)


def on_live_frame(v: dict, encode: Encoding | None = None) -> dict:
    """One webcam frame through the model: the current stage's maps, the channel shown, the top-5.
    A frame that cannot be used (none yet, a broken one) changes nothing. All of it, the pictures'
    encoding too when `encode` says how (the page's event does), runs in the low-priority thread
    (explorer.core.background): a visitor sliding a kernel gets the cores first."""
    if v["live"] is None:
        return {}
    return in_background(_frame_views, v, encode)


@dataclass(frozen=True)
class Encoding:
    """Where and how the page's picture boxes save a picture (Gradio encodes a returned picture after the
    handler, in a thread of normal priority; a live frame's come already saved, as files in its cache)."""
    folder: str
    formats: tuple               # (name, format) of each picture box a frame redraws

    def __call__(self, views: dict) -> dict:
        saved = {name: processing_utils.save_pil_to_cache(views[name], self.folder, format=form)
                 for name, form in self.formats if isinstance(views.get(name), Image.Image)}
        return {**views, **saved}


def _frame_views(v: dict, encode: Encoding | None) -> dict:
    frame = v["live"]
    give_way()           # a kernel visitor's request waiting to run goes first (explorer.core.cost)
    started = time.perf_counter()
    try:
        inspection = live_inspection(v["model"], frame.convert("RGB"))
    except ValueError:
        return {}
    stage = stage_index(inspection, v["stage"] or 1) + 1
    give_way()
    views = stage_views(inspection, stage, v["count"], v["scale"], v["shown_channel"])
    views.pop("strip")                                    # the strip stays: it is the kept picture's
    views = encode(views) if encode is not None else views
    took = (time.perf_counter() - started) * 1000
    return {**views, "label": as_label(inspection.predictions), "live_last": frame,
            "live_status": say("Live: stage {stage}, {took:.0f} ms for this frame.",
                               "实时：阶段 {stage}，这一帧用了 {took:.0f} 毫秒。", stage=stage, took=took)}


def on_keep(v: dict) -> dict:
    """The last live frame into the picture box (which runs the tab on it as on an upload)."""
    if v["live_last"] is None:
        raise gr.Error(say("webcam: no frame yet; press the record button first", "webcam：还没有画面；请先按录制按钮"),
                       title=say("No frame", "没有画面"))
    return {"photo": v["live_last"]}


def wire_live(row: LiveRow, components: dict) -> None:
    """The stream and "Keep this frame". `components` are the tab's by name, with "photo" (the picture box)."""
    c = components | {"live": row.camera, "live_last": row.last, "live_status": row.status}
    encode = Encoding(c["grid"].GRADIO_CACHE, tuple((name, c[name].format) for name in LIVE_PICTURES))

    def on_live_frame_saved(v: dict) -> dict:
        return on_live_frame(v, encode)

    row.camera.stream(**event(c, on_live_frame_saved, ("live", "model", "stage", "count", "scale", "shown_channel"),
                              LIVE_VIEWS + ("live_last", "live_status")),
                      stream_every=STREAM_EVERY, time_limit=LIVE_SECONDS, api_name="stages_live",
                      api_visibility="private", show_progress="hidden", **LIVE_QUEUE)
    row.keep.click(**event(c, on_keep, ("live_last",), ("photo",)), api_name="stages_live_keep",
                   api_visibility="private")
    row.box.expand(None, js=LIVE_JS, queue=False, api_visibility="private")
