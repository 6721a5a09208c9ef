"""Redis that fails over: kill -9 of the Redis primary under report traffic, N rounds.

    .venv/bin/python bench/failover.py [--rounds 3] [--rate 20]

A primary, a replica and three sentinels on loopback (Debian's redis-server and
redis-sentinel, tests/sentinel.py), `zhongnao serve --workers 2` on them
(REDIS_SENTINELS / REDIS_MASTER) behind nginx (tests/cluster.py), one scratch SQLite file.
A client thread POSTs reports through nginx at --rate per second, each retried under its
Idempotency-Key until taken. Each round kills the primary the sentinels name, and prints:
the time until a replica is promoted, until the first report sent after the kill is
accepted, until both workers' hubs are subscribed on the new primary with the gap filled
from the SQL log (what their walls show); then the killed server comes back as a replica
for the next round. At the end: reports accepted vs stored, lost, doubled.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from sqlalchemy import func, select  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from datasources.sql import models as m  # noqa: E402
from datasources.sql.engine import make_engine  # noqa: E402
from tests.cluster import cluster, health, nginx_binary, post  # noqa: E402
from tests.sentinel import SKIP_REASON, binaries, sentinel_set  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=20.0, help="reports offered per second")
    args = ap.parse_args()
    if binaries() is None or nginx_binary() is None:
        print(f"skipped: {SKIP_REASON}; nginx: tools/ensure_nginx.sh")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="zn-failover-"))
    settings = Settings.from_env({}, data_dir=str(tmp / "cluster" / "data"),
                                 redis_prefix="fo", dedup_meters=0)
    accepted: list[tuple[int, float, float]] = []  # (n, sent at, accepted at)
    stop = threading.Event()
    with sentinel_set(tmp / "redis") as rs, \
            cluster(settings, tmp / "cluster", start_s=180, **rs.env()) as c:

        def traffic() -> None:
            n = 0
            while not stop.is_set():
                sent = time.monotonic()
                while not stop.is_set():
                    status, _, _ = post(c.base, n, f"failover-{n}")
                    if status in (200, 201):
                        accepted.append((n, sent, time.monotonic()))
                        break
                    time.sleep(0.05)
                n += 1
                time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - sent)))

        worker = threading.Thread(target=traffic, daemon=True)
        worker.start()
        time.sleep(3)
        print(f"{'round':>5} {'promoted s':>10} {'1st report s':>12} {'hubs live s':>11} "
              f"{'catch-up rows':>13}")
        for r in range(1, args.rounds + 1):
            caught = [health(c.worker(i)) or {} for i in range(2)]
            old, killed = rs.kill_primary()
            new = rs.wait_promoted(old)
            promoted = time.monotonic() - killed
            live: dict[int, float] = {}
            rows = 0
            deadline = time.monotonic() + 60
            while len(live) < 2 and time.monotonic() < deadline:
                for i in range(2):
                    h = health(c.worker(i))
                    if i not in live and h and h["ok"] and \
                            h["redis"]["primary"] == f"127.0.0.1:{new}" and \
                            h["gap"]["catch_ups"] > caught[i].get("gap", {}).get("catch_ups", 0):
                        live[i] = time.monotonic() - killed
                        rows += h["gap"]["caught_up"] - caught[i]["gap"]["caught_up"]
                time.sleep(0.02)
            first = next((at - killed for _, sent, at in accepted if sent >= killed), None)
            while first is None and time.monotonic() < deadline:
                time.sleep(0.02)
                first = next((at - killed for _, sent, at in accepted if sent >= killed), None)
            print(f"{r:>5} {promoted:>10.2f} "
                  f"{first if first is not None else float('nan'):>12.2f} "
                  f"{max(live.values()) if len(live) == 2 else float('nan'):>11.2f} "
                  f"{rows:>13}", flush=True)
            rs.restart_as_replica(old)
            time.sleep(2)
        stop.set()
        worker.join(timeout=30)
        engine = make_engine(settings.db_url)
        with engine.connect() as conn:
            stored = dict(conn.execute(select(m.Incident.title, func.count())
                                       .where(m.Incident.title.like("故障演练-%"))
                                       .group_by(m.Incident.title)).all())
        engine.dispose()
    taken = {f"故障演练-{n:03d}" for n, _, _ in accepted}
    lost = len(taken - set(stored))
    doubled = sum(1 for v in stored.values() if v > 1)
    print(f"reports accepted {len(taken)}, stored {len(stored)}, lost {lost}, "
          f"doubled {doubled} (load average {os.getloadavg()[0]:.1f})")
    return 0 if lost == 0 and doubled == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
