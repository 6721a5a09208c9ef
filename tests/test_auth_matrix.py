"""The role matrix: every HTTP route, the websocket and every Dash callback, called as each
role and as nobody. Anything not declared in dashboard/roles.py fails here by name."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from dashboard.roles import (
    ANON,
    CALLBACKS,
    CURRENT,
    GUARDIAN,
    INGEST,
    NOBODY,
    ROLES,
    Principal,
    allowed,
    default_scopes,
    key_may,
    page_roles,
    route_roles,
)
from datasources.gate.callbacks import Forbidden, callback_name
from datasources.gate.web import CSRF_COOKIE, GUARDIAN_COOKIE, SESSION_COOKIE, csrf_token
from datasources.sql import models as m
from tests.auth_helpers import PRINCIPALS, TEST_UNITS
from tests.browser import KEYS

# Each source's key is its own principal: its scopes open some doors and not others.
KEY_HOLDERS = tuple(f"{INGEST}:{source}" for source in KEYS)
SAMPLE = {"incident_id": "1", "action": "ack", "name": "grids-1.geojson",
          "service_request_id": "QS-1", "format": "json", "service_code": "fire",
          "token": "no-such-token", "rest": "/v2/no-such-resource.json", "package_name": "dash",
          "fingerprinted_path": "dash-renderer/build/dash_renderer.min.js", "path": "dispatch",
          "photo_id": "0" * 32, "size": "thumb"}
CSRF = "matrix-csrf-token"  # the cookie of nobody's requests (bound tokens for sessions)


@pytest.fixture
def app_client(client: TestClient) -> tuple[Any, TestClient]:
    """The conftest's in-process app with one account per role: (Dash app, client)."""
    for role in ROLES:
        client.zn.accounts.add_user(f"u-{role}", role, "matrix-password",  # type: ignore[attr-defined]
                                    unit_id=TEST_UNITS.get(role))
    return client.app, client  # type: ignore[attr-defined]


