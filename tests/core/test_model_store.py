"""Models kept within a byte budget: least recently used evicted first, the pinned one kept, an evicted
model loaded again unchanged, and the memory it held given back."""
import gc
import weakref

import psutil
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from explorer.core import memory, models
from explorer.core.models import ModelStore, model_budget_bytes, module_bytes

MB = 2**20


def _linear_store(budget: int, sizes: dict[str, int], pinned=()) -> tuple[ModelStore, list[str]]:
    """A store of nn.Linear models whose weights take `sizes[name]` bytes; `loads` records each load."""
    loads = []

    def load(name):
        loads.append(name)
        return nn.Linear(sizes[name] // 4, 1, bias=False), ""

    return ModelStore(load, budget, pinned, size_of=lambda loaded: module_bytes(loaded[0])), loads


def test_module_bytes_are_pytorchs_own_count_with_shared_weights_once():
    tied = nn.Sequential(nn.Linear(30, 20), nn.BatchNorm1d(20))
    expected = sum(t.numel() * t.element_size() for t in (*tied.parameters(), *tied.buffers()))
    assert module_bytes(tied) == expected
    twice = nn.Sequential(tied, tied)       # the same module twice holds its weights once
    assert module_bytes(twice) == expected


def test_the_least_recently_used_model_goes_first_when_the_budget_is_passed():
    store, loads = _linear_store(budget=100 * 4, sizes={"a": 160, "b": 160, "c": 160})
    a, _ = store.get("a")
    store.get("b")
    assert store.get("a")[0] is a and loads == ["a", "b"]       # a is now the most recently used
    store.get("c")                                               # 480 bytes > 400: b goes, not a
    assert [m.in_features for m, _ in store.values()] == [40, 40] and store.loaded_bytes() == 320
    assert store.get("a")[0] is a and loads == ["a", "b", "c"]
    store.get("b")                                               # c is now the least recently used
    assert loads == ["a", "b", "c", "b"] and store.get("a")[0] is a
    assert store.loaded_bytes() <= store.budget_bytes


def test_room_is_made_before_a_load_from_the_models_estimated_size():
    """The old models and the new one are never all in memory at once (the peak of a long session)."""
    sizes = {"a": 160, "b": 160, "c": 160}
    present_at_load = []

    def load(name):
        present_at_load.append(sorted(m.in_features * 4 for m, _ in store.values()))
        return nn.Linear(sizes[name] // 4, 1, bias=False), ""

    store = ModelStore(load, 400, size_of=lambda loaded: module_bytes(loaded[0]), estimate=sizes.get)
    for name in "abc":
        store.get(name)
    assert present_at_load == [[], [160], [160]]          # a went before c loaded: 160 + 160 + 160 > 400
    assert store.loaded_bytes() == 320


def test_the_estimate_is_the_loaded_models_own_size():
    for name in ("alexnet", "digits", "cnnnet"):
        assert models.estimated_bytes(name) == module_bytes(models.load_model(name, pretrained=False).module)


def test_the_pinned_model_stays_and_a_model_larger_than_the_budget_loads_alone():
    store, loads = _linear_store(budget=400, sizes={"pin": 200, "big": 800, "small": 40}, pinned=("pin",))
    store.get("pin")
    store.get("big")
    assert [m.in_features for m, _ in store.values()] == [50, 200]     # over budget: only the newest and pin
    store.get("small")
    assert [m.in_features for m, _ in store.values()] == [50, 10]      # big evicted, pin kept
    assert loads == ["pin", "big", "small"]


def test_an_evicted_model_is_freed():
    store, _ = _linear_store(budget=400, sizes={"a": 400, "b": 400})
    gone = weakref.ref(store.get("a")[0])
    store.get("b")
    gc.collect()
    assert gone() is None


def _sketch() -> Image.Image:
    picture = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(picture).line([(60, 50), (220, 50), (110, 240)], fill=0, width=20)
    return picture


def test_an_evicted_model_loads_again_with_the_same_weights_and_answers(monkeypatch):
    """The digits are trained, CNNNet is not: both come back as they were (untrained ones from a seed)."""
    store = ModelStore(models._load_shared, budget_bytes=1)     # every load evicts the one before
    monkeypatch.setattr(models, "_store", store)
    picture = _sketch()
    digits, _ = models.get_model("digits")
    first_answer = digits.predict(picture)
    first_weights = {k: v.clone() for k, v in digits.module.state_dict().items()}
    cnnnet, _ = models.get_model("cnnnet")
    cnnnet_weights = {k: v.clone() for k, v in cnnnet.module.state_dict().items()}
    assert [m.name for m, _ in store.values()] == ["cnnnet"]
    del digits, cnnnet

    again, _ = models.get_model("digits")
    assert [m.name for m, _ in store.values()] == ["digits"]
    assert again.predict(picture) == first_answer
    for name, tensor in again.module.state_dict().items():
        assert torch.equal(tensor, first_weights[name]), name
    for name, tensor in models.get_model("cnnnet")[0].module.state_dict().items():
        assert torch.equal(tensor, cnnnet_weights[name]), name


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_MODEL_BUDGET_MB", "64")
    assert model_budget_bytes() == 64 * MB
    monkeypatch.delenv("EXPLORER_MODEL_BUDGET_MB")
    assert model_budget_bytes() == models.DEFAULT_MODEL_BUDGET_MB * MB
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("EXPLORER_MODEL_BUDGET_MB", bad)
        with pytest.raises(ValueError, match="EXPLORER_MODEL_BUDGET_MB"):
            model_budget_bytes()


def test_freed_memory_goes_back_to_the_system():
    """Many small blocks freed stay resident in glibc's heap until malloc_trim returns them."""
    if getattr(memory._LIBC, "malloc_trim", None) is None:      # not glibc: nothing to call, and it says so
        assert memory.release_memory() is False
        return
    blocks = [bytearray(4000) for _ in range(50_000)]          # 200 MB in the heap, below mmap's threshold
    keep = bytearray(4000)                                     # above them: the heap's top cannot shrink alone
    del blocks
    before = psutil.Process().memory_info().rss
    assert memory.release_memory() is True
    after = psutil.Process().memory_info().rss
    assert before - after > 100 * MB, (before / MB, after / MB)
    del keep


def test_what_is_made_from_a_model_counts_against_the_budget_and_goes_with_it(monkeypatch):
    """The trust check's randomised copy is such a companion: a second model's worth of weights."""
    from explorer.core import trust

    digits_bytes = module_bytes(models.load_model("digits").module)
    cnnnet_bytes = module_bytes(models.load_model("cnnnet").module)
    store = ModelStore(models._load_shared, budget_bytes=digits_bytes + cnnnet_bytes + digits_bytes // 2)
    monkeypatch.setattr(models, "_store", store)
    digits, _ = models.get_model("digits")
    cnnnet, _ = models.get_model("cnnnet")
    assert [m.name for m, _ in store.values()] == ["digits", "cnnnet"]
    gone = weakref.ref(digits.module)
    del digits
    copy, _ = trust.shared_randomised_copy(cnnnet)       # cnnnet now takes twice its bytes: digits goes
    assert trust.shared_randomised_copy(cnnnet)[0] is copy
    assert models.model_bytes(cnnnet) == 2 * cnnnet_bytes
    assert [m.name for m, _ in store.values()] == ["cnnnet"]
    gc.collect()
    assert gone() is None
