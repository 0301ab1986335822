"""explorer.ui.lanes against a served app: small requests pass heavy ones, a visitor's share of heavy
jobs is one running and one waiting (more refused in words, others still served), and a job whose
caller left before its turn is dropped. A stand-in app: a "heavy" event sleeps in the model lane."""
import time

import gradio as gr
import httpx
import pytest
from gradio_client import Client

from explorer.ui import gradio_patches, lanes
from explorer.ui.queues import MODEL_QUEUE

HEAVY_SECONDS = 1.5
RAN = []


def heavy(text: str) -> str:
    RAN.append(text)
    time.sleep(HEAVY_SECONDS)
    return f"heavy {text}"


def slide(text: str) -> str:
    return f"slid {text}"


@pytest.fixture(scope="module")
def url():
    gradio_patches.apply()
    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(heavy, box, out, api_name="attribute", **MODEL_QUEUE)
        gr.Button().click(slide, box, out, api_name="slide", **MODEL_QUEUE)

    demo.queue(default_concurrency_limit=2, max_size=64)
    _, address, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield address
    demo.close()


def test_the_lanes_sort_by_endpoint_and_by_model():
    assert lanes.lane_of("slide", "model", ["3"]) == lanes.SMALL
    assert lanes.lane_of("kernel_view", "model", []) == lanes.SMALL
    assert lanes.lane_of("layers", 1234, []) == lanes.SMALL
    assert lanes.lane_of("kernel_gif", "model", []) is None
    assert lanes.lane_of("predict", "model", [None, "digits"]) == lanes.SMALL
    assert lanes.lane_of("predict", "model", [None, "vgg16"]) is None
    assert lanes.lane_of("attribute", "model", [None, "digits", "occlusion", 3, "{}"]) == lanes.SMALL
    assert lanes.lane_of("attribute", "model", [None, "resnet18", "saliency", 3, "{}"]) is None


def test_a_small_request_does_not_wait_behind_heavy_ones(url):
    clients = [Client(url, verbose=False) for _ in range(3)]
    jobs = [c.submit("x", api_name="/attribute") for c in clients]
    time.sleep(0.3)
    start = time.monotonic()
    assert Client(url, verbose=False).predict("m", api_name="/slide") == "slid m"
    waited = time.monotonic() - start
    assert waited < 1.0, f"the slide waited {waited:.1f} s behind {len(jobs)} heavy jobs"
    assert [job.result() for job in jobs] == ["heavy x"] * 3


def test_one_visitor_gets_one_running_and_one_waiting_heavy_job(url):
    mine, other = Client(url, verbose=False), Client(url, verbose=False)
    jobs = [mine.submit(f"m{i}", api_name="/attribute") for i in range(4)]
    time.sleep(0.3)
    theirs = other.submit("o", api_name="/attribute")
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(job.result())
        except Exception as error:          # noqa: BLE001 - the refusal arrives as an AppError
            outcomes.append(str(error))
    assert sum(o.startswith("heavy m") for o in outcomes) == 2
    refusals = [o for o in outcomes if not o.startswith("heavy")]
    assert len(refusals) == 2 and all("already have a long computation running and one waiting" in o
                                      for o in refusals), refusals
    assert theirs.result() == "heavy o", "another visitor is still served"


def test_a_job_whose_caller_left_is_dropped_before_it_starts(url, monkeypatch):
    monkeypatch.setattr(lanes, "GONE_AFTER", 0.5)         # shorter than the blocker's run
    blocker = Client(url, verbose=False).submit("first", api_name="/attribute")
    time.sleep(0.2)
    config = httpx.get(f"{url}config").json()
    index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "attribute")
    for i in range(3):           # join, never listen: gone callers
        answer = httpx.post(f"{url}gradio_api/queue/join",
                            json={"data": [f"gone{i}"], "fn_index": index, "session_hash": f"gone-{i}"})
        assert answer.status_code == 200
    RAN.clear()
    blocker.result()
    listener = Client(url, verbose=False).submit("listening", api_name="/attribute")
    assert listener.result() == "heavy listening"
    assert not any(text.startswith("gone") for text in RAN), RAN


def test_gone_needs_the_grace_time_and_an_unread_stream():
    queue = type("Q", (), {"pending_messages_per_session": {}})()
    event = type("E", (), {"session_hash": "s", "enqueue_time": 100.0})()
    assert not lanes.gone(queue, event, now=101.0), "just joined: its caller may not be listening yet"
    assert lanes.gone(queue, event, now=100.0 + lanes.GONE_AFTER), "no stream ever opened"
    messages = lanes.ListenedQueue()
    queue.pending_messages_per_session["s"] = messages
    messages.last_read = 100.0 + lanes.GONE_AFTER - 1
    assert not lanes.gone(queue, event, now=100.0 + lanes.GONE_AFTER), "read a moment ago"
    messages.readers = 1
    assert not lanes.gone(queue, event, now=1000.0), "a reader is waiting on the stream now"
