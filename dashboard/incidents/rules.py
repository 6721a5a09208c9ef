"""The loop's rules beyond the state graph, each defined once: who may take which step,
what a step needs from the requester, and what it changes on the work order.

The field page, the field API, the duty console and `Store.act` all read these; none keeps
a copy. Pure: no I/O, typed inputs, refusals as coded errors (dashboard/incidents/errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.incidents.deadlines import add_spec, parse_extension
from dashboard.incidents.errors import BadInput, Refused, TransitionError
from dashboard.incidents.lifecycle import (
    ACTIONS,
    DONE_STATES,
    FIELD_STEPS,
    check_action,
    next_level,
)
from dashboard.roles import ADMIN, GRID_WORKER, LEADER, OFFICER, Principal

SYSTEM_ACTOR = "系统"  # sweeps and automatic steps: no person's account
SATISFACTION_SCORES = range(1, 6)


# ---------------------------------------------------------------- who
@dataclass(frozen=True)
class Actor:
    """Who takes a step: the name shown, and the account behind it (None: the system)."""

    name: str
    user_id: int | None = None
    person_id: str | None = None
    role: str = ""


SYSTEM = Actor(SYSTEM_ACTOR)


def actor_of(who: Principal) -> Actor:
    """The actor a signed-in principal is (its user id and person id kept beside the name)."""
    return Actor(name=who.name, user_id=who.user_id, person_id=who.person_id, role=who.role)


@dataclass(frozen=True)
class Assignee:
    """Whom a work order is dispatched to: a person's (or team's) id and its display name."""

    id: str | None
    name: str


TEAM_PREFIX = "team:"
# What an assignee id can look like (the assignee_id column holds 40 characters; the
# incident.progress schema takes the same).
_ASSIGNEE_ID = re.compile(r"[A-Za-z0-9:_-]{1,40}")


def team_assignee_id(team_code: str) -> str:
    """A team's id in the assignee column (persons are grid_workers.id, teams 'team:CODE')."""
    return f"{TEAM_PREFIX}{team_code}"


def assignee_key(assignee_id: object) -> tuple[str, str]:
    """Where the town's register keeps the assignee an id names: ("team", code) for
    'team:CODE', ("person", id) for a grid worker's id. The register itself is read by the
    store; anything that cannot be an id (not text, empty, longer than 40, other characters)
    is BadInput("unknown_assignee") here, before any query."""
    if not isinstance(assignee_id, str) or not _ASSIGNEE_ID.fullmatch(assignee_id):
        shown = assignee_id if isinstance(assignee_id, str) else repr(assignee_id)
        raise BadInput("unknown_assignee", id=shown[:39] + "…" if len(shown) > 40 else shown)
    if assignee_id.startswith(TEAM_PREFIX):
        return "team", assignee_id[len(TEAM_PREFIX):]
    return "person", assignee_id


def is_assignee(who: Principal, assignee_id: str | None) -> bool:
    """True when the principal is the person the work order is assigned to."""
    return bool(who.person_id) and who.person_id == assignee_id


def may_take(role: str, action: str, assignee: bool) -> bool:
    """True when `role` may take `action`; `assignee`: the principal is the work order's
    assignee. Officers and admins run the loop; a leader may only comment (补充说明); a
    grid worker takes the field steps of their own work orders; nobody else acts."""
    if action not in ACTIONS:
        return False
    if role in (ADMIN, OFFICER):
        return True
    if role == LEADER:
        return action == "note"
    if role == GRID_WORKER:
        return action in FIELD_STEPS and assignee
    return False


def check_may_take(role: str, action: str, assignee: bool) -> None:
    """Raise Refused unless `role` may take `action` (see may_take)."""
    if may_take(role, action, assignee):
        return
    if role == GRID_WORKER and action in FIELD_STEPS:
        raise Refused("not_assignee", action=action)
    raise Refused("role_action", action=action, role=role)


# A work order is on its assignee's task list while it is out with them.
TASK_STATES: tuple[str, ...] = ("dispatched", "in_progress")


def field_steps_in(state: str) -> tuple[str, ...]:
    """The field steps the loop allows in `state`, in the order a worker meets them."""
    return tuple(a for a in FIELD_STEPS if state in ACTIONS[a].sources)


def check_field_step(action: str) -> None:
    """Raise Refused unless `action` is one of the field steps (接单 到场 补充说明 办结)."""
    if action not in FIELD_STEPS:
        raise Refused("not_field_step", action=action)


# ---------------------------------------------------------------- what a step needs
# Steps that need a reason in the note (退回, 返工, 驳回延期, 缓办, 作废).
REASON_REQUIRED: frozenset[str] = frozenset({"return", "rework", "extend_no", "suspend", "void"})


def check_inputs(action: str, *, note: str = "", satisfaction: int | None = None,
                 assignee: Assignee | None = None) -> None:
    """Raise BadInput when the step lacks what it needs: a return, rework, refusal,
    suspension or voiding its reason, a comment its text, an extension request its
    duration ('48h'), a close its satisfaction score (1–5), a dispatch its assignee."""
    if action in REASON_REQUIRED and not note.strip():
        raise BadInput("note_required", action=action)
    if action == "extend":
        parse_extension(note)
    if action == "note" and not note.strip():
        raise BadInput("comment_required", action=action)
    if action == "close" and (satisfaction is None or satisfaction not in SATISFACTION_SCORES):
        raise BadInput("satisfaction_required", action=action)
    if action in ("dispatch", "reassign") and (assignee is None or not assignee.name):
        raise BadInput("assignee_required", action=action)


