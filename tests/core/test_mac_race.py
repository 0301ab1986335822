"""Counting multiply-accumulates must not break a gradient computed meanwhile in another thread.

PyTorch's FlopCounterMode tracks modules with global module hooks (torch.nn.modules.module's
register_module_forward_pre_hook) that every thread's modules run, and it hangs hooks on the gradients
of what they return: a gradient computed in another thread while MACs are counted then fails ("A leaf
node was passed to _will_engine_execute_node"). The counter here hooks only the model it counts."""
import threading

import torch
from torch import nn

from explorer.core.architecture import count_macs, summarize
from explorer.core.trace import total_macs, trace


def _net(channels: int = 8) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 4)).eval()


def _gradients(model: nn.Module, rounds: int, failures: list) -> None:
    """Input gradients as Saliency computes them (a leaf input that requires grad), `rounds` times."""
    x = torch.randn(1, 3, 16, 16)
    for _ in range(rounds):
        try:
            leaf = x.clone().requires_grad_(True)
            score = model(leaf)[0, 1]
            (grad,) = torch.autograd.grad(score, leaf)
            assert grad.shape == leaf.shape
        except Exception as error:      # noqa: BLE001 - every failure is what the test counts
            failures.append(f"{type(error).__name__}: {str(error)[:80]}")


def _count(stop: threading.Event, counted: list) -> None:
    other = _net(16)
    while not stop.is_set():
        counted.append(total_macs(other, (3, 32, 32)))
        counted.append(trace(other, (3, 32, 32)).macs)


def test_gradients_and_mac_counts_in_two_threads_never_fail():
    failures, counted, stop = [], [], threading.Event()
    counter = threading.Thread(target=_count, args=(stop, counted), daemon=True)
    counter.start()
    try:
        _gradients(_net(), 400, failures)
    finally:
        stop.set()
        counter.join(timeout=30)
    assert counted, "the counting thread never counted"
    assert failures == [], f"{len(failures)} of 400 gradients failed while MACs were counted: {failures[:2]}"


def test_the_counts_are_what_flop_counter_mode_counts_alone():
    from torch.utils.flop_counter import FlopCounterMode

    model = _net()
    with torch.no_grad(), FlopCounterMode(display=False) as reference:
        model(torch.randn(1, 3, 32, 32))
    assert count_macs(model, (3, 32, 32)) == reference.get_total_flops() // 2
    traced = trace(model, (3, 32, 32))
    assert traced.macs == reference.get_total_flops() // 2
    flops = reference.get_flop_counts()
    per_layer = {node.path: node.macs for node in traced.nodes if node.kind == "module" and node.first_call}
    assert per_layer["0"] == sum(flops["Sequential.0"].values()) // 2
    assert per_layer["5"] == sum(flops["Sequential.5"].values()) // 2


def test_a_registered_model_s_summary_counts_each_layer():
    summary = summarize("resnet18")
    assert summary.total_macs == sum(row.macs for row in summary.rows if row.macs) > 1e9
