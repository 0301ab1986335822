"""The Architecture tab's comparison as a picture: accuracy against cost, one bubble per model, each
bubble named where its name covers nothing. matplotlib figures drawn by Agg, without pyplot; no gradio."""
from __future__ import annotations

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from explorer.core.architecture import Comparison
from explorer.core.words import say
from explorer.drawing.architecture_drawing import new_figure

# Where a bubble's name may go, in points from its centre, tried in order until it overlaps nothing.
LABEL_OFFSETS = [(6, 6, "left", "bottom"), (6, -6, "left", "top"), (-6, 6, "right", "bottom"),
                 (-6, -6, "right", "top"), (0, 10, "center", "bottom"), (0, -10, "center", "top"),
                 (10, 0, "left", "center"), (-10, 0, "right", "center"), (14, 16, "left", "bottom"),
                 (14, -16, "left", "top"), (-14, 16, "right", "bottom"), (-14, -16, "right", "top")]


def _overlaps(box, others) -> bool:
    return any(box.overlaps(other) for other in others)


def place_labels(ax, points: list[tuple[float, float]], names: list[str], radii: list[float]) -> list:
    """One annotation per point, each at the first offset whose text box overlaps no label placed so far
    and no bubble, lies nearer its own point than any other and stays inside the axes (measured with the
    renderer's own text extents)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_pixels = fig.dpi / 72
    bubbles = [_bubble_box(ax, p, r * to_pixels) for p, r in zip(points, radii)]
    inside = ax.get_window_extent(renderer)
    centres = [ax.transData.transform(p) for p in points]
    placed, labels = [], []
    for index, (point, name) in enumerate(zip(points, names)):
        others = [b for k, b in enumerate(bubbles) if k != index]
        for dx, dy, ha, va in LABEL_OFFSETS:
            dx += np.sign(dx) * radii[index] * 0.7
            dy += np.sign(dy) * radii[index] * 0.7
            label = ax.annotate(name, point, xytext=(dx, dy), textcoords="offset points", fontsize=8, ha=ha, va=va)
            box = label.get_window_extent(renderer)
            fits = inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1)
            if fits and not _overlaps(box, placed + others) and _nearest(box, centres) == index:
                break
            label.remove()
        else:   # nowhere free: the first place, which at least names the right bubble
            dx, dy, ha, va = LABEL_OFFSETS[0]
            label = ax.annotate(name, point, xytext=(dx, dy), textcoords="offset points", fontsize=8, ha=ha, va=va)
            box = label.get_window_extent(renderer)
        placed.append(box)
        labels.append(label)
    return labels


def _nearest(box, centres) -> int:
    """The index of the point closest to a text box (distance to the box's nearest edge)."""
    def distance(c):
        return np.hypot(max(box.x0 - c[0], 0, c[0] - box.x1), max(box.y0 - c[1], 0, c[1] - box.y1))
    return int(np.argmin([distance(c) for c in centres]))


def _bubble_box(ax, point, radius_px: float) -> Bbox:
    x, y = ax.transData.transform(point)
    return Bbox([[x - radius_px, y - radius_px], [x + radius_px, y + radius_px]])


def compare_plot(rows: list[Comparison]) -> Figure:
    """Top-1 accuracy against multiply-accumulates and against measured latency, one bubble per model
    (its area in proportion to the parameters), each named beside its bubble."""
    known = [r for r in rows if r.top1 is not None]
    fig = new_figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    sizes = [max(r.params / 1e6 * 6, 12) for r in known]
    placements = []
    for ax, attr, label in ((axes[0], "macs", say("multiply-accumulates per image (G)", "每张图的乘加次数 (G)")),
                            (axes[1], "latency_ms", say("measured latency per image (ms, {device})",
                                                        "实测每张图的延迟（ms，{device}）", device=rows[0].device))):
        points = [(r.macs / 1e9 if attr == "macs" else r.latency_ms, r.top1) for r in known]
        for (x, y), size in zip(points, sizes):
            ax.scatter(x, y, s=size, alpha=0.55, edgecolor="black", linewidth=0.6)
        if known:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.margins(x=0.25, y=0.15)
        ax.set_xlabel(label)
        ax.set_ylabel(say("ImageNet top-1 accuracy (%)", "ImageNet top-1 准确率 (%)"))
        ax.grid(alpha=0.3)
        placements.append((ax, points))
    missing = [r.title for r in rows if r.top1 is None]
    note = say(" Not plotted (no ImageNet figure in the weights' metadata): {names}.",
               "未画出（权重的元数据里没有 ImageNet 成绩）：{names}。", names=", ".join(missing)) if missing else ""
    fig.suptitle(say("Accuracy against cost; bubble area ∝ parameters.", "准确率与计算代价；气泡面积 ∝ 参数量。") + note,
                 fontsize=9)
    fig.tight_layout()
    # after the layout is final: the labels are placed by where they fall in pixels
    names = [r.title.split(" (")[0] for r in known]
    radii = [size ** 0.5 / 2 for size in sizes]     # scatter's s is an area in points²
    for ax, points in placements:
        place_labels(ax, points, names, radii)
    return fig
