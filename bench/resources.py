"""Resource steps (dispatch, depart, return), station ranking and coverage, timed on a scratch
demo town (embedded Redis, SQLite): `.venv/bin/python bench/resources.py [--rounds 40]`."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.geo.lookup import GridHit  # noqa: E402
from dashboard.messages import IncidentReport  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasources.services import Services  # noqa: E402

FLOOD = {"lon": 104.45, "lat": 30.55, "category": "water"}


def main() -> None:
    """Run the rounds and print p50/p95 per step."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    svc = Services(Settings.from_env(environ={}, data_dir=tempfile.mkdtemp())).open()
    try:
        desk = svc.resources
        report = IncidentReport(source="hotline", category="water", title="内涝", **{
            k: FLOOD[k] for k in ("lon", "lat")})
        incident = svc.store.create_incident(report, GridHit("G3-01", "V01")).incident
        teams = [t["code"] for t in desk.res.station("ES-01")["teams"]][:2]
        steps = {
            "dispatch": lambda: desk.dispatch(incident.id, "ES-01", teams, {"FL-SB": 20}, "b"),
            "depart": lambda: desk.depart(last["id"], "b"),
            "return": lambda: desk.give_back(last["id"], "b"),
            "plan": lambda: desk.plan(FLOOD),
            "coverage": lambda: desk.coverage(15),
        }
        laps: dict[str, list[float]] = {k: [] for k in steps}
        last: dict = {}
        for _ in range(args.rounds):
            for key, step in steps.items():
                started = time.perf_counter()
                out = step()
                laps[key].append((time.perf_counter() - started) * 1000)
                if key == "dispatch":
                    last = out
        for key, values in laps.items():
            values.sort()
            p95 = values[max(int(len(values) * 0.95) - 1, 0)]
            print(f"{key:9s} p50 {statistics.median(values):6.1f} ms  p95 {p95:6.1f} ms  "
                  f"(n={len(values)})")
    finally:
        svc.close()


if __name__ == "__main__":
    main()
