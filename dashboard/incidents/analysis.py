"""分析研判: the quarterly (or any range's) analysis, pure. A range against the period of the
same length before it and the same dates a year earlier: volumes (the KPI rule's `received`),
weekly trend, hot spots and recurring places, the evaluation's grade changes. The SQL read is
datasources/sql/analysis.py; the rules are documented in docs/analysis.md.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dashboard.geo.lookup import haversine_m
from dashboard.incidents import kpis
from dashboard.incidents.errors import BadInput
from dashboard.incidents.evaluation import Evaluation, local_midnight
from dashboard.incidents.lifecycle import VOID_STATES
from dashboard.timeutil import LOCAL_TZ, as_utc

# The hot-spot rule (docs/analysis.md): the same category reported HOT_COUNT times within
# HOT_RADIUS_M of each other within HOT_DAYS days.
HOT_RADIUS_M = 100.0
HOT_COUNT = 3
HOT_DAYS = 30
GRADES = "ABCDE"


@dataclass(frozen=True)
class Period:
    """A half-open range of UTC instants [start, end) and how it is named."""

    key: str  # current | previous | last_year
    start: datetime
    end: datetime

    def window(self) -> kpis.Window:
        """The KPI window of the period (kpis.figures counts in it)."""
        return kpis.Window(self.key, self.start, self.end)


@dataclass(frozen=True)
class Periods:
    """The range asked for and the two it is compared with."""

    label: str  # '2026Q4' or '2026-10-01 – 2026-12-31'
    current: Period
    previous: Period
    last_year: Period

    def all(self) -> tuple[Period, Period, Period]:
        """The three periods, the current first."""
        return (self.current, self.previous, self.last_year)


def year_back(day: date) -> date:
    """The same local day a year earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def compare(label: str, first: date, after: date) -> Periods:
    """The range of local days [first, after) and the previous period of the same length
    and the same dates a year earlier."""
    days = after - first
    return Periods(
        label=label,
        current=Period("current", local_midnight(first), local_midnight(after)),
        previous=Period("previous", local_midnight(first - days), local_midnight(first)),
        last_year=Period("last_year", local_midnight(year_back(first)),
                         local_midnight(year_back(after))))


def cut(ps: Periods, now: datetime) -> Periods:
    """A range still running is cut at `now` (kpis' current windows end at now), and the
    two it is compared with are cut to the same length from their starts, as the KPI
    month is compared with the same days of last month. BadInput('day_ahead') for a range
    that has not begun."""
    now = as_utc(now)
    if now < ps.current.start:
        raise BadInput("day_ahead",
                       day=ps.current.start.astimezone(LOCAL_TZ).date().isoformat())
    if now >= ps.current.end:
        return ps
    length = now + kpis.NOW_EPS - ps.current.start
    return Periods(ps.label, *(Period(p.key, p.start, p.start + length) for p in ps.all()))


# ------------------------------------------------------------------ volumes
def volumes(facts: Iterable[kpis.WorkOrderFact], p: Period,
            key: Mapping[int, str]) -> dict[str, int]:
    """Work orders received in the period (the KPI rule, kpis.figures) per group, where
    `key` maps a work order's id to its group (category, source)."""
    groups: dict[str, list[kpis.WorkOrderFact]] = {}
    w = p.window()
    for f in facts:
        if kpis.is_relevant(f, w):
            groups.setdefault(key.get(f.id, "?"), []).append(f)
    out = {g: kpis.figures(rows, w).received for g, rows in groups.items()}
    return {g: n for g, n in sorted(out.items(), key=lambda kv: (-kv[1], kv[0])) if n}


def weeks(start: datetime, end: datetime) -> list[tuple[date, kpis.Window]]:
    """The local weeks (Monday first) that meet [start, end), each cut to the range."""
    day = as_utc(start).astimezone(LOCAL_TZ).date()
    monday = day - timedelta(days=day.weekday())
    out = []
    while local_midnight(monday) < end:
        lo = max(local_midnight(monday), as_utc(start))
        hi = min(local_midnight(monday + timedelta(days=7)), as_utc(end))
        out.append((monday, kpis.Window(monday.isoformat(), lo, hi)))
        monday += timedelta(days=7)
    return out


