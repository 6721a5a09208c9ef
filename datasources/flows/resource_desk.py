"""The resource desk: each stock or dispatch step is committed, then announced to every screen
(hub topic "stations"), and low stock or near expiry is raised into the incident loop once
per item and episode. Reasons and batches are plain text (dashboard/inputs.plain_text:
markup is refused as bad_plain), whether typed on /resources or made from a file's name."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dashboard.inputs import plain_text
from dashboard.messages import Event, IncidentReport
from dashboard.resources.coverage import RoadNetwork, coverage_rows
from dashboard.resources.kits import DEFAULT_KITS, rank_stations
from dashboard.resources.stock import Stock
from dashboard.timeutil import utcnow
from datasources.flows.intake import Intake
from datasources.redis.publisher import Publisher
from datasources.sql import models as m
from datasources.sql.incidents import Store
from datasources.sql.resources import Resources

log = logging.getLogger(__name__)
ALERT_CATEGORY = "work_safety"  # 安全生产


def _plain(**typed: str | None) -> None:
    """Refuse markup in typed text (BadInput "bad_plain" naming the field); the text is kept
    as typed otherwise (a batch such as "\t=1+1" is the export's to neutralise)."""
    for name, value in typed.items():
        plain_text(value, name)


class ResourceDesk:
    """Stock edits and resource dispatches that tell every screen and watch for shortages."""

    def __init__(self, store: Store, bus: Publisher, intake: Intake, sweep_s: float = 3600.0,
                 kits: dict[str, dict[str, int]] | None = None):
        self.res = Resources(store)
        self.store = store
        self.bus = bus
        self.intake = intake
        self.sweep_s = sweep_s
        self._kits = kits if kits is not None else DEFAULT_KITS
        self.tables: Any = None  # TownTables: the kits with /admin's override, when wired
        self.network = RoadNetwork.from_basemap(None)
        # The first sweep waits one period: a freshly started server raises nothing at once.
        self._last_sweep = time.monotonic()

    @property
    def kits(self) -> dict[str, dict[str, int]]:
        """The kits per category: the town's tables (with /admin's override) when wired."""
        return self.tables.kits() if self.tables is not None else self._kits

    # ------------------------------------------------------------------ planning
    def set_network(self, basemap: dict[str, Any] | None) -> None:
        """Route over this basemap's roads from now on."""
        self.network = RoadNetwork.from_basemap(basemap)

    def route(self, lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
        """Road metres and minutes between two points."""
        return self.network.travel(lon1, lat1, lon2, lat2)

    def plan(self, incident: dict[str, Any]) -> list[dict[str, Any]]:
        """Stations ranked for an incident: drive time, its category's kit, free teams."""
        kit = self.kits.get(incident.get("category", ""), {})
        return rank_stations(incident, self.res.stations(), kit, self.route)

    def coverage(self, target_min: float) -> list[dict[str, Any]]:
        """Every village's station, road distance and minutes, flagged when too far."""
        with self.store.session() as s:
            villages = [{"code": v.code, "name": v.name, "name_en": v.name_en, "lon": v.lon,
                         "lat": v.lat} for v in s.scalars(select(m.Village)
                                                         .order_by(m.Village.code))]
        return coverage_rows(self.res.stations(), villages, self.network, target_min)

    # ------------------------------------------------------------------ steps
    def receive(self, station: str, sku: str, qty: int, actor: str, reason: str = "",
                batch: str | None = None) -> dict[str, Any]:
        """Receive supplies, announce, check the item."""
        _plain(reason=reason, batch=batch)
        out = self.res.receive(station, sku, qty, actor, reason, batch)
        self.intake.audit_step("stock.receive", f"{station}/{sku}", f"+{qty} {reason}", actor)
        return self._after(station, [sku], out)

    def issue(self, station: str, sku: str, qty: int, actor: str, reason: str) -> dict[str, Any]:
        """Issue supplies, announce, check the item."""
        _plain(reason=reason)
        out = self.res.issue(station, sku, qty, actor, reason)
        self.intake.audit_step("stock.issue", f"{station}/{sku}", f"-{qty} {reason}", actor)
        return self._after(station, [sku], out)

    def adjust(self, station: str, sku: str, delta: int, actor: str,
               reason: str) -> dict[str, Any]:
        """Correct stock with a reason, announce, check the item."""
        _plain(reason=reason)
        out = self.res.adjust(station, sku, delta, actor, reason)
        self.intake.audit_step("stock.adjust", f"{station}/{sku}", f"{delta:+d} {reason}", actor)
        return self._after(station, [sku], out)

    def dispatch(self, incident_id: int, station: str, teams: list[str],
                 supplies: dict[str, int], actor: str) -> dict[str, Any]:
        """Reserve teams and supplies for an incident, announce, check the items."""
        out = self.res.dispatch(incident_id, station, teams, supplies, actor)
        what = " ".join([*teams, *(f"{k}×{v}" for k, v in supplies.items())])
        self.intake.audit_step("resources.dispatch", f"incident {incident_id}",
                               f"{station}: {what}", actor)
        return self._after(station, list(supplies), out)

    def depart(self, dispatch_id: int, actor: str) -> dict[str, Any]:
        """Supplies leave with the team; announce."""
        out = self.res.depart(dispatch_id, actor)
        self.intake.audit_step("resources.depart", f"dispatch {dispatch_id}", "", actor)
        return self._after(out["station"], [], out)

    def give_back(self, dispatch_id: int, actor: str,
                  consumed: dict[str, int] | None = None) -> dict[str, Any]:
        """The team is back: stock restored (less what was consumed); announce, check."""
        out = self.res.give_back(dispatch_id, actor, consumed)
        self.intake.audit_step("resources.return", f"dispatch {dispatch_id}",
                               f"consumed {consumed or {}}", actor)
        return self._after(out["station"], list(consumed or {}), out)

    def set_team_status(self, team: str, status: str, actor: str) -> str:
        """Record a team's duty status and announce its station."""
        station = self.res.set_team_status(team, status, actor)
        self.intake.audit_step("team.status", team, status, actor)
        self._after(station, [], {})
        return station

    def shelter_move(self, station: str, delta: int) -> int:
        """People arrive at or leave a shelter; announce the free places."""
        free = self.res.shelter_move(station, delta)
        self.intake.audit_step("shelter.move", station, f"{delta:+d}, {free} free", "")
        self.announce(station)
        return free

    def _after(self, station: str, skus: list[str], result: dict[str, Any]) -> dict[str, Any]:
        self.announce(station)
        for sku in skus:
            try:
                self.check(station, sku)
            except Exception:  # an alert must never undo or hide a committed step
                log.exception("stock alert check failed for %s/%s", station, sku)
        return result

    def announce(self, station: str) -> Event:
        """Publish the station's committed row with the next event number."""
        row = self.res.station(station)
        event = Event(type="station.changed", seq=self.bus.next_seq(), at=utcnow(),
                      sent_at=time.time(), station=row)
        self.bus.publish_event(event)
        return event

    # ------------------------------------------------------------------ alerts
    def check(self, station: str, sku: str, now: datetime | None = None) -> list[str]:
        """Open or close the low-stock and expiry episodes of one item; returns refs raised."""
        now = now or utcnow()
        with self.store.session() as s:
            item = s.scalar(select(m.InventoryItem).where(
                m.InventoryItem.station_code == station, m.InventoryItem.sku == sku))
            st = s.get(m.Station, station)
            if item is None or st is None:
                return []
            stock = Stock(item.quantity, item.reserved, item.out_quantity, item.min_level,
                          item.expiry)
            facts = {"low": stock.low, "expiry": stock.expiring(now)}
            info = {"name": item.name, "unit": item.unit, "available": stock.available,
                    "min": item.min_level,
                    "expiry": item.expiry, "station": st.name, "lon": st.lon, "lat": st.lat}
        raised = []
        for kind, on in facts.items():
            key = f"{kind}:{station}:{sku}"
            if on:
                ref = self._open(key, kind, station, sku, info, now)
                if ref:
                    raised.append(ref)
            else:
                with self.store.session() as s:
                    s.execute(update(m.StockAlert).where(m.StockAlert.open_key == key)
                              .values(open_key=None, closed_at=now))
        return raised

    def _open(self, key: str, kind: str, station: str, sku: str, info: dict[str, Any],
              now: datetime) -> str | None:
        try:
            with self.store.session() as s:
                alert = m.StockAlert(station_code=station, sku=sku, kind=kind, open_key=key,
                                     opened_at=now)
                s.add(alert)
                s.flush()
                alert_id = alert.id
        except IntegrityError:
            return None  # this episode is already raised (here or by another process)
        if kind == "low":
            title = f"应急物资低于下限：{info['station']} {info['name']}"
            text = (f"{info['name']}可用{info['available']}{info['unit']}，"
                    f"下限{info['min']}{info['unit']}，请及时补充。")
        else:
            title = f"应急物资临期：{info['station']} {info['name']}"
            text = f"{info['name']}有效期至{info['expiry']}，请轮换或补充。"
        report = IncidentReport(source="resources", source_ref=f"{key}:{alert_id}",
                                category=ALERT_CATEGORY, priority="high", title=title[:100],
                                description=text, lon=info["lon"], lat=info["lat"])
        outcome = self.intake.handle(report)
        incident = outcome.event.incident if outcome.event else None
        if incident is not None:
            with self.store.session() as s:
                s.execute(update(m.StockAlert).where(m.StockAlert.id == alert_id)
                          .values(incident_id=incident.id))
            return incident.ref
        return None

    def sweep(self, now: datetime | None = None, force: bool = False) -> list[str]:
        """Check every item (expiry moves with the calendar); at most once per period."""
        if not force and time.monotonic() - self._last_sweep < self.sweep_s:
            return []
        self._last_sweep = time.monotonic()
        now = now or utcnow()
        with self.store.session() as s:
            pairs = list(s.execute(select(m.InventoryItem.station_code, m.InventoryItem.sku)))
        raised = []
        for station, sku in pairs:
            raised += self.check(station, sku, now)
        return raised

    def open_alerts(self) -> list[dict[str, Any]]:
        """Open low-stock and expiry episodes with their work orders."""
        with self.store.session() as s:
            rows = s.scalars(select(m.StockAlert).where(m.StockAlert.open_key.is_not(None))
                             .order_by(m.StockAlert.id))
            return [{"station": a.station_code, "sku": a.sku, "kind": a.kind,
                     "incident_id": a.incident_id, "opened_at": a.opened_at} for a in rows]

