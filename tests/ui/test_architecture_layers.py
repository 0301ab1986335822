"""explorer.core.layer_playground: ReLU, Dropout, BatchNorm2d and adaptive pooling on a user's matrix,
checked against formulas written out with numpy."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core import layer_playground as lp

CHAPTER = np.array([[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]], dtype=float)
SIGNED = np.array([[-1.5, 2, 0], [3, -4, 5.25]])


def test_relu_zeroes_negatives_only():
    assert np.array_equal(lp.relu(SIGNED), np.maximum(SIGNED, 0))


def test_dropout_train_mode_zeroes_and_rescales():
    out = lp.dropout(CHAPTER, p=0.5, seed=3, train=True)
    kept = out != 0
    assert 0 < kept.sum() < CHAPTER.size
    assert np.allclose(out[kept], CHAPTER[kept] * 2)
    assert np.array_equal(out, lp.dropout(CHAPTER, p=0.5, seed=3, train=True))        # same seed, same mask
    masks = {tuple((lp.dropout(CHAPTER, p=0.5, seed=s) != 0).ravel()) for s in range(6)}
    assert len(masks) > 1                                                               # resampling changes it


def test_dropout_eval_mode_passes_everything_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert np.array_equal(lp.dropout(CHAPTER, p=0.9, seed=1, train=False), CHAPTER)
    lp.dropout(CHAPTER, p=0.5, seed=7, train=True)
    assert torch.equal(torch.rand(3), expected)



@pytest.mark.parametrize("seed", [10**30, -2**63 - 1, 2**64, 1.5, "7"])
def test_dropout_seed_outside_torchs_range_is_named(seed):
    with pytest.raises(ValueError, match="seed: a whole number from"):
        lp.dropout(CHAPTER, p=0.5, seed=seed)


@pytest.mark.parametrize("seed", [lp.MIN_SEED, lp.MAX_SEED])
def test_dropout_accepts_every_seed_torch_accepts(seed):
    torch.manual_seed(seed)
    expected = torch.nn.functional.dropout(torch.tensor(CHAPTER)[None, None], 0.5, training=True)[0, 0].numpy()
    assert np.array_equal(lp.dropout(CHAPTER, p=0.5, seed=seed), expected)

def test_batchnorm_uses_the_batch_statistics():
    bn = lp.batchnorm(CHAPTER)
    mean, var = CHAPTER.mean(), CHAPTER.var()
    assert bn["batch_mean"] == pytest.approx(mean) and bn["batch_var"] == pytest.approx(var)
    assert np.allclose(bn["train_output"], (CHAPTER - mean) / np.sqrt(var + 1e-5))
    assert bn["train_output"].mean() == pytest.approx(0, abs=1e-9)
    assert bn["train_output"].var() == pytest.approx(1, rel=1e-4)
    assert bn["running_mean"] == pytest.approx(0.1 * mean)
    assert bn["running_var"] == pytest.approx(0.9 + 0.1 * CHAPTER.var(ddof=1))
    assert np.allclose(bn["eval_output"], (CHAPTER - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-5))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), oh=st.integers(1, 9), ow=st.integers(1, 9),
       seed=st.integers(0, 1000))
def test_adaptive_pooling_windows_reproduce_pytorch(h, w, oh, ow, seed):
    m = np.random.default_rng(seed).normal(size=(h, w))
    for kind, reduce in (("avg", np.mean), ("max", np.max)):
        out, rows, cols = lp.adaptive_pool(m, oh, ow, kind)
        assert out.shape == (oh, ow)
        by_hand = np.array([[reduce(m[r0:r1, c0:c1]) for c0, c1 in cols] for r0, r1 in rows])
        assert np.allclose(out, by_hand)


class FrameLike:
    """What a pandas DataFrame (gradio's default Dataframe type) offers to_matrix: .to_numpy()."""

    def __init__(self, rows):
        self.rows = rows

    def to_numpy(self):
        return np.array(self.rows, dtype=object)


def test_to_matrix_reads_every_dataframe_form():
    rows = [[1, "2"], [3.5, " 4 "]]
    for value in (rows, np.array(rows, dtype=object), FrameLike(rows), {"data": rows, "headers": ["a", "b"]}):
        assert np.array_equal(lp.to_matrix(value), [[1, 2], [3.5, 4]])


@pytest.mark.parametrize("value, words", [
    ([[1, ""], [3, 4]], "row 0, column 1"),
    ([[1, 2], [3, "x"]], "row 1, column 1"),
    ([[1, float("inf")]], "finite"),
    ([], "empty"),
    ([[0] * 65], "at most"),
])
def test_to_matrix_names_the_bad_cell(value, words):
    with pytest.raises(ValueError, match=words):
        lp.to_matrix(value)


@pytest.mark.parametrize("call, words", [
    (lambda: lp.dropout(CHAPTER, p=1.5), "between 0 and 1"),
    (lambda: lp.adaptive_pool(CHAPTER, 0, 2), "output height"),
    (lambda: lp.adaptive_pool(CHAPTER, 2, 2.5), "output width"),
    (lambda: lp.adaptive_pool(CHAPTER, 2, 2, "median"), "kind"),
])
def test_bad_settings_get_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call()
