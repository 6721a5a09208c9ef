"""The bus tracker: positions from the hub in, trip rows to LiveState, alerts to Intake.

Runs in every server process (each sees every fix). Alerts are raised and history is written
by the process holding the leader lease (`leads`, datasources/redis/lease.py); the others keep
the alerts they saw for a while and raise them if they take the lease over, so a leader's
death loses none. The episode key (Redis SET NX) and the time-bucket claim stay as a second
guard, so an alert enters the incident loop once and a period's history is written once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

from dashboard.buses.alerts import Alert, AlertConfig, SpeedLimits, alert_text, parse_zones
from dashboard.buses.tracking import Fleet, StopReached, TripEnd, build_plans
from dashboard.messages import MAX_TEXT, IncidentReport, VehiclePosition
from dashboard.screens.live import LiveState
from dashboard.settings import Settings
from dashboard.timeutil import utcnow
from datasources.flows.intake import Intake, Outcome
from datasources.redis.publisher import Publisher
from datasources.sql.buses import BusStore

log = logging.getLogger(__name__)

# kind -> (category, priority, 中文, English)
ALERT_KINDS: dict[str, tuple[str, str, str, str]] = {
    "overspeed": ("traffic", "high", "校车超速", "School bus overspeed"),
    "off_route": ("traffic", "high", "校车偏离线路", "School bus off route"),
    "unscheduled_stop": ("traffic", "normal", "校车异常停车", "School bus unscheduled stop"),
    "signal_lost": ("education", "high", "校车信号丢失", "School bus signal lost"),
    "late_departure": ("education", "normal", "校车晚发车", "School bus late departure"),
    "sos": ("traffic", "urgent", "校车紧急报警", "School bus SOS alarm"),
}
EPISODE_TTL_S = 12 * 3600
# Fixes applied between two yields to the event loop: a fleet's message of 500 applied at
# once held every wall's frame and every request behind it.
SLICE = 50


def alert_report(alert: Alert) -> IncidentReport:
    """The incident report an alert becomes (source 'bus', 校车监控)."""
    category, priority, _zh, _en = ALERT_KINDS[alert.kind]
    title, description = alert_text(alert)  # the town's language, local time
    return IncidentReport(
        source="bus", source_ref=alert.key[:64], category=category, priority=priority,
        title=title, description=description,
        lon=round(alert.lon, 6), lat=round(alert.lat, 6), reported_at=alert.started_at)


def alert_config(settings: Settings) -> AlertConfig:
    """Alert thresholds from the settings table."""
    return AlertConfig(limit_kmh=settings.bus_speed_limit_kmh,
                       corridor_m=settings.bus_corridor_m,
                       signal_lost_s=settings.bus_signal_lost_s,
                       late_departure_s=settings.bus_late_departure_min * 60.0)


def speed_limits(settings: Settings, town_dir: str) -> SpeedLimits:
    """The default limit and the town's `speed_zones.json` (20 km/h stretches), if any."""
    path = Path(town_dir) / "speed_zones.json"
    zones = parse_zones(json.loads(path.read_text("utf-8"))) if path.exists() else []
    return SpeedLimits(settings.bus_speed_limit_kmh, zones)


def holidays(settings: Settings) -> frozenset[date]:
    """Local dates without school (ZN_BUS_HOLIDAYS, comma-separated ISO dates)."""
    return frozenset(date.fromisoformat(d.strip())
                     for d in settings.bus_holidays.split(",") if d.strip())


