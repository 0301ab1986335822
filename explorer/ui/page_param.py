"""`?page=<key>` opens the lesson at that page (explorer.ui.page_wiring). Gradio 6.31 reads a query
parameter named `page` on its own front route as the name of one of a multipage app's pages, and answers
500 for any other value. This ASGI middleware hides `page` from that route only (a GET of the page itself);
the browser keeps its address, and the events read `page` from it as before."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from gradio import routes


class HidePageParameter:
    """Drops `page` from the query of a GET on a path with no Gradio route below it ("/", a Space's root)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope.get("type") == "http" and scope.get("method") == "GET" and b"page=" in scope.get("query_string", b"")
                and "gradio_api" not in scope.get("path", "") and scope.get("path", "/").endswith("/")):
            kept = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                    if k != "page"]
            scope = dict(scope, query_string=urlencode(kept).encode("latin-1"))
        await self.app(scope, receive, send)


_ORIGINAL = routes.App.create_app


def _create_app(*args, **kwargs):
    app = _ORIGINAL(*args, **kwargs)
    if not any(m.cls is HidePageParameter for m in app.user_middleware):
        app.add_middleware(HidePageParameter)
    return app


def apply() -> None:
    """Installs the middleware on every app Gradio creates from now on (idempotent)."""
    routes.App.create_app = staticmethod(_create_app)
