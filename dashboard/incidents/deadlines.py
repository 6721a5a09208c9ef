"""Resolution deadlines (限时办结) per priority and category, in hours or working days, and
the standard's stage limits (环节时限: 立案, 派遣, 处置, 核查) with whether a stage kept to its."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.incidents.errors import BadInput
from dashboard.timeutil import LOCAL_TZ, as_utc

# "2h" = two hours; "3wd" = three working days (Mon–Fri, local time), the usual 限时 for
# ordinary matters. A town may override per category with a JSON file (ZN_DEADLINES_FILE).
DEFAULT_TABLE: dict[str, Any] = {
    "default": {"urgent": "2h", "high": "24h", "normal": "3wd"},
    "fire": {"urgent": "1h", "high": "4h", "normal": "24h"},
    "work_safety": {"urgent": "1h", "high": "8h", "normal": "2wd"},
    "public_security": {"urgent": "1h", "high": "12h", "normal": "2wd"},
    # Issue 14: the receiving tier's time when a work order is handed to a town office or a
    # county department (its clock restarts at the hand-over). A category's own row still
    # wins (a fire is urgent whoever takes it); these replace the town's default row.
    "tier:town": {"urgent": "4h", "high": "1d", "normal": "3wd"},
    "tier:county": {"urgent": "1d", "high": "3wd", "normal": "5wd"},
}
TIER_PREFIX = "tier:"
_SPEC = re.compile(r"^(\d+)(min|h|d|wd)$")


def parse_spec(spec: str) -> tuple[int, str]:
    """'3wd' -> (3, 'wd'); raise ValueError for anything else."""
    m = _SPEC.match(spec.strip()) if isinstance(spec, str) else None
    if not m:
        raise ValueError(f"deadline {spec!r}: use minutes (30min), hours (2h), days (1d) "
                         "or working days (3wd)")
    return int(m.group(1)), m.group(2)


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` plus `days` working days (weekends skipped), counted in Asia/Shanghai."""
    local = as_utc(start).astimezone(LOCAL_TZ)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(as_utc(start).tzinfo)


ROW_PRIORITIES = ("urgent", "high", "normal")
TIERS = ("town", "county")
MAX_DEADLINE = timedelta(days=90)


def check_overrides(data: Any, categories: frozenset[str] | None = None) -> None:
    """The validator of a town's deadline table (ZN_DEADLINES_FILE, or /admin's): an object
    of rows — "default", a category code (of `categories` when given), "tier:town",
    "tier:county" — each {priority: spec}, and "stages" of stage rows alike; every spec a
    positive duration of at most 90 days. ValueError naming the entry that is wrong."""
    if not isinstance(data, dict):
        raise ValueError("an object of rows: default, a category, tier:town, tier:county, "
                         "stages")
    for key, row in data.items():
        if key == STAGES_KEY:
            if not isinstance(row, dict):
                raise ValueError("stages: an object of stage rows")
            for stage, limits in row.items():
                if stage not in STAGE_LIMITS:
                    raise ValueError(f"stages.{stage}: one of {', '.join(STAGE_LIMITS)}")
                _check_row(f"stages.{stage}", limits)
            continue
        tier = key[len(TIER_PREFIX):] if isinstance(key, str) and \
            key.startswith(TIER_PREFIX) else None
        known = key == "default" or tier in TIERS or categories is None \
            or key in categories
        if not known:
            raise ValueError(f"{str(key)[:40]!r}: not a category, default or tier row")
        _check_row(str(key), row)


def _check_row(where: str, row: Any) -> None:
    if not isinstance(row, dict) or not row:
        raise ValueError(f"{where}: an object of priority: deadline")
    for priority, spec in row.items():
        if priority not in ROW_PRIORITIES:
            raise ValueError(f"{where}.{str(priority)[:20]}: one of "
                             f"{', '.join(ROW_PRIORITIES)}")
        amount, unit = parse_spec(spec)
        days = amount * {"min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wd": 7 / 5}[unit]
        if amount <= 0 or timedelta(days=days) > MAX_DEADLINE:
            raise ValueError(f"{where}.{priority}: {spec!r} is not between 1 minute and "
                             "90 days")


