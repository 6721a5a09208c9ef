"""A town's own data, validated (issue 16): a pydantic model for every file, findings per
row or feature in the requester's language, GCJ-02 converted, and the Town built.

datasources/towns/sources.py reads the files (GeoJSON or Shapefile grids, CSV or JSON
stations, GTFS or CSV routes) into plain rows; this checks them. The geometry checks are
dashboard/geo/checks.py's. `check_town` replaced the loader's KeyError mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dashboard.geo.checks import ERROR, Finding, check_grids, check_routes
from dashboard.geo.gcj02 import CRS_NAMES, geometry_to_wgs84, to_wgs84
from dashboard.i18n.text import t
from dashboard.town import (
    GridCell,
    Route,
    Stop,
    Town,
    Trip,
    Vehicle,
    Village,
    parse_cameras,
    parse_units,
)

_MARKUP = re.compile(r"[<>\x00-\x1f]|javascript:", re.IGNORECASE)


def _blank_none(v: Any) -> Any:
    """Shapefiles and CSV give "" for a missing value."""
    return None if v is None or (isinstance(v, str) and not v.strip()) else v


def _plain(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        if _MARKUP.search(v):
            raise ValueError("markup")
    return v


def _list_of_codes(v: Any) -> Any:
    """"V01;V02" (a CSV cell) or a list."""
    if isinstance(v, str):
        return [p.strip() for p in re.split(r"[;,，；\s]+", v) if p.strip()]
    return v


Code = Annotated[str, BeforeValidator(_plain), Field(pattern=r"^[A-Za-z0-9_.:·-]{1,24}$")]
Name = Annotated[str, BeforeValidator(_plain), Field(min_length=1, max_length=60)]
NameEn = Annotated[str, BeforeValidator(_plain), Field(max_length=80)]
Phone = Annotated[str, BeforeValidator(lambda v: "" if v is None else str(v).strip()),
                  Field(pattern=r"^[0-9+\- ]{0,20}$")]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Count = Annotated[int, BeforeValidator(lambda v: 0 if _blank_none(v) is None else v),
                  Field(ge=0, le=10_000_000)]
OptCode = Annotated[Code | None, BeforeValidator(_blank_none)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Person(_Model):
    id: Code
    name: Name
    phone: Phone = ""


class Leader(_Model):
    name: NameEn = ""
    phone: Phone = ""


class GridProps(_Model):
    """A grid feature's properties (GeoJSON properties or a Shapefile's record)."""

    code: Code
    level: Annotated[int, Field(ge=1, le=3)]
    parent: OptCode = None
    name: Name
    name_en: NameEn = ""
    village: OptCode = None
    leader: Leader = Leader()
    workers: list[Person] = []
    households: Count = 0

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, v: Any) -> Any:
        """A Shapefile's record is flat: `leader` and `leader_tel` are two fields."""
        if isinstance(v, Mapping) and not isinstance(v.get("leader"), (Mapping, type(None))):
            return {**v, "leader": {"name": v.get("leader") or "",
                                    "phone": v.get("leader_tel") or ""}}
        return v


class VillageRow(_Model):
    code: Code
    name: Name
    name_en: NameEn = ""
    kind: Literal["village", "community"]
    population: Count
    households: Count
    lon: Lon
    lat: Lat
    grid: Code


class AddressPoint(_Model):
    """A row of gazetteer.csv (the town's address points)."""

    id: Code
    kind: Literal["village", "group", "landmark"]
    name: Name
    name_en: NameEn = ""
    lon: Lon
    lat: Lat
    village: OptCode = None


class Room(_Model):
    kind: Literal["command", "supplies", "medical", "shelter"]
    name: Name
    name_en: NameEn = ""
    capacity: Count = 0
    occupancy: Count = 0


class Item(_Model):
    sku: Code
    name: Name
    name_en: NameEn = ""
    category: Code
    unit: Annotated[str, Field(min_length=1, max_length=8)]
    quantity: Count
    min_level: Count
    expiry: str | None = None
    batch: str | None = None


