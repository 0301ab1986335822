"""Starting points for the Kernel tab: the chapter's worked examples, classic kernels, picture crops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from explorer.core.words import pick, say
from explorer.drawing.kernel_frames import font

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"

CHAPTER_MATRIX = [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]
CHAPTER_KERNEL = [[1, 0], [1, 0]]
POOL_MATRIX = [[1, 2, 1, 4, 1], [5, 6, 1, 2, 5], [5, 0, 0, 9, 6]]
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]              # responds to left-to-right brightness steps
GAUSS = [[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]]   # 1-2-1 blur, sums to 1

DEFAULTS = dict(op="conv", kernel_size="2", stride="1", padding="0", dilation="1", bias=0.0, ceil_mode=False)


def _square(n: int = 8, inside: int = 9) -> list[list[int]]:
    """A bright square on a dark background: clear edges for the edge detector and the blur."""
    m = np.zeros((n, n), int)
    m[2:n - 2, 2:n - 2] = inside
    return m.tolist()


def drawn_digit(digit: str = "3", side: int = 12) -> list[list[int]]:
    """The digit drawn with a pen-like font on a side x side grid: ink 0..255, paper 0."""
    big = Image.new("L", (side * 8, side * 8), 0)
    ImageDraw.Draw(big).text((side * 4, side * 4), digit, fill=255, font=font(side * 7, bold=True),
                             anchor="mm")
    return np.asarray(big.resize((side, side), Image.Resampling.BOX)).astype(int).tolist()


def photo_crop(side: int = 16) -> tuple[list[list[int]], dict]:
    """A side x side grayscale crop of an example photo (the cat's eye when cat.jpg is there), and what
    it is in words ({"en": ..., "zh": ...})."""
    photos = sorted(EXAMPLES.glob("*.jpg"))
    if not photos:
        return drawn_digit("7", side), _photo_words("none", side)
    path = EXAMPLES / "cat.jpg" if (EXAMPLES / "cat.jpg").exists() else photos[0]
    with Image.open(path) as im:
        gray = ImageOps.grayscale(im)
        w, h = gray.size
        if path.name == "cat.jpg":
            box = (int(w * 0.27), int(h * 0.2), int(w * 0.53), int(h * 0.6))   # around the left eye
            what = "cat"
        else:
            c = min(w, h) // 3
            box = (w // 2 - c, h // 2 - c, w // 2 + c, h // 2 + c)
            what = path.name
        crop = gray.crop(box).resize((side, side), Image.Resampling.BOX)
    return np.asarray(crop).astype(int).tolist(), _photo_words(what, side)


def random_matrix(rng: np.random.Generator | None = None, side: int = 6) -> list[list[int]]:
    rng = rng or np.random.default_rng()
    return rng.integers(0, 10, (side, side)).tolist()


PRESET_NAMES = (
    "Chapter: convolution (stride 2)",
    "Chapter: convolution, padding 1",
    "Chapter: max pooling 3x3, stride 2",
    "Edge detector on a square",
    "Blur on a square",
    "Random 6x6 matrix",
    "Photo crop with edge detector",
    "Drawn digit with max pooling",
)
# What a Chinese visitor reads for each preset (the preset's value stays its English name).
PRESET_CHINESE = dict(zip(PRESET_NAMES, (
    "本章例子：卷积（步幅 2）",
    "本章例子：卷积，填充 1",
    "本章例子：3x3 最大池化，步幅 2",
    "方块上的边缘检测",
    "方块上的模糊",
    "随机 6x6 矩阵",
    "照片局部 + 边缘检测",
    "手写数字 + 最大池化",
)))


def _photo_words(what: str, side: int) -> dict:
    """Where the photo crop comes from, in both languages."""
    zh = {"cat": "猫的眼睛", "none": "手写的 7（没有安装示例照片）"}.get(what, f"{what} 的中间")
    en = {"cat": "the cat's eye", "none": "a drawn 7 (no example photo installed)"}.get(what, f"the middle of {what}")
    if what == "none":
        return dict(en=en, zh=zh)
    return dict(en=f"{en}, {side}x{side} grayscale", zh=f"{zh}，{side}x{side} 灰度")


def notes(name: str) -> dict:
    """What preset `name` shows, in a sentence: {"en": ..., "zh": ...}."""
    if name == PRESET_NAMES[6]:
        what = photo_crop()[1]
        return dict(en=f"Pixels of {what['en']} (0 = black, 255 = white) under an edge detector.",
                    zh=f"{what['zh']}的像素（0 = 黑，255 = 白），经过边缘检测卷积核。")
    en, zh = {
        PRESET_NAMES[0]: ("The chapter's example: the first window gives (10x1)+(11x0)+(2x1)+(123x0) = 12.",
                          "本章的例子：第一个窗口得到 (10x1)+(11x0)+(2x1)+(123x0) = 12。"),
        PRESET_NAMES[1]: ("Stride 1 with padding 1: a border of zeros lets the last window be [[3,0],[0,0]].",
                          "步幅 1、填充 1：外圈补一圈 0，最后一个窗口就是 [[3,0],[0,0]]。"),
        PRESET_NAMES[2]: ("The chapter's max pooling: two 3x3 windows, output [6, 9].",
                          "本章的最大池化：两个 3x3 窗口，输出 [6, 9]。"),
        PRESET_NAMES[3]: ("A Sobel kernel: big positive values where brightness rises left to right, "
                          "negative where it falls.",
                          "Sobel 卷积核：亮度从左到右变亮处得到大的正值，变暗处得到负值。"),
        PRESET_NAMES[4]: ("A 1-2-1 blur: each output is a weighted mean of its neighbourhood (weights sum to 1).",
                          "1-2-1 模糊：每个输出是邻域的加权平均（权重之和为 1）。"),
        PRESET_NAMES[5]: ("A new random matrix each time.", "每次都是一个新的随机矩阵。"),
        PRESET_NAMES[7]: ("A drawn 3 (ink 0..255): 2x2 max pooling halves it and keeps the strokes.",
                          "手写的 3（墨迹 0..255）：2x2 最大池化把它缩小一半，笔画仍在。"),
    }[name]
    return dict(en=en, zh=zh)


def preset(name: str) -> dict:
    """Everything the tab needs to show `name`: matrix, kernel, op, kernel_size, stride, padding,
    dilation, bias, ceil_mode, and a sentence saying what it shows (`note`, in the language spoken;
    `notes`, in both)."""
    p = dict(DEFAULTS)
    if name == PRESET_NAMES[0]:
        p.update(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, stride="2")
    elif name == PRESET_NAMES[1]:
        p.update(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, padding="1")
    elif name == PRESET_NAMES[2]:
        p.update(matrix=POOL_MATRIX, kernel=[[1, 1, 1]] * 3, op="max", kernel_size="3", stride="2")
    elif name == PRESET_NAMES[3]:
        p.update(matrix=_square(), kernel=SOBEL_X, padding="1")
    elif name == PRESET_NAMES[4]:
        p.update(matrix=_square(), kernel=GAUSS, padding="1")
    elif name == PRESET_NAMES[5]:
        p.update(matrix=random_matrix(), kernel=[[1, 0, -1], [1, 0, -1], [1, 0, -1]])
    elif name == PRESET_NAMES[6]:
        p.update(matrix=photo_crop()[0], kernel=SOBEL_X, padding="1")
    elif name == PRESET_NAMES[7]:
        p.update(matrix=drawn_digit("3"), kernel=[[1, 1], [1, 1]], op="max", kernel_size="2", stride="2")
    else:
        raise ValueError(say("preset: unknown preset {name!r}; choose one of {names}",
                             "preset：没有名为 {name!r} 的预设；请选 {names} 之一", name=name, names=", ".join(PRESET_NAMES)))
    words = notes(name)
    return dict(p, note=pick(words), notes=words)
