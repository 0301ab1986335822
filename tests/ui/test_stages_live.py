"""The Stages tab's live mode without a browser: the stream's settings (frames dropped, never queued;
a time limit per visitor) and what one frame gives."""
import numpy as np
import pytest
from PIL import Image

from explorer.core.models import DEFAULT_MODEL
from explorer.ui import stages_live


@pytest.fixture(scope="module")
def demo():
    from explorer.ui import build_demo

    return build_demo()


def test_the_stream_drops_frames_instead_of_queueing_them(demo):
    fn = next(fn for fn in demo.fns.values() if fn.api_name == "stages_live")
    assert fn.connection == "stream"        # frames posted while one runs replace each other (/stream/{event_id})
    assert fn.concurrency_id == "stages_live"     # not the model queue
    assert fn.concurrency_limit == stages_live.LIVE_STREAMS > 1    # a stream holds its worker while it runs
    assert fn.stream_every == stages_live.STREAM_EVERY and fn.time_limit == stages_live.LIVE_SECONDS
    assert fn.api_visibility == "private"


def test_a_frame_gives_the_stage_maps_the_channel_and_the_top5():
    frame = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    values = dict(live=frame, model=DEFAULT_MODEL, stage=3, count="16", scale="shared", shown_channel=None)
    out = stages_live.on_live_frame(values)
    assert set(out) == set(stages_live.LIVE_VIEWS) | {"live_last", "live_status"}
    assert out["shown_stage"] == 3 and out["live_last"] is frame
    assert len(out["label"]) == 5 and all(0 <= p <= 1 for p in out["label"].values())     # the top-5
    assert stages_live.on_live_frame({**values, "live": None}) == {}


def test_a_live_frames_pictures_are_saved_in_the_background_as_the_boxes_would_save_them(tmp_path):
    frame = Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    values = dict(live=frame, model=DEFAULT_MODEL, stage=2, count="16", scale="shared", shown_channel=None)
    plain = stages_live.on_live_frame(values)
    encode = stages_live.Encoding(str(tmp_path), (("grid", "png"), ("large", "png"), ("overlay", "jpeg")))
    saved = stages_live.on_live_frame(values, encode)
    for name, form in encode.formats:
        path = saved[name]
        assert isinstance(path, str) and path.startswith(str(tmp_path)) and path.endswith("." + form)
        assert Image.open(path).size == plain[name].size
    assert np.array_equal(np.asarray(Image.open(saved["grid"]).convert("RGB")), np.asarray(plain["grid"].convert("RGB")))


def test_the_pages_live_event_saves_pictures_where_and_as_its_boxes_do(demo):
    fn = next(fn for fn in demo.fns.values() if fn.api_name == "stages_live")
    encode = fn.fn.__wrapped__.__closure__ and next(
        cell.cell_contents for cell in fn.fn.__wrapped__.__closure__ if isinstance(cell.cell_contents, stages_live.Encoding))
    boxes = {getattr(block, "elem_id", None): block for block in demo.blocks.values()}
    assert dict(encode.formats) == {"grid": boxes["stages-grid"].format, "large": boxes["stages-large"].format,
                                    "overlay": boxes["stages-overlay"].format}
    assert encode.folder == boxes["stages-grid"].GRADIO_CACHE
