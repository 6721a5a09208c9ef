"""Boarding events in SQL: stored once per idempotency key (UNIQUE), read back per trip."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from dashboard.buses.boarding import Boarding
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.engine import session_factory


def _boarding(r: m.BoardingEvent) -> Boarding:
    return Boarding(r.pupil_id, r.trip_code, r.day, r.event, as_utc(r.at), r.plate,
                    r.stop_code, r.lon, r.lat, r.source, r.idem_key, r.id)


class BoardingStore:
    """Writes and reads of boarding_events, and the register facts a tap needs."""

    def __init__(self, engine: Engine):
        self.session = session_factory(engine)

    def record(self, b: Boarding, actor: str = "") -> tuple[Boarding, bool]:
        """Store one event; (the stored event, True) or, for a key stored before, (that
        first event, False): a retried tap is counted once."""
        row = m.BoardingEvent(pupil_id=b.pupil, trip_code=b.trip, day=b.day, event=b.event,
                              at=as_utc(b.at), received_at=utcnow(), plate=b.plate,
                              stop_code=b.stop, lon=b.lon, lat=b.lat, source=b.source,
                              actor=actor[:60], idem_key=b.key)
        try:
            with self.session.begin() as s:
                s.add(row)
                s.flush()
                return replace(b, seq=row.id), True
        except IntegrityError:
            with self.session() as s:
                first = s.scalar(select(m.BoardingEvent)
                                 .where(m.BoardingEvent.idem_key == b.key))
                if first is None:  # not the key: another constraint refused the row
                    raise
                return _boarding(first), False

    def events(self, trip: str, day: str) -> list[Boarding]:
        """Every event of a trip on a local day, as stored."""
        with self.session() as s:
            return [_boarding(r) for r in s.scalars(
                select(m.BoardingEvent).where(m.BoardingEvent.trip_code == trip,
                                              m.BoardingEvent.day == day)
                .order_by(m.BoardingEvent.id))]

    def pupil_trips(self, pupil: str) -> dict[str, list[str]] | None:
        """The trips a pupil rides (code → stop times), or None when no such pupil."""
        with self.session() as s:
            if s.get(m.Pupil, pupil) is None:
                return None
            return {code: list(times) for code, times in s.execute(
                select(m.Trip.code, m.Trip.stop_times)
                .join(m.PupilTrip, m.PupilTrip.trip_code == m.Trip.code)
                .where(m.PupilTrip.pupil_id == pupil))}

    def vehicle(self, plate: str) -> dict[str, Any] | None:
        """A bus's record (route, seats), or None for an unknown plate."""
        with self.session() as s:
            v = s.get(m.Vehicle, plate)
            return None if v is None else {"plate": v.plate, "route": v.route_code,
                                           "seats": v.seats}
