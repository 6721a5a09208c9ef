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


def post_callback(client: Any, outputs: list[tuple[str, str]], inputs: list[Any],
                  state: list[Any], changed: str) -> Any:
    """POST one server callback as Dash's renderer does, with the CSRF header sign_in set.

    An output registered with allow_duplicate is named with its @hash, as the app's
    callback map names it (the callback is found by its outputs and the input that fired;
    a pattern input by its type)."""
    import json
    import re

    def same(ident: Any, fired: str) -> bool:
        if str(ident) == fired:
            return True
        try:
            a, b = json.loads(str(ident)), json.loads(fired)
        except ValueError:
            return False
        return isinstance(a, dict) and isinstance(b, dict) and a.get("type") == b.get("type")

    plain = "...".join(f"{i}.{p}" for i, p in outputs)
    fired = changed.rsplit(".", 1)[0]
    key = next((k.strip(".") for k, spec in client.app.callback_map.items()
                if re.sub(r"@[0-9a-f]+", "", k).strip(".") == plain
                and any(same(i.get("id"), fired) for i in spec.get("inputs", []))), plain)
    named = [part.rsplit(".", 1) for part in key.split("...")]
    many = len(outputs) > 1
    body = {"output": f"..{key}.." if many else key,
            "outputs": [{"id": i, "property": p} for i, p in named] if many
            else {"id": named[0][0], "property": named[0][1]},
            "inputs": inputs, "state": state, "changedPropIds": [changed]}
    return client.post("/_dash-update-component", content=json.dumps(body, ensure_ascii=False),
                       headers={"X-CSRFToken": csrf(client), "content-type": "application/json"})


def pattern_id(ident: dict[str, Any]) -> str:
    """A pattern-matching component id as Dash writes it in changedPropIds."""
    import json

    return json.dumps(ident, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
