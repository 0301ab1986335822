"""The model registry: real weights, the weight-loading path, the untrained fallback, sharing between threads."""
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from explorer.core import models
from explorer.core.models import DEFAULT_MODEL, MODEL_NAMES, WeightsUnavailable, get_model, load_model

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


@pytest.fixture(scope="module")
def default_model():
    return load_model(DEFAULT_MODEL)


@pytest.mark.parametrize("photo, expected", [("espresso.jpg", {"espresso"}), ("fish.jpg", {"goldfish"}),
                                             ("cat.jpg", CATS), ("dog.jpg", {"German shepherd"})])
def test_default_model_recognises_the_shipped_photos(default_model, photo, expected):
    predictions = default_model.predict(Image.open(EXAMPLES / photo), k=5)
    assert default_model.pretrained
    assert predictions[0][0] in expected
    probabilities = [p for _, p in predictions]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


def test_predict_is_the_softmax_of_the_module(default_model):
    image = Image.open(EXAMPLES / "espresso.jpg")
    with torch.inference_mode():
        probabilities = torch.softmax(default_model.module(default_model.preprocess(image)), dim=-1)[0]
    top = probabilities.argmax().item()
    label, p = default_model.predict(image, k=1)[0]
    assert label == default_model.labels[top] and p == pytest.approx(probabilities[top].item(), rel=1e-5)


def test_inspect_gives_predictions_and_stages_from_one_pass(default_model):
    image = Image.open(EXAMPLES / "cat.jpg")
    inspection = default_model.inspect(image)
    assert inspection.predictions == default_model.predict(image)
    assert inspection.seen.size == (224, 224)
    assert inspection.stages[0].name == "conv_stem" and inspection.stages[-1].kind == "pool"


def test_every_model_builds_untrained_offline():
    for name in MODEL_NAMES:
        model = load_model(name, pretrained=False)
        assert not model.pretrained and not model.module.training
        assert len(model.labels) == {"digits": 10, "cnnnet": 2}.get(name, 1000)


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown name 'lenet9'"):
        load_model("lenet9")
    with pytest.raises(ValueError, match="choose one of"):
        get_model("lenet9")


def test_weights_load_from_a_checkpoint_in_torch_home(tmp_path, monkeypatch):
    """The real torchvision loading path, fed by a checkpoint placed where it looks before downloading."""
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    reference = torchvision.models.resnet18()
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(reference.state_dict(), checkpoints / weights.url.rsplit("/", 1)[-1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = load_model("resnet18", pretrained=True, device="cpu")
    assert model.pretrained and model.display_name == "ResNet-18"
    torch.testing.assert_close(model.module.fc.weight, reference.fc.weight)
    assert model.labels == weights.meta["categories"]



class _RunsCode:
    """Unpickling this calls Path.touch: what a tampered checkpoint could do with any function."""
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_never_unpickled(tmp_path, monkeypatch):
    """torchvision's loader asks torch.hub for weights_only=False; explorer.core.models forces the safe unpickler."""
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    torch.save({"fc.weight": _RunsCode(marker)}, checkpoints / weights.url.rsplit("/", 1)[-1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable, match="resnet18-f37072fd.pth"):
        load_model("resnet18", pretrained=True, device="cpu")
    assert not marker.exists()

def test_missing_weights_fall_back_to_untrained_with_a_note(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailable, match="resnet18-f37072fd.pth"):
        load_model("resnet18", pretrained=True)
    monkeypatch.setattr(models, "_store", models.ModelStore(models._load_shared, 2**30))
    model, note = get_model("resnet18")
    assert not model.pretrained and model.display_name == "ResNet-18 (untrained)"
    assert "ResNet-18 is untrained here" in note and "cannot reach the internet" in note
    assert "Errno" not in note and "urlopen" not in note and "Name or service" not in note
    assert get_model("resnet18")[0] is model  # loaded once, then shared


def test_device_follows_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert models.pick_device() == torch.device("cpu")
    monkeypatch.delenv("EXPLORER_DEVICE")
    if torch.cuda.is_available():
        assert models.pick_device().type == "cuda"
    else:
        assert models.pick_device().type in ("mps", "cpu")


def test_concurrent_users_get_the_answers_of_a_single_user():
    model, _ = get_model(DEFAULT_MODEL)
    photos = [Image.open(EXAMPLES / name).convert("RGB") for name in ("espresso.jpg", "cat.jpg", "fish.jpg", "dog.jpg")]
    alone = [model.inspect(p) for p in photos]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(model.inspect, photos * 3))
    for got, expected in zip(together, alone * 3):
        assert got.predictions == expected.predictions
        assert len(got.stages) == len(expected.stages)
        torch.testing.assert_close(got.stages[-2].activation, expected.stages[-2].activation)
    assert sum(len(m._forward_hooks) for m in model.module.modules()) == 0


def test_register_refuses_a_name_already_taken():
    before = dict(models.REGISTRY)
    with pytest.raises(ValueError, match="'resnet18' is already registered"):
        models.register("resnet18", "Another ResNet", lambda pretrained: None)
    assert models.REGISTRY == before


class _Payload:
    """Unpickling this runs code (its __reduce__): what a tampered checkpoint would carry."""

    def __reduce__(self):
        return (print, ("ran",))


def test_torchvision_loads_use_the_safe_unpickler_and_import_sets_nothing(tmp_path, monkeypatch):
    import os
    import pickle

    import torch

    from explorer.core.models import weights_only_loading

    monkeypatch.delenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", raising=False)
    path = tmp_path / "tampered.pth"
    torch.save({"payload": _Payload()}, path)
    with weights_only_loading():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=False)       # what torch.hub asks for: overridden
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" not in os.environ
