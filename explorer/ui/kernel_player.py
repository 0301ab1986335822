"""The Kernel tab's player, by KernelTab field name: the step typed or stepped, Play / Pause, the timer's
ticks and their speed. While the settings are bad nothing moves: their message is already beside the
control at fault."""
from __future__ import annotations

import gradio as gr

from explorer.ui.kernel_settings import clamp, compute, frame_at, settings_of

PLAY, PAUSE = "▶ Play", "❚❚ Pause"     # U+23F8 (the pause sign) is in no font a Debian Chromium has
FAR = 10 ** 6                          # more steps than any animation has: clamp only to at least 1


def _step(values: dict, step) -> dict:
    """`step` (clamped to the steps there are) and its frame; nothing while the settings are bad."""
    try:
        k, frame = frame_at(settings_of(values), step)
    except ValueError:
        return {}
    return dict(step=k, frame=frame)


def step_typed(values: dict) -> dict:
    """The frame of the step typed, dragged or moved with the arrow keys (the box keeps what it shows)."""
    shown = _step(values, values["step"])
    return {"frame": shown["frame"]} if shown else {}


def step_back(values: dict) -> dict:
    return _step(values, clamp(values["step"], FAR) - 1)


def step_forward(values: dict) -> dict:
    return _step(values, clamp(values["step"], FAR) + 1)


def play_or_pause(values: dict) -> dict:
    """Pause when playing; otherwise play from the step shown (from the start when it is the last):
    the timer, the button, the step and its frame."""
    state = values["playing"]
    if state["on"]:
        state["on"] = False
        return dict(timer=gr.Timer(active=False), play=gr.Button(PLAY))
    try:
        r = compute(settings_of(values))
    except ValueError:
        return {}
    k = clamp(values["step"], len(r))
    if k >= len(r):                                   # at the end: play again from the start
        k = 1
    state["on"] = True
    return dict(timer=gr.Timer(active=True), play=gr.Button(PAUSE), step=k, frame=r.frame(k - 1))


def tick(values: dict) -> dict:
    """The next step and its frame; the timer stops at the last step, or when the settings went bad."""
    state = values["playing"]
    if not state["on"]:                               # a tick sent before the Pause
        return {}
    stop = dict(timer=gr.Timer(active=False), play=gr.Button(PLAY))
    try:
        r = compute(settings_of(values))
    except ValueError:
        state["on"] = False
        return stop
    k = min(clamp(values["step"], len(r)) + 1, len(r))
    if k >= len(r):
        state["on"] = False
        return dict(step=k, frame=r.frame(k - 1), **stop)
    return dict(step=k, frame=r.frame(k - 1))


def speed_changed(values: dict) -> dict:
    """The timer ticking at the speed chosen (steps per second)."""
    return dict(timer=gr.Timer(value=1 / max(float(values["speed"]), 0.5)))
