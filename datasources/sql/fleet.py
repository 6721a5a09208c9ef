"""The vehicle record in SQL (一车一档): each bus's papers and drivers, and its daily checks
(出车前检查, 消毒), one per bus, local day and kind (a second tap changes nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dashboard.buses.fleet import CHECK_KINDS, DriverRecord, VehicleRecord
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.timeutil import local_date
from datasources.sql import models as m
from datasources.sql.incidents import Store


def _record(bus: m.Vehicle, drivers: list[m.Driver]) -> VehicleRecord:
    return VehicleRecord(
        plate=bus.plate, model=bus.model, seats=bus.seats, year=bus.year,
        licence_expiry=bus.licence_expiry or "", inspection_due=bus.inspection_due or "",
        insurance_expiry=bus.insurance_expiry or "", speed_limiter=bus.speed_limiter,
        recorder=bus.recorder,
        drivers=tuple(DriverRecord(id=d.id, name=d.name, phone=d.phone, plate=d.plate,
                                   licence_class=d.licence_class,
                                   licence_expiry=d.licence_expiry, trained_on=d.trained_on,
                                   health_checked_on=d.health_checked_on)
                      for d in sorted(drivers, key=lambda d: d.id)))


class Fleet:
    """Reads the buses' records and records their daily checks."""

    def __init__(self, store: Store):
        self.store = store

    def records(self) -> dict[str, VehicleRecord]:
        """Every bus's record, by plate."""
        with self.store.session() as s:
            drivers: dict[str, list[m.Driver]] = {}
            for d in s.scalars(select(m.Driver)):
                drivers.setdefault(d.plate, []).append(d)
            return {b.plate: _record(b, drivers.get(b.plate, []))
                    for b in s.scalars(select(m.Vehicle).order_by(m.Vehicle.plate))}

    def record(self, plate: str) -> VehicleRecord:
        """One bus's record; NotFound("unknown_vehicle") for a plate the town has not."""
        with self.store.session() as s:
            bus = s.get(m.Vehicle, plate)
            if bus is None:
                raise NotFound("unknown_vehicle", value=plate[:20])
            return _record(bus, list(s.scalars(select(m.Driver)
                                               .where(m.Driver.plate == plate))))

    def check(self, plate: str, kind: str, actor: str, now: datetime) -> dict[str, Any]:
        """Record a daily check of today (local); the first tap of the day stands, a
        repeat returns it unchanged (`new` False)."""
        if kind not in CHECK_KINDS:
            raise BadInput("bad_check", kinds="/".join(CHECK_KINDS))
        day = local_date(now).isoformat()
        with self.store.session() as s:
            if s.get(m.Vehicle, plate) is None:
                raise NotFound("unknown_vehicle", value=plate[:20])
        try:
            with self.store.session() as s:
                s.add(m.VehicleCheck(plate=plate, day=day, kind=kind, at=now, actor=actor))
            new = True
        except IntegrityError:
            new = False  # already done today (here or by another tap or process)
        done = self.checks_on(day, plate)[kind]
        return {"plate": plate, "day": day, "kind": kind, "new": new, **done}

    def checks_on(self, day: str, plate: str) -> dict[str, dict[str, Any]]:
        """A bus's checks of a local day by kind: {"at", "actor"} or {} when not done."""
        out: dict[str, dict[str, Any]] = {k: {} for k in CHECK_KINDS}
        with self.store.session() as s:
            for c in s.scalars(select(m.VehicleCheck).where(m.VehicleCheck.plate == plate,
                                                            m.VehicleCheck.day == day)):
                out[c.kind] = {"at": c.at, "actor": c.actor}
        return out

    def checks_of_day(self, day: str) -> dict[str, dict[str, dict[str, Any]]]:
        """Every bus's checks of a local day: plate -> kind -> {"at", "actor"}."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        with self.store.session() as s:
            for c in s.scalars(select(m.VehicleCheck).where(m.VehicleCheck.day == day)):
                out.setdefault(c.plate, {})[c.kind] = {"at": c.at, "actor": c.actor}
        return out

    def checked(self, day: str, kind: str = "pretrip") -> set[str]:
        """The plates with a `kind` check on a local day."""
        with self.store.session() as s:
            return set(s.scalars(select(m.VehicleCheck.plate).where(
                m.VehicleCheck.day == day, m.VehicleCheck.kind == kind)))
