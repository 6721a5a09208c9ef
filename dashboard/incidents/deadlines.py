"""Resolution deadlines (限时办结) per priority and category, in hours or working days."""

from __future__ import annotations

import re
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
}
_SPEC = re.compile(r"^(\d+)(h|d|wd)$")


def parse_spec(spec: str) -> tuple[int, str]:
    """'3wd' -> (3, 'wd'); raise ValueError for anything else."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"deadline {spec!r}: use hours (2h), days (1d) or working days (3wd)")
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


def merge_table(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The default table with a town's overrides (parsed JSON) merged in; every entry is
    checked."""
    table = {k: dict(v) for k, v in DEFAULT_TABLE.items()}
    for category, row in (overrides or {}).items():
        table.setdefault(category, {}).update(row)
    for row in table.values():
        for spec in row.values():
            parse_spec(spec)
    return table


def deadline_for(priority: str, reported_at: datetime, category: str | None = None,
                 table: dict[str, Any] | None = None) -> datetime:
    """The resolution deadline of an incident reported at `reported_at`."""
    table = table or DEFAULT_TABLE
    row = {**table["default"], **table.get(category or "", {})}
    return add_spec(reported_at, row.get(priority, row["normal"]))


# ------------------------------------------------------------------ 延期 (extensions)
# What an extension may ask for: the deadline units, in Latin or Chinese ("48h", "2天",
# "3个工作日"), at most 90 days of the calendar.
_CN_UNITS = (("个工作日", "wd"), ("工作日", "wd"), ("小时", "h"), ("个小时", "h"), ("天", "d"),
             ("日", "d"))
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
    days = amount / 24 if unit == "h" else amount * (7 / 5 if unit == "wd" else 1)
    if amount <= 0 or timedelta(days=days) > MAX_EXTENSION:
        raise BadInput("bad_duration", text=word[:20])
    return f"{amount}{unit}"


def add_spec(start: datetime, spec: str) -> datetime:
    """`start` plus a deadline spec ('2h', '1d', '3wd')."""
    amount, unit = parse_spec(spec)
    if unit == "h":
        return start + timedelta(hours=amount)
    if unit == "d":
        return start + timedelta(days=amount)
    return add_working_days(start, amount)
