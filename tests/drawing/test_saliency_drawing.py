"""The Saliency tab's pictures in Chinese: the words drawn into them (the colour scale's ends, the sheet's
captions, the curves' titles and axes) are Chinese with real glyphs; English pictures stay as they were."""
import re
import warnings

import numpy as np
from PIL import Image

from explorer.core.attribution import Attribution
from explorer.core.models import get_model
from explorer.core.words import speaking
from explorer.drawing.saliency import MapLook, draw_sheet, gallery_items, render

CJK = re.compile(r"[\u4e00-\u9fff]")


def _result() -> Attribution:
    heat = np.linspace(-1, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    return Attribution("saliency", 3, "3", heat)


def test_the_colour_scale_is_labelled_in_the_visitors_language():
    model, _ = get_model("digits")
    picture = Image.new("RGB", (140, 140), "white")
    _, english = render(model, picture, _result(), MapLook())
    with speaking("zh"):
        _, chinese = render(model, picture, _result(), MapLook())
    scale_en, scale_zh = (np.asarray(p)[-30:] for p in (english, chinese))
    assert np.array_equal(np.asarray(english)[:-30], np.asarray(chinese)[:-30])      # the map itself is the same
    assert not np.array_equal(scale_en, scale_zh)
    # 低 and 高 drawn with a CJK font: ink at each end, and the two ends unlike each other (tofu boxes look alike)
    low, high = scale_zh[:, :50], scale_zh[:, -54:-4]
    assert (low < 128).any() and (high < 128).any()
    assert not np.array_equal(low < 128, high[:, :50] < 128)


def test_the_sheets_chinese_captions_use_real_glyphs():
    model, _ = get_model("digits")
    picture = Image.new("RGB", (140, 140), "white")
    with speaking("zh"):
        items = gallery_items(model, picture, [_result()], MapLook())
    assert all(CJK.search(caption) for _, caption in items)
    tiles = [np.asarray(draw_sheet([(Image.new("RGB", (140, 40), "white"), words)]))[:24] for words in
             ("叠在图片上", "热力图了吗")]
    assert (tiles[0] < 128).any() and not np.array_equal(tiles[0], tiles[1])


def test_the_curves_are_titled_in_chinese_with_every_glyph():
    from explorer.core import trust
    from explorer.core.trust_curves import Curve

    fractions = np.linspace(0, 1, 9)
    orders = np.tile(np.linspace(0.9, 0.1, 9), (39, 1)) + np.linspace(0, 0.05, 39)[:, None]
    deletion = Curve("deletion", "blur", fractions, np.linspace(0.9, 0.05, 9) ** 2, orders)
    insertion = Curve("insertion", "blur", fractions, np.linspace(0.05, 0.9, 9), orders[:, ::-1].copy())
    check = trust.TrustCheck("saliency", 3, "3", "absolute", 0.9, trust.judge_curve(deletion, 0.9),
                             trust.judge_curve(insertion, 0.9), trust.RandomisationCheck(True, True, trust.CHANGES, ""))
    from explorer.drawing.saliency import curve_figure

    with speaking("zh"):
        figure = curve_figure([{"title": "梯度显著图 (Saliency)", "check": check}])
    left, right = figure.axes
    assert CJK.search(left.get_title()) and CJK.search(left.get_xlabel()) and CJK.search(right.get_title())
    assert all(CJK.search(text.get_text()) for text in figure.legends[0].get_texts())
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with warnings.catch_warnings():
        warnings.simplefilter("error")          # "Glyph ... missing from font(s)" would be a warning
        FigureCanvasAgg(figure).draw()
    renderer = figure.canvas.get_renderer()
    legend = figure.legends[0].get_window_extent(renderer)
    for axes in (left, right):         # the legend sits under the plots: it covers no curve and no band
        assert not legend.overlaps(axes.get_window_extent(renderer)), (legend, axes.get_window_extent(renderer))
