"""Incident vocabulary and lifecycle rules: categories, sources, states, transitions, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.incidents.errors import TransitionError
from dashboard.timeutil import LOCAL_TZ, as_utc


@dataclass(frozen=True)
class Category:
    """One of the 15 duty categories (职责清单)."""

    code: str
    zh: str
    en: str


CATEGORIES: tuple[Category, ...] = (
    Category("public_security", "社会治安", "Public security"),
    Category("city_management", "城市管理", "City management"),
    Category("traffic", "交通管理", "Traffic"),
    Category("market", "市场监管", "Market supervision"),
    Category("planning", "规划建设", "Planning & building"),
    Category("estate", "小区管理", "Residential estates"),
    Category("fire", "消防安全", "Fire safety"),
    Category("environment", "环境保护", "Environment"),
    Category("water", "水务管理", "Water affairs"),
    Category("labour", "劳动保障", "Labour"),
    Category("culture", "文化出版", "Culture & publishing"),
    Category("education", "教育监管", "Education"),
    Category("work_safety", "安全生产", "Work safety"),
    Category("venues", "组织场所", "Organisations & venues"),
    Category("disputes", "矛盾纠纷", "Disputes"),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}

SOURCES: dict[str, tuple[str, str]] = {
    "grid_worker": ("网格员", "Grid worker"),
    "hotline": ("12345热线", "12345 hotline"),
    "citizen": ("随手拍", "Citizen"),
    "video": ("雪亮工程", "Video alert"),
    "bus": ("校车监控", "Bus monitor"),
    "resources": ("应急物资预警", "Supplies alert"),  # issue 5: low stock / expiry
    "drill": ("应急演练", "Drill"),  # issue 16: a follow-up a drill found (整改)
}

PRIORITIES: dict[str, tuple[str, str]] = {
    "urgent": ("紧急", "Urgent"),
    "high": ("较急", "High"),
    "normal": ("一般", "Normal"),
}

# The closed loop 发现问题 → 指挥调度 → 处置问题 → 过程监督.
STATES: dict[str, tuple[str, str]] = {
    "reported": ("上报", "Reported"),
    "accepted": ("受理", "Accepted"),
    "dispatched": ("派遣", "Dispatched"),
    "in_progress": ("处置中", "In progress"),
    "resolved": ("办结", "Resolved"),
    "closed": ("回访办结", "Closed"),
    "returned": ("退回", "Returned"),
    # The standard's side states (GB/T 30428): checked after handling, on hold, not a case.
    "verified": ("核查通过", "Verified"),
    "suspended": ("缓办", "Suspended"),
    "void": ("作废", "Void"),
}
# Being worked on: the clock runs, the sweep supervises, the queue lists them.
OPEN_STATES = frozenset({"reported", "accepted", "dispatched", "in_progress", "returned"})
# Handled (办结, 核查通过, 结案): never overdue again; resolved at `closed_at`.
DONE_STATES = frozenset({"resolved", "verified", "closed"})
# On hold (缓办/挂账): the clock stops and the order is out of on-time denominators.
HELD_STATES = frozenset({"suspended"})
# Not a case (作废): out of every count.
VOID_STATES = frozenset({"void"})

# The one colour of each state: the wall's and console's markers and badges read it from
# here (app.py sends it to the page as CSS custom properties --st-<state>).
STATE_COLOURS: dict[str, str] = {
    "reported": "#ff9f1c", "accepted": "#ffd166", "dispatched": "#4cc9f0",
    "in_progress": "#4895ef", "resolved": "#2ec4b6", "closed": "#6c7a89",
    "returned": "#c77dff", "verified": "#80ed99", "suspended": "#8d99ae", "void": "#4a4f5a",
}


def state_colour_css() -> str:
    """The state colours as CSS: custom properties on :root and one badge class per state
    (`.st-<state>`), so stylesheets and scripts keep no copy of them."""
    props = "".join(f"--st-{k}:{v};" for k, v in STATE_COLOURS.items())
    badges = "".join(f".st-{k}{{background:var(--st-{k});}}" for k in STATE_COLOURS)
    return f":root{{{props}}}{badges}"

# Who handles an incident: 小事不出格、大事不出村、问题不上交 (grid → village → town → county).
LEVELS: dict[str, tuple[str, str]] = {
    "grid": ("网格", "Grid"),
    "village": ("村(社区)", "Village"),
    "town": ("镇", "Town"),
    "county": ("县级部门", "County department"),
}
LEVEL_ORDER = tuple(LEVELS)


@dataclass(frozen=True)
class Action:
    """One step an officer, a field worker or the system can take on an incident."""

    name: str
    zh: str
    en: str
    sources: frozenset[str]
    target: str | None  # None: the state stays (urge, supervise, escalate)


_OPEN = ("reported", "accepted", "dispatched", "in_progress", "returned")
_OUT = frozenset({"dispatched", "in_progress"})  # with the handler
# Actions the assignee takes in the field (API and the /field page); the rest are the desk's.
FIELD_STEPS: tuple[str, ...] = ("ack", "start", "note", "extend", "resolve")
ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("accept", "受理", "Accept", frozenset({"reported", "returned"}), "accepted"),
    Action("dispatch", "派遣", "Dispatch", frozenset({"accepted"}), "dispatched"),
    Action("start", "到场处置", "Start handling", frozenset({"dispatched"}), "in_progress"),
    Action("resolve", "办结", "Resolve", frozenset({"in_progress"}), "resolved"),
    # 核查: the handling checked on site (pass); a failed check is 返工.
    Action("verify", "核查通过", "Verify", frozenset({"resolved"}), "verified"),
    # 结案 after the follow-up call; ZN_VERIFY_BEFORE_CLOSE refuses it before 核查.
    Action("close", "回访办结", "Close after follow-up", frozenset({"resolved", "verified"}),
           "closed"),
    # 返工: a failed check or an unsatisfied follow-up; counted per work order.
    Action("rework", "返工", "Rework", frozenset({"resolved", "verified"}), "in_progress"),
    Action("return", "退回", "Return", frozenset(_OPEN) - {"returned"}, "returned"),
    Action("reassign", "改派", "Reassign", frozenset({"dispatched", "in_progress"}),
           "dispatched"),
    Action("ack", "接单", "Acknowledge", frozenset({"dispatched"}), None),
    Action("note", "补充说明", "Add note", frozenset(_OPEN), None),
    Action("escalate", "升级", "Escalate", frozenset(_OPEN), None),
    Action("urge", "催办", "Urge", frozenset(_OPEN), None),
    Action("supervise", "督办", "Supervise", frozenset(_OPEN), None),
    # 延期: the handler asks for more time (a duration); an officer approves (the deadline
    # moves by the approved duration) or refuses. The request is a mark, not a state.
    Action("extend", "申请延期", "Request extension", _OUT, None),
    Action("extend_ok", "批准延期", "Approve extension", _OUT, None),
    Action("extend_no", "驳回延期", "Refuse extension", _OUT, None),
    # 缓办/挂账: on hold with a reason, the clock stopped; resumed to be dispatched again.
    Action("suspend", "缓办", "Suspend", frozenset(_OPEN), "suspended"),
    Action("resume", "恢复办理", "Resume", frozenset({"suspended"}), "accepted"),
    # 作废: not a real case, with a reason.
    Action("void", "作废", "Void", frozenset(_OPEN) | {"suspended"}, "void"),
    # 合并 (issue 18): a work order flagged "possible duplicate of" another open one joins
    # it: its reports (callers) move there and it is closed as not a case of its own.
    Action("merge", "合并", "Merge", frozenset(_OPEN), "void"),
)}

# The state graph the actions allow (used by field progress messages and the simulator).
TRANSITIONS: dict[str, frozenset[str]] = {
    state: frozenset(a.target for a in ACTIONS.values()
                     if state in a.sources and a.target is not None and a.target != state)
    for state in STATES
}


def check_transition(current: str, target: str) -> None:
    """Raise TransitionError unless `current` → `target` is an allowed step of the loop."""
    if current not in TRANSITIONS:
        raise TransitionError("unknown_state", state=current)
    if target not in TRANSITIONS[current]:
        raise TransitionError("bad_transition", state=current, target=target,
                              allowed=",".join(sorted(TRANSITIONS[current])))


def check_action(action: str, state: str, level: str = "grid") -> Action:
    """The action, or TransitionError saying why it cannot be taken in `state`."""
    act = ACTIONS.get(action)
    if act is None:
        raise TransitionError("unknown_action", action=action)
    if state not in act.sources:
        raise TransitionError("bad_state", action=action, state=state)
    if action == "escalate" and level == LEVEL_ORDER[-1]:
        raise TransitionError("top_level", level=level)
    return act


def action_to(state: str, target: str) -> str:
    """The action that moves an incident from `state` to `target` (for progress messages)."""
    for act in ACTIONS.values():
        if act.target == target and state in act.sources and act.name != "reassign":
            return act.name
    raise TransitionError("bad_transition", state=state, target=target)


def next_level(level: str) -> str:
    """The level above `level` (escalation path grid → village → town → county)."""
    i = LEVEL_ORDER.index(level) if level in LEVEL_ORDER else 0
    return LEVEL_ORDER[min(i + 1, len(LEVEL_ORDER) - 1)]


def due_at(state: str, deadline_at: datetime | None) -> datetime | None:
    """The instant after which the work order counts as overdue: its deadline while it is
    open, None once it is done (a resolved or closed order is never overdue)."""
    return deadline_at if state in OPEN_STATES and deadline_at is not None else None


def is_overdue(state: str, deadline_at: datetime | None, now: datetime) -> bool:
    """True while an open incident is past its deadline."""
    due = due_at(state, deadline_at)
    return due is not None and as_utc(now) > as_utc(due)


# The countdown's units, largest first: whole days, else whole hours, else whole minutes.
# Exported to the console's JS (pages/_dispatch_parts.py) so it never keeps its own copy.
COUNTDOWN_UNITS: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60))


@dataclass(frozen=True)
class Countdown:
    """Time left to (or past) a deadline, in its largest whole unit."""

    overdue: bool
    amount: int
    unit: str  # a key of COUNTDOWN_UNITS


def countdown(deadline_at: datetime, now: datetime) -> Countdown:
    """How long until `deadline_at` (or since: overdue), e.g. 3 h, 20 min."""
    seconds = int((as_utc(deadline_at) - as_utc(now)).total_seconds())
    left = abs(seconds)
    for unit, size in COUNTDOWN_UNITS:
        if left >= size or unit == COUNTDOWN_UNITS[-1][0]:
            return Countdown(overdue=seconds < 0, amount=left // size, unit=unit)
    raise AssertionError("unreachable")


def work_order_ref(reported_at: datetime, incident_id: int) -> str:
    """The work order's number: the Asia/Shanghai date it was reported and its id."""
    return f"{as_utc(reported_at).astimezone(LOCAL_TZ):%Y%m%d}-{incident_id:05d}"