class Member(_Model):
    name: Name
    role: NameEn = "member"
    phone: Phone = ""
    skills: list[str] = []
    on_duty: bool = False


class Team(_Model):
    code: Code
    name: Name
    name_en: NameEn = ""
    kind: Code
    members: Count
    on_duty: Count
    leader: NameEn = ""
    phone: Phone = ""
    skills: list[str] = []
    vehicles: Count = 0
    roster: list[Member] = []


class StationRow(_Model):
    """A station of stations.json, or a row of stations.csv (rooms and teams then empty)."""

    code: Code
    kind: Literal["centre", "area"]
    name: Name
    name_en: NameEn = ""
    lon: Lon
    lat: Lat
    covers: Annotated[list[Code], BeforeValidator(_list_of_codes)] = []
    vehicles: Count = 0
    rooms: list[Room] = []
    inventory: list[Item] = []
    teams: list[Team] = []


class StopRow(_Model):
    code: Code
    name: Name
    name_en: NameEn = ""
    lon: Lon
    lat: Lat


class TripRow(_Model):
    code: Code
    period: Annotated[str, Field(min_length=1, max_length=8)]
    direction: Annotated[str, Field(min_length=1, max_length=12)]
    stop_times: list[Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]]
    days: Annotated[str, Field(min_length=1, max_length=12)] = "school"


class RouteRow(_Model):
    code: Code
    name: Name
    name_en: NameEn = ""
    school: Name
    stops: Annotated[list[StopRow], Field(min_length=2)]
    path: list[tuple[Lon, Lat]] = []
    length_m: Count = 0
    trips: list[TripRow] = []
    staff: dict[str, str] = {}


class VehicleRow(_Model):
    plate: Annotated[str, BeforeValidator(_plain), Field(min_length=2, max_length=16)]
    route: Code
    seats: Annotated[int, Field(ge=1, le=80)]
    driver: Name
    phone: Phone = ""
    escort: NameEn = ""
    model: NameEn = ""
    year: Annotated[int, Field(ge=1990, le=2100)]
    terminal: Annotated[str, BeforeValidator(lambda v: str(v or "").strip())] = ""


class TownHeader(_Model):
    """town.json: the header; `crs` says the datum of every coordinate in the folder."""

    model_config = ConfigDict(extra="allow")
    code: Code
    name: Name
    name_en: NameEn = ""
    crs: Literal["wgs84", "cgcs2000", "gcj02"] = "wgs84"
    boundary: dict[str, Any] | None = None

    @field_validator("crs", mode="before")
    @classmethod
    def _crs(cls, v: Any) -> Any:
        return crs_of({"crs": v})


def crs_of(meta: Any) -> str:
    """The datum a town.json names ("WGS-84", "gcj02" …), as a CRS_NAMES spelling."""
    v = meta.get("crs") if isinstance(meta, Mapping) else None
    return str(v).lower().replace("-", "").replace("_", "") if v else "wgs84"


# ------------------------------------------------------------------ findings in words

# pydantic's error types, as the words a town's clerk reads (imp_field_<kind>).
_FIELD_KINDS = {"missing": "missing", "int_parsing": "number", "float_parsing": "number",
                "int_from_float": "number", "bool_parsing": "bool",
                "greater_than_equal": "range", "less_than_equal": "range",
                "greater_than": "range", "less_than": "range", "string_pattern_mismatch": "format",
                "string_too_short": "empty", "too_short": "empty", "string_too_long": "long",
                "too_long": "long", "literal_error": "choice", "value_error": "text"}


def describe(f: Finding, lang: str) -> str:
    """One finding as a sentence in `lang` (zh or en): where, then what."""
    params = {k: v for k, v in f.params.items()}
    what = t(f.message_key, lang).format(**params)
    return f"{f.file} · {f.feature}: {what}"