def dispatch_plan(state: str) -> tuple[str, ...]:
    """The steps of one click on a recommendation: accept-then-dispatch for a reported or
    returned order, dispatch for an accepted one, reassign for one already out; none for a
    finished one. The steps of one click are one transaction (Store.dispatch): both are in
    the history, or neither is."""
    if state in ACTIONS["reassign"].sources:
        return ("reassign",)
    if state in ACTIONS["dispatch"].sources:
        return ("dispatch",)
    if state in ACTIONS["accept"].sources:
        return ("accept", "dispatch")
    return ()


def check_dispatch(state: str) -> tuple[str, ...]:
    """The plan of a dispatch click in `state`, or TransitionError when there is none."""
    plan = dispatch_plan(state)
    if not plan:
        raise TransitionError("bad_state", action="dispatch", state=state)
    return plan


# ---------------------------------------------------------------- what a step changes
@dataclass(frozen=True)
class OrderFacts:
    """What a step's effects read of the work order."""

    state: str
    level: str
    urge_count: int
    closed_at: datetime | None
    deadline_at: datetime | None = None
    rework_count: int = 0
    extend_count: int = 0
    extend_request: str | None = None  # the duration a pending 延期 request asks for
    suspended_at: datetime | None = None

    @classmethod
    def of(cls, order: Mapping[str, Any]) -> OrderFacts:
        """The facts of a work order as the store lists it (IncidentView fields)."""
        return cls(state=order["state"], level=order.get("level") or "grid",
                   urge_count=order.get("urge_count") or 0, closed_at=order.get("closed_at"),
                   deadline_at=order.get("deadline_at"),
                   rework_count=order.get("rework_count") or 0,
                   extend_count=order.get("extend_count") or 0,
                   extend_request=order.get("extend_request"),
                   suspended_at=order.get("suspended_at"))


def check_flow(action: str, order: OrderFacts, verify_before_close: bool = False) -> None:
    """Raise TransitionError when the side steps' own conditions fail: a 结案 before 核查
    when the town requires it (ZN_VERIFY_BEFORE_CLOSE), a second 延期 request while one is
    pending, an approval or refusal with none pending."""
    if action == "close" and verify_before_close and order.state == "resolved":
        raise TransitionError("verify_first", action=action)
    if action == "extend" and order.extend_request:
        raise TransitionError("extend_pending", duration=order.extend_request)
    if action in ("extend_ok", "extend_no") and not order.extend_request:
        raise TransitionError("no_extend_request", action=action)


def offered(order: OrderFacts, verify_before_close: bool = False) -> tuple[str, ...]:
    """The actions the loop allows on the work order now, in the ACTIONS table's order
    (state, level and the side steps' conditions; not who asks, nor the inputs)."""
    out = []
    for name in ACTIONS:
        try:
            check_action(name, order.state, order.level)
            check_flow(name, order, verify_before_close)
        except TransitionError:
            continue
        out.append(name)
    return tuple(out)


def effects(action: str, order: OrderFacts, now: datetime, *, note: str = "",
            satisfaction: int | None = None, assignee: Assignee | None = None,
            verify_before_close: bool = False) -> dict[str, Any]:
    """The column values `action` sets on the work order (checked first: state, level,
    the side steps' conditions and inputs). The version and the history row are the
    store's."""
    act = check_action(action, order.state, order.level)
    check_flow(action, order, verify_before_close)
    check_inputs(action, note=note, satisfaction=satisfaction, assignee=assignee)
    values: dict[str, Any] = {"updated_at": now}
    if act.target is not None:
        values["state"] = act.target
    if action in ("dispatch", "reassign") and assignee is not None:
        values["assignee"] = assignee.name
        values["assignee_id"] = assignee.id
    if action == "close":
        values["satisfaction"] = satisfaction
    if act.target in DONE_STATES and order.closed_at is None:
        values["closed_at"] = now
    if action == "rework":
        values["closed_at"] = None
        values["rework_count"] = order.rework_count + 1
    if action == "extend":
        values["extend_request"] = parse_extension(note)
    if action == "extend_ok":
        # The officer's note may name another duration; else the one asked for.
        spec = parse_extension(note) if note.strip() else str(order.extend_request)
        values["deadline_at"] = add_spec(order.deadline_at or now, spec)
        values["extend_count"] = order.extend_count + 1
        values["extend_request"] = None
    if action == "extend_no":
        values["extend_request"] = None
    if action == "suspend":
        values["suspended_at"] = now
        values["extend_request"] = None
    if action == "resume":
        values["suspended_at"] = None
        if order.deadline_at is not None and order.suspended_at is not None:
            # The clock stood still while it was on hold.
            values["deadline_at"] = order.deadline_at + (now - order.suspended_at)
    if action == "escalate":
        values["level"] = next_level(order.level)
    if action == "urge":
        values["urge_count"] = order.urge_count + 1
    if action == "supervise":
        values["supervised"] = True
    return values
