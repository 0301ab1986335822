"""explorer.core.trace and explorer.core.receptive_field: the one trace every view reads, its geometry
against PyTorch (autograd support, adaptive pooling's own windows), its naming rule, and the views
(Stages, the Architecture summary, MACs) reading the same nodes."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from explorer.core import stages as stages_module
from explorer.core.architecture import count_macs, summarize
from explorer.core.models import load_model
from explorer.core.receptive_field import adaptive_windows, pair, widest_adaptive_window
from explorer.core.stages import capture_stages
from explorer.core.trace import call_name, op_name, trace, traced_pass


def _support(module: nn.Module, x: torch.Tensor, i: int, j: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive, of the input pixels whose gradient reaches output unit (i, j)."""
    x = x.clone().requires_grad_(True)
    module(x)[0, :, i, j].sum().backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def _positive(module: nn.Module) -> nn.Module:
    """Positive weights, no ReLU: every connection carries gradient."""
    torch.manual_seed(0)
    for p in module.parameters():
        p.data = p.data.abs() + 0.1
    return module


class CrossBranches(nn.Module):
    """Inception-v3's factorised 7x7: a 1x7 and a 7x1 path that meet. Neither path's field holds the
    other's: the union of the two is 7x7."""

    def __init__(self):
        super().__init__()
        self.wide = nn.Conv2d(1, 1, (1, 7), padding=(0, 3))
        self.tall = nn.Conv2d(1, 1, (7, 1), padding=(3, 0))

    def forward(self, x):
        return self.wide(x) + self.tall(x)


class OffCentre(nn.Module):
    """Two 5x5 paths padded on opposite sides: unit i of one sees pixels i..i+4, of the other i-4..i."""

    def __init__(self):
        super().__init__()
        self.ahead = nn.Conv2d(1, 1, 5)
        self.behind = nn.Conv2d(1, 1, 5)

    def forward(self, x):
        return self.ahead(F.pad(x, (0, 4, 0, 4))) + self.behind(F.pad(x, (4, 0, 4, 0)))


