"""What the Open311 door keeps beside the work order: one row per GeoReport POST.

The product's intake is synchronous, so every POST knows its work order at once; the
token is kept anyway (GET tokens/{token}) for clients written for batch servers, and the
row holds what the client sent that the work order has no column for (echoed back).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dashboard.timeutil import utcnow
from datasources.sql import models as m


@dataclass(frozen=True)
class Sent:
    """The fields of one GeoReport POST kept beside its work order."""

    description: str = ""
    address_string: str | None = None
    address_id: str | None = None
    jurisdiction_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def new_token() -> str:
    """An unguessable token (a token reveals a work order's ref)."""
    return secrets.token_hex(16)


def record_request(engine: Engine, incident_id: int, merged: bool, sent: Sent) -> str:
    """Keep one POST's fields under a new token; the token."""
    token = new_token()
    with Session(engine) as s, s.begin():
        s.add(m.Open311Request(token=token, incident_id=incident_id, merged=merged,
                               jurisdiction_id=sent.jurisdiction_id,
                               description=sent.description,
                               address_string=sent.address_string,
                               address_id=sent.address_id, attributes=sent.attributes,
                               created_at=utcnow()))
    return token


def ref_of_token(engine: Engine, token: str) -> str | None:
    """The work-order ref a token stands for, or None."""
    with Session(engine) as s:
        return s.scalar(select(m.Incident.ref).join(
            m.Open311Request, m.Open311Request.incident_id == m.Incident.id)
            .where(m.Open311Request.token == token))


def sent_for(s: Session, incident_ids: Iterable[int]) -> dict[int, Sent]:
    """What the POST that created each work order sent (none for work orders another door
    created: their own fields are the record)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = s.scalars(select(m.Open311Request).where(
        m.Open311Request.incident_id.in_(ids), m.Open311Request.merged.is_(False))
        .order_by(m.Open311Request.created_at))
    out: dict[int, Sent] = {}
    for r in rows:
        out.setdefault(r.incident_id, Sent(r.description, r.address_string, r.address_id,
                                           r.jurisdiction_id, dict(r.attributes or {})))
    return out
