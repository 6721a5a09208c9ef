"""Intake throughput: reports/s through validation, grid lookup, dedup, commit and publish.

    .venv/bin/python bench/intake.py [--reports 2000] [--database-url URL] [--redis-url URL]

Runs the real Intake against a real Redis (embedded unless --redis-url) and a real
database (a scratch SQLite file unless --database-url; for PostgreSQL a scratch database
is created and dropped). Prints reports/s and per-report latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.incidents.lifecycle import CATEGORIES  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402
from datasources.services import Services  # noqa: E402
from datasources.towns.files import load_town  # noqa: E402


def _points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    from shapely.geometry import Point, shape

    town = load_town(ROOT / "datasources" / "towns" / "demo")
    boundary = shape(town.meta["boundary"])
    minx, miny, maxx, maxy = boundary.bounds
    rng, out = random.Random(seed), []
    while len(out) < n:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if boundary.contains(Point(lon, lat)):
            out.append((lon, lat))
    return out


def run(reports: int, database_url: str, redis_url: str, data: Path) -> dict[str, float]:
    """Push `reports` raw messages through Intake.handle_raw; return the figures."""
    settings = Settings.from_env(environ={}, data_dir=str(data), database_url=database_url,
                                 redis_url=redis_url, redis_prefix=f"b{uuid.uuid4().hex[:6]}")
    svc = Services(settings).open()
    try:
        rng = random.Random(11)
        raws = [json.dumps({
            "type": "incident.report", "source": "grid_worker", "msg_id": f"bench-{i:07d}",
            "category": rng.choice(CATEGORIES).code, "title": f"基准上报 {i}",
            "description": "压力测试", "lon": lon, "lat": lat}, ensure_ascii=False)
            for i, (lon, lat) in enumerate(_points(reports))]
        took, merged, created = [], 0, 0
        started = time.perf_counter()
        for raw in raws:
            t0 = time.perf_counter()
            outcome = svc.intake.handle_raw(raw)
            took.append((time.perf_counter() - t0) * 1000)
            merged += outcome.merged
            created += bool(outcome.event and not outcome.merged)
        wall = time.perf_counter() - started
        took.sort()
        return {"reports": reports, "seconds": wall, "per_s": reports / wall,
                "p50_ms": statistics.median(took), "p95_ms": took[int(0.95 * len(took)) - 1],
                "p99_ms": took[int(0.99 * len(took)) - 1], "created": created,
                "merged": merged}
    finally:
        svc.close()


def main() -> None:
    """Parse arguments, run on the chosen database, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--redis-url", default="", help="Redis URL (default: embedded)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        embedded = None if args.redis_url else EmbeddedRedis(data / "redis").start()
        redis_url = args.redis_url or embedded.url  # type: ignore[union-attr]
        url, admin, name = f"sqlite:///{data / 'bench.db'}", None, None
        if args.database_url:
            base = make_url(args.database_url)
            name = f"zn_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = base.set(database=name).render_as_string(hide_password=False)
        try:
            r = run(args.reports, url, redis_url, data)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            if embedded is not None:
                embedded.stop()
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(f"intake on {db}: {r['reports']} reports in {r['seconds']:.1f} s = "
          f"{r['per_s']:.0f} reports/s; per report p50 {r['p50_ms']:.1f} ms, "
          f"p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
          f"{r['created']} work orders, {r['merged']} merged")


if __name__ == "__main__":
    main()
