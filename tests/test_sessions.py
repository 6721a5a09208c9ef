"""Sessions and accounts hardening (issue 12): sign-in throttle per name and address,
forwarding headers from named proxies only, CSRF bound to the session, weak passwords
refused, the kiosk token out of the access log, revocation at the next request.
Through the real app in-process (real SQLite and Redis)."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

from cli import main
from datasources.gate.web import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from datasources.sql.accounts import AccountError
from tests.browser import app_client, wait_until


def env(settings) -> dict[str, str]:
    return {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
            "ZN_LOG_LEVEL": "WARNING"}


# ------------------------------------------------------------------ passwords
@pytest.mark.parametrize("password", ["        ", "password", "12345678", "qwertyuiop",
                                      "王芳王芳王芳王芳", "wangfang", "wangfang1"])
def test_common_and_trivial_passwords_are_refused(services, password):
    with pytest.raises(AccountError) as refused:
        services.accounts.add_user("wangfang", "officer", password)
    assert refused.value.code in ("password_short", "password_name", "password_weak")
    assert services.accounts.user("wangfang") is None


def test_a_good_password_and_the_demo_password_are_accepted(services):
    services.accounts.add_user("值班员", "officer", "zhongnao-demo")
    services.accounts.add_user("wangfang", "officer", "Tea at the 3rd bridge")
    with pytest.raises(AccountError) as refused:
        services.accounts.set_password("wangfang", "password1")
    assert refused.value.code == "password_weak"
    assert services.accounts.authenticate("wangfang", "Tea at the 3rd bridge") is not None


def test_the_cli_refuses_a_weak_password_in_both_languages(settings):
    out = CliRunner().invoke(main, ["user", "add", "孙丽", "--role", "officer",
                                    "--password", "12345678"], env=env(settings))
    assert out.exit_code != 0
    assert "太容易被猜到" in out.output and "too easy to guess" in out.output


# ------------------------------------------------------------------ forwarding headers
def login_form(client, name: str, password: str, **headers: str):
    """Post the real sign-in form (with the CSRF token its page set)."""
    client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf": client.cookies.get(CSRF_COOKIE)},
                       headers=headers, follow_redirects=False)


def test_forwarded_for_is_ignored_unless_the_peer_is_a_named_proxy(client):
    for i in range(3):
        login_form(client, "nobody", "wrong-password-1", **{"X-Forwarded-For": f"6.6.6.{i}"})
    assert {r["ip"] for r in client.zn.audit.search(action="login.failed")} == {"testclient"}


def test_forwarded_for_is_believed_from_a_proxy_named_in_the_setting(settings):
    with app_client(settings.with_(trusted_proxies="10.0.0.0/8, testclient")) as c:
        login_form(c, "nobody", "wrong-password-1",
                   **{"X-Forwarded-For": "203.0.113.7, 10.1.2.3"})
        assert [r["ip"] for r in c.zn.audit.search(action="login.failed")] == ["203.0.113.7"]


def test_the_served_app_does_not_trust_forwarding_headers_from_localhost(live):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{live.base}/login", timeout=30).read()
    csrf = next(c.value for c in jar if c.name == CSRF_COOKIE)
    form = urllib.parse.urlencode({"name": "nobody", "password": "wrong-password-1",
                                   "csrf": csrf}).encode()
    req = urllib.request.Request(f"{live.base}/login", data=form, method="POST",
                                 headers={"X-Forwarded-For": "6.6.6.6"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(req, timeout=30)
    assert refused.value.code == 401
    assert [r["ip"] for r in live.services.audit.search(action="login.failed")] == ["127.0.0.1"]


# ------------------------------------------------------------------ CSRF bound to the session
QUEUE = json.dumps({"output": "disp-queue.data",
                    "outputs": {"id": "disp-queue", "property": "data"},
                    "inputs": [{"id": "disp-filters", "property": "data", "value": None}],
                    "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
                    "changedPropIds": []})


def _queue(client, session: str, cookie: str, token: str):
    """A callback request with exactly these cookies and this X-CSRFToken."""
    client.cookies.clear()
    return client.post("/_dash-update-component", content=QUEUE, headers={
        "content-type": "application/json", "X-CSRFToken": token,
        "cookie": f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={cookie}"})


def test_a_made_up_csrf_cookie_and_header_do_not_pass(client):
    client.zn.accounts.add_user("值班员", "officer", "zhongnao-demo")
    assert login_form(client, "值班员", "zhongnao-demo").status_code == 303
    issued = client.cookies.get(CSRF_COOKIE)
    session = client.cookies.get(SESSION_COOKIE)
    assert issued == csrf_token(session)
    # A cookie planted by another site (or a sibling subdomain) with a header to match.
    planted = _queue(client, session, "planted-token", "planted-token")
    assert planted.status_code == 403 and planted.json()["error"] == "csrf"
    # Another session's token is no good either.
    other = csrf_token(client.zn.accounts.start_session(client.zn.accounts.user("值班员")))
    assert _queue(client, session, other, other).status_code == 403
    ok = _queue(client, session, issued, issued)
    assert ok.status_code == 200, ok.text
    # A page holding another token gets its session's own back with the next response.
    page = client.get("/_dash-layout", headers={
        "cookie": f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}=planted-token"})
    assert f"{CSRF_COOKIE}={issued}" in page.headers.get("set-cookie", "")


def test_a_kiosk_gets_the_csrf_token_of_its_own_token(client):
    token = client.zn.accounts.add_key("kiosk", "大厅左屏")
    entry = client.get(f"/?kiosk={token}", follow_redirects=False)
    assert entry.status_code == 303
    assert client.cookies.get(CSRF_COOKIE) == csrf_token(token)


# ------------------------------------------------------------------ sign-in throttle
def _from(c, address: str, password: str, name: str = "领导"):
    c.cookies.clear()
    return login_form(c, name, password, **{"X-Forwarded-For": address})


def test_a_guesser_elsewhere_does_not_lock_the_user_out(settings):
    with app_client(settings.with_(trusted_proxies="testclient")) as c:
        c.zn.accounts.add_user("领导", "leader", "zhongnao-demo")
        assert _from(c, "10.0.0.5", "zhongnao-demo").status_code == 303  # the usual desk
        codes = [_from(c, "198.51.100.9", f"guess-{i}-x").status_code for i in range(8)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        # The guesser waits, and longer with each more try; the leader does not.
        again = _from(c, "198.51.100.9", "zhongnao-demo")
        assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
        assert _from(c, "10.0.0.5", "zhongnao-demo").status_code == 303
        # A first-time address with the right password signs in too (no burst).
        assert _from(c, "10.0.0.6", "zhongnao-demo").status_code == 303


def test_a_burst_of_failures_alerts_and_only_usual_addresses_may_try(settings, caplog):
    with app_client(settings.with_(trusted_proxies="testclient")) as c:
        c.zn.accounts.add_user("领导", "leader", "zhongnao-demo")
        assert _from(c, "10.0.0.5", "zhongnao-demo").status_code == 303
        with caplog.at_level("WARNING", logger="datasources.doors.login"):
            codes = [_from(c, f"203.0.113.{i}", "guess-it-1").status_code for i in range(25)]
        # From the 21st on, unknown addresses wait until the burst cools down.
        assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
        assert [r["target"] for r in c.zn.audit.search(action="login.burst")] == ["领导"]
        assert any("burst of failed sign-ins" in r.getMessage() for r in caplog.records)
        assert _from(c, "10.0.0.5", "zhongnao-demo").status_code == 303
        assert _from(c, "192.0.2.77", "zhongnao-demo").status_code == 429


def test_the_wait_grows_with_each_failure_past_the_free_ones():
    from dashboard.signin import FREE_FAILURES, MAX_WAIT_S, backoff_s, wait_left

    waits = [backoff_s(n) for n in range(FREE_FAILURES + 8)]
    assert waits[:FREE_FAILURES] == [0] * FREE_FAILURES
    assert waits[FREE_FAILURES] == 15 and waits[FREE_FAILURES + 1] == 30
    assert max(waits) == MAX_WAIT_S and waits == sorted(waits)
    assert wait_left(FREE_FAILURES, 1000.0, 1010.0) == 5
    assert wait_left(FREE_FAILURES, 1000.0, 1015.0) == 0


# ------------------------------------------------------------------ kiosk token, revocation
def test_a_key_revoked_from_another_process_stops_at_the_next_request(client, settings):
    token = client.zn.accounts.add_key("kiosk", "大厅右屏")
    ingest = client.zn.accounts.add_key("ingest", "12345 热线", source="hotline")
    assert client.get("/api/whoami", headers={"X-Api-Key": ingest}).json()["kind"] == "key"
    client.get(f"/?kiosk={token}", follow_redirects=False)
    assert client.get("/api/whoami").json()["role"] == "display"  # looked up, remembered
    runner = CliRunner()
    for name in ("大厅右屏", "12345 热线"):  # the CLI is another process with its own cache
        out = runner.invoke(main, ["key", "revoke", name], env=env(settings))
        assert out.exit_code == 0, out.output
    assert client.get("/api/whoami").json()["role"] == "anon"
    client.cookies.clear()
    assert client.get("/api/whoami", headers={"X-Api-Key": ingest}).json()["role"] == "anon"


def test_a_user_disabled_from_another_process_is_out_at_the_next_request(client, settings):
    from tests.auth_helpers import sign_in

    sign_in(client, client.zn, "刘", "leader")
    assert client.get("/api/whoami").json()["role"] == "leader"
    out = CliRunner().invoke(main, ["user", "disable", "刘"], env=env(settings))
    assert out.exit_code == 0, out.output
    assert client.get("/api/whoami").json()["role"] == "anon"


def test_kiosk_cookies_are_secure_and_hsts_is_sent_over_https(settings):
    with app_client(settings.with_(secure_cookies=True)) as c:
        token = c.zn.accounts.add_key("kiosk", "大厅左屏")
        entry = c.get(f"/?kiosk={token}", follow_redirects=False)
        cookies = entry.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("; Secure" in k for k in cookies), cookies
        assert entry.headers["cache-control"] == "no-store"
        assert entry.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "strict-transport-security" in c.get("/login").headers


def test_https_from_a_trusted_proxy_gets_secure_cookies_and_hsts(settings):
    https = {"X-Forwarded-Proto": "https"}
    with app_client(settings) as c:  # nobody trusted: the header is ignored
        page = c.get("/login", headers=https)
        assert "strict-transport-security" not in page.headers
        assert "secure" not in page.headers["set-cookie"].lower()
    with app_client(settings.with_(trusted_proxies="testclient")) as c:
        c.zn.accounts.add_user("值班员", "officer", "zhongnao-demo")
        page = c.get("/login", headers=https)
        assert page.headers["strict-transport-security"].startswith("max-age=")
        csrf = page.cookies[CSRF_COOKIE]  # a Secure cookie: the http test client keeps it back
        c.cookies.clear()
        signed = c.post("/login", data={"name": "值班员", "password": "zhongnao-demo",
                                        "csrf": csrf},
                        headers={**https, "cookie": f"{CSRF_COOKIE}={csrf}"},
                        follow_redirects=False)
        assert signed.status_code == 303
        assert all("secure" in k.lower() for k in signed.headers.get_list("set-cookie"))


def test_the_kiosk_token_stays_out_of_the_access_log(live):
    token = live.services.accounts.add_key("kiosk", "走廊屏")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    access = logging.getLogger("uvicorn.access")
    keep, level = Keep(), access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)
    try:
        req = urllib.request.Request(f"{live.base}/?kiosk={token}&lang=en")
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as moved:
            opener.open(req, timeout=30)
        assert moved.value.code == 303 and moved.value.headers["location"] == "/?lang=en"
        wait_until(lambda: any("kiosk=" in line for line in lines), 10, "the access log line")
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    assert not any(token in line for line in lines), lines
    assert any("kiosk=[redacted]" in line for line in lines), lines


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_an_open_wall_websocket_ends_at_the_next_message_after_a_revocation(client, settings):
    from starlette.websockets import WebSocketDisconnect

    token = client.zn.accounts.add_key("kiosk", "大厅中屏")
    client.get(f"/?kiosk={token}", follow_redirects=False)
    with client.websocket_connect("/_dash-ws-callback",
                                  headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "heartbeat"})
        assert ws.receive_json()["type"] == "heartbeat_ack"
        out = CliRunner().invoke(main, ["key", "revoke", "大厅中屏"], env=env(settings))
        assert out.exit_code == 0, out.output
        ws.send_json({"type": "heartbeat"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
