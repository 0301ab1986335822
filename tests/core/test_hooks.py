"""explorer.core.hooks.hooked: hooks exist only inside the block, whatever ends it."""
import pytest
import torch
from hook_recorder import hook_count, recording
from torch import nn

from explorer.core.hooks import hooked, wrapped


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_the_hooks_run_inside_the_block_and_are_gone_after_it():
    net, seen = _net(), []
    with hooked(net, pre=lambda m, i: seen.append(("pre", m)), forward=lambda m, i, o: seen.append(("post", m))) as handles:
        assert hook_count(net) == 2 and len(handles) == 2
        net(torch.zeros(1, 4))
    assert seen == [("pre", net), ("post", net)]
    assert hook_count(net) == 0
    net(torch.zeros(1, 4))
    assert len(seen) == 2


def test_each_module_gets_its_hooks_in_call_order():
    net, seen = _net(), []
    with hooked(list(net), forward=lambda m, i, o: seen.append(type(m).__name__)):
        net(torch.zeros(1, 4))
    assert seen == ["Linear", "ReLU", "Linear"]


def test_the_hooks_are_removed_when_the_block_raises():
    net = _net()
    with pytest.raises(RuntimeError, match="stop"):
        with hooked(net.modules(), pre=lambda m, i: None, forward=lambda m, i, o: None):
            assert hook_count(net) == 2 * 4
            raise RuntimeError("stop")
    assert hook_count(net) == 0


def test_the_hooks_are_removed_when_a_hook_raises_mid_pass():
    net = _net()

    def broken(module, inputs, output):
        raise ValueError("broken layer")

    with pytest.raises(ValueError, match="broken layer"), hooked(net[1], forward=broken):
        net(torch.zeros(1, 4))
    assert hook_count(net) == 0


def test_hooks_already_installed_are_removed_when_installing_fails():
    net = _net()
    with pytest.raises(AttributeError):
        with hooked([net[0], "not a module"], forward=lambda m, i, o: None):
            pass
    assert hook_count(net) == 0


def test_the_backward_hook_sees_the_gradient():
    net, grads = _net(), []
    with hooked(net[2], backward=lambda m, grad_in, grad_out: grads.append(grad_out[0].clone())):
        net(torch.ones(1, 4, requires_grad=True)).sum().backward()
    assert len(grads) == 1 and torch.equal(grads[0], torch.ones(1, 2))
    assert hook_count(net) == 0


def test_no_hook_is_refused_with_a_message():
    with pytest.raises(ValueError, match="hooked: no hook given"):
        with hooked(_net()):
            pass


def test_wrapped_sees_what_a_forward_hook_sees_and_leaves_the_output_alone():
    net, x = _net(), torch.randn(2, 4)
    expected = net(x)
    with recording(list(net)) as by_hooks, wrapped(list(net), after=lambda m, i, o: seen.append((m, i, o))):
        seen = []
        out = net(x)
    assert torch.equal(out, expected)
    assert [m for m, _, _ in seen] == list(net)
    for (_, inputs, output), hooked_output in zip(seen, by_hooks):
        assert isinstance(inputs, tuple) and output is hooked_output
    assert seen[0][1][0] is x


def test_wrapped_puts_back_the_forward_it_found_however_the_block_ends():
    net = _net()
    own = net[1].forward = lambda x: x + 1       # an instance's own forward, as some libraries set
    with pytest.raises(RuntimeError, match="stop"):
        with wrapped([net[0], net[1], net[0]], after=lambda m, i, o: None):
            assert "forward" in vars(net[0]) and vars(net[1])["forward"] is not own
            raise RuntimeError("stop")
    assert "forward" not in vars(net[0]) and vars(net[1])["forward"] is own
    assert torch.equal(net(torch.zeros(1, 4)), net[2](net[0](torch.zeros(1, 4)) + 1))


def test_wrapped_is_undone_when_the_after_function_raises_mid_pass():
    net = _net()

    def broken(module, inputs, output):
        raise ValueError("broken layer")

    with pytest.raises(ValueError, match="broken layer"), wrapped([net[1]], after=broken):
        net(torch.zeros(1, 4))
    assert all("forward" not in vars(m) for m in net.modules()) and hook_count(net) == 0
