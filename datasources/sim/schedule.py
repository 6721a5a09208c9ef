"""The town's buses on their timetables: each drives its assigned trips at their times (a
little early or late, as real buses are) and stands parked, with nobody aboard, otherwise.

Pure: a fix depends only on the seed, the town, the school calendar and the instant.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dashboard.buses.timetable import local_date, runs_on, trip_window
from dashboard.buses.tracking import TripPlan
from dashboard.messages import VehiclePosition

DWELL_S = 25.0  # at an intermediate stop, children boarding or alighting
MAX_KMH = 40.0  # the demo's buses keep well under the 60 km/h school-bus limit
PREP_S = 10 * 60  # a bus stands at its first stop this long before departure
JITTER_M = 3.0  # GPS noise while driving (a parked fix is exact: nothing moves)
M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class Leg:
    """One stretch of a trip: driving (d0 != d1) or dwelling at a stop, with who is aboard."""

    t0: float
    t1: float
    d0: float
    d1: float
    onboard: int


@dataclass(frozen=True)
class Run:
    """One trip of one bus on one local date, laid out second by second."""

    plan: TripPlan
    day: date
    window: tuple[float, float]  # the tracker's window of this trip (epoch seconds)
    depart: float
    arrive: float
    legs: list[Leg]


@dataclass
class ScheduledBus:
    """A town bus and the trips it drives (the same trips every day they run)."""

    plate: str
    route: str
    seats: int
    plans: list[TripPlan]
    home: TripPlan  # where it parks when it has no runs (its route's first trip)
    seed: str
    runs: dict[date, list[Run]] = field(default_factory=dict)

    def runs_on(self, day: date, holidays: frozenset[date]) -> list[Run]:
        """This bus's runs of a local date (cached: a few per day)."""
        if day not in self.runs:
            if len(self.runs) > 8:
                self.runs.clear()
            self.runs[day] = [lay_out(self, p, day) for p in self.plans
                              if runs_on(p.days, day, holidays)]
        return self.runs[day]


def assign(plans: dict[str, TripPlan],
           vehicles: list[tuple[str, str, int]]) -> dict[str, list[TripPlan]]:
    """Each route's trips dealt to its buses in departure order, so every trip has one bus."""
    by_route: dict[str, list[TripPlan]] = {}
    for plan in plans.values():
        by_route.setdefault(plan.route, []).append(plan)
    fleet: dict[str, list[str]] = {}
    for plate, route, _seats in vehicles:
        fleet.setdefault(route, []).append(plate)
    out: dict[str, list[TripPlan]] = {plate: [] for plate, _, _ in vehicles}
    for route, trips in by_route.items():
        plates = fleet.get(route) or []
        if not plates:
            continue
        for direction in ("to_school", "from_school"):
            these = sorted((p for p in trips if p.direction == direction),
                           key=lambda p: p.stop_times[0])
            for i, plan in enumerate(these):
                out[plates[i % len(plates)]].append(plan)
    return out


def lay_out(bus: ScheduledBus, plan: TripPlan, day: date) -> Run:
    """A trip's legs on a date: leave the first stop at its time (± a little), drive at most
    MAX_KMH between stops, dwell at each, board on the way to school, alight on the way back."""
    rng = random.Random(f"{bus.seed}:{bus.plate}:{plan.code}:{day}")
    times = [t.timestamp() for t in plan.times_on(day)]
    stops = plan.line.stop_m
    n = len(stops)
    # Most days within a minute or two; now and then a few minutes late.
    delay = rng.uniform(4 * 60, 7 * 60) if rng.random() < 0.05 else rng.gauss(20, 50)
    delay = min(max(delay, -45.0), 7 * 60.0)
    load = round(bus.seats * rng.uniform(0.45, 0.95))
    weights = [rng.random() + 0.2 for _ in range(n - 1)]
    total = sum(weights)
    if plan.direction == "from_school":  # all board at school, some alight at each stop
        aboard = [round(load * (1 - sum(weights[:i]) / total)) for i in range(n - 1)]
    else:
        aboard = [round(load * sum(weights[: i + 1]) / total) for i in range(n - 1)]
    legs: list[Leg] = []
    t = times[0] + delay
    for i in range(n - 1):
        last = i + 1 == n - 1
        dwell = 0.0 if last else DWELL_S * rng.uniform(0.75, 1.25)
        dist = abs(stops[i + 1] - stops[i])
        dur = max(times[i + 1] + delay - dwell - t, dist / (MAX_KMH / 3.6), 10.0)
        legs.append(Leg(t, t + dur, stops[i], stops[i + 1], aboard[i]))
        t += dur
        if not last:
            # Nobody leaves a stop before its time; the next leg carries the new head count.
            stay = max(dwell, times[i + 1] + delay - t)
            legs.append(Leg(t, t + stay, stops[i + 1], stops[i + 1], aboard[i + 1]))
            t += stay
    lo, hi = trip_window(plan.times_on(day))
    return Run(plan, day, (lo.timestamp(), hi.timestamp()), times[0] + delay, t, legs)


