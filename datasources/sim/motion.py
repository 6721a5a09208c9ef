"""Simulated bus motion: the town's buses drive their timetabled trips at their times and stand
parked otherwise; extra load-test buses (SIM- plates) drive back and forth, without trips."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

import shapely

from dashboard.messages import VehiclePosition
from dashboard.town import Route, Town

M_PER_DEG_LAT = 110_574.0
MASK64 = (1 << 64) - 1
DWELL_S, TERMINAL_DWELL_S = 20.0, 40.0
JITTER_M = 3.0
SIM_SEATS = (19, 24, 31, 35, 41, 45)


def mix(z: int) -> int:
    """splitmix64: a cheap pure hash so GPS jitter depends only on (vehicle, second)."""
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _centre(town: Town) -> tuple[float, float]:
    """Origin of the local metric frame: the town centre, else the first route point."""
    paths = [r.path[0] for r in town.routes if r.path]
    centre = town.meta.get("center") or (paths[0] if paths else (0.0, 0.0))
    return float(centre[0]), float(centre[1])


def local_frame(town: Town) -> tuple[float, float, float]:
    """(lon0, lat0, metres per degree of longitude) of the town's local metric frame."""
    lon0, lat0 = _centre(town)
    return lon0, lat0, M_PER_DEG_LAT * math.cos(math.radians(lat0))


