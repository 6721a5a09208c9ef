"""The one path of a field step (接单 到场 补充说明 办结): the phone page and the field API
both call it, so a grid worker can take no other step through either."""

from __future__ import annotations

from typing import Any

from dashboard.incidents.rules import (
    actor_of,
    check_field_step,
    check_inputs,
    check_may_act,
    may_check,
)
from dashboard.inputs import photo_url, plain_text
from dashboard.messages import Event, IncidentView
from dashboard.roles import ADMIN, Principal
from datasources.flows.intake import Intake
from datasources.sql import models as m
from datasources.sql.incidents import Store


def field_note(note: Any = "", photo: Any = None) -> str:
    """The note a field step keeps: the worker's text, then the photo link. BadInput
    ("bad_note") for markup, control characters or a note that is not text; BadInput
    ("bad_url") for a link that is not a plain http(s) address (dashboard/inputs.py)."""
    text = plain_text(note, "note", code="bad_note")
    return " ".join(x for x in (text, photo_url(photo)) if x)[:500]


def field_step(intake: Intake, who: Principal, incident_id: int, action: str,
               note: Any = "", photo: Any = None) -> Event:
    """Take one field step as `who`: refused (Refused, NotFound, TransitionError, Conflict,
    BadInput) unless it is a field step, the note and photo link are plain (field_note), the
    role may take it on this work order, and the loop allows it now; then committed and
    announced. The page and the API both come here, so both take the same links."""
    check_field_step(action)
    text = field_note(note, photo)
    order = intake.store.incident(incident_id)
    check_may_act(who, action, order)
    check_inputs(action, note=text)  # 核查不通过 (返工) says why, as at the console
    return intake.act(incident_id, action, actor_of(who), note=text)


def my_checks(store: Store, who: Principal) -> list[IncidentView]:
    """The work orders awaiting the worker's 核查: resolved in their grid by someone else
    (rules.may_check, the one rule)."""
    if not who.grid:
        return []
    rows = store.queue(states=("resolved",), grid_prefix=who.grid)
    return [v for v in rows if may_check(who, v.model_dump())]


def whose_tasks(who: Principal, asked: str | None = None) -> str | None:
    """The person whose task list `who` may read: their own; an admin may name anyone."""
    if who.role == ADMIN and isinstance(asked, str) and asked.strip():
        return asked.strip()
    return who.person_id


def my_tasks(store: Store, who: Principal, asked: str | None = None) -> list[IncidentView]:
    """Open work orders assigned to the principal's person (an admin may name one)."""
    person = whose_tasks(who, asked)
    return store.assigned_to(person) if person else []



def worker_grid(store: Store, person: str | None) -> str | None:
    """The level-3 grid a grid worker (grid_workers.id) belongs to, None for anyone else."""
    if not person:
        return None
    with store.session() as s:
        row = s.get(m.GridWorker, person)
        return row.grid_code if row is not None else None