def _field_findings(exc: ValidationError, file: str, where: str) -> list[Finding]:
    out = []
    for e in exc.errors():
        kind = _FIELD_KINDS.get(str(e.get("type")), "invalid")
        loc = ".".join(str(p) for p in e.get("loc", ())) or "?"
        out.append(Finding(f"field_{kind}", where, file, {"field": loc}))
    return out


M = TypeVar("M", bound=BaseModel)


def _rows(model: type[M], rows: Any, file: str, found: list[Finding],
          where: Callable[[int, Any], str]) -> list[M]:
    """The rows that validate; a finding for each field of each row that does not."""
    if not isinstance(rows, list):
        found.append(Finding("file_shape", "-", file))
        return []
    out: list[M] = []
    for n, row in enumerate(rows):
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            found += _field_findings(exc, file, where(n, row))
    return out


def _line(n: int, _row: Any) -> str:
    return f"line {n + 2}"  # a CSV's header is line 1


def _item(key: str) -> Callable[[int, Any], str]:
    def where(n: int, row: Any) -> str:
        code = row.get(key) if isinstance(row, Mapping) else None
        return str(code) if code else f"#{n + 1}"
    return where


def _codes(rows: Any, key: str) -> set[str]:
    return {str(r.get(key) or "").strip() for r in rows or [] if isinstance(r, Mapping)}


def _dupes(codes: Iterable[str], file: str) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for c in codes:
        if c in seen:
            out.append(Finding("duplicate", c, file))
        seen.add(c)
    return out


# ------------------------------------------------------------------ the town


@dataclass
class Checked:
    """A town folder checked: the town (None when a file could not be read at all) and
    every finding, errors and warnings, per feature."""

    town: Town | None
    findings: list[Finding] = field(default_factory=list)
    crs: str = "wgs84"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def ok(self) -> bool:
        return self.town is not None and not self.errors


def _grids(data: Any, crs: str, found: list[Finding]) -> list[GridCell]:
    feats = data.get("features") if isinstance(data, Mapping) else None
    if not isinstance(feats, list):
        found.append(Finding("file_shape", "-", "grids"))
        return []
    out: list[GridCell] = []
    for n, f in enumerate(feats):
        props = (f or {}).get("properties") or {} if isinstance(f, Mapping) else {}
        where = str(props.get("code") or f"#{n + 1}")
        try:
            p = GridProps.model_validate(props)
        except ValidationError as exc:
            found += _field_findings(exc, "grids", where)
            continue
        geom = f.get("geometry")
        if not isinstance(geom, Mapping) or not geom.get("coordinates"):
            found.append(Finding("invalid_polygon", p.code, "grids", {"reason": "no geometry"}))
            continue
        out.append(GridCell(p.code, p.level, p.parent, p.name, p.name_en, p.village,
                            _norm(geometry_to_wgs84(dict(geom), crs)),
                            {"name": p.leader.name, "phone": p.leader.phone},
                            [w.model_dump() for w in p.workers], p.households))
    return out


def _norm(geom: dict[str, Any]) -> dict[str, Any]:
    """A geometry as JSON keeps it (lists, 6 decimals): a Shapefile's tuples and a
    GeoJSON's lists of the same drawing compare equal (no new version for nothing)."""
    def walk(c: Any) -> Any:
        if isinstance(c, (list, tuple)):
            if c and isinstance(c[0], (int, float)):
                return [round(float(x), 6) for x in c]
            return [walk(p) for p in c]
        return c
    return {"type": geom.get("type"), "coordinates": walk(geom.get("coordinates"))}


def _grid_refs(cells: Sequence[GridCell], found: list[Finding]) -> None:
    found += _dupes((c.code for c in cells), "grids")
    level = {c.code: c.level for c in cells}
    for c in cells:
        if c.level == 1 and c.parent:
            found.append(Finding("bad_parent", c.code, "grids", {"parent": c.parent}))
        elif c.level > 1 and level.get(c.parent or "") != c.level - 1:
            found.append(Finding("bad_parent", c.code, "grids", {"parent": c.parent or "-"}))


