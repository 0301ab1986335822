"""The page itself, as the app's front route serves it:

1. `?page=<key>` opens the lesson at that page (explorer.ui.page_wiring). Gradio 6.31 reads a query
parameter named `page` on its own front route as the name of one of a multipage app's pages, and answers 500
for any other value. `page` is hidden from that route only (a GET of the page itself); the browser keeps its
address, and the events read `page` from it as before.
2. The language asked for (`?lang=`, or the switch's choice kept in the browser) is the browser's before
Gradio's page starts: explorer.ui.language.BOOT_JS goes first in the page's <head>."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from gradio import routes

from explorer.ui.language import BOOT_JS

BOOT = f"<script>{BOOT_JS}</script>".encode()


class HidePageParameter:
    """On a GET of the page itself (a path with no Gradio route below it: "/", a Space's root): drops `page`
    from the query, and puts BOOT first in the page's <head>."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if not (scope.get("type") == "http" and scope.get("method") == "GET"
                and "gradio_api" not in scope.get("path", "") and scope.get("path", "/").endswith("/")):
            await self.app(scope, receive, send)
            return
        if b"page=" in scope.get("query_string", b""):
            kept = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                    if k != "page"]
            scope = dict(scope, query_string=urlencode(kept).encode("latin-1"))
        await self.app(scope, receive, _with_boot(send))


def _with_boot(send):
    """`send`, with BOOT put after <head> in an HTML answer that is not compressed."""
    state = {"html": False, "start": None, "body": b""}

    async def sending(message):
        if message["type"] == "http.response.start":
            headers = dict((k.lower(), v) for k, v in message.get("headers", []))
            state["html"] = (headers.get(b"content-type", b"").startswith(b"text/html")
                             and b"content-encoding" not in headers)
            if not state["html"]:
                await send(message)
            else:
                state["start"] = message
            return
        if message["type"] != "http.response.body" or not state["html"]:
            await send(message)
            return
        state["body"] += message.get("body", b"")
        if message.get("more_body"):
            return
        body = state["body"].replace(b"<head>", b"<head>" + BOOT, 1)
        start = state["start"]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return sending


_ORIGINAL = routes.App.create_app


def _create_app(*args, **kwargs):
    app = _ORIGINAL(*args, **kwargs)
    if not any(m.cls is HidePageParameter for m in app.user_middleware):
        app.add_middleware(HidePageParameter)
    return app


def apply() -> None:
    """Installs the middleware on every app Gradio creates from now on (idempotent)."""
    routes.App.create_app = staticmethod(_create_app)
