"""12345 both ways (issue 15): a work order that came from the hotline reports each step of
the loop back to the hotline's webhook (a real local HTTP server here, tests/receiver.py),
signed, in order even across a retry after a 500; the hotline reads its order by its own
number and closes it with its 回访 result, by the loop's own close rule."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dashboard.buses.notify import NotifyConfig
from dashboard.incidents import hotline
from datasources.outbound.senders import Notifier, senders_for
from datasources.services import Services
from datasources.sql.notify import Outbox
from tests.browser import KEYS, app_client, wait_until
from tests.receiver import Receiver

SECRET = "12345-shared-secret"
NUMBER = "12345-20261205-0042"
SPOT = {"lon": 104.4512, "lat": 30.5523}
OK = (200, {"code": 0})


def report(number: str = NUMBER) -> dict[str, Any]:
    return {"source": "hotline", "source_ref": number, "category": "environment",
            "title": "河道漂浮垃圾", "description": "青石河桥下有大量漂浮物",
            "reporter_name": "王先生", "reporter_phone": "13800001234", **SPOT}


def call(client: Any, method: str, path: str, body: Any = None, source: str = "hotline",
         lang: str = "zh") -> Any:
    headers = {"X-Api-Key": KEYS[source], "Accept-Language": lang,
               "content-type": "application/json"}
    data = None if body is None else (body if isinstance(body, (bytes, str))
                                      else json.dumps(body, ensure_ascii=False))
    return client.request(method, path, content=data, headers=headers)


def signed(request: dict[str, Any]) -> bool:
    """What the hotline's receiver checks: the signature over the exact bytes received."""
    return hotline.verify(SECRET, request["raw"], request["headers"].get("X-Zn-Signature"))


def work_the_order(svc: Services, incident_id: int) -> None:
    """The desk and the field take the order through the loop, as the console would."""
    svc.intake.act(incident_id, "accept", "值班员王")
    svc.intake.act(incident_id, "dispatch", "值班员王", assignee="网格员李")
    svc.intake.act(incident_id, "start", "网格员李", note="已到场")
    svc.intake.act(incident_id, "resolve", "网格员李", note="已清理漂浮物")


@pytest.fixture
def receiver():
    r = Receiver([OK])
    yield r
    r.close()


def test_each_step_reaches_the_hotline_in_order_signed_and_the_visit_closes_it(
        settings, receiver) -> None:
    conf = settings.with_(hotline_webhook=f"{receiver.url}/12345/steps", hotline_secret=SECRET)
    with app_client(conf) as client:
        made = call(client, "POST", "/api/v1/incidents", report())
        assert made.status_code == 201
        order = made.json()
        svc = client.zn
        work_the_order(svc, order["id"])
        # The hotline reads its order by its own number.
        read = call(client, "GET", f"/api/v1/hotline/orders/{NUMBER}")
        assert read.status_code == 200
        status = read.json()
        assert (status["ref"], status["state"], status["state_name"]) == (
            order["ref"], "resolved", "办结")
        assert status["deadline_at"].endswith("+08:00") and status["overdue"] is False
        assert [s["step"] for s in status["steps"]] == ["report", "accept", "dispatch",
                                                        "start", "resolve"]
        # Its 回访 closes the loop with its satisfaction.
        visit = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit",
                     {"satisfied": True, "note": "群众表示满意"})
        assert visit.status_code == 200, visit.text
        assert (visit.json()["state"], visit.json()["satisfaction"]) == ("closed", 5)
        history = svc.store.history(order["id"])
        assert (history[-1]["action"], history[-1]["actor"]) == ("close", "12345热线")
        assert "群众表示满意" in history[-1]["note"]
        # The real sender loop of the server posts every step to the local receiver.
        wait_until(lambda: len(receiver.requests) >= 6, timeout=15)
    bodies = [r["body"] for r in receiver.requests]
    assert [b["step"] for b in bodies] == ["report", "accept", "dispatch", "start",
                                           "resolve", "close"]
    assert [b["seq"] for b in bodies] == [1, 2, 3, 4, 5, 6]
    assert {b["hotline_ref"] for b in bodies} == {NUMBER}
    assert {b["ref"] for b in bodies} == {order["ref"]}
    assert [b["state"] for b in bodies] == ["reported", "accepted", "dispatched",
                                            "in_progress", "resolved", "closed"]
    assert bodies[2]["note"] == "网格员李" and bodies[4]["note"] == "已清理漂浮物"
    assert bodies[5]["satisfaction"] == 5 and bodies[5]["step_name"] == "回访办结"
    assert all(b["at"].endswith("+08:00") for b in bodies)
    assert all(signed(r) for r in receiver.requests)
    assert {r["path"] for r in receiver.requests} == {"/12345/steps"}
    # A tampered body would not verify: the signature covers the exact bytes.
    first = receiver.requests[0]
    assert not hotline.verify(SECRET, first["raw"].replace(b"report", b"resolve"),
                              first["headers"]["X-Zn-Signature"])
    assert not hotline.verify("another-secret", first["raw"],
                              first["headers"]["X-Zn-Signature"])


