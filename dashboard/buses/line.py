"""A route's path in local metres: project a GPS fix onto it, stop distances, corridor distance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.ops import substring

M_PER_DEG_LAT = 110_574.0
# A fix is matched to the part of the path just behind and ahead of the last match, so a
# loop route (start == end) or a road driven twice is not confused with its other pass.
BEHIND_M, AHEAD_M = 80.0, 2500.0


@dataclass(frozen=True)
class Match:
    """A fix projected onto the route: distance along it, offset from it, progress 0..1."""

    along_m: float
    offset_m: float
    progress: float


class RouteLine:
    """One route's polyline in a local metric frame (equirectangular about its first point)."""

    def __init__(self, path: Sequence[Sequence[float]], stops: Sequence[tuple[float, float]]):
        if len(path) < 2:
            raise ValueError("a route path needs at least two points")
        self.lon0, self.lat0 = float(path[0][0]), float(path[0][1])
        self.kx = M_PER_DEG_LAT * math.cos(math.radians(self.lat0))
        pts: list[tuple[float, float]] = []
        for lon, lat in path:
            p = self.xy(lon, lat)
            if not pts or p != pts[-1]:
                pts.append(p)
        if len(pts) < 2:
            raise ValueError("a route path needs two distinct points")
        self.line = shapely.LineString(pts)
        self.length_m = float(self.line.length)
        self.stop_m = self._stop_distances(stops)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """WGS-84 to local metres."""
        return ((lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)

    def lonlat(self, along_m: float) -> tuple[float, float]:
        """The WGS-84 point at a distance along the path."""
        p = self.line.interpolate(min(max(along_m, 0.0), self.length_m))
        return self.lon0 + p.x / self.kx, self.lat0 + p.y / M_PER_DEG_LAT

    def _stop_distances(self, stops: Sequence[tuple[float, float]]) -> list[float]:
        # Each stop is looked for after the previous one: on a loop the last stop (the
        # first one again) lies at the end of the path, not at its start.
        out: list[float] = []
        last = 0.0
        for lon, lat in stops:
            pt = shapely.Point(self.xy(lon, lat))
            part = substring(self.line, last, self.length_m)
            d = last + float(part.project(pt)) if part.length > 0 else last
            out.append(d)
            last = d
        return out

    def match(self, lon: float, lat: float, near_m: float | None = None) -> Match:
        """Project a fix; with `near_m` (the last match) only the stretch around it is used."""
        pt = shapely.Point(self.xy(lon, lat))
        if near_m is not None:
            lo = max(0.0, near_m - BEHIND_M)
            hi = min(self.length_m, near_m + AHEAD_M)
            part = substring(self.line, lo, hi)
            if part.length > 0:
                along = lo + float(part.project(pt))
                offset = float(part.distance(pt))
                # A bus that took a shortcut far ahead is found on the whole path instead.
                if offset <= 2 * BEHIND_M:
                    return Match(along, offset, along / self.length_m)
        along = float(self.line.project(pt))
        return Match(along, float(self.line.distance(pt)), along / self.length_m)

    def offset_m(self, lon: float, lat: float) -> float:
        """Distance of a point from the path (metres): the corridor test of off-route."""
        return float(self.line.distance(shapely.Point(self.xy(lon, lat))))

    def next_stop(self, along_m: float, at_stop_m: float = 30.0) -> int | None:
        """Index of the next stop ahead (a bus standing at a stop is heading for the one after)."""
        for i, d in enumerate(self.stop_m):
            if d > along_m + at_stop_m:
                return i
        return None
