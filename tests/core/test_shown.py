"""explorer.core.shown: no echo longer than 40 characters, numbers shown as numbers."""
import re

import pytest

from explorer.core.shown import MOST, capped, number, shown, whole_number


def _longest_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"\S+", text)), default=0)


def test_a_long_value_is_cut_and_says_how_long_it_was():
    text = shown("x" * 100_000)
    assert len(text) < 80 and "100,002 characters" in text


def test_numbers_are_shown_as_numbers():
    assert shown(1e308) == "1e+308" and shown(int(1e308)) == "1e+308"
    assert shown(12) == "12" and number(2 ** 63 - 1) == "9.22337e+18"
    assert "digits" in number(10 ** 400)


@pytest.mark.parametrize("message", [
    "stage: no stage is named '" + "x" * 100_000 + "'; the stages are 'a' to 'b'",
    "channel: " + str(int(1e308)) + " does not exist; this stage has channels 0 to 15",
    "path: /tmp/" + "d" * 500 + "/file.png is outside the cache",
    'seed: "' + "1 " * 5_000 + '" is not a whole number',
])
def test_a_message_keeps_its_words_and_cuts_every_echo(message):
    out = capped(message)
    assert len(out) < 220, out
    assert _longest_run(out) <= MOST + 2
    assert out.split(":")[0] == message.split(":")[0], "the argument's name stays first"


def test_a_short_message_is_left_alone():
    message = "steps: 600 is more than this model and stage take here: at most 200 (each step is a pass)"
    assert capped(message) == message


def test_whole_numbers_are_exact_and_everything_else_is_refused_by_name():
    assert whole_number(2 ** 63 - 1, "seed") == 2 ** 63 - 1
    assert whole_number(3.0, "seed") == 3 and whole_number(" 7 ", "seed") == 7
    for bad in (float("nan"), float("inf"), 2.5, "abc", True, None, "x" * 1000):
        with pytest.raises(ValueError, match=r"^seed: .* is not a whole number$") as error:
            whole_number(bad, "seed")
        assert len(str(error.value)) < 100