def test_a_500_is_retried_and_no_later_step_overtakes_it(settings) -> None:
    hotline_rx = Receiver([(500, {"code": 500}), OK])
    try:
        conf = settings.with_(hotline_webhook=f"{hotline_rx.url}/steps", hotline_secret=SECRET)
        svc = Services(conf).open()
        try:
            out = Outbox(svc.store.engine, hotline_backoff=(0.4, 0.4, 0.4))
            notifier = Notifier(out, senders_for(NotifyConfig(), hotline_secret=SECRET))
            made = svc.intake.handle(_report_message())
            incident_id = made.event.incident.id
            svc.intake.act(incident_id, "accept", "值班员王")
            svc.intake.act(incident_id, "dispatch", "值班员王", assignee="网格员李")
            assert notifier.run_once() == 0  # the report's step got a 500
            log = {e["kind"]: e for e in out.log(hotline.recipient(NUMBER))}
            assert (log["report"]["status"], log["report"]["tries"],
                    log["report"]["last_error"]) == ("queued", 1, "HTTP 500")
            assert log["accept"]["status"] == "queued" and log["accept"]["tries"] == 0
            # Accept and dispatch are due, but wait behind the step that failed.
            assert notifier.run_once() == 0 and len(hotline_rx.requests) == 1
            time.sleep(0.45)
            assert notifier.run_once() == 3
            assert [r["body"]["step"] for r in hotline_rx.requests] == [
                "report", "report", "accept", "dispatch"]
            assert [r["body"]["seq"] for r in hotline_rx.requests] == [1, 1, 2, 3]
            assert all(signed(r) for r in hotline_rx.requests)
            assert [(e["kind"], e["status"], e["tries"]) for e in
                    reversed(out.log(hotline.recipient(NUMBER)))] == [
                ("report", "sent", 2), ("accept", "sent", 1), ("dispatch", "sent", 1)]
            assert notifier.run_once() == 0 and len(hotline_rx.requests) == 4
        finally:
            svc.close()
    finally:
        hotline_rx.close()


def _report_message():
    from dashboard.messages import IncidentReport

    return IncidentReport.model_validate(report())


def test_only_hotline_orders_are_told_and_nothing_without_a_webhook(settings) -> None:
    rx = Receiver([OK])
    try:
        svc = Services(settings.with_(hotline_webhook=f"{rx.url}/s", hotline_secret=SECRET)).open()
        try:
            citizen = svc.intake.handle(_report_message().model_copy(
                update={"source": "citizen", "source_ref": "app-1"}))
            svc.intake.act(citizen.event.incident.id, "accept", "值班员王")
            assert Outbox(svc.store.engine).log() == []  # not the hotline's: nothing to tell
        finally:
            svc.close()
        quiet = Services(settings).open()  # no ZN_HOTLINE_WEBHOOK: nothing is queued
        try:
            made = quiet.intake.handle(_report_message().model_copy(
                update={"source_ref": "12345-quiet"}))
            quiet.intake.act(made.event.incident.id, "accept", "值班员王")
            assert Outbox(quiet.store.engine).log() == []
        finally:
            quiet.close()
    finally:
        rx.close()


