"""Leaders' view rules: periods and their previous periods, changes, and figures as cards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.grids.stats import IncidentFact
from dashboard.grids.views import measure_text
from dashboard.i18n.text import t
from dashboard.incidents.lifecycle import DONE_STATES, OPEN_STATES
from dashboard.timeutil import LOCAL_TZ, as_utc, local_day_start, local_month_start


@dataclass(frozen=True)
class Period:
    """A span [start, end) and the same-length span just before it, for comparison."""

    start: datetime
    end: datetime
    prev_start: datetime
    prev_end: datetime


def today_period(now: datetime) -> Period:
    """Today so far against yesterday up to the same time of day."""
    start = local_day_start(now)
    return Period(start, as_utc(now), start - timedelta(days=1), as_utc(now) - timedelta(days=1))


def month_period(now: datetime) -> Period:
    """This month so far against the previous month over the same number of days."""
    start = local_month_start(now)
    prev_start = local_month_start(start - timedelta(days=1))
    elapsed = as_utc(now) - start
    return Period(start, as_utc(now), prev_start, min(prev_start + elapsed, start))


def figures(facts: Iterable[IncidentFact], now: datetime) -> dict[str, Any]:
    """Received, closed, close rate, overdue, average handling hours and satisfaction."""
    received = closed = overdue = rated = 0
    hours = 0.0
    spans = 0
    sat = 0
    for f in facts:
        received += 1
        if f.state in DONE_STATES:
            closed += 1
            if f.closed_at is not None:
                hours += (as_utc(f.closed_at) - as_utc(f.created_at)).total_seconds() / 3600
                spans += 1
        elif f.state in OPEN_STATES and f.deadline_at and as_utc(f.deadline_at) < as_utc(now):
            overdue += 1
        if f.satisfaction is not None:
            sat += f.satisfaction
            rated += 1
    return {"received": received, "closed": closed, "overdue": overdue,
            "close_rate": round(100.0 * closed / received, 1) if received else None,
            "avg_hours": round(hours / spans, 2) if spans else None,
            "satisfaction": round(sat / rated, 2) if rated else None}


def change(cur: float | None, prev: float | None, points: bool = False) -> dict[str, Any]:
    """The change against the previous period: text and direction ('up', 'down', 'flat')."""
    if cur is None or prev is None:
        return {"text": "—", "dir": "flat"}
    diff = cur - prev
    direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    if points:  # rates change in percentage points, not percent of percent
        return {"text": f"{diff:+.1f}pt", "dir": direction}
    if prev == 0:
        return {"text": f"{diff:+g}", "dir": direction}
    return {"text": f"{100.0 * diff / prev:+.0f}%", "dir": direction}


CARD_KEYS = ("received", "closed", "close_rate", "overdue", "avg_hours", "satisfaction")
# For these a rise is bad news (coloured red on the card).
RISE_IS_BAD = frozenset({"overdue", "avg_hours"})



def kpi_cards(cur: Mapping[str, Any], prev: Mapping[str, Any], scope: str,
              lang: str) -> list[dict[str, Any]]:
    """One card per figure: label, value, change against the previous period, tone."""
    cards = []
    for key in CARD_KEYS:
        ch = change(cur.get(key), prev.get(key), points=key == "close_rate")
        bad = (ch["dir"] == "up") == (key in RISE_IS_BAD) and ch["dir"] != "flat"
        cards.append({"key": f"{scope}-{key}", "label": t(f"ld_{key}", lang),
                      "value": measure_text(key, cur.get(key), lang), "change": ch["text"],
                      "dir": ch["dir"], "tone": "bad" if bad else "good"
                      if ch["dir"] != "flat" else ""})
    return cards


def daily_counts(facts: Iterable[IncidentFact], days: list[str]) -> dict[str, list[int]]:
    """Received and closed per local day (received by report day, closed by close day)."""
    index = {d: n for n, d in enumerate(days)}
    received = [0] * len(days)
    closed = [0] * len(days)
    for f in facts:
        d = as_utc(f.created_at).astimezone(LOCAL_TZ).date().isoformat()
        if d in index:
            received[index[d]] += 1
        if f.closed_at is not None:
            c = as_utc(f.closed_at).astimezone(LOCAL_TZ).date().isoformat()
            if c in index:
                closed[index[c]] += 1
    return {"received": received, "closed": closed}


def last_days(now: datetime, n: int) -> list[str]:
    """The last n local days, oldest first, ending today."""
    today = as_utc(now).astimezone(LOCAL_TZ).date()
    return [(today - timedelta(days=k)).isoformat() for k in range(n - 1, -1, -1)]
