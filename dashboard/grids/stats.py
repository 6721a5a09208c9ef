"""Grid measures (网格热力): per-grid figures at each level, windows, and colour classes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.incidents.lifecycle import DONE_STATES, OPEN_STATES
from dashboard.timeutil import as_utc, local_day_start
from dashboard.town import GridCell

WINDOWS = ("hour", "today", "7d", "30d")
MEASURES = ("received", "open", "overdue", "close_rate", "avg_hours", "satisfaction")
# Measures where a bigger number is good news: their colour ramp runs the other way.
HIGHER_IS_BETTER = frozenset({"close_rate", "satisfaction"})
# Dark blue (quiet) to red (hot); one colour per class.
RAMP = ("#16324f", "#1f5f8b", "#e0a526", "#f0642a", "#d7263d")
NO_DATA = "#24324a"


class StatsError(ValueError):
    """An unknown window, measure or level asked of the grid measures."""


@dataclass(frozen=True)
class IncidentFact:
    """The few facts of one work order the grid measures need."""

    grid: str | None
    state: str
    created_at: datetime
    closed_at: datetime | None = None
    deadline_at: datetime | None = None
    satisfaction: int | None = None


def window_start(window: str, now: datetime) -> datetime:
    """First instant (UTC) of a window: last hour, today (Asia/Shanghai), 7 or 30 days."""
    now = as_utc(now)
    if window == "hour":
        return now - timedelta(hours=1)
    if window == "today":
        return local_day_start(now)
    if window == "7d":
        return now - timedelta(days=7)
    if window == "30d":
        return now - timedelta(days=30)
    raise StatsError(f"unknown window {window!r}; one of {', '.join(WINDOWS)}")


def ancestors(cells: Iterable[GridCell]) -> dict[str, dict[int, str]]:
    """For every grid code: the code of itself and each parent, by level."""
    by_code = {c.code: c for c in cells}
    out: dict[str, dict[int, str]] = {}
    for code, cell in by_code.items():
        chain: dict[int, str] = {}
        cur: GridCell | None = cell
        while cur is not None and cur.level not in chain:
            chain[cur.level] = cur.code
            cur = by_code.get(cur.parent or "")
        out[code] = chain
    return out


def _empty() -> dict[str, Any]:
    return {"received": 0, "open": 0, "overdue": 0, "closed": 0, "_hours": 0.0,
            "_spans": 0, "_sat": 0, "_rated": 0}


def grid_measures(facts: Iterable[IncidentFact], cells: Iterable[GridCell], level: int,
                  now: datetime, parent: str | None = None) -> dict[str, dict[str, Any]]:
    """Every measure for each grid of `level` (children of `parent` only, when given).

    `facts` are the work orders received in the window; open and overdue count those
    of them still open now. Grids with nothing get zeros, so the map shows them too.
    """
    if level not in (1, 2, 3):
        raise StatsError(f"grid level must be 1, 2 or 3, not {level!r}")
    cells = list(cells)
    chain = ancestors(cells)
    shown = [c.code for c in cells if c.level == level and (parent is None or c.parent == parent)]
    acc = {code: _empty() for code in shown}
    now = as_utc(now)
    for f in facts:
        code = chain.get(f.grid or "", {}).get(level)
        if code not in acc:
            continue
        a = acc[code]
        a["received"] += 1
        if f.state in OPEN_STATES:
            a["open"] += 1
            if f.deadline_at is not None and as_utc(f.deadline_at) < now:
                a["overdue"] += 1
        elif f.state in DONE_STATES:
            a["closed"] += 1
            if f.closed_at is not None:
                a["_hours"] += (as_utc(f.closed_at) - as_utc(f.created_at)).total_seconds() / 3600
                a["_spans"] += 1
        if f.satisfaction is not None:
            a["_sat"] += f.satisfaction
            a["_rated"] += 1
    return {code: _finish(a) for code, a in acc.items()}


def _finish(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "received": a["received"], "open": a["open"], "overdue": a["overdue"],
        "closed": a["closed"],
        "close_rate": round(100.0 * a["closed"] / a["received"], 1) if a["received"] else None,
        "avg_hours": round(a["_hours"] / a["_spans"], 2) if a["_spans"] else None,
        "satisfaction": round(a["_sat"] / a["_rated"], 2) if a["_rated"] else None,
    }


COUNT_MEASURES = frozenset({"received", "open", "overdue"})


def class_breaks(values: Iterable[float | None], classes: int = len(RAMP),
                 integer: bool = False) -> list[float]:
    """Upper bounds of the colour classes over the values present (at least one class).

    Counts get whole-number classes (one per value when the range is small), so a legend
    never reads "0 – 0"; other measures get equal-width classes.
    """
    present = [float(v) for v in values if v is not None]
    if not present:
        return []
    lo, hi = min(present), max(present)
    if hi == lo:
        return [hi]
    if integer:
        span = int(hi - lo) + 1
        whole = max(1, math.ceil(span / classes))
        return sorted({min(lo + whole * (i + 1) - 1, hi) for i in range(classes)})
    step = (hi - lo) / classes
    return [round(lo + step * (i + 1), 2) for i in range(classes)]


def colour_for(value: float | None, breaks: list[float], measure: str) -> str:
    """The fill colour of one grid's value for `measure` under `breaks`."""
    if value is None or not breaks:
        return NO_DATA
    ramp = RAMP[::-1] if measure in HIGHER_IS_BETTER else RAMP
    if len(breaks) == 1:
        return ramp[-1] if value > 0 or measure in HIGHER_IS_BETTER else ramp[0]
    index = next((i for i, upper in enumerate(breaks) if value <= upper), len(breaks) - 1)
    # Fewer classes than colours: spread them over the whole ramp, ends included.
    return ramp[round(index * (len(ramp) - 1) / (len(breaks) - 1))]


def choropleth(figures: Mapping[str, Mapping[str, Any]], measure: str) -> dict[str, Any]:
    """Colours by grid code and the legend (ranges with colours and how many grids in each)."""
    if measure not in MEASURES:
        raise StatsError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    integer = measure in COUNT_MEASURES
    values = {code: f.get(measure) for code, f in figures.items()}
    breaks = class_breaks(values.values(), integer=integer)
    colours = {code: colour_for(v, breaks, measure) for code, v in values.items()}
    legend: list[dict[str, Any]] = []
    lower = min((v for v in values.values() if v is not None), default=None)
    for upper in breaks:
        colour = colour_for(upper, breaks, measure)
        count = sum(1 for c in colours.values() if c == colour)
        legend.append({"from": lower, "to": upper, "colour": colour, "grids": count})
        lower = upper + 1 if integer else upper
    missing = sum(1 for v in values.values() if v is None)
    if missing:
        legend.append({"from": None, "to": None, "colour": NO_DATA, "grids": missing})
    return {"colours": colours, "legend": legend, "values": values}


def open_by_level(open_grids: Iterable[str | None], chain: Mapping[str, Mapping[int, str]],
                  level: int) -> dict[str, int]:
    """How many open work orders each grid of `level` holds (the wall's heat)."""
    out: dict[str, int] = {}
    for grid in open_grids:
        code = chain.get(grid or "", {}).get(level)
        if code:
            out[code] = out.get(code, 0) + 1
    return out
