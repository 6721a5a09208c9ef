"""The children's safety rules in the incident loop: after each new boarding event (overload,
wrong stop) and at the end of each trip (child left on board), what the pure rules
(dashboard/buses/child_safety.py) find becomes a work order through Intake, once across
processes (the episode key is claimed in Redis, and the store's unique source_ref guards it
too), like the bus alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime

from sqlalchemy import select

from dashboard.buses.alerts import Alert
from dashboard.buses.boarding import tally
from dashboard.buses.child_safety import (
    CHILD_ALERTS,
    LEFT_ON_BOARD,
    ChildAlert,
    child_alert_text,
    last_plate,
    late_alight_note,
    left_on_board,
    missed_stop,
    on_board_note,
    overload,
    windows_closed,
    wrong_stop,
)
from dashboard.buses.pupils import ALIGHT
from dashboard.buses.timetable import local_date
from dashboard.buses.tracking import StopReached, TripEnd, TripPlan, drives_backwards
from dashboard.incidents.lifecycle import OPEN_STATES
from dashboard.messages import IncidentReport
from dashboard.timeutil import utcnow
from datasources.flows.boarding import BoardingDesk, Recorded
from datasources.flows.intake import Intake, Outcome
from datasources.redis.publisher import Publisher
from datasources.sql import models as m

log = logging.getLogger(__name__)
EPISODE_TTL_S = 2 * 86_400


class ChildWatch:
    """Raises the children's alerts (the town's language, like the bus alerts)."""

    def __init__(self, desk: BoardingDesk, intake: Intake, bus: Publisher,
                 seats: dict[str, int], *, lang: str = "zh", alerts_on: bool = True):
        self.desk = desk
        self.intake = intake
        self.bus = bus
        self.seats = seats
        self.lang = lang
        self.alerts_on = alerts_on
        self.stats = {"alerts": 0, "skipped": 0}
        # The safety net's inputs (set by Services): the timetabled trips and the holidays,
        # the route's bus for trips whose taps name none, and how often to look.
        self.plans: Mapping[str, TripPlan] = {}
        self.holidays: frozenset[date] = frozenset()
        self.route_bus: Callable[[str], str | None] = lambda route: None
        self.sweep_s = 30.0
        self._last_sweep = -1e9

    def _place(self, trip: str, lon: float | None, lat: float | None,
               stop: str | None = None) -> tuple[float, float, dict[str, str]]:
        """Where to file it: the bus's position, else the stop, else the trip's last stop;
        and the trip's stop names."""
        found = self.desk.pupils.trip_route(trip)
        stops = found[0].stops if found else []
        names = {s.code: s.name if self.lang == "zh" else s.name_en or s.name for s in stops}
        if lon is not None and lat is not None:
            return lon, lat, names
        near = next((s for s in stops if s.code == stop), stops[-1] if stops else None)
        return (near.lon, near.lat, names) if near else (0.0, 0.0, names)

    def on_event(self, done: Recorded) -> list[Outcome]:
        """After a new boarding event: overload of its bus, a child off at the wrong stop."""
        e = done.event
        lon, lat, _ = self._place(e.trip, e.lon, e.lat, e.stop)
        found = [overload(done.manifest, done.tally, self.seats.get(e.plate or ""),
                          e.plate or "", e.day, e.at, lon, lat),
                 wrong_stop(done.manifest, e, lon, lat)]
        out = [o for o in (self.raise_alert(a) for a in found if a is not None)
               if o is not None]
        if e.event == ALIGHT:
            self.note_late_alight(done)
        return out

    def note_late_alight(self, done: Recorded) -> None:
        """A child's alight that arrives after the trip's 遗留儿童 alert (a phone's queue sent
        late) is noted on that work order, with how many are still on board."""
        e = done.event
        ref = ChildAlert(LEFT_ON_BOARD, e.plate or "", e.trip, e.day, e.at, 0.0, 0.0).key
        with self.intake.store.session() as s:
            row = s.scalar(select(m.Incident).where(m.Incident.source == "bus",
                                                    m.Incident.source_ref == ref[:64]))
            open_id = row.id if row is not None and row.state in OPEN_STATES else None
        if open_id is not None:
            self.intake.act(open_id, "note", "校车监控" if self.lang == "zh" else "bus monitor",
                            note=late_alight_note(done.manifest, done.tally, e, self.lang))

    def on_trip_end(self, end: TripEnd) -> Outcome | None:
        """At the end of a trip: every child boarded and not alighted, at once, urgent."""
        found = self.desk.trip_tally(end.trip, end.day.isoformat())
        if found is None:
            return None
        manifest, tally = found
        alert = left_on_board(manifest, tally, end.plate, end.day.isoformat(), end.at,
                              end.lon, end.lat)
        return self.raise_alert(alert) if alert is not None else None

    def sweep(self, now: datetime | None = None, force: bool = False) -> list[Outcome]:
        """The safety net, from the record: every trip of today whose window has closed is
        checked for children boarded and not alighted, whatever the tracker saw (a bus with
        no GPS fix, a server restarted during the children's grace, a lost trip end). One
        alert per trip and day across processes and with the tracker (the episode key)."""
        if not force and time.monotonic() - self._last_sweep < self.sweep_s:
            return []
        self._last_sweep = time.monotonic()
        now = now or utcnow()
        day = local_date(now)
        out = []
        for trip, closed in windows_closed(self.plans, day, now, self.holidays):
            manifest = self.desk.pupils.manifest(trip)
            if manifest is None:
                continue
            events = self.desk.events.events(trip, day.isoformat())
            plate = last_plate(events) or self.route_bus(manifest.route)
            if plate is None:
                continue
            stops = self.plans[trip].stops
            last = stops[-1] if stops else None
            alert = left_on_board(manifest, tally(manifest, events), plate, day.isoformat(),
                                  closed, last.lon if last else 0.0, last.lat if last else 0.0)
            if alert is not None:
                try:
                    done = self.raise_alert(alert)
                except Exception:  # one trip's fault never hides the next trip's child
                    log.exception("left-child check of %s not filed", trip)
                    continue
                if done is not None:
                    out.append(done)
        return out

    def on_stop_reached(self, ev: StopReached) -> list[Outcome]:
        """On the way home: children still on board after the bus left their stop."""
        manifest = self.desk.pupils.manifest(ev.trip)
        if manifest is None or not drives_backwards(manifest.direction) or \
                not manifest.stops[ev.index - 1:ev.index] or \
                not manifest.stops[ev.index - 1].pupils:
            return []  # mornings, and stops after one where nobody gets off
        found = self.desk.trip_tally(ev.trip, ev.day.isoformat())
        if found is None:
            return []
        alerts = missed_stop(found[0], found[1], ev.index, ev.plate, ev.day.isoformat(),
                             ev.at, ev.lon, ev.lat)
        return [o for o in (self.raise_alert(a) for a in alerts) if o is not None]

    def note(self, alert: Alert) -> str:
        """For the bus alerts' work orders (SOS, overspeed…): the children on that bus's
        trip now, so the officer knows who is on board."""
        if not alert.trip:
            return ""
        found = self.desk.trip_tally(alert.trip, local_date(alert.started_at).isoformat())
        return on_board_note(found[0], found[1], self.lang) if found else ""

    def raise_alert(self, alert: ChildAlert) -> Outcome | None:
        """File one alert as a work order from source bus, once across processes."""
        if not self.alerts_on:
            return None
        if not self.bus.claim(alert.key, ttl_s=EPISODE_TTL_S):
            self.stats["skipped"] += 1
            return None
        lon, lat, names = self._place(alert.trip, alert.lon, alert.lat, alert.stop)
        title, description = child_alert_text(alert, self.lang, names)
        category, priority = CHILD_ALERTS[alert.kind]
        self.stats["alerts"] += 1
        log.warning("child alert %s", alert.key)
        return self.intake.handle(IncidentReport(
            source="bus", source_ref=alert.key[:64], category=category, priority=priority,
            title=title, description=description, lon=round(lon, 6), lat=round(lat, 6),
            reported_at=alert.at))
