"""Lanes and shares: small requests never wait behind heavy ones, and no visitor holds the queue.

Gradio serves each `concurrency_id` as its own queue. The events that run models share one ("model",
explorer.ui.queues.MODEL_QUEUE, one at a time); the feature drawings have theirs ("features"). Each
request is sorted when it joins (Queue.push, patched by `apply`):

- **small** (lane SMALL, SMALL_LIMIT at once): the Kernel tab's slide and its views, the layer
  playground, and any model event whose every model argument is a small model (the digit model: its
  pass costs less than SMALL_GMACS). It never waits behind a heavy job, and while it runs, long jobs
  wait at their next chunk (explorer.core.cost.give_way).
- **heavy** (HEAVY lanes): everything else that runs a model. A visitor (the browser session, and the
  address the Space's proxy gives in X-Forwarded-For) has at most one heavy job running and one
  waiting (SHARE); one more is answered at once, in words (lane REFUSED, never queued behind anyone).
- A page event (not a public endpoint) replaces the same session's older waiting calls of that event:
  the page needs only the latest answer, and a sketch or a typed number sends many (`supersede`).
- A heavy job whose caller is gone (nobody has read its session's event stream for GONE_AFTER seconds,
  or ever) is dropped when its turn comes, instead of holding the queue.
Stage changes read cached activations in events of their own (Gradio's default: one queue per event)."""
from __future__ import annotations

import asyncio
import copy
import functools
import time

import gradio as gr
from gradio import queueing
from gradio.server_messages import ProcessCompletedMessage

from explorer.core.registry import REGISTRY
from explorer.core.state import STORES
from explorer.core.words import LANGUAGES
from explorer.core.words import language_of as language_of_header

SMALL, REFUSED = "small", "refused"
SMALL_LIMIT = 2
HEAVY = ("model", "features")
SHARE = 2                     # heavy jobs per visitor: one running and one waiting
SMALL_GMACS = 0.05            # a model whose pass costs less is small (the digit model: 0.0016)
GONE_AFTER = 5.0              # seconds without anyone reading a session's stream: its caller is gone
SMALL_EVENTS = ("slide", "layers")
SMALL_PREFIXES = ("kernel_", "layers_")
NOT_SMALL = ("kernel_gif", "kernel_play", "kernel_tick")        # a GIF of up to 400 frames; the animation's own lane
SMALL_SHARE = 8               # small requests per visitor waiting at once (a page sends a few; a flood, hundreds)
SMALL_MESSAGE = {"en": "queue: you have many requests waiting already; wait for their answers, then ask again. "
                       "Others are being served meanwhile.",
                 "zh": "queue：你已经有很多请求在排队了；请等它们有了回答再问。这期间其他人的请求照常处理。"}
SHARE_MESSAGE = {"en": "queue: you already have a long computation running and one waiting; wait for one of them to "
                       "finish (or press Cancel), then ask again. Others are being served meanwhile.",
                 "zh": "queue：你已经有一个耗时的计算在运行、一个在排队；请等其中一个完成（或点“取消”）再问。"
                       "这期间其他人的请求照常处理。"}
REFUSAL_TITLE = {"en": "One at a time", "zh": "请逐个来"}


def _model_arguments(data) -> list[str]:
    values = data.values() if isinstance(data, dict) else (data or [])
    return [value for value in values if isinstance(value, str) and value in REGISTRY]


def lane_of(api_name: str | None, concurrency_id, data) -> str | None:
    """The lane a request joins: SMALL, or None for the event's own."""
    name = api_name or ""
    if name in NOT_SMALL:
        return None
    if name in SMALL_EVENTS or name.startswith(SMALL_PREFIXES):
        return SMALL
    models = _model_arguments(data)
    if concurrency_id in HEAVY and models and all(REGISTRY[m].gmacs < SMALL_GMACS for m in models):
        return SMALL
    return None


