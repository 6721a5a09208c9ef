"""Sign a TestClient in without a browser: a real account and a real session cookie."""

from __future__ import annotations

from typing import Any

from datasources.gate.web import CSRF_COOKIE, SESSION_COOKIE, csrf_token


def sign_in(client: Any, services: Any, name: str, role: str) -> dict[str, str]:
    """Create `name` with `role` (once), start a session and put its cookies on `client`.

    Returns the headers a state-changing request needs (X-CSRFToken: the session's own
    token, as the server sets it in the `_csrf_token` cookie).
    """
    accounts = services.accounts
    user = accounts.user(name) or accounts.add_user(name, role, "test-password")
    token = accounts.start_session(user)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token(token))
    return {"X-CSRFToken": csrf_token(token)}


def csrf(client: Any) -> str:
    """The CSRF token in `client`'s cookies (what Dash's renderer sends as X-CSRFToken)."""
    return str(client.cookies.get(CSRF_COOKIE) or "")
