"""The cost budget (explorer.core.budgets): set from the machine, overridden by the environment, checked
before any work; batched attribution in memory-sized chunks that give PyTorch's (Captum's) own result;
GIFs written frame by frame; the small refusals of issue 15."""
import io
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
from hook_recorder import recording
from image_files import encoded
from PIL import Image, ImageSequence

from explorer.core import attribution as at
from explorer.core import budgets
from explorer.core.images import load_image, open_header
from explorer.core.models import get_model
from explorer.core.sliding import slide
from explorer.drawing.kernel_frames import GifStopped
from explorer.ui.kernel_tab import compute, slide_settings

ONES_32 = [[1] * 32 for _ in range(32)]


def test_the_default_budget_follows_the_machine():
    small = budgets.for_machine(2 << 30, 1)
    big = budgets.for_machine(64 << 30, 8)
    assert small.request_memory == 256 * budgets.MB            # 1/16 of 2 GB is below the floor
    assert budgets.for_machine(8 << 30, 2).request_memory == 512 * budgets.MB
    assert big.request_memory == 1024 * budgets.MB             # 1 GB at most, however large the machine
    assert (small.model_passes, big.model_passes) == (512, 4096)
    assert (small.compare_models, big.compare_models) == (4, 32)
    assert budgets.machine_cores() >= 1 and budgets.machine_memory() > 1 << 28


def test_environment_variables_override_each_budget_and_are_checked():
    environ = {"EXPLORER_REQUEST_MEMORY_MB": "300", "EXPLORER_MODEL_PASSES": "50", "EXPLORER_GIF_FRAMES": "7",
               "EXPLORER_GIF_FRAME_PIXELS": "1000", "EXPLORER_COMPARE_MODELS": "2"}
    assert budgets.current(environ) == budgets.Budget(300 * budgets.MB, 50, 7, 1000, 2)
    for bad in ("lots", "0", "-3", "1.5"):
        with pytest.raises(ValueError, match="EXPLORER_MODEL_PASSES"):
            budgets.current({"EXPLORER_MODEL_PASSES": bad})


def test_a_4096_frame_gif_is_refused_before_any_frame_is_drawn(tmp_path):
    renderer = compute(slide_settings(ONES_32, [[1]], "conv", "1", "1", "16", "1", 0, False))
    assert len(renderer) == 64 * 64
    with pytest.raises(budgets.OverBudget) as refused:
        renderer.gif(tmp_path / "a.gif")
    message = str(refused.value)
    assert f"4,096 frames of {renderer.width * renderer.height / 1e6:.1f} megapixels" in message
    assert "at most 400 frames: use a smaller matrix, less padding or a larger stride" in message
    assert not list(tmp_path.iterdir())


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def test_gif_frames_are_the_renderers_frames(tmp_path):
    renderer = compute(slide_settings([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]], "conv", "2", "1", "1", "1", 0, False))
    frames = _frames(renderer.gif(tmp_path / "a.gif", step_ms=250))
    palette = renderer._gif_palette((renderer.width, renderer.height))
    assert len(frames) == len(renderer) == 16
    for k, frame in enumerate(frames):
        expected = renderer.frame(k).quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")
        assert np.array_equal(frame, np.asarray(expected)), k
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.info["loop"] == 0 and gif.info["duration"] == 250


def test_large_gif_frames_are_scaled_down_to_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_GIF_FRAME_PIXELS", "100000")
    renderer = compute(slide_settings([[1, 2, 3, 4]] * 4, [[1, 1], [1, 1]], "conv", "2", "2", "0", "1", 0, False))
    assert renderer.width * renderer.height > 100_000
    frames = _frames(renderer.gif(tmp_path / "small.gif"))
    height, width, _ = frames[0].shape
    assert width * height <= 100_000 and abs(width / height - renderer.width / renderer.height) < 0.01
    assert len(frames) == len(renderer)


def test_a_gif_nobody_waits_for_stops_and_leaves_no_file(tmp_path):
    renderer = compute(slide_settings([[1, 2, 3, 4]] * 4, [[1, 1], [1, 1]], "conv", "2", "1", "0", "1", 0, False))
    asked = []
    with pytest.raises(GifStopped, match="stopped at frame 3 of 9"):
        renderer.gif(tmp_path / "a.gif", keep_going=lambda: asked.append(1) or len(asked) < 3)
    assert not list(tmp_path.iterdir())


# --- attribution -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    model, _ = get_model("digits")
    picture = Image.new("L", (64, 64), 255)
    picture.paste(0, (20, 10, 30, 54))
    return model, model.preprocess(picture.convert("RGB"))


