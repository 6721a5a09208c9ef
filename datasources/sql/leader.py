"""SQL behind the leaders' view: period figures, daily series, category mix, rankings."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from dashboard.grids.stats import IncidentFact
from dashboard.screens import leader
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.grids import GridStore
from datasources.sql.incidents import Store

TREND_DAYS = 30


def _fact(row: Any) -> IncidentFact:
    return IncidentFact(grid=row.grid_code, state=row.state, created_at=as_utc(row.created_at),
                        closed_at=as_utc(row.closed_at) if row.closed_at else None,
                        deadline_at=as_utc(row.deadline_at) if row.deadline_at else None,
                        satisfaction=row.satisfaction)


class LeaderStore:
    """Reads what a leader's tablet shows; one call per refresh, shared rows reused."""

    def __init__(self, store: Store, grids: GridStore):
        self.store = store
        self.grids = grids

    def _rows(self, start: datetime, end: datetime) -> list[Any]:
        """Work orders received in [start, end) or closed in it (for the closed series)."""
        cols = (m.Incident.grid_code, m.Incident.state, m.Incident.created_at,
                m.Incident.closed_at, m.Incident.deadline_at, m.Incident.satisfaction,
                m.Incident.category, m.Incident.assignee)
        q = select(*cols).where(or_(
            (m.Incident.created_at >= start) & (m.Incident.created_at < end),
            (m.Incident.closed_at >= start) & (m.Incident.closed_at < end)))
        with self.store.session() as s:
            return list(s.execute(q))

    def overview(self, now: datetime | None = None) -> dict[str, Any]:
        """Today and month figures with their previous periods, trends and rankings."""
        now = now or utcnow()
        month = leader.month_period(now)
        day = leader.today_period(now)
        first = min(month.prev_start, as_utc(now) - timedelta(days=TREND_DAYS + 1))
        rows = self._rows(first, as_utc(now) + timedelta(seconds=1))

        def within(start: datetime, end: datetime) -> list[IncidentFact]:
            return [_fact(r) for r in rows if start <= as_utc(r.created_at) < end]

        end = as_utc(now) + timedelta(seconds=1)
        days = leader.last_days(now, TREND_DAYS)
        month_rows = [r for r in rows if as_utc(r.created_at) >= month.start]
        by_dept: dict[str, list[IncidentFact]] = {}
        for r in month_rows:
            if r.assignee:
                by_dept.setdefault(r.assignee, []).append(_fact(r))
        departments = [{"name": name, **leader.figures(facts, now)}
                       for name, facts in by_dept.items()]
        departments.sort(key=lambda d: (-(d["close_rate"] or 0), -d["received"], d["name"]))
        return {
            "today": leader.figures(within(day.start, end), now),
            "yesterday": leader.figures(within(day.prev_start, day.prev_end), now),
            "month": leader.figures(within(month.start, end), now),
            "prev_month": leader.figures(within(month.prev_start, month.prev_end), now),
            "days": days,
            "daily": leader.daily_counts([_fact(r) for r in rows], days),
            "categories": Counter(r.category for r in month_rows).most_common(),
            "grids": self.grids.measures(2, "30d", now=now),
            "departments": departments[:12],
        }
