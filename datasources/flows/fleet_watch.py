"""The vehicle record's alerts (一车一档): each dated item of a bus or a driver due within the
expiry window, each one past, and each bus whose first trip of a school day left without its
出车前检查, raises ONE work order per item and episode into the incident loop, like the stock
alerts (datasources/flows/resource_desk.py): the episode's open key is unique in SQL, so
processes racing to raise it insert one row and one work order."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dashboard.buses.fleet import (
    EXPIRED,
    WARNING,
    VehicleRecord,
    dated_items,
    fit,
    pretrip_overdue,
    record_view,
)
from dashboard.buses.timetable import runs_on, stop_times_on
from dashboard.incidents.errors import NotFound
from dashboard.messages import IncidentReport
from dashboard.timeutil import local_date, utcnow
from datasources.flows.intake import Intake
from datasources.sql import models as m
from datasources.sql.fleet import Fleet
from datasources.sql.incidents import Store

log = logging.getLogger(__name__)
ALERT_CATEGORY = "traffic"  # 交通管理: the bus's papers and checks
# Work-order wording (the loop's titles are Chinese, like the stock alerts').
# Screens read the records through a snapshot this old at most (a tap shows within it).
SNAPSHOT_S = 3.0
ITEM_ZH = {"licence": "行驶证", "inspection": "年检", "insurance": "保险",
           "driver_licence": "驾驶证", "training": "安全培训", "health": "体检"}


class FleetWatch:
    """Sweeps the buses' records and today's checks; raises and closes alert episodes."""

    def __init__(self, store: Store, intake: Intake, sweep_s: float = 300.0,
                 holidays: frozenset[date] = frozenset()):
        self.store = store
        self.fleet = Fleet(store)
        self.intake = intake
        self.sweep_s = sweep_s
        self.holidays = holidays
        # The first sweep waits one period: a freshly started server raises nothing at once.
        self._last_sweep = time.monotonic()
        self._snap: tuple[float, dict[str, Any]] | None = None
        # The plates not fit to drive, for screens that must not wait on SQL (the wall's
        # push loop): refreshed by every call of sweep(), which the hub runs in a thread.
        self.marks: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ screens
    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """Records, today's checks and the overdue buses, shared by every screen of this
        process for SNAPSHOT_S (no SQL per screen per tick)."""
        if now is None and self._snap is not None and \
                time.monotonic() - self._snap[0] < SNAPSHOT_S:
            return self._snap[1]
        at = now or utcnow()
        snap = {"at": at, "records": self.fleet.records(),
                "checks": self.fleet.checks_of_day(local_date(at).isoformat()),
                "overdue": set(self.overdue(at))}
        if now is None:
            self._snap = (time.monotonic(), snap)
        return snap

    def unfit(self, now: datetime | None = None) -> set[str]:
        """The plates not fit to drive (不宜出车) now."""
        snap = self.snapshot(now)
        return {p for p, r in snap["records"].items() if not fit(r, snap["at"])}

    def view(self, plate: str, phone: Any, now: datetime | None = None) -> dict[str, Any]:
        """One bus's record as screens and the API show it (fleet.record_view);
        NotFound("unknown_vehicle") for a plate the town has not."""
        snap = self.snapshot(now)
        record: VehicleRecord | None = snap["records"].get(plate)
        if record is None:
            raise NotFound("unknown_vehicle", value=plate[:20])
        return record_view(record, snap["at"], snap["checks"].get(plate, {}),
                           plate in snap["overdue"], phone)

    def forget(self) -> None:
        """Drop the snapshot (after a check is recorded here)."""
        self._snap = None

    def first_departures(self, now: datetime) -> dict[str, datetime]:
        """Each route's first departure today (local), on the days its trips run."""
        day = local_date(now)
        out: dict[str, datetime] = {}
        with self.store.session() as s:
            for trip in s.scalars(select(m.Trip)):
                if not trip.stop_times or not runs_on(trip.days, day, self.holidays):
                    continue
                first = stop_times_on(day, trip.stop_times[:1])[0]
                if trip.route_code not in out or first < out[trip.route_code]:
                    out[trip.route_code] = first
        return out

    def overdue(self, now: datetime) -> list[str]:
        """Plates whose first trip today has left without a 出车前检查."""
        day = local_date(now).isoformat()
        firsts = self.first_departures(now)
        checked = self.fleet.checked(day, "pretrip")
        with self.store.session() as s:
            buses = list(s.execute(select(m.Vehicle.plate, m.Vehicle.route_code)))
        return sorted(plate for plate, route in buses
                      if pretrip_overdue(firsts.get(route or ""), plate in checked, now))

    def sweep(self, now: datetime | None = None, force: bool = False) -> list[str]:
        """Open the episodes due now, close those that ended; at most once per period.
        Returns the refs of the work orders raised."""
        self.marks = frozenset(self.unfit(now))
        if not force and time.monotonic() - self._last_sweep < self.sweep_s:
            return []
        self._last_sweep = time.monotonic()
        now = now or utcnow()
        raised: list[str] = []
        wanted: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
        records = self.fleet.records()
        for rec in records.values():
            names = {d.id: d.name for d in rec.drivers}
            for item in dated_items(rec, now):
                if item.state in (WARNING, EXPIRED):
                    wanted[f"{item.state}:{item.key}"] = (
                        rec.plate, item.item, item.state,
                        {"due": item.due, "driver": names.get(item.driver, "")})
        day = local_date(now).isoformat()
        for plate in self.overdue(now):
            wanted[f"overdue:pretrip:{plate}:{day}"] = (plate, "pretrip", "overdue", {})
        with self.store.session() as s:
            open_now = {a.open_key: a.id for a in s.scalars(
                select(m.VehicleAlert).where(m.VehicleAlert.open_key.is_not(None)))}
            ended = [i for k, i in open_now.items() if k not in wanted]
            if ended:
                s.execute(update(m.VehicleAlert).where(m.VehicleAlert.id.in_(ended))
                          .values(open_key=None, closed_at=now))
        for key, (plate, what, kind, info) in wanted.items():
            if key in open_now:
                continue
            try:
                ref = self._open(key, plate, what, kind, info, now)
            except Exception:  # one bad row must not stop the others' alerts
                log.exception("vehicle alert %s failed", key)
                continue
            if ref:
                raised.append(ref)
        return raised

    def _open(self, key: str, plate: str, item: str, kind: str, info: dict[str, Any],
              now: datetime) -> str | None:
        try:
            with self.store.session() as s:
                alert = m.VehicleAlert(plate=plate, item=item, kind=kind, open_key=key,
                                       opened_at=now)
                s.add(alert)
                s.flush()
                alert_id = alert.id
        except IntegrityError:
            return None  # this episode is already raised (here or by another process)
        who = f"驾驶员{info['driver']}" if info.get("driver") else ""
        if kind == "overdue":
            title = f"校车未做出车前检查：{plate}"
            text = f"{plate}今日首班已发车，未记录出车前检查，请核实并督促补检。"
            priority = "high"
        elif kind == EXPIRED:
            title = f"校车{ITEM_ZH[item]}已过期：{plate}{who}"
            text = f"{plate}{who}{ITEM_ZH[item]}有效期至{info['due']}，已过期，请立即处理。"
            priority = "high"
        else:
            title = f"校车{ITEM_ZH[item]}即将到期：{plate}{who}"
            text = f"{plate}{who}{ITEM_ZH[item]}将于{info['due']}到期，请在到期前办理。"
            priority = "normal"
        lon, lat = self._where(plate)
        report = IncidentReport(source="bus", source_ref=f"vehicle:{key}:{alert_id}"[:64],
                                category=ALERT_CATEGORY, priority=priority,
                                title=title[:100], description=text, lon=lon, lat=lat)
        outcome = self.intake.handle(report)
        incident = outcome.event.incident if outcome.event else None
        if incident is None:
            return None
        with self.store.session() as s:
            s.execute(update(m.VehicleAlert).where(m.VehicleAlert.id == alert_id)
                      .values(incident_id=incident.id))
        return incident.ref

    def _where(self, plate: str) -> tuple[float, float]:
        """Where the work order sits: the bus route's first stop (the depot end)."""
        with self.store.session() as s:
            route = s.scalar(select(m.Vehicle.route_code).where(m.Vehicle.plate == plate))
            stop = s.scalars(select(m.BusStop).where(m.BusStop.route_code == route)
                             .order_by(m.BusStop.seq)).first()
            if stop is None:
                centre = self.store.town_meta().get("center") or [0.0, 0.0]
                return float(centre[0]), float(centre[1])
            return stop.lon, stop.lat

    def open_alerts(self) -> list[dict[str, Any]]:
        """Open episodes with their work orders."""
        with self.store.session() as s:
            rows = s.scalars(select(m.VehicleAlert).where(m.VehicleAlert.open_key.is_not(None))
                             .order_by(m.VehicleAlert.id))
            return [{"plate": a.plate, "item": a.item, "kind": a.kind, "key": a.open_key,
                     "incident_id": a.incident_id} for a in rows]
