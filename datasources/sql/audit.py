"""The append-only audit log: who, when, from where, what, on what.

Rows are only inserted (nothing in the product updates or deletes them); `search` and
`to_csv` serve the /audit page and its export. A failure to write the audit row is logged
and never undoes the change it describes (the change is already committed).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError

from dashboard.exports import spreadsheet_cell
from dashboard.roles import Principal, current
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.engine import session_factory

log = logging.getLogger(__name__)
COLUMNS = ("id", "at", "actor", "role", "ip", "action", "target", "detail")


def entry_values(action: str, target: str = "", detail: str = "", *, actor: str | None,
                 who: Principal) -> dict[str, Any]:
    """One audit row's columns, not yet written (a batch of intake's transaction inserts
    them through Core)."""
    return {"at": utcnow(), "actor": (actor or who.name or "-")[:60],
            "actor_user_id": who.user_id, "role": (who.role if who.signed_in else "")[:16],
            "ip": who.ip[:64], "action": action[:40], "target": str(target)[:80],
            "detail": detail[:2000]}


def entry(action: str, target: str = "", detail: str = "", *, actor: str | None,
          who: Principal) -> m.AuditEntry:
    """One audit row, not yet written (Audit.record)."""
    return m.AuditEntry(**entry_values(action, target, detail, actor=actor, who=who))


class Audit:
    """Writes and reads audit_log."""

    def __init__(self, engine: Engine):
        self.session = session_factory(engine)

    def record(self, action: str, target: str = "", detail: str = "", *,
               actor: str | None = None, who: Principal | None = None) -> None:
        """Append one row; the principal defaults to the one being served now."""
        row = entry(action, target, detail, actor=actor, who=who or current())
        try:
            with self.session.begin() as s:
                s.add(row)
        except SQLAlchemyError as exc:
            log.error("audit row not written (%s %s): %s", action, target, exc)

    def search(self, text: str = "", action: str = "", since: datetime | None = None,
               until: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Newest first; `text` matches actor, target, detail or address."""
        query = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
        if text:
            like = f"%{text}%"
            query = query.where(or_(m.AuditEntry.actor.like(like), m.AuditEntry.target.like(like),
                                    m.AuditEntry.detail.like(like), m.AuditEntry.ip.like(like)))
        if action:
            query = query.where(m.AuditEntry.action.like(f"{action}%"))
        if since:
            query = query.where(m.AuditEntry.at >= since)
        if until:
            query = query.where(m.AuditEntry.at < until)
        with self.session() as s:
            return [{c: getattr(r, c) for c in COLUMNS} for r in s.scalars(query)]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV with times in Asia/Shanghai; cells that spreadsheets would run are quoted
    (dashboard/exports.py)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        cells = []
        for c in COLUMNS:
            value = row[c]
            if isinstance(value, datetime):
                value = as_utc(value).astimezone(LOCAL_TZ).isoformat(timespec="seconds")
            cells.append(spreadsheet_cell(str(value)))
        writer.writerow(cells)
    return out.getvalue()
