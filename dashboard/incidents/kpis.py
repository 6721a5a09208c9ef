"""The work-order KPIs (办件指标): one definition per measure and per window, pure.

Every screen, store and brief computes its figures here, from the same facts, so the wall,
the console, /leader, /grids and the daily brief agree. docs/kpis.md documents each measure
(a test fails when one is missing there).

A window is half-open, [start, end). The current windows end just after `now`, so a work
order reported at `now` is counted. "At the end" of a window means at `end`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from dashboard.incidents.lifecycle import DONE_STATES, HELD_STATES, LEVEL_ORDER, VOID_STATES
from dashboard.timeutil import LOCAL_TZ, as_utc, local_day_start, local_month_start

# Windows a screen may ask for; each has a comparison window (`previous`).
WINDOWS = ("hour", "today", "7d", "30d", "month")
# "Up to and including now" as a half-open window: below any database's time resolution.
NOW_EPS = timedelta(microseconds=1)


class KpiError(ValueError):
    """An unknown window or measure."""


@dataclass(frozen=True)
class WorkOrderFact:
    """The facts of one work order the KPIs need (read by one query, datasources/sql/kpis)."""

    id: int
    state: str
    created_at: datetime
    closed_at: datetime | None = None  # when it was resolved (办结); None while open
    deadline_at: datetime | None = None
    satisfaction: int | None = None
    scored_at: datetime | None = None  # when the score was given (回访办结)
    grid: str | None = None
    # The version of the grid it was placed in (issue 16): the statistics of a past period
    # roll it up through the parents of that version (dashboard/geo/versions.chains).
    grid_version: int | None = None
    category: str | None = None
    assignee: str | None = None
    level: str = "grid"  # the tier it is (or was) handled at (issue 14)
    village: str | None = None


@dataclass(frozen=True)
class Window:
    """A span of time [start, end) in UTC, named for what it shows."""

    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Figures:
    """The figures of one window; docs/kpis.md defines each field."""

    received: int
    closed: int
    close_rate: float | None
    open: int
    overdue: int
    overdue_now: int
    closed_in: int
    avg_hours: float | None
    satisfaction: float | None
    scored: int
    # The tier shares of what was resolved in the window (TIER_SHARES, issue 14): in %.
    in_grid: float | None = None
    in_village: float | None = None
    in_town: float | None = None

    @property
    def still_open(self) -> int:
        """Work orders received in the window and not closed by its end."""
        return self.received - self.closed

    def value(self, measure: str) -> float | None:
        """One measure by name (KpiError for a name that is not a measure)."""
        if measure not in MEASURES:
            raise KpiError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
        value: float | None = getattr(self, measure)
        return value

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready plain values (kept with a daily brief)."""
        return asdict(self)


MEASURES: tuple[str, ...] = tuple(f.name for f in fields(Figures))
EMPTY = Figures(received=0, closed=0, close_rate=None, open=0, overdue=0, overdue_now=0,
                closed_in=0, avg_hours=None, satisfaction=None, scored=0)


@dataclass(frozen=True)
class KpiBoard:
    """What the live screens show: today's and this month's figures, taken at `at`."""

    today: Figures
    month: Figures
    at: datetime


def data_value(value: float | None) -> str:
    """A figure as every screen writes it in `data-value`: '' for none, '95.4', '100', '3'."""
    return "" if value is None else format(value, "g")


# ------------------------------------------------------------------ windows
def window(name: str, now: datetime) -> Window:
    """The current window `name` (hour, today, 7d, 30d, month), ending at `now`."""
    now = as_utc(now)
    end = now + NOW_EPS
    if name == "hour":
        return Window(name, now - timedelta(hours=1), end)
    if name == "today":
        return Window(name, local_day_start(now), end)
    if name == "7d":
        return Window(name, now - timedelta(days=7), end)
    if name == "30d":
        return Window(name, now - timedelta(days=30), end)
    if name == "month":
        return Window(name, local_month_start(now), end)
    raise KpiError(f"unknown window {name!r}; one of {', '.join(WINDOWS)}")


