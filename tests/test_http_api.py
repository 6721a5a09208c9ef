"""The JSON API over a real server (uvicorn on a port, real Redis, real database)."""

from __future__ import annotations

import json
import threading
from typing import Any

from dashboard.settings import Settings

# test_bus_doors.py still imports Live and serve from here (until it imports tests.browser).
from tests.browser import KEYS, Live, database_fault, serve, wait_until


def report(**kw: Any) -> dict[str, Any]:
    """A valid report body inside the demo town."""
    return {"source": "hotline", "category": "traffic", "title": "红绿灯故障",
            "lon": 104.45, "lat": 30.55, **kw}


def test_post_creates_the_incident_in_the_db_and_on_the_wall(live: Live) -> None:
    status, headers, body = live.post_json("/api/v1/incidents",
                                           report(description="路口信号灯全灭"))
    assert status == 201, body
    # A hotline report's answer also carries its suggestion (issue 18; none: no model here).
    assert set(body) == {"id", "ref", "state", "grid", "village", "deadline_at",
                         "suggestion", "suggestion_url"}
    assert body["state"] == "reported" and body["grid"] and body["deadline_at"]
    assert headers["location"] == f"/api/v1/incidents/{body['id']}"
    assert live.services.store.history(body["id"])[0]["to"] == "reported"
    wait_until(lambda: body["id"] in live.services.hub.state.incidents, 2,
               "the wall's hub getting the incident")

    # The source reads back what it filed, in the public GeoReport shape (no history).
    status, _, found = live.call("GET", f"/api/v1/incidents/{body['id']}")
    assert status == 200
    assert found[0]["service_request_id"] == body["ref"]
    assert found[0]["description"] == "路口信号灯全灭"
    assert "history" not in found[0] and "reporter_phone" not in found[0]

    for unknown in ("999999", "abc"):
        status, _, err = live.call("GET", f"/api/v1/incidents/{unknown}",
                                   headers={"Accept-Language": "en"})
        assert status == 404 and err["error"] == "not_found"
        assert unknown in err["message"]
    assert live.rejected() == {}


def test_oversized_body_is_413_and_nothing_is_stored(live: Live) -> None:
    status, _, body = live.post_json("/api/v1/incidents",
                                     report(description="x" * (10 * 1024 * 1024)))
    assert status == 413 and body["error"] == "too_large"
    assert live.incident_count() == 0
    assert live.rejected() == {"too_large": 1}


def test_refusals_speak_the_requesters_language_and_are_counted(live: Live) -> None:
    bad = report(title="<script>alert(1)</script>")
    status, _, en = live.post_json("/api/v1/incidents", bad, Accept_Language="en-GB,en;q=0.8")
    assert status == 400 and en["error"] == "invalid"
    assert en["message"].startswith("The report is not valid") and "markup" in en["message"]
    status, _, zh = live.post_json("/api/v1/incidents", bad, Accept_Language="zh-CN")
    assert status == 400 and zh["message"] == "上报内容不符合要求：title: 不能含有 HTML 或脚本标记"
    status, _, default = live.post_json("/api/v1/incidents", bad)
    assert default["message"] == zh["message"]

    status, _, body = live.post_json("/api/v1/incidents", b"{broken")
    assert status == 400 and body["error"] == "bad_json"
    status, _, body = live.post_json("/api/v1/incidents", [report()])
    assert status == 400 and body["error"] == "bad_shape"
    status, _, body = live.post_json("/api/v1/incidents", report(lon=120.0, lat=30.0),
                                     Accept_Language="en")
    assert status == 422 and body["error"] == "outside_town"
    assert "outside" in body["message"]
    status, _, body = live.post_json("/api/v1/incidents", report(colour="red"))
    assert status == 400 and "colour" in body["message"]

    assert live.incident_count() == 0
    assert live.rejected() == {"invalid": 4, "bad_json": 1, "bad_shape": 1, "outside_town": 1}


def test_duplicate_source_ref_is_409_naming_the_first_work_order(live: Live) -> None:
    status, _, first = live.post_json("/api/v1/incidents", report(source_ref="12345-0042"))
    assert status == 201
    status, _, again = live.post_json("/api/v1/incidents",
                                      report(source_ref="12345-0042", title="再次来电"),
                                      Accept_Language="en")
    assert status == 409 and again["error"] == "duplicate"
    assert again["ref"] == first["ref"] and first["ref"] in again["message"]
    assert live.incident_count() == 1
    assert live.rejected() == {"duplicate": 1}


