"""The server log: a visitor's mistake is one line; a real error keeps its whole traceback."""
import io
import logging
import threading
from pathlib import Path

import gradio as gr
import pytest

from explorer.core.models import DEFAULT_MODEL
from explorer.ui import gradio_patches

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


@pytest.mark.e2e
def test_a_visitors_mistake_is_one_line_in_the_log(client, tmp_path, capfd, caplog):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is a text file, renamed")
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger="explorer.requests"):
        with pytest.raises(AppError, match="not an image"):
            client.predict(handle_file(str(junk)), DEFAULT_MODEL, api_name="/predict")
        with pytest.raises(AppError, match="channel: 9999 is outside the map"):
            client.predict(handle_file(str(EXAMPLES / "cat.jpg")), DEFAULT_MODEL, "conv_stem", 9999, 0, 0,
                           api_name="/unit")
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
    lines = [record.getMessage() for record in caplog.records if record.name == "explorer.requests"]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "not an image" in lines[0] and "9999" in lines[1]


def test_a_real_error_keeps_its_traceback_and_gradio_prints_through_the_filter(caplog):
    gradio_patches.apply()
    from gradio import queueing, routes

    assert queueing.traceback.print_exc is gradio_patches.print_exc
    assert routes.traceback.print_exc is gradio_patches.print_exc
    assert queueing.traceback.format_exc is __import__("traceback").format_exc    # the rest is the real module
    printed = io.StringIO()
    try:
        raise KeyError("a real bug")
    except KeyError:
        gradio_patches.print_exc(file=printed)
    assert "Traceback (most recent call last)" in printed.getvalue() and "KeyError: 'a real bug'" in printed.getvalue()

    printed = io.StringIO()
    with caplog.at_level(logging.INFO, logger="explorer.requests"):
        try:
            raise gr.Error("stride: 0 is not allowed;\n give 1 or more")
        except gr.Error:
            gradio_patches.print_exc(file=printed)
    assert printed.getvalue() == ""
    assert [r.getMessage() for r in caplog.records] == ["refused: stride: 0 is not allowed; give 1 or more"]


@pytest.mark.e2e
def test_memory_is_handed_back_after_a_request_of_the_model_queue(client, monkeypatch):
    from gradio_client import handle_file

    calls = []
    monkeypatch.setattr(gradio_patches, "release_memory", lambda: calls.append("trim") or True)
    client.predict(handle_file(str(EXAMPLES / "cat.jpg")), DEFAULT_MODEL, api_name="/predict")
    waited = threading.Event()
    for _ in range(100):                   # the trim runs after the answer is sent: it may land a moment later
        if calls:
            break
        waited.wait(0.05)
    assert calls == ["trim"]


def preprocess_data():
    """Named as Gradio's Blocks.preprocess_data, where its own checks of a request raise."""
    from gradio.exceptions import InvalidPathError

    raise InvalidPathError("Cannot move /etc/passwd to the gradio cache dir because it was not uploaded by a user.")


def test_a_request_gradio_refuses_before_the_app_runs_is_one_line_and_other_value_errors_are_not(caplog):
    printed = io.StringIO()
    with caplog.at_level(logging.INFO, logger="explorer.requests"):
        try:
            preprocess_data()
        except ValueError:
            gradio_patches.print_exc(file=printed)
    assert printed.getvalue() == ""
    assert [r.getMessage() for r in caplog.records] == [
        "refused: InvalidPathError: Cannot move /etc/passwd to the gradio cache dir because it was not uploaded by a user."]
    try:
        int("seven")                                    # a ValueError anywhere else is a fault: all of it
    except ValueError:
        gradio_patches.print_exc(file=printed)
    assert "Traceback (most recent call last)" in printed.getvalue() and "invalid literal" in printed.getvalue()