def test_the_hotline_reads_by_its_number_and_bad_requests_are_refused_in_its_language(
        client) -> None:
    assert call(client, "POST", "/api/v1/incidents", report()).status_code == 201
    gone = call(client, "GET", "/api/v1/hotline/orders/12345-nope")
    assert gone.status_code == 404 and gone.json()["error"] == "no_hotline_order"
    assert gone.json()["message"] == "没有 12345 编号为“12345-nope”的工单。"
    en = call(client, "GET", "/api/v1/hotline/orders/12345-nope", lang="en")
    assert en.json()["message"] == "There is no work order with 12345 number “12345-nope”."
    # Another source's key may not read or close hotline orders.
    other = call(client, "GET", f"/api/v1/hotline/orders/{NUMBER}", source="video", lang="en")
    assert other.status_code == 403 and other.json()["error"] == "wrong_source"
    assert call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit", {"score": 5},
                source="video").status_code == 403
    # A 回访 before the order is handled is the loop's refusal, in the requester's language.
    early = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit", {"score": 4})
    assert early.status_code == 409 and early.json()["error"] == "bad_state"
    assert "上报" in early.json()["message"]
    early_en = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit", {"score": 4},
                    lang="en")
    assert "Reported" in early_en.json()["message"]
    for body, reason in (({"score": 7}, "invalid"), ({}, "invalid"),
                         ({"score": 4, "note": "<script>x</script>"}, "invalid"),
                         ({"score": 4, "extra": 1}, "invalid"), ("not json", "bad_json"),
                         ("[1, 2]", "bad_shape")):
        r = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit", body)
        assert r.status_code == 400 and r.json()["error"] == reason, (body, r.text)
    bad = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit", {"score": 9},
               lang="en")
    assert "less than or equal to 5" in bad.json()["message"]
    counts = client.zn.bus.rejected_counts()
    assert counts.get("invalid", 0) >= 5 and counts.get("wrong_source", 0) == 2
    assert client.zn.store.hotline_order(NUMBER)["view"].state == "reported"


def test_a_visit_follows_the_close_rule_and_a_retried_visit_is_one_step(settings) -> None:
    with app_client(settings.with_(verify_before_close=True)) as client:
        order = call(client, "POST", "/api/v1/incidents", report()).json()
        work_the_order(client.zn, order["id"])
        # The town requires 核查 before 结案: the hotline's 回访 waits for it too.
        early = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit",
                     {"satisfied": False, "note": "仍有垃圾"})
        assert early.status_code == 409 and early.json()["error"] == "verify_first"
        client.zn.intake.act(order["id"], "verify", "值班员王")
        done = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit",
                    {"satisfied": False, "note": "仍有垃圾"})
        assert done.status_code == 200
        assert (done.json()["state"], done.json()["satisfaction"]) == ("closed", 2)
        again = call(client, "POST", f"/api/v1/hotline/orders/{NUMBER}/visit",
                     {"satisfied": False, "note": "仍有垃圾"})
        assert again.status_code == 200 and again.json() == done.json()
        closes = [h for h in client.zn.store.history(order["id"]) if h["action"] == "close"]
        assert len(closes) == 1 and "仍有垃圾" in closes[0]["note"]


def test_a_webhook_needs_its_secret_and_an_http_url() -> None:
    from dashboard.settings import Settings

    with pytest.raises(ValueError, match="ZN_HOTLINE_SECRET"):
        Settings.from_env({"ZN_HOTLINE_WEBHOOK": "https://12345.example.cn/steps"})
    with pytest.raises(ValueError, match="ZN_HOTLINE_WEBHOOK"):
        Settings.from_env({"ZN_HOTLINE_WEBHOOK": "ftp://x", "ZN_HOTLINE_SECRET": "s"})
    with pytest.raises(ValueError, match="ZN_IMAGE_ORIGINS"):
        Settings.from_env({"ZN_IMAGE_ORIGINS": "https://cam.example.cn/snap/"})
    ok = Settings.from_env({"ZN_HOTLINE_WEBHOOK": "https://12345.example.cn/steps",
                            "ZN_HOTLINE_SECRET": "s", "ZN_IMAGE_ORIGINS": "https://cam.example.cn"})
    assert ok.hotline_webhook.endswith("/steps") and ok.video_burst_minutes == 10
