"""What a visitor sees when a job stops on Cancel: explorer.ui.cancel.stopped shows an Info toast in the
visitor's language, never a toast titled "Error" (Gradio 6.31 titles a toast by its kind and ignores the
title it is given, which this test also shows, so that a Gradio that honours titles is noticed)."""
import socket

import gradio as gr
import pytest

from explorer.ui.by_name import PAGE_LANGUAGE, event
from explorer.ui.cancel import stopped


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stopped_job(values: dict) -> dict:
    return stopped("Stopped after {n} steps: press Explain to compute the maps again.",
                   "第 {n} 步后已停止：点“解释”可重新计算。", n=3)


def _raised_job():
    raise gr.Error("Stopped: press Explain to compute the maps again.", title="Cancelled")


@pytest.fixture(scope="module")
def stop_page_url():
    with gr.Blocks() as demo:
        lang = gr.State("en")
        choose = gr.Radio(["en", "zh"], value="en", elem_id="lang")
        choose.change(lambda v: v, choose, lang)
        building = PAGE_LANGUAGE.set(lang)
        out = gr.Markdown("the last result", elem_id="out")
        cancelled = gr.Button("stopped", elem_id="stopped")
        cancelled.click(**event({"out": out}, _stopped_job, (), ("out",)))
        PAGE_LANGUAGE.reset(building)
        gr.Button("raised", elem_id="raised").click(_raised_job)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    yield url
    demo.close()


def _toasts(page) -> list[tuple[str, str]]:
    """(title, text) of each toast shown."""
    page.wait_for_selector("[data-testid=toast-body]")
    page.wait_for_timeout(300)
    bodies = page.locator("[data-testid=toast-body]").all()
    return [(b.locator(".toast-title-row").inner_text().strip(), b.locator("[data-testid=toast-text]").last.inner_text())
            for b in bodies]


@pytest.mark.browser
def test_a_cancelled_job_says_so_in_an_info_toast_not_an_error(browser, stop_page_url):
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        page = context.new_page()
        page.goto(stop_page_url)
        page.locator("#stopped").click()
        toasts = _toasts(page)
        assert toasts == [("Info", "Stopped after 3 steps: press Explain to compute the maps again.")]
        assert page.locator("#out").inner_text() == "the last result"      # nothing on the page changed

        page.locator("[data-testid=toast-close]").first.click()
        page.locator("#lang label", has_text="zh").click()
        page.wait_for_timeout(500)
        page.locator("#stopped").click()
        page.wait_for_function("document.body.innerText.includes('第 3 步后已停止')")
        assert not any(title == "Error" for title, _ in _toasts(page))

        page.locator("#raised").click()
        page.wait_for_function("document.querySelector('.toast-title.error') !== null")
        # what the pages did before: an error raised with title "Cancelled" still reads "Error"
        assert page.locator(".toast-title.error").first.inner_text().strip() == "Error"
    finally:
        context.close()
