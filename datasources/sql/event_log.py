"""The incidents' history (incident_events, rows only ever added) read as a log: what a
subscriber that missed pub/sub messages (a Redis failover, a dropped connection, a gap in
the event sequence) catches up from, in the order the steps were committed.

Redis pub/sub is at-most-once; the history is the record (全程记录). A hub remembers the
newest history row it has seen and, after a gap, reads the rows after it and the current
view of every work order they touch, instead of rebuilding its whole picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from dashboard.messages import IncidentView
from datasources.sql import models as m
from datasources.sql.incidents import Store, incident_view

# Rows re-read before the last seen id: PostgreSQL hands ids out before commit, so a row
# with a smaller id may become visible after a larger one. Re-reading is harmless (a view
# applied twice is the same view).
OVERLAP = 64
# More rows than this after the last seen id: a full snapshot is cheaper than the catch-up.
LIMIT = 5000


@dataclass(frozen=True)
class CatchUp:
    """What a catch-up read: history rows after the last seen id, the newest id, and the
    current view of each work order they touch (in the order of their newest row)."""

    rows: int
    last_id: int
    incidents: list[IncidentView] = field(default_factory=list)
    complete: bool = True  # False past LIMIT rows: take a full snapshot instead


class EventLog:
    """Reads of the history as a log (one per hub)."""

    def __init__(self, store: Store):
        self.store = store

    def last_id(self) -> int:
        """The newest history row's id (0 for an empty history)."""
        with self.store.session() as s:
            return int(s.scalar(select(func.max(m.IncidentEvent.id))) or 0)

    def since(self, after_id: int, limit: int = LIMIT) -> CatchUp:
        """The history rows after `after_id` and the work orders they changed."""
        with self.store.session() as s:
            rows = s.execute(select(m.IncidentEvent.id, m.IncidentEvent.incident_id)
                             .where(m.IncidentEvent.id > max(0, after_id - OVERLAP))
                             .order_by(m.IncidentEvent.id).limit(limit + OVERLAP + 1)).all()
            if len(rows) > limit + OVERLAP:
                return CatchUp(rows=len(rows), last_id=after_id, complete=False)
            newer = [r for r in rows if r.id > after_id]
            order: dict[int, int] = {}
            for row in rows:  # the overlap too: a late-visible row is caught up as well
                order.pop(row.incident_id, None)
                order[row.incident_id] = row.id
            found = {r.id: r for r in s.scalars(select(m.Incident)
                                                .where(m.Incident.id.in_(list(order))))}
            views = [incident_view(found[i]) for i in order if i in found]
            last = max((r.id for r in rows), default=after_id)
            return CatchUp(rows=len(newer), last_id=max(last, after_id), incidents=views)
