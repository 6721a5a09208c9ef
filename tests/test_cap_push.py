"""Warnings pushed (issue 15): each issued and cancelled CAP message is POSTed to every
endpoint of ZN_CAP_PUSH_URLS as application/cap+xml through the durable outbox, retried
after a 500, never held back by the guardians' rate; the product's real sender posts to a
local HTTP server standing in for the receiving platform (tests/receiver.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from dashboard.roles import OFFICER, Principal
from dashboard.settings import Settings
from datasources.flows.cap_xml import problems
from datasources.outbound.senders import Notifier, senders_for
from datasources.services import Services
from tests.browser import app_client, wait_until
from tests.receiver import Receiver

OK = (200, {"ok": True})
WHO = Principal(role=OFFICER, name="王芳", kind="user")
DRAFT = {"event": "road_closure", "severity": "Moderate", "urgency": "Immediate",
         "certainty": "Observed", "headline": "S105 白鹤桥封闭", "grids": ["G2-03"],
         "hours": 12}


@pytest.fixture
def endpoints() -> Iterator[tuple[Receiver, Receiver]]:
    a, b = Receiver([OK]), Receiver([(500, {"error": "busy"}), OK])
    yield a, b
    a.close()
    b.close()


def pushing(settings: Settings, *urls: str) -> Services:
    return Services(replace(settings, cap_push_urls=",".join(urls))).open()


def test_every_endpoint_gets_each_warning_and_its_cancel_as_cap_xml_after_a_500(
        settings, endpoints):
    a, b = endpoints
    svc = pushing(settings, f"{a.url}/cap", f"{b.url}/in")
    try:
        svc.outbox.backoff = (0.3,)
        alert = svc.warnings.issue(DRAFT, WHO)
        cancel = svc.warnings.cancel(alert.identifier, "已恢复通行", WHO)
        assert (alert.pushed, cancel.pushed) == (2, 2)
        notifier = Notifier(svc.outbox, senders_for(svc.notify, cap=True))
        notifier.run_once()
        # a took both; b answered its first POST with 500 and holds the rest for the retry
        assert [r["raw"].decode() for r in a.requests] == [alert.xml, cancel.xml]
        assert {r["type"] for r in a.requests} == {"application/cap+xml; charset=utf-8"}
        assert [r["path"] for r in a.requests] == ["/cap", "/cap"]
        failed = [m for m in svc.outbox.log() if m["status"] == "queued"]
        assert [m["last_error"] for m in failed] == ["HTTP 500"]
        time.sleep(0.35)
        notifier.run_once()
        bodies = sorted(r["raw"].decode() for r in b.requests)
        assert bodies == sorted([alert.xml, alert.xml, cancel.xml])  # the first twice: retried
        assert all(problems(body) == [] for body in bodies)
        log = svc.outbox.log()
        assert {m["status"] for m in log} == {"sent"} and len(log) == 4
        assert max(m["tries"] for m in log) == 2
        notifier.run_once()  # nothing is sent twice
        assert len(a.requests) == 2 and len(b.requests) == 3
    finally:
        svc.close()


def test_an_endpoint_is_never_rate_limited_like_a_guardian(settings, endpoints):
    a, _ = endpoints
    svc = pushing(settings, a.url)
    try:
        for n in range(10):  # more than the guardians' 8 in 10 minutes
            svc.warnings.issue({**DRAFT, "headline": f"第{n}号"}, WHO)
        assert {m["status"] for m in svc.outbox.log()} == {"queued"}
        Notifier(svc.outbox, senders_for(svc.notify, cap=True)).run_once()
        assert len(a.requests) == 10
    finally:
        svc.close()


def test_the_running_server_pushes_what_the_console_issues(settings, endpoints):
    """The server's own sending loop (started with it) carries warnings when the setting
    names endpoints."""
    a, _ = endpoints
    with app_client(replace(settings, cap_push_urls=a.url)) as client:
        done = client.zn.warnings.issue(DRAFT, WHO)
        wait_until(lambda: a.requests, timeout=10, what="the pushed warning")
        assert a.requests[0]["raw"].decode() == done.xml


def test_the_outbox_log_names_each_pushed_warning_by_its_identifier(settings, endpoints):
    from click.testing import CliRunner

    from cli import main

    a, b = endpoints
    svc = pushing(settings, a.url, b.url)
    try:
        done = svc.warnings.issue(DRAFT, WHO)
        Notifier(svc.outbox, senders_for(svc.notify, cap=True)).run_once()
    finally:
        svc.close()
    out = CliRunner().invoke(main, ["notify", "log"],
                             env={"DATABASE_URL": settings.database_url}).output
    lines = [ln for ln in out.splitlines() if " cap " in ln]
    assert len(lines) == 2 and all(f"CAP {done.identifier}" in ln for ln in lines)
    assert "sent" in lines[0] and "[HTTP 500]" in lines[1]  # b answered 500 first
    assert "<alert" not in out