class BusTracker:
    """Keeps the fleet's trips current and turns alert episodes into incident reports."""

    def __init__(self, fleet: Fleet, state: LiveState, intake: Intake, bus: Publisher,
                 history: BusStore, *, alerts_on: bool = True, sample_s: float = 10.0,
                 tick_s: float = 5.0):
        self.fleet = fleet
        self.state = state
        self.intake = intake
        self.bus = bus
        self.history = history
        self.alerts_on = alerts_on
        self.sample_s = sample_s
        self.tick_s = tick_s
        self.samples: dict[str, VehiclePosition] = {}
        self.leads: Callable[[], bool] = lambda: True  # the hub's leader lease
        # TownTables.speed_limits when wired: the zones a town saves on /admin.
        self.limits_source: Callable[[], SpeedLimits] | None = None
        self.deferred: list[tuple[float, Alert]] = []  # seen while not leading
        self.defer_s = 30.0
        self.stats = {"fixes": 0, "alerts": 0, "alerts_skipped": 0, "samples": 0}
        self.route_staff: dict[str, dict[str, str]] = {}
        self.vehicle_records: dict[str, dict] = {}
        # Called with each alert this process raised (once per episode across processes):
        # the parents' group is told (issue 13). A failing hook never stops the alert.
        self.alert_hooks: list[Callable[[Alert], None]] = []
        # Issue 13: called (in a thread) with each trip that ended: the children's rules. A
        # bus at its last stop gives the children `alight_grace_s` to get off first.
        self.trip_end_hooks: list[Callable[[TripEnd], object]] = []
        self.alight_grace_s = 180.0
        self.pending_ends: list[TripEnd] = []
        self._end_timer: asyncio.Task[None] | None = None
        self.stop_hooks: list[Callable[[StopReached], object]] = []  # 未下车
        # Issue 13: words added to an alert's work order (the children on board).
        self.alert_notes: list[Callable[[Alert], str]] = []

    @classmethod
    def from_settings(cls, settings: Settings, state: LiveState, intake: Intake, bus: Publisher,
                      history: BusStore) -> BusTracker:
        """Build the fleet from the routes and vehicles in the database."""
        plans = build_plans(history.routes())
        vehicles = {p: (v["route"], v["seats"]) for p, v in history.vehicles().items()}
        cfg = alert_config(settings)
        fleet = Fleet(plans, vehicles, cfg, speed_limits(settings, settings.town_dir),
                      holidays(settings))
        tracker = cls(fleet, state, intake, bus, history, alerts_on=settings.bus_alerts,
                      sample_s=settings.bus_history_s)
        # Read once: the bus page shows staff and the vehicle record without SQL per tick.
        tracker.route_staff = {r.code: dict(r.staff) for r in history.routes()}
        tracker.alight_grace_s = settings.bus_alight_grace_s
        tracker.vehicle_records = history.vehicles()
        return tracker

    # ------------------------------------------------------------------ pure-ish steps
    def observe(self, positions: Iterable[VehiclePosition]) -> list[Alert]:
        """Apply fixes to the fleet and LiveState.trips; returns new alerts."""
        alerts: list[Alert] = []
        if self.limits_source is not None:  # the town's speed zones, /admin's override
            limits = self.limits_source()
            if limits is not self.fleet.limits:
                self.fleet.set_limits(limits)
        for p in positions:
            self.stats["fixes"] += 1
            alerts += self.fleet.observe(p.plate, p.at, p.lon, p.lat, p.speed_kmh,
                                         trip=p.trip, onboard=p.onboard, alarm=p.alarm,
                                         occupancy_pct=p.occupancy_pct)
            row = self.state.trips[p.plate] = self.fleet.row(p.plate, p.at)
            # History is filed under the trip the tracker matched (JT/T 808 sends none).
            if row["trip"] and row["trip"] != p.trip:
                p = p.model_copy(update={"trip": row["trip"], "route": row["route"]})
            sampled = self.samples.get(p.plate)
            if sampled is None or p.at >= sampled.at:  # a late re-sent fix never wins
                self.samples[p.plate] = p
        self.state.touch("trips")
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Clock rules and fresh rows for every tracked bus."""
        alerts = self.fleet.tick(now)
        for plate in self.fleet.tracks:
            self.state.trips[plate] = self.fleet.row(plate, now)
        self.state.touch("trips")
        return alerts

    # ------------------------------------------------------------------ I/O
    def raise_alert(self, alert: Alert) -> Outcome | None:
        """Report one alert into the incident loop, once across processes."""
        if not self.alerts_on:
            return None
        if not self.bus.claim(alert.key, ttl_s=EPISODE_TTL_S):
            self.stats["alerts_skipped"] += 1
            return None
        self.stats["alerts"] += 1
        log.info("bus alert %s", alert.key)
        report = alert_report(alert)
        notes = []
        for note in self.alert_notes:
            try:
                notes.append(note(alert))
            except Exception:  # the alert matters more than its note
                log.exception("note for %s not added", alert.key)
        extra = "".join(n for n in notes if n)
        if extra:
            report = report.model_copy(update={
                "description": (report.description + extra)[:MAX_TEXT]})
        outcome = self.intake.handle(report)
        for hook in self.alert_hooks:
            try:
                hook(alert)
            except Exception:
                log.exception("alert hook failed for %s", alert.key)
        return outcome

    def raise_all(self, alerts: list[Alert]) -> list[Outcome]:
        """Raise several alerts (the leader only; the others keep them `defer_s` in case
        they take over); one failing never stops the others."""
        cutoff = time.monotonic() - self.defer_s
        if not self.leads():
            self.deferred = [(t, a) for t, a in self.deferred if t >= cutoff]
            self.deferred += [(time.monotonic(), a) for a in alerts]
            return []
        if self.deferred:  # seen before this process led: the episode key dedups them
            alerts = [a for t, a in self.deferred if t >= cutoff] + alerts
            self.deferred = []
        out = []
        for a in alerts:
            try:
                res = self.raise_alert(a)
            except Exception:  # a store or Redis fault must not stop tracking
                log.exception("could not raise %s", a.key)
                continue
            if res is not None:
                out.append(res)
        return out

    def take_ends(self, now: datetime) -> list[TripEnd]:
        """The trips whose end is due at `now`: a closed window at once, a bus at its last
        stop once the children had `alight_grace_s` to get off (the rest wait)."""
        self.pending_ends += self.fleet.ended
        self.fleet.ended = []
        due = [e for e in self.pending_ends
               if not e.arrived or now >= e.at + timedelta(seconds=self.alight_grace_s)]
        if due:
            self.pending_ends = [e for e in self.pending_ends if e not in due]
        return due

    def take_stops(self) -> list[StopReached]:
        """The stops buses reached since the last call (drained from the fleet)."""
        stops, self.fleet.reached = self.fleet.reached, []
        return stops

    def handle_stops(self, stops: list[StopReached]) -> None:
        """Run the stop hooks; one failing never stops the others."""
        for ev in stops:
            for hook in self.stop_hooks:
                try:
                    hook(ev)
                except Exception:  # a store or Redis fault must not stop tracking
                    log.exception("stop %s of %s %s not checked", ev.stop, ev.plate, ev.trip)

    def handle_ends(self, ends: list[TripEnd]) -> None:
        """Run the trip-end hooks; one failing never stops the others."""
        for end in ends:
            for hook in self.trip_end_hooks:
                try:
                    hook(end)
                except Exception:  # a store or Redis fault must not stop tracking
                    log.exception("trip end of %s %s not checked", end.plate, end.trip)

    def flush_history(self, bucket: int) -> int:
        """Write the latest fix per bus of one sampling period, if this process claims it."""
        if not self.samples:
            return 0
        batch, self.samples = list(self.samples.values()), {}
        if not self.leads():
            return 0
        # Every process flushes the period that just ended; the first to claim it writes.
        if not self.bus.claim(f"bus-history:{bucket}", ttl_s=int(self.sample_s * 6) + 1):
            return 0
        n = self.history.save_positions(batch)
        self.stats["samples"] += n
        return n

    # ------------------------------------------------------------------ in the hub
    async def on_positions(self, positions: list[VehiclePosition]) -> None:
        """Called by the hub for every vehicles message."""
        alerts: list[Alert] = []
        for start in range(0, len(positions), SLICE):
            if start:  # the loop's other work (a wall's frame, a request) between slices
                await asyncio.sleep(0)
            try:
                alerts += self.observe(positions[start:start + SLICE])
            except Exception:  # a tracking bug must not stop the hub's subscriber
                log.exception("bus tracker could not apply %s fixes", len(positions))
                return
        if alerts:
            await asyncio.to_thread(self.raise_all, alerts)
        ends = self.take_ends(utcnow())
        if ends:
            await asyncio.to_thread(self.handle_ends, ends)
        if self.pending_ends and (self._end_timer is None or self._end_timer.done()):
            # A bus at its last stop: its children's check runs when their grace is up, not
            # at the clock's next tick (a child left on board is told at once).
            self._end_timer = asyncio.create_task(self._ends_when_due(),
                                                  name="bus trip ends when due")
        stops = self.take_stops()
        if stops and self.stop_hooks:
            await asyncio.to_thread(self.handle_stops, stops)

    async def _ends_when_due(self) -> None:
        """Sleep until the earliest pending trip end is due, check it, repeat while any."""
        while self.pending_ends:
            grace = timedelta(seconds=self.alight_grace_s)
            wait = min((e.at + grace - utcnow()).total_seconds() for e in self.pending_ends)
            if wait > 0:
                await asyncio.sleep(min(wait + 0.01, self.tick_s))
                continue
            ends = self.take_ends(utcnow())
            if ends:
                try:
                    await asyncio.to_thread(self.handle_ends, ends)
                except Exception:  # the clock's tick tries the rest
                    log.exception("trip ends not checked")

    async def run(self, notify: Callable[[], Awaitable[None]]) -> None:
        """Tick the clock rules and write history until cancelled."""
        try:
            last_bucket = int(utcnow().timestamp() // self.sample_s)
            while True:
                await asyncio.sleep(self.tick_s)
                try:
                    now = utcnow()
                    alerts = self.tick(now)
                    if alerts:
                        await asyncio.to_thread(self.raise_all, alerts)
                    ends = self.take_ends(now)
                    if ends:
                        await asyncio.to_thread(self.handle_ends, ends)
                    bucket = int(now.timestamp() // self.sample_s)
                    if bucket != last_bucket:
                        await asyncio.to_thread(self.flush_history, bucket - 1)
                        last_bucket = bucket
                    await notify()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("bus tracker tick failed")
        finally:
            if self._end_timer is not None:
                self._end_timer.cancel()
