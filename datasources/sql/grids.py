"""SQL behind the grid heatmaps: the window's figures per grid, and raw points for heat."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dashboard.grids.stats import WINDOWS, StatsError, grid_measures, grid_totals
from dashboard.incidents import kpis
from dashboard.incidents.kpis import Figures, Window, WorkOrderFact
from dashboard.incidents.lifecycle import CATEGORY_BY_CODE
from dashboard.timeutil import utcnow
from dashboard.town import GridCell
from datasources.sql import models as m
from datasources.sql.incidents import Store
from datasources.sql.kpis import read_facts

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

    def versioned(self) -> dict[tuple[str, int], dict[int, str]]:
        """Each grid version's parents (issue 16): the statistics use the grids of their
        time."""
        with self.store.session() as s:
            return self.store.versions.chains(s)

    def facts(self, window: str, category: str | None = None,
              now: datetime | None = None) -> tuple[Window, list[WorkOrderFact]]:
        """The window and the facts of the work orders that count in it (one category, or
        all)."""
        _check_category(category)
        w = _window(window, now or utcnow())
        with self.store.session() as s:
            return w, read_facts(s, w, category)

    def _cached(self, key: tuple[Any, ...], version: int | None, make: Any) -> Any:
        if version is not None:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
        out = make()
        if version is not None:
            with self._lock:
                if len(self._cache) > 200:
                    self._cache.clear()
                self._cache[key] = out
        return out

    def measures(self, level: int, window: str, category: str | None = None,
                 parent: str | None = None, now: datetime | None = None,
                 version: int | None = None) -> dict[str, Figures]:
        """The figures per grid of `level` (under `parent`), cached per `version` if given."""
        def make() -> dict[str, Figures]:
            w, facts = self.facts(window, category, now)
            return grid_measures(facts, self.cells, level, w, parent, self.versioned())
        out: dict[str, Figures] = self._cached(("m", level, window, category, parent, version),
                                               version, make)
        return out

    def totals(self, window: str, category: str | None = None, parent: str | None = None,
               now: datetime | None = None, version: int | None = None) -> Figures:
        """The figures of the grids in view: the town at level 1, else all under `parent`."""
        def make() -> Figures:
            w, facts = self.facts(window, category, now)
            return grid_totals(facts, self.cells, w, parent, self.versioned())
        out: Figures = self._cached(("t", window, category, parent, version), version, make)
        return out

    def points(self, window: str, category: str | None = None,
               now: datetime | None = None, limit: int = MAX_POINTS) -> list[list[float]]:
        """Raw incident locations [lat, lon] of the window, newest first (heat layer)."""
        now = now or utcnow()
        _check_category(category)
        q = (select(m.Incident.lat, m.Incident.lon)
             .where(m.Incident.created_at >= _window(window, now).start)
             .order_by(m.Incident.id.desc()).limit(limit))
        if category:
            q = q.where(m.Incident.category == category)
        with self.store.session() as s:
            return [[round(lat, 5), round(lon, 5)] for lat, lon in s.execute(q)]


def _window(window: str, now: datetime) -> Window:
    """One of the grid page's windows (a ValueError names the ones there are)."""
    if window not in WINDOWS:
        raise StatsError(f"unknown window {window!r}; one of {', '.join(WINDOWS)}")
    return kpis.window(window, now)


def _check_category(category: str | None) -> None:
    if category and category not in CATEGORY_BY_CODE:
        raise ValueError(f"unknown category {category!r}")