def all_routes(server: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route, included routers flattened; 'WS' for
    websockets. HEAD is left out (it follows GET)."""
    found = []
    for route in server.routes:
        inner = route.effective_route_contexts() if hasattr(
            route, "effective_route_contexts") else [route]
        for r in inner:
            original = getattr(r, "original_route", r)
            methods = getattr(original, "methods", None)
            if type(original).__name__.endswith("WebSocketRoute"):
                found.append(("WS", r.path))
            elif methods is None:  # a mount (static files)
                found.append(("GET", r.path))
            else:
                found += [(m, r.path) for m in sorted(methods) if m != "HEAD"]
    return found


def concrete(template: str) -> str:
    """A path for the template with sample values."""
    path = template
    for key, value in SAMPLE.items():
        path = path.replace(f"{{{key}:path}}", value).replace(f"{{{key}}}", value)
    # Dash declares its page catch-all as '{path:path}' (no leading slash).
    path = path if path.startswith("/") else "/" + path
    return path + ("/zn_login.css" if template == "/assets" else "")


def cookies_for(app: Any, role: str) -> dict[str, str]:
    """A fresh session cookie of the role's user (fresh: /logout ends the one it uses)."""
    accounts = app.zn_services.accounts
    jar = {CSRF_COOKIE: CSRF}
    if role in ROLES:
        jar[SESSION_COOKIE] = accounts.start_session(accounts.user(f"u-{role}"))
        jar[CSRF_COOKIE] = csrf_token(jar[SESSION_COOKIE])  # the session's own token
    elif role == GUARDIAN:  # a guardian's link, once opened (the first pupil's mother)
        with app.zn_services.store.session() as s:
            pupil = s.scalar(select(m.Guardian.pupil_id))
        jar[GUARDIAN_COOKIE] = accounts.add_key("guardian", f"guardian:{pupil}/1")
        jar[CSRF_COOKIE] = csrf_token(jar[GUARDIAN_COOKIE])
    return jar


def expected(method: str, template: str, path: str, principal: Principal) -> bool:
    roles = route_roles(method, path)
    if not allowed(roles, principal) or not key_may(principal, method, path):
        return False
    if template in ("/", "/{path:path}", "{path:path}"):
        return allowed(page_roles(path), principal)
    return True


def was_refused(response: Any, method: str, path: str) -> bool:
    """True when the gate (not the route) refused: its JSON names the method and path."""
    if response.status_code not in (401, 403):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if body.get("error") == "scope":  # a key at a door its scopes do not open
        return True
    return body.get("error") in ("unauthorized", "forbidden") and \
        body.get("message", "").endswith(f"({method} {path})")


def test_every_route_is_declared(app_client):
    app, _ = app_client
    missing = [f"{m} {t}" for m, t in all_routes(app.server)
               if route_roles(m, concrete(t)) is None]
    assert not missing, ("routes without a role policy (add them to dashboard/roles.py "
                         f"ROUTES): {missing}")
    import dash
    pages = [p["path"] for p in dash.page_registry.values() if page_roles(p["path"]) is None]
    assert not pages, f"Dash pages without a role policy (dashboard/roles.py PAGES): {pages}"


def test_role_matrix_of_every_http_route(app_client):
    app, client = app_client
    routes = [(m, t) for m, t in all_routes(app.server) if m != "WS"]
    assert len(routes) >= 25
    wrong = []
    for method, template in routes:
        path = concrete(template)
        for role in (*ROLES, *KEY_HOLDERS, GUARDIAN, ANON):
            jar = cookies_for(app, role)
            headers = {"X-CSRFToken": jar[CSRF_COOKIE]}
            who = Principal(role=role)
            if role.startswith(INGEST + ":"):
                source = role.split(":", 1)[1]
                headers["X-Api-Key"] = KEYS[source]
                who = Principal(role=INGEST, kind="key", source=source,
                                scopes=default_scopes(source))
            client.cookies.clear()
            for k, v in jar.items():
                client.cookies.set(k, v)
            r = client.request(method, path, headers=headers, content=b"{}",
                               follow_redirects=False)
            if was_refused(r, method, path) == expected(method, template, path, who):
                wrong.append(f"{role}: {method} {path} -> {r.status_code}")
    assert not wrong, "\n".join(wrong)


def test_the_websocket_takes_signed_in_same_origin_connections_only(app_client):
    app, client = app_client
    origin = {"origin": "http://testserver"}
    client.cookies.clear()
    with pytest.raises(WebSocketDisconnect) as nobody, \
            client.websocket_connect("/_dash-ws-callback", headers=origin):
        pass
    assert nobody.value.code == 4403
    for k, v in cookies_for(app, "officer").items():
        client.cookies.set(k, v)
    with pytest.raises(WebSocketDisconnect) as foreign, \
            client.websocket_connect("/_dash-ws-callback",
                                     headers={"origin": "http://evil.example"}):
        pass
    assert foreign.value.code == 4003
    with client.websocket_connect("/_dash-ws-callback", headers=origin) as ws:
        ws.send_json({"type": "heartbeat"})
        assert ws.receive_json()["type"] == "heartbeat_ack"


def server_callbacks(app: Any) -> list[tuple[str, Any]]:
    """(name, guarded function) of every server-side callback of the app."""
    from dash._callback import GLOBAL_CALLBACK_MAP

    out = []
    for source in (app.callback_map, GLOBAL_CALLBACK_MAP):
        for entry in source.values():
            func = entry.get("callback")
            if func is not None:
                out.append((callback_name(func), func))
    return out


def call_as(func: Any, principal: Principal) -> str:
    """Call a callback's server entry as `principal`: 'denied' or 'ran' (any other
    outcome, errors from the missing Dash arguments included)."""
    token = CURRENT.set(principal)
    try:
        result = func()
        if asyncio.iscoroutine(result):
            asyncio.run(asyncio.wait_for(result, 5))
    except Forbidden:
        return "denied"
    except BaseException:  # noqa: BLE001 - anything but the role check means it ran
        return "ran"
    finally:
        CURRENT.reset(token)
    return "ran"


def test_role_matrix_of_every_dash_callback(app_client):
    app, _ = app_client
    callbacks = server_callbacks(app)
    names = {name for name, _ in callbacks}
    undeclared = sorted(names - set(CALLBACKS))
    assert not undeclared, ("Dash callbacks without a role policy (add them to "
                            f"dashboard/roles.py CALLBACKS): {undeclared}")
    unguarded = [n for n, f in callbacks if not getattr(f, "zn_guarded", False)]
    assert not unguarded, f"callbacks registered without the role check: {unguarded}"
    assert {"pages.dispatch.act", "pages.home.stream_live_updates", "dash.dash.update"} <= names
    wrong = []
    for name, func in callbacks:
        for role in PRINCIPALS:
            who = Principal(role=role, name=f"u-{role}") if role != ANON else NOBODY
            outcome = call_as(func, who)
            if (outcome == "ran") != (role in CALLBACKS[name]):
                wrong.append(f"{role}: {name} {outcome}")
    assert not wrong, "\n".join(wrong)


def _filter_queue(client: Any) -> Any:
    body = {"output": "disp-queue.data", "outputs": {"id": "disp-queue", "property": "data"},
            "inputs": [{"id": "disp-filters", "property": "data", "value": None}],
            "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
            "changedPropIds": ["disp-filters.data"]}
    return client.post("/_dash-update-component", content=json.dumps(body),
                       headers={"X-CSRFToken": client.cookies.get(CSRF_COOKIE),
                             "content-type": "application/json"})


def test_a_callback_over_http_is_refused_for_a_wall_and_served_to_a_leader(app_client):
    app, client = app_client
    for role, status in (("display", 403), ("grid_worker", 403), ("leader", 200)):
        client.cookies.clear()
        for k, v in cookies_for(app, role).items():
            client.cookies.set(k, v)
        assert _filter_queue(client).status_code == status, role


def _queue_over_the_websocket(client: Any) -> dict[str, Any]:
    """The console's queue callback sent over the websocket as the renderer does; the answer."""
    payload = {"output": "disp-queue.data", "outputs": {"id": "disp-queue", "property": "data"},
               "inputs": [{"id": "disp-filters", "property": "data", "value": None}],
               "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
               "changedPropIds": ["disp-filters.data"]}
    with client.websocket_connect("/_dash-ws-callback",
                                  headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "callback_request", "requestId": "r1", "rendererId": "x",
                      "payload": payload})
        return dict(ws.receive_json())


