"""The API's documentation works offline (issue 15): /api/docs loads only files the product
serves itself, under the product's Content-Security-Policy, and Swagger UI renders the doors
in a real headless Chromium that reaches no CDN (and makes no request that the CSP refuses)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from datasources.gate.web import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from tests.browser import Live, signed_in_browser, wait_until

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


def sign_in(client: Any, role: str = "officer") -> None:
    """A session cookie of a fresh user of `role` on the TestClient."""
    accounts = client.zn.accounts
    accounts.add_user(f"docs-{role}", role, "docs-test-password-1")
    token = accounts.start_session(accounts.user(f"docs-{role}"))
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token(token))


def test_the_doc_page_loads_only_same_origin_files_that_answer(client) -> None:
    sign_in(client)
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = _URL.findall(r.text)
    assert urls, r.text
    for url in urls:
        # Same origin: a path of this server, never a CDN, never a protocol-relative URL.
        assert url.startswith("/") and not url.startswith("//"), url
        got = client.get(url)
        assert got.status_code == 200 and len(got.content) > 100, url
    # No inline script: the CSP ('self' and Dash's hashes) would refuse it.
    for script in _SCRIPT.finditer(r.text):
        assert "src=" in script["attrs"] and not script["body"].strip(), script[0]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "cdn" not in r.text.lower()
    assert client.get("/api/openapi.json").json()["paths"]["/open311/v2/services.{format}"]


def test_the_doc_files_are_named_not_paths(client) -> None:
    sign_in(client)
    for name in ("../api_docs.py", "%2e%2e%2fapi_docs.py", "core.py", "swagger-ui.css.map",
                 "redoc.standalone.js"):
        got = client.get(f"/api/docs/static/{name}")
        assert got.status_code in (403, 404) and b"import" not in got.content, name
    css = client.get("/api/docs/static/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"]


def test_the_docs_are_for_signed_in_people(client) -> None:
    r = client.get("/api/docs", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 401


@pytest.mark.browser
def test_docs001_swagger_ui_renders_the_doors_offline(live: Live, settings) -> None:
    with signed_in_browser(settings, live.base, role="officer", path="/") as driver:
        driver.get(f"{live.base}/api/docs")
        # Swagger UI drew one block per operation, the Open311 door's among them.
        blocks = wait_until(lambda: driver.find_elements("css selector", ".opblock-summary-path"),
                            timeout=30, what="Swagger UI's operations")
        paths = {b.get_attribute("data-path") or b.text for b in blocks}
        assert "/open311/v2/requests.{format}" in paths, paths
        assert "/api/v1/incidents" in paths
        refused = [e["message"] for e in driver.get_log("browser")
                   if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]
        assert not refused, refused

