"""The one SQL read behind every KPI: the facts of the work orders that count in a window."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dashboard.incidents.kpis import Window, WorkOrderFact
from dashboard.timeutil import as_utc
from datasources.sql import models as m


def read_facts(s: Session, w: Window, category: str | None = None,
               village: str | None = None) -> list[WorkOrderFact]:
    """Work orders reported before the window ends that are new in it, still open, resolved
    in it or scored in it (`dashboard.incidents.kpis.is_relevant`, as SQL); `village`: one
    village's only (the village small brain's figures)."""
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
    return [WorkOrderFact(
        id=r.id, state=r.state, created_at=as_utc(r.created_at),
        closed_at=as_utc(r.closed_at) if r.closed_at else None,
        deadline_at=as_utc(r.deadline_at) if r.deadline_at else None,
        satisfaction=r.satisfaction, scored_at=as_utc(r.scored_at) if r.scored_at else None,
        grid=r.grid_code, grid_version=r.grid_version, category=r.category,
        assignee=r.assignee, level=r.level or "grid",
        village=r.village_code) for r in s.execute(q)]
