"""Sign a TestClient in without a browser: a real account and a real session cookie."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher, profiles

import datasources.sql.accounts as _accounts
from dashboard.roles import ANON, GUARDIAN, HANDLER, INGEST, ROLES, VILLAGE
from datasources.gate.web import CSRF_COOKIE, KIOSK_COOKIE, SESSION_COOKIE, csrf_token

# Everyone a door may meet: each role, a source with an ingest key, a child's guardian
# holding their link, and nobody.
PRINCIPALS = (*ROLES, INGEST, GUARDIAN, ANON)
# The demo town's units the accounts of the unit roles work for (units.json): a county
# department's handler and 建林村's officer.
TEST_UNITS = {HANDLER: "U-C-ZJ", VILLAGE: "U-V03"}

# The password hasher the product ships (argon2id at RFC 9106's low-memory cost: 64 MiB,
# 3 passes, 4 lanes), kept for the test that pins it.
SHIPPED_HASHER = _accounts._hasher


def cheap_password_hashing() -> None:
    """The accounts hash and verify with argon2id at its cheapest parameters, as argon2-cffi
    advises for tests: at the shipped cost each hash and each check takes ~0.18 s of both
    cores, and the suite makes ~1,000 accounts and sign-ins. Same algorithm, same code path;
    the stand-in for unknown names is remade at that cost, so a wrong name still costs as
    long as a wrong password. A served zhongnao in another process keeps the shipped cost
    (and rehashes a cheap hash at its first sign-in, as after any change of parameters)."""
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _accounts._hasher = cheap
    _accounts._DUMMY_HASH = cheap.hash("zhongnao-no-such-user")


def sign_in(client: Any, services: Any, name: str, role: str) -> dict[str, str]:
    """Create `name` with `role` (once), start a session and put its cookies on `client`.

    Returns the headers a state-changing request needs (X-CSRFToken: the session's own
    token, as the server sets it in the `_csrf_token` cookie).
    """
    accounts = services.accounts
    user = accounts.user(name) or accounts.add_user(name, role, "test-password",
                                                    unit_id=TEST_UNITS.get(role))
    token = accounts.start_session(user)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token(token))
    return {"X-CSRFToken": csrf_token(token)}


def kiosk_sign_in(client: Any, services: Any, name: str = "test wall") -> dict[str, str]:
    """Put a fresh kiosk token's cookies on `client`, as a wall PC holds them after opening
    /?kiosk=TOKEN (display role); returns the CSRF header its callbacks carry."""
    token = services.accounts.add_key("kiosk", name)
    client.cookies.clear()
    client.cookies.set(KIOSK_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token(token))
    return {"X-CSRFToken": csrf_token(token)}


def live_client(live: Any, timeout: float = 10) -> Any:
    """An HTTP client of a served app (tests.browser.Live) that `post_callback` and the
    sign-ins here take like a TestClient; close it after."""
    import httpx2

    client = httpx2.Client(base_url=live.base, timeout=timeout)
    client.app = live.app  # type: ignore[attr-defined]
    return client


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


# ---------------------------------------------------------------- the duty console's callbacks
CONSOLE_DETAIL = [("disp-detail", "children"), ("disp-actions", "children"),
                  ("disp-sat-wrap", "hidden"), ("disp-history", "children"),
                  ("disp-recs", "children"), ("disp-ctx", "data"), ("disp-focus", "data"),
                  ("disp-action-bar", "hidden")]


def show_incident(client: Any, selected: Any, lang: str = "zh") -> Any:
    """The console's show_incident callback for the work order picked in the queue."""
    return post_callback(client, CONSOLE_DETAIL,
                         [{"id": "disp-selected", "property": "data", "value": selected},
                          {"id": "disp-tick", "property": "data", "value": 0},
                          {"id": "disp-officer", "property": "data", "value": None}],
                         [{"id": "disp-lang", "property": "data", "value": lang}],
                         "disp-selected.data")


def console_context(client: Any, incident_id: int) -> dict[str, Any]:
    """What the console keeps of the work order it shows (its disp-ctx store)."""
    r = show_incident(client, incident_id)
    assert r.status_code == 200, r.text[:300]
    return dict(r.json()["response"]["disp-ctx"]["data"])


def console_act(client: Any, trigger: dict[str, Any], seen: Any, *, note: Any = "",
                satisfaction: Any = None, lang: str = "zh") -> Any:
    """The console's act callback for one clicked button (a recommendation or an action)."""
    outs = [("disp-toast", "children"), ("disp-toast", "className"), ("disp-tick", "data"),
            ("disp-note", "value"), ("disp-satisfaction", "value")]
    clicked = [{"id": trigger, "property": "n_clicks", "value": 1}]
    rec = trigger["type"] == "disp-rec"
    return post_callback(client, outs, [clicked if rec else [], [] if rec else clicked],
                         [{"id": "disp-ctx", "property": "data", "value": seen},
                          {"id": "disp-officer", "property": "data", "value": None},
                          {"id": "disp-note", "property": "value", "value": note},
                          {"id": "disp-satisfaction", "property": "value",
                           "value": satisfaction},
                          {"id": "disp-lang", "property": "data", "value": lang}],
                         pattern_id(trigger) + ".n_clicks")


# ---------------------------------------------------------------- the walls' periodic callbacks
def bus_board(client: Any, n: int, lang: str = "zh") -> Any:
    """/buses' refresh_bus_screen as its 1 s interval fires it (a wall role's screen)."""
    return post_callback(client, [("bus-board", "children"), ("bus-live", "children"),
                                  ("bus-detail", "children"), ("bus-drawn-rev", "data")],
                         [{"id": "bus-tick", "property": "n_intervals", "value": n},
                          {"id": "bus-selected", "property": "data", "value": None}],
                         [{"id": "bus-lang", "property": "data", "value": lang},
                          {"id": "bus-drawn-rev", "property": "data", "value": None}],
                         "bus-tick.n_intervals")


def leader_view(client: Any, tick: float, lang: str = "zh") -> Any:
    """/leader's update_leader_view as its live tick fires it (every figure of the page)."""
    outs = [(i, "children") for i in ("ld-today", "ld-month", "ld-trend", "ld-cats",
                                      "ld-grids", "ld-depts", "ld-buses", "ld-ready",
                                      "ld-eval", "ld-tiers", "ld-drills")]
    return post_callback(client, outs, [{"id": "ld-tick", "property": "data", "value": tick}],
                         [{"id": "ld-lang", "property": "data", "value": lang}],
                         "ld-tick.data")
