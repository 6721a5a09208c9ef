"""Drills (应急演练), pure: the types a town drills and how often, a drill's times checked,
which drills a station is overdue for (read by the readiness index), the year's figures.

A town's own table of types and windows (datasources/towns/<town>/drills.json, kept in the
`drill_types` table) overrides DEFAULT_TYPES; 365 days is the window when it says none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any

from dashboard.incidents.errors import BadInput
from dashboard.inputs import echo, plain_text, whole_number

DEFAULT_WINDOW_DAYS = 365
MAX_WINDOW_DAYS = 3650
# A drill is assembled and on the scene within hours; a day is a typing error.
MAX_STEP = timedelta(hours=24)
# A record's start may lead the server's clock by a little (a phone's clock), not more.
CLOCK_SLACK = timedelta(minutes=10)
MAX_FOLLOWUPS = 20
MAX_TEXT = 500
TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,15}$")
# Who takes part (participants are referenced by id: a team's code, a grid worker's id);
# villagers are a count, not named people.
PARTICIPANT_KINDS = ("team", "grid_worker")
MAX_VILLAGERS = 100_000
STATES = ("planned", "done", "cancelled")


@dataclass(frozen=True)
class DrillType:
    """A kind of drill a town holds (消防, 地质灾害, 防汛 ...) and its window in days."""

    code: str
    name: str
    name_en: str
    window_days: int = DEFAULT_WINDOW_DAYS


DEFAULT_TYPES: tuple[DrillType, ...] = (
    DrillType("fire", "消防", "Fire"),
    DrillType("geo", "地质灾害", "Geological disaster"),
    DrillType("flood", "防汛", "Flood"),
)


def parse_types(raw: Any) -> tuple[DrillType, ...]:
    """A town's table of drill types (a list of {code, name, name_en, window_days});
    BadInput naming the first bad entry. None or empty: the defaults."""
    if not raw:
        return DEFAULT_TYPES
    if not isinstance(raw, list):
        raise BadInput("drill_bad_types", value=echo(raw))
    out: dict[str, DrillType] = {}
    for entry in raw:
        if not isinstance(entry, dict) or not TYPE_CODE.match(str(entry.get("code", ""))):
            raise BadInput("drill_bad_types", value=echo(entry))
        code = str(entry["code"])
        if code in out:
            raise BadInput("drill_bad_types", value=code)
        name = plain_text(entry.get("name"), "name") or code
        out[code] = DrillType(code, name, plain_text(entry.get("name_en"), "name_en") or name,
                              whole_number(entry.get("window_days", DEFAULT_WINDOW_DAYS),
                                           "window_days", 1, MAX_WINDOW_DAYS))
    return tuple(out.values())


def type_of(code: Any, types: Iterable[DrillType]) -> DrillType:
    """The town's drill type of this code; BadInput("drill_bad_type") for any other."""
    for dt in types:
        if dt.code == code:
            return dt
    raise BadInput("drill_bad_type", value=echo(code))


# ---------------------------------------------------------------------------- a record
@dataclass(frozen=True)
class DrillTimes:
    """When a drill started, the people were assembled and reached the scene (UTC)."""

    started: datetime
    assembled: datetime
    arrived: datetime | None

    @property
    def assembly_min(self) -> float:
        """Minutes from the call to everybody assembled (集结用时)."""
        return (self.assembled - self.started).total_seconds() / 60

    @property
    def arrival_min(self) -> float | None:
        """Minutes from the call to arrival at the scene (到场用时)."""
        if self.arrived is None:
            return None
        return (self.arrived - self.started).total_seconds() / 60


def check_times(started: datetime, assembled: datetime, arrived: datetime | None,
                now: datetime) -> DrillTimes:
    """A drill's times in order and believable: not in the future, assembly after the start,
    arrival after assembly, each within a day; BadInput with the step that is wrong."""
    if started > now + CLOCK_SLACK:
        raise BadInput("drill_future", name="started")
    if assembled < started:
        raise BadInput("drill_order", name="assembled", after="started")
    if assembled - started > MAX_STEP:
        raise BadInput("drill_too_long", name="assembled")
    if arrived is not None:
        if arrived < assembled:
            raise BadInput("drill_order", name="arrived", after="assembled")
        if arrived - started > MAX_STEP:
            raise BadInput("drill_too_long", name="arrived")
        if arrived > now + CLOCK_SLACK:
            raise BadInput("drill_future", name="arrived")
    elif assembled > now + CLOCK_SLACK:
        raise BadInput("drill_future", name="assembled")
    return DrillTimes(started, assembled, arrived)


