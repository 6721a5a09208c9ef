"""Bodies bounded before anything reads them: an ASGI middleware outside the gate.

A request body larger than MAX_BODY_BYTES (by its Content-Length, or counted as it streams
in) gets 413 {"error": "too_large"} in the requester's language and is counted as rejected;
neither Dash nor a door ever holds it. A kiosk once posted 52 MB to /_dash-update-component,
which Dash parsed in full before the role check saw it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.i18n.georeport_wire import error_body, is_open311, path_format
from dashboard.i18n.text import requested_lang, t

log = logging.getLogger(__name__)

# The largest body any screen or door sends: a 2 MB stock-take file, base64 in a callback's
# JSON, is under 3 MB; a door's message is at most 256 KB (dashboard/messages.py).
MAX_BODY_BYTES = 8 * 1024 * 1024
DRAIN_BYTES = 64 * 1024 * 1024  # up to this a refused body is read and dropped; past it, cut


async def _drain(receive: Receive) -> None:
    """Read a request body to its end and drop it."""
    more = True
    while more:
        message = await receive()
        more = message["type"] == "http.request" and message.get("more_body", False)


def _lang(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return requested_lang(value.decode("latin-1"))
    return "zh"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES,
                 count: Callable[[], Any] | None = None):
        self.app, self.limit, self.count = app, limit, count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:  # the server holds a client to the length it declared
            if declared > self.limit:
                if declared <= DRAIN_BYTES:  # read and dropped, unparsed: a plain client
                    await _drain(receive)    # hears the 413 instead of a broken pipe
                await self._refuse(scope, send)
            else:
                await self.app(scope, receive, send)
            return
        # Streamed without a length: take it in up to the limit, then hand it on whole.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                await self._refuse(scope, send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        lang = _lang(scope)
        log.warning("refused a body over %s bytes: %s %s", self.limit, scope.get("method"),
                    scope.get("path"))
        if self.count is not None:
            with contextlib.suppress(Exception):  # a count lost to Redis is no 500
                await asyncio.to_thread(self.count)
        text = t("err_too_large", lang).format(mb=self.limit // (1024 * 1024))
        body = json.dumps({"error": "too_large", "message": text}, ensure_ascii=False).encode()
        ctype = "application/json"
        path = scope.get("path", "")
        if is_open311(path):  # GeoReport's error format at its door (issue 15)
            body, ctype = error_body(413, text, path_format(path))
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
