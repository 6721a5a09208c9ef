"""综合评价: the standard's indicators (GB/T 30428; evaluation after CJ/T 292), the scores
and the grades of grids, villages and workers. Pure: the facts are read by one query
(datasources/sql/evaluation.py); docs/evaluation.md gives every formula (a test fails when
an indicator is missing there).

The set: the work orders reported in a period, as they stand at `at` (when the evaluation
is run). 作废 work orders are in no count; 缓办 ones are out of every denominator below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from dashboard.incidents.deadlines import STAGES, StageTimes, stage_on_time
from dashboard.incidents.lifecycle import DONE_STATES, HELD_STATES, VOID_STATES
from dashboard.timeutil import LOCAL_TZ, as_utc


class EvaluationError(ValueError):
    """A period, kind or weights table that cannot be read."""


@dataclass(frozen=True)
class CaseFact:
    """One work order as the evaluation sees it (its row and its history, folded)."""

    id: int
    state: str
    priority: str
    created_at: datetime
    deadline_at: datetime | None = None
    category: str | None = None
    grid: str | None = None
    village: str | None = None
    assignee: str | None = None
    unit: str | None = None  # the receiving unit it ended with (units.id), issue 14
    satisfaction: int | None = None
    rework_count: int = 0
    extend_count: int = 0
    accepted_at: datetime | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    verified_at: datetime | None = None
    misdispatched: bool = False  # returned or reassigned after its first dispatch

    @property
    def times(self) -> StageTimes:
        """When it reached each stage, for the stage limits (deadlines.stage_on_time)."""
        return StageTimes(self.created_at, self.accepted_at, self.dispatched_at,
                          self.resolved_at, self.verified_at, self.deadline_at)


# Which step of the history marks which stage: the first 立案 and the first 派遣, the last
# 办结 (a 返工 undoes the one before) and a 核查 after it. 退回 or 改派 after the first
# dispatch makes the dispatch inaccurate (准确派遣率).
def fold_history(steps: Iterable[tuple[str | None, datetime]]) -> dict[str, Any]:
    """The stage times and the misdispatch mark from a work order's history (action, at),
    oldest first."""
    out: dict[str, Any] = {"accepted_at": None, "dispatched_at": None, "resolved_at": None,
                           "verified_at": None, "misdispatched": False}
    for action, at in steps:
        if action == "accept" and out["accepted_at"] is None:
            out["accepted_at"] = at
        elif action == "dispatch" and out["dispatched_at"] is None:
            out["dispatched_at"] = at
        elif action in ("return", "reassign") and out["dispatched_at"] is not None:
            out["misdispatched"] = True
        elif action == "resolve":
            out["resolved_at"], out["verified_at"] = at, None
        elif action == "rework":
            out["resolved_at"], out["verified_at"] = None, None
        elif action == "verify":
            out["verified_at"] = at
    return out


def stage_marks(f: CaseFact, at: datetime,
                stage_table: dict[str, Any] | None = None) -> dict[str, bool | None]:
    """Each stage of the standard (立案, 派遣, 处置, 核查): on time (True), late or overdue
    (False), or not known yet (None), as at `at`."""
    return {stage: stage_on_time(stage, f.times, f.priority, at, stage_table)
            for stage in STAGES}


# ------------------------------------------------------------------ indicators
@dataclass(frozen=True)
class Indicators:
    """The counts and the indicators of one set of work orders (docs/evaluation.md)."""

    cases: int             # 立案数: reported in the period, not void
    suspended: int         # 缓办数
    due: int               # 应结案数 = cases − suspended
    closed: int            # 结案数
    closed_on_time: int    # 按期结案数
    to_handle: int         # 应处置数: due and dispatched
    handled: int           # 处置数
    handled_on_time: int   # 按期处置数
    overdue_open: int      # 超期待处置数
    reworked: int          # 返工数 (work orders reworked at least once)
    reworks: int           # 返工次数
    extended: int          # 延期数 (work orders with an approved extension)
    dispatched_on_time: int
    misdispatched: int
    scored: int
    close_rate: float | None
    on_time_close_rate: float | None
    handle_rate: float | None
    on_time_handle_rate: float | None
    rework_rate: float | None
    extend_rate: float | None
    overdue_open_rate: float | None
    on_time_dispatch_rate: float | None
    accurate_dispatch_rate: float | None
    satisfaction: float | None
    satisfied_rate: float | None
    avg_accept_min: float | None
    avg_dispatch_min: float | None
    avg_handle_h: float | None
    avg_verify_h: float | None
    overdue_multiple: float | None


# The indicators that are shares (0–1): what a weights table may name.
RATES: tuple[str, ...] = (
    "close_rate", "on_time_close_rate", "handle_rate", "on_time_handle_rate", "rework_rate",
    "extend_rate", "overdue_open_rate", "on_time_dispatch_rate", "accurate_dispatch_rate",
    "satisfied_rate")
INDICATORS: tuple[str, ...] = RATES + (
    "satisfaction", "avg_accept_min", "avg_dispatch_min", "avg_handle_h", "avg_verify_h",
    "overdue_multiple")
LABELS: dict[str, tuple[str, str]] = {
    "cases": ("立案数", "Cases"),
    "close_rate": ("结案率", "Close rate"),
    "on_time_close_rate": ("按期结案率", "On-time close rate"),
    "handle_rate": ("处置率", "Handling rate"),
    "on_time_handle_rate": ("按期处置率", "On-time handling rate"),
    "rework_rate": ("返工率", "Rework rate"),
    "extend_rate": ("延期率", "Extension rate"),
    "overdue_open_rate": ("超期待处置率", "Overdue unhandled rate"),
    "on_time_dispatch_rate": ("按时派遣率", "On-time dispatch rate"),
    "accurate_dispatch_rate": ("准确派遣率", "Accurate dispatch rate"),
    "satisfaction": ("满意度", "Satisfaction"),
    "satisfied_rate": ("满意率", "Satisfied rate"),
    "avg_accept_min": ("平均立案用时(分)", "Avg to accept (min)"),
    "avg_dispatch_min": ("平均派遣用时(分)", "Avg to dispatch (min)"),
    "avg_handle_h": ("平均处置用时(时)", "Avg handling (h)"),
    "avg_verify_h": ("平均核查用时(时)", "Avg to verify (h)"),
    "overdue_multiple": ("超期处置倍数", "Overdue multiple"),
    "score": ("综合得分", "Score"),
    "grade": ("等级", "Grade"),
}


def _share(n: int, d: int) -> float | None:
    return n / d if d else None


# 智能派单 (issue 18): of the work orders dispatched with a suggestion, the share sent to
# the suggested unit. A suggestion changed at dispatch is the officer's correction; a
# dispatch later undone (退回, 改派) still counts against 准确派遣率 above, whoever chose.
SUGGESTION_SHARE = ("建议采纳率", "Suggestions accepted")


def suggestion_share(accepted: int, decided: int) -> float | None:
    """Suggestions accepted / suggestions decided at dispatch (None with none decided)."""
    return _share(accepted, decided)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _span(a: datetime | None, b: datetime | None, unit: float) -> float | None:
    if a is None or b is None:
        return None
    return (as_utc(b) - as_utc(a)).total_seconds() / unit


def _on_time(f: CaseFact) -> bool:
    """Handled (办结) by the resolution deadline as it stands (moved by 延期 and 缓办)."""
    return f.resolved_at is not None and (
        f.deadline_at is None or as_utc(f.resolved_at) <= as_utc(f.deadline_at))


def indicators(facts: Iterable[CaseFact], at: datetime,
               stage_table: dict[str, Any] | None = None) -> Indicators:
    """Every indicator over `facts` as they stand at `at` (docs/evaluation.md)."""
    at = as_utc(at)
    cases = [f for f in facts if f.state not in VOID_STATES]
    due = [f for f in cases if f.state not in HELD_STATES]
    closed = [f for f in due if f.state == "closed"]
    to_handle = [f for f in due if f.dispatched_at is not None]
    handled = [f for f in to_handle if f.state in DONE_STATES]
    overdue_open = [f for f in to_handle if f.state not in DONE_STATES
                    and f.deadline_at is not None and as_utc(f.deadline_at) < at]
    dispatched_on_time = [f for f in to_handle if stage_on_time(
        "dispatch", f.times, f.priority, at, stage_table)]
    scored = [f.satisfaction for f in due if f.satisfaction is not None]
    late = [f for f in handled if not _on_time(f)] + overdue_open
    multiples = []
    for f in late:
        if f.deadline_at is None:
            continue
        allowed = _span(f.created_at, f.deadline_at, 3600)
        taken = _span(f.created_at, f.resolved_at if f.state in DONE_STATES else at, 3600)
        if allowed and taken is not None:
            multiples.append(taken / allowed)
    return Indicators(
        cases=len(cases), suspended=len(cases) - len(due), due=len(due), closed=len(closed),
        closed_on_time=sum(1 for f in closed if _on_time(f)),
        to_handle=len(to_handle), handled=len(handled),
        handled_on_time=sum(1 for f in handled if _on_time(f)),
        overdue_open=len(overdue_open),
        reworked=sum(1 for f in due if f.rework_count > 0),
        reworks=sum(f.rework_count for f in due),
        extended=sum(1 for f in to_handle if f.extend_count > 0),
        dispatched_on_time=len(dispatched_on_time),
        misdispatched=sum(1 for f in to_handle if f.misdispatched),
        scored=len(scored),
        close_rate=_share(len(closed), len(due)),
        on_time_close_rate=_share(sum(1 for f in closed if _on_time(f)), len(due)),
        handle_rate=_share(len(handled), len(to_handle)),
        on_time_handle_rate=_share(sum(1 for f in handled if _on_time(f)), len(to_handle)),
        rework_rate=_share(sum(1 for f in due if f.rework_count > 0), len(due)),
        extend_rate=_share(sum(1 for f in to_handle if f.extend_count > 0), len(to_handle)),
        overdue_open_rate=_share(len(overdue_open), len(to_handle)),
        on_time_dispatch_rate=_share(len(dispatched_on_time), len(to_handle)),
        accurate_dispatch_rate=(1 - sum(1 for f in to_handle if f.misdispatched)
                                / len(to_handle)) if to_handle else None,
        satisfaction=_mean([float(s) for s in scored]),
        satisfied_rate=_share(sum(1 for s in scored if s >= 4), len(scored)),
        avg_accept_min=_mean([x for f in due if (x := _span(f.created_at, f.accepted_at, 60))
                              is not None]),
        avg_dispatch_min=_mean([x for f in due
                                if (x := _span(f.accepted_at, f.dispatched_at, 60)) is not None]),
        avg_handle_h=_mean([x for f in handled
                            if (x := _span(f.dispatched_at, f.resolved_at, 3600)) is not None]),
        avg_verify_h=_mean([x for f in due
                            if (x := _span(f.resolved_at, f.verified_at, 3600)) is not None]),
        overdue_multiple=_mean(multiples),
    )


# ------------------------------------------------------------------ scores and grades
# A weights table: per kind of unit, indicator → weight; "1-<rate>" weighs (1 − rate).
# The default is the published department formula for every kind; a town overrides any
# kind with a JSON file of the same shape (zhongnao evaluate --weights FILE).
DEPARTMENT: dict[str, float] = {
    "handle_rate": 30, "on_time_handle_rate": 20, "1-rework_rate": 20,
    "1-overdue_open_rate": 20, "1-extend_rate": 10}
# "unit": the receiving units (town offices, county departments, village offices) the
# work orders ended with (issue 14).
KINDS: tuple[str, ...] = ("grid", "village", "worker", "unit")
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {kind: dict(DEPARTMENT) for kind in KINDS}
GRADES: tuple[tuple[float, str], ...] = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "E"))


def merge_weights(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """The default weights with a town's table (parsed JSON) in place of the kinds it
    names; EvaluationError for an unknown kind or indicator, or a weight that is not a
    number ≥ 0, or a kind whose weights add up to nothing."""
    table = {k: dict(v) for k, v in DEFAULT_WEIGHTS.items()}
    if overrides is None:
        return table
    if not isinstance(overrides, Mapping):
        raise EvaluationError("weights: a JSON object of kinds (grid, village, worker, unit)")
    for kind, row in overrides.items():
        if kind not in KINDS:
            raise EvaluationError(f"weights: unknown kind {kind!r}; one of {', '.join(KINDS)}")
        if not isinstance(row, Mapping) or not row:
            raise EvaluationError(f"weights.{kind}: an object of indicator: weight")
        for term, weight in row.items():
            if str(term).removeprefix("1-") not in RATES:
                raise EvaluationError(f"weights.{kind}: unknown indicator {term!r}; "
                                      f"one of {', '.join(RATES)} (or 1-<rate>)")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise EvaluationError(f"weights.{kind}.{term}: a number ≥ 0")
        if not sum(row.values()):
            raise EvaluationError(f"weights.{kind}: the weights add up to 0")
        table[kind] = {str(k): float(v) for k, v in row.items()}
    return table


def score(ind: Indicators, weights: Mapping[str, float]) -> float | None:
    """Σ weight × indicator (or 1 − indicator) over the indicators that have a value,
    scaled to 100 by the weights used; None when none has one."""
    total = used = 0.0
    for term, weight in weights.items():
        name = term.removeprefix("1-")
        value = getattr(ind, name)
        if value is None:
            continue
        total += weight * ((1 - value) if term.startswith("1-") else value)
        used += weight
    return round(100 * total / used, 1) if used else None


def grade(points: float | None) -> str:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; '—' without a score."""
    if points is None:
        return "—"
    return next(g for floor, g in GRADES if points >= floor)