def weekly(facts: Iterable[kpis.WorkOrderFact], p: Period) -> list[dict[str, object]]:
    """Per week of the period: received and resolved in it (kpis.figures, the week as the
    window), as the leader's daily trend does per day."""
    rows = [f for f in facts if kpis.is_relevant(f, p.window())]
    out = []
    for monday, w in weeks(p.start, p.end):
        fig = kpis.figures(rows, w)
        out.append({"week": monday.isoformat(), "received": fig.received,
                    "closed_in": fig.closed_in})
    return out


# ------------------------------------------------------------------ hot spots
@dataclass(frozen=True)
class ReportPoint:
    """Where and when a work order was reported, and what about."""

    id: int
    created_at: datetime
    category: str
    lon: float
    lat: float
    grid: str | None = None
    state: str = "reported"


@dataclass(frozen=True)
class HotSpot:
    """A place with repeated reports: the same category HOT_COUNT times or more within
    HOT_RADIUS_M within HOT_DAYS days, the reports chained into one place."""

    category: str
    grid: str | None
    lon: float
    lat: float
    ids: tuple[int, ...]
    first: datetime
    last: datetime
    recurring: bool = False  # a hot spot of the same category was here the period before
    grids: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int:
        """Reports at the place in the period."""
        return len(self.ids)


def _near(a: ReportPoint, b: ReportPoint) -> bool:
    return haversine_m(a.lon, a.lat, b.lon, b.lat) <= HOT_RADIUS_M