def test_integrated_gradients_runs_in_chunks_that_fit_the_memory_budget(digits, monkeypatch):
    model, x = digits
    per_picture = at.picture_bytes(model.module, x)
    monkeypatch.setenv("EXPLORER_REQUEST_MEMORY_MB", "1")
    chunk = budgets.chunk(per_picture, 64)
    assert chunk == max(1, int(0.8 * budgets.MB) // per_picture) and chunk < 64
    calls = []
    seen = at.attribute_input(model, x, "integrated_gradients", 3, n_steps=64, progress=calls.append)
    assert len(calls) == 64 // chunk + (64 % chunk > 0) + 1           # one report per chunk, then done
    expected = IntegratedGradients(model.module).attribute(x.clone().requires_grad_(), torch.zeros_like(x),
                                                           target=3, n_steps=64)
    assert np.allclose(seen.input_map, expected.detach()[0].sum(0).numpy(), rtol=1e-4, atol=1e-6)


def test_smoothgrad_chunks_give_captums_result(digits, monkeypatch):
    model, x = digits
    monkeypatch.setenv("EXPLORER_REQUEST_MEMORY_MB", "1")
    torch.manual_seed(5)
    seen = at.attribute_input(model, x, "smoothgrad", 2, nt_samples=12)
    torch.manual_seed(5)
    expected = NoiseTunnel(Saliency(model.module)).attribute(
        x.clone().requires_grad_(), nt_type="smoothgrad", nt_samples=12,
        nt_samples_batch_size=budgets.chunk(at.picture_bytes(model.module, x), 12), stdevs=0.15, target=2,
        abs=False)
    assert np.allclose(seen.input_map, expected.detach()[0].sum(0).numpy(), rtol=1e-4, atol=1e-6)


def test_the_chunk_estimate_is_the_models_own_activations(digits):
    model, x = digits
    with recording([m for m in model.module.modules() if not list(m.children())],
                   lambda m, i, o: o.numel() * o.element_size()) as outputs, torch.no_grad():
        model.module(x)
    assert at.picture_bytes(model.module, x) == sum(outputs) > x.numel() * 4


@pytest.mark.parametrize("method, options, message", [
    ("occlusion", {"window": 1, "stride": 1},
     "occlusion: window 1 px and stride 1 px make 784 positions, 785 passes through the model; at most 100 on "
     "this machine: use a larger stride or window"),
    ("integrated_gradients", {"n_steps": 128},
     "n_steps: 128 steps of Integrated Gradients make 128 pictures, 128 passes through the model; at most 100"),
    ("smoothgrad", {"nt_samples": 101}, "nt_samples: 101 noisy copies make 101 pictures"),
    ("occlusion", {"window": 4, "stride": 5},
     "occlusion: the stride (5 px) is larger than the window (4 px), so some pixels would never be covered"),
    ("saliency", {"progress": "yes"}, "options: saliency does not take progress; it takes no options"),
    ("gradcam", {"x" * 1_000_000: 1}, "options: gradcam does not take 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… "
                                      "(1,000,002 characters); it takes layer"),
])
def test_costly_or_invalid_options_are_refused_before_any_work(digits, monkeypatch, method, options, message):
    model, x = digits
    monkeypatch.setenv("EXPLORER_MODEL_PASSES", "100")
    calls = []
    options = {"progress": calls.append} | options     # an option named progress replaces the callback
    with pytest.raises(ValueError) as refused:
        at.attribute_input(model, x, method, 1, **options)
    assert message in str(refused.value)
    assert calls == []                                 # refused before the first pass through the model


def test_trust_and_other_booleans_parse_as_booleans():
    for yes in (True, 1, "true", "True", " 1 "):
        assert at.parse_boolean("trust", yes) is True
    for no in (False, 0, "false", "0"):
        assert at.parse_boolean("trust", no) is False
    for bad in ("no", "yes", 2, None, [], "x" * 10_000):
        with pytest.raises(ValueError, match=r"^trust: .* is not true or false; give true or false$") as refused:
            at.parse_boolean("trust", bad)
        assert len(str(refused.value)) < 120


# --- pictures and cells ------------------------------------------------------------------------------

def test_a_megabyte_in_a_cell_is_echoed_as_a_short_prefix():
    with pytest.raises(ValueError) as refused:
        slide([[1, "7" * 500_000 + "x" * 500_000], [3, 4]], [[1]])
    message = str(refused.value)
    assert message.startswith("matrix row 0, column 1: '7777") and "(1,000,002 characters) is not a number" in message
    assert len(message) < 140


def test_eps_is_refused_by_its_header_before_pillow_reads_it():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\nshowpage\n"
    for data in (eps, b"\xc5\xd0\xd3\xc6" + bytes(40)):
        with pytest.raises(ValueError, match=r"image: PostScript \(EPS\) files are not accepted \(reading them "
                                             r"runs another program\); save the picture as PNG or JPEG"):
            open_header(io.BytesIO(data))
    assert open_header(io.BytesIO(encoded(Image.new("RGB", (5, 4)), "PNG"))).size == (5, 4)


@pytest.mark.parametrize("bad, count", [(float("nan"), 1), (float("inf"), 2)])
def test_a_float_picture_with_nan_or_inf_pixels_is_refused(tmp_path, monkeypatch, bad, count):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    pixels = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    pixels.flat[:count] = bad
    path = tmp_path / "float.tif"
    Image.fromarray(pixels, mode="F").save(path)
    with pytest.raises(ValueError, match=f"image: {count} of its pixels (is|are) NaN or infinite"):
        load_image(str(path))
    pixels.flat[:count] = 0.5
    Image.fromarray(pixels, mode="F").save(path)
    assert load_image(str(path)).size == (64, 64)


def test_comparing_more_models_than_the_budget_is_refused_before_measuring(monkeypatch):
    from explorer.core import architecture

    monkeypatch.setenv("EXPLORER_COMPARE_MODELS", "2")
    measured = []
    monkeypatch.setattr(architecture, "measure_latency", lambda *a, **k: measured.append(a) or 0.0)
    with pytest.raises(budgets.OverBudget, match="models: 3 models at once is more than this machine compares in "
                                                 "one request; pick at most 2"):
        architecture.compare(["alexnet", "resnet18", "digits"])
    assert measured == []


def test_feature_visualisation_steps_above_the_models_default_are_refused():
    budgets.check_visualize_steps(48, 48)
    with pytest.raises(budgets.OverBudget, match=r"steps: 49 is more than this model and stage take here: at most 48"):
        budgets.check_visualize_steps(49, 48)


def test_saliency_sheets_are_written_in_gradios_cache(tmp_path, monkeypatch):
    from explorer.ui import saliency_tab

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    path = saliency_tab.sheet_file([(Image.new("RGB", (30, 20), "red"), "a map")], "saliency-x-gradcam-cat.png")
    assert Path(path).is_relative_to(tmp_path / "cache") and Path(path).name == "saliency-x-gradcam-cat.png"
    with Image.open(path) as sheet:
        assert sheet.size == (30, 44)


def test_the_kernel_renderers_kept_are_bounded_in_bytes():
    from explorer.ui import kernel_tab

    kernel_tab._RENDERERS.clear()
    made = 0
    for padding in range(8, 17):
        renderer = compute(slide_settings(ONES_32, [[1]], "conv", "1", "1", str(padding), "1", 0, False))
        pictures = [renderer.base, renderer.hi, renderer.done]
        made += sum(len(p.tobytes()) for p in pictures)
    assert made > 256 << 20                                   # more than the store may keep was made
    kept = sum(len(p.tobytes()) for r, _ in kernel_tab._RENDERERS._items.values() for p in (r.base, r.hi, r.done))
    assert 0 < kept <= 256 << 20


def _request(session: str, *alive: bool):
    """A stand-in for gr.Request with Gradio's queue behind it: the session's running jobs, alive or not."""
    from types import SimpleNamespace as Namespace

    others = [None, [Namespace(session_hash="other", alive=False)]]
    jobs = [[Namespace(session_hash=session, alive=a)] for a in alive] + others
    queue = Namespace(active_jobs=jobs)
    app = Namespace(get_blocks=lambda: Namespace(_queue=queue))
    return Namespace(session_hash=session, request=Namespace(app=app))


def test_a_job_nobody_waits_for_reads_as_cancelled():
    from explorer.ui import cancel, saliency_runs
    from explorer.ui.gradio_patches import abandoned

    assert abandoned(_request("s", False)) and abandoned(_request("s", False, False))
    assert not abandoned(_request("s", True)) and not abandoned(_request("s", False, True))
    assert not abandoned(_request("s")) and not abandoned(None)        # no job of its own; no queue at all
    report = cancel.stopping_progress(lambda *a, **k: None, saliency_runs.cancel_flag(_request("left", False)),
                                      "maps")
    with pytest.raises(cancel.Stop):
        report(0.5)
    here = saliency_runs.cancel_flag(_request("here", True))
    cancel.stopping_progress(lambda *a, **k: None, here, "maps")(0.5)


def test_every_long_job_stops_at_its_next_step_once_the_app_is_closing(monkeypatch):
    """tests/conftest.py sets CLOSING before it closes the app, so no job is left in PyTorch at exit."""
    from explorer.ui import cancel, saliency_runs

    here = saliency_runs.cancel_flag(_request("closing", True))
    report = cancel.stopping_progress(lambda *a, **k: None, here, "maps")
    report(0.5)                                       # a visitor still waits: it goes on
    monkeypatch.setattr(cancel, "CLOSING", threading.Event())
    cancel.CLOSING.set()
    with pytest.raises(cancel.Stop):
        report(0.6)
    assert not threading.Event.is_set(here)           # the visitor's own Cancel flag is left as it was


def test_a_feature_drawing_asked_through_the_api_stops_when_its_client_has_left():
    """/visualize reports its steps through the session's Cancel flag, as the tab's drawing does: a
    client gone stops it at the first step instead of holding the queue to the end."""
    import gradio as gr

    from explorer.ui import stages_features

    with pytest.raises(gr.Error, match="Stopped"):
        stages_features.visualize_api("digits", 0, 0, "channel", 0, 40, request=_request("gone-api", False))
    image, numbers = stages_features.visualize_api("digits", 0, 0, "channel", 0, 4, request=_request("here-api", True))
    assert numbers["steps"] == 4
