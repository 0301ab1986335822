"""Results kept for repeated questions: bounded, and a repeated explanation answered without the model."""
from pathlib import Path

import numpy as np
import pytest
import torch
from hook_recorder import recording

from explorer.core import trust, trust_curves
from explorer.core.models import get_model
from explorer.core.recent import Recent, fingerprint, picture_key
from explorer.ui import saliency_runs

ESPRESSO = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "espresso.jpg")
CAT = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "cat.jpg")


def test_the_least_recently_used_value_goes_first():
    store = Recent(max_entries=2)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1          # "a" is now the most recent
    store.put("c", 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3


def test_a_failed_computation_is_not_kept():
    store = Recent()

    def fails():
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        store.get_or_compute("k", fails)
    assert len(store) == 0
    assert store.get_or_compute("k", lambda: 5) == 5 and store.get_or_compute("k", lambda: 6) == 5


def test_fingerprints_tell_contents_shapes_and_types_apart():
    x = torch.arange(6.0)
    assert fingerprint(x) == fingerprint(x.numpy().copy())
    assert fingerprint(x) != fingerprint(x.reshape(2, 3))
    assert fingerprint(x) != fingerprint(x.double())
    assert fingerprint(x) != fingerprint(x + 1e-6)
    assert picture_key(ESPRESSO) != picture_key(CAT)


def test_a_repeated_explanation_and_trust_check_do_not_run_the_model_again():
    model, _ = get_model("digits")
    image = saliency_runs.image_of(ESPRESSO)
    saliency_runs.forget_results()
    copy, _ = trust.shared_randomised_copy(model)
    with torch.no_grad():     # the top class: one with almost no probability has no randomisation to measure
        top = int(model.module(model.preprocess(image)).argmax())
    batch = lambda module, inputs: inputs[0].shape[0]
    with recording(model.module, batch, before=True) as calls, recording(copy.module, batch, before=True) as copy_calls:
        first = saliency_runs.explained("digits", ESPRESSO, image, "saliency", top, {})
        first_check = saliency_runs.checked("digits", ESPRESSO, image, first, "absolute")
        computed, computed_on_copy = len(calls), len(copy_calls)
        again = saliency_runs.explained("digits", ESPRESSO, image, "saliency", top, {})
        again_check = saliency_runs.checked("digits", ESPRESSO, image, again, "absolute")
        repeated = len(calls) - computed
        # another sign: a new deletion curve of the part shown, the randomised model's map reused
        saliency_runs.checked("digits", ESPRESSO, image, again, "positive")
        new_sign_on_copy = len(copy_calls) - computed_on_copy
        new_sign = len(calls) - computed
        other = saliency_runs.explained("digits", ESPRESSO, image, "saliency", (top + 1) % 10, {})
        other_class = len(calls) - computed - new_sign
    assert computed >= 2 and computed_on_copy >= 1 and repeated == 0
    # the intact picture, then the map's own curves (the random orders' are kept), CHUNK pictures a pass
    own = trust_curves.curve_passes(random_known=True)
    assert new_sign == 1 + -(-own // trust_curves.CHUNK) and new_sign_on_copy == 0 and other_class >= 1
    assert again is first and again_check is first_check
    assert other.target == (top + 1) % 10 and not np.array_equal(other.input_map, first.input_map)
    # what was kept is what PyTorch computes now
    x = model.preprocess(image).requires_grad_()
    model.module(x)[0, top].backward()
    np.testing.assert_allclose(first.input_map, x.grad[0].sum(0).numpy(), rtol=1e-5, atol=1e-7)


def test_swap_tells_exactly_one_of_many_threads_that_a_value_is_new():
    from concurrent.futures import ThreadPoolExecutor

    store = Recent(max_entries=4)
    for round_ in range(50):
        with ThreadPoolExecutor(8) as pool:
            replaced = list(pool.map(lambda _: store.swap("session", f"file {round_}"), range(8)))
        assert sum(found != f"file {round_}" for found in replaced) == 1
    assert store.swap("other", 1) is None and store.swap("other", 2) == 1 and store.get("other") == 2


def test_a_module_key_is_never_a_freed_modules_even_where_python_reuses_its_id():
    """Caches keyed by a model object (the trust check's random curves) used id(module): a test's toy model
    made after another was freed could get its id, and found the freed model's results (a flaky test). Plain
    objects stand in for modules here: CPython gives a freed one's address to the next of its size."""
    import gc
    from types import SimpleNamespace

    from explorer.core.recent import module_key

    first = SimpleNamespace()
    kept = module_key(first)
    assert module_key(first) == kept                     # stable for one object
    freed_id = id(first)
    del first
    gc.collect()
    made = [SimpleNamespace() for _ in range(1000)]      # kept alive, so each is a new address or the freed one
    reused = next((m for m in made if id(m) == freed_id), None)
    assert reused is not None, "no new object got the freed id: the premise of this test did not happen"
    assert id(reused) == kept[0] and module_key(reused) != kept
