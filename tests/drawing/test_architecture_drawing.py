"""Geometry of the Architecture tab's pictures, measured on the matplotlib figures themselves: the chain
drawing's lines cross no box, its labels name layers, the comparison plot's labels do not overlap."""
import numpy as np
import pytest
from matplotlib.patches import FancyBboxPatch
from torchvision import models as tvm

from explorer.core import architecture as arch
from explorer.drawing.architecture_drawing import chain_figure, stages
from explorer.drawing.comparison_drawing import compare_plot


def _boxes(ax, renderer):
    return [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]


def _connector_paths(ax):
    """Every line and arrow drawn between boxes, as arrays of display points."""
    paths = [ax.transData.transform(line.get_xydata()) for line in ax.lines]
    for text in ax.texts:
        arrow = getattr(text, "arrow_patch", None)
        if arrow is not None:
            paths.append(arrow.get_transform().transform(arrow.get_path().vertices))
    return paths


def _points_along(vertices, per_segment=200):
    for a, b in zip(vertices[:-1], vertices[1:]):
        for t in np.linspace(0, 1, per_segment):
            yield a + (b - a) * t


def _strictly_inside(point, box, margin=1.5):
    x, y = point
    return box.x0 + margin < x < box.x1 - margin and box.y0 + margin < y < box.y1 - margin


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_lite0", "googlenet"])
def test_chain_lines_cross_no_box(name):
    summary = arch.summarize(name)
    fig = chain_figure(summary)
    fig.canvas.draw()
    ax = fig.axes[0]
    boxes = _boxes(ax, fig.canvas.get_renderer())
    assert len(boxes) == len(stages(summary)) + 1          # + the input
    paths = _connector_paths(ax)
    assert len(paths) >= len(boxes) - 1
    for path in paths:
        crossed = [i for i, box in enumerate(boxes) if any(_strictly_inside(p, box) for p in _points_along(path))]
        assert not crossed, f"a connecting line runs through box {crossed} of {name}'s chain"


def test_resnet18_last_stage_names_its_layers():
    last = stages(arch.summarize("resnet18"))[-1]
    assert "(forward)" not in last.label
    # the last stage is what PyTorch runs after the global pooling: torch.flatten, then fc
    assert [r.name or r.type for r in last.rows] == ["torch.flatten", "fc"]
    assert last.label == "torch.flatten → fc"


def _comparison(name: str, latency_ms: float) -> arch.Comparison:
    weights = tvm.get_model_weights(name).DEFAULT
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    return arch.Comparison(name=name, title=arch.model_title(name), input_size=(3, 224, 224),
                           params=weights.meta["num_params"], macs=int(weights.meta["_ops"] * 1e9 / 2),
                           latency_ms=latency_ms, device="cpu", top1=metrics["acc@1"], top5=metrics["acc@5"],
                           weights=str(weights), chapter_top5_error=None, chapter_model=None, chapter_year=None)


# GoogLeNet and ResNet-18 sit at almost the same MACs and accuracy; the same latency too, or the
# latencies measured on this machine for the screenshot (their names once sat by each other's bubble)
@pytest.mark.parametrize("latencies", [
    {"alexnet": 90, "vgg16": 1200, "googlenet": 30, "resnet18": 30, "resnet50": 100, "mobilenet_v3_large": 12,
     "squeezenet1_1": 30, "densenet121": 100, "mobilenet_v2": 14},
    {"alexnet": 76.0, "vgg16": 975.1, "googlenet": 138.5, "resnet18": 115.1, "resnet50": 76.8,
     "mobilenet_v3_large": 27.4},
])
def test_compare_plot_labels_overlap_nothing_and_sit_by_their_own_bubble(latencies):
    rows = [_comparison(name, ms) for name, ms in latencies.items()]
    fig = compare_plot(rows)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_text()]
        assert sorted(t.get_text() for t in labels) == sorted(r.title.split(" (")[0] for r in rows)
        boxes = [t.get_window_extent(renderer) for t in labels]
        frame = ax.get_window_extent(renderer)
        centres = {t.get_text(): ax.transData.transform(t.xy) for t in labels}
        for i, box in enumerate(boxes):
            gaps = {name: np.hypot(max(box.x0 - c[0], 0, c[0] - box.x1), max(box.y0 - c[1], 0, c[1] - box.y1))
                    for name, c in centres.items()}
            assert min(gaps, key=gaps.get) == labels[i].get_text() or gaps[labels[i].get_text()] == 0
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            for j in range(i + 1, len(boxes)):
                assert not box.overlaps(boxes[j]), f"{labels[i].get_text()} covers {labels[j].get_text()}"


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "digits"])
def test_chain_title_legend_and_box_texts_collide_with_nothing(name):
    fig = chain_figure(arch.summarize(name))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    title = ax.title.get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    boxes = _boxes(ax, renderer)
    assert not title.overlaps(legend)
    assert not any(legend.overlaps(box) or title.overlaps(box) for box in boxes)
    for text in (t for t in ax.texts if t.get_text()):
        extent = text.get_window_extent(renderer)
        assert any(box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1
                   for box in boxes), f"{text.get_text()!r} spills out of its box"


def test_the_pictures_leave_no_figure_behind_in_pyplot():
    """Drawn on Figure objects of their own: pyplot's registry (which keeps every figure it made until it is
    closed) never hears of them, and no backend is chosen."""
    from matplotlib._pylab_helpers import Gcf

    from explorer.drawing.architecture_drawing import draw_chain

    before = Gcf.get_num_fig_managers()
    summary = arch.summarize("digits")
    chain_figure(summary)
    draw_chain(summary)
    compare_plot([_comparison("alexnet", 80.0), _comparison("resnet18", 30.0)])
    assert Gcf.get_num_fig_managers() == before
