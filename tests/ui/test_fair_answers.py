"""Issue 25's answers over HTTP, against the whole app: no echo longer than 40 characters, numbers as
numbers, a message for every bad number field of /unit and /visualize (text, NaN), the seed's stated
range accepted, one log line for an unknown session hash, and the untrained model marked in /predict
and /stages. The public endpoints' parameters are unchanged (tests/ui/test_api_contract.py)."""
import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

PHOTO = Path(__file__).resolve().parents[2] / "assets" / "examples" / "bird.jpg"


def _refusal(client, *args, api_name: str) -> str:
    with pytest.raises(AppError) as error:
        client.predict(*args, api_name=api_name)
    return str(error.value)


def _longest_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"\S+", text)), default=0)


def test_a_100000_character_stage_name_is_not_echoed(client):
    message = _refusal(client, "digits", "x" * 100_000, 0, "channel", 0, 1, api_name="/visualize")
    assert message.startswith("stage: no stage is named") and len(message) < 300, message[:300]
    assert _longest_run(message) <= 42


def test_a_huge_number_is_shown_as_a_number(client):
    message = _refusal(client, "digits", "0", 1e308, "channel", 0, 1, api_name="/visualize")
    assert message.startswith("channel: ") and "1e+308" in message and len(message) < 200, message[:200]


@pytest.mark.parametrize("field", [2, 4, 5])            # channel, seed, steps
def test_text_in_a_number_field_of_visualize_gets_a_message(client, field):
    args = ["digits", "0", 0, "channel", 0, 1]
    args[field] = "abc"
    message = _refusal(client, *args, api_name="/visualize")
    assert "is not a number" in message and "verbose error reporting" not in message


@pytest.mark.parametrize("field", [3, 4, 5])            # channel, row, col
def test_text_in_a_number_field_of_unit_gets_a_message(client, field):
    args = [handle_file(str(PHOTO)), "digits", "0", 0, 0, 0]
    args[field] = "abc"
    message = _refusal(client, *args, api_name="/unit")
    assert "is not a number" in message and "verbose error reporting" not in message


def _call_raw(app_url: str, name: str, body: str) -> str:
    """POST to /gradio_api/call/<name> with a JSON body as written (NaN included), then read the answer."""
    posted = httpx.post(f"{app_url}gradio_api/call/{name}", content=body,
                        headers={"content-type": "application/json"}, timeout=60)
    posted.raise_for_status()
    event = posted.json()["event_id"]
    return httpx.get(f"{app_url}gradio_api/call/{name}/{event}", timeout=120).text


def test_nan_in_a_number_field_gets_a_message(app_url):
    answer = _call_raw(app_url, "visualize", '{"data": ["digits", "0", 0, "channel", NaN, 1]}')
    assert "event: error" in answer and "seed: nan is not a finite number" in answer, answer[:300]


def test_the_stated_seed_range_is_accepted(client):
    image, numbers = client.predict("digits", "0", 0, "channel", 2 ** 63 - 1, 1, api_name="/visualize")
    assert numbers["seed"] == 2 ** 63 - 1 and Path(image).exists()
    message = _refusal(client, "digits", "0", 0, "channel", 2 ** 63, 1, api_name="/visualize")
    assert message.startswith("seed: ") and "out of range" in message


def test_an_unknown_session_hash_is_one_log_line(app_url):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    logging.getLogger("uvicorn.error").addHandler(handler)
    try:
        try:
            httpx.get(f"{app_url}gradio_api/queue/data", params={"session_hash": "no-such-session"}, timeout=10)
        except httpx.HTTPError:
            pass            # Gradio ends that stream abruptly: the test is about the log
        time.sleep(0.5)     # the server logs as the stream ends
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    lines = "\n".join(records).splitlines()
    assert len(lines) == 1 and "unknown session" in lines[0], lines[:5]


def test_predict_and_stages_say_when_the_model_is_untrained(client):
    label = client.predict(handle_file(str(PHOTO)), "cnnnet", api_name="/predict")
    assert all(c["label"].endswith("(untrained model)") for c in label["confidences"]), label
    summary, _ = client.predict(handle_file(str(PHOTO)), "cnnnet", api_name="/stages")
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert summary and all(entry["model"] == "untrained model" for entry in summary)
    label = client.predict(handle_file(str(PHOTO)), "digits", api_name="/predict")
    assert not any("untrained" in c["label"] for c in label["confidences"]), "a trained model is not marked"
