"""The one SQL read behind every KPI: the facts of the work orders that count in a window."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dashboard.incidents import kpis as kpi_rules
from dashboard.incidents.kpis import KpiBoard, Window, WorkOrderFact
from dashboard.timeutil import as_utc
from datasources.sql import models as m


def read_facts(s: Session, w: Window, category: str | None = None,
               village: str | None = None,
               ids: Collection[int] | None = None) -> list[WorkOrderFact]:
    """Work orders reported before the window ends that are new in it, still open, resolved
    in it or scored in it (`dashboard.incidents.kpis.is_relevant`, as SQL); `village`: one
    village's only (the village small brain's figures); `ids`: only these work orders (what
    changed since the last read, `LiveFacts`)."""
    # The score's time is the 回访办结 step's; the row itself keeps no time for it.
    scored = (select(func.max(m.IncidentEvent.at))
              .where(m.IncidentEvent.incident_id == m.Incident.id,
                     m.IncidentEvent.action == "close")
              .correlate(m.Incident).scalar_subquery())
    q = (select(m.Incident.id, m.Incident.state, m.Incident.created_at, m.Incident.closed_at,
                m.Incident.deadline_at, m.Incident.satisfaction, scored.label("scored_at"),
                m.Incident.grid_code, m.Incident.category, m.Incident.assignee,
                m.Incident.level, m.Incident.village_code, m.Incident.grid_version)
         .where(m.Incident.created_at < w.end,
                or_(m.Incident.created_at >= w.start, m.Incident.closed_at.is_(None),
                    m.Incident.closed_at >= w.start, scored >= w.start)))
    if category:
        q = q.where(m.Incident.category == category)
    if village:
        q = q.where(m.Incident.village_code == village)
    if ids is not None:
        q = q.where(m.Incident.id.in_(list(ids)))
    return [WorkOrderFact(
        id=r.id, state=r.state, created_at=as_utc(r.created_at),
        closed_at=as_utc(r.closed_at) if r.closed_at else None,
        deadline_at=as_utc(r.deadline_at) if r.deadline_at else None,
        satisfaction=r.satisfaction, scored_at=as_utc(r.scored_at) if r.scored_at else None,
        grid=r.grid_code, grid_version=r.grid_version, category=r.category,
        assignee=r.assignee, level=r.level or "grid",
        village=r.village_code) for r in s.execute(q)]


class LiveFacts:
    """The facts behind the live boards (today's and this month's figures), held in memory
    by one process's hub and kept current by work order: after an event only the work
    orders it changed are read again, not the month (issue 17: the soak's refresh read every
    order of the month after each event, ~38 µs an order). The whole span is read at the
    first refresh, when the span starts anew (a new month), when asked (`ids=None`: a
    resync, a catch-up, a failed refresh) and at least every `full_every` s, which also takes
    in any change whose event this process missed.

    `refresh` runs one call at a time (the KPI worker and a resync may overlap); `board` may
    be called from any thread: it reads the snapshot the last refresh left."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]],
                 full_every: float) -> None:
        self._session = session
        self.full_every = full_every
        self._facts: dict[int, WorkOrderFact] = {}
        self._start: datetime | None = None
        self._full_at = -math.inf  # time.monotonic() of the last full read
        self._rows: tuple[WorkOrderFact, ...] = ()
        self.full_reads = 0
        self.partial_reads = 0
        self._lock = threading.Lock()

    def refresh(self, now: datetime, ids: Collection[int] | None = None) -> KpiBoard:
        """Read the work orders `ids` again (all of the span's, when due or when None) and
        return the town's board as of `now`."""
        with self._lock:
            return self._refresh(now, ids)

    def _refresh(self, now: datetime, ids: Collection[int] | None) -> KpiBoard:
        w = kpi_rules.live_span(now)
        full = (ids is None or w.start != self._start
                or time.monotonic() - self._full_at >= self.full_every)
        if full:
            with self._session() as s:
                facts = read_facts(s, w)
            self._facts = {f.id: f for f in facts}
            self._start = w.start
            self._full_at = time.monotonic()
            self.full_reads += 1
        elif ids:
            with self._session() as s:
                fresh = {f.id: f for f in read_facts(s, w, ids=ids)}
            for i in ids:  # an order that no longer counts in the span leaves it
                if i in fresh:
                    self._facts[i] = fresh[i]
                else:
                    self._facts.pop(i, None)
            self.partial_reads += 1
        self._rows = tuple(self._facts.values())
        return kpi_rules.board(self._rows, now)

    def board(self, now: datetime, village: str | None = None) -> KpiBoard:
        """The board of the town or of one village, from the last refresh's facts."""
        rows = self._rows
        if village is not None:
            rows = tuple(f for f in rows if f.village == village)
        return kpi_rules.board(rows, now)
