"""Faults with traffic flowing: the real redis-server is stopped and started again, the
database file disappears and comes back. What was sent is compared with what the database
and the live state every screen draws from hold: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dashboard.screens.views import status_line
from datasources.redis.embedded import EmbeddedRedis
from datasources.sql import models as m
from tests.browser import post_report, serve, serve_process, stop_process, wait_until

N = 60


def settled(check: Any, timeout: float) -> bool:
    """True once `check()` holds within `timeout` s, False if it never did (the tests here
    record what they saw, then assert with their own message)."""
    try:
        wait_until(check, timeout)
    except AssertionError:
        return False
    return True


def health_of(base: str, timeout: float = 5) -> tuple[int, dict[str, Any]]:
    """GET /api/health: (status, body)."""
    try:
        with urllib.request.urlopen(f"{base}/api/health", timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def titles_in_db(services: Any) -> dict[str, int]:
    with services.store.session() as s:
        rows = s.execute(select(m.Incident.title, func.count()).group_by(m.Incident.title))
        return {title: count for title, count in rows}


def test_redis_stopped_and_restarted_under_traffic_loses_and_doubles_nothing(settings,
                                                                              tmp_path):
    redis_server = EmbeddedRedis(tmp_path / "own-redis").start()
    settings = settings.with_(redis_url=redis_server.url)
    acked: dict[int, dict[str, Any]] = {}
    during_outage: list[int] = []
    down = threading.Event()
    try:
        with serve(settings) as live:
            hub = live.services.hub

            def traffic() -> None:
                for i in range(N):
                    for _attempt in range(200):  # a source retries with the same key
                        status, body, _ = post_report(live.base, i, f"fault-drill-{i:04d}")
                        if status in (200, 201):
                            acked[i] = body
                            if down.is_set():
                                during_outage.append(i)
                            break
                        time.sleep(0.1)
                    time.sleep(0.05)

            sender = threading.Thread(target=traffic)
            sender.start()
            assert settled(lambda: len(acked) >= 10, 20)
            redis_server.stop()
            down.set()
            saw_reconnecting = settled(lambda: not hub.state.connected, 10)
            time.sleep(2.0)
            down.clear()
            redis_server.start()
            sender.join(timeout=120)
            started = time.monotonic()
            recovered = settled(lambda: hub.state.connected, 30)
            print(f"\nRedis back -> hub connected in {time.monotonic() - started:.1f} s; "
                  f"{len(during_outage)} reports acknowledged while Redis was down")

            assert saw_reconnecting, "the live state never said it lost Redis"
            assert recovered, "the live state did not reconnect"
            assert sorted(acked) == list(range(N)), "a report was never acknowledged"
            assert during_outage, "no report was taken while Redis was down"
            health = json.loads(urllib.request.urlopen(f"{live.base}/api/health").read())
            assert health["ok"] and health["database"] and health["unannounced"] >= 1
            counts = titles_in_db(live.services)
            sent = {f"故障演练-{i:03d}" for i in range(N)}
            assert {t: c for t, c in counts.items() if t in sent} == dict.fromkeys(sent, 1)
            ids = {body["id"] for body in acked.values()}
            assert len(ids) == N
            # What every screen draws from: the hub's state, resynced from the database.
            assert settled(lambda: ids <= set(hub.state.incidents), 15), \
                f"missing on screens: {sorted(ids - set(hub.state.incidents))}"
    finally:
        redis_server.stop()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="takes a SQLite file away; PostgreSQL would be stopped instead")
def test_database_gone_answers_503_with_retry_after_and_the_retry_is_stored_once(settings):
    with serve(settings) as live:
        svc = live.services
        assert post_report(live.base, 1, "db-drill-0001")[0] == 201
        hub = svc.hub
        assert settled(lambda: len(hub.state.incidents) == 1, 10)
        shown = dict(hub.state.incidents)

        db = Path(settings.db_url.split("///", 1)[1])
        svc.store.engine.dispose()
        os.rename(db, db.with_suffix(".away"))
        os.mkdir(db)  # the database cannot be opened: "unable to open database file"
        try:
            status, body, headers = post_report(live.base, 2, "db-drill-0002")
            assert status == 503, body
            assert int(headers.get("Retry-After") or headers.get("retry-after")) >= 1
            # The screens keep the last state they had, marked stale.
            assert settled(lambda: not hub.state.db_ok, 15), "the database loss went unseen"
            assert status_line(hub.state, "zh") == {"text": "数据可能过期", "tone": "warn",
                                                    "seq": hub.state.seq}
            assert dict(hub.state.incidents) == shown
            # A load balancer or a monitor asking /api/health hears that the database is gone.
            status, health = health_of(live.base)
            assert (status, health["ok"], health["database"]) == (503, False, False), health
        finally:
            os.rmdir(db)
            os.rename(db.with_suffix(".away"), db)
            svc.store.engine.dispose()

        assert settled(lambda: hub.state.db_ok, 15)
        assert status_line(hub.state, "zh")["text"] == "实时"
        assert health_of(live.base)[0] == 200
        status, body, _ = post_report(live.base, 2, "db-drill-0002")
        again, body2, _ = post_report(live.base, 2, "db-drill-0002")
        assert (status, again) == (201, 201) and body["id"] == body2["id"]
        counts = titles_in_db(svc)
        assert counts["故障演练-001"] == 1 and counts["故障演练-002"] == 1


def test_a_server_restarted_under_traffic_stores_every_retried_report_once(settings):
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store

    base = f"http://127.0.0.1:{settings.port}"
    acked: dict[int, dict[str, Any]] = {}
    server = serve_process(settings)

    def traffic() -> None:
        for i in range(40):
            for _attempt in range(300):
                status, body, _ = post_report(base, i, f"restart-drill-{i:04d}")
                if status in (200, 201):
                    acked[i] = body
                    break
                time.sleep(0.1)
            time.sleep(0.05)

    sender = threading.Thread(target=traffic)
    try:
        sender.start()
        assert settled(lambda: len(acked) >= 8, 20)
        stop_process(server)  # SIGTERM while requests are in flight
        server = serve_process(settings)
        sender.join(timeout=120)
    finally:
        stop_process(server)
    assert sorted(acked) == list(range(40))
    store = Store(make_engine(settings.db_url))
    counts = titles_in_db(type("S", (), {"store": store})())
    store.engine.dispose()
    assert {t: c for t, c in counts.items() if t.startswith("故障演练-")} == \
        {f"故障演练-{i:03d}": 1 for i in range(40)}
    assert len({b["id"] for b in acked.values()}) == 40


def test_a_frozen_redis_stalls_no_request(settings, tmp_path):
    """Redis stopped with SIGSTOP (it holds its connections and never answers) while a
    source reports and somebody signs in: /api/health still answers within a second
    throughout, and the report and the sign-in get an answer, not a hang."""
    redis_server = EmbeddedRedis(tmp_path / "frozen-redis").start()
    settings = settings.with_(redis_url=redis_server.url)
    assert redis_server.process is not None
    try:
        with serve(settings) as live:
            assert post_report(live.base, 1, "freeze-0001")[0] == 201
            os.kill(redis_server.process.pid, signal.SIGSTOP)
            try:
                answers: dict[str, int] = {}

                def report() -> None:
                    answers["report"] = post_report(live.base, 2, "freeze-0002")[0]

                def sign_in() -> None:
                    jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
                    with jar.open(f"{live.base}/login", timeout=10) as resp:
                        page = resp.read().decode()
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
                    assert csrf, "the sign-in form has no CSRF token"
                    body = urllib.parse.urlencode({"name": "nobody", "csrf": csrf.group(1),
                                                   "password": "wrong-password"}).encode()
                    try:
                        with jar.open(f"{live.base}/login", data=body, timeout=10) as resp:
                            answers["login"] = resp.status
                    except urllib.error.HTTPError as err:
                        answers["login"] = err.code

                senders = [threading.Thread(target=f) for f in (report, sign_in)]
                for t in senders:
                    t.start()
                slowest = 0.0
                for _ in range(12):
                    started = time.monotonic()
                    status, _ = health_of(live.base, timeout=5)
                    slowest = max(slowest, time.monotonic() - started)
                    assert status in (200, 503)
                    time.sleep(0.25)
                for t in senders:
                    t.join(timeout=15)
                print(f"\nslowest /api/health with Redis frozen: {slowest * 1000:.0f} ms; "
                      f"answers {answers}")
                assert slowest < 1.0, f"/api/health took {slowest:.1f} s with Redis frozen"
                # The report is stored (Redis announces it later); the wrong password is
                # refused as such, not held, not a 500.
                assert answers == {"report": 201, "login": 401}, answers
            finally:
                os.kill(redis_server.process.pid, signal.SIGCONT)
    finally:
        redis_server.stop()


def test_a_killed_embedded_redis_comes_back_and_the_screens_resync(settings):
    """With no REDIS_URL the server owns its redis-server. `kill -9` it: it is started
    again within seconds, the live state reconnects and resyncs, and a report sent after
    is on the screens; nothing sent before is lost or doubled."""
    settings = settings.with_(redis_url="")
    with serve(settings) as live:
        embedded, hub = live.services.embedded, live.services.hub
        assert embedded is not None and embedded.process is not None
        assert post_report(live.base, 1, "kill-0001")[0] == 201
        assert settled(lambda: len(hub.state.incidents) == 1, 10)
        first = embedded.process.pid
        os.kill(first, signal.SIGKILL)
        started = time.monotonic()
        back = settled(lambda: embedded.process is not None and embedded.process.pid != first
                       and hub.state.connected and health_of(live.base)[0] == 200, 15)
        print(f"\nembedded Redis killed -> restarted and hub connected in "
              f"{time.monotonic() - started:.1f} s")
        assert back, "the embedded Redis was not restarted (health stays 503, walls freeze)"
        assert post_report(live.base, 2, "kill-0002")[0] == 201
        assert settled(lambda: len(hub.state.incidents) == 2, 10), "the screens did not resync"
        counts = titles_in_db(live.services)
        assert counts == {"故障演练-001": 1, "故障演练-002": 1}
