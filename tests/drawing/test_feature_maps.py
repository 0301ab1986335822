"""Feature-map pictures: layout, ranking, colours and legends checked against PyTorch's own numbers."""
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from explorer.core.stages import capture_stages
from explorer.drawing import feature_maps as fm


def _activation(channels=40, height=9, width=13, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(channels, height, width, generator=g)
    a[3] = 0.0                       # a dead channel, and two with equal means (a tie)
    a[5] = a[7].flip(0)
    return a


def _torch_order(a: torch.Tensor) -> list[int]:
    return torch.argsort(a.double().mean((1, 2)), descending=True, stable=True).tolist()


def _cell(grid: fm.FeatureGrid, k: int) -> np.ndarray:
    x, y = grid.layout.origin(k)
    return grid.rgb()[y:y + grid.layout.cell_h, x:x + grid.layout.cell_w]


def test_ranking_is_torchs_argsort_of_the_mean():
    a = _activation()
    assert fm.rank_channels(a).tolist() == _torch_order(a)
    grid = fm.render_grid(a, "all")
    assert grid.channels == _torch_order(a)
    means = a.double().mean((1, 2))
    assert grid.means == pytest.approx(means[grid.channels].tolist(), rel=1e-6)
    assert all(x >= y for x, y in zip(grid.means, grid.means[1:]))


@pytest.mark.parametrize("count, expected", [("16", 16), ("64", 40), ("all", 40), (5, 5)])
def test_grid_shows_the_strongest_channels(count, expected):
    a = _activation()
    grid = fm.render_grid(a, count)
    assert grid.channels == _torch_order(a)[:expected]
    layout = grid.layout
    assert layout.count == expected and layout.cols * layout.rows >= expected > layout.cols * (layout.rows - 1)
    assert grid.image.size == (layout.width, layout.height + fm.LEGEND_H)
    # cells keep the maps' aspect ratio and are whole-number enlargements of them
    assert layout.cell_w % 13 == 0 and layout.cell_h % 9 == 0 and layout.cell_w // 13 == layout.cell_h // 9


def test_each_cell_shows_its_channel_in_the_colours_of_its_values():
    a = _activation(channels=8, height=5, width=5)
    grid = fm.render_grid(a, "all", "shared")
    limit = float(a.abs().max())
    factor = grid.layout.cell_w // 5
    for k, channel in enumerate(grid.channels):
        cell = _cell(grid, k)[::factor, ::factor]
        expected = fm.PALETTE[fm.colour_index(a[channel].numpy(), limit)]
        assert np.array_equal(cell, expected), f"cell {k} does not show channel {channel}"


def test_clicking_a_cell_gives_its_channel():
    a = _activation(channels=70, height=7, width=7)
    for count in ("16", "64", "all"):
        grid = fm.render_grid(a, count)
        for k, channel in enumerate(grid.channels):
            x, y = grid.layout.origin(k)
            middle = (x + grid.layout.cell_w // 2, y + grid.layout.cell_h // 2)
            assert grid.channel_at(*middle) == channel
            assert fm.channel_at(a, count, *middle) == channel
        assert grid.channel_at(1, 1) is None                      # the margin
        assert grid.channel_at(5, grid.image.height - 5) is None  # the legend


def test_zero_is_white_and_the_ends_are_the_two_hues():
    values = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 7.0], dtype=np.float32)
    colours = fm.diverging(values, 2.0)
    assert colours[2].tolist() == [255, 255, 255]
    assert colours[0].tolist() == fm.NEGATIVE.astype(int).tolist()
    assert colours[4].tolist() == colours[5].tolist() == fm.POSITIVE.astype(int).tolist()
    # blue grows below zero, red above: the other channels fade towards white
    assert colours[0][2] > colours[0][0] and colours[4][0] > colours[4][2]
    assert (colours[1] > colours[0]).any() and (colours[1] < 255).any()


def test_zero_is_white_in_the_rendered_grid():
    a = torch.zeros(4, 6, 6)
    a[0, 0, 0], a[1, 5, 5] = 3.0, -1.5
    rgb = fm.render_grid(a, "all").rgb()
    grid = fm.render_grid(a, "all")
    for k in range(4):
        cell = _cell(grid, k)
        whites = (cell == 255).all(-1)
        assert whites.mean() > 0.9          # every zero unit is pure white
    assert rgb.shape[2] == 3


def test_shared_scale_and_per_channel_scale():
    a = torch.zeros(2, 4, 4)
    a[0, 0, 0], a[1, 0, 0] = 10.0, 1.0
    shared = fm.render_grid(a, "all", "shared")
    own = fm.render_grid(a, "all", "per channel")
    strongest, weak = (_cell(shared, k)[0, 0].tolist() for k in (shared.channels.index(0), shared.channels.index(1)))
    assert strongest == fm.POSITIVE.astype(int).tolist()
    assert weak != strongest                          # 1 of 10 is pale on one scale
    for k in range(2):                                # each channel reaches full red on its own scale
        assert _cell(own, k)[0, 0].tolist() == fm.POSITIVE.astype(int).tolist()


@pytest.mark.parametrize("count", ["16", "all"])
def test_legend_gives_the_tensors_min_and_max(count):
    a = _activation(seed=3) * 4.2 + 0.7
    grid = fm.render_grid(a, count)
    shown = a[torch.tensor(grid.channels)]
    assert grid.value_range == (float(shown.min()), float(shown.max()))
    assert f"{float(shown.min()):.3g}" in grid.legend and f"{float(shown.max()):.3g}" in grid.legend
    if count == "all":
        assert grid.value_range == (float(a.min()), float(a.max()))


