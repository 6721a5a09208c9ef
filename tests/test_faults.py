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
from datasources.flows import hub as hub_module
from datasources.redis.embedded import EmbeddedRedis
from datasources.sql import models as m
from tests.auth_helpers import bus_board, kiosk_sign_in, leader_view, live_client, sign_in
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


class Database:
    """The database of one fault test, and how to take it away: a SQLite file that can no
    longer be opened, or a PostgreSQL server of the test's own (`private_pg`: the machine's
    shared server, DATABASE_URL's, is never touched) shut down or killed with SIGKILL."""

    def __init__(self, kind: str, url: str, pg: Any = None):
        self.kind, self.url, self.pg = kind, url, pg

    def take_away(self, services: Any) -> None:
        """The database is gone: new connections fail, open ones are cut."""
        if self.pg is not None:
            self.pg.kill() if self.kind == "postgres-killed" else self.pg.stop()
            return
        db = Path(self.url.split("///", 1)[1])
        services.store.engine.dispose()
        os.rename(db, db.with_suffix(".away"))
        os.mkdir(db)  # the database cannot be opened: "unable to open database file"

    def bring_back(self, services: Any) -> None:
        """The database is back, with everything it held."""
        if self.pg is not None:
            self.pg.start()
            return
        db = Path(self.url.split("///", 1)[1])
        os.rmdir(db)
        os.rename(db.with_suffix(".away"), db)
        services.store.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres", "postgres-killed"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """Each database fault on both databases, whatever DATABASE_URL says."""
    if request.param == "sqlite":
        return Database("sqlite", f"sqlite:///{tmp_path / 'faults.db'}")
    pg = request.getfixturevalue("private_pg")
    return Database(request.param, pg.url, pg)


class Source(threading.Thread):
    """A source sending reports n° 0..n-1, one after the other, each retried with its
    Idempotency-Key until it is acknowledged (as the ingest contract asks). Every answer
    is kept: (status, seconds it took, Retry-After)."""

    def __init__(self, base: str, n: int, key: str, tries: int = 300):
        super().__init__(name=f"source-{key}")
        self.base, self.n, self.key, self.tries = base, n, key, tries
        self.acked: dict[int, dict[str, Any]] = {}
        self.answers: list[tuple[int, float, str | None]] = []

    def run(self) -> None:
        for i in range(self.n):
            for _attempt in range(self.tries):
                started = time.monotonic()
                status, body, headers = post_report(self.base, i, f"{self.key}-{i:04d}")
                retry = headers.get("Retry-After") or headers.get("retry-after")
                self.answers.append((status, time.monotonic() - started, retry))
                if status in (200, 201):
                    self.acked[i] = body
                    break
                time.sleep(0.1)
            time.sleep(0.05)

    def refused(self) -> list[tuple[int, float, str | None]]:
        """The answers that were not an acknowledgement."""
        return [a for a in self.answers if a[0] not in (200, 201)]


def test_database_gone_under_traffic_answers_503_with_retry_after_and_stores_each_once(
        settings, database, monkeypatch):
    """The database goes away while a source reports: every request is answered at once
    (503 with Retry-After, never a 500 or a hang), /api/health says 503, the screens keep
    their last state marked stale; once it is back every report, retried with its key, is
    stored exactly once and is on the screens."""
    # The live state probes the database every 5 s; every 1 s here, so the outage and the
    # recovery are seen sooner and the test is short. What is asserted does not change.
    monkeypatch.setattr(hub_module, "DB_PING_S", 1.0)
    settings = settings.with_(database_url=database.url)
    with serve(settings) as live:
        svc, hub = live.services, live.services.hub
        source = Source(live.base, 30, f"db-{database.kind}")
        source.start()
        try:
            assert settled(lambda: len(source.acked) >= 5, 20), "no report got through"
            before = {b["id"] for b in source.acked.values()}
            gone = time.monotonic()
            database.take_away(svc)
            try:
                seen = settled(lambda: not hub.state.db_ok, 15)
                noticed = time.monotonic() - gone
                stale = status_line(hub.state, "zh")
                kept = set(hub.state.incidents)
                health = health_of(live.base)
                refused_during = settled(lambda: any(a[0] == 503 for a in source.answers), 5)
            finally:
                back = time.monotonic()
                database.bring_back(svc)
            recovered = settled(lambda: hub.state.db_ok and health_of(live.base)[0] == 200, 15)
            recovery = time.monotonic() - back
            source.join(timeout=60)
            assert not source.is_alive(), "the source was still retrying after a minute"
        finally:
            source.join(timeout=60)
        slowest = max(a[1] for a in source.answers)
        print(f"\n[{database.kind}] database taken away -> seen by the live state in "
              f"{noticed:.1f} s; brought back -> /api/health 200 in {recovery:.1f} s; "
              f"{len(source.refused())} refusals, slowest answer {slowest * 1000:.0f} ms")

        assert seen, "the database loss went unseen"
        assert stale == {"text": "数据可能过期", "tone": "warn", "seq": stale["seq"]}
        assert before <= kept, "the screens dropped what they showed"
        # A load balancer or a monitor asking /api/health hears that the database is gone.
        assert (health[0], health[1]["ok"], health[1]["database"]) == (503, False, False), \
            health
        assert refused_during, "no report was refused while the database was gone"
        assert {a[0] for a in source.answers} <= {200, 201, 503}, source.refused()
        assert all(int(a[2] or 0) >= 1 for a in source.refused()), \
            f"a 503 without Retry-After: {source.refused()}"
        assert slowest < 3.0, f"an answer took {slowest:.1f} s with the database gone"
        assert recovered, "/api/health did not recover"
        assert status_line(hub.state, "zh")["text"] == "实时"

        assert sorted(source.acked) == list(range(30)), "a report was never acknowledged"
        ids = {b["id"] for b in source.acked.values()}
        assert len(ids) == 30
        counts = titles_in_db(svc)
        assert counts == {f"故障演练-{i:03d}": 1 for i in range(30)}, counts
        # A retry after the fact is answered with the stored report, not a second one.
        status, again, _ = post_report(live.base, 7, f"db-{database.kind}-0007")
        assert (status, again["id"]) == (201, source.acked[7]["id"])
        assert titles_in_db(svc)["故障演练-007"] == 1
        assert settled(lambda: ids <= set(hub.state.incidents), 10), \
            f"missing on screens: {sorted(ids - set(hub.state.incidents))}"


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
def test_a_server_restarted_under_traffic_stores_every_retried_report_once(settings,
                                                                            database):
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store

    settings = settings.with_(database_url=database.url)
    server = serve_process(settings)
    source = Source(f"http://127.0.0.1:{settings.port}", 40, "restart-drill")
    try:
        source.start()
        assert settled(lambda: len(source.acked) >= 8, 20)
        down = time.monotonic()
        stop_process(server)  # SIGTERM while requests are in flight
        stopped = time.monotonic()
        server = serve_process(settings)
        print(f"\n[{database.kind}] server stopped in {stopped - down:.1f} s, "
              f"serving again {time.monotonic() - stopped:.1f} s later")
        source.join(timeout=120)
    finally:
        stop_process(server)
    assert sorted(source.acked) == list(range(40))
    store = Store(make_engine(settings.db_url))
    counts = titles_in_db(type("S", (), {"store": store})())
    store.engine.dispose()
    assert {t: c for t, c in counts.items() if t.startswith("故障演练-")} == \
        {f"故障演练-{i:03d}": 1 for i in range(40)}
    assert len({b["id"] for b in source.acked.values()}) == 40


def test_a_frozen_redis_stalls_no_request(settings, tmp_path):
    """Redis stopped with SIGSTOP (it holds its connections and never answers) while six
    sources report at once, somebody signs in and two walls refresh: /api/health (asked
    four times a second) and the walls' Dash callbacks (a kiosk's bus board on its 1 s
    interval, a leader's figures on their tick, every second) answer within a second
    throughout, until the last report is answered; the reports and the sign-in get an
    answer, not a hang."""
    redis_server = EmbeddedRedis(tmp_path / "frozen-redis").start()
    settings = settings.with_(redis_url=redis_server.url)
    assert redis_server.process is not None
    with serve(settings) as live, live_client(live) as kiosk, live_client(live) as leader:
        kiosk_sign_in(kiosk, live.services)
        sign_in(leader, live.services, "领导刘", "leader")
        walls = {"/api/health": lambda n: health_of(live.base, timeout=5)[0],
                 "kiosk bus board": lambda n: bus_board(kiosk, n).status_code,
                 "leader figures": lambda n: leader_view(leader, n).status_code}
        # A monitor may ask often; the bus board's interval is 1 s; a leader's tablet is
        # refreshed at most every 10 s, asked every second here.
        every = {"/api/health": 0.25, "kiosk bus board": 1.0, "leader figures": 1.0}
        for name, ask in walls.items():  # each answers before the freeze
            assert ask(0) == 200, name
        assert post_report(live.base, 1, "freeze-0001")[0] == 201
        slowest = dict.fromkeys(walls, 0.0)
        statuses: dict[str, set[int]] = {name: set() for name in walls}
        answers: dict[str, tuple[int, float]] = {}
        done = threading.Event()

        def refresh(name: str, ask: Any) -> None:
            n, first = 0, time.monotonic()
            while not done.is_set() or time.monotonic() - first < 3:
                n += 1
                started = time.monotonic()
                statuses[name].add(ask(n))
                slowest[name] = max(slowest[name], time.monotonic() - started)
                time.sleep(max(0.0, started + every[name] - time.monotonic()))

        def report(i: int) -> None:
            started = time.monotonic()
            status = post_report(live.base, i, f"freeze-{i:04d}")[0]
            answers[f"report {i}"] = (status, time.monotonic() - started)

        def login() -> None:
            started = time.monotonic()
            jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            try:
                with jar.open(f"{live.base}/login", timeout=10) as resp:
                    page = resp.read().decode()
                csrf = re.search(r'name="csrf" value="([^"]+)"', page)
                body = urllib.parse.urlencode({"name": "nobody", "password": "wrong-password",
                                               "csrf": csrf.group(1) if csrf else ""}).encode()
                with jar.open(f"{live.base}/login", data=body, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError:  # no answer in 10 s
                status = 0
            answers["login"] = (status, time.monotonic() - started)

        os.kill(redis_server.process.pid, signal.SIGSTOP)
        try:
            screens = [threading.Thread(target=refresh, args=item) for item in walls.items()]
            callers = [threading.Thread(target=report, args=(i,)) for i in range(2, 8)]
            callers.append(threading.Thread(target=login))
            for t in screens + callers:
                t.start()
            for t in callers:
                t.join(timeout=20)
            done.set()
            for t in screens:
                t.join(timeout=20)
        finally:
            os.kill(redis_server.process.pid, signal.SIGCONT)
            redis_server.stop()
        print("\nslowest answers with Redis frozen: " + ", ".join(
            f"{name} {s * 1000:.0f} ms" for name, s in slowest.items()) + "; " + ", ".join(
            f"{name} {status} in {s:.1f} s" for name, (status, s) in sorted(answers.items())))
        for name, took in slowest.items():
            assert took < 1.0, f"{name} took {took:.1f} s with Redis frozen"
        assert statuses["/api/health"] and statuses["/api/health"] <= {200, 503}, statuses
        assert statuses["kiosk bus board"] == statuses["leader figures"] == {200}, statuses
        # The reports are stored (Redis announces them later); the wrong password is
        # refused as such, not held, not a 500.
        assert {name: status for name, (status, _) in answers.items()} == {
            **{f"report {i}": 201 for i in range(2, 8)}, "login": 401}, answers


def test_a_killed_embedded_redis_comes_back_and_the_screens_resync(settings):
    """With no REDIS_URL the server owns its redis-server. `kill -9` it while a source
    reports: within 10 s it is started again, the live state reconnects and the screens
    hold every report acknowledged until then; in the end every report is stored once and
    on the screens, nothing lost or doubled."""
    settings = settings.with_(redis_url="")
    with serve(settings) as live:
        embedded, hub = live.services.embedded, live.services.hub
        assert embedded is not None and embedded.process is not None
        source = Source(live.base, 20, "kill")
        source.start()
        try:
            assert settled(lambda: len(source.acked) >= 3, 20), "no report got through"
            first = embedded.process.pid
            os.kill(first, signal.SIGKILL)
            killed = time.monotonic()
            back = settled(lambda: embedded.process is not None
                           and embedded.process.pid != first and hub.state.connected
                           and health_of(live.base)[0] == 200, 10)
            restarted = time.monotonic() - killed
            acked = {b["id"] for b in source.acked.values()}
            resynced = settled(lambda: acked <= set(hub.state.incidents),
                               max(0.0, killed + 10 - time.monotonic()))
            resync = time.monotonic() - killed
            source.join(timeout=60)
        finally:
            source.join(timeout=60)
        print(f"\nembedded Redis killed -> restarted, hub connected, /api/health 200 in "
              f"{restarted:.1f} s; screens hold the {len(acked)} reports acknowledged by "
              f"then {resync:.1f} s after the kill; {len(source.refused())} refusals")
        assert back, "the embedded Redis was not back within 10 s (health 503, walls frozen)"
        assert resynced, \
            f"not on the screens 10 s after the kill: {acked - set(hub.state.incidents)}"
        assert sorted(source.acked) == list(range(20)), "a report was never acknowledged"
        ids = {b["id"] for b in source.acked.values()}
        assert len(ids) == 20
        assert titles_in_db(live.services) == {f"故障演练-{i:03d}": 1 for i in range(20)}
        assert settled(lambda: ids <= set(hub.state.incidents), 10), \
            f"missing on screens: {sorted(ids - set(hub.state.incidents))}"