def _workers(cells: list[GridCell], rows: Any, found: list[Finding]) -> list[GridCell]:
    """workers.csv (grid, id, name, phone) adds workers to the grids a Shapefile drew."""
    if rows is None:
        return cells
    by_grid: dict[str, list[dict[str, str]]] = {}
    codes = {c.code for c in cells if c.level == 3}
    for n, r in enumerate(rows if isinstance(rows, list) else []):
        try:
            p = Person.model_validate(r)
        except ValidationError as exc:
            found += _field_findings(exc, "workers.csv", _line(n, r))
            continue
        grid = str((r or {}).get("grid") or "").strip()
        if grid not in codes:
            found.append(Finding("unknown_ref", _line(n, r), "workers.csv",
                                 {"field": "grid", "value": grid}))
            continue
        by_grid.setdefault(grid, []).append(p.model_dump())
    return [GridCell(c.code, c.level, c.parent, c.name, c.name_en, c.village, c.geometry,
                     c.leader, [*c.workers, *by_grid.get(c.code, [])], c.households)
            for c in cells]


def _point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    x, y = to_wgs84(lon, lat, crs)
    return round(x, 6), round(y, 6)


def points_in_wgs84(rows: Any, crs: str) -> Any:
    """CSV rows with lon/lat columns (gazetteer.csv, cameras.csv) with their points as
    stored; rows whose point is no number stay as they are for their parser to name."""
    if crs != "gcj02" or not isinstance(rows, list):
        return rows
    out = []
    for r in rows:
        try:
            x, y = _point(float(r["lon"]), float(r["lat"]), crs)
            out.append({**r, "lon": f"{x:.6f}", "lat": f"{y:.6f}"})
        except (KeyError, TypeError, ValueError):
            out.append(r)
    return out


def basemap_in_wgs84(basemap: Any, crs: str) -> dict[str, Any]:
    """The offline basemap's features with their coordinates as stored (WGS-84)."""
    if not isinstance(basemap, Mapping):
        return {}
    if crs != "gcj02" or not isinstance(basemap.get("features"), list):
        return dict(basemap)
    return {**basemap, "features": [
        {**f, "geometry": geometry_to_wgs84(f["geometry"], crs)}
        for f in basemap["features"] if isinstance(f, Mapping) and f.get("geometry")]}


def _header(meta: Any, found: list[Finding]) -> tuple[dict[str, Any], str]:
    try:
        h = TownHeader.model_validate(meta)
    except ValidationError as exc:
        found += _field_findings(exc, "town.json", "town")
        return (dict(meta) if isinstance(meta, Mapping) else {}), "wgs84"
    out = dict(meta)
    crs = h.crs if h.crs in CRS_NAMES else "wgs84"
    out["crs"] = "wgs84"  # what is stored
    if crs == "gcj02":
        if h.boundary:
            out["boundary"] = geometry_to_wgs84(h.boundary, crs)
        if isinstance(meta.get("center"), list) and len(meta["center"]) == 2:
            out["center"] = list(_point(float(meta["center"][0]), float(meta["center"][1]),
                                        crs))
        bbox = meta.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4:
            out["bbox"] = [*_point(float(bbox[0]), float(bbox[1]), crs),
                           *_point(float(bbox[2]), float(bbox[3]), crs)]
    return out, crs


