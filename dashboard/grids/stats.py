"""Grid measures (网格热力): the KPIs per grid at each level, and colour classes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from dashboard.geo.versions import chain_of
from dashboard.incidents import kpis
from dashboard.incidents.kpis import Figures, Window, WorkOrderFact
from dashboard.town import GridCell

# The windows and measures the grid page offers (each defined in dashboard/incidents/kpis).
WINDOWS = ("hour", "today", "7d", "30d")
MEASURES = ("received", "open", "overdue", "close_rate", "avg_hours", "satisfaction",
            *kpis.TIER_SHARES)
# Measures where a bigger number is good news: their colour ramp runs the other way.
HIGHER_IS_BETTER = frozenset({"close_rate", "satisfaction", *kpis.TIER_SHARES})
# Dark blue (quiet) to red (hot); one colour per class.
RAMP = ("#16324f", "#1f5f8b", "#e0a526", "#f0642a", "#d7263d")
NO_DATA = "#24324a"


class StatsError(ValueError):
    """An unknown window, measure or level asked of the grid measures."""


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


def grid_measures(facts: Iterable[WorkOrderFact], cells: Iterable[GridCell], level: int,
                  w: Window, parent: str | None = None,
                  versioned: Mapping[tuple[str, int], dict[int, str]] | None = None
                  ) -> dict[str, Figures]:
    """The window's figures (dashboard/incidents/kpis.py) for each grid of `level`
    (children of `parent` only, when given). Grids with nothing get zeros, so the map
    shows them too. With `versioned` (dashboard/geo/versions.chains) a work order counts
    in the grids of its time: its own grid and that version's parents, so a past month's
    figures stay as they were after a redraw."""
    if level not in (1, 2, 3):
        raise StatsError(f"grid level must be 1, 2 or 3, not {level!r}")
    cells = list(cells)
    chain = ancestors(cells)
    shown = [c.code for c in cells if c.level == level and (parent is None or c.parent == parent)]
    groups: dict[str, list[WorkOrderFact]] = {code: [] for code in shown}
    for f in facts:
        mine = chain_of(f.grid, f.grid_version, versioned or {}, chain)
        code = mine.get(level)
        if code in groups:
            groups[code].append(f)
    return {code: kpis.figures(rows, w) for code, rows in groups.items()}


def grid_totals(facts: Iterable[WorkOrderFact], cells: Iterable[GridCell], w: Window,
                parent: str | None = None,
                versioned: Mapping[tuple[str, int], dict[int, str]] | None = None) -> Figures:
    """The window's figures of the grids in view: the whole town at level 1 (the sum of its
    level-1 grids), else everything under `parent`."""
    rows = list(facts)
    if parent is not None:
        chain = ancestors(cells)
        rows = [f for f in rows
                if parent in chain_of(f.grid, f.grid_version, versioned or {}, chain).values()]
    return kpis.figures(rows, w)


def values_of(figures: Mapping[str, Figures], measure: str) -> dict[str, float | None]:
    """One measure per grid, for the choropleth."""
    if measure not in MEASURES:
        raise StatsError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    return {code: f.value(measure) for code, f in figures.items()}


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


def choropleth(values: Mapping[str, float | None], measure: str) -> dict[str, Any]:
    """Colours by grid code and the legend (ranges with colours and how many grids in each)
    for one measure's values per grid."""
    if measure not in MEASURES:
        raise StatsError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    integer = measure in COUNT_MEASURES
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
