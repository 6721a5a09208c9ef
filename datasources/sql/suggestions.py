"""What the suggestion model learns from and what it said (issue 18, 智能派单): closed work
orders as examples, each work order's suggestion, and the officers' decisions (recorded
inside the dispatch's transaction: incidents._decide_suggestion)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select, update

from dashboard.incidents.lifecycle import DONE_STATES
from dashboard.incidents.suggest import Example, Suggestion
from dashboard.incidents.textsim import report_text
from dashboard.messages import IncidentView
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.incidents import Store, incident_view


def examples(store: Store, limit: int = 20_000) -> list[Example]:
    """The town's handled work orders, newest first, as the model learns from them: the
    words, the category, the village and the unit that handled it (None: the village's)."""
    with store.session() as s:
        rows = s.execute(select(m.Incident.title, m.Incident.description, m.Incident.category,
                                m.Incident.village_code, m.Incident.unit_id)
                         .where(m.Incident.state.in_(DONE_STATES))
                         .order_by(m.Incident.id.desc()).limit(limit)).all()
    return [Example(report_text(t, d), c, v, u) for t, d, c, v, u in rows]


def village_units(store: Store) -> dict[str, str]:
    """Each village's own committee (the village tier's unit), by village code."""
    return {u.village: u.id for u in store.units() if u.tier == "village" and u.village}


def save(store: Store, incident_id: int, suggestion: Suggestion,
         now: datetime | None = None) -> IncidentView | None:
    """Keep the suggestion of a work order (the first one stays) and bump its version, so
    every screen showing it draws it again; None when it has one already or is gone."""
    now = now or utcnow()
    with store.session() as s:
        row = s.get(m.Incident, incident_id)
        if row is None or s.get(m.IncidentSuggestion, incident_id) is not None:
            return None
        s.add(m.IncidentSuggestion(
            incident_id=incident_id, model_version=suggestion.version,
            category=suggestion.category, confidence=suggestion.confidence,
            unit_id=suggestion.unit_id,
            unit_confidence=suggestion.units[0][1] if suggestion.units else None,
            ranked=suggestion.as_dict(), created_at=now))
        s.execute(update(m.Incident).where(m.Incident.id == incident_id)
                  .values(version=m.Incident.version + 1))
        s.flush()
        s.refresh(row)
        return incident_view(row)


def of(store: Store, incident_id: int) -> dict[str, Any] | None:
    """A work order's suggestion with the decision taken on it, or None."""
    with store.session() as s:
        row = s.get(m.IncidentSuggestion, incident_id)
        if row is None:
            return None
        return {**row.ranked, "model_version": row.model_version,
                "created_at": as_utc(row.created_at),
                "decided_at": as_utc(row.decided_at) if row.decided_at else None,
                "chosen": row.chosen_unit_id, "accepted": row.accepted}


def decided(store: Store, since: datetime, until: datetime) -> tuple[int, int]:
    """(accepted, decided) suggestions decided in [since, until): the leader's figure."""
    with store.session() as s:
        q = select(func.count(), func.coalesce(func.sum(
            cast(m.IncidentSuggestion.accepted, Integer)), 0)).where(
            m.IncidentSuggestion.decided_at >= since, m.IncidentSuggestion.decided_at < until)
        total, accepted = s.execute(q).one()
    return int(accepted or 0), int(total or 0)
