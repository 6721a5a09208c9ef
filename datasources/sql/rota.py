"""The duty rota in SQL: load or generate it, who is on duty now, workload, call-up list."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard.geo.lookup import GridHit, GridIndex
from dashboard.grids.rota import (
    RotaError,
    RotaRow,
    callup,
    check_leave,
    check_shift_edit,
    cover,
    generate,
    neighbours,
    parse_csv,
    shift_at,
)
from dashboard.grids.stats import ancestors
from dashboard.incidents.lifecycle import OPEN_STATES
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from dashboard.town import GridCell
from datasources.sql import models as m
from datasources.sql.incidents import Store

log = logging.getLogger(__name__)
GENERATE_DAYS = 14
# How long a process keeps the shift's roster it read (intake names each report's worker on
# duty from it); an edit made in this process is read at once.
ROSTER_TTL_S = 2.0
ROTA_FILE = "rota.csv"


class RotaStore:
    """Reads and writes `grid_rota`; answers who is on duty in a grid at an instant."""

    def __init__(self, store: Store, cells: list[GridCell]):
        self.store = store
        self.cells = cells
        self.chain = ancestors(cells)
        self._file_stamp: int | None = None
        # The shift in force's roster as last read: (time.monotonic(), (day, shift), who).
        self._shift: tuple[float, tuple[str, str], dict[str, str]] | None = None

    def _edited(self) -> None:
        """The rota changed here: the next roster is read anew (another process's edit
        reaches this one within ROSTER_TTL_S)."""
        self._shift = None

    def save(self, rows: list[RotaRow]) -> int:
        """Store rows, replacing any shift they name (a later file wins over the default)."""
        with self.store.session() as s:
            for r in rows:
                s.execute(delete(m.GridRota).where(m.GridRota.grid_code == r.grid,
                                                   m.GridRota.day == r.day,
                                                   m.GridRota.shift == r.shift))
                s.add(m.GridRota(grid_code=r.grid, day=r.day, shift=r.shift,
                                 worker_id=r.worker_id, worker_name=r.worker_name))
        self._edited()
        return len(rows)

    def _stored(self, rows: list[RotaRow]) -> bool:
        """Whether every row is stored as it is (one read instead of a delete and an insert
        per shift on each start)."""
        days = sorted({r.day for r in rows})
        with self.store.session() as s:
            have = set(s.execute(select(m.GridRota.grid_code, m.GridRota.day, m.GridRota.shift,
                                        m.GridRota.worker_id, m.GridRota.worker_name)
                                 .where(m.GridRota.day.in_(days))).tuples())
        return all((r.grid, r.day, r.shift, r.worker_id, r.worker_name) in have for r in rows)

    def ensure(self, town_dir: str | Path | None = None, now: datetime | None = None,
               days: int = GENERATE_DAYS) -> int:
        """Load the town's rota.csv when present, else fill the coming days with the default."""
        now = now or utcnow()
        path = Path(town_dir) / ROTA_FILE if town_dir else None
        if path is not None and path.exists():
            stamp = path.stat().st_mtime_ns
            if stamp == self._file_stamp:
                return 0  # loaded already and unchanged since
            rows = parse_csv(path.read_text(encoding="utf-8"), self.cells)
            if self._stored(rows):  # every process and restart reads the same file
                self._file_stamp = stamp
                return 0
            try:
                n = self.save(rows)
            except IntegrityError:
                return 0  # another process loaded the same file at the same moment
            self._file_stamp = stamp
            return n
        first_day, _ = shift_at(now)
        start = datetime.fromisoformat(first_day).date()
        last = (start + timedelta(days=days - 1)).isoformat()
        with self.store.session() as s:
            have = s.scalar(select(func.count()).select_from(m.GridRota).where(
                m.GridRota.day == last)) or 0
        if have:
            return 0
        try:
            with self.store.session() as s:
                s.execute(delete(m.GridRota).where(m.GridRota.day >= start.isoformat()))
                for r in generate(self.cells, start, days):
                    s.add(m.GridRota(grid_code=r.grid, day=r.day, shift=r.shift,
                                     worker_id=r.worker_id, worker_name=r.worker_name))
                s.flush()
                made = s.scalar(select(func.count()).select_from(m.GridRota).where(
                    m.GridRota.day >= start.isoformat())) or 0
            self._edited()
            return made
        except IntegrityError:
            # Another server process filled the same days at the same moment: theirs stands.
            log.info("rota generated by another process meanwhile")
            return 0

    def swap(self, a: tuple[str, str, str], b: tuple[str, str, str]) -> tuple[str, str]:
        """换班: exchange the workers of two shifts, each (grid, day, shift), in one
        transaction; (worker of a before, worker of b before). RotaError when either shift
        is not in the rota or both name the same shift."""
        if a == b:
            raise RotaError("two different shifts are needed")
        with self.store.session() as s:
            rows = []
            for grid, day, shift in (a, b):
                row = s.scalar(select(m.GridRota).where(
                    m.GridRota.grid_code == grid, m.GridRota.day == day,
                    m.GridRota.shift == shift))
                if row is None:
                    raise RotaError(f"no shift {grid} {day} {shift} in the rota")
                rows.append(row)
            first, second = rows
            before = (first.worker_name, second.worker_name)
            (first.worker_id, first.worker_name, second.worker_id, second.worker_name) = (
                second.worker_id, second.worker_name, first.worker_id, first.worker_name)
        self._edited()
        return before

    # ------------------------------------------------------------ edits (/admin)
    def _taken(self, s: Any, days: list[str]) -> dict[tuple[str, str, str], str]:
        """(day, shift, worker id) -> grid of every shift on those days."""
        rows = s.execute(select(m.GridRota.day, m.GridRota.shift, m.GridRota.worker_id,
                                m.GridRota.grid_code).where(m.GridRota.day.in_(days)))
        return {(d, sh, w): g for d, sh, w, g in rows}

    def leaves(self, since: str | None = None) -> list[tuple[str, str, str]]:
        """(worker id, first day, last day) of every leave ending on or after `since`."""
        with self.store.session() as s:
            q = select(m.RotaLeave.worker_id, m.RotaLeave.start_day, m.RotaLeave.end_day)
            if since:
                q = q.where(m.RotaLeave.end_day >= since)
            return [(w, a, b) for w, a, b in s.execute(q.order_by(m.RotaLeave.start_day))]

    def leave_rows(self, since: str) -> list[dict[str, Any]]:
        """The leaves in force or to come, newest first, for the admin's table."""
        with self.store.session() as s:
            names = dict(s.execute(select(m.GridWorker.id, m.GridWorker.name)).tuples().all())
            rows = s.scalars(select(m.RotaLeave).where(m.RotaLeave.end_day >= since)
                             .order_by(m.RotaLeave.start_day.desc()))
            return [{"id": r.id, "worker_id": r.worker_id,
                     "worker": names.get(r.worker_id, r.worker_id), "first": r.start_day,
                     "last": r.end_day, "reason": r.reason} for r in rows]

    def away(self, day: str) -> set[str]:
        """Ids of the workers on leave on a local day."""
        with self.store.session() as s:
            return set(s.scalars(select(m.RotaLeave.worker_id).where(
                m.RotaLeave.start_day <= day, m.RotaLeave.end_day >= day)))

    def set_shift(self, grid: object, day: object, shift: object, worker_id: object,
                  today: date | None = None) -> tuple[RotaRow, str | None]:
        """Put a worker on one shift (checked by dashboard.grids.rota.check_shift_edit);
        (the shift as set, the worker it had before or None when it was empty)."""
        today = today or utcnow().astimezone(LOCAL_TZ).date()
        cells = {c.code: c for c in self.store.grid_cells()}
        with self.store.session() as s:
            day_text = day.strip() if isinstance(day, str) else ""
            row = check_shift_edit(cells, grid, day, shift, worker_id, today,
                                   self._taken(s, [day_text]), self.leaves(day_text))
            old = s.scalar(select(m.GridRota).where(
                m.GridRota.grid_code == row.grid, m.GridRota.day == row.day,
                m.GridRota.shift == row.shift))
            if old is None:
                s.add(m.GridRota(grid_code=row.grid, day=row.day, shift=row.shift,
                                 worker_id=row.worker_id, worker_name=row.worker_name))
                before = None
            else:
                before = old.worker_name
                old.worker_id, old.worker_name = row.worker_id, row.worker_name
        self._edited()
        return row, before

    def mark_leave(self, worker_id: object, first: object, last: object, reason: str,
                   today: date | None = None) -> dict[str, Any]:
        """Mark a worker's leave and hand each of their shifts in it to a colleague of the
        grid (dashboard.grids.rota.cover), in one transaction: {worker, first, last,
        covered: [(grid, day, shift, colleague)], open: [(grid, day, shift)]}."""
        today = today or utcnow().astimezone(LOCAL_TZ).date()
        cells = {c.code: c for c in self.store.grid_cells()}
        workers = {w["id"]: w["name"] for c in cells.values() for w in c.workers}
        leaves = self.leaves()
        wid, a, b = check_leave(workers, worker_id, first, last, today, leaves)
        leaves.append((wid, a, b))
        out: dict[str, Any] = {"worker": workers[wid], "worker_id": wid, "first": a,
                               "last": b, "covered": [], "open": []}
        with self.store.session() as s:
            s.add(m.RotaLeave(worker_id=wid, start_day=a, end_day=b, reason=reason,
                              created_at=utcnow()))
            mine = list(s.scalars(select(m.GridRota).where(
                m.GridRota.worker_id == wid, m.GridRota.day >= a, m.GridRota.day <= b)
                .order_by(m.GridRota.day, m.GridRota.shift)))
            taken = self._taken(s, sorted({r.day for r in mine}))
            for r in mine:
                w = cover(neighbours(cells, r.grid_code), wid, r.day, r.shift, taken, leaves)
                if w is None:
                    out["open"].append((r.grid_code, r.day, r.shift))
                    continue
                taken[(r.day, r.shift, w["id"])] = r.grid_code
                r.worker_id, r.worker_name = w["id"], w["name"]
                out["covered"].append((r.grid_code, r.day, r.shift, w["name"]))
        self._edited()
        return out

    def on_duty(self, now: datetime | None = None) -> dict[str, str]:
        """Worker name on duty now, by level-3 grid code."""
        day, shift = shift_at(now or utcnow())
        with self.store.session() as s:
            return dict(s.execute(select(m.GridRota.grid_code, m.GridRota.worker_name).where(
                m.GridRota.day == day, m.GridRota.shift == shift)).all())

    def duty_id(self, grid: str | None, now: datetime | None = None) -> str | None:
        """The id of the worker the live rota has on duty in `grid` now (None: nobody)."""
        if not grid:
            return None
        day, shift = shift_at(now or utcnow())
        with self.store.session() as s:
            return s.scalar(select(m.GridRota.worker_id).where(
                m.GridRota.grid_code == grid, m.GridRota.day == day, m.GridRota.shift == shift))

    def live(self, grid: str | None, now: datetime | None = None) -> dict[str, Any]:
        """What the console's recommendation reads of the live rota (recommend's keywords):
        the worker on duty in `grid` now and the ids of those on leave today."""
        day, _ = shift_at(now or utcnow())
        return {"on_duty_id": self.duty_id(grid, now), "away": self.away(day)}

    def worker_on_duty(self, grid: str, now: datetime | None = None) -> str | None:
        """The one worker on duty in `grid` now, or None when the rota has nobody."""
        return self.workers_on_duty({grid}, now).get(grid)

    def shift_roster(self, now: datetime | None = None) -> dict[str, str]:
        """Who is on duty in each grid the rota names someone for, in the shift in force
        `now`: one read of the whole shift, kept ROSTER_TTL_S (intake names the worker of
        every report it stores from it, a batch at a time; it read the rota once a batch)."""
        key = shift_at(now or utcnow())
        held = self._shift
        if held is not None and held[1] == key and time.monotonic() - held[0] < ROSTER_TTL_S:
            return held[2]
        with self.store.session() as s:
            who = {g: w for g, w in s.execute(select(m.GridRota.grid_code,
                                                     m.GridRota.worker_name).where(
                m.GridRota.day == key[0], m.GridRota.shift == key[1])) if w}
        self._shift = (time.monotonic(), key, who)
        return who

    def workers_on_duty(self, grids: Collection[str], now: datetime | None = None,
                        s: Session | None = None) -> dict[str, str]:
        """The worker on duty now in each of `grids` the rota names someone for (one read;
        in the session `s` when given: intake's batch reads it in its own transaction)."""
        day, shift = shift_at(now or utcnow())
        query = select(m.GridRota.grid_code, m.GridRota.worker_name).where(
            m.GridRota.grid_code.in_(set(grids)), m.GridRota.day == day,
            m.GridRota.shift == shift)
        if s is not None:
            return {g: w for g, w in s.execute(query) if w}
        with self.store.session() as own:
            return {g: w for g, w in own.execute(query) if w}

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
                for person in {assignee, worker}:
                    if person is not None:
                        out[person] = out.get(person, 0) + 1
            return out

    def callup(self, near: str, now: datetime | None = None,
               limit: int = 12) -> list[dict[str, Any]]:
        """Off-duty workers to call up for grid `near`, nearest and least loaded first."""
        day, _ = shift_at(now or utcnow())
        return callup(self.cells, near, self.on_duty(now), self.workload(), self.chain, limit,
                      away=self.away(day))


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

    def place(self, lon: float, lat: float) -> GridHit | None:
        """The grid a report is in, the rota not yet asked (roster asks it for a batch)."""
        return self.index.locate(lon, lat)

    def roster(self, hits: Sequence[GridHit], s: Session | None = None) -> list[GridHit]:
        """The hits with the rota's worker on duty now named (RotaStore.shift_roster: read
        at most ROSTER_TTL_S ago; `s`, the batch's session, is not needed)."""
        try:
            on_duty = self.rota.shift_roster()
        except SQLAlchemyError:
            raise  # inside a batch's transaction: the batch is tried again report by report
        except Exception:  # the default rotation still names someone if the rota is unreadable
            log.exception("rota lookup failed; falling back to the daily rotation")
            return list(hits)
        return [dataclasses.replace(h, rostered=on_duty[h.code]) if h.code in on_duty else h
                for h in hits]