def _root(parent: dict[int, int], i: int) -> int:
    """The representative of `i`'s group (union-find with path halving)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def repeated(points: Iterable[ReportPoint]) -> list[list[ReportPoint]]:
    """The rule: groups of reports of one category where each report has, within HOT_DAYS
    days before it and HOT_RADIUS_M of it, at least HOT_COUNT − 1 others of the category
    (so it is the third report there or later); each such report and those others join one
    group, and groups that share a report merge. Void work orders are not reports."""
    by_cat: dict[str, list[ReportPoint]] = {}
    for pt in points:
        if pt.state not in VOID_STATES:
            by_cat.setdefault(pt.category, []).append(pt)
    groups: list[list[ReportPoint]] = []
    span = timedelta(days=HOT_DAYS)
    for rows in by_cat.values():
        rows.sort(key=lambda r: (r.created_at, r.id))
        parent = {r.id: r.id for r in rows}
        hot: set[int] = set()
        # Buckets a little over 100 m square: only the 9 around a report can hold one near
        # it (a year of the demo town is ~25,000 reports: all pairs took seconds).
        lat_step = HOT_RADIUS_M / 111_000
        lon_step = lat_step / max(0.1, math.cos(math.radians(max(abs(r.lat) for r in rows))))
        buckets: dict[tuple[int, int], deque[ReportPoint]] = {}
        for r in rows:
            bx, by = math.floor(r.lon / lon_step), math.floor(r.lat / lat_step)
            oldest = as_utc(r.created_at) - span
            near = []
            for key in ((bx + i, by + j) for i in (-1, 0, 1) for j in (-1, 0, 1)):
                bucket = buckets.get(key)
                if not bucket:
                    continue
                while bucket and as_utc(bucket[0].created_at) < oldest:
                    bucket.popleft()
                near += [q for q in bucket if _near(q, r)]
            if len(near) >= HOT_COUNT - 1:
                hot.update([r.id, *(q.id for q in near)])
                for q in near:
                    parent[_root(parent, q.id)] = _root(parent, r.id)
            buckets.setdefault((bx, by), deque()).append(r)
        found: dict[int, list[ReportPoint]] = {}
        for r in rows:
            if r.id in hot:
                found.setdefault(_root(parent, r.id), []).append(r)
        groups += list(found.values())
    return groups


def hot_spots(points: Iterable[ReportPoint], p: Period,
              before: Iterable[ReportPoint] = ()) -> list[HotSpot]:
    """Hot spots with a report in the period (the 30 days before it count towards the
    third report), most reports first; `before` holds the previous period's points (with
    its own 30 days) to say whether a place recurs."""
    rows = list(points)
    earlier = _spots(list(before), None)
    out = []
    for h in _spots(rows, p):
        again = any(e.category == h.category and haversine_m(e.lon, e.lat, h.lon, h.lat)
                    <= HOT_RADIUS_M for e in earlier)
        out.append(HotSpot(h.category, h.grid, h.lon, h.lat, h.ids, h.first, h.last, again,
                           h.grids))
    return sorted(out, key=lambda h: (-h.count, h.category, h.first))


def _spots(rows: list[ReportPoint], p: Period | None) -> list[HotSpot]:
    out = []
    for g in repeated(rows):
        inside = [r for r in g if p is None or p.start <= as_utc(r.created_at) < p.end]
        if not inside:
            continue
        grids = Counter(r.grid for r in g if r.grid)
        out.append(HotSpot(
            category=g[0].category, grid=grids.most_common(1)[0][0] if grids else None,
            lon=round(sum(r.lon for r in g) / len(g), 6),
            lat=round(sum(r.lat for r in g) / len(g), 6),
            ids=tuple(r.id for r in g), first=min(r.created_at for r in g),
            last=max(r.created_at for r in g), grids=tuple(sorted(grids))))
    return out


def recurring(points: Iterable[ReportPoint], p: Period,
              min_weeks: int = 3) -> list[dict[str, object]]:
    """Recurring problems: a (grid, category) reported in at least `min_weeks` different
    local weeks of the period, most weeks first (a problem that keeps coming back, even
    when not at one spot)."""
    seen: dict[tuple[str, str], set[date]] = {}
    count: Counter[tuple[str, str]] = Counter()
    for r in points:
        at = as_utc(r.created_at)
        if r.state in VOID_STATES or not r.grid or not p.start <= at < p.end:
            continue
        day = at.astimezone(LOCAL_TZ).date()
        seen.setdefault((r.grid, r.category), set()).add(day - timedelta(days=day.weekday()))
        count[(r.grid, r.category)] += 1
    rows = [{"grid": g, "category": c, "weeks": len(w), "reports": count[(g, c)]}
            for (g, c), w in seen.items() if len(w) >= min_weeks]
    return sorted(rows, key=lambda r: (-int(str(r["weeks"])), -int(str(r["reports"])),
                                       str(r["grid"]), str(r["category"])))


# ------------------------------------------------------------------ evaluation changes
def grade_change(now: str, before: str | None) -> str:
    """'up', 'down' or 'same' between two grades (A best); 'new' without an earlier one."""
    if before is None or before not in GRADES or now not in GRADES:
        return "new"
    d = GRADES.index(before) - GRADES.index(now)
    return "up" if d > 0 else "down" if d < 0 else "same"


def grade_changes(cur: Evaluation, prev: Evaluation) -> dict[str, dict[str, object]]:
    """Per unit (and '*' for the town): the previous period's grade and score and the
    direction of change (evaluation.py grades both; nothing is re-scored here)."""
    before = {r.unit: r for r in prev.rows}
    before["*"] = prev.town
    out: dict[str, dict[str, object]] = {}
    for r in [*cur.rows, cur.town]:
        b = before.get(r.unit)
        out[r.unit] = {"prev_grade": b.grade if b else None,
                       "prev_score": b.score if b else None,
                       "change": grade_change(r.grade, b.grade if b else None)}
    return out


def change_pct(now: float | None, before: float | None) -> float | None:
    """Change in percent from `before` to `now` (None when before is 0 or missing)."""
    if now is None or not before:
        return None
    return round(100.0 * (now - before) / before, 1)
