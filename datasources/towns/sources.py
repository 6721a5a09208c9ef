"""Read a town's own data in the formats towns have (issue 16) into plain rows for
dashboard/town_import.py to check: grids from GeoJSON or an ESRI Shapefile (what 天地图 and
ArcGIS export; read with pyshp), stations from JSON or CSV, routes from JSON, CSV or a
GTFS static feed, and a whole folder uploaded as a zip.

The rows keep the file's datum; town_import converts (town.json "crs").
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import shapefile  # pyshp

from dashboard.geo.checks import Finding
from datasources.towns.gtfs_static import GtfsError, read_feed, routes_from_gtfs

# Files that may sit beside the required ones, read as they are.
OPTIONAL = ("basemap.geojson", "pupils.json", "drivers.csv", "units.json", "gazetteer.csv",
            "cameras.csv", "workers.csv")
REQUIRED = ("town.json", "villages.csv", "vehicles.csv")
MAX_ZIP_BYTES = 50 * 1024 * 1024  # unpacked


def _csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text))]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def read_shapefile(path: Path) -> dict[str, Any]:
    """A Shapefile's polygons and records as a GeoJSON FeatureCollection (codepage from its
    .cpg, else UTF-8; the records' field names as they are, lower-cased)."""
    cpg = path.with_suffix(".cpg")
    encoding = cpg.read_text().strip() if cpg.exists() else "utf-8"
    if encoding.lower() in ("936", "cp936", "gbk"):
        encoding = "gbk"
    with shapefile.Reader(str(path), encoding=encoding) as sf:
        names = [f[0].lower() for f in sf.fields[1:]]
        feats = []
        for sr in sf.iterShapeRecords():
            props = {k: (v.strip() if isinstance(v, str) else v)
                     for k, v in zip(names, list(sr.record), strict=False)}
            feats.append({"type": "Feature", "properties": props,
                          "geometry": sr.shape.__geo_interface__})
    return {"type": "FeatureCollection", "features": feats}


def read_grids(root: Path) -> dict[str, Any]:
    """grids.geojson, else the first grids*.shp (the Shapefile)."""
    if (root / "grids.geojson").exists():
        data: dict[str, Any] = _json(root / "grids.geojson")
        return data
    shp = sorted(root.glob("grids*.shp")) or sorted(root.glob("*/grids*.shp"))
    if not shp:
        raise FileNotFoundError("grids.geojson or grids.shp")
    return read_shapefile(shp[0])


def read_stations(root: Path) -> list[Any]:
    """stations.json (the full record: rooms, stores, teams), else stations.csv."""
    if (root / "stations.json").exists():
        data: list[Any] = _json(root / "stations.json")
        return data
    if (root / "stations.csv").exists():
        return list(_csv(root / "stations.csv"))
    raise FileNotFoundError("stations.json or stations.csv")


def routes_from_csv(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """routes.csv, one row per stop in order: route, route_name, route_name_en, school,
    seq, stop, stop_name, stop_name_en, lon, lat (the path joins the stops)."""
    routes: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r.get("route", ""), _int(r.get("seq")))):
        code = r.get("route", "")
        route = routes.setdefault(code, {
            "code": code, "name": r.get("route_name", ""),
            "name_en": r.get("route_name_en", ""), "school": r.get("school", ""),
            "stops": [], "trips": []})
        route["stops"].append({"code": r.get("stop", ""), "name": r.get("stop_name", ""),
                               "name_en": r.get("stop_name_en", ""), "lon": r.get("lon"),
                               "lat": r.get("lat")})
    return list(routes.values())


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def read_routes(root: Path) -> list[Any]:
    """routes.json, else routes.csv, else a GTFS feed (gtfs.zip or a gtfs/ folder)."""
    if (root / "routes.json").exists():
        data: list[Any] = _json(root / "routes.json")
        return data
    if (root / "routes.csv").exists():
        return routes_from_csv(_csv(root / "routes.csv"))
    for feed in (root / "gtfs.zip", root / "gtfs"):
        if feed.exists():
            return routes_from_gtfs(read_feed(feed))
    raise FileNotFoundError("routes.json, routes.csv or a GTFS feed (gtfs.zip)")


def read_files(folder: str | Path) -> tuple[dict[str, Any], list[Finding]]:
    """Every file of a town folder as rows (keys: town.json, grids, villages.csv,
    stations, routes, vehicles.csv and the optional files by name), and a finding for each
    one missing or unreadable."""
    root = Path(folder)
    found: list[Finding] = []
    files: dict[str, Any] = {}
    if not root.is_dir():
        return files, [Finding("file_missing", str(root), "-", {"name": str(root)})]
    readers: list[tuple[str, Any]] = [
        ("town.json", lambda: _json(root / "town.json")), ("grids", lambda: read_grids(root)),
        ("villages.csv", lambda: _csv(root / "villages.csv")),
        ("stations", lambda: read_stations(root)), ("routes", lambda: read_routes(root)),
        ("vehicles.csv", lambda: _csv(root / "vehicles.csv"))]
    for name in OPTIONAL:
        if (root / name).exists():
            readers.append((name, lambda p=root / name: _csv(p) if p.suffix == ".csv"
                            else _json(p)))
    for name, read in readers:
        try:
            files[name] = read()
        except FileNotFoundError as exc:
            found.append(Finding("file_missing", "-", name, {"name": str(exc.args[0])
                                                             if exc.args else name}))
        except (OSError, ValueError, UnicodeDecodeError, GtfsError,
                shapefile.ShapefileException) as exc:
            found.append(Finding("file_unreadable", "-", name, {"error": str(exc)[:160]}))
    return files, found


@contextmanager
def unpacked(data: bytes) -> Iterator[Path]:
    """An uploaded zip unpacked into a temporary folder (removed after): the folder that
    holds town.json. ValueError when it is no zip, too big, or names a path outside."""
    tmp = Path(tempfile.mkdtemp(prefix="zn-town-"))
    try:
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise ValueError("not a zip file") from exc
        with z:
            if sum(i.file_size for i in z.infolist()) > MAX_ZIP_BYTES:
                raise ValueError("the zip is too large")
            for info in z.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ValueError(f"unsafe path in zip: {info.filename}")
                if info.is_dir():
                    continue
                target = tmp.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(info))
        heads = sorted(tmp.rglob("town.json"), key=lambda p: len(p.parts))
        yield heads[0].parent if heads else tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def zip_folder(folder: str | Path) -> bytes:
    """A town folder as a zip (what /admin takes): for tests and the docs' example."""
    buf = io.BytesIO()
    root = Path(folder)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(root).as_posix())
    return buf.getvalue()