@dataclass(frozen=True)
class Row:
    """One unit's line of the evaluation table."""

    unit: str
    indicators: Indicators
    score: float | None
    grade: str
    rank: int = 0


@dataclass(frozen=True)
class Evaluation:
    """The table: one row per unit of the kind, best first, and the whole town's line."""

    kind: str
    start: datetime
    end: datetime
    at: datetime
    rows: list[Row]
    town: Row
    weights: dict[str, float] = field(default_factory=dict)


def unit_of(f: CaseFact, kind: str) -> str | None:
    """The unit a work order counts for: its grid, its village, or its assignee."""
    return {"grid": f.grid, "village": f.village, "worker": f.assignee, "unit": f.unit}[kind]


def evaluate(facts: Iterable[CaseFact], kind: str, start: datetime, end: datetime,
             at: datetime, weights: Mapping[str, Mapping[str, float]] | None = None,
             stage_table: dict[str, Any] | None = None) -> Evaluation:
    """The evaluation of the units of `kind` over the work orders reported in [start,
    end), as they stand at `at`; ranked by score (ties: by unit)."""
    if kind not in KINDS:
        raise EvaluationError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    w = dict((weights or DEFAULT_WEIGHTS)[kind])
    rows_in = [f for f in facts if as_utc(start) <= as_utc(f.created_at) < as_utc(end)]
    groups: dict[str, list[CaseFact]] = {}
    for f in rows_in:
        unit = unit_of(f, kind)
        if unit:
            groups.setdefault(unit, []).append(f)
    rows = []
    for unit, group in groups.items():
        ind = indicators(group, at, stage_table)
        points = score(ind, w)
        rows.append(Row(unit, ind, points, grade(points)))
    rows.sort(key=lambda r: (-(r.score if r.score is not None else -1), r.unit))
    ranked = [Row(r.unit, r.indicators, r.score, r.grade, rank=i + 1)
              for i, r in enumerate(rows)]
    town_ind = indicators(rows_in, at, stage_table)
    town_points = score(town_ind, w)
    return Evaluation(kind, as_utc(start), as_utc(end), as_utc(at), ranked,
                      Row("*", town_ind, town_points, grade(town_points)), w)


