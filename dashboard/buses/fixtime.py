"""When a fix may count: the one time rule of every position door (issue 12).

The latest state of a vehicle is "newer wins", so a fix dated in 2068 (or 9999-12-31) would
win forever and freeze its bus on the map and in the tracker; a fix far behind the bus's
latest one would drag it back. So a fix is refused as `bad_time` when it is dated more than
`future_s` ahead of the receiving clock, before 2000 (no school bus reported then; JT/T 808
writes two-digit years, read as 2000-2099), or more than `replay_s` behind the vehicle's
latest fix (a terminal re-sends fixes it stored out of signal, within that window).

Every door calls `screen_fixes` (JT/T 808 gateway, HTTP positions, GTFS-Realtime, through
`Publisher.publish_positions`; the hub for what arrives raw on the vehicles channel). Times
are compared by difference, never converted, so year 1 or 9999 with any offset cannot
overflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dashboard.messages import VehiclePosition
from dashboard.settings import Settings

BAD_TIME = "bad_time"
FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FixWindow:
    """How far ahead of the clock, and behind the vehicle's latest fix, a fix may be."""

    future_s: float = 300.0
    replay_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FixWindow:
        """ZN_BUS_FIX_FUTURE_S and ZN_BUS_REPLAY_WINDOW_S."""
        return cls(future_s=settings.bus_fix_future_s, replay_s=settings.bus_replay_window_s)


def _aware(value: datetime) -> datetime:
    """Naive times are UTC (as everywhere in zhongnao); aware ones are left as given."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _ahead_s(a: datetime, b: datetime) -> float:
    """Seconds from b to a (positive when a is later), for any representable pair."""
    return (_aware(a) - _aware(b)).total_seconds()


def trusted(current: datetime | None, now: datetime, window: FixWindow) -> datetime | None:
    """The vehicle's latest fix time as a bound, or None when it is itself beyond the
    future bound (stored before this rule): then the next good fix replaces it."""
    if current is None or _ahead_s(current, now) > window.future_s:
        return None
    return current


def time_fault(at: datetime, now: datetime, current: datetime | None,
               window: FixWindow) -> str | None:
    """`bad_time` when a fix dated `at` may not count, given the clock and the vehicle's
    latest fix (`current`, None when there is none); None when it may."""
    if _ahead_s(at, now) > window.future_s or _ahead_s(at, FLOOR) < 0:
        return BAD_TIME
    bound = trusted(current, now, window)
    if bound is not None and _ahead_s(bound, at) > window.replay_s:
        return BAD_TIME
    return None


@dataclass
class Screened:
    """A batch after the rule: fixes kept (in order), indexes refused, and per vehicle the
    kept fix that moves its latest state forward (absent when none does)."""

    kept: list[VehiclePosition] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    latest: dict[str, VehiclePosition] = field(default_factory=dict)


def screen_fixes(fixes: Iterable[VehiclePosition], now: datetime,
                 current: Mapping[str, datetime], window: FixWindow) -> Screened:
    """Apply the time rule to a batch against each vehicle's latest fix time (`current`,
    by plate); a fix kept earlier in the batch is the latest for the ones after it."""
    out = Screened()
    bounds: dict[str, datetime | None] = {}
    for i, fix in enumerate(fixes):
        if fix.plate not in bounds:
            bounds[fix.plate] = trusted(current.get(fix.plate), now, window)
        bound = bounds[fix.plate]
        if time_fault(fix.at, now, bound, window) is not None:
            out.refused.append(i)
            continue
        out.kept.append(fix)
        if bound is None or _ahead_s(fix.at, bound) >= 0:
            bounds[fix.plate] = fix.at
            out.latest[fix.plate] = fix
    return out
