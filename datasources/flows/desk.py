"""The duty console's steps (值班调度台): one action, or one click on a recommendation
(accept-then-dispatch), each checked against the same role rule as the field's; the
officer's note is plain text as the field's is (markup refused as bad_note)."""

from __future__ import annotations

from dashboard.incidents.rules import (
    actor_of,
    check_dispatch,
    check_inputs,
    check_may_take,
    is_assignee,
)
from dashboard.inputs import plain_text
from dashboard.messages import Event
from dashboard.roles import Principal
from datasources.flows.intake import Intake


def desk_step(intake: Intake, who: Principal, incident_id: int, action: str, *,
              note: str = "", satisfaction: int | None = None,
              expect_version: int | None = None) -> Event:
    """Take `action` as `who` on the work order as they saw it (`expect_version`)."""
    note = plain_text(note, "note", code="bad_note")  # as the field's notes (flows/field)
    order = intake.store.incident(incident_id)
    check_may_take(who.role, action, is_assignee(who, order.get("assignee_id")))
    check_inputs(action, note=note, satisfaction=satisfaction)
    return intake.act(incident_id, action, actor_of(who), note=note,
                      satisfaction=satisfaction, expect_version=expect_version)


def dispatch_to(intake: Intake, who: Principal, incident_id: int, assignee_id: object, *,
                state: str, version: int | None, note: str = "") -> Event:
    """Dispatch (or reassign) as the officer saw the incident to a person or team of the
    town's register, by id; a reported or returned one is accepted first, in the same
    transaction, so both steps are in the history under the officer's name, or neither."""
    steps = check_dispatch(state)
    for action in steps:
        check_may_take(who.role, action, False)
    note = plain_text(note, "note", code="bad_note")
    return intake.dispatch(incident_id, steps, actor_of(who), assignee_id, note=note,
                           expect_version=version)
