"""The one read behind the evaluation (综合评价): the work orders reported in a period with
their history folded into stage times (dashboard/incidents/evaluation.fold_history), and the
names of the units they count for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.incidents.evaluation import CaseFact, Evaluation, evaluate, fold_history
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.incidents import Store

# The history steps that mark a stage or a misdispatch (the rest are not read).
_STEPS = ("accept", "dispatch", "reassign", "return", "resolve", "rework", "verify")


def read_cases(s: Session, start: datetime, end: datetime) -> list[CaseFact]:
    """Every work order reported in [start, end) as the evaluation sees it."""
    rows = s.execute(select(
        m.Incident.id, m.Incident.state, m.Incident.priority, m.Incident.created_at,
        m.Incident.deadline_at, m.Incident.category, m.Incident.grid_code,
        m.Incident.village_code, m.Incident.assignee, m.Incident.satisfaction,
        m.Incident.rework_count, m.Incident.extend_count, m.Incident.unit_id)
        .where(m.Incident.created_at >= start, m.Incident.created_at < end)
        .order_by(m.Incident.id)).all()
    steps: dict[int, list[tuple[str | None, datetime]]] = {}
    for incident_id, action, at in s.execute(
            select(m.IncidentEvent.incident_id, m.IncidentEvent.action, m.IncidentEvent.at)
            .join(m.Incident, m.Incident.id == m.IncidentEvent.incident_id)
            .where(m.Incident.created_at >= start, m.Incident.created_at < end,
                   m.IncidentEvent.action.in_(_STEPS))
            .order_by(m.IncidentEvent.incident_id, m.IncidentEvent.id)):
        steps.setdefault(incident_id, []).append((action, as_utc(at)))
    return [CaseFact(
        id=r.id, state=r.state, priority=r.priority, created_at=as_utc(r.created_at),
        deadline_at=as_utc(r.deadline_at) if r.deadline_at else None, category=r.category,
        grid=r.grid_code, village=r.village_code, assignee=r.assignee,
        satisfaction=r.satisfaction, rework_count=r.rework_count or 0,
        extend_count=r.extend_count or 0, unit=r.unit_id, **fold_history(steps.get(r.id, ())))
        for r in rows]


def unit_names(s: Session, kind: str) -> dict[str, tuple[str, str]]:
    """The (zh, en) names of the units of `kind`: grids and villages by code; workers are
    named by their names already."""
    if kind == "grid":
        return {c: (n, e or n) for c, n, e in s.execute(
            select(m.Grid.code, m.Grid.name, m.Grid.name_en))}
    if kind == "village":
        return {c: (n, e or n) for c, n, e in s.execute(
            select(m.Village.code, m.Village.name, m.Village.name_en))}
    if kind == "unit":
        return {c: (n, e or n) for c, n, e in s.execute(
            select(m.Unit.id, m.Unit.name, m.Unit.name_en))}
    return {}


class EvaluationStore:
    """Reads and evaluates a period: one read, then the pure rules."""

    def __init__(self, store: Store):
        self.store = store
        self.tables: Any = None  # TownTables: the weights with /admin's override, when wired
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, datetime, datetime, str],
                         tuple[float, tuple[Evaluation, dict[str, tuple[str, str]]]]] = {}

    def recent(self, kind: str, start: datetime, end: datetime,
               max_age_s: float = 60.0) -> tuple[Evaluation, dict[str, tuple[str, str]]]:
        """`evaluate` with the default weights, kept for `max_age_s` per (kind, period): the
        leaders' tablets refresh every 10 s each and ask for the same minute's table."""
        key = (kind, start, end, json.dumps(self.tables.weights() if self.tables else None,
                                            sort_keys=True))
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and time.monotonic() - kept[0] < max_age_s:
                return kept[1]
        out = self.evaluate(kind, start, end)
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items()
                          if time.monotonic() - v[0] < max_age_s}
            self._kept[key] = (time.monotonic(), out)
        return out

    def evaluate(self, kind: str, start: datetime, end: datetime, *,
                 weights: Mapping[str, Mapping[str, float]] | None = None,
                 now: datetime | None = None) -> tuple[Evaluation, dict[str, tuple[str, str]]]:
        """The evaluation of the units of `kind` over [start, end) as they stand now, and
        the units' names."""
        with self.store.session() as s:
            facts = read_cases(s, start, end)
            names = unit_names(s, kind)
        if weights is None and self.tables is not None:
            weights = self.tables.weights()  # the town's, with /admin's override
        ev = evaluate(facts, kind, start, end, as_utc(now or utcnow()), weights,
                      stage_table=self.store.deadlines)
        return ev, names
