"""Redis that fails over (issue 17): two workers behind nginx on a Redis primary watched by
three sentinels; the primary is killed -9 under traffic through the HTTP door. Nothing is
lost or doubled, both hubs follow the promoted replica and catch up from the SQL log, the
sweep runs once per period throughout. And no module but datasources/redis/connect.py
builds a Redis client (so every part follows a failover the same way)."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.channels import Channels
from dashboard.settings import Settings, parse_sentinels, redacted, sentinel_url
from datasources.redis import connect
from datasources.sql import models as m
from datasources.sql.engine import make_engine
from tests.browser import ROOT, wait_until
from tests.cluster import cluster, health, nginx_binary, post, stored_titles
from tests.sentinel import SKIP_REASON, binaries, sentinel_set

PERIOD_S = 4.0  # ZN_SWEEP_S in tests/cluster.worker_env

needs_sentinel = pytest.mark.skipif(binaries() is None, reason=SKIP_REASON)
needs_nginx = pytest.mark.skipif(
    nginx_binary() is None,
    reason="nginx is not installed (Debian package nginx; `make test` runs "
           "tools/ensure_nginx.sh): the failover test runs two workers behind it")



def _incidents(settings: Settings) -> int:
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(m.Incident)) or 0)
    finally:
        engine.dispose()


@needs_sentinel
@needs_nginx
def test_killing_the_redis_primary_under_traffic_loses_and_doubles_nothing(
        settings: Settings, tmp_path: Path) -> None:
    with sentinel_set(tmp_path / "redis") as rs, \
            cluster(settings, tmp_path / "cluster", start_s=150, **rs.env()) as c:
        for i in range(2):
            h = health(c.worker(i))
            assert h and h["redis"] == {"sentinel": True, "primary": f"127.0.0.1:{rs.primary()}"}

        sent: list[int] = []
        statuses: list[int] = []
        stop = threading.Event()

        def traffic() -> None:
            i = 100
            while not stop.is_set():
                t0 = time.monotonic()
                while True:  # a client retries under its Idempotency-Key until taken
                    status, body, _ = post(c.base, i, f"sentinel-{i}")
                    statuses.append(status)
                    if status in (200, 201):
                        break
                    assert time.monotonic() - t0 < 20, \
                        f"report {i} not taken for 20 s: {statuses[-3:]} {body}"
                    time.sleep(0.1)
                sent.append(i)
                i += 1
                time.sleep(0.03)

        worker = threading.Thread(target=traffic, daemon=True)
        worker.start()
        wait_until(lambda: len(sent) >= 10, 20, "reports before the kill")
        before = {i: health(c.worker(i)) for i in range(2)}
        old, _ = rs.kill_primary()
        new = rs.wait_promoted(old)
        # Both hubs subscribe on the promoted replica and fill the gap from the SQL log.
        for i in range(2):
            wait_until(lambda i=i: (h := health(c.worker(i))) is not None and h["ok"]
                       and h["redis"]["primary"] == f"127.0.0.1:{new}"
                       and h["gap"]["catch_ups"] > before[i]["gap"]["catch_ups"]
                       and not h["gap"]["open"], 20, f"worker {i}'s hub to follow")
        after = len(sent)
        wait_until(lambda: len(sent) > after + 10, 15, "reports after the failover")
        time.sleep(PERIOD_S)  # a sweep period wholly on the new primary
        stop.set()
        worker.join(timeout=15)
        assert not worker.is_alive()

        # Nothing lost, nothing doubled: every report the door took is stored once.
        titles = stored_titles(settings, "故障演练-")
        assert len(sent) > 25
        assert {f"故障演练-{i:03d}" for i in sent} == set(titles)
        assert set(titles.values()) == {1}
        # Every hub's picture has every work order, those committed during the gap too.
        total = _incidents(settings)
        for i in range(2):
            wait_until(lambda i=i: health(c.worker(i))["incidents"] == total, 10,
                       f"worker {i}'s hub to hold all {total} work orders")
        # The sweep ran exactly once in every period, through the failover.
        client = connect.client(rs.url)
        try:
            runs = {int(k): int(v) for k, v in
                    client.hgetall(Channels(settings.redis_prefix).sweep_runs).items()}
        finally:
            client.close()
        periods = sorted(runs)
        assert len(periods) >= 3, runs
        assert periods == list(range(periods[0], periods[-1] + 1)), runs  # none skipped
        assert set(runs.values()) == {1}, runs  # none run twice
        print(f"\n{len(sent)} reports, {statuses.count(201)} answers 201, "
              f"{len([s for s in statuses if s not in (200, 201)])} retried; "
              f"promoted {old} -> {new}")


def test_the_sentinel_settings_are_checked_with_clear_errors() -> None:
    ok = Settings.from_env({}, redis_sentinels="10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380",
                           redis_master="zhongnao")
    assert ok.redis_target == "sentinel://10.0.0.1:26379,10.0.0.2:26379,[::1]:26380/zhongnao"
    assert parse_sentinels("a:1,b:2") == (("a", 1), ("b", 2))
    assert sentinel_url((("h", 1),), "m") == "sentinel://h:1/m"
    wrong = [
        ({"redis_sentinels": "10.0.0.1:26379"}, "REDIS_SENTINELS needs REDIS_MASTER"),
        ({"redis_master": "zhongnao"}, "REDIS_MASTER needs REDIS_SENTINELS"),
        ({"redis_sentinels": "10.0.0.1", "redis_master": "m"}, "'10.0.0.1' is not host:port"),
        ({"redis_sentinels": "h:0", "redis_master": "m"}, "'h:0' is not host:port"),
        ({"redis_sentinels": "h:1,h:1", "redis_master": "m"}, "listed twice"),
        ({"redis_sentinels": " , ", "redis_master": "m"}, "names no sentinel"),
        ({"redis_sentinels": "h:1", "redis_master": "a b"}, "REDIS_MASTER 'a b'"),
        ({"redis_sentinels": "h:1", "redis_master": "m", "redis_url": "redis://x"},
         "not both"),
        ({"redis_url": "redis://x", "redis_password": "pw"},
         r"put the password in REDIS_URL \(redis://:PASSWORD@host:6379\)"),
        ({"redis_sentinel_password": "pw"}, "go with REDIS_SENTINELS"),
    ]
    for values, words in wrong:
        with pytest.raises(ValueError, match=words):
            Settings.from_env({}, **values)
    # From the environment too, as an operator sets them.
    env = Settings.from_env({"REDIS_SENTINELS": "127.0.0.1:26379", "REDIS_MASTER": "zn"})
    assert connect.is_sentinel(env.redis_target)
    assert not connect.is_sentinel(Settings.from_env({}).redis_target)


@needs_sentinel
def test_passwords_on_the_servers_and_on_the_sentinels_are_used_through_a_failover(
        tmp_path: Path) -> None:
    """A county sets `requirepass` on its Redis and its sentinels: the product signs in to
    both (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD), keeps them out of what it prints, and
    still follows the promoted replica; a wrong password is an authentication error, not a
    hang."""
    import asyncio

    import redis as redis_py

    with sentinel_set(tmp_path / "redis", password="srv pw&1",
                      sentinel_password="snt=pw") as rs:
        settings = Settings.from_env(rs.env())
        url = settings.redis_target
        assert url == rs.url and "srv" not in redacted(url) and "snt" not in redacted(url)
        assert connect.primary(url) == f"127.0.0.1:{rs.server_ports[0]}"
        client = connect.client(url)
        client.set("zn:k", "before")
        assert client.get("zn:k") == b"before"

        async def read() -> bytes | None:
            aclient = connect.async_client(url)
            try:
                return await aclient.get("zn:k")
            finally:
                await aclient.aclose()

        assert asyncio.run(read()) == b"before"
        wrong = Settings.from_env({**rs.env(), "REDIS_PASSWORD": "nope"}).redis_target
        with pytest.raises(redis_py.AuthenticationError):
            connect.client(wrong).ping()
        # Without the sentinels' password no sentinel names a primary.
        assert connect.primary(
            Settings.from_env({**rs.env(), "REDIS_SENTINEL_PASSWORD": ""}).redis_target) \
            is None

        old, _ = rs.kill_primary()
        new = rs.wait_promoted(old)

        def write_after() -> bool:
            try:
                client.set("zn:k2", "after")
                return True
            except redis_py.RedisError:
                return False

        wait_until(write_after, timeout=10)
        assert connect.primary(url) == f"127.0.0.1:{new}"
        assert client.get("zn:k") == b"before" and client.get("zn:k2") == b"after"
        client.close()


# Modules allowed to build a Redis client: the factory. Tests and benches drive Redis as
# an outside party and may build theirs.
FACTORY = "datasources/redis/connect.py"
BUILDERS = {"Redis", "StrictRedis", "from_url", "Sentinel", "ConnectionPool",
            "SentinelConnectionPool", "master_for", "slave_for", "RedisCluster"}


def test_only_the_connection_factory_builds_redis_clients() -> None:
    product = [ROOT / "app.py", ROOT / "cli.py",
               *[p for d in ("dashboard", "datasources", "pages")
                 for p in (ROOT / d).rglob("*.py")]]
    offenders = []
    for path in product:
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel == FACTORY or "redis" not in text:
            continue
        tree = ast.parse(text)
        redis_names = {a.asname or a.name for node in ast.walk(tree)
                       if isinstance(node, ast.ImportFrom)
                       and (node.module or "").startswith("redis") for a in node.names}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in BUILDERS:
                base = ast.unparse(f.value)
                if base.split(".")[0] in {"redis", "aioredis"} or f.attr in {"master_for",
                                                                           "slave_for"}:
                    offenders.append(f"{rel}:{node.lineno} {ast.unparse(f)}")
            elif isinstance(f, ast.Name) and f.id in BUILDERS and f.id in redis_names:
                offenders.append(f"{rel}:{node.lineno} {f.id}")
    assert not offenders, ("build Redis clients with datasources/redis/connect.py, so they "
                           f"follow a Sentinel failover: {offenders}")
