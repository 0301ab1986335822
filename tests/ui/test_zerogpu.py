"""ZeroGPU: every model call a request makes runs inside a GPU slot sized from the request.

The whole test session runs with the stand-in `spaces` package (tests/standin, put first on the path
by conftest.py): a served model's forward pass inside an event but outside a GPU function raises, and
so does a GPU function whose arguments or result would not pickle. Here each endpoint that computes is
called over HTTP and the stand-in's log read back: which GPU functions ran, with which durations.
"""
import json
import os
import pickle
import threading
from pathlib import Path

import pytest
import torch
from gradio_client import handle_file

from explorer.core import architecture as arch
from explorer.core import gpu
from explorer.core.models import REGISTRY, get_model

EXAMPLE = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "panda.jpg")
LOG = Path(os.environ["SPACES_STANDIN_LOG"])


def _records_during(call) -> list[dict]:
    start = LOG.stat().st_size if LOG.exists() else 0
    call()
    if not LOG.exists():
        return []
    with LOG.open() as log:
        log.seek(start)
        return [json.loads(line) for line in log if line.strip()]


def _slots(records: list[dict]) -> dict[str, int]:
    assert not [r for r in records if "violation" in r], records
    return {r["function"].rsplit(".", 1)[-1]: r["duration"] for r in records}


def test_the_standin_is_the_spaces_package_the_app_imports():
    import spaces

    assert Path(spaces.__file__).is_relative_to(Path(__file__).parents[1] / "standin")

    @gpu.gpu(duration=7)
    def twice(x):
        return 2 * x

    assert twice(4) == 8 and hasattr(twice, "zerogpu")


def test_the_standin_catches_a_forward_outside_a_slot_and_unpicklable_arguments(tmp_path, monkeypatch):
    from gradio.context import LocalContext

    own_log = tmp_path / "calls.jsonl"          # these violations are on purpose: not the session's log
    monkeypatch.setenv("SPACES_STANDIN_LOG", str(own_log))
    model, _ = get_model("digits")
    x = torch.zeros(1, 1, 28, 28)
    model.module(x)                                    # outside any event: a test, not checked
    token = LocalContext.event_id.set("an-event")
    try:
        with pytest.raises(RuntimeError, match="outside a @spaces.GPU function"):
            model.module(x)
        inside = gpu.gpu(lambda: model.module(x).shape, duration=5)
        assert tuple(inside()) == (1, 10)
        with pytest.raises(RuntimeError, match="do not pickle"):
            gpu.gpu(lambda lock: 1, duration=5)(threading.Lock())
    finally:
        LocalContext.event_id.reset(token)
    violations = [json.loads(line)["violation"] for line in own_log.read_text().splitlines() if "violation" in line]
    assert violations == ["forward outside a GPU slot", "arguments do not pickle"]


def test_slot_seconds_grow_with_passes_and_model_cost_within_bounds():
    small, heavy = gpu.slot_seconds("digits"), gpu.slot_seconds("vgg16", 200)
    assert gpu.MIN_SLOT <= small < heavy <= gpu.MAX_SLOT
    assert gpu.slot_seconds("efficientnet_lite0", 200) < gpu.slot_seconds("vgg16", 200)
    assert gpu.slot_seconds("vgg16", 10**6) == gpu.MAX_SLOT
    assert gpu.slot_seconds("an unknown name") >= gpu.slot_seconds("vgg16")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_entry_s_multiply_accumulates_match_the_traced_model(name):
    traced = arch.summarize(name).total_macs / 1e9
    assert REGISTRY[name].gmacs == pytest.approx(traced, rel=0.05)


def test_progress_reaches_a_gpu_function_by_its_job_key_and_is_forgotten_after():
    seen = []
    with gpu.reporting(seen.append) as job:
        pickle.dumps(job)                          # what travels to the GPU process is the key
        gpu.reporter(job)(0.5)
    assert seen == [0.5] and gpu.reporter(job) is None
    with gpu.reporting(None) as none:
        assert none is None and gpu.reporter(none) is None


@pytest.mark.e2e
def test_every_endpoint_that_runs_a_model_does_it_in_a_gpu_slot_sized_from_the_request(client):
    from explorer.core import features
    from explorer.ui import saliency_runs, stages_inspections

    for store in (stages_inspections.CACHE, features.RESULTS):       # computed, not answered from a store
        store.clear()
    saliency_runs.forget_results()
    photo = handle_file(EXAMPLE)
    slots = {}
    calls = {
        "predict": lambda: client.predict(photo, "efficientnet_lite0", api_name="/predict"),
        "stages": lambda: client.predict(photo, "resnet18", api_name="/stages"),
        "unit": lambda: client.predict(photo, "squeezenet1_1", 0, 0, 3, 3, api_name="/unit"),
        "saliency": lambda: client.predict(photo, "efficientnet_lite0", "saliency", None, {}, api_name="/attribute"),
        "occlusion": lambda: client.predict(photo, "efficientnet_lite0", "occlusion", None,
                                            {"window": 16, "stride": 8}, api_name="/attribute"),
        "trust": lambda: client.predict(photo, "efficientnet_lite0", "gradcam", None, {"trust": True},
                                        api_name="/attribute"),
        "visualize": lambda: client.predict("digits", 1, 0, "channel", 0, 8, api_name="/visualize"),
        "compare": lambda: client.predict(["digits", "squeezenet1_1"], api_name="/compare"),
        "alexnet": lambda: client.predict(api_name="/alexnet_outputs"),
    }
    for name, call in calls.items():
        slots[name] = _slots(_records_during(call))
    assert "_predict" in slots["predict"]
    assert "_inspect" in slots["stages"] and "_inspect" in slots["unit"]
    assert "_attribute" in slots["saliency"] and "_attribute" in slots["occlusion"]
    assert slots["occlusion"]["_attribute"] > slots["saliency"]["_attribute"]   # 730 passes, not 1
    assert {"_attribute", "_trust"} <= set(slots["trust"])
    assert slots["visualize"]["_visualize"] >= gpu.MIN_SLOT
    assert "_compare" in slots["compare"] and "alexnet_outputs" in slots["alexnet"]
