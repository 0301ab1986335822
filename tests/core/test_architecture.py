"""explorer.core.architecture: the chapter's CNNNet is AlexNet; summaries, receptive fields and MACs agree
with PyTorch; compare() gives real counts and measured times."""
import copy

import pytest
import torch
import torchvision
from hook_recorder import recording
from torch import nn

from explorer.core.architecture import (
    CHAPTER_TOP5_ERROR,
    CNNNet,
    compare,
    count_macs,
    match_layers,
    same_outputs,
    summarize,
)
from explorer.drawing.architecture_drawing import block_graph, branching_blocks, draw_block, draw_chain, stages


def leaves(model):
    return [(n, m) for n, m in model.named_modules() if not list(m.children())]


# --- the chapter's model ----------------------------------------------------------------------------

def test_cnnnet_matches_alexnet_layer_for_layer():
    ours, theirs = leaves(CNNNet(num_classes=2)), leaves(torchvision.models.alexnet(num_classes=2))
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (name, a), (_, b) in zip(ours, theirs):
        assert type(a) is type(b), name
        settings = [k for k in getattr(a, "__constants__", []) if k != "inplace"]
        assert {k: getattr(a, k) for k in settings} == {k: getattr(b, k) for k in settings}, name
        assert [(k, p.shape) for k, p in a.named_parameters()] == [(k, p.shape) for k, p in b.named_parameters()]


def test_cnnnet_with_alexnets_weights_gives_alexnets_numbers():
    ours, theirs = CNNNet(num_classes=2).eval(), torchvision.models.alexnet(num_classes=2).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        out = ours(x)
        assert out.shape == (3, 2)
        assert torch.equal(out, theirs(x))


def test_cnnnet_output_shape_for_other_sizes_thanks_to_adaptive_pooling():
    with torch.no_grad():
        assert CNNNet(num_classes=2).eval()(torch.randn(2, 3, 300, 257)).shape == (2, 2)
        assert CNNNet(num_classes=5).eval()(torch.randn(1, 3, 224, 224)).shape == (1, 5)


def test_match_layers_reports_every_layer_and_only_inplace_differs():
    matches = match_layers(CNNNet(num_classes=2), torchvision.models.alexnet(num_classes=2))
    assert len(matches) == len(leaves(CNNNet()))
    assert {m.verdict for m in matches} <= {"same", "same maths"}
    for m in matches:
        if m.verdict == "same maths":
            assert all(d.startswith("inplace") for d in m.differences)


def test_match_layers_catches_a_real_difference():
    other = torchvision.models.alexnet(num_classes=2)
    other.features[3] = nn.Conv2d(64, 192, kernel_size=5, padding=1)
    matches = match_layers(CNNNet(num_classes=2), other)
    assert [m.index for m in matches if m.verdict == "different"] == [4]
    assert any(d.startswith("padding") for d in matches[3].differences)


def test_same_outputs_reports_equal_numbers():
    result = same_outputs(CNNNet(num_classes=2), torchvision.models.alexnet(num_classes=2))
    assert result["loaded"] and result["equal"] and result["output_shape"] == (2, 2)
    assert result["state_dict_keys"] == len(torchvision.models.alexnet(num_classes=2).state_dict())


# --- summarize ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, builder", [
    ("resnet18", lambda: torchvision.models.resnet18()),
    ("googlenet", lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False)),
    ("cnnnet", lambda: CNNNet(num_classes=2)),
])
def test_parameters_equal_sum_of_numel(name, builder):
    s = summarize(name)
    module = builder()
    assert s.total_params == sum(p.numel() for p in module.parameters())
    assert s.params_in_forward == s.total_params and not s.unused


def test_rows_follow_pytorch_forward_order_shapes_and_parameters():
    model = torchvision.models.resnet18().eval()
    names = {m: n for n, m in model.named_modules() if not list(m.children())}
    with recording(names, lambda m, i, o: (names[m], tuple(o.shape[1:]))) as seen, torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    s = summarize(model)
    module_rows = [(r.name, r.output_shape) for r in s.rows if r.type == type(model.get_submodule(r.name)).__name__
                   and r.name]
    assert module_rows == seen
    for row in s.rows:
        if row.name and row.first_call and row.type == type(model.get_submodule(row.name)).__name__:
            assert row.params == sum(p.numel() for p in model.get_submodule(row.name).parameters())
    # the residual additions appear where they run, fed by two rows
    adds = [r for r in s.rows if r.type.startswith("+")]
    assert len(adds) == 8 and all(len(r.inputs) == 2 for r in adds)


