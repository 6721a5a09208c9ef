"""The record of issued warnings (cap_messages, issue 15): each CAP message as published.

Rows are only added. The database settles the races: the identifier is unique (two
officers issuing in the same second get serials 0 and 1) and so is a cancel's reference to
its alert (an alert is cancelled once, whoever clicks first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from dashboard.timeutil import as_utc
from datasources.sql import models as m
from datasources.sql.engine import session_factory


class Taken(Exception):
    """The identifier (or, for a cancel, the alert's one cancel) exists already."""


@dataclass(frozen=True)
class Stored:
    """One issued message as the record keeps it."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    refs: str
    ref_identifier: str | None
    event: str
    severity: str
    headline: str
    expires: datetime
    draft: dict[str, Any]
    xml: str
    issued_by: str
    cancelled_by: str | None = None  # the identifier of the Cancel of an alert, if any


def _stored(row: m.CapMessage, cancelled_by: str | None = None) -> Stored:
    return Stored(row.identifier, row.sender, as_utc(row.sent_at), row.status, row.msg_type,
                  row.refs, row.ref_identifier, row.event, row.severity, row.headline,
                  as_utc(row.expires_at), dict(row.draft or {}), row.xml, row.issued_by,
                  cancelled_by)


class CapStore:
    """Adds and reads cap_messages."""

    def __init__(self, engine: Engine):
        self.session = session_factory(engine)

    def add(self, msg: Stored, user_id: int | None = None) -> None:
        """Keep one message; Taken when its identifier is used or its alert is cancelled."""
        row = m.CapMessage(identifier=msg.identifier, sender=msg.sender,
                           sent_at=as_utc(msg.sent),
                           status=msg.status, msg_type=msg.msg_type, refs=msg.refs[:200],
                           ref_identifier=msg.ref_identifier, event=msg.event,
                           severity=msg.severity, headline=msg.headline[:200],
                           expires_at=as_utc(msg.expires), draft=msg.draft, xml=msg.xml,
                           issued_by=msg.issued_by[:60], issued_by_user_id=user_id)
        with self.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError as exc:
                s.rollback()
                raise Taken(msg.identifier) from exc

    def get(self, identifier: str) -> Stored | None:
        """One message by its identifier, with the cancel of it if there is one."""
        with self.session() as s:
            row = s.scalar(select(m.CapMessage).where(m.CapMessage.identifier == identifier))
            if row is None:
                return None
            cancel = s.scalar(select(m.CapMessage.identifier).where(
                m.CapMessage.ref_identifier == identifier))
            return _stored(row, cancel)

    def recent(self, limit: int = 50) -> list[Stored]:
        """The newest messages, alerts and cancels alike, newest first."""
        with self.session() as s:
            rows = list(s.scalars(select(m.CapMessage)
                                  .order_by(m.CapMessage.sent_at.desc(), m.CapMessage.id.desc())
                                  .limit(limit)))
            refs = [r.identifier for r in rows]
            cancels = dict(s.execute(select(m.CapMessage.ref_identifier, m.CapMessage.identifier)
                                     .where(m.CapMessage.ref_identifier.in_(refs))).all())
            return [_stored(r, cancels.get(r.identifier)) for r in rows]