def test_idempotency_key_retry_gets_the_same_answer_and_one_incident(live: Live) -> None:
    body = report(title="井盖缺失", category="city_management")
    key = "app-7781-report-01"
    first = live.post_json("/api/v1/incidents", body, Idempotency_Key=key)
    retry = live.post_json("/api/v1/incidents", body, Idempotency_Key=key)
    assert first[0] == retry[0] == 201
    assert first[2] == retry[2]
    assert live.incident_count() == 1

    # The same key for another report is a client bug, refused rather than replayed.
    status, _, other = live.post_json("/api/v1/incidents", report(title="别的事"),
                                      Idempotency_Key=key, Accept_Language="en")
    assert status == 400 and "Idempotency-Key" in other["message"]
    # A refused request does not hold its key: corrected, it goes through.
    key2 = "app-7781-report-02"
    assert live.post_json("/api/v1/incidents", report(lon=120.0),
                          Idempotency_Key=key2)[0] == 422
    assert live.post_json("/api/v1/incidents", report(), Idempotency_Key=key2)[0] == 201
    assert live.incident_count() == 2
    assert live.rejected() == {"invalid": 1, "outside_town": 1}


def test_concurrent_retries_with_one_idempotency_key_store_one_incident(live: Live) -> None:
    results: list[tuple[int, dict, Any]] = []

    def send() -> None:
        results.append(live.post_json("/api/v1/incidents", report(title="路灯不亮"),
                                      Idempotency_Key="lamp-retry-storm"))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [r[0] for r in results] == [201] * 6
    assert len({json.dumps(r[2], sort_keys=True) for r in results}) == 1
    assert live.incident_count() == 1
    assert live.rejected() == {}


def test_a_key_whose_first_server_died_mid_request_is_taken_over(live: Live) -> None:
    """A server that claimed an Idempotency-Key and was killed (kill -9, a crash) before it
    answered leaves the claim behind. The client's retry, on the other server, is not told
    "still being handled" for a minute: after a short wait it is handled, and the database's
    unique source_ref keeps it once, whether or not the dead server had committed it."""
    from dashboard.messages import IncidentReport
    from datasources.doors.http_api import IDEM_REF, IDEM_WAIT_S, idem_key, report_digest

    r, prefix = live.services.bus.r, live.services.bus.ch.prefix

    def orphan(title: str, key: str) -> None:  # the claim a dead server left on `key`
        sent = IncidentReport.model_validate(report(title=title))
        sent = sent.model_copy(update={"source_ref": IDEM_REF + key})
        r.set(idem_key(prefix, key), json.dumps({"hash": report_digest(sent)}), ex=60)

    # Died before committing: the retry stores it.
    orphan("路灯倒伏", "died-before-commit")
    status, _, body = live.post_json("/api/v1/incidents", report(title="路灯倒伏"),
                                     Idempotency_Key="died-before-commit")
    assert status == 201, body
    # Died after committing, before its answer: the retry gets the stored work order.
    first = live.post_json("/api/v1/incidents", report(title="护栏损坏"),
                           Idempotency_Key="died-after-commit")
    assert first[0] == 201
    orphan("护栏损坏", "died-after-commit")
    retry = live.post_json("/api/v1/incidents", report(title="护栏损坏"),
                           Idempotency_Key="died-after-commit")
    assert retry[0] == 201 and retry[2]["id"] == first[2]["id"], retry
    # ... and so does every later retry, at once, from the answer now kept under the key.
    again = live.post_json("/api/v1/incidents", report(title="护栏损坏"),
                           Idempotency_Key="died-after-commit")
    assert again[2] == retry[2]
    assert live.incident_count() == 2
    assert live.rejected() == {}
    assert IDEM_WAIT_S <= 5  # the longest a client waits on an orphaned claim, once


def test_near_duplicate_joins_the_open_work_order_with_200(settings: Settings) -> None:
    with serve(settings.with_(dedup_meters=200, dedup_minutes=30)) as live:
        _near_duplicate(live)