def visitor_of(event: queueing.Event) -> set:
    """Who asks: the session, and the first address in X-Forwarded-For where a proxy gives one."""
    who = {("session", event.session_hash)}
    headers = getattr(event.request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for", "") if hasattr(headers, "get") else ""
    if forwarded.strip():
        who.add(("address", forwarded.split(",")[0].strip()))
    return who


def jobs_of(queue: queueing.Queue, who: set, lanes: tuple, leaving_out=None, running: bool = True) -> int:
    """The visitor's jobs in these lanes, waiting (and running, when `running`)."""
    waiting = [event for lane in lanes if lane in queue.event_queue_per_concurrency_id
               for event in queue.event_queue_per_concurrency_id[lane].queue]
    busy = [event for job in list(queue.active_jobs) if job for event in job
            if running and event.concurrency_id in lanes and event.alive]
    return sum(1 for event in waiting + busy if event is not leaving_out and visitor_of(event) & who)


def heavy_jobs_of(queue: queueing.Queue, who: set, leaving_out=None) -> int:
    """The visitor's heavy jobs, waiting and running."""
    return jobs_of(queue, who, HEAVY, leaving_out)


def _refuser(message: str, title: str):
    def refuse(*args, **kwargs):
        raise gr.Error(message, title=title, print_exception=False)
    return refuse


@functools.lru_cache(maxsize=1024)
def _refusing(fn, message: str = SHARE_MESSAGE["en"], title: str = REFUSAL_TITLE["en"]):   # in STORES below
    """The event's function, answering with `message` instead of running (one copy per event and message)."""
    refusal = copy.copy(fn)
    refusal.fn, refusal.preprocess, refusal.postprocess, refusal.validator = _refuser(message, title), False, False, None
    refusal.concurrency_id, refusal.concurrency_limit = REFUSED, None
    return refusal


STORES.register("lanes.refusals", _refusing, "each event's function answering a visitor past their share")


def supersede(queue: queueing.Queue, event: queueing.Event) -> int:
    """A page event (not a public endpoint) makes the same session's older waiting calls of the same event
    obsolete (a sketch stroke after stroke, a number typed digit by digit): they leave the queue, answered
    as Gradio's Cancel answers them (completed, nothing changed). Returns how many went."""
    gone_ = 0
    for lane in (SMALL, *HEAVY):
        waiting = queue.event_queue_per_concurrency_id.get(lane)
        for old in list(waiting.queue) if waiting is not None else []:
            if old is not event and old.session_hash == event.session_hash and old.fn._id == event.fn._id:
                waiting.queue.remove(old)
                queue.event_ids_to_events.pop(old._id, None)
                queue.send_message(old, ProcessCompletedMessage(output={}, success=True))
                gone_ += 1
    return gone_


def _lane(queue: queueing.Queue, lane: str, limit: int | None) -> queueing.EventQueue:
    if lane not in queue.event_queue_per_concurrency_id:
        queue.event_queue_per_concurrency_id[lane] = queueing.EventQueue(lane, limit)
    return queue.event_queue_per_concurrency_id[lane]


def _move(queue: queueing.Queue, event: queueing.Event, lane: str, limit: int | None) -> None:
    old = queue.event_queue_per_concurrency_id.get(event.concurrency_id)
    if old is not None and event in old.queue:
        old.queue.remove(event)
    event.concurrency_id = lane
    _lane(queue, lane, limit).queue.append(event)


class ListenedQueue(asyncio.Queue):
    """A session's pending messages (Gradio's asyncio.Queue), noting when its event stream reads them."""

    def __init__(self):
        super().__init__()
        self.readers = 0
        self.last_read = None

    async def get(self):
        self.readers += 1
        try:
            return await super().get()
        finally:
            self.readers -= 1
            self.last_read = time.monotonic()


def gone(queue: queueing.Queue, event: queueing.Event, now: float | None = None) -> bool:
    """True when nobody has read the event's session stream for GONE_AFTER seconds and the event has
    waited that long: its caller joined the queue and left (or never listened)."""
    now = time.monotonic() if now is None else now
    if now - event.enqueue_time < GONE_AFTER:
        return False
    messages = queue.pending_messages_per_session.get(event.session_hash)
    if not isinstance(messages, ListenedQueue):
        return messages is None
    return messages.readers == 0 and (messages.last_read is None or now - messages.last_read >= GONE_AFTER)


GRADIOS_PUSH = queueing.Queue.push


async def push(self, body, request, username):
    """Gradio's, then the request sorted into its lane, or refused past its visitor's share."""
    session = body.session_hash
    if session is not None and session not in self.pending_messages_per_session:
        self.pending_messages_per_session[session] = ListenedQueue()
    success, event_id, state = await GRADIOS_PUSH(self, body, request, username)
    event = self.event_ids_to_events.get(event_id) if success else None
    if event is None or event.fn.concurrency_id != event.concurrency_id:
        return success, event_id, state
    lane = lane_of(event.fn.api_name, event.concurrency_id, getattr(body, "data", None))
    if getattr(event.fn, "api_visibility", "public") != "public":
        supersede(self, event)
    if lane == SMALL and jobs_of(self, visitor_of(event), (SMALL,), event, running=False) >= SMALL_SHARE:
        refuse(self, event, SMALL_MESSAGE)
    elif lane == SMALL:
        _move(self, event, SMALL, SMALL_LIMIT)
    elif event.concurrency_id in HEAVY and heavy_jobs_of(self, visitor_of(event), event) >= SHARE:
        refuse(self, event, SHARE_MESSAGE)
    return success, event_id, state


def refuse(queue: queueing.Queue, event: queueing.Event, message: dict) -> None:
    """The event answered at once with `message` ({"en", "zh"}), in its visitor's language, never queued."""
    lang = language_of(queue, event)
    event.fn = _refusing(event.fn, message[lang], REFUSAL_TITLE[lang])
    _move(queue, event, REFUSED, None)


def language_of(queue: queueing.Queue, event: queueing.Event) -> str:
    """The language of the page that sent the event: its language State (the gr.State among the event's
    inputs holding "en" or "zh", explorer.ui.language), else the browser's Accept-Language, else English.
    A refusal answers before the event's function, which would otherwise read it (explorer.ui.by_name)."""
    holder = getattr(getattr(queue, "server_app", None), "state_holder", None)
    session = event.session_hash
    if holder is not None and session is not None and session in holder:
        found = page_language(event.fn, holder[session])
        if found:
            return found
    headers = getattr(event.request, "headers", None) or {}
    found = language_of_header(headers.get("accept-language", "") if hasattr(headers, "get") else "")
    return found or "en"


def page_language(fn, state) -> str | None:
    """The language a session's page speaks, from its language State among the event's inputs (the
    gr.State whose first value is "en" or "zh", explorer.ui.language) in the session's `state`; None
    when the event does not read one."""
    for block in getattr(fn, "inputs", None) or []:
        if isinstance(block, gr.State) and block.value in LANGUAGES:
            value = state.get(block._id)
            if value in LANGUAGES:
                return value
    return None


def before_start(queue: queueing.Queue, events: list) -> bool:
    """Drops the heavy events whose caller is gone; True when the batch is small (runs with right of way)."""
    for event in events:
        if event.concurrency_id in HEAVY and event.alive and gone(queue, event):
            event.alive = False
    return bool(events) and events[0].concurrency_id == SMALL


def apply() -> None:
    """Patches Gradio's queue (idempotent); explorer.ui.gradio_patches.apply calls it."""
    queueing.Queue.push = push