def test_a_callback_over_the_websocket_is_refused_for_the_wrong_role(app_client):
    app, client = app_client
    answers = {}
    for role in ("display", "grid_worker", "leader"):
        client.cookies.clear()
        for k, v in cookies_for(app, role).items():
            client.cookies.set(k, v)
        answers[role] = _queue_over_the_websocket(client)
    for role in ("display", "grid_worker"):
        answer = answers[role]
        assert (answer["type"], answer["requestId"]) == ("callback_response", "r1"), answer
        # Refused by the role check: an error naming it, and not one row of the queue.
        assert answer["payload"]["status"] == "error", answer
        assert answer["payload"]["message"].startswith("403: forbidden"), answer
        assert "data" not in answer["payload"], answer
    # The same request from a role the table allows is answered with the queue.
    served = answers["leader"]["payload"]
    assert served["status"] == "ok" and "disp-queue" in served["data"]["response"], served


def test_a_signed_out_or_disabled_user_is_refused_at_once(app_client):
    app, client = app_client
    accounts = app.zn_services.accounts
    jar = cookies_for(app, "officer")
    for k, v in jar.items():
        client.cookies.set(k, v)
    assert client.get("/_dash-layout").status_code == 200
    accounts.set_disabled("u-officer")
    assert client.get("/_dash-layout").status_code == 401


def test_an_open_websocket_ends_when_the_user_is_disabled(app_client):
    app, client = app_client
    for k, v in cookies_for(app, "officer").items():
        client.cookies.set(k, v)
    with client.websocket_connect("/_dash-ws-callback",
                                  headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "heartbeat"})
        assert ws.receive_json()["type"] == "heartbeat_ack"
        app.zn_services.accounts.set_disabled("u-officer")
        ws.send_json({"type": "heartbeat"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def _act(client: Any, trigger: dict[str, Any], seen: dict[str, Any], note: str = "") -> str:
    """POST the console's action callback as the browser would, for one clicked button."""
    kind = "index" if trigger["type"] == "disp-rec" else "action"
    outputs = [{"id": i, "property": p} for i, p in (
        ("disp-toast", "children"), ("disp-toast", "className"), ("disp-tick", "data"),
        ("disp-note", "value"), ("disp-satisfaction", "value"))]
    key = "..disp-toast.children...disp-toast.className...disp-tick.data...disp-note.value" \
          "...disp-satisfaction.value.."
    clicked = [{"id": trigger, "property": "n_clicks", "value": 1}]
    body = {"output": key, "outputs": outputs,
            "inputs": [clicked if kind == "index" else [], [] if kind == "index" else clicked],
            "state": [{"id": "disp-ctx", "property": "data", "value": seen},
                      {"id": "disp-officer", "property": "data", "value": "冒名顶替"},
                      {"id": "disp-note", "property": "value", "value": note},
                      {"id": "disp-satisfaction", "property": "value", "value": None},
                      {"id": "disp-lang", "property": "data", "value": "zh"}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":"), sort_keys=True)
                               + ".n_clicks"]}
    r = client.post("/_dash-update-component", content=json.dumps(body, ensure_ascii=False),
                    headers={"X-CSRFToken": client.cookies.get(CSRF_COOKIE),
                             "content-type": "application/json"})
    assert r.status_code == 200, r.text
    return json.dumps(r.json(), ensure_ascii=False)


