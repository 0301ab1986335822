"""Numbers and sliders sent through the API: a bad value is named with the input's label."""
import math

import gradio as gr
import pytest

from explorer.ui.number_inputs import NumberInput, SliderInput


@pytest.fixture
def inputs():
    with gr.Blocks():
        return (NumberInput(value=2, precision=0, minimum=1, maximum=64, label="Output height"),
                SliderInput(0, 1, value=0.5, step=0.05, label="Dropout p"))


@pytest.mark.parametrize("payload, words", [("tall", "'tall' is not a number"), ([3], "[3] is not a number"),
                                             (True, "True is not a number"), (math.inf, "inf is not a finite number"),
                                             (0, "Value 0 is less than minimum value 1")])
def test_a_bad_number_names_its_input(inputs, payload, words):
    number, _ = inputs
    with pytest.raises(gr.Error) as raised:
        number.preprocess(payload)
    assert raised.value.message.startswith("Output height: ") and words in raised.value.message


def test_good_values_pass_as_gradio_gives_them(inputs):
    number, slider = inputs
    assert number.preprocess(3.0) == 3 and isinstance(number.preprocess(3.0), int)
    assert number.preprocess(None) is None
    assert slider.preprocess(0.25) == 0.25
    with pytest.raises(gr.Error, match="Dropout p: no value was given"):
        slider.preprocess(None)
    with pytest.raises(gr.Error, match="Dropout p: Value 1.5 is greater than maximum value 1"):
        slider.preprocess(1.5)


def test_the_browser_draws_them_as_gradios_own(inputs):
    number, slider = inputs
    assert number.get_block_name() == "number" and slider.get_block_name() == "slider"
