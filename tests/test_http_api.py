"""The JSON API over a real server (uvicorn on a port, real Redis, real database)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from app import create_app
from dashboard.settings import Settings
from datasources.services import Services
from datasources.sql import models as m


@dataclass
class Live:
    """A running zhongnao: its base URL and the services inside the server process."""

    base: str
    services: Services

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        """One HTTP request as an ingest source (the demo key); returns status, headers and
        the decoded JSON body."""
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"X-Api-Key": "demo-key", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), json.loads(err.read())

    def post_json(self, path: str, data: Any, **headers: str) -> tuple[int, dict, Any]:
        """POST a JSON body."""
        raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
        return self.call("POST", path, raw, {"Content-Type": "application/json",
                                              **{k.replace("_", "-"): v
                                                 for k, v in headers.items()}})

    def incident_count(self) -> int:
        """Rows in the incidents table."""
        assert self.services.store is not None
        with self.services.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(m.Incident)) or 0)

    def rejected(self) -> dict[str, int]:
        """Rejection counters in Redis."""
        assert self.services.bus is not None
        return self.services.bus.rejected_counts()


@contextmanager
def serve(settings: Settings) -> Iterator[Live]:
    """zhongnao served by uvicorn in a background thread; stopped cleanly afterwards."""
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app.server, host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    running = Live(f"http://127.0.0.1:{settings.port}", app.zn_services)
    deadline = time.monotonic() + 30
    while True:
        try:
            if running.call("GET", "/api/health")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "server did not become healthy"
        assert thread.is_alive(), "server thread died"
        time.sleep(0.1)
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "server did not stop"


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    """A running server with the test settings (near-duplicate merging off)."""
    with serve(settings) as running:
        yield running


def report(**kw: Any) -> dict[str, Any]:
    """A valid report body inside the demo town."""
    return {"source": "hotline", "category": "traffic", "title": "红绿灯故障",
            "lon": 104.45, "lat": 30.55, **kw}


def test_post_creates_the_incident_in_the_db_and_on_the_wall(live: Live) -> None:
    status, headers, body = live.post_json("/api/v1/incidents",
                                           report(description="路口信号灯全灭"))
    assert status == 201, body
    assert set(body) == {"id", "ref", "state", "grid", "village", "deadline_at"}
    assert body["state"] == "reported" and body["grid"] and body["deadline_at"]
    assert headers["location"] == f"/api/v1/incidents/{body['id']}"
    assert live.services.store.history(body["id"])[0]["to"] == "reported"
    deadline = time.monotonic() + 2
    while body["id"] not in live.services.hub.state.incidents:
        assert time.monotonic() < deadline, "the wall's hub never got the incident"
        time.sleep(0.05)

    status, _, found = live.call("GET", f"/api/v1/incidents/{body['id']}")
    assert status == 200
    assert found["incident"]["ref"] == body["ref"]
    assert found["incident"]["description"] == "路口信号灯全灭"
    assert [h["to"] for h in found["history"]] == ["reported"]
    assert "reporter_phone" not in found["incident"]

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
