"""Sign a TestClient in without a browser: a real account and a real session cookie."""

from __future__ import annotations

from typing import Any

from datasources.gate.web import CSRF_COOKIE, SESSION_COOKIE

CSRF = "test-csrf-token"


def sign_in(client: Any, services: Any, name: str, role: str) -> dict[str, str]:
    """Create `name` with `role` (once), start a session and put its cookies on `client`.

    Returns the headers a state-changing request needs (X-CSRFToken matching the cookie).
    """
    accounts = services.accounts
    user = accounts.user(name) or accounts.add_user(name, role, "test-password")
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, accounts.start_session(user))
    client.cookies.set(CSRF_COOKIE, CSRF)
    return {"X-CSRFToken": CSRF}
