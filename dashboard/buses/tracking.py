"""The fleet's trips, pure: match fixes to trips, keep per-vehicle trip state, rows and alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dashboard.buses.alerts import AlertConfig, FixContext, SpeedLimits, VehicleAlerts
from dashboard.buses.line import RouteLine
from dashboard.buses.timetable import (
    TripStatus,
    assess,
    classify,
    local_date,
    runs_on,
    stop_times_on,
    trip_window,
)
from dashboard.timeutil import as_utc

DEPARTED_M = 100.0  # driven this far past the first stop = the trip has started
ARRIVED_M = 40.0  # within this of the last stop, after departing = the trip is done
MAX_ENDED = 1000


@dataclass(frozen=True)
class StopInfo:
    """A stop as a trip visits it."""

    code: str
    name: str
    name_en: str
    lon: float
    lat: float


@dataclass
class TripPlan:
    """One timetabled trip with its stops in driving order and its path in that direction."""

    code: str
    route: str
    route_name: str
    route_name_en: str
    direction: str
    days: str
    stop_times: list[str]
    stops: list[StopInfo]
    line: RouteLine

    def times_on(self, day: date) -> list[datetime]:
        """UTC stop times on a local date."""
        return stop_times_on(day, self.stop_times)


def drives_backwards(direction: str) -> bool:
    """True for afternoon trips (from_school): they drive the route's stops in reverse."""
    return direction == "from_school"


def build_plans(routes: list[Any]) -> dict[str, TripPlan]:
    """Trip plans from town routes (dashboard.town.Route); from_school trips drive backwards."""
    plans: dict[str, TripPlan] = {}
    for r in routes:
        lines: dict[bool, RouteLine] = {}
        for t in r.trips:
            backwards = drives_backwards(t.direction)
            stops = [StopInfo(s.code, s.name, s.name_en, s.lon, s.lat) for s in r.stops]
            path = list(r.path)
            if backwards:
                stops.reverse()
                path.reverse()
            if backwards not in lines:
                lines[backwards] = RouteLine(path, [(s.lon, s.lat) for s in stops])
            if len(t.stop_times) != len(stops):
                raise ValueError(f"trip {t.code}: {len(t.stop_times)} times for "
                                 f"{len(stops)} stops")
            plans[t.code] = TripPlan(t.code, r.code, r.name, r.name_en, t.direction, t.days,
                                     list(t.stop_times), stops, lines[backwards])
    return plans


@dataclass(frozen=True)
class TripEnd:
    """A trip that just ended for a bus: at its last stop, or with its window closed."""

    plate: str
    trip: str
    day: date
    at: datetime
    lon: float
    lat: float
    arrived: bool


@dataclass(frozen=True)
class StopReached:
    """A bus on a trip reached the stop `index` (in driving order) after departing."""

    plate: str
    trip: str
    day: date
    index: int
    stop: str
    at: datetime
    lon: float
    lat: float


@dataclass
class BusTrack:
    """One vehicle's trip in progress."""

    plate: str
    route: str | None
    seats: int | None
    alerts: VehicleAlerts
    plan: TripPlan | None = None
    day: date | None = None
    times: list[datetime] = field(default_factory=list)
    along_m: float | None = None
    departed: bool = False
    arrived: bool = False
    lon: float = 0.0
    lat: float = 0.0
    at: datetime | None = None
    onboard: int | None = None
    occupancy: float | None = None  # load as given by the feed (0..1+), when no head count
    done: set[str] = field(default_factory=set)
    reached: int = 0  # the furthest stop (index) reached on this trip; 0: the first