def _near_duplicate(live: Live) -> None:
    status, _, first = live.post_json("/api/v1/incidents", report(title="路口积水"))
    assert status == 201 and "merged" not in first
    status, _, again = live.post_json("/api/v1/incidents",
                                      report(title="路口积水严重", source="citizen",
                                             lon=104.4501))
    assert status == 200 and again["merged"] is True and again["ref"] == first["ref"]
    assert live.incident_count() == 1
    assert live.rejected() == {}


def test_a_stored_report_is_acknowledged_when_the_database_fails_after_it(client) -> None:
    """The database goes away just after a hotline report is committed, while its answer is
    made: the report is stored, so the source hears 201 with its ref and where to read the
    suggestion later, never a 500 that makes it doubt (the answer read the order back)."""
    from sqlalchemy import event

    engine = client.zn.store.engine
    armed = threading.Event()

    def fails(conn: Any, statement: str) -> bool:
        if statement.startswith("INSERT INTO incidents "):
            conn.info["filed"] = True
        return armed.is_set() and "FROM incidents" in statement

    def committed(conn: Any) -> None:
        if conn.info.pop("filed", False):
            armed.set()  # from here on every read of a work order fails, as with no database

    event.listen(engine, "commit", committed)
    try:
        with database_fault(engine, fails):
            answer = client.post("/api/v1/incidents", json=report(title="井盖缺失"),
                                 headers={"X-Api-Key": KEYS["hotline"]})
    finally:
        event.remove(engine, "commit", committed)
    assert armed.is_set(), "the fault never came"
    assert answer.status_code == 201, answer.text[:300]
    body = answer.json()
    assert body["ref"] and answer.headers["location"] == f"/api/v1/incidents/{body['id']}"
    assert body["suggestion"] is None
    assert body["suggestion_url"] == f"/api/v1/incidents/{body['id']}"
    assert client.zn.store.view(body["id"]).title == "井盖缺失"


def test_a_report_whose_answer_cannot_be_read_is_a_503_to_retry(client) -> None:
    """A duplicate's answer names the first work order; with the database gone as it is
    read, the source hears 503 with Retry-After in its language (and retries), not a 500."""
    engine = client.zn.store.engine
    body = report(title="路灯不亮", source_ref="HL-503-1")
    first = client.post("/api/v1/incidents", json=body, headers={"X-Api-Key": KEYS["hotline"]})
    assert first.status_code == 201, first.text[:300]

    with database_fault(engine, lambda _, sql: sql.startswith("SELECT incidents.ref ")):
        again = client.post("/api/v1/incidents", json=body,
                            headers={"X-Api-Key": KEYS["hotline"], "Accept-Language": "en"})
    assert again.status_code == 503, again.text[:300]
    assert int(again.headers["retry-after"]) >= 1
    assert again.json()["error"] == "store_error"
    assert "retry" in again.json()["message"]
    # Once the database answers, the same retry names the first order.
    later = client.post("/api/v1/incidents", json=body, headers={"X-Api-Key": KEYS["hotline"]})
    assert later.status_code == 409 and later.json()["ref"] == first.json()["ref"]


def test_any_door_with_the_database_gone_is_a_503_in_the_askers_language(client) -> None:
    """Reading a report back while the database is away: 503 with Retry-After, in the
    requester's language, not a 500."""
    engine = client.zn.store.engine
    filed = client.post("/api/v1/incidents", json=report(source="citizen", title="垃圾堆放"),
                        headers={"X-Api-Key": KEYS["citizen"]}).json()
    with database_fault(engine, lambda *_: True):
        answers = {lang: client.get(f"/api/v1/incidents/{filed['id']}",
                                    headers={"X-Api-Key": KEYS["citizen"],
                                             "Accept-Language": lang})
                   for lang in ("zh", "en")}
    for lang, answer in answers.items():
        assert answer.status_code == 503, (lang, answer.text[:300])
        assert int(answer.headers["retry-after"]) >= 1
    assert answers["zh"].json()["message"] == "服务暂时不可用，请稍后重试。"
    assert answers["en"].json()["message"] == "The service is unavailable; retry later."
    assert client.get(f"/api/v1/incidents/{filed['id']}",
                      headers={"X-Api-Key": KEYS["citizen"]}).status_code == 200
