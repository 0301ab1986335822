"""Shared fixtures: the app served on localhost, a gradio_client for it, and headless Chromium."""
import contextlib
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("EXPLORER_DEVICE", "cpu")

# Every test runs the app with a stand-in for Hugging Face's `spaces` package (tests/standin/spaces): as
# on ZeroGPU, a served model's forward pass in an event outside a @spaces.GPU function fails, and a GPU
# function's arguments and result must pickle. Its log of GPU calls and violations is checked by
# tests/ui/test_zerogpu.py.
STANDIN = Path(__file__).resolve().parent / "standin"
sys.path.insert(0, str(STANDIN))
os.environ.setdefault("SPACES_STANDIN_LOG", str(Path(tempfile.mkdtemp(prefix="spaces-standin-")) / "calls.jsonl"))

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    from explorer.ui import LAUNCH_OPTIONS, build_demo

    demo = build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1",
                            server_port=_free_port(), quiet=True, **LAUNCH_OPTIONS)
    yield url
    _finish_running_jobs(demo)
    demo.close()


def _finish_running_jobs(demo, seconds: float = 120) -> None:
    """Stops the long jobs still running (a test that ends before the maps or the trust check it started)
    at their next step, and waits until the queue has no job running or waiting: a job still in PyTorch
    when the interpreter exits aborts the run ("terminate called without an active exception", exit code
    134, after every test passed)."""
    import time

    from explorer.ui import cancel

    cancel.CLOSING.set()
    queue, deadline = demo._queue, time.monotonic() + seconds
    while time.monotonic() < deadline and (any(queue.active_jobs) or any(
            events.queue for events in queue.event_queue_per_concurrency_id.values())):
        time.sleep(0.1)


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def app_page(browser, app_url, width: int = 1400, height: int = 1000, timeout_ms: int = 60_000, tab: str = None,
             locale: str = "en-US", query: str = "", lesson: bool = False):
    """The app in a fresh browser context of this size and language, opened at `query` ("?page=pooling"),
    its tabs drawn (and `tab` opened); the lesson's sidebar closed unless `lesson`; closed after."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(app_url + query)
        page.wait_for_selector("button[role=tab]")
        page.wait_for_selector("#lesson-text")
        if not lesson:
            close_lesson(page)
        if tab:
            page.get_by_role("tab", name=tab).click()
            if not lesson:
                at_top(page)
        yield page
    finally:
        context.close()


def close_lesson(page) -> None:
    """Closes the lesson's sidebar (open when a page opens)."""
    toggle = page.locator(".sidebar.open .toggle-button")
    if toggle.count():
        toggle.first.click()
        page.wait_for_selector(".sidebar:not(.open)", state="attached")
    at_top(page)                                 # the page from its top, as a visitor sees it after closing


def at_top(page) -> None:
    """The page scrolled to its top and left there: Playwright's clicks (the sidebar's toggle, a tab) may
    scroll a phone's page while the sidebar slides shut, after a first scrollTo (136 px, now and then)."""
    page.evaluate("window.__still = 0")
    page.wait_for_function("""() => {
        if (window.scrollY !== 0) { window.scrollTo(0, 0); window.__still = 0; return false; }
        window.__still = (window.__still || 0) + 1;
        return window.__still >= 3;
    }""", polling=150)


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url) as pg:
        yield pg


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when any event ran a served model outside a GPU slot (see tests/standin/spaces)."""
    log = Path(os.environ["SPACES_STANDIN_LOG"])
    violations = [line for line in log.read_text().splitlines() if '"violation"' in line] if log.exists() else []
    if violations:
        print(f"\n{len(violations)} ZeroGPU stand-in violation(s); the first:\n{violations[0][:2000]}")
        session.exitstatus = 1
