"""Parse a town's data files (formats in datasources/towns/demo/README.md) into plain objects."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the record's rules live with the buses (dashboard/buses/fleet.py)
    from dashboard.buses.fleet import VehicleRecord
    from dashboard.geo.gazetteer import Place


@dataclass(frozen=True)
class GridCell:
    """One polygon of the three-level grid."""

    code: str
    level: int
    parent: str | None
    name: str
    name_en: str
    village: str | None
    geometry: dict[str, Any]
    leader: dict[str, str]
    workers: list[dict[str, str]]
    households: int


@dataclass(frozen=True)
class Village:
    """A village or community (村/社区)."""

    code: str
    name: str
    name_en: str
    kind: str
    population: int
    households: int
    lon: float
    lat: float
    grid: str


@dataclass(frozen=True)
class Stop:
    """A bus stop of a route."""

    code: str
    name: str
    name_en: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Trip:
    """One timetabled run of a route."""

    code: str
    period: str
    direction: str
    stop_times: list[str]
    days: str


@dataclass(frozen=True)
class Route:
    """A student shuttle route (学生定制客运专线)."""

    code: str
    name: str
    name_en: str
    school: str
    stops: list[Stop]
    path: list[list[float]]
    length_m: int
    trips: list[Trip]
    staff: dict[str, str]


@dataclass(frozen=True)
class Vehicle:
    """A shuttle bus (一车一档)."""

    plate: str
    route: str
    seats: int
    driver: str
    phone: str
    escort: str
    model: str
    year: int
    # The SIM number of the bus's JT/T 808 terminal (the frame header's phone), which the
    # gateway lets register this plate only (issue 12); "" when the town gives none.
    terminal: str = ""


# A unit's tier: the levels above the grid that a work order can be handed to
# (dashboard/incidents/lifecycle.LEVELS names them; the grid itself is no unit).
UNIT_TIERS = ("village", "town", "county")
ALL_CATEGORIES = "*"  # a village office takes whatever its village reports


@dataclass(frozen=True)
class Unit:
    """An office that receives work orders: a village's 村(社区) office, a town office
    (派出所, 司法所 …) or a county department (住建, 交通 …), with its people."""

    id: str
    name: str
    name_en: str
    tier: str  # one of UNIT_TIERS
    categories: frozenset[str]  # what it handles; {"*"}: everything
    village: str | None = None  # a village office's village (villages.csv code)
    people: tuple[dict[str, str], ...] = ()

    def handles(self, category: str) -> bool:
        """True when the unit takes work orders of `category`."""
        return ALL_CATEGORIES in self.categories or category in self.categories


def parse_units(rows: Any, villages: set[str], categories: set[str]) -> list[Unit]:
    """The units of units.json, checked: known tiers, villages and categories, unique ids,
    one office per village at most; raise ValueError naming what is wrong."""
    if not isinstance(rows, list):
        raise ValueError("units.json: a list of units")
    out: list[Unit] = []
    seen: set[str] = set()
    offices: set[str] = set()
    for r in rows:
        uid = str(r["id"])
        if not uid or len(uid) > 16 or uid in seen:
            raise ValueError(f"units.json: unit id {uid!r} empty, too long or repeated")
        seen.add(uid)
        tier = r["tier"]
        if tier not in UNIT_TIERS:
            raise ValueError(f"units.json: {uid}: tier {tier!r} not one of {UNIT_TIERS}")
        raw = r.get("categories") or []
        cats = frozenset([ALL_CATEGORIES] if raw == ALL_CATEGORIES else raw)
        unknown = cats - categories - {ALL_CATEGORIES}
        if unknown:
            raise ValueError(f"units.json: {uid}: unknown categories {sorted(unknown)}")
        village = r.get("village")
        if tier == "village":
            if village not in villages or village in offices:
                raise ValueError(f"units.json: {uid}: village {village!r} unknown or "
                                 "already has an office")
            offices.add(village)
        elif village is not None:
            raise ValueError(f"units.json: {uid}: only a village office names a village")
        people = tuple({"id": str(p["id"]), "name": str(p["name"]),
                        "phone": str(p.get("phone", ""))} for p in r.get("people") or [])
        out.append(Unit(uid, str(r["name"]), str(r.get("name_en", "")), tier, cats,
                        village, people))
    return out


CAMERA_ID = r"^[A-Za-z0-9_.:-]{1,24}$"
_MARKUP = re.compile(r"[<>\x00-\x1f]|javascript:", re.IGNORECASE)


def _markup(text: str) -> bool:
    """Angle brackets, control characters or a script link: not a plain name."""
    return bool(_MARKUP.search(text))


@dataclass(frozen=True)
class Camera:
    """A camera of the town (cameras.csv): where it is and the level-3 grid it stands in."""

    id: str
    name: str
    name_en: str
    lon: float
    lat: float
    grid: str | None = None

    def label(self, lang: str) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


def parse_cameras(rows: Any) -> list[Camera]:
    """The cameras of cameras.csv (id, name, name_en, lon, lat), checked; ValueError names
    the row that is wrong. The grid is the store's to find (the grid lookup)."""
    out: list[Camera] = []
    seen: set[str] = set()
    for n, r in enumerate(rows or [], start=2):
        cid = str(r.get("id") or "").strip()
        if not re.match(CAMERA_ID, cid) or cid in seen:
            raise ValueError(f"cameras.csv line {n}: id {cid!r} empty, malformed or repeated")
        seen.add(cid)
        try:
            lon, lat = float(r["lon"]), float(r["lat"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"cameras.csv line {n}: lon/lat must be numbers") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"cameras.csv line {n}: lon/lat out of range")
        name = str(r.get("name") or "").strip()
        if not name or _markup(name):
            raise ValueError(f"cameras.csv line {n}: a plain name is required")
        out.append(Camera(cid, name[:60], str(r.get("name_en") or "").strip()[:80], lon, lat))
    return out


@dataclass
class Town:
    """Everything a town's data folder holds."""

    meta: dict[str, Any]
    grids: list[GridCell]
    villages: list[Village]
    stations: list[dict[str, Any]]
    routes: list[Route]
    vehicles: list[Vehicle]
    basemap: dict[str, Any] = field(default_factory=dict)
    # Issue 13: the schools' registers, as the sheets of their workbooks (pupils.json).
    pupil_sheets: list[tuple[str, list[list[str]]]] = field(default_factory=list)
    # 一车一档: each bus's papers, equipment and drivers by plate (vehicles.csv's optional
    # columns and drivers.csv), checked row by row by datasources/towns/files.load_town.
    records: dict[str, VehicleRecord] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    # The town's address points (gazetteer.csv): Open311's address_id and address_string
    # are looked up in them (dashboard/geo/gazetteer.py; datasources/towns/files.py parses).
    places: list[Place] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)  # 雪亮工程 (issue 15)

    def demo_worker(self) -> tuple[str, str] | None:
        """(person id, grid code) of the grid worker a demo town's worker account is: the
        first by id (datasources/gate/account_cli.seed_demo reads the same rule from the
        database). The simulator keeps that grid busy, so the phone has work on it."""
        found = [(w["id"], g.code) for g in self.grids for w in g.workers if w.get("id")]
        return min(found) if found else None

    def grid_geojson(self, level: int) -> dict[str, Any]:
        """The grid polygons of one level as a GeoJSON FeatureCollection."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": g.geometry,
                    "properties": {"code": g.code, "name": g.name, "name_en": g.name_en},
                }
                for g in self.grids
                if g.level == level
            ],
        }
