"""应急抽调 in SQL (issue 16): a call-up of off-duty workers for an incident, how each was
told, and what each answered. The rules are dashboard/grids/callup.py's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from dashboard.grids.callup import CallupError, check_answer
from dashboard.timeutil import utcnow
from datasources.sql import models as m
from datasources.sql.engine import session_factory

OPEN_HOURS = 24  # a call-up is shown to its workers, to answer, for this long


class CallupStore:
    """Writes call-ups and answers; reads them per incident and per worker."""

    def __init__(self, engine: Engine):
        self._sessions = session_factory(engine)

    def create(self, incident_id: int, by: str, members: list[dict[str, Any]],
               now: datetime | None = None) -> int:
        """One call-up with its members ({id, name, told}), in one transaction; its id."""
        with self._sessions.begin() as s:
            row = m.Callup(incident_id=incident_id, called_by=by[:60],
                           created_at=now or utcnow())
            s.add(row)
            s.flush()
            for w in members:
                s.add(m.CallupMember(callup_id=row.id, worker_id=w["id"],
                                     worker_name=w["name"][:40], told=w.get("told", "")))
            return row.id

    def set_told(self, callup_id: int, worker_id: str, told: str) -> None:
        """How the worker was told (queued, muted, limited, none)."""
        with self._sessions.begin() as s:
            s.execute(update(m.CallupMember).where(
                m.CallupMember.callup_id == callup_id,
                m.CallupMember.worker_id == worker_id).values(told=told))

    def for_incident(self, incident_id: int) -> list[dict[str, Any]]:
        """Everyone called up for the incident, newest call-up first, with their answer."""
        with self._sessions() as s:
            rows = s.execute(select(m.CallupMember, m.Callup.created_at, m.Callup.called_by)
                             .join(m.Callup, m.Callup.id == m.CallupMember.callup_id)
                             .where(m.Callup.incident_id == incident_id)
                             .order_by(m.Callup.id.desc(), m.CallupMember.worker_id))
            return [{"callup": r.callup_id, "worker_id": r.worker_id, "name": r.worker_name,
                     "told": r.told, "answer": r.answer, "answered_at": r.answered_at,
                     "at": at, "by": by} for r, at, by in rows]

    def for_worker(self, worker_id: str, now: datetime | None = None) -> list[dict[str, Any]]:
        """The worker's call-ups of the last OPEN_HOURS, newest first, with the incident."""
        since = (now or utcnow()) - timedelta(hours=OPEN_HOURS)
        with self._sessions() as s:
            rows = s.execute(select(m.CallupMember, m.Callup, m.Incident)
                             .join(m.Callup, m.Callup.id == m.CallupMember.callup_id)
                             .join(m.Incident, m.Incident.id == m.Callup.incident_id)
                             .where(m.CallupMember.worker_id == worker_id,
                                    m.Callup.created_at >= since)
                             .order_by(m.Callup.id.desc()))
            return [{"callup": c.id, "ref": i.ref, "title": i.title, "grid": i.grid_code,
                     "answer": mem.answer, "at": c.created_at} for mem, c, i in rows]

    def answer(self, callup_id: object, worker_id: str, answer: object,
               now: datetime | None = None) -> int:
        """The worker's answer to a call-up of theirs (a later answer replaces it); the
        incident's id. CallupError when it is not theirs or not an answer."""
        said = check_answer(answer)
        if not isinstance(callup_id, int) or isinstance(callup_id, bool) or not worker_id:
            raise CallupError("no such call-up", "callup_not_yours")
        with self._sessions.begin() as s:
            incident = s.scalar(select(m.Callup.incident_id).join(
                m.CallupMember, m.CallupMember.callup_id == m.Callup.id).where(
                m.Callup.id == callup_id, m.CallupMember.worker_id == worker_id))
            if incident is None:
                raise CallupError("not your call-up", "callup_not_yours")
            s.execute(update(m.CallupMember).where(
                m.CallupMember.callup_id == callup_id,
                m.CallupMember.worker_id == worker_id).values(
                answer=said, answered_at=now or utcnow()))
            return int(incident)