def test_a_leader_comments_but_cannot_dispatch_and_nobody_acts_under_another_name(app_client):
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    app, client = app_client
    svc = app.zn_services
    inc = svc.store.create_incident(IncidentReport(
        source="hotline", category="traffic", title="信号灯坏了", lon=104.45, lat=30.55),
        GridHit("G3-01", "V01")).incident
    seen = {"id": inc.id, "ref": inc.ref, "version": inc.version, "state": inc.state,
            # A recommendation names its person by id (issue 12: a bare name is refused).
            "recs": [{"id": "W001", "name": "冯思远"}]}
    for k, v in cookies_for(app, "leader").items():
        client.cookies.set(k, v)
    refused = _act(client, {"type": "disp-rec", "index": 0}, seen)
    assert "您的角色不能执行此操作" in refused
    refused = _act(client, {"type": "disp-act", "action": "accept"}, seen)
    assert "您的角色不能执行此操作" in refused
    assert svc.store.incident(inc.id)["state"] == "reported"
    commented = _act(client, {"type": "disp-act", "action": "note"}, seen, note="请尽快处理")
    assert "disp-toast ok" in commented, commented
    for k, v in cookies_for(app, "officer").items():
        client.cookies.set(k, v)
    seen["version"] += 1
    dispatched = _act(client, {"type": "disp-rec", "index": 0}, seen)
    assert "disp-toast ok" in dispatched, dispatched
    history = [(h["actor"], h["action"]) for h in svc.store.history(inc.id)]
    # The browser claimed to be 冒名顶替; the server wrote who was signed in.
    assert history[-3:] == [("u-leader", "note"), ("u-officer", "accept"),
                            ("u-officer", "dispatch")]


