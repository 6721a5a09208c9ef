"""The HTTP report door: reports/s and latency of POST /api/v1/incidents on a served zhongnao.

    .venv/bin/python bench/door.py [--reports 2000] [--rate 200] [--clients 32]
        [--source citizen|hotline|grid_worker] [--repeat 0.02]

Starts Redis (REDIS_URL or an embedded one) and `zhongnao serve` (DATABASE_URL or a scratch
SQLite file), issues an ingest key for `--source`, then `--clients` threads, each with its own
keep-alive HTTP connection, offer the reports at `--rate` per second (report i is due at
i/rate) with an Idempotency-Key each; `--repeat` of them are sent again under the same key
right after their answer, as a source that did not hear it would. A report's latency runs from
when it was due to its answer, so a door that falls behind shows in the latency.

The per-key limit (ZN_INGEST_RATE, 600 a minute) is turned off for the run: this measures
the door, not the limit. Prints the answers by status, achieved reports/s, p50/p95/p99/max,
the server's CPU per report and % of one core, and checks in the database that every
acknowledged report is stored exactly once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import fanout  # noqa: E402
from _common import summary, town_points, tree_cpu_s, tree_delta, tree_pids  # noqa: E402
from latency import Bench, free_port  # noqa: E402

TITLE = "门户基准"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=200.0, help="offered reports/s")
    ap.add_argument("--clients", type=int, default=32, help="threads, one connection each")
    ap.add_argument("--source", default="citizen",
                    choices=("citizen", "hotline", "grid_worker", "video_ai"))
    ap.add_argument("--repeat", type=float, default=0.02,
                    help="share of reports sent twice under their Idempotency-Key")
    ap.add_argument("--workers", type=int, default=1,
                    help="`serve --workers N`: the clients take the N ports in turn, as "
                         "nginx would spread them")
    ap.add_argument("--profile", type=int, default=0, metavar="S",
                    help="py-spy the server for S seconds from the first report; print it")
    return ap.parse_args(argv)


def issue_key(env: dict[str, str], source: str) -> str:
    """An ingest key of `source`, as `zhongnao key add --source S` makes one."""
    from dashboard.settings import Settings
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine

    engine = make_engine(Settings.from_env(environ=env).db_url)
    try:
        return Accounts(engine).add_key("ingest", f"bench door {uuid.uuid4().hex[:6]}", source)
    finally:
        engine.dispose()


def stored_titles(env: dict[str, str]) -> Counter[str]:
    """How many report rows each bench title has."""
    from sqlalchemy import func, select

    from dashboard.settings import Settings
    from datasources.sql import models as m
    from datasources.sql.engine import make_engine

    engine = make_engine(Settings.from_env(environ=env).db_url)
    try:
        with engine.connect() as c:
            return Counter(dict(c.execute(
                select(m.IncidentReport.title, func.count())
                .where(m.IncidentReport.title.like(f"{TITLE} %"))
                .group_by(m.IncidentReport.title)).all()))
    finally:
        engine.dispose()


def offer(bases: list[str], key: str, args: argparse.Namespace) -> dict[str, Any]:
    """Send the reports as `--clients` sources would (client k to server k mod N);
    latencies from each report's due time."""
    run = uuid.uuid4().hex[:6]
    bodies = [json.dumps({"source": args.source, "category": "city_management",
                          "title": f"{TITLE} {i}", "description": "门户压力测试",
                          "lon": lon, "lat": lat}, ensure_ascii=False).encode()
              for i, (lon, lat) in enumerate(town_points(args.reports))]
    twice = set(range(0, args.reports, max(1, round(1 / args.repeat)))) if args.repeat else set()
    took: list[float] = [0.0] * args.reports
    statuses: Counter[int] = Counter()
    again: Counter[str] = Counter()
    nxt, lock = iter(range(args.reports)), threading.Lock()
    start = time.perf_counter() + 0.3

    def post(conn: http.client.HTTPConnection, i: int) -> tuple[int, dict[str, Any]]:
        conn.request("POST", "/api/v1/incidents", body=bodies[i], headers={
            "Content-Type": "application/json", "X-Api-Key": key,
            "Idempotency-Key": f"door-{run}-{i:06d}"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")

    def client(k: int) -> None:
        host, port = bases[k % len(bases)].removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                conn.close()
                return
            due = start + i / args.rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                status, body = post(conn, i)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                status, body = 0, {}
            took[i] = (time.perf_counter() - due) * 1000
            with lock:
                statuses[status] += 1
            if i in twice and status in (200, 201):
                status2, body2 = post(conn, i)
                with lock:
                    again["same" if (status2, body2.get("id")) == (status, body.get("id"))
                          else f"{status2}"] += 1

    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"took": took, "statuses": statuses, "again": again,
            "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.keep_data = False  # Bench.close removes its scratch folder
    bench = Bench(args)
    try:
        redis_url, prefix = bench.start_redis()
        port = free_port()
        env = bench.child_env(redis_url, prefix, port)
        env["ZN_INGEST_RATE"] = "0"  # the door, not the per-key limit
        bases = [f"http://127.0.0.1:{port + i}" for i in range(args.workers)]
        bench.server = bench.spawn("server", [sys.executable, "-m", "cli", "serve",
                                              "--workers", str(args.workers)], env)
        for base in bases:
            bench.wait_healthy(base, timeout=180)
        key = issue_key(env, args.source)
        time.sleep(3.0)  # past the start's own work (the first KPI board, the sweeps)
        pid = bench.server.pid
        spy = None
        if args.profile:  # the server, or one of its workers
            spy = fanout.profile(tree_pids([pid])[1] if args.workers > 1 else pid,
                                 args.profile, "door")
        cpu0 = tree_cpu_s([pid])
        out = offer(bases, key, args)
        cpu = tree_delta(cpu0, tree_cpu_s([pid]))
        stored = stored_titles(env)
        lat = summary(out["took"])
        acked = out["statuses"][200] + out["statuses"][201]
        print(f"door: {args.reports} {args.source} reports offered at {args.rate:g}/s from "
              f"{args.clients} connections to {args.workers} server process(es) "
              f"({sum(out['again'].values())} sent twice)")
        print(f"  answers {dict(sorted(out['statuses'].items()))}; achieved "
              f"{args.reports / out['seconds']:.0f}/s over {out['seconds']:.1f} s")
        print(f"  latency from due: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
              f"p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms")
        print(f"  server CPU {cpu * 1000 / args.reports:.2f} ms a report, "
              f"{cpu / out['seconds'] * 100:.0f} % of one core (every server process)")
        twice = sum(n > 1 for n in stored.values())
        print(f"  stored {len(stored)} of {acked} acknowledged, {twice} twice; the second "
              f"sends {dict(out['again'])}")
        ok = len(stored) == acked and not twice and set(out["again"]) <= {"same"}
        print("  PASS" if ok else "  FAIL: a report lost or doubled")
        if spy is not None:
            spy.wait()
            fanout.print_profile(Path(spy.args[5]), indent="  ")
        return 0 if ok else 1
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
