"""SQL behind the grid heatmaps: the window's work orders per grid, and raw points for heat."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dashboard.grids.stats import IncidentFact, grid_measures, window_start
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.timeutil import as_utc, utcnow
from dashboard.town import GridCell
from datasources.sql import models as m
from datasources.sql.incidents import Store

MAX_POINTS = 5000


class GridStore:
    """Reads the grid measures from the durable record; shares results between screens.

    Ten wall screens showing the same level and window ask the same question after every
    incident: the answer is cached per (question, incidents version), so it is one query.
    """

    def __init__(self, store: Store, cells: list[GridCell]):
        self.store = store
        self.cells = cells
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def facts(self, window: str, category: str | None = None,
              now: datetime | None = None) -> list[IncidentFact]:
        """Work orders received in the window (one category, or all)."""
        now = now or utcnow()
        _check_category(category)
        start = window_start(window, now)
        q = select(m.Incident.grid_code, m.Incident.state, m.Incident.created_at,
                   m.Incident.closed_at, m.Incident.deadline_at, m.Incident.satisfaction
                   ).where(m.Incident.created_at >= start, m.Incident.created_at <= now)
        if category:
            q = q.where(m.Incident.category == category)
        with self.store.session() as s:
            return [IncidentFact(grid=g, state=st, created_at=as_utc(c),
                                 closed_at=as_utc(cl) if cl else None,
                                 deadline_at=as_utc(d) if d else None, satisfaction=sat)
                    for g, st, c, cl, d, sat in s.execute(q)]

    def measures(self, level: int, window: str, category: str | None = None,
                 parent: str | None = None, now: datetime | None = None,
                 version: int | None = None) -> dict[str, dict[str, Any]]:
        """Every measure per grid of `level` (under `parent`), cached per `version` if given."""
        key = ("m", level, window, category, parent, version)
        if version is not None:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
        now = now or utcnow()
        out = grid_measures(self.facts(window, category, now), self.cells, level, now, parent)
        if version is not None:
            with self._lock:
                if len(self._cache) > 200:
                    self._cache.clear()
                self._cache[key] = out
        return out

    def points(self, window: str, category: str | None = None,
               now: datetime | None = None, limit: int = MAX_POINTS) -> list[list[float]]:
        """Raw incident locations [lat, lon] of the window, newest first (heat layer)."""
        now = now or utcnow()
        _check_category(category)
        q = (select(m.Incident.lat, m.Incident.lon)
             .where(m.Incident.created_at >= window_start(window, now))
             .order_by(m.Incident.id.desc()).limit(limit))
        if category:
            q = q.where(m.Incident.category == category)
        with self.store.session() as s:
            return [[round(lat, 5), round(lon, 5)] for lat, lon in s.execute(q)]


def _check_category(category: str | None) -> None:
    if category and category not in CATEGORY_BY_CODE:
        raise ValueError(f"unknown category {category!r}")