def test_bad_arguments_are_named():
    a = _activation()
    with pytest.raises(ValueError, match="count"):
        fm.render_grid(a, "12")
    with pytest.raises(ValueError, match="scale"):
        fm.render_grid(a, "16", "log")
    with pytest.raises(ValueError, match="activation"):
        fm.render_grid(a[0], "16")


def _stages():
    net = nn.Sequential(nn.Conv2d(3, 6, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3))
    torch.manual_seed(0)
    with torch.no_grad():
        _, stages = capture_stages(net.eval(), torch.randn(1, 3, 40, 40))
    return stages


def test_channel_view_marks_the_strongest_unit_and_its_receptive_field():
    stages = _stages()
    seen = Image.new("RGB", (40, 40), "gray")
    for stage in stages:
        for channel in (0, stage.output_shape[0] - 1):
            view = fm.render_channel(stage, channel, seen, size=200)
            values = stage.activation[channel]
            flat = int(torch.argmax(values))
            assert view.unit == divmod(flat, values.shape[1])
            assert view.value == float(values.max())
            assert view.box == stage.box(*view.unit)
            assert view.value_range == (float(values.min()), float(values.max()))
            assert view.overlay.size == (200, 200)
            # the box is drawn in yellow onto the picture
            overlay = np.asarray(view.overlay)
            assert ((overlay[..., 0] > 240) & (overlay[..., 1] > 200) & (overlay[..., 2] < 30)).any()
    with pytest.raises(ValueError, match="channel"):
        fm.render_channel(stages[0], 6, seen)


def test_overview_has_one_thumbnail_per_stage_showing_its_strongest_channel():
    stages = _stages()
    image, layout = fm.overview(stages, size=20)
    assert layout.count == len(stages) and image.size == (layout.width, layout.height)
    rgb = np.asarray(image.convert("RGB"))
    for k, stage in enumerate(stages):
        a = stage.activation
        values = a[_torch_order(a)[0]].numpy()
        expected = fm.PALETTE[fm.colour_index(values, float(np.abs(values).max()))]
        h, w = values.shape
        rows, cols = np.arange(20) * h // 20, np.arange(20) * w // 20
        x, y = layout.origin(k)
        assert np.array_equal(rgb[y:y + 20, x:x + 20], expected[rows[:, None], cols[None, :]])
        assert layout.cell_at(x + 10, y + 10) == k


def test_the_current_stage_is_framed_in_the_overview_and_nothing_else_changes():
    stages = _stages()
    indices, layout = fm.overview_indices(stages, size=20)
    plain = indices.copy()
    marked = fm.mark_cell(indices, layout, 1)
    assert np.array_equal(indices, plain)                       # the cached strip is left alone
    changed = np.argwhere(marked != plain)
    x, y = layout.origin(1)
    top, left = y - layout.label_h - fm.FRAME, x - fm.FRAME
    bottom, right = y + layout.cell_h + fm.FRAME - 1, x + layout.cell_w + fm.FRAME - 1
    assert changed[:, 0].min() == top and changed[:, 0].max() == bottom
    assert changed[:, 1].min() == left and changed[:, 1].max() == right
    frame = marked[top:bottom + 1, left:right + 1]
    assert (frame[:fm.FRAME] == fm.FRAME_INDEX).all() and (frame[-fm.FRAME:] == fm.FRAME_INDEX).all()
    assert (frame[:, :fm.FRAME] == fm.FRAME_INDEX).all() and (frame[:, -fm.FRAME:] == fm.FRAME_INDEX).all()
    # inside the frame, the thumbnail and its label are as they were
    inner = (slice(top + fm.FRAME, bottom + 1 - fm.FRAME), slice(left + fm.FRAME, right + 1 - fm.FRAME))
    assert np.array_equal(marked[inner], plain[inner])
    assert max(fm.PALETTE[fm.FRAME_INDEX]) < 40          # near black, seen on the white background


def test_the_enlarged_channel_is_drawn_on_its_own_scale_and_its_legend_and_heading_say_so():
    from explorer.ui.stages_tab import LARGE_HEADING
    from explorer.ui.words import english

    stages = _stages()
    stage = stages[0]
    weak = int(torch.argsort(stage.activation.abs().amax((1, 2)))[0])     # the channel with the smallest |values|
    values = stage.activation[weak]
    view = fm.render_channel(stage, weak, Image.new("RGB", (40, 40), "gray"), size=200)
    factor = fm.large_factor(values.shape, 200)
    row, col = divmod(int(values.abs().argmax()), values.shape[1])
    drawn = np.asarray(view.large)[row * factor, col * factor]
    assert drawn in (0, fm.LEVELS - 1)          # its largest |value| reaches a full hue: its own scale
    limit = float(values.abs().max())
    ends, lines = view.legend
    assert ends == (f"-{limit:.3g}", "0", f"+{limit:.3g}")
    assert "own scale" in lines[1] and "all" not in lines[1]
    assert "own colour scale" in english(LARGE_HEADING)


def test_grids_are_drawn_no_wider_than_the_tab_shows_them():
    """Wider pictures are shrunk in the page, their 11-pixel labels with them."""
    for channels, side in ((64, 28), (512, 14), (1280, 7), (2048, 7)):
        grid = fm.render_grid(torch.randn(channels, side, side), "all")
        assert grid.image.width <= fm.SHOWN_WIDTH, (channels, grid.image.width)
    for stages in (4, 18, 50, 82):
        assert fm.overview_layout(stages).width <= fm.SHOWN_WIDTH
