"""Boarding events (issue 13): taps per second through the real door, the door's answer
time (p50/p95), and what a retried tap costs; taps spread over the demo's 146 pupils.

    .venv/bin/python bench/boarding.py [--taps 600]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from app import create_app  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.timeutil import LOCAL_TZ  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402

KEY = "bench-terminal-key"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0..1) of sorted values, in ms."""
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=600)
    args = parser.parse_args()
    data = tempfile.mkdtemp()
    redis_server = EmbeddedRedis(data).start()
    app = create_app(Settings.from_env(environ={}, data_dir=data, redis_url=redis_server.url,
                                       redis_prefix="board", ingest_rate=0))
    try:
        with TestClient(app.server) as client:
            svc = app.zn_services
            svc.accounts.add_key("ingest", "bench reader", "terminal", token=KEY)
            # Every pupil's morning trip and the bus of its route, at a time in its window.
            taps = []
            for route in {t.split("-")[0] for t in svc.hub.tracker.fleet.plans}:
                for trip in (p for p in svc.hub.tracker.fleet.plans if p.startswith(route)):
                    manifest = svc.boarding.pupils.manifest(trip)
                    plan = svc.hub.tracker.fleet.plans[trip]
                    plate = next(p for p, v in svc.hub.tracker.vehicle_records.items()
                                 if v["route"] == route)
                    day = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
                    h, m = (int(x) for x in plan.stop_times[0].split(":"))
                    at = datetime(day.year, day.month, day.day, h, m, tzinfo=LOCAL_TZ)
                    taps += [(p.id, plate, at.astimezone(UTC)) for s in manifest.stops
                             for p in s.pupils]
            times: list[float] = []
            sent = []
            started = time.perf_counter()
            for i in range(args.taps):
                pupil, plate, at = taps[i % len(taps)]
                body = {"pupil": pupil, "event": ("board", "alight")[(i // len(taps)) % 2],
                        "at": (at + timedelta(seconds=i)).isoformat(), "vehicle": plate,
                        "key": f"bench-{i:08d}"}
                t0 = time.perf_counter()
                r = client.post("/api/v1/buses/boarding", json=body, headers={"X-Api-Key": KEY})
                times.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
                sent.append(body)
            wall = time.perf_counter() - started
            times.sort()
            print(f"{args.taps} taps through POST /api/v1/buses/boarding (in-process, SQLite): "
                  f"{args.taps / wall:.0f} taps/s; answer p50 {pct(times, .5):.1f} ms, "
                  f"p95 {pct(times, .95):.1f} ms")
            retries: list[float] = []
            for body in sent[:200]:
                t0 = time.perf_counter()
                r = client.post("/api/v1/buses/boarding", json=body, headers={"X-Api-Key": KEY})
                retries.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            retries.sort()
            print(f"a retried tap (stored once, the first answer): p50 {pct(retries, .5):.1f} ms, "
                  f"p95 {pct(retries, .95):.1f} ms")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
