"""Every Dash callback and page layout with its role check (default deny).

`guard_callbacks(app, services)` runs once at start-up, after Dash registered its callbacks
(the pages router included); the principal comes from the contextvar the gate
(datasources/gate/web.py) sets for each request and websocket.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
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
