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

from dashboard.incidents.deadlines import add_spec, deadline_for, parse_extension
from dashboard.incidents.errors import BadInput, Refused, TransitionError
from dashboard.incidents.lifecycle import (
    ACTIONS,
    DONE_STATES,
    FIELD_STEPS,
    check_action,
    next_level,
)
from dashboard.incidents.tiers import RESTARTS_CLOCK, check_receiver, rank
from dashboard.roles import (
    ADMIN,
    DISPLAY,
    GRID_WORKER,
    HANDLER,
    LEADER,
    OFFICER,
    VILLAGE,
    Principal,
)
from dashboard.town import Unit

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


# Steps the system takes beside an officer's work: the overdue sweep's 督办 and another
# report merged in (report_count + 1). Neither changes the state nor any decision an
# officer acts on, so an officer's step on the order as they saw it before still goes.
ANNOTATIONS: frozenset[str] = frozenset({"supervise", "merge"})


def is_annotation(action: str, from_state: str | None, to_state: str | None,
                  by_person: bool) -> bool:
    """Whether a history row written since an officer looked leaves their view valid."""
    return not by_person and action in ANNOTATIONS and from_state == to_state


def actor_of(who: Principal) -> Actor:
    """The actor a signed-in principal is (its user id and person id kept beside the name)."""
    return Actor(name=who.name, user_id=who.user_id, person_id=who.person_id, role=who.role)


@dataclass(frozen=True)
class Assignee:
    """Whom a work order is dispatched to: a person's (or team's) id and its display name."""

    id: str | None
    name: str
    unit: Unit | None = None  # a receiving unit (id 'unit:ID'), issue 14


TEAM_PREFIX = "team:"
UNIT_PREFIX = "unit:"
# What an assignee id can look like (the assignee_id column holds 40 characters; the
# incident.progress schema takes the same).
_ASSIGNEE_ID = re.compile(r"[A-Za-z0-9:_-]{1,40}")


def team_assignee_id(team_code: str) -> str:
    """A team's id in the assignee column (persons are grid_workers.id, teams 'team:CODE')."""
    return f"{TEAM_PREFIX}{team_code}"


def unit_assignee_id(unit_id: str) -> str:
    """A receiving unit's id in the assignee column ('unit:ID')."""
    return f"{UNIT_PREFIX}{unit_id}"


def assignee_key(assignee_id: object) -> tuple[str, str]:
    """Where the town's register keeps the assignee an id names: ("team", code) for
    'team:CODE', ("unit", id) for 'unit:ID', ("person", id) for a grid worker's id. The
    register itself is read by the store; anything that cannot be an id (not text, empty,
    longer than 40, other characters) is BadInput("unknown_assignee") here, before any query."""
    if not isinstance(assignee_id, str) or not _ASSIGNEE_ID.fullmatch(assignee_id):
        shown = assignee_id if isinstance(assignee_id, str) else repr(assignee_id)
        raise BadInput("unknown_assignee", id=shown[:39] + "…" if len(shown) > 40 else shown)
    if assignee_id.startswith(TEAM_PREFIX):
        return "team", assignee_id[len(TEAM_PREFIX):]
    if assignee_id.startswith(UNIT_PREFIX):
        return "unit", assignee_id[len(UNIT_PREFIX):]
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


# ---------------------------------------------------------------- units and villages (issue 14)
# What a unit's handler does with a work order handed to the unit: 接单, 到场处置, 补充说明,
# 申请延期, 办结, or 退回 to the tier below with a reason.
HANDLER_STEPS: tuple[str, ...] = ("ack", "start", "note", "extend", "resolve", "return")
# The town centre's alone: a village officer runs its village's loop but for these.
CENTRE_ONLY: frozenset[str] = frozenset({"supervise", "void"})


def may_see(who: Principal, order: Mapping[str, Any]) -> bool:
    """Whether `who` may read the work order at all, by every door (the server's rule): a
    village officer its village's orders only, a handler those with its unit; the other
    roles as their doors allow (dashboard/roles.py)."""
    if who.role == VILLAGE:
        return bool(who.village) and order.get("village") == who.village
    if who.role == HANDLER:
        return bool(who.unit_id) and order.get("unit_id") == who.unit_id
    return True


