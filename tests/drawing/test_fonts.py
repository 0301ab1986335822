"""Chinese words drawn into pictures have their glyphs (fonts-noto-cjk: .ci/run and packages.txt install it)."""
import numpy as np
from PIL import Image, ImageDraw

from explorer.drawing.fonts import cjk_font, has_cjk, use_cjk_fallback


def test_chinese_is_drawn_with_real_glyphs_not_boxes():
    font = cjk_font(24)
    assert font is not None, "no CJK font: apt-get install fonts-noto-cjk"
    pictures = []
    for text in ("卷积", "池化"):
        image = Image.new("L", (80, 40), 0)
        ImageDraw.Draw(image).text((4, 4), text, fill=255, font=font)
        pictures.append(np.asarray(image))
    assert pictures[0].sum() > 0 and not np.array_equal(pictures[0], pictures[1])   # tofu boxes look alike


def test_cjk_is_recognised():
    assert has_cjk("步幅 2") and has_cjk("：") and not has_cjk("stride 2")


def test_matplotlib_falls_back_to_the_cjk_font():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_fallback()
    fig, ax = plt.subplots()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # "Glyph ... missing from font(s)" would be a warning
        ax.set_title("卷积核与步幅")
        fig.canvas.draw()
    plt.close(fig)
