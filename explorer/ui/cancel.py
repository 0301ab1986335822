"""Cancel for long jobs (the Saliency maps and trust check, a feature drawing): one flag per visitor's
session and kind of job, kept in a bounded store registered in explorer.core.state.STORES, so that a
closed session's flag is dropped (demo.unload) and a session that never comes back is forgotten."""
from __future__ import annotations

import threading
from typing import Hashable

import gradio as gr

from explorer.core.attribution import Cancelled
from explorer.core.cost import give_way
from explorer.core.recent import Recent
from explorer.core.state import STORES
from explorer.core.words import say
from explorer.ui.gradio_patches import abandoned

CLOSING = threading.Event()     # set before the app closes (tests/conftest.py): every long job stops at its next step


class StopFlag(threading.Event):
    """Set by Cancel; also reads as set once nobody waits for the session's job any more (the tab closed,
    the client gone) or the app closes (CLOSING): every progress report of a long job asks it."""
    request: gr.Request | None = None

    def is_set(self) -> bool:
        return super().is_set() or CLOSING.is_set() or abandoned(self.request)


class CancelFlags:
    """The Cancel flags of one kind of job, one per session (one for all calls without a session: the
    Python API)."""

    def __init__(self, store_name: str, max_sessions: int = 256):
        self._flags = STORES.register(store_name, Recent(max_entries=max_sessions), "a Cancel flag per session",
                                      forget=self.forget)

    def for_request(self, request: gr.Request | None) -> StopFlag:
        key = getattr(request, "session_hash", None) or "api"
        flag = self._flags.get_or_compute(key, StopFlag)
        flag.request = request
        return flag

    def forget(self, session: Hashable) -> None:
        self._flags.drop_where(lambda key: key == session)


class Stop(Cancelled):
    """Raised between two steps of a long job when its visitor pressed Cancel or left."""


def stopped(en: str, zh: str, /, **values) -> dict:
    """What a page event stopped by Cancel answers: an Info toast saying so, in the visitor's language
    (`en` or `zh`, filled with `values`), and nothing on the page changed (the last result stays).

    Not gr.Error: Gradio 6.31 titles every toast by its kind, whatever title it is given, so an error
    raised with title="Cancelled" reads "Error" (tests/browser/test_cancel_browser.py shows both)."""
    gr.Info(say(en, zh, **values), duration=5)
    return {}


def stopping_progress(progress, flag: threading.Event, label: str):
    """Reports progress between steps, and stops there when the flag is set (Cancel pressed, or nobody
    waits for the result any more: a StopFlag), so the queue serves the next request; there too it gives
    way to the small requests running (explorer.core.cost.give_way)."""
    def report(fraction: float) -> None:
        if flag.is_set():
            raise Stop(say("cancelled: Cancel was pressed or nobody waits for the result",
                           "cancelled：已点“取消”，或已没有人在等结果"))
        give_way()          # between two chunks: a small request running now goes first
        progress(fraction, desc=label)
    return report
