"""Geometry checks of a town's imported data (issue 16), reported per feature.

Pure functions over the parsed grids and routes: each returns typed findings (the feature,
the kind of fault and the figures its message needs). The words are the i18n table's
(`imp_<kind>` keys in dashboard/i18n/town_text.py); the importer and /admin print them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely import STRtree
from shapely.affinity import affine_transform
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import explain_validity

from dashboard.town import GridCell, Route

# The kinds of geometry fault and whether each blocks the import (an error) or is only
# shown (a warning: a grid without a worker takes reports nobody is told of, but a town may
# be hiring; the import goes ahead).
ERROR, WARNING = "error", "warning"
KIND_SEVERITY: dict[str, str] = {
    "invalid_polygon": ERROR,
    "not_in_parent": ERROR,
    "overlap": ERROR,
    "gap": ERROR,
    "no_worker": WARNING,
    "stop_off_route": ERROR,
    # Not geometry, but the same severity table: a bus whose route the town no longer
    # runs (routes re-imported from GTFS under new codes) is tracked without a timetable.
    "vehicle_route": WARNING,
}
# Tolerances: digitised boundaries never meet exactly. Slivers under these are not faults.
AREA_TOLERANCE_M2 = 200.0
STOP_TOLERANCE_M = 80.0


@dataclass(frozen=True)
class Finding:
    """One fault of one feature: `kind` is a KIND_SEVERITY key; `params` fill its words."""

    kind: str
    feature: str
    file: str = "grids"
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def severity(self) -> str:
        return KIND_SEVERITY.get(self.kind, ERROR)

    @property
    def message_key(self) -> str:
        return f"imp_{self.kind}"


def _metres(geom: BaseGeometry, lat0: float) -> BaseGeometry:
    """The geometry in local metres (equirectangular about lat0): areas in m²."""
    kx = 111_320.0 * math.cos(math.radians(lat0))
    return affine_transform(geom, [kx, 0.0, 0.0, 110_574.0, 0.0, 0.0])


def _area_m2(geom: BaseGeometry, lat0: float) -> float:
    return float(_metres(geom, lat0).area) if not geom.is_empty else 0.0


def _shapes(cells: Sequence[GridCell]) -> tuple[dict[str, BaseGeometry], list[Finding]]:
    """The valid polygons by code, and a finding for each one that is not."""
    out: dict[str, BaseGeometry] = {}
    found: list[Finding] = []
    for c in cells:
        try:
            geom = shape(c.geometry)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            found.append(Finding("invalid_polygon", c.code, params={"reason": str(exc)[:80]}))
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            found.append(Finding("invalid_polygon", c.code, params={"reason": geom.geom_type}))
        elif not geom.is_valid:
            found.append(Finding("invalid_polygon", c.code,
                                 params={"reason": explain_validity(geom)[:80]}))
        else:
            out[c.code] = geom
    return out, found


def check_grids(cells: Sequence[GridCell], boundary: dict[str, Any] | None = None,
                tolerance_m2: float = AREA_TOLERANCE_M2) -> list[Finding]:
    """Invalid polygons, grids not inside their parent, overlaps and gaps within a level
    (over `tolerance_m2`; gaps of level 1 against the town's `boundary` when given, of the
    lower levels against their parent), and level-3 grids without a worker."""
    geoms, found = _shapes(cells)
    if not geoms:
        return found
    lat0 = sum(g.centroid.y for g in geoms.values()) / len(geoms)
    by_code = {c.code: c for c in cells}
    for c in cells:  # a child inside its parent
        if c.parent and c.code in geoms and c.parent in geoms:
            outside = _area_m2(geoms[c.code].difference(geoms[c.parent]), lat0)
            if outside > tolerance_m2:
                found.append(Finding("not_in_parent", c.code,
                                     params={"parent": c.parent, "m2": round(outside)}))
    for level in (1, 2, 3):
        codes = sorted(code for code in geoms if by_code[code].level == level)
        found += _overlaps(codes, geoms, lat0, tolerance_m2)
        if level == 1:
            if boundary:
                try:
                    town = shape(boundary)
                except (AttributeError, KeyError, TypeError, ValueError):
                    town = None
                if town is not None and town.is_valid:
                    found += _gaps("town", town, [geoms[c] for c in codes], lat0, tolerance_m2)
            continue
        parents = sorted({by_code[c].parent for c in codes if by_code[c].parent in geoms},
                         key=str)
        for p in parents:
            kids = [geoms[c] for c in codes if by_code[c].parent == p]
            found += _gaps(str(p), geoms[str(p)], kids, lat0, tolerance_m2)
    for c in cells:
        if c.level == 3 and not [w for w in c.workers if w.get("id")]:
            found.append(Finding("no_worker", c.code))
    return found


def _overlaps(codes: list[str], geoms: dict[str, BaseGeometry], lat0: float,
              tolerance_m2: float) -> list[Finding]:
    found: list[Finding] = []
    shapes = [geoms[c] for c in codes]
    tree = STRtree(shapes)
    for i, code in enumerate(codes):
        for j in sorted(int(j) for j in tree.query(shapes[i])):
            if j <= i:
                continue
            both = _area_m2(shapes[i].intersection(shapes[j]), lat0)
            if both > tolerance_m2:
                found.append(Finding("overlap", code, params={"other": codes[j],
                                                              "m2": round(both)}))
    return found


def _gaps(owner: str, whole: BaseGeometry, parts: list[BaseGeometry], lat0: float,
          tolerance_m2: float) -> list[Finding]:
    """The pieces of `whole` no part covers, over the tolerance (one finding each)."""
    if not parts:
        return []
    left = whole.difference(unary_union(parts))
    pieces = list(getattr(left, "geoms", [left]))
    found: list[Finding] = []
    for piece in pieces:
        area = _area_m2(piece, lat0)
        if area > tolerance_m2:
            at = piece.representative_point()
            found.append(Finding("gap", owner, params={
                "m2": round(area), "lon": round(at.x, 5), "lat": round(at.y, 5)}))
    return found


def check_routes(routes: Iterable[Route], tolerance_m: float = STOP_TOLERANCE_M
                 ) -> list[Finding]:
    """A stop further than `tolerance_m` from its route's path."""
    found: list[Finding] = []
    for r in routes:
        if len(r.path) < 2:
            continue
        lat0 = sum(p[1] for p in r.path) / len(r.path)
        line = _metres(LineString([(p[0], p[1]) for p in r.path]), lat0)
        for s in r.stops:
            off = line.distance(_metres(Point(s.lon, s.lat), lat0))
            if off > tolerance_m:
                found.append(Finding("stop_off_route", s.code, "routes",
                                     {"route": r.code, "m": round(off)}))
    return found


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that block an import."""
    return [f for f in findings if f.severity == ERROR]