def clean_lines(value: Any, name: str = "followups") -> list[str]:
    """Follow-ups typed one per line: plain text, blank lines dropped, at most 20 of at most
    500 characters, no line twice."""
    text = plain_text(value, name)
    lines: list[str] = []
    for line in (x.strip() for x in text.splitlines()):
        if not line or line in lines:
            continue
        if len(line) > MAX_TEXT:
            raise BadInput("drill_line_long", name=name, max=MAX_TEXT)
        lines.append(line)
    if len(lines) > MAX_FOLLOWUPS:
        raise BadInput("drill_too_many", name=name, max=MAX_FOLLOWUPS)
    return lines


def check_participants(teams: Iterable[Any], workers: Iterable[Any], villagers: Any,
                       known_teams: Iterable[str], known_workers: Iterable[str]
                       ) -> tuple[list[str], list[str], int]:
    """Participants by id, each known to the town (a team of the station's town, a grid
    worker of the roster), and a count of villagers; BadInput naming the first unknown."""
    team_set, worker_set = set(known_teams), set(known_workers)
    out_t: list[str] = []
    out_w: list[str] = []
    for code in teams or []:
        if not isinstance(code, str) or code not in team_set:
            raise BadInput("drill_unknown", name="team", value=echo(code))
        if code not in out_t:
            out_t.append(code)
    for wid in workers or []:
        if not isinstance(wid, str) or wid not in worker_set:
            raise BadInput("drill_unknown", name="grid_worker", value=echo(wid))
        if wid not in out_w:
            out_w.append(wid)
    n = 0 if villagers in (None, "") else whole_number(villagers, "villagers", 0, MAX_VILLAGERS)
    return out_t, out_w, n


# ---------------------------------------------------------------------------- readiness
def overdue(last: Mapping[str, str | None], windows: Mapping[str, int],
            today: date) -> list[tuple[str, int | None]]:
    """The drill types a station is overdue for: (type, days since the last one), None when
    never drilled; `last` maps a type to its last drill's local date (YYYY-MM-DD)."""
    out: list[tuple[str, int | None]] = []
    for code, window in windows.items():
        day = last.get(code)
        if not day:
            out.append((code, None))
            continue
        since = (today - date.fromisoformat(day[:10])).days
        if since > window:
            out.append((code, since))
    return out


# ---------------------------------------------------------------------------- figures
def year_figures(drills: Iterable[Mapping[str, Any]], year: int
                 ) -> dict[tuple[str, str], dict[str, Any]]:
    """Drills held in a year per (station, type): how many and the mean assembly minutes
    (None when no drill of them recorded an assembly time). Only held drills count."""
    cells: dict[tuple[str, str], list[float | None]] = {}
    for d in drills:
        if d.get("state") != "done" or not d.get("day") or int(d["day"][:4]) != year:
            continue
        cells.setdefault((d["station"], d["type"]), []).append(d.get("assembly_min"))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, mins in cells.items():
        timed = [x for x in mins if x is not None]
        out[key] = {"count": len(mins), "mean_assembly": round(fmean(timed), 1) if timed
                    else None}
    return out


def mean_assembly(drills: Iterable[Mapping[str, Any]], year: int) -> float | None:
    """The mean assembly minutes of the year's held drills, all stations and types."""
    timed = [d["assembly_min"] for d in drills
             if d.get("state") == "done" and d.get("day") and int(d["day"][:4]) == year
             and d.get("assembly_min") is not None]
    return round(fmean(timed), 1) if timed else None


# ---------------------------------------------------------------------------- follow-ups
# The duty category (职责清单) a drill type's follow-ups are filed under; others: 安全生产.
FOLLOWUP_CATEGORY = {"fire": "fire", "flood": "water", "geo": "work_safety"}
DEFAULT_FOLLOWUP_CATEGORY = "work_safety"


def followup_category(kind: str) -> str:
    """The work order category of a follow-up found in a drill of this type."""
    return FOLLOWUP_CATEGORY.get(kind, DEFAULT_FOLLOWUP_CATEGORY)
