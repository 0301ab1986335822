"""What a message may repeat of a visitor's value: at most MOST characters, and numbers as numbers.

A visitor may send a 100,000-character stage name or 1e308 in a number field; a message names the
value, it does not return it. `shown(value)` is the value as a message writes it; `capped(message)` is
a whole message with every echo in it cut: a quoted run or any run without spaces longer than MOST
characters, and a run of more than LONG_DIGITS digits written as a number (1e+308, not 309 digits).
explorer.ui.gradio_patches caps every error the API or the page returns, and every log line of a
refused request, with `capped`; the messages the app writes use `shown` (explorer.core.budgets.echo)."""
from __future__ import annotations

import math
import re

from explorer.core.words import say

MOST = 40
LONG_DIGITS = 15

_QUOTED = re.compile(r"'[^']{%d,}'|\"[^\"]{%d,}\"" % (MOST, MOST))
_DIGITS = re.compile(r"(?<![\w.])-?\d{%d,}(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])" % (LONG_DIGITS + 1,))
_UNBROKEN = re.compile(r"\S{%d,}" % (MOST + 2,))       # a cut value (MOST and "…") is left as it is


def cut(text: str, most: int = MOST) -> str:
    """`text`, or its first `most` characters and how long it was."""
    return text if len(text) <= most else f"{text[:most]}… ({len(text):,} characters)"


def number(value: float | int) -> str:
    """A number as a person reads it: whole numbers in full up to LONG_DIGITS digits, else 6 figures."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and len(str(abs(value))) <= LONG_DIGITS:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return f"{float(value):.6g}"
    except OverflowError:
        return f"a number of {len(str(abs(int(value)))):,} digits"


def shown(value, most: int = MOST) -> str:
    """A value as a message repeats it: numbers as numbers, anything else its repr cut to `most`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value)
    return cut(repr(value), most)


def _as_number(match: re.Match) -> str:
    text = match.group(0)
    try:
        return number(int(text)) if text.lstrip("-").isdigit() else number(float(text))
    except (ValueError, OverflowError):
        return cut(text)


def capped(message, most: int = MOST) -> str:
    """`message` with every echo in it cut (see the module's docstring); None stays None."""
    if message is None:
        return message
    text = _DIGITS.sub(_as_number, str(message))
    text = _QUOTED.sub(lambda m: cut(m.group(0), most) if len(m.group(0)) > most + 2 else m.group(0), text)
    return _UNBROKEN.sub(lambda m: cut(m.group(0), most), text)


def whole_number(value, name: str) -> int:
    """`value` as a whole number (an int, an integral float, or text of one), exactly: 2**63 - 1 stays
    itself. ValueError "name: ... is not a whole number" for anything else (NaN, infinity, 2.5, text)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            return int(value.strip())
        number_ = float(value)
        if not number_.is_integer():
            raise ValueError
        return int(number_)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(say("{name}: {value} is not a whole number", "{name}：{value} 不是整数",
                             name=name, value=shown(value))) from None