def may_see_photo(who: Principal, sender_user_id: int | None,
                  order: Mapping[str, Any] | None) -> bool:
    """Whether `who` may see a kept photo (issue 15): the command centre and the wall
    (admin, officer, leader, display) every one; the grid worker who sent it; a village
    officer or a handler the photo of a work order they may read (may_see); nobody else,
    and nobody a photo no work order shows but its sender."""
    if who.role in (ADMIN, OFFICER, LEADER, DISPLAY):
        return True
    if who.user_id is not None and sender_user_id == who.user_id:
        return True
    return who.role in (VILLAGE, HANDLER) and order is not None and may_see(who, order)


def scope_of(who: Principal) -> dict[str, str]:
    """The filter every list a principal reads is narrowed by (the store's queue and
    lists take it as keywords): a village officer's village, a handler's unit; none for
    the others. An account of those roles without its unit sees nothing."""
    if who.role == VILLAGE:
        return {"village": who.village or "-"}
    if who.role == HANDLER:
        return {"unit_id": who.unit_id or "-"}
    return {}


def village_scope(who: Principal, asked: object = None) -> str | None:
    """The village whose small brain (/village) `who` sees: a village officer's own,
    whatever the page asks; an admin the village asked for (a code), else none."""
    if who.role == VILLAGE:
        return who.village
    return asked if isinstance(asked, str) and 0 < len(asked) <= 16 else None


def may_act(who: Principal, action: str, order: Mapping[str, Any]) -> bool:
    """Whether `who` may take `action` on this work order: a handler the HANDLER_STEPS on
    its unit's orders; a village officer, on its village's orders, any step but the
    centre's while the order is with the village (no unit, or its own office), and only
    comments and 催办 once it is handed up; everybody else by may_take."""
    if action not in ACTIONS or not may_see(who, order):
        return False
    if who.role == HANDLER:
        return action in HANDLER_STEPS
    if who.role == VILLAGE:
        if action in ("note", "urge"):
            return True
        return action not in CENTRE_ONLY and order.get("unit_id") in (None, who.unit_id)
    if who.role == GRID_WORKER and action in CHECK_STEPS:
        return may_check(who, order)
    return may_take(who.role, action, is_assignee(who, order.get("assignee_id")))


def check_may_act(who: Principal, action: str, order: Mapping[str, Any]) -> None:
    """Raise Refused unless `who` may take `action` on the order (see may_act)."""
    if may_act(who, action, order):
        return
    if who.role in (HANDLER, VILLAGE) and not may_see(who, order):
        raise Refused("not_your_unit", action=action)
    if who.role == GRID_WORKER and action in CHECK_STEPS:
        raise Refused("not_your_check", action=action)
    check_may_take(who.role, action, is_assignee(who, order.get("assignee_id")))
    raise Refused("role_action", action=action, role=who.role)


def check_within_village(who: Principal, to: Assignee, village: str | None) -> None:
    """Raise Refused when a village officer dispatches outside its village: to a person of
    another village's grid or to a town team (a unit above is a hand-over, checked by
    tiers.check_receiver). `village`: the assignee's village (a worker's grid's)."""
    if who.role == VILLAGE and to.unit is None and (not who.village or village != who.village):
        raise Refused("outside_village", id=to.id or "")


def handover_plan(state: str, level: str, unit: Unit) -> tuple[str, ...]:
    """The steps of handing a work order to a receiving unit: the dispatch plan, with 升级
    just before its 派遣 when the unit sits above the order's level (受理, 升级, 派遣; the
    steps are one transaction)."""
    plan = dispatch_plan(state)
    if not plan or rank(unit.tier) <= rank(level):
        return plan
    return (*plan[:-1], "escalate", plan[-1])


# A work order is on its assignee's task list while it is out with them.
TASK_STATES: tuple[str, ...] = ("dispatched", "in_progress")


def field_steps_in(state: str) -> tuple[str, ...]:
    """The field steps the loop allows in `state`, in the order a worker meets them."""
    return tuple(a for a in FIELD_STEPS if state in ACTIONS[a].sources)


def check_field_step(action: str) -> None:
    """Raise Refused unless `action` is one of the phone's steps: the field steps (接单 到场
    补充说明 延期 办结) or the grid's check of someone else's handling (核查, CHECK_STEPS)."""
    if action not in FIELD_STEPS and action not in CHECK_STEPS:
        raise Refused("not_field_step", action=action)


