"""slide() against PyTorch itself: random configurations, the chapter's examples, bad input."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.sliding import SlideSettings, as_matrix, as_pair, output_size, replay, slide

CHAPTER_MATRIX = [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]
POOL_MATRIX = [[1, 2, 1, 4, 1], [5, 6, 1, 2, 5], [5, 0, 0, 9, 6]]


def torch_reference(x, w, op, k, stride, padding, dilation, bias, ceil_mode):
    """PyTorch's answer computed here, separately from slide(), with the nn layer classes."""
    t = torch.tensor(x, dtype=torch.float64)[None, None]
    with torch.no_grad():
        if op == "conv":
            layer = torch.nn.Conv2d(1, 1, w.shape, stride, padding, dilation, dtype=torch.float64)
            layer.weight.copy_(torch.tensor(w)[None, None])
            layer.bias.fill_(bias)
        elif op == "max":
            layer = torch.nn.MaxPool2d(k, stride, padding, dilation, ceil_mode=ceil_mode)
        else:
            layer = torch.nn.AvgPool2d(k, stride, padding, ceil_mode=ceil_mode)
        return layer(t)[0, 0].numpy()


pairs = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))


@st.composite
def configs(draw):
    op = draw(st.sampled_from(["conv", "max", "avg"]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    x = draw(st.lists(st.lists(st.integers(-50, 50), min_size=w, max_size=w), min_size=h, max_size=h))
    k = draw(pairs)
    kh, kw = (k, k) if isinstance(k, int) else k
    stride = draw(pairs)
    dilation = 1 if op == "avg" else draw(st.one_of(st.just(1), pairs))
    pmax = (kh // 2, kw // 2) if op != "conv" else (3, 3)
    padding = draw(st.one_of(st.integers(0, min(pmax)),
                             st.tuples(st.integers(0, pmax[0]), st.integers(0, pmax[1]))))
    kernel = np.array(draw(st.lists(st.lists(st.integers(-3, 3), min_size=kw, max_size=kw),
                                    min_size=kh, max_size=kh)), float)
    bias = draw(st.sampled_from([0.0, 0.5, -2.0])) if op == "conv" else 0.0
    ceil_mode = draw(st.booleans()) if op != "conv" else False
    return op, np.array(x, float), kernel, k, stride, padding, dilation, bias, ceil_mode


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_slide_matches_pytorch_or_both_refuse(cfg):
    op, x, kernel, k, stride, padding, dilation, bias, ceil_mode = cfg
    try:
        expected = torch_reference(x, kernel, op, k, stride, padding, dilation, bias, ceil_mode)
    except RuntimeError:
        expected = None
    kwargs = dict(op=op, stride=stride, padding=padding, dilation=dilation, bias=bias, ceil_mode=ceil_mode)
    if op == "conv":
        args = (x, kernel)
    else:
        args = (x,)
        kwargs["kernel_size"] = k
    if expected is None:
        with pytest.raises(ValueError):
            slide(*args, **kwargs)
        return
    s = slide(*args, **kwargs)
    np.testing.assert_array_equal(s.output, expected)
    assert len(s.steps) == s.output.size
    assert [st.position for st in s.steps] == [(i, j) for i in range(s.output.shape[0])
                                                for j in range(s.output.shape[1])]
    for step in s.steps:
        assert math.isclose(step.value, s.output[step.position], rel_tol=1e-9, abs_tol=1e-9)
        assert step.window.shape == s.kernel_size
    # the size formula per axis is PyTorch's output size
    for axis in range(2):
        assert s.formulas[axis].endswith(str(s.output.shape[axis])) or "dropped" in s.formulas[axis]
    check_unused(s)


def check_unused(s):
    """Rows/columns no tap reads: bumping them leaves PyTorch's output unchanged; any other changes it."""
    kernel = None if s.kernel is None else np.ones_like(s.kernel)   # no zero weight hides a read cell

    def run(x):
        return torch_reference(x, kernel, s.op, s.kernel_size, s.stride, s.padding, s.dilation, 0.0,
                               s.ceil_mode)

    base = run(s.matrix)
    used = [sorted(set(range(n)) - set(u)) for n, u in zip(s.matrix.shape, (s.unused_rows, s.unused_cols))]
    for axis, unused in ((0, s.unused_rows), (1, s.unused_cols)):
        other = used[1 - axis]
        for idx in range(s.matrix.shape[axis]):
            bumped = s.matrix.copy()
            if axis == 0:
                bumped[idx, :] += 1000.0
            else:
                bumped[:, idx] += 1000.0
            again = run(bumped)
            if idx in unused or not other:
                np.testing.assert_array_equal(again, base)
            else:
                assert not np.array_equal(again, base), (axis, idx)


def test_chapter_convolution_example():
    s = slide(CHAPTER_MATRIX, [[1, 0], [1, 0]], stride=2)
    assert s.output.tolist() == [[12, 13], [65, 45]]
    assert s.expression(0) == "(10x1)+(11x0)+(2x1)+(123x0)=12"
    assert s.steps[1].window.tolist() == [[9, 3], [4, 0]]
    assert s.steps[1].value == 13


def test_chapter_padding_example_last_window_is_zero_border():
    s = slide(CHAPTER_MATRIX, [[1, 0], [1, 0]], stride=1, padding=1)
    last_in_first_rows = [st for st in s.steps if st.position[0] == 1][-1]
    assert last_in_first_rows.window.tolist() == [[3, 0], [0, 0]]
    assert s.padded.shape == (6, 6) and s.padded[0].tolist() == [0] * 6


def test_chapter_max_pool_example():
    s = slide(POOL_MATRIX, op="max", kernel_size=3, stride=2)
    assert s.output.tolist() == [[6, 9]]
    assert len(s.steps) == 2
    assert s.expression(0) == "max(1,2,1,5,6,1,5,0,0)=6"
    avg = slide(POOL_MATRIX, op="avg", kernel_size=3, stride=2)
    np.testing.assert_allclose(avg.output, [[np.mean(np.array(POOL_MATRIX)[:, 0:3]),
                                             np.mean(np.array(POOL_MATRIX)[:, 2:5])]])


def test_dropped_rows_and_columns_are_reported():
    x = np.arange(25.0).reshape(5, 5)
    s = slide(x, np.ones((2, 2)), stride=2)
    assert s.unused_rows == [4] and s.unused_cols == [4]
    s = slide(x, np.ones((2, 2)), stride=(1, 3))
    assert s.unused_rows == [] and s.unused_cols == [2]
    check_unused(s)


def test_max_pool_pads_with_minus_infinity_and_avg_counts_padding():
    x = -np.ones((2, 2))
    s = slide(x, op="max", kernel_size=2, padding=1)
    assert np.isneginf(s.padded[0, 0])
    assert s.output.max() == -1
    a = slide(x, op="avg", kernel_size=2, padding=1)
    assert a.output[0, 0] == pytest.approx(-0.25)      # one real cell of four


def test_ceil_mode_window_clipped_like_pytorch():
    x = np.arange(20.0).reshape(4, 5)
    s = slide(x, op="avg", kernel_size=2, stride=2, ceil_mode=True)
    assert s.output.shape == (2, 3)
    last = s.steps[-1]
    assert np.isnan(last.window[:, 1]).all()           # the tap beyond the input is not there
    assert last.value == pytest.approx(s.output[1, 2])
    assert "ceil" in s.formulas[1]


def test_output_size_formula_matches_pytorch_everywhere():
    for n in range(1, 12):
        for k in range(1, 5):
            for st_ in range(1, 4):
                for p in range(0, k // 2 + 1):
                    for ceil in (False, True):
                        t = torch.zeros(1, 1, n, 1)
                        try:
                            got = F.max_pool2d(t, (k, 1), (st_, 1), (p, 0), ceil_mode=ceil).shape[2]
                        except RuntimeError:
                            continue
                        assert output_size(n, k, st_, p, 1, ceil) == got, (n, k, st_, p, ceil)


@pytest.mark.parametrize("kwargs, message", [
    (dict(matrix=[]), "matrix is empty"),
    (dict(matrix=[[1, 2], [3]]), "matrix row 1 has 1 cell but row 0 has 2"),
    (dict(matrix=[[1, 2, 3], [4, 5, "abc"]]), "matrix row 1, column 2: 'abc' is not a number"),
    (dict(matrix=[[1, ""], [3, 4]]), "matrix row 0, column 1 is empty"),
    (dict(matrix=[[1, float("nan")]]), "matrix row 0, column 1: nan is not a finite number"),
    (dict(matrix=[[1, "inf"]]), "matrix row 0, column 1: 'inf' is not a finite number"),
    (dict(matrix=np.ones((33, 2))), "matrix has 33 rows; at most 32"),
    (dict(matrix=np.ones((2, 40))), "matrix has 40 columns; at most 32"),
    (dict(matrix=[1, 2, 3]), "matrix row 0 is not a row of numbers"),
    (dict(matrix="12"), "matrix must be a table"),
    (dict(matrix=[[True, 1]]), "matrix row 0, column 0: True is not a number"),
    (dict(kernel=[[1, None]]), "kernel row 0, column 1 is empty"),
    (dict(kernel=None), "kernel: convolution needs a kernel"),
    (dict(kernel=np.ones((5, 1))), "kernel: the window spans 5 rows"),
    (dict(kernel=np.ones((2, 2)), dilation=4), "kernel: the window spans 5 rows with dilation 4"),
    (dict(stride=0), "stride: must be at least 1, got 0"),
    (dict(stride="2,x"), "stride: '2,x' is not a whole number"),
    (dict(stride=1.5), "stride: 1.5 is not a whole number"),
    (dict(stride=(1, 2, 3)), "stride: give one number or an 'h,w' pair"),
    (dict(padding=-1), "padding: must be at least 0, got -1"),
    (dict(dilation=0), "dilation: must be at least 1, got 0"),
    (dict(op="sum"), "op: must be one of conv, max, avg"),
    (dict(bias=float("inf")), "bias: inf is not a finite number"),
    (dict(bias="b"), "bias: 'b' is not a number"),
    (dict(ceil_mode=True), "ceil_mode: only pooling has ceil_mode"),
    (dict(op="max", kernel=None, kernel_size=3, padding=2), "padding: pooling pads at most half"),
    (dict(op="max", kernel=None, kernel_size=5), "kernel_size: the window spans 5 rows"),
    (dict(op="max", kernel=None), "kernel_size: pooling needs a window size"),
    (dict(op="avg", kernel=None, kernel_size=2, dilation=2), "dilation: average pooling has no dilation"),
    (dict(op="max", kernel=None, kernel_size=2, bias=1.0), "bias: pooling has no bias"),
])
def test_bad_input_is_a_value_error_naming_it(kwargs, message):
    args = dict(matrix=np.ones((4, 4)), kernel=np.ones((2, 2)))
    args.update(kwargs)
    matrix, kernel = args.pop("matrix"), args.pop("kernel")
    with pytest.raises(ValueError) as info:
        slide(matrix, kernel, **args)
    assert message in str(info.value)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 5), st.floats(allow_nan=True),
                 st.lists(st.one_of(st.integers(-3, 5), st.text(max_size=3)), max_size=3)),
       st.sampled_from(["stride", "padding", "dilation", "kernel_size", "bias", "ceil_mode"]),
       st.sampled_from(["conv", "max", "avg"]))
def test_any_argument_value_gives_a_result_or_a_value_error(value, name, op):
    kernel = np.ones((2, 2))
    kwargs = {"op": op, name: value}
    if op != "conv" and name != "kernel_size":
        kwargs["kernel_size"] = 2
    try:
        s = slide(np.arange(16.0).reshape(4, 4), kernel, **kwargs)
    except ValueError as e:
        assert str(e).split(":")[0].split(" ")[0] in {name, "kernel", "kernel_size", "padding"}, str(e)
    else:
        assert s.output.size == len(s.steps)


def test_pairs_from_text():
    assert as_pair("2,3", "stride", 1) == (2, 3)
    assert as_pair(" (1, 2) ", "stride", 1) == (1, 2)
    assert as_pair("4", "stride", 1) == (4, 4)
    assert as_pair(2.0, "stride", 1) == (2, 2)
    assert as_pair([3], "stride", 1) == (3, 3)


def test_settings_written_differently_are_the_same_settings():
    """Checked settings compare and hash by value: "2", 2 and (2, 2) are one stride, 1 and 1.0 one cell."""
    a = SlideSettings.checked(CHAPTER_MATRIX, [[1, 0], [1, 0]], stride="2", padding="0,0", dilation=1)
    b = SlideSettings.checked(np.array(CHAPTER_MATRIX, dtype=float), [[1.0, 0], [1, 0.0]], stride=(2, 2),
                              padding=0, dilation="1")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.stride == (2, 2) and a.kernel_size == (2, 2) and a.matrix[1][1] == 123.0
    assert a != SlideSettings.checked(CHAPTER_MATRIX, [[1, 0], [1, 0]], stride=1)
    with pytest.raises(Exception):
        a.stride = (1, 1)                                          # frozen


def test_slide_is_the_replay_of_its_checked_settings():
    settings = SlideSettings.checked(POOL_MATRIX, op="max", kernel_size=3, stride=2, ceil_mode=True)
    s, again = slide(POOL_MATRIX, op="max", kernel_size=3, stride=2, ceil_mode=True), replay(settings)
    assert np.array_equal(s.output, again.output) and s.formulas == again.formulas
    assert [st.position for st in s.steps] == [st.position for st in again.steps]
    assert settings.kernel is None and settings.ceil_mode is True


@pytest.mark.parametrize("table", [
    [[1, 2.5], [-3, 1e308]],                          # plain numbers: checked at once
    [[1, "2.5"], [-3, 1e308]],                        # text: cell by cell
    [[np.int64(1), 2.5], [-3, np.float32(1e30)]],     # numpy scalars: cell by cell
])
def test_a_table_gives_the_same_numbers_whichever_way_it_is_checked(table):
    expected = np.array([[float(v) for v in row] for row in table])
    assert np.array_equal(as_matrix(table), expected) and as_matrix(table).dtype == np.float64


def test_a_bad_cell_among_plain_numbers_is_still_named():
    with pytest.raises(ValueError, match="matrix row 1, column 0: -inf is not a finite number"):
        as_matrix([[1, 2], [float("-inf"), 4]])


def test_messages_speak_chinese_with_the_argument_named_as_code():
    from explorer.core.words import speaking
    from explorer.drawing.fonts import has_cjk

    cases = [dict(matrix=[[1, "abc"]]), dict(stride="0"), dict(kernel=np.ones((5, 1))), dict(op="max", bias=1.0)]
    for changes in cases:
        args = {**dict(matrix=CHAPTER_MATRIX, kernel=[[1, 0], [1, 0]]), **changes}
        with speaking("zh"), pytest.raises(ValueError) as chinese:
            slide(**args)
        with pytest.raises(ValueError) as english:
            slide(**args)
        assert has_cjk(str(chinese.value)) and not has_cjk(str(english.value))
        assert str(chinese.value).split("：")[0].split(" ")[0] == str(english.value).split(":")[0].split(" ")[0]
