"""Incident vocabulary and lifecycle rules: categories, sources, states, transitions, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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
}
OPEN_STATES = frozenset({"reported", "accepted", "dispatched", "in_progress", "returned"})
DONE_STATES = frozenset({"resolved", "closed"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "reported": frozenset({"accepted", "returned"}),
    "accepted": frozenset({"dispatched", "returned"}),
    "dispatched": frozenset({"in_progress", "returned"}),
    "in_progress": frozenset({"resolved", "returned"}),
    "returned": frozenset({"accepted"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
}

# Time allowed from report to resolution, by priority (限时办结).
DEADLINES: dict[str, timedelta] = {
    "urgent": timedelta(hours=2),
    "high": timedelta(hours=24),
    "normal": timedelta(days=3),
}


class TransitionError(ValueError):
    """A state change the loop does not allow."""


def check_transition(current: str, target: str) -> None:
    """Raise TransitionError unless `current` → `target` is an allowed step of the loop."""
    if current not in TRANSITIONS:
        raise TransitionError(f"unknown state {current!r}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise TransitionError(f"cannot go from {current} to {target} (allowed: {allowed})")


def deadline_for(priority: str, reported_at: datetime) -> datetime:
    """The resolution deadline of an incident of this priority reported at `reported_at`."""
    return reported_at + DEADLINES.get(priority, DEADLINES["normal"])


def is_overdue(state: str, deadline_at: datetime | None, now: datetime) -> bool:
    """True while an open incident is past its deadline."""
    return state in OPEN_STATES and deadline_at is not None and now > deadline_at