def _bearing(plan: TripPlan, d: float) -> float:
    (x0, y0), (x1, y1) = plan.line.lonlat(d - 2.0), plan.line.lonlat(d + 2.0)
    dx, dy = (x1 - x0) * M_PER_DEG_LAT * math.cos(math.radians(y0)), (y1 - y0) * M_PER_DEG_LAT
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _jitter(salt: int, sec: int) -> tuple[float, float, float]:
    h = random.Random(salt ^ sec)
    return (h.uniform(-JITTER_M, JITTER_M), h.uniform(-JITTER_M, JITTER_M), h.uniform(-1.5, 1.5))


def _runs_near(bus: ScheduledBus, day: date, holidays: frozenset[date]) -> list[Run]:
    """Runs of yesterday, today and tomorrow, in time order (a window may cross midnight)."""
    out: list[Run] = []
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        out += bus.runs_on(d, holidays)
    return sorted(out, key=lambda r: r.depart)


def fix_at(bus: ScheduledBus, now: datetime, holidays: frozenset[date] = frozenset(),
           salt: int = 0) -> VehiclePosition:
    """The bus's fix at `now`: on a trip it drives (labelled with the trip), else parked."""
    ts = now.timestamp()
    runs = _runs_near(bus, local_date(now), holidays)
    # The trip it is on duty for: the one running now, else the next whose window holds
    # `now`, else the last one whose window still holds it (just arrived).
    duty = next((r for r in runs if r.depart - PREP_S <= ts <= r.arrive), None)
    duty = duty or next((r for r in runs if r.window[0] <= ts < r.depart), None)
    duty = duty or next((r for r in reversed(runs) if r.arrive < ts <= r.window[1]), None)
    label = duty.plan.code if duty else None
    leg = next((g for g in (duty.legs if duty else []) if g.t0 <= ts < g.t1), None)
    if duty is not None and leg is not None:
        plan = duty.plan
        f = (ts - leg.t0) / (leg.t1 - leg.t0) if leg.t1 > leg.t0 else 0.0
        d = leg.d0 + (leg.d1 - leg.d0) * f
        moving = leg.d1 != leg.d0
        lon, lat = plan.line.lonlat(d)
        heading = _bearing(plan, d if moving else d - 3.0)
        kmh = 0.0
        if moving:
            jx, jy, jk = _jitter(salt, int(ts))
            lon += jx / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
            lat += jy / M_PER_DEG_LAT
            kmh = abs(leg.d1 - leg.d0) / (leg.t1 - leg.t0) * 3.6 + jk
        return VehiclePosition(plate=bus.plate, lon=round(lon, 6), lat=round(lat, 6),
                               speed_kmh=round(max(kmh, 0.0), 1), heading=round(heading, 1) % 360,
                               at=now, route=bus.route, trip=label, onboard=leg.onboard)
    # Parked: where today's next run starts, else where the last run ended (a bus without a
    # run later today moves to tomorrow's start at midnight, parked, when nobody watches).
    ahead = next((r for r in runs if r.depart > ts), None)
    behind = next((r for r in reversed(runs) if r.arrive <= ts), None)
    if ahead is not None and (behind is None or ahead.day == local_date(now)):
        plan, d = ahead.plan, ahead.legs[0].d0
    elif behind is not None:
        plan, d = behind.plan, behind.legs[-1].d1
    else:
        plan = bus.home
        d = plan.line.stop_m[0]
    lon, lat = plan.line.lonlat(d)
    return VehiclePosition(plate=bus.plate, lon=round(lon, 6), lat=round(lat, 6),
                           speed_kmh=0.0, heading=round(_bearing(plan, d), 1) % 360, at=now,
                           route=bus.route, trip=label, onboard=0)



def build_scheduled(plans: dict[str, TripPlan], vehicles: list[tuple[str, str, int]],
                    seed: int) -> list[ScheduledBus]:
    """The town's buses with timetabled routes, each with its share of the route's trips."""
    dealt = assign(plans, vehicles)
    first: dict[str, TripPlan] = {}
    for plan in sorted(plans.values(), key=lambda p: p.stop_times[0]):
        first.setdefault(plan.route, plan)
    return [ScheduledBus(plate, route, seats, dealt.get(plate, []), first[route], str(seed))
            for plate, route, seats in vehicles if route in first]
