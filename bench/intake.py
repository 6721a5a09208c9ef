"""Intake throughput: reports/s through validation, grid lookup, dedup, commit and publish.

    .venv/bin/python bench/intake.py [--mode concurrent|sequential] [--reports 3000]
        [--rate 1200] [--submitters 64] [--repeat 0.02] [--batch N] [--linger-ms N]
        [--database-url URL] [--redis-url URL] [--processes N]

Runs the real Intake (Intake.handle_raw, as the ingest channel's worker calls it) against a
real Redis (embedded unless --redis-url) and a real database (a scratch SQLite file unless
--database-url; for PostgreSQL a scratch database is created and dropped).

sequential: one thread hands the reports over one after another, as fast as it can.
concurrent: `--submitters` threads offer the reports at `--rate` per second (report i is
due at i/rate; a submitter takes the next due report, waits for its time, hands it over),
and `--repeat` of them are delivered twice at once (the same msg_id, as a redelivery).
A report's latency runs from when it was due (or handed over, sequential) to its answer,
so a falling-behind intake shows in the latency, not in a lower offered rate.
`--processes N`: N intake processes (spawned, each with its own services and `--submitters`
threads) share the offered rate and the database and Redis, as the N workers of
`zhongnao serve --workers N` each take the reports their own door receives.

Afterwards the reports stored are counted in the database: every accepted report must be
stored exactly once (one incident_reports row per title), repeats included.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import box_cpu_s, scratch_database, town_points  # noqa: E402

from dashboard.incidents.lifecycle import CATEGORIES  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasources.flows.intake import Outcome  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402
from datasources.services import Services, freeze_startup_heap  # noqa: E402
from datasources.sql import models as m  # noqa: E402
from datasources.sql.engine import make_engine  # noqa: E402
from datasources.sql.town_loader import prepare_database  # noqa: E402

TITLE = "基准上报"


def _raws(n: int) -> list[str]:
    rng = random.Random(11)
    return [json.dumps({
        "type": "incident.report", "source": "grid_worker", "msg_id": f"bench-{i:07d}",
        "category": rng.choice(CATEGORIES).code, "title": f"{TITLE} {i}",
        "description": "压力测试", "lon": lon, "lat": lat}, ensure_ascii=False)
        for i, (lon, lat) in enumerate(town_points(n))]


def _pct(took: list[float], q: float) -> float:
    return took[max(0, int(q * len(took)) - 1)]


def _sequential(svc: Services, raws: list[str]) -> tuple[list[float], list[Outcome], float]:
    took, outcomes = [], []
    started = time.perf_counter()
    for raw in raws:
        t0 = time.perf_counter()
        outcomes.append(svc.intake.handle_raw(raw))  # type: ignore[union-attr]
        took.append((time.perf_counter() - t0) * 1000)
    return took, outcomes, time.perf_counter() - started


def _concurrent(svc: Services, raws: list[str], rate: float, submitters: int,
                repeat: float) -> tuple[list[float], list[Outcome], float]:
    """Offer `raws` at `rate`/s from `submitters` threads; a `repeat` share twice at once."""
    rng = random.Random(5)
    sends = [(i, raw) for i, raw in enumerate(raws)]
    twice = [(i, raw) for i, raw in sends if rng.random() < repeat]
    for i, raw in twice:  # the redelivery is due with its first delivery
        sends.insert(sends.index((i, raw)) + 1, (i, raw))
    took: list[float] = [0.0] * len(sends)
    outcomes: list[Outcome | None] = [None] * len(sends)
    nxt, lock = iter(range(len(sends))), threading.Lock()
    start = time.perf_counter() + 0.2

    def submitter() -> None:
        while True:
            with lock:
                k = next(nxt, None)
            if k is None:
                return
            due = start + sends[k][0] / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            outcomes[k] = svc.intake.handle_raw(sends[k][1])  # type: ignore[union-attr]
            took[k] = (time.perf_counter() - due) * 1000

    threads = [threading.Thread(target=submitter) for _ in range(submitters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return took, [o for o in outcomes if o is not None], time.perf_counter() - start


def offer(args: argparse.Namespace, database_url: str, redis_url: str, data: Path,
          prefix: str, raws: list[str], rate: float, ready: Any = None) -> dict[str, Any]:
    """One intake process: its own Services (intake, group commit, Redis claims) taking
    `raws` at `rate`/s, after `ready` (a barrier shared with the other processes) when given.
    Returns its latencies and counts (plain values: it may run in a child process)."""
    env = {"ZN_INTAKE_BATCH": str(args.batch), "ZN_INTAKE_LINGER_MS": str(args.linger_ms)}
    settings = Settings.from_env(environ=env, data_dir=str(data), database_url=database_url,
                                 redis_url=redis_url, redis_prefix=prefix)
    svc = Services(settings).open()
    freeze_startup_heap()  # as `zhongnao serve` does once its services are open
    assert svc.intake is not None and svc.store is not None
    try:
        if ready is not None:
            ready.wait()
        cpu = time.process_time()
        box0 = box_cpu_s()  # the machine's, from here: opening the services is not counted
        if args.mode == "sequential":
            took, outcomes, wall = _sequential(svc, raws)
        else:
            took, outcomes, wall = _concurrent(svc, raws, rate, args.submitters, args.repeat)
        cpu = time.process_time() - cpu
        box1 = box_cpu_s()
        firsts = [o for o in outcomes if not o.skipped]
        repeats = [o for o in outcomes if o.skipped]
        return {
            "took": took, "seconds": wall, "cpu_s": cpu, "sent": len(outcomes),
            "box0": box0, "box1": box1,
            "created": sum(o.event is not None and not o.merged for o in firsts),
            "merged": sum(o.merged for o in firsts),
            "rejected": sum(bool(o.rejected) for o in firsts),
            "repeats": len(repeats), "repeats_same": sum(o.event is not None for o in repeats),
            "accepted": sum(o.event is not None for o in firsts),
            "batches": svc.intake.commits.batches, "batched": svc.intake.commits.items,
        }
    finally:
        svc.close()


def _child(args: argparse.Namespace, database_url: str, redis_url: str, data: Path,
           prefix: str, raws: list[str], rate: float, ready: Any, out: Any) -> None:
    out.put(offer(args, database_url, redis_url, data, prefix, raws, rate, ready))


def run(args: argparse.Namespace, database_url: str, redis_url: str, data: Path
        ) -> dict[str, float]:
    """Push the reports through Intake.handle_raw, in this process or in `--processes`
    processes sharing the database and Redis (as `zhongnao serve --workers N` does: each
    worker takes the reports its own door receives); return the figures."""
    raws = _raws(args.reports)
    prefix = f"b{uuid.uuid4().hex[:6]}"
    if args.processes == 1:
        parts = [offer(args, database_url, redis_url, data, prefix, raws, args.rate)]
    else:
        engine = make_engine(database_url)  # migrated and loaded once, not by N at once
        try:
            prepare_database(engine, Settings().town_dir)
        finally:
            engine.dispose()
        ctx = multiprocessing.get_context("spawn")
        ready, out = ctx.Barrier(args.processes + 1), ctx.Queue()
        kids = [ctx.Process(target=_child, args=(
            args, database_url, redis_url, data, prefix, raws[k::args.processes],
            args.rate / args.processes, ready, out)) for k in range(args.processes)]
        for kid in kids:
            kid.start()
        ready.wait(timeout=120)  # every process has opened its services: the clock starts
        parts = [out.get(timeout=600) for _ in kids]
        for kid in kids:
            kid.join()
    # The machine's CPU from the first process's start to the last one's end.
    box0 = min((part["box0"] for part in parts), key=sum)
    box1 = max((part["box1"] for part in parts), key=sum)
    box_busy, box_idle = box1[0] - box0[0], box1[1] - box0[1]
    took = sorted(t for part in parts for t in part["took"])
    wall = max(part["seconds"] for part in parts)
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            per_title = dict(c.execute(
                select(m.IncidentReport.title, func.count()).where(
                    m.IncidentReport.title.like(f"{TITLE} %"))
                .group_by(m.IncidentReport.title)).all())
    finally:
        engine.dispose()

    def total(key: str) -> int:
        return sum(part[key] for part in parts)

    return {
        "mode": args.mode, "sent": total("sent"), "reports": len(raws),
        "offered_per_s": args.rate if args.mode != "sequential" else 0.0,
        "seconds": wall, "per_s": len(raws) / wall,
        "p50_ms": _pct(took, 0.50), "p95_ms": _pct(took, 0.95), "p99_ms": _pct(took, 0.99),
        "created": total("created"), "merged": total("merged"), "rejected": total("rejected"),
        "repeats": total("repeats"), "repeats_same": total("repeats_same"),
        "accepted": total("accepted"), "stored": len(per_title),
        "stored_twice": sum(n > 1 for n in per_title.values()),
        "cpu_ms": sum(part["cpu_s"] for part in parts) * 1000 / len(raws),
        # the machine's: these processes, the database and Redis (and anything else running)
        "box_cpu_ms": box_busy * 1000 / len(raws),
        "box_busy": box_busy / max(box_busy + box_idle, 1e-9),
        "batches": total("batches"), "batched": total("batched"),
    }


def main() -> None:
    """Parse arguments, run on the chosen database, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("concurrent", "sequential"), default="concurrent")
    ap.add_argument("--reports", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=1200, help="offered reports/s (concurrent)")
    ap.add_argument("--submitters", type=int, default=64, help="threads (concurrent)")
    ap.add_argument("--repeat", type=float, default=0.02,
                    help="share of reports delivered twice at once (concurrent)")
    ap.add_argument("--batch", type=int, default=Settings.intake_batch,
                    help="ZN_INTAKE_BATCH (1: each report its own transaction)")
    ap.add_argument("--linger-ms", type=int, default=Settings.intake_linger_ms,
                    help="ZN_INTAKE_LINGER_MS")
    ap.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--redis-url", default="", help="Redis URL (default: embedded)")
    ap.add_argument("--processes", type=int, default=1,
                    help="intake processes sharing the offered rate (as serve --workers N)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        embedded = None if args.redis_url else EmbeddedRedis(data / "redis").start()
        redis_url = args.redis_url or embedded.url  # type: ignore[union-attr]
        try:
            with scratch_database(args.database_url, data) as url:
                r = run(args, url, redis_url, data)
        finally:
            if embedded is not None:
                embedded.stop()
    db = "PostgreSQL" if args.database_url else "SQLite"
    offered = (f"offered {r['offered_per_s']:.0f}/s by {args.submitters} threads a process, "
               if args.mode == "concurrent" else "one thread a process, ")
    procs = f"{args.processes} processes, " if args.processes > 1 else ""
    print(f"intake on {db}, {procs}{r['mode']}, batch {args.batch}, "
          f"linger {args.linger_ms} ms: "
          f"{r['reports']} reports, {offered}achieved {r['per_s']:.0f} reports/s "
          f"({r['seconds']:.1f} s); per report p50 {r['p50_ms']:.1f} ms, "
          f"p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
          f"{r['cpu_ms']:.2f} CPU-ms per report (the intake processes), "
          f"{r['box_cpu_ms']:.2f} for "
          f"the whole machine (database and Redis included; its cores "
          f"{r['box_busy'] * 100:.0f} % busy)")
    print(f"  {r['created']} work orders, {r['merged']} merged, {r['rejected']} rejected; "
          f"{r['repeats']} repeated deliveries ({r['repeats_same']} answered with the first's "
          f"event); {r['batches']} batches (mean {r['batched'] / max(1, r['batches']):.1f})")
    ok = r["stored"] == r["accepted"] and r["stored_twice"] == 0
    print(f"  stored exactly once: {'yes' if ok else 'NO'} ({r['accepted']} accepted, "
          f"{r['stored']} stored, {r['stored_twice']} stored twice)")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
