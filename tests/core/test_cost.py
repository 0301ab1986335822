"""explorer.core.cost: a request's cost in seconds, estimated before its work, refused in words past
EXPLORER_REQUEST_SECONDS; and the small requests' right of way between a long job's chunks."""
import threading
import time

import numpy as np
import pytest
from PIL import Image

from explorer.core import architecture, attribution, cost, gpu
from explorer.core.budgets import OverBudget
from explorer.core.models import load_model
from explorer.core.registry import REGISTRY


def test_the_measured_speed_is_a_plausible_figure():
    speed = cost.measured_seconds_per_gmac()
    assert 1e-5 < speed < 5.0, speed


def test_a_pass_costs_the_model_s_multiply_accumulates_at_that_speed(monkeypatch):
    monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "0.1")
    vgg, digits = REGISTRY["vgg16"].gmacs, REGISTRY["digits"].gmacs
    assert cost.estimate("vgg16", 10, backward=False) == pytest.approx(10 * (cost.CPU_PASS_OVERHEAD + vgg * 0.1))
    assert cost.estimate("vgg16", 10) == pytest.approx(10 * (cost.CPU_PASS_OVERHEAD + vgg * 0.1 * cost.BACKWARD))
    assert cost.estimate("vgg16", 128) > 30 * cost.estimate("digits", 128)
    assert cost.estimate("digits", 512) == pytest.approx(512 * (cost.CPU_PASS_OVERHEAD + digits * 0.1 * cost.BACKWARD))


def test_over_the_budget_is_refused_in_words_naming_what_to_change(monkeypatch):
    monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "0.05")
    monkeypatch.setenv("EXPLORER_REQUEST_SECONDS", "60")
    with pytest.raises(OverBudget) as error:
        cost.check("n_steps: 512 steps", "vgg16", 512, "use fewer steps")
    message = str(error.value)
    assert message.startswith("n_steps: 512 steps would take about ") and "VGG" in message
    assert "at most 60 s" in message and "EXPLORER_REQUEST_SECONDS" in message and message.endswith("use fewer steps")
    seconds = float(message.split("about ")[1].split(" s")[0].replace(",", ""))
    assert seconds == pytest.approx(cost.estimate("vgg16", 512), abs=1)
    assert cost.check("n_steps: 512 steps", "digits", 512, "use fewer steps") < 60     # the digit model may
    monkeypatch.setenv("EXPLORER_REQUEST_SECONDS", "100000")
    assert cost.check("n_steps: 512 steps", "vgg16", 512, "use fewer steps") > 60      # a larger budget admits it


def test_the_gpu_slot_is_never_longer_than_the_request_budget(monkeypatch):
    assert gpu.slot_seconds("vgg16", 10**6) == gpu.MAX_SLOT == cost.budget_seconds()
    monkeypatch.setenv("EXPLORER_REQUEST_SECONDS", "30")
    assert gpu.slot_seconds("vgg16", 10**6) == 30


def test_an_attribution_over_the_budget_is_refused_before_any_pass(monkeypatch):
    model = load_model("digits", pretrained=False)
    ink = np.full((28, 28), 255, np.uint8)
    ink[6:22, 12:16] = 0                         # a "1"
    picture = Image.fromarray(ink)
    passes = []
    monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "1000")      # a very slow machine
    with pytest.raises(OverBudget, match=r"^n_steps: Integrated Gradients \(64 pictures\) would take about"):
        attribution.attribute_input(model, model.preprocess(picture), "integrated_gradients", 3, n_steps=64,
                                    progress=passes.append)
    assert passes == [], "no pass ran before the refusal"
    monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "0.05")
    result = attribution.attribute_input(model, model.preprocess(picture), "integrated_gradients", 3, n_steps=64,
                                         progress=passes.append)
    assert result.input_map.shape == (28, 28) and passes


def test_a_comparison_over_the_budget_is_refused(monkeypatch):
    monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", "100")
    with pytest.raises(OverBudget, match=r"^models: comparing 2 models would take about .* compare fewer"):
        architecture.compare(["vgg16", "resnet18"])


def test_a_long_job_gives_way_while_a_small_request_runs():
    assert cost.give_way(1.0) < 0.05, "nothing small runs: no wait"
    waited = []
    with cost.small_request():
        job = threading.Thread(target=lambda: waited.append(cost.give_way(5.0)))
        job.start()
        time.sleep(0.3)
        assert job.is_alive(), "the long job waits while the small request runs"
    job.join(2)
    assert 0.25 < waited[0] < 2.0
    bounded = []
    with cost.small_request():
        job = threading.Thread(target=lambda: bounded.append(cost.give_way(0.2)))    # a long job's own thread
        job.start()
        job.join(2)
    assert bounded[0] == pytest.approx(0.2, abs=0.1), "bounded: a long job is never starved"


def test_a_long_job_runs_in_chunks_of_about_a_second(monkeypatch):
    model = load_model("digits", pretrained=False)
    ink = np.full((28, 28), 255, np.uint8)
    ink[6:22, 12:16] = 0
    x = model.preprocess(Image.fromarray(ink))
    calls = {}
    for speed in ("0.01", "20"):        # a fast machine: one chunk; a slow one: a chunk per ~second of work
        monkeypatch.setenv("EXPLORER_SECONDS_PER_GMAC", speed)
        reports = []
        first = attribution.attribute_input(model, x, "integrated_gradients", 3, n_steps=64, progress=reports.append)
        calls[speed] = len(reports)
        assert first.input_map.shape == (28, 28)
    per_picture = cost.pass_seconds(REGISTRY["digits"].gmacs)
    assert calls["20"] - calls["0.01"] >= 64 // int(cost.CHUNK_SECONDS / per_picture) - 1, calls


def test_a_small_request_s_own_chunks_never_wait_for_itself():
    import contextvars

    with cost.small_request():
        context = contextvars.copy_context()          # what the request's worker thread runs in
        waited = []
        worker = threading.Thread(target=lambda: waited.append(context.run(cost.give_way, 2.0)))
        worker.start()
        worker.join(5)
    assert waited == [0.0]