@pytest.mark.parametrize("build", [CrossBranches, OffCentre])
def test_where_paths_meet_the_field_is_the_union_of_theirs_as_autograd_sees_it(build):
    module = _positive(build())
    x = torch.rand(1, 1, 24, 24) + 0.5
    _, traced = traced_pass(module, x)
    out = traced.nodes[-1]
    h, w = out.output_shape[-2:]
    for i, j in [(h // 2, w // 2), (5, 7)]:
        top, bottom = out.field.rows.span(i)
        left, right = out.field.cols.span(j)
        assert (top, left, bottom, right) == _support(module, x, i, j)


@settings(max_examples=40, deadline=None)
@given(size_in=st.integers(1, 20), size_out=st.integers(1, 20))
def test_adaptive_windows_are_the_ones_pytorch_pools_over(size_in, size_out):
    x = torch.ones(1, 1, size_in, 1, requires_grad=True)
    windows = adaptive_windows(size_in, size_out)
    for i, (start, end) in enumerate(windows):
        x.grad = None
        F.adaptive_avg_pool2d(x, (size_out, 1))[0, 0, i, 0].backward()
        touched = torch.nonzero(x.grad[0, 0, :, 0]).flatten().tolist()
        assert touched == list(range(start, end))
    assert widest_adaptive_window(size_in, size_out) == max(end - start for start, end in windows)


def test_pair_reads_every_form_pytorch_accepts():
    assert pair(3) == (3, 3) and pair((2, 5)) == (2, 5) and pair([4]) == (4, 4)
    assert pair(None, (3, 3)) == (3, 3) and pair([], 2) == (2, 2)      # F.max_pool2d's stride=None / []
    assert pair((1, 2, 3)) == (2, 3)                                   # the spatial two of a longer size


def test_op_names_are_one_per_op_whatever_form_it_is_called_in():
    class Ops(nn.Module):
        def forward(self, x):
            x = F.relu(x)
            x.relu_()
            x += 1
            return F.max_pool2d(x, 2, return_indices=True)[0]

    _, traced = traced_pass(Ops(), torch.rand(1, 1, 8, 8))
    ops = {op for op, _ in traced.op_callers}
    assert {"relu", "add", "max_pool2d"} <= ops and not {"relu_", "add_", "max_pool2d_with_indices"} & ops
    assert op_name(torch.Tensor.__iadd__) == "iadd"
    # the pool with indices is a window like any other: its field grows
    assert traced.nodes[-1].field.size == (2, 2) and traced.nodes[-1].field.jump == (2, 2)


class Twice(nn.Module):
    """One convolution module run twice, as a layer reused in a loop."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(self.conv(x)))


def test_a_layer_that_runs_twice_is_named_by_one_rule_in_every_view():
    module = Twice()
    assert call_name("conv", 1) == "conv" and call_name("conv", 2) == "conv (call 2)"
    nodes = trace(module, (1, 8, 8)).units()
    assert [n.name for n in nodes] == ["conv", "conv (call 2)", "pool"]
    assert [n.first_call for n in nodes] == [True, False, True]
    _, stages = capture_stages(module, torch.rand(1, 1, 8, 8))
    assert [s.name for s in stages] == [n.name for n in nodes]
    # the Architecture table names rows by module path; the second call carries no parameters again
    rows = summarize(module, (1, 8, 8)).rows
    assert [(r.name, r.first_call, r.params) for r in rows] == [
        ("conv", True, 10), ("conv", False, 0), ("pool", True, 0)]
    assert [s.receptive_field for s in stages] == [r.receptive_field for r in rows] == [(3, 3), (5, 5), (6, 6)]


def test_every_view_reads_the_same_nodes_of_a_registered_model():
    model = load_model("resnet18", pretrained=False)
    picture = Image.new("RGB", (224, 224), (120, 90, 60))
    stages = model.stages(picture)
    nodes = {n.name: n for n in trace(model.module, (3, 224, 224)).units()}
    for stage in stages:
        node = nodes[stage.name]
        assert node.field == stage.field and node.output_shape[1:] == stage.output_shape
        assert node.input_shape[1:] == stage.input_shape
    summary = summarize("resnet18")
    assert summary.total_macs == count_macs(model.module, (3, 224, 224)) == sum(n.macs for n in nodes.values())
    assert sum(n.params for n in nodes.values()) == summary.params_in_forward


def test_the_stage_fields_are_traced_once_per_input_shape(monkeypatch):
    model = load_model("alexnet", pretrained=False)
    first = model.stages(Image.new("RGB", (224, 224), (200, 40, 40)))
    calls = []
    monkeypatch.setattr(stages_module, "traced_pass", lambda *a, **k: calls.append(a) or pytest.fail("traced again"))
    again = model.stages(Image.new("RGB", (300, 260), (20, 90, 200)))      # resized to the same input shape
    assert not calls and [s.field for s in again] == [s.field for s in first]


def test_tracing_leaves_no_hook_and_no_mark_on_the_tensors():
    module = Twice()
    x = torch.rand(1, 1, 8, 8)
    output, _ = traced_pass(module, x, follow={module.conv: None})
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())
    assert not x.__dict__ and not output.__dict__


class ScaledBlock(nn.Module):
    """A block with a parameter of its own (a ConvNeXt-style layer scale) around a convolution: one
    layer for the Architecture table, while its convolution is still a stage."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.conv(x) * self.gamma


def test_a_stage_inside_a_layer_is_followed_without_changing_the_unit_level_graph():
    module = nn.Sequential(nn.Conv2d(1, 1, 3), ScaledBlock(), nn.MaxPool2d(2))
    x = torch.rand(1, 1, 12, 12)
    _, stages = capture_stages(module, x)
    assert [s.name for s in stages] == ["0", "1.conv", "2"]
    assert [s.receptive_field for s in stages] == [(3, 3), (5, 5), (6, 6)]
    rows = summarize(module, (1, 12, 12)).rows
    assert [(r.name, r.type, r.inputs) for r in rows] == [("0", "Conv2d", [-1]), ("1", "ScaledBlock+Conv2d", [0]),
                                                          ("2", "MaxPool2d", [1])]
    _, traced = traced_pass(module, x, follow=dict.fromkeys(m for m in module.modules() if isinstance(m, nn.Conv2d)))
    assert [(n.name, n.nested) for n in traced.nodes[1:]] == [("0", False), ("1", False), ("1.conv", True), ("2", False)]
    assert [n.name for n in traced.units()] == ["0", "1", "2"]
