"""Sign-in, sessions, kiosk tokens, CSRF, security headers, masking and the audit log,
through the real app in-process (real SQLite and Redis)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app import create_app
from dashboard.roles import Principal, mask_name, mask_phone, personal
from dashboard.timeutil import utcnow
from datasources.gate.web import CSRF_COOKIE, KIOSK_COOKIE, SESSION_COOKIE
from datasources.sql import models as m
from tests.auth_helpers import sign_in


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app.server, raise_server_exceptions=False) as c:
        c.zn = app.zn_services  # type: ignore[attr-defined]
        yield c


def login(client: TestClient, name: str, password: str, next_url: str = "/") -> Any:
    """Post the real login form (with the CSRF token the form page set)."""
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"name": name, "password": password, "next": next_url,
                                       "csrf": client.cookies.get(CSRF_COOKIE)},
                       follow_redirects=False)


def test_login_page_is_chinese_first_and_english_on_request(client):
    zh = client.get("/login")
    assert "登录" in zh.text and 'lang="zh-CN"' in zh.text
    en = client.get("/login?lang=en")
    assert "Sign in" in en.text and 'lang="en"' in en.text


def test_a_user_signs_in_and_out_and_the_session_cookie_is_guarded(client):
    client.zn.accounts.add_user("王芳", "officer", "correct-horse")
    wrong = login(client, "王芳", "wrong-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    ok = login(client, "王芳", "correct-horse", "/dispatch")
    assert ok.status_code == 303 and ok.headers["location"] == "/dispatch"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/whoami").json() == {"name": "王芳", "role": "officer",
                                                "kind": "user"}
    # The stored session is a hash: the cookie's value is not in the database.
    token = client.cookies.get(SESSION_COOKIE)
    with client.zn.store.session() as s:
        assert s.get(m.UserSession, token) is None
    out = client.post("/logout", headers={"X-CSRFToken": client.cookies.get(CSRF_COOKIE)},
                      follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set(SESSION_COOKIE, token)  # a stolen copy after sign-out is worthless
    assert client.get("/api/whoami").json()["role"] == "anon"
    actions = [r["action"] for r in client.zn.audit.search()]
    assert actions[:3] == ["logout", "login", "login.failed"]


def test_sessions_expire_on_the_server(client):
    accounts = client.zn.accounts
    sign_in(client, client.zn, "刘", "leader")
    assert client.get("/_dash-layout").status_code == 200
    with accounts.session.begin() as s:
        s.execute(update(m.UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    accounts.forget()
    assert client.get("/_dash-layout").status_code == 401


def test_next_cannot_send_a_user_to_another_site(client):
    client.zn.accounts.add_user("admin1", "admin", "admin-password")
    r = login(client, "admin1", "admin-password", "//evil.example/x")
    assert r.headers["location"] == "/"


def test_login_is_rate_limited_with_retry_after(client):
    client.zn.accounts.add_user("target", "officer", "the-password")
    codes = [login(client, "target", f"guess-{i}").status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    limited = login(client, "target", "the-password")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_csrf_token_is_required_for_state_changes_with_a_cookie(client):
    sign_in(client, client.zn, "值班员", "officer")
    body = json.dumps({"output": "disp-queue.data",
                       "outputs": {"id": "disp-queue", "property": "data"},
                       "inputs": [{"id": "disp-filters", "property": "data", "value": None}],
                       "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
                       "changedPropIds": []})
    json_type = {"content-type": "application/json"}
    missing = client.post("/_dash-update-component", content=body, headers=json_type)
    assert missing.status_code == 403 and missing.json()["error"] == "csrf"
    forged = client.post("/_dash-update-component", content=body,
                         headers={"X-CSRFToken": "guessed", **json_type})
    assert forged.status_code == 403
    good = client.post("/_dash-update-component", content=body,
                       headers={"X-CSRFToken": client.cookies.get(CSRF_COOKIE), **json_type})
    assert good.status_code == 200, good.text
    # A login form posted from another site has no matching token.
    client.cookies.clear()
    cross = client.post("/login", data={"name": "值班员", "password": "test-password",
                                        "csrf": "x"})
    assert cross.status_code == 403


def test_every_response_carries_the_security_headers(client):
    for path in ("/login", "/api/health", "/_dash-layout", "/"):
        r = client.get(path, follow_redirects=False)
        h = r.headers
        assert h["x-frame-options"] == "DENY", path
        assert h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "same-origin", path
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_a_kiosk_token_opens_a_read_only_wall_until_revoked(client):
    accounts = client.zn.accounts
    token = accounts.add_key("kiosk", "大厅左屏")
    r = client.get(f"/?kiosk={token}&lang=en", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?lang=en"
    assert client.cookies.get(KIOSK_COOKIE) == token
    assert client.get("/api/whoami").json() == {"name": "大厅左屏", "role": "display",
                                                "kind": "kiosk"}
    assert client.get("/dispatch", headers={"accept": "text/html"}).status_code == 403
    assert client.get("/api/v1/incidents/1").status_code == 403
    accounts.revoke_key("大厅左屏")
    assert client.get("/api/whoami").json()["role"] == "anon"
    assert client.get("/?kiosk=not-a-token").status_code == 403
    with client.zn.store.session() as s:
        stored = [k.key_hash for k in s.query(m.ApiKey)]
    assert token not in stored


def test_personal_data_is_masked_for_roles_that_do_not_need_it():
    assert mask_phone("13800001111") == "138****1111"
    assert mask_name("张三丰") == "张**"
    officer, leader, wall = (Principal(role=r) for r in ("officer", "leader", "display"))
    assert personal("13800001111", "phone", officer) == "13800001111"
    assert personal("13800001111", "phone", leader) == "138****1111"
    assert personal("李四", "name", wall) == "李*"


def test_the_audit_log_is_searchable_and_exports_csv(client):
    svc = client.zn
    sign_in(client, svc, "审计员", "admin")
    svc.audit.record("incident.dispatch", "QS-1", "=HYPERLINK(\"x\")", actor="值班员")
    svc.audit.record("stock.move", "ZX/tent", "-2 drill", actor="仓管")
    page = client.get("/audit", params={"q": "QS-1"})
    # The page shows the action's label in the reader's language; the CSV keeps the code.
    assert page.status_code == 200 and "事件 · 派遣" in page.text
    assert "stock.move" not in page.text
    exported = client.get("/audit.csv", params={"action": "incident"})
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "at", "actor"]
    assert rows[1][5] == "incident.dispatch" and rows[1][7].startswith("'=")
    sign_in(client, svc, "值班员", "officer")
    assert client.get("/audit").status_code == 403


def test_the_audit_log_refuses_updates_and_deletes_in_the_database(client):
    from sqlalchemy import delete
    from sqlalchemy.exc import DatabaseError

    svc = client.zn
    svc.audit.record("incident.dispatch", "QS-9", "to 李网格", actor="值班员")
    for change in (update(m.AuditEntry).values(actor="someone else"), delete(m.AuditEntry)):
        with pytest.raises(DatabaseError, match="append-only"), svc.store.session() as s:
            s.execute(change)
            s.commit()
    assert [r["actor"] for r in svc.audit.search()] == ["值班员"]
