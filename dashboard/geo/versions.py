"""Grid versions (issue 16): a redrawn grid is a new version valid from a date.

The one rule of which drawing of a grid was in force when: a work order keeps the grid
(and version) it was placed in, a backdated report is placed in the grids of its time, and
the statistics of a past period roll work orders up through the parents of their time.
The store (datasources/sql/grid_versions.py) reads and writes the rows; this decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dashboard.town import GridCell


@dataclass(frozen=True)
class GridVersion:
    """One drawing of one grid code, in force from `valid_from` (UTC) until the next."""

    code: str
    version: int
    level: int
    parent: str | None
    name: str
    name_en: str
    village: str | None
    geometry: dict[str, Any]
    valid_from: datetime
    retired: bool = False  # this version ends the code: the grid is gone from then on

    def cell(self, workers: list[dict[str, str]] | None = None) -> GridCell:
        return GridCell(self.code, self.level, self.parent, self.name, self.name_en,
                        self.village, self.geometry, {}, list(workers or []), 0)


def _same(a: GridVersion, b: GridCell) -> bool:
    return (a.level, a.parent, a.village, a.geometry, a.name) == (
        b.level, b.parent, b.village, b.geometry, b.name)


def version_at(versions: Iterable[GridVersion], code: str, when: datetime
               ) -> GridVersion | None:
    """The version of grid `code` in force at `when` (None: not drawn then, or retired)."""
    best: GridVersion | None = None
    for v in versions:
        if v.code == code and v.valid_from <= when and (best is None or v.version > best.version):
            best = v
    return None if best is None or best.retired else best


def _by_code(versions: Iterable[GridVersion]) -> dict[str, list[GridVersion]]:
    out: dict[str, list[GridVersion]] = {}
    for v in versions:
        out.setdefault(v.code, []).append(v)
    return out


def in_force(versions: Iterable[GridVersion], when: datetime) -> list[GridVersion]:
    """Every grid as drawn at `when`, by code."""
    groups = _by_code(versions)
    out = [version_at(groups[c], c, when) for c in sorted(groups)]
    return [v for v in out if v is not None]


def latest(versions: Iterable[GridVersion]) -> dict[str, GridVersion]:
    """The newest version of each code (retired ones included)."""
    out: dict[str, GridVersion] = {}
    for v in versions:
        if v.code not in out or v.version > out[v.code].version:
            out[v.code] = v
    return out


@dataclass(frozen=True)
class GridChange:
    """What an import does to one grid code: added, redrawn (a new version), or retired."""

    code: str
    change: str  # "added" | "redrawn" | "retired"
    version: int
    level: int
    fields: tuple[str, ...] = ()  # what differs, for a redrawn grid


def plan(current: Sequence[GridVersion], cells: Sequence[GridCell], valid_from: datetime
         ) -> tuple[list[GridChange], list[GridVersion]]:
    """The changes and the new version rows an import of `cells` valid from `valid_from`
    makes over the versions already kept; grids drawn the same get no new version."""
    last = latest(current)
    new_codes = {c.code for c in cells}
    changes: list[GridChange] = []
    rows: list[GridVersion] = []
    for c in sorted(cells, key=lambda c: (c.level, c.code)):
        before = last.get(c.code)
        if before is not None and not before.retired and _same(before, c):
            continue
        number = before.version + 1 if before else 1
        fields: tuple[str, ...] = ()
        if before is None or before.retired:
            kind = "added"
        else:
            kind = "redrawn"
            fields = tuple(f for f, a, b in (
                ("geometry", before.geometry, c.geometry), ("parent", before.parent, c.parent),
                ("village", before.village, c.village), ("name", before.name, c.name),
                ("level", before.level, c.level)) if a != b)
        changes.append(GridChange(c.code, kind, number, c.level, fields))
        rows.append(GridVersion(c.code, number, c.level, c.parent, c.name, c.name_en,
                                c.village, c.geometry, valid_from))
    for code, before in sorted(last.items()):
        if code not in new_codes and not before.retired:
            changes.append(GridChange(code, "retired", before.version + 1, before.level))
            rows.append(replace(before, version=before.version + 1, valid_from=valid_from,
                                retired=True))
    return changes, rows


def chains(versions: Iterable[GridVersion]) -> dict[tuple[str, int], dict[int, str]]:
    """For every (code, version): the code of itself and of each parent by level, the
    parents taken as they were when that version came into force. The statistics of a
    past period roll a work order up by its (grid, grid_version) through these."""
    rows = list(versions)
    groups = _by_code(rows)
    out: dict[tuple[str, int], dict[int, str]] = {}
    for v in rows:
        chain = {v.level: v.code}
        cur: GridVersion | None = v
        while cur is not None and cur.parent:
            mine = groups.get(cur.parent, [])
            cur = version_at(mine, cur.parent, v.valid_from) or _first(mine, cur.parent)
            if cur is None or cur.level in chain:
                break
            chain[cur.level] = cur.code
        out[(v.code, v.version)] = chain
    return out


def _first(rows: Sequence[GridVersion], code: str) -> GridVersion | None:
    found = [v for v in rows if v.code == code and not v.retired]
    return min(found, key=lambda v: v.version) if found else None


def redrawn_since(versions: Iterable[GridVersion], when: datetime) -> bool:
    """True when some grid was redrawn, added or retired after `when`: a report of that
    time must be placed in the grids of its time, not today's."""
    rows = list(versions)
    first = min((v.valid_from for v in rows), default=None)
    return any(v.valid_from > when for v in rows if first is None or v.valid_from > first)


def chain_of(code: str | None, version: int | None,
             versioned: Mapping[tuple[str, int], dict[int, str]],
             current: Mapping[str, dict[int, str]]) -> dict[int, str]:
    """The parents of a work order's grid: those of its version when it has one, else
    today's."""
    if code and version is not None and (code, version) in versioned:
        return versioned[(code, version)]
    return dict(current.get(code or "", {}))
