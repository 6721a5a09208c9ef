"""The duty console's steps (值班调度台): one action, or one click on a recommendation
(accept-then-dispatch), each checked against the same role rule as the field's; the
officer's note is plain text as the field's is (markup refused as bad_note)."""

from __future__ import annotations

from functools import partial

from dashboard.incidents.rules import (
    UNIT_PREFIX,
    actor_of,
    check_dispatch,
    check_inputs,
    check_may_act,
    check_within_village,
    handover_plan,
)
from dashboard.inputs import plain_text
from dashboard.messages import Event
from dashboard.roles import Principal
from datasources.flows.intake import Intake


def desk_step(intake: Intake, who: Principal, incident_id: int, action: str, *,
              note: str = "", satisfaction: int | None = None,
              expect_version: int | None = None, seen_event: int | None = None) -> Event:
    """Take `action` as `who` on the work order as they saw it (`expect_version`, and the
    last history row they saw: Store.act)."""
    note = plain_text(note, "note", code="bad_note")  # as the field's notes (flows/field)
    order = intake.store.incident(incident_id)
    check_may_act(who, action, order)
    check_inputs(action, note=note, satisfaction=satisfaction)
    return intake.act(incident_id, action, actor_of(who), note=note,
                      satisfaction=satisfaction, expect_version=expect_version,
                      seen_event=seen_event)


def dispatch_to(intake: Intake, who: Principal, incident_id: int, assignee_id: object, *,
                state: str, version: int | None, note: str = "",
                seen_event: int | None = None) -> Event:
    """Dispatch (or reassign) as the officer saw the incident to a person, team or unit
    of the town's register, by id; a reported or returned one is accepted first, in the
    same transaction, so both steps are in the history under the officer's name, or
    neither. To a unit above the order's level it is a hand-over: 升级 then 派遣 (issue
    14). A village officer dispatches within its village only."""
    steps = check_dispatch(state)
    order = intake.store.incident(incident_id)
    if isinstance(assignee_id, str) and assignee_id.startswith(UNIT_PREFIX):
        unit = intake.store.unit(assignee_id[len(UNIT_PREFIX):])
        if unit is not None:
            steps = handover_plan(state, order.get("level") or "grid", unit)
    for action in steps:
        check_may_act(who, action, order)
    note = plain_text(note, "note", code="bad_note")
    return intake.dispatch(incident_id, steps, actor_of(who), assignee_id, note=note,
                           expect_version=version, seen_event=seen_event,
                           check=partial(check_within_village, who))
