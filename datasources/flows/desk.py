"""The duty console's steps (值班调度台): one action, or one click on a recommendation
(accept-then-dispatch), each checked against the same role rule as the field's."""

from __future__ import annotations

from dashboard.incidents.rules import (
    Assignee,
    actor_of,
    check_dispatch,
    check_inputs,
    check_may_take,
    is_assignee,
)
from dashboard.messages import Event
from dashboard.roles import Principal
from datasources.flows.intake import Intake


def desk_step(intake: Intake, who: Principal, incident_id: int, action: str, *,
              note: str = "", satisfaction: int | None = None,
              expect_version: int | None = None) -> Event:
    """Take `action` as `who` on the work order as they saw it (`expect_version`)."""
    order = intake.store.incident(incident_id)
    check_may_take(who.role, action, is_assignee(who, order.get("assignee_id")))
    check_inputs(action, note=note, satisfaction=satisfaction)
    return intake.act(incident_id, action, actor_of(who), note=note,
                      satisfaction=satisfaction, expect_version=expect_version)


def dispatch_to(intake: Intake, who: Principal, incident_id: int, to: Assignee, *,
                state: str, version: int | None, note: str = "") -> Event:
    """Dispatch (or reassign) as the officer saw the incident; a reported or returned one is
    accepted first, so both steps are in the history under the officer's name."""
    steps = check_dispatch(state)
    for action in steps:
        check_may_take(who.role, action, False)
    check_inputs(steps[-1], assignee=to)
    event: Event | None = None
    for action in steps:
        last = action == steps[-1]
        event = intake.act(incident_id, action, actor_of(who), expect_version=version,
                           **({"assignee": to.name, "assignee_id": to.id, "note": note}
                              if last else {}))
        version = event.incident.version if event.incident else None
    assert event is not None
    return event
