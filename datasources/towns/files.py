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
from dashboard.geo.gazetteer import Gazetteer, parse_gazetteer
from dashboard.incidents.deadlines import merge_table
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.resources.kits import KitError, merge_kits
from dashboard.town import OPTIONAL_TOWN_FILES, TOWN_FILES, Town, parse_town
from dashboard.town_tables import TownBase


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh)) if path.suffix == ".csv" else json.load(fh)


def load_town(folder: str | Path) -> Town:
    """Read a town folder; raise ValueError naming the file that is wrong."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"town folder {root} does not exist")
    files: dict[str, Any] = {}
    try:
        for name in TOWN_FILES:
            files[name] = _read(root / name)
        for name in OPTIONAL_TOWN_FILES:
            if (root / name).exists():
                files[name] = _read(root / name)
    except (OSError, ValueError) as exc:
        raise ValueError(f"town folder {root}: {exc!r}") from exc
    town = parse_town(files, str(root), frozenset(CATEGORY_BY_CODE))
    try:
        town.places = parse_gazetteer(files.get("gazetteer.csv") or [])
        town.records = records_of(((v.plate, v.model, v.seats, v.year) for v in town.vehicles),
                                  files["vehicles.csv"], files.get("drivers.csv") or [])
    except ValueError as exc:
        raise ValueError(f"town folder {root}: {exc}") from exc
    return town


def load_gazetteer(folder: str | Path) -> Gazetteer:
    """The town's address points (gazetteer.csv, optional: without it Open311 places
    requests by lat/long only). Raise ValueError naming the line that is wrong."""
    path = Path(folder) / "gazetteer.csv"
    if not path.exists():
        return Gazetteer()
    try:
        return Gazetteer(parse_gazetteer(_read(path)))
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
