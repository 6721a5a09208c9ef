"""Read a town's data files from disk; the core (dashboard/) parses what was read."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from dashboard.buses.fleet import records_of
from dashboard.buses.notify import NotifyConfig
from dashboard.buses.operators import OperatorRegister, operator_of
from dashboard.buses.terminals import TerminalRegister
from dashboard.geo.checks import Finding
from dashboard.geo.gazetteer import Gazetteer, parse_gazetteer
from dashboard.incidents.deadlines import merge_table
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.resources.kits import KitError, merge_kits
from dashboard.town import Town
from dashboard.town_import import (
    Checked,
    basemap_in_wgs84,
    check_town,
    crs_of,
    describe,
    points_in_wgs84,
)
from dashboard.town_tables import TownBase
from datasources.towns.sources import read_files


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh)) if path.suffix == ".csv" else json.load(fh)


def check_folder(folder: str | Path) -> Checked:
    """A town folder read (datasources/towns/sources.py: GeoJSON or Shapefile grids, CSV or
    JSON stations, JSON, CSV or GTFS routes) and checked file by file and feature by
    feature (dashboard/town_import.py); the vehicles' records and the address points too."""
    files, unread = read_files(folder)
    checked = check_town(files, frozenset(CATEGORY_BY_CODE))
    checked.findings[:0] = unread
    town = checked.town
    if town is None or unread:
        return checked
    try:
        town.places = parse_gazetteer(points_in_wgs84(files.get("gazetteer.csv") or [],
                                                      checked.crs))
        town.records = records_of(((v.plate, v.model, v.seats, v.year) for v in town.vehicles),
                                  files["vehicles.csv"], files.get("drivers.csv") or [])
    except ValueError as exc:  # the record's rule names every bad row, "; " between them
        checked.findings.extend(
            Finding("file_text", "-", "gazetteer.csv / drivers.csv", {"error": part[:200]})
            for part in str(exc).split("; "))
    return checked


def load_town(folder: str | Path) -> Town:
    """Read a town folder; raise ValueError naming the file and feature that is wrong."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"town folder {root} does not exist")
    checked = check_folder(root)
    if checked.errors or checked.town is None:
        head = "; ".join(describe(f, "en") for f in checked.errors[:5])
        more = len(checked.errors) - 5
        raise ValueError(f"town folder {root}: {head}" + (f" (+{more} more)" if more > 0
                                                           else ""))
    return checked.town


def load_basemap(folder: str | Path) -> dict[str, Any]:
    """The town's offline basemap (basemap.geojson, optional), in WGS-84 whatever datum
    town.json names; {} without one. Read alone at each start: the full check of the
    folder (load_town) is the loader's and the importer's."""
    root = Path(folder)
    if not (root / "basemap.geojson").exists():
        return {}
    try:
        head = _read(root / "town.json") if (root / "town.json").exists() else {}
        data = _read(root / "basemap.geojson")
    except (OSError, ValueError) as exc:
        raise ValueError(f"town folder {folder}: basemap.geojson: {exc}") from exc
    return basemap_in_wgs84(data, crs_of(head))


def load_gazetteer(folder: str | Path) -> Gazetteer:
    """The town's address points (gazetteer.csv, optional: without it Open311 places
    requests by lat/long only). Raise ValueError naming the line that is wrong."""
    path = Path(folder) / "gazetteer.csv"
    if not path.exists():
        return Gazetteer()
    try:
        head = Path(folder) / "town.json"
        crs = crs_of(_read(head)) if head.exists() else "wgs84"
        return Gazetteer(parse_gazetteer(points_in_wgs84(_read(path), crs)))
    except (OSError, ValueError) as exc:
        raise ValueError(f"town folder {folder}: {exc}") from exc


def load_table(path: str | Path | None) -> dict[str, Any]:
    """The deadline table with the town's ZN_DEADLINES_FILE merged in (checked)."""
    if not path:
        return merge_table(None)
    with Path(path).open(encoding="utf-8") as fh:
        return merge_table(json.load(fh))


def town_base(deadlines_file: str | None, kits_file: str | None,
              town_dir: str | Path | None) -> TownBase:
    """The tables of the town's own files (deadlines, kits, speed_zones.json) over the
    built-in: what /admin's overrides are laid over and shown beside."""
    zones = Path(town_dir) / "speed_zones.json" if town_dir else None
    rows = json.loads(zones.read_text("utf-8")) if zones is not None and zones.exists() else []
    return TownBase(deadlines=load_table(deadlines_file or None),
                    kits=load_kits(kits_file or None), speed_zones=rows)


def load_kits(path: str | None) -> dict[str, dict[str, int]]:
    """The kits of ZN_KITS_FILE merged over the defaults (validated)."""
    if not path:
        return merge_kits(None)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KitError(f"ZN_KITS_FILE {path}: {exc}") from exc
    return merge_kits(data, f"ZN_KITS_FILE {path}")


def load_notify(path: str | None) -> NotifyConfig:
    """The channels of ZN_NOTIFY_FILE (validated); none without a file. Raise ValueError
    naming the file that is wrong."""
    if not path:
        return NotifyConfig()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return NotifyConfig.from_dict(data)
    except (OSError, ValueError) as exc:
        raise ValueError(f"ZN_NOTIFY_FILE {path}: {exc}") from exc


def load_terminals(town: Town, declared: str | Path | None = None) -> TerminalRegister:
    """Who may register which plate at the JT/T 808 gateway: the `terminal` column of the
    town's vehicles.csv, with the admin's declaration (ZN_JT808_REGISTER, a CSV of
    `plate,terminal`) over it. Raise ValueError naming the file that is wrong."""
    register = TerminalRegister.of((v.plate, v.terminal) for v in town.vehicles)
    if not declared:
        return register
    try:
        rows = _read(Path(declared))
        extra = TerminalRegister.of((r["plate"], r["terminal"]) for r in rows)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"terminal register {declared}: {exc!r}") from exc
    return register.merged(extra)


def load_operators(path: str | Path | None) -> OperatorRegister:
    """The bus operators whose platforms may log in over JT/T 809 (ZN_JT809_OPERATORS, a JSON
    file `{"operators": [...]}`; an operator's `plates_file`, a CSV with a `plate` column
    beside it, adds to its `plates`). None without a file. Raise ValueError naming the file
    that is wrong."""
    if not path:
        return OperatorRegister({})
    where = Path(path)
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
        rows = data["operators"] if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValueError('the file is {"operators": [...]}')
        ops = []
        for row in rows:
            extra = []
            if isinstance(row, dict) and row.get("plates_file"):
                extra = [r["plate"] for r in _read(where.parent / str(row["plates_file"]))]
            ops.append(operator_of(row, extra))
        return OperatorRegister.of(ops)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"ZN_JT809_OPERATORS {path}: {exc}") from exc
