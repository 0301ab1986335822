"""gr.Number and gr.Slider whose every bad value sent through the API gets a message naming the input.

Gradio compares a value with the input's bounds before anything else: text there fails with an
anonymous error ("the app has not enabled verbose error reporting"), and a value out of range gets a
message that does not say which input it was. The browser only ever sends numbers."""
import math

import gradio as gr


def _checked(label: str | None, payload, may_be_empty: bool):
    name = label or "number"
    if payload is None:
        if may_be_empty:
            return None
        raise gr.Error(f"{name}: no value was given", title="Cannot use this")
    if isinstance(payload, bool) or not isinstance(payload, (int, float)):
        raise gr.Error(f"{name}: {payload!r} is not a number", title="Cannot use this")
    if not math.isfinite(payload):
        raise gr.Error(f"{name}: {payload!r} is not a finite number", title="Cannot use this")
    return payload


class NumberInput(gr.Number):
    def get_block_name(self) -> str:
        return "number"     # rendered by gr.Number's front end

    def preprocess(self, payload):
        payload = _checked(self.label, payload, may_be_empty=True)
        try:
            return super().preprocess(payload)
        except gr.Error as error:
            raise gr.Error(f"{self.label or 'number'}: {error.message}", title="Cannot use this")


class SliderInput(gr.Slider):
    def get_block_name(self) -> str:
        return "slider"

    def preprocess(self, payload):
        payload = _checked(self.label, payload, may_be_empty=False)
        try:
            return super().preprocess(payload)
        except gr.Error as error:
            raise gr.Error(f"{self.label or 'number'}: {error.message}", title="Cannot use this")