def check_town(files: Mapping[str, Any], categories: frozenset[str] = frozenset()) -> Checked:
    """Validate every file of a town (as datasources/towns/sources.py read them) and run
    the geometry checks; the town is built from the rows that validate."""
    found: list[Finding] = []
    meta, crs = _header(files.get("town.json") or {}, found)
    cells = _grids(files.get("grids") or {}, crs, found)
    cells = _workers(cells, files.get("workers.csv"), found)
    _grid_refs(cells, found)
    codes = {c.code for c in cells}
    vrows = _rows(VillageRow, files.get("villages.csv") or [], "villages.csv", found, _line)
    found += _dupes((v.code for v in vrows), "villages.csv")
    villages: list[Village] = []
    for v in vrows:
        if v.grid not in codes:
            found.append(Finding("unknown_ref", v.code, "villages.csv",
                                 {"field": "grid", "value": v.grid}))
        x, y = _point(v.lon, v.lat, crs)
        villages.append(Village(v.code, v.name, v.name_en, v.kind, v.population,
                                v.households, x, y, v.grid))
    # References are checked against every code a file names, valid row or not: a row
    # already reported is not reported again through whatever names it.
    vcodes = _codes(files.get("villages.csv"), "code")
    for c in cells:
        if c.village and c.village not in vcodes:
            found.append(Finding("unknown_ref", c.code, "grids",
                                 {"field": "village", "value": c.village}))
    srows = _rows(StationRow, files.get("stations") or [], "stations", found, _item("code"))
    found += _dupes((s.code for s in srows), "stations")
    stations = []
    for s in srows:
        for vc in s.covers:
            if vc not in vcodes:
                found.append(Finding("unknown_ref", s.code, "stations",
                                     {"field": "covers", "value": vc}))
        x, y = _point(s.lon, s.lat, crs)
        stations.append({**s.model_dump(), "lon": x, "lat": y})
    rrows = _rows(RouteRow, files.get("routes") or [], "routes", found, _item("code"))
    found += _dupes((r.code for r in rrows), "routes")
    found += _dupes((s.code for r in rrows for s in r.stops), "routes")
    routes = []
    for r in rrows:
        stops = [Stop(s.code, s.name, s.name_en, *_point(s.lon, s.lat, crs)) for s in r.stops]
        path = [list(_point(x, y, crs)) for x, y in r.path] or [[s.lon, s.lat] for s in stops]
        routes.append(Route(r.code, r.name, r.name_en, r.school, stops, path, r.length_m,
                            [Trip(tr.code, tr.period, tr.direction, list(tr.stop_times),
                                  tr.days) for tr in r.trips], dict(r.staff)))
    rcodes = {r.code for r in routes}
    vehicles: list[Vehicle] = []
    for b in _rows(VehicleRow, files.get("vehicles.csv") or [], "vehicles.csv", found, _line):
        if b.route not in rcodes:
            found.append(Finding("vehicle_route", b.plate, "vehicles.csv",
                                 {"field": "route", "value": b.route}))
        vehicles.append(Vehicle(b.plate, b.route, b.seats, b.driver, b.phone, b.escort,
                                b.model, b.year, b.terminal))
    found += _dupes((b.plate for b in vehicles), "vehicles.csv")
    for n, p in enumerate(files.get("gazetteer.csv") or []):
        try:
            AddressPoint.model_validate(p)
        except ValidationError as exc:
            found += _field_findings(exc, "gazetteer.csv", _line(n, p))
    units, cameras = [], []
    try:
        units = parse_units(files.get("units.json") or [], vcodes, set(categories))
        cameras = parse_cameras(points_in_wgs84(files.get("cameras.csv") or [], crs))
    except (KeyError, TypeError, ValueError) as exc:
        found.append(Finding("file_text", "-", "units.json / cameras.csv",
                             {"error": str(exc)[:160]}))
    found += check_grids(cells, meta.get("boundary"))
    found += check_routes(routes)
    basemap = basemap_in_wgs84(files.get("basemap.geojson") or {}, crs)
    pupil_sheets = [(str(sh["title"]), [["" if c is None else str(c) for c in row]
                                        for row in sh["rows"]])
                    for sh in (files.get("pupils.json") or {}).get("sheets", [])]
    town = Town(meta, cells, villages, stations, routes, vehicles, basemap,
                pupil_sheets=pupil_sheets, units=units, cameras=cameras)
    return Checked(town, found, crs)
