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
