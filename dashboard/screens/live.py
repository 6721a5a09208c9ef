"""The live picture one server process keeps in memory, fed by a snapshot and sequenced deltas."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dashboard.incidents.kpis import KpiBoard
from dashboard.incidents.lifecycle import OPEN_STATES
from dashboard.messages import Event, IncidentView, VehiclePosition

TOPICS = ("incidents", "vehicles", "stations", "kpis", "status", "trips", "rota", "callup")
KEEP_RECENT = 300


@dataclass
class LiveState:
    """Incidents, vehicles, stations, KPIs and health, each topic with its own version."""

    incidents: dict[int, IncidentView] = field(default_factory=dict)
    vehicles: dict[str, VehiclePosition] = field(default_factory=dict)
    # Bus trips by plate (rows of BusTracker: route, trip, next stop, ETA, status, load).
    trips: dict[str, dict[str, Any]] = field(default_factory=dict)
    stations: list[dict[str, Any]] = field(default_factory=list)
    kpis: KpiBoard | None = None
    rejected: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    connected: bool = False
    db_ok: bool = True  # False while the database cannot be reached: screens say stale
    resyncs: int = 0
    last_event_at: datetime | None = None
    # A gap in what this process heard (Redis pub/sub lost, a Redis failover, a sequence
    # number skipped): open from when it is known until the catch-up from the SQL log;
    # then `caught_up` says how many history rows filled it, shown for a while.
    gap_since: datetime | None = None
    caught_up: int | None = None
    versions: Counter[str] = field(default_factory=Counter)
    vehicle_rev: dict[str, int] = field(default_factory=dict)
    rev: int = 0

    def touch(self, *topics: str) -> None:
        """Mark topics changed so screens push them."""
        for topic in topics:
            self.versions[topic] += 1

    def load_snapshot(self, *, seq: int, incidents: list[IncidentView],
                      vehicles: dict[str, VehiclePosition], stations: list[dict[str, Any]],
                      kpis: KpiBoard | None, rejected: dict[str, int]) -> None:
        """Replace everything with a consistent snapshot taken at sequence `seq`."""
        self.seq = seq
        self.incidents = {i.id: i for i in incidents}
        self.vehicles = dict(vehicles)
        self.rev += 1
        self.vehicle_rev = {plate: self.rev for plate in self.vehicles}
        self.stations = stations
        self.kpis = kpis
        self.rejected = dict(rejected)
        self.resyncs += 1
        self.gap_since = None
        self.touch(*TOPICS)

    def open_gap(self, now: datetime) -> bool:
        """Mark that messages may have been missed from `now` on; False if already open."""
        if self.gap_since is not None:
            return False
        self.gap_since = now
        self.caught_up = None
        self.touch("status")
        return True

    def apply_catch_up(self, *, seq: int, incidents: list[IncidentView], rows: int,
                       rejected: dict[str, int]) -> None:
        """Close the gap with what the SQL log said: the current view of every work order
        changed meanwhile, the sequence as Redis has it now (after a failover it may be
        lower than before: the new primary had not received the last increments)."""
        self.seq = seq
        for view in incidents:
            self.incidents[view.id] = view
        self._prune()
        self.rejected = dict(rejected)
        self.gap_since = None
        self.caught_up = rows
        self.touch("incidents", "status")

    def apply_event(self, event: Event) -> str:
        """Apply one committed fact: 'applied', 'stale' (already in the snapshot) or 'gap'."""
        if event.seq <= self.seq:
            return "stale"
        outcome = "applied" if event.seq == self.seq + 1 else "gap"
        self.seq = event.seq
        self.last_event_at = event.at
        if event.incident is not None:
            self.incidents[event.incident.id] = event.incident
            self._prune()
            self.touch("incidents")
        if event.stock is not None:
            self._apply_stock(event)
            self.touch("stations")
        if event.station is not None:
            self._apply_station(event.station)
            self.touch("stations")
        if event.type == "rota.changed":  # an open console re-reads its recommendation
            self.touch("rota")
        if event.type == "callup.changed":  # ... and who answered a call-up
            self.touch("callup")
        if event.type == "rejected" and event.reason:
            self.rejected[event.reason] = self.rejected.get(event.reason, 0) + (event.count or 1)
        self.touch("status")
        return outcome

    def _apply_stock(self, event: Event) -> None:
        stock = event.stock
        assert stock is not None
        for station in self.stations:
            if station["code"] != stock.station:
                continue
            for item in station["items"]:
                if item["sku"] == stock.sku:
                    item["quantity"] = stock.quantity

    def _apply_station(self, row: dict[str, Any]) -> None:
        """Replace one station's row (a resource step sends the whole row)."""
        for n, station in enumerate(self.stations):
            if station["code"] == row.get("code"):
                self.stations[n] = row
                return
        self.stations.append(row)

    def apply_positions(self, positions: list[VehiclePosition]) -> None:
        """Keep the newest fix of each vehicle (late, older fixes are ignored)."""
        changed = False
        for p in positions:
            old = self.vehicles.get(p.plate)
            if old is None or p.at >= old.at:
                self.vehicles[p.plate] = p
                self.rev += 1
                self.vehicle_rev[p.plate] = self.rev
                changed = True
        if changed:
            self.touch("vehicles")

    def vehicles_since(self, rev: int) -> list[VehiclePosition]:
        """Vehicles whose latest fix arrived after revision `rev`."""
        return [self.vehicles[p] for p, r in self.vehicle_rev.items() if r > rev]

    def _prune(self) -> None:
        if len(self.incidents) <= KEEP_RECENT * 2:
            return
        closed = sorted(i for i, v in self.incidents.items() if v.state not in OPEN_STATES)
        for incident_id in closed[: len(self.incidents) - KEEP_RECENT]:
            del self.incidents[incident_id]

    def feed(self, limit: int) -> list[IncidentView]:
        """The newest incidents first."""
        newest = sorted(self.incidents.values(), key=lambda v: (v.created_at, v.id), reverse=True)
        return newest[:limit]

    def rejected_total(self) -> int:
        """All rejected inbound messages counted so far."""
        return sum(self.rejected.values())


def for_village(state: LiveState, village: str, kpis: KpiBoard | None) -> LiveState:
    """The picture a village's wall shows (issue 14, the village small brain): its own work
    orders and its own figures (`kpis`: the village's board); the buses, stations and health
    are the town's. The versions are the town's own counter, so screens push on change."""
    return replace(state, incidents={k: v for k, v in state.incidents.items()
                                     if v.village == village}, kpis=kpis)