def test_the_vehicle_record_is_read_by_officers_admins_and_leaders_with_phones_per_role(
        app_client):
    """一车一档 over REST: the console's roles read it, others are refused; only officers and
    admins see a driver's whole phone; an unknown plate is a coded 404 in the asker's
    language."""
    app, client = app_client
    path = "/api/v1/buses/vehicles/川F·D32468/record"
    seen = {}
    for role in ROLES:
        client.cookies.clear()
        for k, v in cookies_for(app, role).items():
            client.cookies.set(k, v)
        r = client.get(path)
        seen[role] = r.status_code
        if r.status_code == 200:
            body = r.json()
            assert body["plate"] == "川F·D32468" and body["drivers"][0]["id"] == "D003"
            health = next(i for i in body["drivers"][0]["items"] if i["item"] == "health")
            assert health["due"] == "2026-11-20"
            phone = body["drivers"][0]["phone"]
            assert phone == ("13952167488" if role in ("officer", "admin") else "139****7488")
    assert {r for r, code in seen.items() if code == 200} == {"officer", "admin", "leader"}
    assert all(code == 403 for r, code in seen.items() if r not in ("officer", "admin",
                                                                     "leader"))
    for k, v in cookies_for(app, "officer").items():
        client.cookies.set(k, v)
    r = client.get("/api/v1/buses/vehicles/川F·X0000/record", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_vehicle"
    assert r.json()["message"] == "There is no bus 川F·X0000"
    r = client.get("/api/v1/buses/vehicles/川F·X0000/record")
    assert r.json()["message"] == "没有车牌为「川F·X0000」的校车"


def test_the_analysis_and_the_report_files_are_for_leaders_officers_and_admins():
    """分析研判 (issue 14): the page, its callback and the Word/PDF doors share one policy;
    walls and grid workers get none of them (the matrix above calls each as every role)."""
    console = {"admin", "officer", "leader"}
    assert page_roles("/analysis") == console
    assert CALLBACKS["pages.analysis.show_analysis"] == console
    for path in ("/api/analysis.pdf", "/api/analysis.docx", "/api/brief/2026-11-01.pdf",
                 "/api/brief/2026-11-01.docx"):
        assert route_roles("GET", path) == console, path


# ---------------------------------------------------------------- scopes (issue 14)
def _signed_in_as(app: Any, client: Any, role: str) -> None:
    client.cookies.clear()
    for k, v in cookies_for(app, role).items():
        client.cookies.set(k, v)


def test_a_village_officer_cannot_read_another_villages_work_order_by_any_door(app_client):
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport
    from tests.auth_helpers import console_act, console_context, show_incident

    app, client = app_client
    svc = app.zn_services

    def report(hit: GridHit, title: str) -> Any:
        return svc.store.create_incident(IncidentReport(
            source="hotline", category="planning", title=title, lon=104.45, lat=30.55),
            hit).incident

    theirs = report(GridHit("G3-01", "V01"), "青石社区的工单")  # 青石社区
    ours = report(GridHit("G3-10", "V03"), "建林村的工单")  # u-village works for 建林村
    for role in ("village", "handler"):
        _signed_in_as(app, client, role)
        # REST API: the other village's (or a unit's not its own) is none such.
        assert client.get(f"/api/v1/incidents/{theirs.id}").status_code == 404, role
        # Open311 reads: the same scope for a signed-in officer.
        assert client.get(f"/open311/v2/requests/{theirs.ref}.json").status_code == 404, role
        listed = {r["service_request_id"] for r in client.get(
            "/open311/v2/requests.json").json()}
        assert theirs.ref not in listed, role
        # Dash callbacks: the queue, the details and the actions.
        rows = _filter_queue(client).json()["response"]["disp-queue"]["data"]["rows"]
        assert theirs.id not in {r["id"] for r in rows}, role
        shown = json.dumps(show_incident(client, theirs.id).json(), ensure_ascii=False)
        assert "青石社区的工单" not in shown and theirs.ref not in shown, role
        seen = {"id": theirs.id, "ref": theirs.ref, "version": 0, "state": "reported",
                "recs": [{"id": "W001", "name": "x"}]}
        for trigger in ({"type": "disp-act", "action": "accept"},
                        {"type": "disp-rec", "index": 0}):
            answer = json.dumps(console_act(client, trigger, seen).json(), ensure_ascii=False)
            assert "不在本单位(本村)办理范围内" in answer, (role, answer)
        assert svc.store.incident(theirs.id)["state"] == "reported"
    # The village officer reads and works its own village's work order by the same doors.
    _signed_in_as(app, client, "village")
    assert client.get(f"/api/v1/incidents/{ours.id}").status_code == 200
    rows = _filter_queue(client).json()["response"]["disp-queue"]["data"]["rows"]
    assert [r["id"] for r in rows] == [ours.id]
    seen = console_context(client, ours.id)
    units = [r["id"] for r in seen["recs"] if r["id"].startswith("unit:")]
    assert "unit:U-C-ZJ" in units and "unit:U-V01" not in units
    answer = console_act(client, {"type": "disp-rec",
                                  "index": [r["id"] for r in seen["recs"]].index("unit:U-C-ZJ")},
                         seen)
    assert "disp-toast ok" in answer.text, answer.text
    handed = svc.store.incident(ours.id)
    assert (handed["unit_id"], handed["level"], handed["state"]) == (
        "U-C-ZJ", "county", "dispatched")
    # Now the county department's handler (u-handler, 住建局) reads it; the village still may.
    _signed_in_as(app, client, "handler")
    assert client.get(f"/api/v1/incidents/{ours.id}").status_code == 200
    _signed_in_as(app, client, "village")
    assert client.get(f"/api/v1/incidents/{ours.id}").status_code == 200


def test_the_admin_page_and_every_one_of_its_callbacks_are_for_the_administrator_only(
        app_client):
    """系统管理 (issue 16): /admin and each of its callbacks admit the admin and nobody else
    (the matrix above calls each callback as every role; this names them)."""
    app, client = app_client
    admin_callbacks = {n for n, _ in server_callbacks(app)
                       if n.startswith(("pages.admin.", "pages._admin_"))}
    assert len(admin_callbacks) >= 6
    assert all(CALLBACKS[n] == {"admin"} for n in admin_callbacks), admin_callbacks
    assert page_roles("/admin") == {"admin"}
    import dash
    from plotly.utils import PlotlyJSONEncoder

    build = next(p["layout"] for p in dash.page_registry.values() if p["path"] == "/admin")
    for role in ROLES:
        _signed_in_as(app, client, role)
        page = client.get("/admin", follow_redirects=False)
        assert (page.status_code == 200) == (role == "admin"), (role, page.status_code)
        # The layout itself is drawn for the admin only; any other role gets the refusal.
        token = CURRENT.set(Principal(role=role, name=f"u-{role}"))
        try:
            drawn = json.dumps(build(lang="en"), cls=PlotlyJSONEncoder, ensure_ascii=False)
        finally:
            CURRENT.reset(token)
        assert ("Sign-in name" in drawn) == (role == "admin"), role


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_the_header_has_its_own_name_in_each_language(lang):
    """Two pages called "School buses" in one menu: the admin could not tell which was
    the monitor and which the school's riders."""
    from dashboard.i18n.text import t
    from dashboard.roles import Principal
    from dashboard.screens.nav import nav_links

    admin = Principal(role="admin", name="管理员", kind="user")
    names = [t(link.key, lang) for link in nav_links(admin)]
    assert len(names) > 10 and len(set(names)) == len(names), names
