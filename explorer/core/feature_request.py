"""Checking a feature drawing's request (explorer.core.features.visualize): the objective, stage, channel,
size, steps and seed, each refused with a message naming it, and the default number of steps."""
from __future__ import annotations

from dataclasses import dataclass

from explorer.core.feature_stages import StageRef, _stages, input_shape, stages_of
from explorer.core.loaded_model import LoadedModel
from explorer.core.shown import number, shown, whole_number
from explorer.core.stages import stage_index
from explorer.core.words import say

OBJECTIVES = ("channel", "unit", "class")
MAX_STEPS = 512
DEFAULT_STEPS = (48, 200)     # the fewest and the most steps default_steps gives
CPU_BUDGET = 80e9             # multiply-accumulates of a default run on a CPU: 200 passes of the default model
MIN_SIZE, MAX_SIZE = 64, 512  # picture sides the photo models accept (the digit model reads 28 only)


@dataclass(frozen=True)
class _Job:
    ref: StageRef | None           # None for the "class" objective
    stage: str
    stage_index: int | None
    channel: int
    objective: str
    size: int
    steps: int
    seed: int


def _whole(value, name: str) -> int:
    return whole_number(value, name)      # exact: the seed's stated range reaches 2**63 - 1


def _target(model: LoadedModel, stage, channel, objective: str) -> tuple[StageRef | None, str, int | None, int]:
    """(stage ref, stage name, stage index, channel) for an objective; checks stage and channel."""
    if objective not in OBJECTIVES:
        raise ValueError(say("objective: unknown {objective}; choose one of {choices}",
                             "objective：未知的 {objective}；请选 {choices} 之一", objective=shown(objective),
                             choices=", ".join(OBJECTIVES)))
    channel = _whole(channel, "channel")
    if objective == "class":
        if not 0 <= channel < len(model.labels):
            raise ValueError(say("channel: class {n} does not exist; with objective 'class' the channel is a "
                                 "class index, 0 to {end}",
                                 "channel：类别 {n} 不存在；objective 为 'class' 时 channel 是类别编号，0 到 {end}",
                                 n=number(channel), end=len(model.labels) - 1))
        return None, "logits", None, channel
    refs = stages_of(model)
    index = stage_index([ref.name for ref in refs], stage)
    ref = refs[index]
    if not 0 <= channel < ref.channels:
        raise ValueError(say("channel: {n} does not exist; this stage has channels 0 to {end}",
                             "channel：通道 {n} 不存在；这个阶段的通道是 0 到 {end}", n=number(channel),
                             end=ref.channels - 1))
    return ref, ref.name, index, channel


def _job(model: LoadedModel, stage, channel, objective, size, steps, seed) -> _Job:
    ref, name, index, channel = _target(model, stage, channel, objective)
    side = input_shape(model)[1]
    size = side if size is None else _whole(size, "size")
    if model.input_kind == "sketch" and size != side:
        raise ValueError(say("size: the {name} model reads {side}x{side} pictures only; give {side} or None",
                             "size：{name} 模型只读 {side}x{side} 的图片；请填 {side} 或 None", name=model.name,
                             side=side))
    if model.input_kind != "sketch" and not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(say("size: {size} is out of range; give {low} to {high} pixels, or None for "
                             "the model's own {side}",
                             "size：{size} 超出范围；请填 {low} 到 {high} 像素，或填 None 用模型自己的 {side}",
                             size=size, low=MIN_SIZE, high=MAX_SIZE, side=side))
    steps = _default_steps(model, ref, size) if steps is None else _whole(steps, "steps")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(say("steps: {n} is out of range; give 1 to {most}, or None for the default",
                             "steps：{n} 超出范围；请填 1 到 {most}，或填 None 用默认值", n=number(steps),
                             most=MAX_STEPS))
    seed = _whole(seed, "seed")
    if not 0 <= seed < 2 ** 63:
        raise ValueError(say("seed: {n} is out of range; give 0 to {most}", "seed：{n} 超出范围；请填 0 到 {most}",
                             n=number(seed), most=2 ** 63 - 1))
    return _Job(ref, name, index, channel, objective, size, steps, seed)


def default_steps(model: LoadedModel, stage=None, *, objective: str = "channel", size: int | None = None) -> int:
    """The number of steps `visualize` takes when given none (the arguments as visualize's): 200 (the
    most, which are 200 forward+backward passes) except on a CPU, where a run gets CPU_BUDGET
    multiply-accumulates, the cost of 200 passes of the default model (about 10-15 s on 2 cores): a
    pass costs the multiply-accumulates the trace counts up to the stage, at the picture's size; never
    fewer than 48 steps (then a heavy model, VGG-16 say, takes minutes on a CPU)."""
    ref = _target(model, stage, 0, objective)[0]
    side = input_shape(model)[1]
    return _default_steps(model, ref, side if size is None else _whole(size, "size"))


def _default_steps(model: LoadedModel, ref: StageRef | None, size: int) -> int:
    fewest, most = DEFAULT_STEPS
    if model.device.type != "cpu":
        return most
    macs = (ref.macs if ref is not None else _stages(model)[1]) * (size / input_shape(model)[1]) ** 2
    return int(min(most, max(fewest, CPU_BUDGET // max(macs, 1))))