class Fleet:
    """Every vehicle's trip state; `observe` fixes, `tick` the clock, read `row`/`detail`."""

    def __init__(self, plans: dict[str, TripPlan], vehicles: dict[str, tuple[str | None, int]],
                 cfg: AlertConfig | None = None, limits: SpeedLimits | None = None,
                 holidays: frozenset[date] = frozenset()):
        self.plans = plans
        self.vehicles = vehicles
        self.cfg = cfg or AlertConfig()
        self.limits = limits or SpeedLimits(self.cfg.limit_kmh)
        self.holidays = holidays
        self.tracks: dict[str, BusTrack] = {}
        self.finished: dict[str, dict[str, Any]] = {}  # "day:trip" -> arrival punctuality
        # Trips that ended since the owner last drained this list (the children's rules);
        # kept short when nobody drains it (a bench's fleet).
        self.ended: list[TripEnd] = []
        self.reached: list[StopReached] = []  # likewise: stops reached (未下车)
        self.by_route: dict[str, list[TripPlan]] = {}
        for p in plans.values():
            self.by_route.setdefault(p.route, []).append(p)

    def set_limits(self, limits: SpeedLimits) -> None:
        """Speed limits from now on (a town's speed zones saved on /admin), for every bus."""
        self.limits = limits
        for t in self.tracks.values():
            t.alerts.limits = limits

    def track(self, plate: str) -> BusTrack:
        """The vehicle's state, created on first sight (unknown plates have no route)."""
        t = self.tracks.get(plate)
        if t is None:
            route, seats = self.vehicles.get(plate, (None, None))
            t = self.tracks[plate] = BusTrack(plate, route, seats,
                                              VehicleAlerts(plate, self.cfg, self.limits))
        return t

    def _pick(self, t: BusTrack, trip: str | None, at: datetime) -> tuple[TripPlan, date] | None:
        day = local_date(at)
        if trip and trip in self.plans:
            plan = self.plans[trip]
            lo, hi = trip_window(plan.times_on(day))
            if lo <= at <= hi and runs_on(plan.days, day, self.holidays):
                return plan, day
            return None  # a trip label outside its time is not a trip in progress
        best: tuple[TripPlan, date] | None = None
        plans = self.by_route.get(t.route or "", [])
        # A trip another bus of the route is on is not this bus's: one bus per trip.
        held = {o.plan.code for o in self.tracks.values()
                if o is not t and o.plan is not None and o.day == day} if plans else set()
        for plan in plans:
            if (not runs_on(plan.days, day, self.holidays) or f"{day}:{plan.code}" in t.done
                    or plan.code in held):
                continue
            lo, hi = trip_window(plan.times_on(day))
            if lo <= at <= hi and (best is None or plan.stop_times[0] < best[0].stop_times[0]):
                best = (plan, day)
        return best

    def _start(self, t: BusTrack, plan: TripPlan | None, day: date | None) -> None:
        if plan is not None and t.plan is not None and plan.code == t.plan.code and t.day == day:
            return
        t.plan, t.day = plan, day
        t.times = plan.times_on(day) if plan is not None and day is not None else []
        t.along_m, t.departed, t.arrived, t.reached = None, False, False, 0

    def observe(self, plate: str, at: datetime, lon: float, lat: float, speed_kmh: float,
                *, trip: str | None = None, onboard: int | None = None,
                alarm: int | None = None, occupancy_pct: float | None = None) -> list:
        """Apply one fix: update the trip state and return the alerts it starts."""
        at = as_utc(at)
        t = self.track(plate)
        if t.at is not None and at <= t.at:
            return t.alerts.on_late_fix(at, lon, lat, alarm,
                                        t.plan.code if t.plan is not None else None)
        if t.plan is not None and t.arrived:
            t.done.add(f"{t.day}:{t.plan.code}")  # the next trip of the day may start now
        picked = self._pick(t, trip, at)
        self._start(t, *(picked or (None, None)))
        t.lon, t.lat, t.at = lon, lat, at
        t.onboard = onboard if onboard is not None else t.onboard
        t.occupancy = occupancy_pct / 100.0 if occupancy_pct is not None else t.occupancy
        ctx = FixContext(trip=t.plan.code if t.plan else None)
        if t.plan is not None:
            line = t.plan.line
            near = t.along_m if t.along_m is not None else line.stop_m[0]
            m = line.match(lon, lat, near)
            seen_before = t.along_m is not None
            # Progress never runs backwards on GPS jitter; a real reversal would be off-route.
            t.along_m = max(m.along_m, t.along_m or 0.0) if t.departed else m.along_m
            # Departed = on the route and past the first stop (a depot beside the route,
            # further along, is not a departure).
            t.departed = t.departed or (t.along_m > line.stop_m[0] + DEPARTED_M
                                        and m.offset_m <= self.cfg.corridor_m)
            if t.departed and seen_before:
                # Stops reached since the last fix (a bus first seen mid-route reached none).
                ahead = [i for i, d in enumerate(line.stop_m)
                         if i > t.reached and t.along_m >= d - ARRIVED_M]
                for i in ahead:
                    assert t.day is not None
                    s = t.plan.stops[i]
                    self.reached.append(StopReached(plate, t.plan.code, t.day, i, s.code, at,
                                                    lon, lat))
                del self.reached[:-MAX_ENDED]
                t.reached = max([t.reached, *ahead])
            elif t.departed:
                t.reached = max([t.reached, *(i for i, d in enumerate(line.stop_m)
                                              if t.along_m >= d - ARRIVED_M)])
            if not t.arrived and t.departed and t.along_m >= line.stop_m[-1] - ARRIVED_M:
                t.arrived = True
                assert t.day is not None
                self.ended.append(TripEnd(plate, t.plan.code, t.day, at, lon, lat, True))
                del self.ended[:-MAX_ENDED]
                # Punctuality of the finished trip, for the day's board; a bus first seen
                # already at its terminal (a restarted process) says nothing about it.
                if seen_before:
                    delay = (at - t.times[-1]).total_seconds()
                    self.finished[f"{t.day}:{t.plan.code}"] = {
                        "plate": plate, "arrived": at.isoformat(), "delay_s": delay,
                        "status": classify(delay)}
            # Before departure a bus may come from its depot by any road: route rules
            # apply from the first stop on.
            ctx = FixContext(on_trip=t.departed and not t.arrived,
                             offset_m=line.offset_m(lon, lat),
                             near_stop=self._near_stop(t.plan, lon, lat), trip=t.plan.code)
        return t.alerts.on_fix(at, lon, lat, speed_kmh, alarm, ctx)

    def _near_stop(self, plan: TripPlan, lon: float, lat: float) -> bool:
        kx = 110_574.0 * math.cos(math.radians(lat))
        r = self.cfg.stop_radius_m
        return any(math.hypot((s.lon - lon) * kx, (s.lat - lat) * 110_574.0) <= r
                   for s in plan.stops)

    def tick(self, now: datetime) -> list:
        """Clock rules for every vehicle: signal lost, late departure; trips that ended."""
        now = as_utc(now)
        out = []
        for t in self.tracks.values():
            if t.plan is not None and t.times:
                if now > trip_window(t.times)[1]:
                    if not t.arrived and t.day is not None:  # the window closed first
                        self.ended.append(TripEnd(t.plate, t.plan.code, t.day, now, t.lon,
                                                  t.lat, False))
                    self._start(t, None, None)
                    continue
                out += t.alerts.check_departure(t.plan.code, t.times[0], now,
                                                t.departed, t.lon, t.lat)
                # A parked bus may report rarely until its departure time.
                running = (t.departed or now >= t.times[0]) and not t.arrived
                for a in t.alerts.on_tick(now, on_trip=running):
                    out.append(a)
        return out

    def row(self, plate: str, now: datetime) -> dict[str, Any]:
        """The board row of one vehicle (the shape of LiveState.trips values)."""
        t = self.track(plate)
        base: dict[str, Any] = {"plate": plate, "route": t.route, "route_name": None,
                                "route_name_en": None, "trip": None, "next_stop": None,
                                "next_stop_en": None, "eta_next": None, "status": "done",
                                "delay_min": None, "load": self._load(t),
                                "at": t.at.isoformat() if t.at else None}
        if t.plan is None:
            # Between trips a bus is idle (not a trip "not started"), or done for the day.
            today = f"{local_date(now)}:"
            if not any(k.startswith(today) for k in t.done):
                base["status"] = "idle"
            return base
        st = self.status(t, now)
        nxt = st.next_stop
        eta = st.etas[nxt] if nxt is not None else None
        base.update(route=t.plan.route, route_name=t.plan.route_name,
                    route_name_en=t.plan.route_name_en, trip=t.plan.code, status=st.status,
                    next_stop=t.plan.stops[nxt].name if nxt is not None else None,
                    next_stop_en=t.plan.stops[nxt].name_en if nxt is not None else None,
                    eta_next=eta.isoformat() if eta else None,
                    delay_min=round(st.delay_s / 60.0, 1))
        return base

    def status(self, t: BusTrack, now: datetime) -> TripStatus:
        """TripStatus of a vehicle's current trip."""
        assert t.plan is not None
        nxt = t.plan.line.next_stop(t.along_m) if t.along_m is not None else 0
        done = self.finished.get(f"{t.day}:{t.plan.code}")
        return assess(t.plan.line.stop_m, t.times, t.along_m, now, departed=t.departed,
                      arrived=t.arrived, next_stop=nxt,
                      arrival_delay_s=done["delay_s"] if done else None)

    def detail(self, plate: str, now: datetime) -> dict[str, Any] | None:
        """A vehicle's trip with every stop: scheduled time, ETA, passed or not."""
        t = self.tracks.get(plate)
        if t is None or t.plan is None:
            return None
        st = self.status(t, now)
        stops = []
        for i, s in enumerate(t.plan.stops):
            eta = st.etas[i]
            stops.append({"code": s.code, "name": s.name, "name_en": s.name_en,
                          "scheduled": t.times[i].isoformat(),
                          "eta": eta.isoformat() if eta is not None else None,
                          "passed": eta is None})
        return {**self.row(plate, now), "stops": stops}

    @staticmethod
    def _load(t: BusTrack) -> float | None:
        if t.onboard is not None and t.seats:
            return round(t.onboard / t.seats, 2)
        return round(t.occupancy, 2) if t.occupancy is not None else None