def test_unused_parameters_are_reported():
    model = torchvision.models.googlenet(aux_logits=True, init_weights=False)
    s = summarize(model)
    aux = sum(p.numel() for n, p in model.named_parameters() if n.startswith("aux"))
    assert aux > 0
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.params_in_forward == s.total_params - aux
    assert {n.split(".")[0] for n, _ in s.unused} == {"aux1", "aux2"}


def test_resnet18_macs_match_the_published_figure():
    published = 1.82e9          # ResNet-18 at 224×224, as published (torchvision lists 1.814 GFLOPS)
    assert summarize("resnet18").total_macs == pytest.approx(published, rel=0.02)
    assert count_macs(torchvision.models.resnet18(), (3, 224, 224)) == pytest.approx(published, rel=0.02)


def test_receptive_fields_of_a_small_stack_by_hand():
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, stride=2),
                          nn.Conv2d(1, 1, 3, dilation=2), nn.Flatten(), nn.Linear(4, 2))
    s = summarize(stack, (1, 30, 30))
    # by hand: r_out = r_in + (k_eff - 1) * j_in, j_out = j_in * stride, k_eff = dilation * (k - 1) + 1
    # conv3: r 3 j 1; relu: same; pool2: r 3+1*1=4, j 2; conv3/2: r 4+2*2=8, j 4; conv3 dil 2: r 8+4*4=24, j 4
    assert [(r.receptive_field, r.jump) for r in s.rows[:5]] == [
        ((3, 3), (1, 1)), ((3, 3), (1, 1)), ((4, 4), (2, 2)), ((8, 8), (4, 4)), ((24, 24), (4, 4))]
    assert s.rows[-1].receptive_field is None          # a fully connected layer sees everything


def test_receptive_field_matches_autograd():
    """The pixels that can change one output unit (non-zero gradient, ones everywhere) span the field.
    (Average pooling: max pooling passes gradient to one pixel per window only.)"""
    stack = nn.Sequential(nn.Conv2d(1, 1, 5, stride=2), nn.AvgPool2d(3, stride=2), nn.Conv2d(1, 1, 3, dilation=2))
    for m in stack:
        if isinstance(m, nn.Conv2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    x = torch.ones(1, 1, 64, 64, requires_grad=True)
    out = stack(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    s = summarize(stack, (1, 64, 64))
    assert s.rows[-1].receptive_field == (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))


def test_branches_meet_with_the_wider_field():
    class TwoPaths(nn.Module):
        def __init__(self):
            super().__init__()
            self.small, self.big = nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 7, padding=3)

        def forward(self, x):
            return self.small(x) + self.big(x)

    s = summarize(TwoPaths(), (1, 16, 16))
    join = s.rows[-1]
    assert join.type.startswith("+") and join.receptive_field == (7, 7) and sorted(join.inputs) == [0, 1]


def test_known_receptive_fields_of_classic_models():
    # AlexNet pool5 195, VGG-16 conv5_3 196 and pool5 212, ResNet-18 before pooling 435
    assert summarize("alexnet").rows[12].receptive_field == (195, 195)
    vgg = summarize("vgg16")
    assert [r for r in vgg.rows if r.type == "Conv2d"][-1].receptive_field == (196, 196)
    assert [r for r in vgg.rows if r.type == "MaxPool2d"][-1].receptive_field == (212, 212)
    resnet = summarize("resnet18")
    assert [r for r in resnet.rows if r.receptive_field][-1].receptive_field == (435, 435)


def test_summarize_other_input_sizes_and_digits():
    s = summarize("alexnet", (3, 300, 300))
    assert s.input_size == (3, 300, 300) and s.output_shape == (1000,)
    digits = summarize("digits")
    assert digits.input_size[0] == 1 and digits.output_shape == (10,)


