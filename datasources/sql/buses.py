"""Bus data in SQL: routes and vehicles as loaded, and the sampled position history (replay)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import selectinload

from dashboard.messages import VehiclePosition
from dashboard.timeutil import as_utc
from dashboard.town import Route, Stop, Trip
from datasources.sql import models as m
from datasources.sql.incidents import Store

# Rows of the position history per transaction. A fleet's sample (2,000 buses every 10 s) in
# one transaction held SQLite's one write lock ~60-100 ms on a busy box, and a work order's
# commit that came meanwhile waited it out in SQLite's busy handler, whose sleeps grow: the
# reports around each sample were the tail of publish->screen (bench/latency.py, 5 walls x
# 2,000 buses: publish->event p95 65-114 ms in runs that met a sample, 11 ms in one that
# did not). In chunks, a report waits for one chunk at most.
HISTORY_CHUNK = 200


class BusStore:
    """Bus queries on the same engine as the Store (kept out of store.py on purpose)."""

    def __init__(self, store: Store):
        self.store = store

    def routes(self) -> list[Route]:
        """Every route with its stops and trips, as the town files describe them."""
        with self.store.session() as s:
            rows = s.scalars(select(m.Route).order_by(m.Route.code).options(
                selectinload(m.Route.stops), selectinload(m.Route.trips))).all()
            return [Route(code=r.code, name=r.name, name_en=r.name_en, school=r.school,
                          stops=[Stop(x.code, x.name, x.name_en, x.lon, x.lat)
                                 for x in r.stops],
                          path=r.path, length_m=r.length_m,
                          trips=[Trip(t.code, t.period, t.direction, list(t.stop_times),
                                      t.days) for t in r.trips],
                          staff=dict(r.staff or {})) for r in rows]

    def vehicles(self) -> dict[str, dict[str, Any]]:
        """Every bus's record (一车一档) by plate."""
        with self.store.session() as s:
            return {v.plate: {"plate": v.plate, "route": v.route_code, "seats": v.seats,
                              "driver": v.driver, "phone": v.phone, "escort": v.escort,
                              "model": v.model, "year": v.year}
                    for v in s.scalars(select(m.Vehicle).order_by(m.Vehicle.plate))}

    def save_positions(self, fixes: Iterable[VehiclePosition]) -> int:
        """Append sampled fixes to the history; returns how many."""
        rows = [{"plate": p.plate, "at": as_utc(p.at), "lon": p.lon, "lat": p.lat,
                 "speed_kmh": p.speed_kmh, "heading": p.heading, "route": p.route,
                 "trip": p.trip, "onboard": p.onboard} for p in fixes]
        for start in range(0, len(rows), HISTORY_CHUNK):
            if start:
                time.sleep(0)  # the other threads (a report's commit) take their turn
            with self.store.session() as s:
                s.execute(insert(m.BusPosition), rows[start:start + HISTORY_CHUNK])
        return len(rows)

    def history_runs(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Each (plate, trip) recorded between start and end, with first/last fix times."""
        q = (select(m.BusPosition.plate, m.BusPosition.trip, func.min(m.BusPosition.at),
                    func.max(m.BusPosition.at), func.count())
             .where(m.BusPosition.at >= start, m.BusPosition.at < end)
             .group_by(m.BusPosition.plate, m.BusPosition.trip)
             .order_by(func.min(m.BusPosition.at)))
        with self.store.session() as s:
            return [{"plate": p, "trip": t, "start": as_utc(a), "end": as_utc(b), "fixes": n}
                    for p, t, a, b, n in s.execute(q)]

    def track(self, plate: str, start: datetime, end: datetime,
              trip: str | None = None) -> list[dict[str, Any]]:
        """A vehicle's recorded fixes in time order (optionally of one trip)."""
        q = (select(m.BusPosition).where(m.BusPosition.plate == plate,
                                         m.BusPosition.at >= start, m.BusPosition.at <= end)
             .order_by(m.BusPosition.at))
        if trip is not None:
            q = q.where(m.BusPosition.trip == trip)
        with self.store.session() as s:
            return [{"at": as_utc(r.at).isoformat(), "lon": r.lon, "lat": r.lat,
                     "speed_kmh": r.speed_kmh, "heading": r.heading, "trip": r.trip,
                     "onboard": r.onboard} for r in s.scalars(q)]