def previous(name: str, now: datetime) -> Window:
    """The window a current one is compared with: the same hour or the same hours of the
    day yesterday, the 7 or 30 days before, the same days of last month."""
    cur = window(name, now)
    if name in ("hour", "today"):
        return Window(f"prev_{name}", cur.start - timedelta(days=1), cur.end - timedelta(days=1))
    if name == "month":
        start = local_month_start(cur.start - timedelta(days=1))
        return Window("prev_month", start, min(start + (cur.end - cur.start), cur.start))
    span = cur.end - cur.start
    return Window(f"prev_{name}", cur.start - span, cur.start)


def day_window(day: date, now: datetime) -> Window:
    """One local (Asia/Shanghai) day, cut at `now` when it is today."""
    start = as_utc(datetime.combine(day, time(0), tzinfo=LOCAL_TZ))
    end = as_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ))
    return Window(day.isoformat(), start, min(end, as_utc(now) + NOW_EPS))


def span(windows: Iterable[Window]) -> Window:
    """The smallest window holding all of `windows` (read its facts once, then slice)."""
    ws = list(windows)
    return Window("span", min(w.start for w in ws), max(w.end for w in ws))


# ------------------------------------------------------------------ one work order
def _done_by(f: WorkOrderFact, t: datetime) -> bool:
    """True when the work order was resolved before `t` (a legacy row with no close time
    that is done counts as done)."""
    if f.state not in DONE_STATES:
        return False
    return f.closed_at is None or as_utc(f.closed_at) < t


def is_open_at(f: WorkOrderFact, t: datetime) -> bool:
    """Reported before `t` and not resolved before it."""
    return as_utc(f.created_at) < t and not _done_by(f, t)


def is_overdue_at(f: WorkOrderFact, t: datetime) -> bool:
    """Open at `t` and past its deadline then (当前超时 at that instant)."""
    return (is_open_at(f, t) and f.state not in HELD_STATES and f.deadline_at is not None
            and as_utc(f.deadline_at) < t)


def is_overdue_in(f: WorkOrderFact, w: Window) -> bool:
    """Past its deadline at some moment of the window: still open after the deadline, or
    resolved late within the window (超时)."""
    if (f.deadline_at is None or as_utc(f.created_at) >= w.end or f.state in HELD_STATES
            or f.state in VOID_STATES):  # 作废 is no case: the brief listed them as late
        return False
    deadline = as_utc(f.deadline_at)
    if deadline >= w.end:
        return False
    if f.state not in DONE_STATES or f.closed_at is None:
        return f.state not in DONE_STATES  # open now (a done legacy row has no time: no)
    closed = as_utc(f.closed_at)
    return closed > deadline and closed > w.start


def is_relevant(f: WorkOrderFact, w: Window) -> bool:
    """Whether a work order can count in the window at all (what the SQL read keeps)."""
    created = as_utc(f.created_at)
    if created >= w.end:
        return False
    return (created >= w.start or f.closed_at is None or as_utc(f.closed_at) >= w.start
            or (f.scored_at is not None and as_utc(f.scored_at) >= w.start))


def handling_hours(f: WorkOrderFact) -> float | None:
    """Hours from report to resolution (办理时长), or None while open."""
    if f.closed_at is None or f.state not in DONE_STATES:
        return None
    return (as_utc(f.closed_at) - as_utc(f.created_at)).total_seconds() / 3600


# ------------------------------------------------------------------ a window's figures
def figures(facts: Iterable[WorkOrderFact], w: Window) -> Figures:
    """Every measure of the window over `facts` (facts outside the window are ignored)."""
    facts = list(facts)
    tiers = tier_share(facts, w)
    received = closed = open_ = overdue = overdue_now = closed_in = scored = 0
    hours = 0.0
    score_sum = 0
    for f in facts:
        created = as_utc(f.created_at)
        if created >= w.end or f.state in VOID_STATES:  # 作废: not a case, in no count
            continue
        if created >= w.start:
            received += 1
            if _done_by(f, w.end):
                closed += 1
        if is_open_at(f, w.end):
            open_ += 1
            if is_overdue_at(f, w.end):
                overdue_now += 1
        if is_overdue_in(f, w):
            overdue += 1
        h = handling_hours(f)
        if h is not None and f.closed_at is not None and \
                w.start <= as_utc(f.closed_at) < w.end:
            closed_in += 1
            hours += h
        if f.satisfaction is not None:
            at = f.scored_at or f.closed_at
            if at is not None and w.start <= as_utc(at) < w.end:
                scored += 1
                score_sum += f.satisfaction
    return Figures(
        received=received, closed=closed,
        close_rate=round(100.0 * closed / received, 1) if received else None,
        open=open_, overdue=overdue, overdue_now=overdue_now, closed_in=closed_in,
        avg_hours=round(hours / closed_in, 2) if closed_in else None,
        satisfaction=round(score_sum / scored, 2) if scored else None, scored=scored,
        in_grid=tiers.in_grid, in_village=tiers.in_village, in_town=tiers.in_town)