class RoutePath:
    """A route polyline in local metres with cumulative distances for O(log n) lookup."""

    def __init__(self, route: Route, lon0: float, lat0: float, kx: float):
        self.route = route
        self.lon0, self.lat0, self.kx = lon0, lat0, kx
        pts: list[tuple[float, float]] = []
        for lon, lat in route.path:
            p = ((lon - lon0) * kx, (lat - lat0) * M_PER_DEG_LAT)
            if not pts or p != pts[-1]:
                pts.append(p)
        if len(pts) < 2:
            raise ValueError(f"route {route.code} has no drivable path")
        self.xs = [p[0] for p in pts]
        self.ys = [p[1] for p in pts]
        self.cum = [0.0]
        self.heads: list[float] = []
        for i in range(1, len(pts)):
            dx, dy = self.xs[i] - self.xs[i - 1], self.ys[i] - self.ys[i - 1]
            self.cum.append(self.cum[-1] + math.hypot(dx, dy))
            self.heads.append(math.degrees(math.atan2(dx, dy)) % 360.0)
        line = shapely.LineString(pts)
        merged: list[float] = []
        for d in sorted(line.project(shapely.Point((s.lon - lon0) * kx,
                                                   (s.lat - lat0) * M_PER_DEG_LAT))
                        for s in route.stops):
            if not merged or d - merged[-1] > 1.0:
                merged.append(d)
        self.stops = merged if len(merged) > 1 else [0.0, self.cum[-1]]
        self.to_school = [t.code for t in route.trips if t.direction == "to_school"]
        self.from_school = [t.code for t in route.trips if t.direction == "from_school"]

    def at(self, d: float) -> tuple[float, float, float]:
        """(x, y, forward heading) at distance d along the path."""
        i = min(max(bisect_right(self.cum, d) - 1, 0), len(self.heads) - 1)
        seg = self.cum[i + 1] - self.cum[i]
        f = (d - self.cum[i]) / seg if seg else 0.0
        x = self.xs[i] + (self.xs[i + 1] - self.xs[i]) * f
        y = self.ys[i] + (self.ys[i + 1] - self.ys[i]) * f
        return x, y, self.heads[i]

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Back from local metres to WGS-84."""
        return self.lon0 + x / self.kx, self.lat0 + y / M_PER_DEG_LAT


@dataclass
class SimBus:
    """One simulated vehicle: a precomputed back-and-forth timetable over its route."""

    plate: str
    path: RoutePath
    salt: int
    phase: float
    cycle: float
    starts: list[float]
    # (moving, d0, d1, duration, speed_kmh, heading, onboard, trip)
    pieces: list[tuple[bool, float, float, float, float, float, int, str | None]]


def build_bus(plate: str, path: RoutePath, seats: int, rng: random.Random, nth: int) -> SimBus:
    """Lay out forward and backward legs: dwell at every stop, drive between stops."""
    s = path.stops
    n = len(s)
    base = rng.uniform(25.0, 40.0)
    weights = [rng.random() + 0.2 for _ in range(n - 1)]
    load = round(seats * rng.uniform(0.45, 0.95))
    boarded = [round(load * sum(weights[: i + 1]) / sum(weights)) for i in range(n - 1)]
    to_trip = path.to_school[nth % len(path.to_school)] if path.to_school else None
    from_trip = path.from_school[nth % len(path.from_school)] if path.from_school else None
    legs = [(list(range(n)), True, to_trip), (list(range(n - 1, -1, -1)), False, from_trip)]
    pieces: list[tuple[bool, float, float, float, float, float, int, str | None]] = []
    starts: list[float] = []
    t = 0.0
    for order, forward, trip in legs:
        for j, k in enumerate(order[:-1]):
            # Children board on the way to school and alight, mirrored, on the way back.
            onboard = boarded[j] if forward else load if j == 0 else load - boarded[j - 1]
            dwell = TERMINAL_DWELL_S if j == 0 else DWELL_S * rng.uniform(0.75, 1.25)
            pieces.append((False, s[k], s[k], dwell, 0.0, 0.0, onboard, trip))
            starts.append(t)
            t += dwell
            d1 = s[order[j + 1]]
            kmh = min(40.0, max(25.0, base * rng.uniform(0.9, 1.1)))
            dur = max(abs(d1 - s[k]) / (kmh / 3.6), 1.0)
            pieces.append((True, s[k], d1, dur, kmh, 0.0, onboard, trip))
            starts.append(t)
            t += dur
    for i, p in enumerate(pieces):  # a dwelling bus faces the way it arrived
        if not p[0]:
            prev = pieces[i - 1]
            forward = prev[2] > prev[1]
            h = path.at(p[1] - 0.5 if forward else p[1] + 0.5)[2]
            pieces[i] = (*p[:5], h if forward else (h + 180.0) % 360.0, *p[6:])
    salt = rng.getrandbits(62)
    return SimBus(plate, path, salt, rng.uniform(0, t), t, starts, pieces)


def load_test_fleet(paths: dict[str, RoutePath], seed: int, extra: int) -> list[SimBus]:
    """`extra` SIM- buses for load tests: back and forth on the routes at any hour, without
    trips or pupils (the town's own buses keep their timetables)."""
    codes = sorted(paths)
    if extra <= 0 or not codes:
        return []
    plates = [(f"SIM-{i:04d}", codes[i % len(codes)], SIM_SEATS[i % 6])
              for i in range(1, extra + 1)]
    per_route: dict[str, int] = {}
    out = []
    for plate, code, seats in plates:
        nth = per_route[code] = per_route.get(code, -1) + 1
        rng = random.Random(f"{seed}:bus:{plate}")
        out.append(build_bus(plate, paths[code], seats, rng, nth))
    return out


def positions_at(buses: list[SimBus], now: datetime) -> list[VehiclePosition]:
    """Every load-test bus's fix at `now` (pure: depends only on its legs and `now`)."""
    ts = now.timestamp()
    sec = int(ts)
    out = []
    for b in buses:
        t = (ts + b.phase) % b.cycle
        k = bisect_right(b.starts, t) - 1
        moving, d0, d1, dur, kmh, heading, _onboard, _trip = b.pieces[k]
        h = mix(b.salt ^ sec)
        jx = ((h & 0xFFFF) / 0xFFFF - 0.5) * 2 * JITTER_M
        jy = (((h >> 16) & 0xFFFF) / 0xFFFF - 0.5) * 2 * JITTER_M
        if moving:
            x, y, fh = b.path.at(d0 + (d1 - d0) * (t - b.starts[k]) / dur)
            heading = fh if d1 > d0 else (fh + 180.0) % 360.0
            kmh += ((h >> 32) & 0xFF) / 255.0 * 3.0 - 1.5
        else:
            x, y, _ = b.path.at(d0)
        lon, lat = b.path.lonlat(x + jx, y + jy)
        out.append(VehiclePosition(
            plate=b.plate, lon=round(lon, 6), lat=round(lat, 6), speed_kmh=round(kmh, 1),
            heading=round(heading, 1) % 360.0, at=now, route=b.path.route.code))
    return out
