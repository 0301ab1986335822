"""The values an attribution takes, checked: the class explained (an index or a name), the methods'
numeric options and true/false flags, and the part of a map shown (its sign), with how a map is scaled
for showing. Each refusal names the argument and says what to give (explorer.core.attribution)."""
import difflib
import math

import numpy as np

from explorer.core.budgets import echo
from explorer.core.loaded_model import LoadedModel
from explorer.core.words import say


def resolve_target(model: LoadedModel, target) -> int | None:
    """A class index, a class name (as in model.labels), or None (= the top-1 prediction)."""
    labels = model.labels
    if target is None or (isinstance(target, str) and not target.strip()):
        return None
    if isinstance(target, str):
        text = target.strip()
        if text.lstrip("-").isdigit():
            return resolve_target(model, int(text))
        lowered = [label.lower() for label in labels]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        close = difflib.get_close_matches(text.lower(), lowered, n=3, cutoff=0.6)
        names = ", ".join(repr(labels[lowered.index(c)]) for c in close)
        hint = say("; did you mean {names}?", "；你是不是想找 {names}？", names=names) if close else ""
        raise ValueError(say("target: {model} has no class named {text} among its {n} classes{hint}",
                             "target：{model} 的 {n} 个类别里没有叫 {text} 的{hint}",
                             model=model.display_name, text=echo(text), n=len(labels), hint=hint))
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(say("target: give a class index or a class name, not a {kind}",
                             "target：请给类别编号或类别名，而不是 {kind}", kind=type(target).__name__))
    if not 0 <= int(target) < len(labels):
        raise ValueError(say("target: class index {i} is out of range: {model} has classes 0 to {last}",
                             "target：类别编号 {i} 超出范围：{model} 的类别编号是 0 到 {last}",
                             i=int(target), model=model.display_name, last=len(labels) - 1))
    return int(target)


def _number_option(options: dict, name: str, default: float, low: float, high: float, whole: bool = False):
    value = options.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(say("{name}: {value} is not a number", "{name}：{value} 不是数字",
                             name=name, value=echo(value))) from None
    if whole and not (number.is_integer() and low <= number <= high):
        raise ValueError(say("{name}: {value} must be a whole number from {low} to {high}",
                             "{name}：{value} 必须是 {low} 到 {high} 之间的整数", name=name, value=echo(value),
                             low=low, high=high))
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(say("{name}: {value} must be between {low} and {high}",
                             "{name}：{value} 必须在 {low} 到 {high} 之间", name=name, value=echo(value),
                             low=low, high=high))
    return int(number) if whole else number


def _int_option(options: dict, name: str, default: int, low: int, high: int) -> int:
    return _number_option(options, name, default, low, high, whole=True)


def parse_boolean(name: str, value) -> bool:
    """true / false, 1 / 0, or the same words as text; anything else is refused by name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(say("{name}: {value} is not true or false; give true or false",
                         "{name}：{value} 既不是 true 也不是 false；请给 true 或 false", name=name, value=echo(value)))


# The part of a map shown.

SIGNS = ("absolute", "positive", "negative")


def signed(heat: np.ndarray, sign: str) -> np.ndarray:
    """The part of the map to show: |map|, its positive part, or its negative part (as positive numbers)."""
    if sign == "absolute":
        return np.abs(heat)
    if sign == "positive":
        return np.maximum(heat, 0)
    if sign == "negative":
        return np.maximum(-heat, 0)
    raise ValueError(say("sign: {sign}; choose one of {names}", "sign：不认识 {sign}；请从 {names} 中选",
                         sign=echo(sign), names=", ".join(SIGNS)))


def normalise(heat: np.ndarray) -> np.ndarray:
    """Scale a non-negative map to [0, 1] by its 99.5th percentile, so one hot pixel does not blank the rest."""
    top = float(np.percentile(heat, 99.5)) if heat.size else 0.0
    if not math.isfinite(top) or top <= 0:
        top = float(heat.max()) if heat.size and heat.max() > 0 else 1.0
    return np.clip(heat / top, 0.0, 1.0)
