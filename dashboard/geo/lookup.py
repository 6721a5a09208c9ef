"""Geometry rules: distances, and which grid a point falls in (spatial index, not a loop)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.prepared import prep

from dashboard.town import GridCell

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def inside_point(cell: GridCell) -> tuple[float, float]:
    """A point inside the grid's polygon (lon, lat): where a map of that grid opens."""
    point = shape(cell.geometry).representative_point()
    return float(point.x), float(point.y)


@dataclass(frozen=True)
class GridHit:
    """The level-3 grid a point is in, with its village and its workers."""

    code: str
    village: str | None
    workers: tuple[str, ...] = ()
    rostered: str | None = None  # the duty rota's worker, when the rota names one

    def on_duty(self, day: date) -> str | None:
        """The grid worker on duty: the rota's (datasources/sql/rota.py) when it names
        one, else a daily rotation over the grid's workers."""
        if self.rostered:
            return self.rostered
        if not self.workers:
            return None
        return self.workers[day.toordinal() % len(self.workers)]


class GridIndex:
    """Point-in-polygon lookup over the level-3 grid with an STRtree."""

    def __init__(self, cells: Iterable[GridCell]):
        leaf = [c for c in cells if c.level == 3]
        self._cells = leaf
        self._geoms = [shape(c.geometry) for c in leaf]
        self._prepared = [prep(g) for g in self._geoms]
        self._tree = STRtree(self._geoms)
        self._hits = [GridHit(c.code, c.village,
                              tuple(w["name"] for w in sorted(c.workers, key=lambda w: w["id"])))
                      for c in leaf]

    def __len__(self) -> int:
        return len(self._cells)

    def locate(self, lon: float, lat: float) -> GridHit | None:
        """The level-3 grid containing (lon, lat), or None when outside the town."""
        point = Point(lon, lat)
        for idx in self._tree.query(point):
            if self._prepared[int(idx)].covers(point):
                return self._hits[int(idx)]
        return None

    def place(self, lon: float, lat: float) -> GridHit | None:
        """The grid a report is in, before a rota names who is on duty (intake places each
        report with it and asks the rota once for a batch: roster)."""
        return self.locate(lon, lat)

    def roster(self, hits: Sequence[GridHit], s: object = None) -> list[GridHit]:
        """The hits with the rota's worker on duty named; without a rota, as they are (`s`:
        the database session a rota is read in)."""
        return list(hits)
