"""The GPU path: every tab's numbers on CUDA equal the CPU's within float tolerance, and no request
leaves CUDA memory growing. Skipped where CUDA is absent (this is the only skip in the suite).

EXPLORER_GPU_TEST_DEVICE names the device compared with the CPU (default "cuda"); setting it to "cpu"
runs the same comparisons CPU against CPU, which checks the tests themselves on a machine without a GPU.
Tolerances allow for TF32, which PyTorch uses for cuDNN convolutions by default on Ampere and newer.
"""
import gc
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core import attribution as at
from explorer.core import features
from explorer.core.bridge import explain_unit
from explorer.core.models import DEFAULT_MODEL, load_model

DEVICE = os.environ.get("EXPLORER_GPU_TEST_DEVICE", "cuda")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(),
                                                  reason="no CUDA device on this machine")]
PHOTO = Path(__file__).resolve().parents[2] / "assets" / "examples" / "dog.jpg"


@pytest.fixture(scope="module")
def pair():
    """The default model on the CPU and on the device under test, same weights."""
    return load_model(DEFAULT_MODEL, device="cpu"), load_model(DEFAULT_MODEL, device=DEVICE)


@pytest.fixture(scope="module")
def photo():
    return Image.open(PHOTO).convert("RGB")


def _close(a: torch.Tensor, b: torch.Tensor, relative: float = 1e-2) -> bool:
    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    return a.shape == b.shape and float((a - b).abs().max()) <= relative * max(float(a.abs().max()), 1e-6)


def test_predictions_and_every_stage_match_the_cpu(pair, photo):
    cpu, dev = pair[0].inspect(photo), pair[1].inspect(photo)
    assert [label for label, _ in cpu.predictions] == [label for label, _ in dev.predictions]
    assert np.allclose([p for _, p in cpu.predictions], [p for _, p in dev.predictions], atol=2e-3)
    assert len(cpu.stages) == len(dev.stages)
    for a, b in zip(cpu.stages, dev.stages):
        assert a.name == b.name and a.field == b.field
        assert _close(a.activation, b.activation), a.name


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "smoothgrad", "gradcam", "occlusion"])
def test_attribution_maps_match_the_cpu(pair, photo, method):
    options = {"n_steps": 8} if method == "integrated_gradients" else {}
    options |= {"nt_samples": 4, "stdevs": 0.0} if method == "smoothgrad" else {}
    options |= {"window": 32, "stride": 32} if method == "occlusion" else {}
    cpu = at.attribute(pair[0], photo, method, **options)
    dev = at.attribute(pair[1], photo, method, **options)
    assert cpu.shape == dev.shape
    scale = max(float(np.abs(cpu).max()), 1e-12)
    assert float(np.abs(cpu - dev).max()) <= 0.02 * scale, method
    assert np.corrcoef(cpu.ravel(), dev.ravel())[0, 1] > 0.999


def test_the_bridge_explains_the_same_unit_with_the_same_numbers(pair, photo):
    for stage in (0, 5):
        a, b = (explain_unit(model, photo, stage, 1, 3, 4) for model in pair)
        assert b.agrees() and a.kind == b.kind
        assert abs(a.value - b.value) <= 1e-2 * max(abs(a.value), 1e-3)
        assert _close(torch.as_tensor(a.window), torch.as_tensor(b.window))


def test_feature_visualisation_with_the_same_seed_draws_the_same_picture(pair):
    a, b = (features.visualize(model, 3, 2, steps=12, seed=5) for model in pair)
    pixels_a = np.asarray(a.image, dtype=np.float32) / 255
    pixels_b = np.asarray(b.image, dtype=np.float32) / 255
    assert pixels_a.shape == pixels_b.shape
    assert float(np.abs(pixels_a - pixels_b).mean()) < 0.02
    assert b.objective[-1] > b.objective[0]
    assert abs(a.objective[-1] - b.objective[-1]) <= 0.05 * max(abs(a.objective[-1]), 1e-3)


@pytest.mark.skipif(not DEVICE.startswith("cuda"), reason="CUDA memory is measured only on CUDA")
def test_no_request_leaves_cuda_memory_growing(pair, photo):
    model = pair[1]

    def one_of_each():
        model.inspect(photo)
        at.attribute(model, photo, "gradcam")
        at.attribute(model, photo, "integrated_gradients", n_steps=8)
        explain_unit(model, photo, 2, 0, 1, 1)

    def settled() -> int:
        gc.collect()
        torch.cuda.synchronize()
        return torch.cuda.memory_allocated()

    one_of_each()
    first = settled()
    for _ in range(4):
        one_of_each()
    assert settled() <= first + 1 * 2**20