# ------------------------------------------------------------------ periods
def quarter(text: str) -> tuple[datetime, datetime]:
    """'2026Q4' → its first local day 00:00 and the next quarter's, in UTC."""
    t = text.strip().upper()
    if len(t) != 6 or t[4] != "Q" or not t[:4].isdigit() or t[5] not in "1234":
        raise EvaluationError(f"quarter {text!r}: write it as 2026Q4")
    year, q = int(t[:4]), int(t[5])
    first = date(year, 3 * q - 2, 1)
    after = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return local_midnight(first), local_midnight(after)


def local_midnight(day: date) -> datetime:
    """00:00 of a local (Asia/Shanghai) day, in UTC."""
    return as_utc(datetime.combine(day, time(0), tzinfo=LOCAL_TZ))


def period(start: date | None, end: date | None, quarter_text: str | None,
           now: datetime) -> tuple[datetime, datetime]:
    """The period asked for: a quarter, or from and to (local days, `to` included); by
    default the last 30 days up to now."""
    if quarter_text:
        if start or end:
            raise EvaluationError("give either a quarter or from/to, not both")
        return quarter(quarter_text)
    hi = local_midnight(end + timedelta(days=1)) if end else as_utc(now)
    lo = local_midnight(start) if start else hi - timedelta(days=30)
    if lo >= hi:
        raise EvaluationError("the period is empty: from must come before to")
    return lo, hi