def live_span(now: datetime) -> Window:
    """What a live board reads: today and this month (`board`)."""
    return span([window("today", now), window("month", now)])


def board(facts: Iterable[WorkOrderFact], now: datetime) -> KpiBoard:
    """Today's and this month's figures for the live screens."""
    rows = list(facts)
    return KpiBoard(today=figures(rows, window("today", now)),
                    month=figures(rows, window("month", now)), at=as_utc(now))


def daily_series(facts: Iterable[WorkOrderFact], days: list[date],
                 now: datetime) -> dict[str, list[int]]:
    """Per local day: work orders received that day and resolved that day (closed_in)."""
    rows = list(facts)
    out: dict[str, list[int]] = {"received": [], "closed_in": []}
    for d in days:
        f = figures(rows, day_window(d, now))
        out["received"].append(f.received)
        out["closed_in"].append(f.closed_in)
    return out


def last_days(now: datetime, n: int) -> list[date]:
    """The last n local days, oldest first, ending today."""
    today = as_utc(now).astimezone(LOCAL_TZ).date()
    return [today - timedelta(days=k) for k in range(n - 1, -1, -1)]


# ------------------------------------------------------------------ tiers (issue 14)
# 小事不出格、大事不出村、问题不上交: the share of the work orders resolved in a window that
# were handled at the grid, at most at the village, at most in the town (not handed to a
# county department). The level is the one the order was resolved at (the tier it was
# handed to last; a unit's 退回 hands it back down, so it counts where it was resolved).
TIER_SHARES: dict[str, tuple[str, str, str]] = {
    # measure: (zh, en, the highest level it counts)
    "in_grid": ("小事不出格率", "Resolved in the grid", "grid"),
    "in_village": ("大事不出村率", "Resolved in the village", "village"),
    "in_town": ("问题不上交率", "Resolved in the town", "town"),
}


@dataclass(frozen=True)
class TierShare:
    """Work orders resolved in a window, by the level they were resolved at, and the three
    shares (in %, None when nothing was resolved); docs/evaluation.md defines them."""

    resolved: int
    by_level: dict[str, int]
    in_grid: float | None
    in_village: float | None
    in_town: float | None


def tier_share(facts: Iterable[WorkOrderFact], w: Window) -> TierShare:
    """The tier shares of the work orders resolved (办结, 核查, 结案) in the window."""
    by_level = dict.fromkeys(LEVEL_ORDER, 0)
    for f in facts:
        if f.state in DONE_STATES and f.closed_at is not None and \
                w.start <= as_utc(f.closed_at) < w.end:
            by_level[f.level if f.level in by_level else "grid"] += 1
    resolved = sum(by_level.values())

    def share(top: str) -> float | None:
        upto = sum(by_level[lv] for lv in LEVEL_ORDER[:LEVEL_ORDER.index(top) + 1])
        return round(100.0 * upto / resolved, 1) if resolved else None

    return TierShare(resolved, by_level, *(share(t[2]) for t in TIER_SHARES.values()))


def tier_shares(facts: Iterable[WorkOrderFact], w: Window) -> dict[str, TierShare]:
    """The tier shares of the window per category, and over all of them under "*"."""
    rows = list(facts)
    cats = sorted({f.category for f in rows if f.category})
    out = {"*": tier_share(rows, w)}
    out.update({c: tier_share([f for f in rows if f.category == c], w) for c in cats})
    return {k: v for k, v in out.items() if k == "*" or v.resolved}
