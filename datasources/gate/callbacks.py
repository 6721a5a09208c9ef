"""Every Dash callback and page layout with its role check (default deny).

`guard_callbacks(app, services)` runs once at start-up, after Dash registered its callbacks
(the pages router included); the principal comes from the contextvar the gate
(datasources/gate/web.py) sets for each request and websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from dash.exceptions import PreventUpdate
from fastapi import HTTPException

from dashboard.roles import CALLBACKS, Principal, allowed, current, page_roles
from datasources.threads import for_screens

log = logging.getLogger(__name__)


class Forbidden(HTTPException):
    """A callback refused for the caller's role (HTTP 403; an error message over ws)."""

    def __init__(self, name: str, role: str):
        super().__init__(status_code=403, detail=f"forbidden: {name} for role {role}")


class QuietForbidden(Forbidden, PreventUpdate):
    """Forbidden for a page's no-input stream: Dash starts every page's stream on every
    page load, so a wall refusing the console's stream is routine, not an error to print."""


def callback_name(func: Callable[..., Any]) -> str:
    """'module.function' of the function a Dash callback entry finally calls."""
    inner = inspect.unwrap(func)
    return f"{inner.__module__}.{inner.__name__}"


@contextlib.contextmanager
def logged_failure(name: str) -> Iterator[None]:
    """Log a callback's unexpected exception with its traceback: Dash answers it with a
    bare 500 and logs nothing, so a crash on a hostile input went unseen (issue 12)."""
    try:
        yield
    except (PreventUpdate, HTTPException, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("callback %s failed", name)
        raise


def guard(func: Callable[..., Any], name: str, still_valid: Callable[[Principal], bool],
          quiet: bool = False) -> Callable[..., Any]:
    """`func` with its role check first, always async: async callbacks stay on the loop,
    sync ones run in a thread."""
    roles = CALLBACKS.get(name)
    refusal = QuietForbidden if quiet else Forbidden

    def check() -> None:
        who = current()
        if not allowed(roles, who) or not still_valid(who):
            raise refusal(name, who.role)

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            check()
            with logged_failure(name):
                return await func(*args, **kwargs)
        guarded_async.zn_guarded = True  # type: ignore[attr-defined]
        return guarded_async

    # A sync callback runs in a thread (with the request's context: principal, Dash's
    # callback context): posted over HTTP, Dash would run it on the event loop, and a
    # stock-take of a few thousand lines held every request of the process, walls and
    # /api/health included, for as long as it took. The screens' own threads, not the
    # default pool the doors fill when Redis freezes (datasources/threads.py).
    @functools.wraps(func)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        check()
        with logged_failure(name):
            return await for_screens(func, *args, **kwargs)
    guarded.zn_guarded = True  # type: ignore[attr-defined]
    return guarded


def principal_still_valid(services: Any, who: Principal, fresh: bool = False) -> bool:
    """False once the principal's session ended or its kiosk token was revoked. A wall's
    websocket lives for days; this is what stops it. `fresh` asks the database (each
    websocket message does, off the event loop); otherwise the answer that message or the
    request's gate just fetched is reused (a callback's own check)."""
    accounts = services.accounts
    if not who.session or accounts is None:
        return True
    try:
        return accounts.check(who, fresh)
    except Exception:  # database down: keep serving what the screen already had
        return True


class SocketChecks:
    """`principal_still_valid(..., fresh=True)` for every message of every open websocket,
    asked of the database together.

    Each message's answer comes from a query that started after the message arrived, so a
    sign-out or a revoked kiosk token still ends a stream at its next message (in any
    process); but the messages that arrive while a query runs share the next one (two
    queries for all of them, Accounts.check_many), instead of one query and one thread each:
    with 200 walls acknowledging a bus frame a second, the per-message look-up was a fifth
    of the server's samples (bench/fanout.py --profile).
    """

    def __init__(self, services: Any):
        self.services = services
        self.queries = 0
        self._waiting: list[tuple[Principal, asyncio.Future[bool]]] = []
        self._running = False

    async def still_valid(self, who: Principal) -> bool:
        """True while `who`'s session or kiosk token is valid (the database says, now)."""
        if not who.session or self.services.accounts is None:
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((who, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                self.queries += 1
                try:
                    answers = await for_screens(self.services.accounts.check_many,
                                                [who for who, _ in batch])
                except Exception:  # database down: keep serving what the screens had
                    answers = [True] * len(batch)
                for (_, future), ok in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(ok)
        finally:
            self._running = False


def guard_callbacks(app: Any, services: Any) -> list[str]:
    """Wrap every server callback of `app` with its role check; returns the undeclared."""
    def still_valid(who: Principal) -> bool:
        return principal_still_valid(services, who)

    undeclared = []
    for entry in app.callback_map.values():
        func = entry.get("callback")
        if func is None or getattr(func, "zn_guarded", False):
            continue
        name = callback_name(func)
        if name not in CALLBACKS:
            undeclared.append(name)
            log.error("callback %s has no role policy: refused for everybody", name)
        stream = bool(entry.get("no_output")) and not entry.get("inputs")
        entry["callback"] = guard(func, name, still_valid, quiet=stream)
    guard_pages()
    return undeclared


def guard_pages() -> None:
    """Every page's layout checks the page's roles when it is built for a browser."""
    import dash

    for page in dash.page_registry.values():
        layout = page.get("layout")
        if layout is None or getattr(layout, "zn_guarded", False):
            continue
        page["layout"] = _guarded_layout(layout, page.get("path") or "/")


def _guarded_layout(layout: Any, path: str) -> Callable[..., Any]:
    def build(**kwargs: Any) -> Any:
        who = current()
        if not allowed(page_roles(path), who):
            return denied_view(who, kwargs.get("lang") or "zh")
        return layout(**kwargs) if callable(layout) else layout
    build.zn_guarded = True  # type: ignore[attr-defined]
    return build


def denied_view(who: Principal, lang: str) -> Any:
    """What a page shows to a role that may not see it."""
    from dash import html

    from dashboard.i18n.text import t

    return html.Div([html.P(t("auth_denied", lang).format(role=who.role)),
                     html.A(t("auth_signin_link", lang), href="/login")],
                    className="zn-denied")


# ------------------------------------------------------------------ the shape of a call
CALLBACK_PATH = "/_dash-update-component"
# dcc.Location's properties are text; Dash's pages router reads `pathname` as a path.
_TEXT_PROPS = ("pathname", "search", "hash", "href")


def _is_dep(item: Any) -> bool:
    """{"id": ..., "property": ...} as the renderer writes a component property."""
    return (isinstance(item, dict) and isinstance(item.get("property"), str)
            and isinstance(item.get("id"), str | dict))


def _deps_ok(items: Any) -> bool:
    """A dependency, or a pattern's list of them (ALL, ALLSMALLER)."""
    group = items if isinstance(items, list) else [items]
    return all(_is_dep(d) for d in group)


def _text_prop_ok(dep: dict[str, Any]) -> bool:
    value, prop = dep.get("value"), dep["property"]
    if prop not in _TEXT_PROPS or value is None:
        return True
    return isinstance(value, str) and (prop != "pathname" or value.startswith("/"))


def _outputs_match(declared: Any, sent: list[Any]) -> bool:
    """The outputs sent are the callback's own (Dash checks this inside the callback and
    answers a mismatch with a 500: "Output does not match callback definition")."""
    from dash import Output

    declared = list(declared) if isinstance(declared, list | tuple) else [declared]
    if len(declared) != len(sent):
        return False
    try:
        return all(Output(dep["id"], dep["property"].split("@")[0]) == want
                   for want, group in zip(declared, sent, strict=True)
                   for dep in (group if isinstance(group, list) else [group]))
    except Exception:  # an id Dash cannot even build an Output of
        return False


def callback_body_error(body: Any, callback_map: dict[str, Any]) -> str | None:
    """Why a /_dash-update-component body is not one Dash's renderer sends for a callback of
    `callback_map` (None when it is). Dash reads such a body without checking it: a missing
    key, a count that does not match or a list where an object belongs was a 500 (issue 12,
    found by the fuzz)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "no such callback"
    spec = callback_map[output]
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list) or len(items) != len(spec.get(key) or []):
            return f"{key} do not match the callback"
        if not all(_deps_ok(i) for i in items):
            return f"{key}: not component properties"
        flat = [d for i in items for d in (i if isinstance(i, list) else [i])]
        if not all(_text_prop_ok(d) for d in flat):
            return f"{key}: a location that is not a path"
    outputs = body.get("outputs", [])
    if not spec.get("no_output"):
        if output.startswith(".."):
            wanted = len(output.strip(".").split("..."))
            if not isinstance(outputs, list) or len(outputs) != wanted:
                return "outputs do not match the callback"
        sent = outputs if output.startswith("..") else [outputs]
        if not all(_deps_ok(o) for o in sent):
            return "outputs: not component properties"
        if not _outputs_match(spec.get("output"), sent):
            return "outputs do not match the callback"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds: not a list of text"
    return None


class CallbackShape:
    """ASGI middleware: a POST to /_dash-update-component whose body is not a well-formed
    call of a registered callback gets 400 {"error": "bad_callback"} with the reason, in
    the requester's language, before Dash reads it (the body is bounded by BodyLimit)."""

    def __init__(self, app: Any, callback_map: Callable[[], dict[str, Any]]):
        self.app, self.callback_map = app, callback_map

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" \
                or not scope.get("path", "").endswith(CALLBACK_PATH):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        try:
            why = callback_body_error(json.loads(raw), self.callback_map())
        except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
            why = "not JSON"
        if why is not None:
            await self._refuse(scope, send, why)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Any, send: Any, why: str) -> None:
        from dashboard.i18n.text import requested_lang, t

        lang = requested_lang(next((v.decode("latin-1") for k, v in scope.get("headers", [])
                                    if k == b"accept-language"), None))
        log.warning("refused a malformed callback call (%s)", why)
        body = json.dumps({"error": "bad_callback", "message": t("err_bad_callback", lang)
                           .format(why=why), "detail": why}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