def merge_table(overrides: dict[str, Any] | None,
                base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default table (or `base`, a merged table) with a town's overrides (parsed JSON)
    merged in; every entry is checked. The file's "stages" entry overrides the stage limits
    (STAGE_LIMITS), kept in the table under STAGES_KEY."""
    check_overrides(overrides or {})
    overrides = dict(overrides or {})
    stages = overrides.pop(STAGES_KEY, None) or {}
    start = base or DEFAULT_TABLE
    table: dict[str, Any] = {k: dict(v) for k, v in start.items() if k != STAGES_KEY}
    for category, row in overrides.items():
        table.setdefault(category, {}).update(row)
    limits = {k: dict(v) for k, v in (start.get(STAGES_KEY) or STAGE_LIMITS).items()}
    for stage, row in stages.items():
        if stage not in limits:
            raise ValueError(f"stage {stage!r}: one of {', '.join(limits)}")
        limits[stage].update(row)
    for row in (*table.values(), *limits.values()):
        for spec in row.values():
            parse_spec(spec)
    table[STAGES_KEY] = limits
    return table


def deadline_for(priority: str, reported_at: datetime, category: str | None = None,
                 table: dict[str, Any] | None = None, tier: str | None = None) -> datetime:
    """The resolution deadline of an incident reported (or, with `tier`, handed to a unit
    of that tier) at `reported_at`: the category's row over the tier's over the default."""
    table = table or DEFAULT_TABLE
    row = {**table["default"], **table.get(TIER_PREFIX + tier if tier else "", {}),
           **table.get(category or "", {})}
    return add_spec(reported_at, row.get(priority, row["normal"]))


# ------------------------------------------------------------------ 延期 (extensions)
# What an extension may ask for: the deadline units, in Latin or Chinese ("48h", "2天",
# "3个工作日"), at most 90 days of the calendar.
_CN_UNITS = (("个工作日", "wd"), ("工作日", "wd"), ("个小时", "h"), ("小时", "h"),
             ("分钟", "min"), ("天", "d"), ("日", "d"))
MAX_EXTENSION = timedelta(days=90)


def parse_extension(text: object) -> str:
    """The duration an extension asks for, as a deadline spec ('48h', '2d', '3wd'), from
    the first word of a note ('48h 等待材料', '2天', '3个工作日'). BadInput("bad_duration")
    for anything else, nothing, zero, or more than 90 days."""
    word = text.strip().split(maxsplit=1)[0] if isinstance(text, str) and text.strip() else ""
    spec = word.lower()
    for cn, unit in _CN_UNITS:
        if spec.endswith(cn):
            spec = spec[: -len(cn)] + unit
            break
    try:
        amount, unit = parse_spec(spec)
    except ValueError:
        raise BadInput("bad_duration", text=word[:20]) from None
    per_day = {"min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wd": 7 / 5}[unit]
    days = amount * per_day
    if amount <= 0 or timedelta(days=days) > MAX_EXTENSION:
        raise BadInput("bad_duration", text=word[:20])
    return f"{amount}{unit}"


def add_spec(start: datetime, spec: str) -> datetime:
    """`start` plus a deadline spec ('2h', '1d', '3wd')."""
    amount, unit = parse_spec(spec)
    if unit == "min":
        return start + timedelta(minutes=amount)
    if unit == "h":
        return start + timedelta(hours=amount)
    if unit == "d":
        return start + timedelta(days=amount)
    return add_working_days(start, amount)


# ------------------------------------------------------------------ 环节时限 (stage limits)
# The standard's stages, each timed from the step before: 立案 from the report, 派遣 from
# 立案, 处置 from the report to the resolution deadline above (moved by 延期 and 缓办), 核查
# from the resolution. Cities set 立案/派遣 at 10 min (urgent) or 30 min, 核查 at 1-2 h.
STAGES: dict[str, tuple[str, str]] = {
    "accept": ("立案", "Accept"),
    "dispatch": ("派遣", "Dispatch"),
    "handle": ("处置", "Handle"),
    "verify": ("核查", "Verify"),
}
STAGE_LIMITS: dict[str, dict[str, str]] = {
    "accept": {"urgent": "10min", "high": "30min", "normal": "30min"},
    "dispatch": {"urgent": "10min", "high": "30min", "normal": "30min"},
    "verify": {"urgent": "1h", "high": "2h", "normal": "2h"},
}
STAGES_KEY = "stages"  # where a town's file and the merged table keep the stage limits


@dataclass(frozen=True)
class StageTimes:
    """When a work order reached each stage (from its history), and its deadline."""

    reported: datetime
    accepted: datetime | None = None
    dispatched: datetime | None = None
    resolved: datetime | None = None
    verified: datetime | None = None
    deadline: datetime | None = None  # the resolution deadline (处置), as it stands


def stage_window(stage: str, t: StageTimes) -> tuple[datetime | None, datetime | None]:
    """When `stage` began (the step before was taken) and ended (None: not yet)."""
    return {"accept": (t.reported, t.accepted), "dispatch": (t.accepted, t.dispatched),
            "handle": (t.reported, t.resolved), "verify": (t.resolved, t.verified)}[stage]


def stage_due(stage: str, t: StageTimes, priority: str,
              table: dict[str, Any] | None = None) -> datetime | None:
    """The instant `stage` should be done by (None while it has not begun)."""
    if stage == "handle":
        return t.deadline
    begun, _ = stage_window(stage, t)
    if begun is None:
        return None
    limits = (table or {}).get(STAGES_KEY) or STAGE_LIMITS
    row = limits[stage]
    return add_spec(begun, row.get(priority, row["normal"]))


def stage_on_time(stage: str, t: StageTimes, priority: str, now: datetime,
                  table: dict[str, Any] | None = None) -> bool | None:
    """True when `stage` was done by its limit, False when done late or still undone past
    it at `now`, None when it has not begun or is undone with time left."""
    due = stage_due(stage, t, priority, table)
    _, ended = stage_window(stage, t)
    if due is None:
        return None
    if ended is not None:
        return as_utc(ended) <= as_utc(due)
    return False if as_utc(now) > as_utc(due) else None