@pytest.mark.parametrize("call, words", [
    (lambda: summarize("no_such_model"), "unknown name"),
    (lambda: summarize("alexnet", (1, 224, 224)), "channel"),
    (lambda: summarize("alexnet", (3, 16, 16)), "input height and width: 16 px and 16 px are too small for AlexNet"),
    (lambda: summarize("alexnet", (3, 0, 224)), "≥ 1"),
    (lambda: summarize("alexnet", (3, 224.5, 224)), "whole numbers"),
    (lambda: summarize("alexnet", (3, 5000, 224)), "1024"),
    (lambda: summarize(42), "model name"),
    (lambda: compare([]), "at least one"),
    (lambda: compare(["alexnet", "nope"]), "unknown name"),
])
def test_bad_input_gets_a_clear_message(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# --- compare -----------------------------------------------------------------------------------------

def test_compare_two_small_models():
    rows = compare(["squeezenet1_1", "digits"])
    assert [r.name for r in rows] == ["squeezenet1_1", "digits"]
    squeeze = rows[0]
    module = torchvision.models.squeezenet1_1()
    assert squeeze.params == sum(p.numel() for p in module.parameters())
    assert squeeze.macs == count_macs(module, (3, 224, 224))
    meta = torchvision.models.SqueezeNet1_1_Weights.DEFAULT.meta["_metrics"]["ImageNet-1K"]
    assert (squeeze.top1, squeeze.top5) == (meta["acc@1"], meta["acc@5"])
    assert squeeze.latency_ms > 0 and rows[1].latency_ms > 0
    assert rows[1].top1 is None and rows[1].input_size[0] == 1


def test_chapter_figures_are_the_chapters():
    # ImageNet top-5 error as the chapter gives them
    assert CHAPTER_TOP5_ERROR["alexnet"][:2] == (15.3, "AlexNet")
    assert CHAPTER_TOP5_ERROR["googlenet"][:2] == (6.67, "GoogLeNet")
    assert CHAPTER_TOP5_ERROR["vgg16"][:2] == (8.8, "VGG-16")
    assert CHAPTER_TOP5_ERROR["resnet50"][:2] == (4.49, "ResNet-152")


# --- drawings from the real modules -------------------------------------------------------------------

def test_residual_block_picture_has_the_skip_path():
    s = summarize("resnet18")
    assert "layer1.0" in branching_blocks(s) and "layer2.0" in branching_blocks(s)
    boxes, edges = block_graph(s, "layer1.0")          # identity skip: input goes straight to the add
    add = next(b for b, members in enumerate(boxes) if members != [-99] and s.rows[members[0]].type.startswith("+"))
    assert (0, add) in edges and len([e for e in edges if e[1] == add]) == 2
    boxes, edges = block_graph(s, "layer2.0")          # downsampling skip: a 1×1 conv on the side path
    side = [b for b, members in enumerate(boxes) if members != [-99]
            and any(s.rows[i].name.startswith("layer2.0.downsample") for i in members)]
    assert len(side) == 1 and (0, side[0]) in edges


def test_inception_picture_has_the_real_branches():
    s = summarize("googlenet")
    module = torchvision.models.googlenet(aux_logits=False, init_weights=False)
    boxes, edges = block_graph(s, "inception3a")
    concat = next(b for b, members in enumerate(boxes) if members != [-99] and s.rows[members[0]].type == "torch.cat")
    branches = [a for a, b in edges if b == concat]
    assert len(branches) == 4 and all((0, b) in edges for b in branches)
    block = module.inception3a
    expected = sum(getattr(block, f"branch{i}")[-1].conv.out_channels if i > 1 else block.branch1.conv.out_channels
                   for i in range(1, 5))
    assert s.rows[boxes[concat][0]].output_shape[0] == expected
    assert draw_block(s, "inception3a").size[0] > 200


def test_chain_stages_carry_the_real_shapes():
    s = summarize("vgg16")
    chain = stages(s)
    assert chain[-1].shape == (1000,)
    sizes = [st.shape for st in chain if len(st.shape) == 3]
    assert (64, 224, 224) in sizes and (512, 7, 7) in sizes
    assert draw_chain(s).size[0] > 200


def test_copy_of_model_is_not_mutated_by_summarize():
    model = torchvision.models.resnet18()
    before = copy.deepcopy(model.state_dict())
    summarize(model)
    assert not model._forward_hooks and not model.layer1[0].conv1._forward_pre_hooks
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
