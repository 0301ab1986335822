"""MCP: `python app.py` serves Gradio's MCP server by default, so an assistant can drive the app; each named
endpoint is a tool. Checked with a real MCP client (the `mcp` package) against the app in a child process:
the tools listed, the slide tool on the chapter's example, the unit tool on a photo, and EXPLORER_MCP=0."""
import ast
import asyncio
import base64
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((Path(__file__).with_name("api_contract.json")).read_text())
PHOTO = ROOT / "assets" / "examples" / "cat.jpg"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(port: int, mcp: str | None) -> subprocess.Popen:
    """`python app.py` on `port`, EXPLORER_MCP set to `mcp` (None: not set at all, the default)."""
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", EXPLORER_DEVICE="cpu")
    env.pop("GRADIO_MCP_SERVER", None)     # the app decides, not Gradio's own variable
    env.pop("EXPLORER_MCP", None)
    if mcp is not None:
        env["EXPLORER_MCP"] = mcp
    return subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(url: str, process: subprocess.Popen, limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, f"app.py exited with status {process.returncode}"
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"app.py did not answer at {url} within {limit:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def app():
    """`python app.py` with no MCP setting at all: the default."""
    port = _free_port()
    process = _launch(port, mcp=None)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(url, process)
        yield url
    finally:
        _stop(process)


def _mcp(url: str, work):
    """Run `work(session)` in an MCP client session on the app's streamable HTTP endpoint."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(f"{url}gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)
    # a thread of its own: a browser test earlier in the session may have left an event loop running here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _tool_for(url: str) -> dict:
    """Endpoint name -> MCP tool name, from the MCP server's own schema listing."""
    schema = httpx.get(f"{url}gradio_api/mcp/schema", timeout=30).json()
    return {"/" + tool["meta"]["endpoint_name"].lstrip("/"): tool["name"] for tool in schema}


def _outputs(result) -> list:
    """The tool's outputs: Gradio sends them as one text item, the Python repr of the list of returns."""
    assert not result.isError, result.content
    texts = [item.text for item in result.content if item.type == "text"]
    assert texts, result.content
    return ast.literal_eval(texts[0])


def test_every_named_endpoint_is_a_tool_with_a_description(app):
    tools = _mcp(app, lambda session: session.list_tools())
    by_name = {tool.name: tool for tool in tools.tools}
    endpoints = _tool_for(app)
    assert sorted(endpoints) == sorted(CONTRACT), "the MCP tools are not the named endpoints"
    assert sorted(by_name) == sorted(endpoints.values())
    for endpoint in ("/slide", "/unit", "/stages", "/attribute", "/compare"):
        tool = by_name[endpoints[endpoint]]
        assert len(tool.description or "") > 40, f"{endpoint}: the tool's description is too short to use"
        assert tool.inputSchema["properties"], f"{endpoint}: the tool lists no parameters"


def test_the_slide_tool_gives_the_chapter_example(app):
    """The chapter's 4x4 matrix, kernel [[1, 0], [1, 0]], stride 2: the first output is 10x1 + 2x1 = 12."""
    matrix = [[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]]
    kernel = [[1, 0], [1, 0]]
    tool = _tool_for(app)["/slide"]
    arguments = {"matrix": {"headers": ["1", "2", "3", "4"], "data": matrix},
                 "kernel": {"headers": ["1", "2"], "data": kernel},
                 "op": "conv", "kernel_size": "2", "stride": "2", "padding": "0", "dilation": "1",
                 "bias": 0, "ceil_mode": False}
    frame, formula, code, step = _outputs(_mcp(app, lambda session: session.call_tool(tool, arguments)))
    namespace = {}
    exec(code, namespace)                      # the PyTorch code the tool returns, run here
    out = namespace["out"].tolist()
    expected = torch.nn.functional.conv2d(torch.tensor(matrix, dtype=torch.float64)[None, None],
                                          torch.tensor(kernel, dtype=torch.float64)[None, None], stride=2)[0, 0]
    assert out[0][0] == matrix[0][0] * 1 + matrix[1][0] * 1 == 12
    assert out == expected.tolist()
    assert "Output 2x2" in formula
    assert step["maximum"] == 4 and frame["url"].startswith(app)


def test_the_unit_tool_explains_a_real_unit(app):
    """A unit of EfficientNet-Lite0's first convolution on a photo sent as a data URL: its window times
    the kernel, summed per channel, plus the bias, is the layer's real output (a hook of this test's own)."""
    from PIL import Image

    from explorer.core.models import get_model

    stage, channel, row, col = "conv_stem", 5, 40, 57
    photo = "data:image/jpeg;base64," + base64.b64encode(PHOTO.read_bytes()).decode()
    tool = _tool_for(app)["/unit"]
    arguments = {"image": photo, "model_name": "efficientnet_lite0", "stage": stage,
                 "channel": channel, "row": row, "col": col}
    outputs = _outputs(_mcp(app, lambda session: session.call_tool(tool, arguments)))
    unit = next(o for o in outputs if isinstance(o, dict) and "partials" in o)
    assert (unit["stage"], unit["channel"], unit["row"], unit["col"]) == (stage, channel, row, col)
    window, kernel = np.array(unit["window"]), np.array(unit["kernel"])
    partials = (window * kernel).sum(axis=(1, 2))
    assert np.allclose(partials, unit["partials"], atol=1e-4)
    assert partials.sum() + unit["bias"] == pytest.approx(unit["value"], abs=1e-3)

    model, _ = get_model("efficientnet_lite0")
    seen = {}
    layer = dict(model.module.named_modules())[stage]
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.setdefault("out", output.detach()))
    try:
        with model.lock, torch.inference_mode():
            model.module(model.preprocess(Image.open(PHOTO)))
    finally:
        handle.remove()
    assert unit["value"] == pytest.approx(float(seen["out"][0, channel, row, col]), abs=1e-4)


def test_explorer_mcp_0_turns_it_off():
    port = _free_port()
    process = _launch(port, mcp="0")
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(url, process)
        assert httpx.get(f"{url}gradio_api/mcp/schema", timeout=30).status_code == 404
    finally:
        _stop(process)


def test_a_bad_explorer_mcp_is_named():
    code = "import explorer.ui.app"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, EXPLORER_MCP="maybe"))
    assert run.returncode != 0 and "EXPLORER_MCP: give 1" in run.stderr and "'maybe'" in run.stderr