# ---------------------------------------------------------------- 核查 (issue 14)
# The standard's 核查: before 结案, the grid worker of the order's grid checks the handling
# on site: passed (核查通过) or failed (返工, with the reason). Not their own handling.
CHECK_STEPS: tuple[str, ...] = ("verify", "rework")


def may_check(who: Principal, order: Mapping[str, Any]) -> bool:
    """Whether `who` is the grid worker who may check this order's handling now: a worker
    of the order's level-3 grid, the order resolved (办结, awaiting 核查), and someone
    else's handling (never the assignee's own)."""
    return (who.role == GRID_WORKER and bool(who.grid) and order.get("grid") == who.grid
            and order.get("state") == "resolved"
            and not is_assignee(who, order.get("assignee_id")))


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
    category: str = ""
    priority: str = "normal"
    village: str | None = None
    unit_id: str | None = None  # the receiving unit it is with (issue 14)
    prev_unit_id: str | None = None  # the unit it came from; a 退回 hands it back there
    assignee_id: str | None = None
    dup_of: int | None = None  # flagged "possible duplicate of" (issue 18)

    @classmethod
    def of(cls, order: Mapping[str, Any]) -> OrderFacts:
        """The facts of a work order as the store lists it (IncidentView fields)."""
        return cls(state=order["state"], level=order.get("level") or "grid",
                   urge_count=order.get("urge_count") or 0, closed_at=order.get("closed_at"),
                   deadline_at=order.get("deadline_at"),
                   rework_count=order.get("rework_count") or 0,
                   extend_count=order.get("extend_count") or 0,
                   extend_request=order.get("extend_request"),
                   suspended_at=order.get("suspended_at"),
                   category=order.get("category") or "", priority=order.get("priority")
                   or "normal", village=order.get("village"), unit_id=order.get("unit_id"),
                   prev_unit_id=order.get("prev_unit_id"),
                   assignee_id=order.get("assignee_id"), dup_of=order.get("dup_of"))


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
    if action == "merge" and not order.dup_of:
        raise TransitionError("no_duplicate", action=action)


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
            verify_before_close: bool = False, unit: Unit | None = None,
            deadlines: dict[str, Any] | None = None) -> dict[str, Any]:
    """The column values `action` sets on the work order (checked first: state, level,
    the side steps' conditions and inputs). The version and the history row are the
    store's. `unit`: the receiving unit of a 升级, or the unit a 退回 hands the order back
    to (None: the town centre); `deadlines`: the table a hand-over restarts the clock by."""
    act = check_action(action, order.state, order.level)
    check_flow(action, order, verify_before_close)
    check_inputs(action, note=note, satisfaction=satisfaction, assignee=assignee)
    values: dict[str, Any] = {"updated_at": now}
    if act.target is not None:
        values["state"] = act.target
    if action in ("dispatch", "reassign") and assignee is not None:
        values["assignee"] = assignee.name
        values["assignee_id"] = assignee.id
        if assignee.unit is not None:  # 派遣 to a unit of the order's tier
            check_receiver(assignee.unit, level=order.level, category=order.category,
                           village=order.village, up=False)
            if assignee.unit.id != order.unit_id:
                values["unit_id"], values["prev_unit_id"] = assignee.unit.id, order.unit_id
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
        values["level"] = next_level(order.level) if unit is None else unit.tier
        if unit is not None:
            check_receiver(unit, level=order.level, category=order.category,
                           village=order.village, up=True)
            values["unit_id"], values["prev_unit_id"] = unit.id, order.unit_id
            if unit.tier in RESTARTS_CLOCK and deadlines is not None:
                values["deadline_at"] = deadline_for(order.priority, now, order.category,
                                                     deadlines, tier=unit.tier)
    if action == "return" and order.unit_id and \
            order.assignee_id == unit_assignee_id(order.unit_id):
        # The receiving unit hands it back down: to the unit it came from, or the centre.
        values["level"] = unit.tier if unit is not None else "grid"
        values["unit_id"] = unit.id if unit is not None else None
        values["prev_unit_id"] = None
        values["assignee"] = unit.name[:40] if unit is not None else None
        values["assignee_id"] = unit_assignee_id(unit.id) if unit is not None else None
    if action == "urge":
        values["urge_count"] = order.urge_count + 1
    if action == "supervise":
        values["supervised"] = True
    return values
