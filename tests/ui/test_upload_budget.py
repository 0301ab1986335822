"""explorer.ui.upload_budget: uploads kept within a per-file, per-visitor and total byte budget, oldest
first out (never one a request may still read), and what is refused says why; against a served app."""
import os

import gradio as gr
import httpx
import pytest

from explorer.ui import gradio_patches, upload_budget

MB = 1 << 20


@pytest.fixture()
def url(monkeypatch):
    monkeypatch.setenv("EXPLORER_UPLOAD_FILE_MB", "1")
    monkeypatch.setenv("EXPLORER_UPLOAD_VISITOR_MB", "2")
    monkeypatch.setenv("EXPLORER_UPLOAD_TOTAL_MB", "3")
    upload_budget.LEDGER.clear()
    gradio_patches.apply()
    with gr.Blocks() as demo:
        gr.File()
    _, address, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield address
    demo.close()
    upload_budget.LEDGER.clear()


def _upload(url: str, size: int, visitor: str = "203.0.113.7") -> httpx.Response:
    return httpx.post(f"{url}gradio_api/upload", files={"files": ("p.bin", os.urandom(size))},
                      headers={"x-forwarded-for": f"{visitor}, 10.0.0.1"}, timeout=30)


def test_a_visitor_past_their_budget_is_refused_in_words_while_their_files_are_young(url):
    kept = [_upload(url, 900_000) for _ in range(2)]
    assert all(r.status_code == 200 for r in kept)
    refused = _upload(url, 900_000)
    assert refused.status_code == 413
    assert refused.text.startswith("upload: your uploads of the last minute already fill") and "2 MB" in refused.text
    assert len(upload_budget.LEDGER) == 2, "the refused file is not kept"
    assert _upload(url, 900_000, visitor="198.51.100.2").status_code == 200, "another visitor still uploads"


def test_past_the_budget_the_oldest_upload_goes_first(url, monkeypatch):
    monkeypatch.setattr(upload_budget, "IN_USE_SECONDS", 0.0)
    first, second = (_upload(url, 900_000).json()[0] for _ in range(2))
    third = _upload(url, 900_000)
    assert third.status_code == 200
    assert not os.path.exists(first) and os.path.exists(second), "the oldest went, the next stayed"
    held = sum(b for v, b, _ in upload_budget.LEDGER.values() if v == "203.0.113.7")
    assert held <= 2 * MB


def test_all_visitors_together_stay_within_the_total(url, monkeypatch):
    monkeypatch.setattr(upload_budget, "IN_USE_SECONDS", 0.0)
    for i in range(8):
        assert _upload(url, 900_000, visitor=f"192.0.2.{i}").status_code == 200
    assert sum(b for _, b, _ in upload_budget.LEDGER.values()) <= 3 * MB
    assert sum(os.path.exists(p) for p in upload_budget.LEDGER) == len(upload_budget.LEDGER) == 3


def test_a_file_over_the_cap_is_refused_with_its_size(url):
    refused = _upload(url, int(1.5 * MB))
    assert refused.status_code == 413 and "maximum allowed size" in refused.text
