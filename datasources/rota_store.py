"""The duty rota in SQL: load or generate it, who is on duty now, workload, call-up list."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select

from dashboard.geo import GridHit, GridIndex
from dashboard.grid_stats import ancestors
from dashboard.incidents import OPEN_STATES
from dashboard.rota import RotaRow, callup, generate, parse_csv, shift_at
from dashboard.timeutil import as_utc, utcnow
from dashboard.town import GridCell
from datasources import models as m
from datasources.store import Store

log = logging.getLogger(__name__)
GENERATE_DAYS = 14
ROTA_FILE = "rota.csv"


class RotaStore:
    """Reads and writes `grid_rota`; answers who is on duty in a grid at an instant."""

    def __init__(self, store: Store, cells: list[GridCell]):
        self.store = store
        self.cells = cells
        self.chain = ancestors(cells)

    def save(self, rows: list[RotaRow]) -> int:
        """Store rows, replacing any shift they name (a later file wins over the default)."""
        with self.store.session() as s:
            for r in rows:
                s.execute(delete(m.GridRota).where(m.GridRota.grid_code == r.grid,
                                                   m.GridRota.day == r.day,
                                                   m.GridRota.shift == r.shift))
                s.add(m.GridRota(grid_code=r.grid, day=r.day, shift=r.shift,
                                 worker_id=r.worker_id, worker_name=r.worker_name))
        return len(rows)

    def ensure(self, town_dir: str | Path | None = None, now: datetime | None = None,
               days: int = GENERATE_DAYS) -> int:
        """Load the town's rota.csv when present, else fill the coming days with the default."""
        now = now or utcnow()
        path = Path(town_dir) / ROTA_FILE if town_dir else None
        if path is not None and path.exists():
            return self.save(parse_csv(path.read_text(encoding="utf-8"), self.cells))
        first_day, _ = shift_at(now)
        start = datetime.fromisoformat(first_day).date()
        last = (start + timedelta(days=days - 1)).isoformat()
        with self.store.session() as s:
            have = s.scalar(select(func.count()).select_from(m.GridRota).where(
                m.GridRota.day == last)) or 0
        if have:
            return 0
        with self.store.session() as s:
            s.execute(delete(m.GridRota).where(m.GridRota.day >= start.isoformat()))
        return self.save(generate(self.cells, start, days))

    def on_duty(self, now: datetime | None = None) -> dict[str, str]:
        """Worker name on duty now, by level-3 grid code."""
        day, shift = shift_at(now or utcnow())
        with self.store.session() as s:
            return dict(s.execute(select(m.GridRota.grid_code, m.GridRota.worker_name).where(
                m.GridRota.day == day, m.GridRota.shift == shift)).all())

    def worker_on_duty(self, grid: str, now: datetime | None = None) -> str | None:
        """The one worker on duty in `grid` now, or None when the rota has nobody."""
        day, shift = shift_at(now or utcnow())
        with self.store.session() as s:
            return s.scalar(select(m.GridRota.worker_name).where(
                m.GridRota.grid_code == grid, m.GridRota.day == day, m.GridRota.shift == shift))

    def table(self, grid: str, start_day: str, days: int = 7) -> list[dict[str, Any]]:
        """The rota of one grid from `start_day`, one row per day with both shifts."""
        end = (datetime.fromisoformat(start_day) + timedelta(days=days)).date().isoformat()
        with self.store.session() as s:
            rows = s.execute(select(m.GridRota.day, m.GridRota.shift, m.GridRota.worker_name)
                             .where(m.GridRota.grid_code == grid, m.GridRota.day >= start_day,
                                    m.GridRota.day < end).order_by(m.GridRota.day)).all()
        out: dict[str, dict[str, Any]] = {}
        for day, shift, worker in rows:
            out.setdefault(day, {"date": day})[shift] = worker
        return list(out.values())

    def workload(self) -> dict[str, int]:
        """Open work orders per worker (as assignee or as the grid worker on duty)."""
        with self.store.session() as s:
            rows = s.execute(select(m.Incident.assignee, m.Incident.grid_worker).where(
                m.Incident.state.in_(OPEN_STATES),
                or_(m.Incident.assignee.is_not(None), m.Incident.grid_worker.is_not(None))))
            out: dict[str, int] = {}
            for assignee, worker in rows:
                for person in {assignee, worker} - {None}:
                    out[person] = out.get(person, 0) + 1
            return out

    def callup(self, near: str, now: datetime | None = None,
               limit: int = 12) -> list[dict[str, Any]]:
        """Off-duty workers to call up for grid `near`, nearest and least loaded first."""
        return callup(self.cells, near, self.on_duty(now), self.workload(), self.chain, limit)


class RotaIndex:
    """The grid index, with the rota deciding who of a grid's workers is on duty."""

    def __init__(self, index: GridIndex, rota: RotaStore):
        self.index = index
        self.rota = rota

    def __len__(self) -> int:
        return len(self.index)

    def locate(self, lon: float, lat: float, at: datetime | None = None) -> GridHit | None:
        """The level-3 grid containing the point, naming the rota's worker on duty."""
        hit = self.index.locate(lon, lat)
        if hit is None:
            return None
        try:
            worker = self.rota.worker_on_duty(hit.code, as_utc(at) if at else None)
        except Exception:  # the default rotation still names someone if the rota is unreadable
            log.exception("rota lookup failed; falling back to the daily rotation")
            return hit
        return dataclasses.replace(hit, rostered=worker) if worker else hit
