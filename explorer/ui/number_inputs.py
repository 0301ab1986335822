"""gr.Number and gr.Slider whose every bad value sent through the API gets a message naming the input.

Gradio compares a value with the input's bounds before anything else: text there fails with an
anonymous error ("the app has not enabled verbose error reporting"), and a value out of range gets a
message that does not say which input it was. The browser only ever sends numbers."""
import math

import gradio as gr

from explorer.core.shown import shown
from explorer.core.words import pick, say
from explorer.ui.words import chinese, english

ERROR_TITLE = {"en": "Cannot use this", "zh": "无法使用这个值"}


def _checked(name: str, payload, may_be_empty: bool):
    if payload is None:
        if may_be_empty:
            return None
        raise gr.Error(say("{name}: no value was given", "{name}：没有给出值", name=name), title=pick(ERROR_TITLE))
    if isinstance(payload, bool) or not isinstance(payload, (int, float)):
        raise gr.Error(say("{name}: {v} is not a number; give a number", "{name}：{v} 不是数；请填一个数",
                           name=name, v=shown(payload)), title=pick(ERROR_TITLE))
    if not math.isfinite(payload):
        raise gr.Error(say("{name}: {v} is not a finite number; give a number", "{name}：{v} 不是有限的数；请填一个数",
                           name=name, v=shown(payload)), title=pick(ERROR_TITLE))
    return payload


class _NamesItself:
    """Mixed in before a Gradio number component: its checks' messages start with its label."""
    BLOCK_NAME: str
    MAY_BE_EMPTY: bool

    def get_block_name(self) -> str:
        return self.BLOCK_NAME      # rendered by Gradio's own front end for that component

    def preprocess(self, payload):
        # a hidden API input's label is its parameter's name as code (`seed`): the message names it plainly
        name = say(english(self.label), chinese(self.label)).strip("`") if self.label else say("number", "数")
        payload = _checked(name, payload, self.MAY_BE_EMPTY)
        try:
            return super().preprocess(payload)
        except gr.Error as error:
            raise gr.Error(f"{name}: {error.message}", title=pick(ERROR_TITLE))


class NumberInput(_NamesItself, gr.Number):
    BLOCK_NAME, MAY_BE_EMPTY = "number", True


class SliderInput(_NamesItself, gr.Slider):
    BLOCK_NAME, MAY_BE_EMPTY = "slider", False


class Number(_NamesItself, gr.Number):
    """A NumberInput that keeps gr.Number's name in the API's description (Gradio names a parameter's
    component by its class): the public endpoints' parameters stay as they were (api_contract.json)."""
    BLOCK_NAME, MAY_BE_EMPTY = "number", True
