"""The frame renderer: sizes, where the window and the output cells are drawn, padding and unused
cells, the GIF, and the code export (run for real and compared with PyTorch)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from explorer.core.sliding import pytorch_code, slide
from explorer.drawing import kernel_frames as kf
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, PRESET_NAMES, preset


def colour_at(im, box):
    """The fill colour of a drawn cell, sampled near its top-left corner (away from the number and
    clear of the 3-pixel window outline)."""
    x0, y0, _, _ = box
    return im.getpixel((x0 + 5, y0 + 5))


def expected_taps(i, j, stride, dilation, k):
    """Padded-input cells under the kernel for output (i, j): i*s + a*d, written out here."""
    return {(i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1])
            for a in range(k[0]) for b in range(k[1])}


@pytest.mark.parametrize("kwargs", [
    dict(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, stride=2),
    dict(matrix=np.arange(63.0).reshape(7, 9), kernel=np.ones((2, 3)), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    dict(matrix=np.arange(30.0).reshape(5, 6), op="max", kernel_size=3, stride=2, padding=1),
])
def test_window_and_output_cells_are_where_the_step_says(kwargs):
    matrix, kernel = kwargs.pop("matrix"), kwargs.pop("kernel", None)
    s = slide(matrix, kernel, **kwargs)
    r = kf.FrameRenderer(s)
    for index in (0, len(s.steps) // 2, len(s.steps) - 1):
        im = r.frame(index)
        i, j = divmod(index, s.output.shape[1])
        taps = expected_taps(i, j, s.stride, s.dilation, s.kernel_size)
        for rr in range(s.padded.shape[0]):
            for cc in range(s.padded.shape[1]):
                got = colour_at(im, r.input.box(rr, cc))
                assert (got == kf.TAP_FILL) == ((rr, cc) in taps), (index, rr, cc, got)
        # the window outline surrounds the taps
        r0, c0 = min(taps)
        x0, y0, _, _ = r.input.box(r0, c0)
        assert im.getpixel((x0, y0 + r.input.ch // 2)) == kf.WINDOW
        # output: cells before this one are done, this one is current, later ones are still empty
        for oi in range(s.output.shape[0]):
            for oj in range(s.output.shape[1]):
                got = colour_at(im, r.output.box(oi, oj))
                order = oi * s.output.shape[1] + oj
                want = kf.DONE_FILL if order < index else kf.TAP_FILL if order == index else kf.WHITE
                assert got == want, (index, oi, oj, got)


def test_padding_and_unused_cells_have_their_own_colours():
    s = slide(np.arange(25.0).reshape(5, 5), np.ones((2, 2)), stride=2, padding=(1, 0))
    r = kf.FrameRenderer(s)
    im = r.frame(0)
    assert s.unused_cols == [4]
    for rr in range(s.padded.shape[0]):
        for cc in range(s.padded.shape[1]):
            if rr in (0, s.padded.shape[0] - 1):
                want = kf.PAD_FILL
            elif cc == 4 or (rr - 1) in s.unused_rows:
                want = kf.UNUSED_FILL
            else:
                continue
            if (rr, cc) not in expected_taps(0, 0, s.stride, s.dilation, s.kernel_size):
                assert colour_at(im, r.input.box(rr, cc)) == want, (rr, cc)


def test_all_frames_have_one_size_and_32x32_stays_legible():
    s = slide(np.random.default_rng(1).integers(0, 256, (32, 32)), np.ones((3, 3)), padding=1)
    r = kf.FrameRenderer(s)
    sizes = {r.frame(k).size for k in (0, 500, len(s.steps) - 1)}
    assert sizes == {(r.width, r.height)}
    assert r.size >= 13                             # cell numbers at least 13 px high
    assert r.input.cw >= kf.font(r.size, True, True).getlength("255")
    assert r.width <= 1500                          # output table moved under the input


def test_frame_index_out_of_range_is_a_value_error():
    r = kf.FrameRenderer(slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2))
    with pytest.raises(ValueError, match="step: must be between 1 and 4"):
        r.frame(4)


def test_long_sums_are_abbreviated_to_fit():
    s = slide(np.ones((12, 12)), np.full((9, 9), 2.0))
    r = kf.FrameRenderer(s)
    full = s.expression(0, times="×")
    assert len(kf._wrap(full, r.formula_size, r.width - 36)) > r.max_lines
    short = s.expression(0, max_terms=16, times="×")        # 14 first terms, 2 last, 65 left out
    assert "+...[65 more]...+" in short and short.endswith("=162")
    r.frame(0)                                      # draws without error


def test_gif_has_every_step(tmp_path):
    s = slide(np.arange(20.0).reshape(4, 5), op="avg", kernel_size=2, stride=1)
    r = kf.FrameRenderer(s)
    path = r.gif(tmp_path / "a.gif", step_ms=250)
    with Image.open(path) as gif:
        assert gif.n_frames == len(s.steps) == 12
        assert gif.size == (r.width, r.height)
        gif.seek(5)
        frame = gif.convert("RGB")
    # the sixth frame marks the sixth output cell as current (GIF colours are within a few units)
    def near(a, b):
        return max(abs(x - y) for x, y in zip(a, b)) <= 8
    assert near(colour_at(frame, r.output.box(1, 1)), kf.TAP_FILL)
    assert near(colour_at(frame, r.output.box(1, 0)), kf.DONE_FILL)
    assert near(colour_at(frame, r.output.box(1, 2)), kf.WHITE)


@pytest.mark.parametrize("kwargs", [
    dict(kernel=[[1, 0.5], [-2, 0]], stride=(1, 2), padding=1, dilation=(2, 1), bias=-1.5),
    dict(op="max", kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
    dict(op="avg", kernel_size=3, stride=(2, 1), padding=1, ceil_mode=True),
])
def test_generated_pytorch_code_reproduces_the_output(kwargs):
    x = np.random.default_rng(3).normal(size=(6, 7)).round(3)
    kernel = kwargs.pop("kernel", None)
    s = slide(x, kernel, **kwargs)
    namespace = {}
    exec(pytorch_code(s), namespace)
    np.testing.assert_array_equal(namespace["out"].numpy(), s.output)
    # and it is what PyTorch itself gives for these settings
    t = torch.tensor(x)[None, None]
    if s.op == "conv":
        ref = F.conv2d(t, torch.tensor(s.kernel)[None, None], torch.tensor([s.bias], dtype=torch.float64),
                       s.stride, s.padding, s.dilation)
    elif s.op == "max":
        ref = F.max_pool2d(t, s.kernel_size, s.stride, s.padding, s.dilation, ceil_mode=s.ceil_mode)
    else:
        ref = F.avg_pool2d(t, s.kernel_size, s.stride, s.padding, ceil_mode=s.ceil_mode)
    np.testing.assert_allclose(namespace["out"].numpy(), ref[0, 0].numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_slides_and_renders(name):
    p = preset(name)
    kwargs = dict(op=p["op"], stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    if p["op"] == "conv":
        s = slide(p["matrix"], p["kernel"], bias=p["bias"], **kwargs)
    else:
        s = slide(p["matrix"], op=p["op"], kernel_size=p["kernel_size"], stride=p["stride"],
                  padding=p["padding"], dilation=p["dilation"], ceil_mode=p["ceil_mode"])
    assert kf.FrameRenderer(s).frame(0).size[0] > 0
    assert p["note"]


def test_chapter_presets_are_the_chapters_examples():
    conv = preset(PRESET_NAMES[0])
    s = slide(conv["matrix"], conv["kernel"], stride=conv["stride"], padding=conv["padding"])
    assert s.output.tolist() == [[12, 13], [65, 45]]
    pool = preset(PRESET_NAMES[2])
    s = slide(pool["matrix"], op="max", kernel_size=pool["kernel_size"], stride=pool["stride"])
    assert s.output.tolist() == [[6, 9]]


def test_a_frame_drawn_in_chinese_has_chinese_words_in_the_cjk_font(monkeypatch):
    from explorer.core.words import speaking
    from explorer.drawing import kernel_text
    from explorer.drawing.fonts import FAMILY, has_cjk

    s = slide(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=2)
    english_frame = np.asarray(kf.FrameRenderer(s).frame(0))
    fonts = []
    font_for = kernel_text.font_for
    monkeypatch.setattr(kernel_text, "font_for", lambda text, *a, **k: fonts.append((text, font_for(text, *a, **k)))
                        or fonts[-1][1])
    with speaking("zh"):
        r = kf.FrameRenderer(s)
        chinese_frame = np.asarray(r.frame(0))
    assert english_frame.shape != chinese_frame.shape or (english_frame != chinese_frame).any()
    chinese_words = [(text, f) for text, f in fonts if has_cjk(text)]
    assert any("输入" in text for text, _ in chinese_words) and any("步" in text for text, _ in chinese_words)
    assert all(f.getname()[0] == FAMILY for _, f in chinese_words)
    assert all(f.getname()[0] == "DejaVu Sans" for text, f in fonts if not has_cjk(text) and text.strip())


def test_rows_and_columns_are_numbered_from_0_and_the_legend_fits(monkeypatch):
    drawn = []
    put_text = kf.put_text
    monkeypatch.setattr(kf, "put_text", lambda im, center, text, *a, **k: drawn.append(text) or put_text(im, center, text, *a, **k))
    s = slide(np.full((5, 5), 7.0), [[1, 0], [0, 1]], stride=2)     # row 4, column 4 never read
    r = kf.FrameRenderer(s)
    numbers = [text for text in drawn if text != "7"]                   # the cells say 7
    assert numbers[:10] == ["0", "1", "2", "3", "4"] * 2               # the row numbers, then the columns'
    for line in r.legend:
        colour, words, x = line[-1]
        assert x + r.small + 8 + kf.text_width(words, r.small) <= r.width      # nothing runs off the frame
    assert r.height >= r.legend_y + len(r.legend) * (r.small + 10)
