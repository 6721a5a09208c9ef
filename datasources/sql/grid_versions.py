"""The grid versions kept (issue 16): read them, write an import's new versions, and place a
report in the grid (and version) of its time. The rule is dashboard/geo/versions.py's."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from dashboard.geo.lookup import GridHit, GridIndex
from dashboard.geo.versions import (
    GridChange,
    GridVersion,
    chains,
    in_force,
    plan,
    redrawn_since,
    version_at,
)
from dashboard.timeutil import as_utc, utcnow
from dashboard.town import GridCell
from datasources.sql import models as m

# The first drawing of a town's grids is in force since always (migration 0026 says so too).
FIRST = datetime(2000, 1, 1, tzinfo=UTC)


def read_versions(s: Session) -> list[GridVersion]:
    """Every version kept, oldest first."""
    return [GridVersion(r.code, r.version, r.level, r.parent_code, r.name, r.name_en,
                        r.village_code, r.geometry, as_utc(r.valid_from), bool(r.retired))
            for r in s.scalars(select(m.GridVersionRow).order_by(m.GridVersionRow.id))]


def write_grids(s: Session, cells: Sequence[GridCell], valid_from: datetime
                ) -> list[GridChange]:
    """The grids of an import, in the session's transaction: a new version for each grid
    added or redrawn (none for a grid drawn the same), the current row of `grids` updated,
    a grid no longer imported retired (kept: its work orders name it), and the workers
    replaced. The caller has removed the grids' workers and rotas."""
    valid_from = as_utc(valid_from)  # SQLite keeps the clock time it is given: UTC only
    changes, rows = plan(read_versions(s), cells, valid_from)
    now = utcnow()
    for v in rows:
        s.add(m.GridVersionRow(code=v.code, version=v.version, level=v.level,
                               parent_code=v.parent, name=v.name, name_en=v.name_en,
                               village_code=v.village, geometry=v.geometry,
                               valid_from=v.valid_from, retired=v.retired, created_at=now))
    for level in (1, 2, 3):
        for c in (c for c in cells if c.level == level):
            row = s.get(m.Grid, c.code)
            if row is None:
                row = m.Grid(code=c.code)
                s.add(row)
            row.level, row.parent_code, row.name, row.name_en = c.level, c.parent, c.name, \
                c.name_en
            row.village_code, row.geometry, row.households = c.village, c.geometry, \
                c.households
            row.leader_name = c.leader.get("name", "")
            row.leader_phone = c.leader.get("phone", "")
            row.retired_from = None
        s.flush()
    for ch in changes:
        if ch.change == "retired":
            row = s.get(m.Grid, ch.code)
            if row is not None:
                row.retired_from = valid_from
    for c in cells:
        for w in c.workers:
            s.add(m.GridWorker(id=w["id"], grid_code=c.code, name=w["name"],
                               phone=w.get("phone", "")))
    s.flush()
    return changes


def forget_grids(s: Session) -> None:
    """A different town replaces this one: its grids and their versions go (work orders
    keep their place but no grid)."""
    s.execute(update(m.Incident).values(grid_code=None, grid_version=None))
    s.execute(delete(m.GridVersionRow))
    for level in (3, 2, 1):
        s.execute(delete(m.Grid).where(m.Grid.level == level))


class Versions:
    """The versions kept, read once per change of the table (a process shares it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._rows: list[GridVersion] = []
        self._chains: dict[tuple[str, int], dict[int, str]] = {}

    def rows(self, s: Session) -> list[GridVersion]:
        key = tuple(s.execute(select(func.count(), func.coalesce(func.max(m.GridVersionRow.id),
                                                                  0))).one())
        with self._lock:
            if key != self._key:
                self._rows = read_versions(s)
                self._chains = chains(self._rows)
                self._key = (int(key[0]), int(key[1]))
            return self._rows

    def chains(self, s: Session) -> dict[tuple[str, int], dict[int, str]]:
        self.rows(s)
        with self._lock:
            return self._chains

    def place(self, s: Session, hit: GridHit, lon: float, lat: float, when: datetime,
              rows: list[GridVersion] | None = None) -> tuple[GridHit, int | None]:
        """The grid and version a report made at `when` belongs to: today's lookup, unless
        a grid was redrawn since, when the grids of its time decide (`rows`: self.rows(s)
        read once for a batch)."""
        rows = self.rows(s) if rows is None else rows
        if not rows:
            return hit, None
        when = as_utc(when)
        if redrawn_since(rows, when):
            then = in_force(rows, when)
            found = GridIndex([v.cell() for v in then]).locate(lon, lat) if then else None
            if found is not None and found.code != hit.code:
                names = tuple(s.scalars(select(m.GridWorker.name).where(
                    m.GridWorker.grid_code == found.code).order_by(m.GridWorker.id)))
                hit = GridHit(found.code, found.village, names)
        if not hit.code:
            return hit, None
        v = version_at(rows, hit.code, when) or version_at(rows, hit.code, utcnow())
        return hit, v.version if v else None
