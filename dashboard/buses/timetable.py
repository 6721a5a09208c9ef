"""Timetables: school days, a trip's stop times on a date, ETAs and ahead/on time/late."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dashboard.timeutil import LOCAL_TZ, as_utc

# A trip before its departure time is scheduled; past it, not yet left, not_started (a bus
# that never left is not "late": late is a bus driving, or arrived, behind the timetable).
STATUSES = ("scheduled", "not_started", "early", "on_time", "late", "done")
# Ahead by more than EARLY_S or behind by more than LATE_S counts; in between is on time
# (the usual bus-punctuality window: one minute early to three minutes late).
EARLY_S, LATE_S = 60.0, 180.0


def is_school_day(day: date, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> bool:
    """Mon–Fri, minus holidays, plus make-up school days (调休上课)."""
    if day in set(workdays):
        return True
    return day.weekday() < 5 and day not in set(holidays)


def runs_on(days: str, day: date, holidays: Iterable[date] = (),
            workdays: Iterable[date] = ()) -> bool:
    """Whether a trip with this `days` rule (school, daily, weekend) runs on a local date."""
    if days == "daily":
        return True
    if days == "weekend":
        return day.weekday() >= 5
    return is_school_day(day, holidays, workdays)


def stop_times_on(day: date, stop_times: Sequence[str]) -> list[datetime]:
    """The trip's "HH:MM" stop times on a local date, as UTC instants."""
    out = []
    for hhmm in stop_times:
        h, m = (int(x) for x in hhmm.split(":"))
        out.append(datetime.combine(day, time(h, m), LOCAL_TZ).astimezone(UTC))
    return out


def local_date(now: datetime) -> date:
    """The Asia/Shanghai date of a UTC instant."""
    return as_utc(now).astimezone(LOCAL_TZ).date()


def scheduled_at(stop_m: Sequence[float], times: Sequence[datetime], along_m: float) -> datetime:
    """When the timetable has the bus at `along_m` (linear between stops, dwell ignored)."""
    if along_m <= stop_m[0]:
        return times[0]
    for i in range(1, len(stop_m)):
        if along_m <= stop_m[i]:
            span = stop_m[i] - stop_m[i - 1]
            f = (along_m - stop_m[i - 1]) / span if span > 0 else 1.0
            return times[i - 1] + (times[i] - times[i - 1]) * f
    return times[-1]


@dataclass(frozen=True)
class TripStatus:
    """Where a trip stands: status, delay (s, + late), next stop and the remaining ETAs."""

    status: str
    delay_s: float
    next_stop: int | None
    etas: list[datetime | None]


def classify(delay_s: float) -> str:
    """early / on_time / late for a delay in seconds (positive = behind the timetable)."""
    if delay_s < -EARLY_S:
        return "early"
    if delay_s > LATE_S:
        return "late"
    return "on_time"


def assess(stop_m: Sequence[float], times: Sequence[datetime], along_m: float | None,
           now: datetime, *, departed: bool, arrived: bool, next_stop: int | None,
           arrival_delay_s: float | None = None) -> TripStatus:
    """Status and ETAs of one trip at `now` from the bus's matched distance along its path.

    ETAs shift the timetable by the current delay; a bus that is ahead is not assumed to
    wait, but no ETA lies in the past. Before departure the delay is how late it already is.
    A finished trip keeps the delay it arrived with.
    """
    now = as_utc(now)
    n = len(stop_m)
    if arrived:
        return TripStatus("done", arrival_delay_s or 0.0, None, [None] * n)
    if not departed or along_m is None:
        delay = max(0.0, (now - times[0]).total_seconds())
        etas: list[datetime | None] = [t + timedelta(seconds=delay) for t in times]
        return TripStatus("scheduled" if now < times[0] else "not_started", delay, 0, etas)
    delay = (now - scheduled_at(stop_m, times, along_m)).total_seconds()
    first = next_stop if next_stop is not None else n
    etas = [None] * n
    for i in range(first, n):
        etas[i] = max(now, times[i] + timedelta(seconds=delay))
    return TripStatus(classify(delay), delay, next_stop, etas)


def trip_window(times: Sequence[datetime], before_min: int = 30,
                after_min: int = 45) -> tuple[datetime, datetime]:
    """The time a bus is on duty for a trip: from before departure to after arrival."""
    return times[0] - timedelta(minutes=before_min), times[-1] + timedelta(minutes=after_min)
