"""Leaders' view rules: the windows compared, changes, figures as cards, rankings.

The figures themselves are dashboard/incidents/kpis.py's; this module only arranges them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dashboard.grids.views import measure_text
from dashboard.i18n.text import category_label, t
from dashboard.incidents import kpis
from dashboard.incidents.evaluation import SUGGESTION_SHARE, suggestion_share
from dashboard.incidents.kpis import TIER_SHARES, Figures, TierShare, Window, WorkOrderFact

TREND_DAYS = 30


@dataclass(frozen=True)
class Overview:
    """Everything the leaders' view shows from the record, read at one instant."""

    today: Figures
    yesterday: Figures
    month: Figures
    prev_month: Figures
    days: list[date]
    daily: dict[str, list[int]]
    categories: list[tuple[str, int]]
    grids: dict[str, Figures]
    # Issue 14: this month's tier shares per category ("*": all) and last month's.
    tiers: dict[str, TierShare] = field(default_factory=dict)
    tiers_prev: TierShare | None = None
    # Issue 18: (accepted, decided) suggestions this month and last (建议采纳率).
    suggestions: tuple[int, int] = (0, 0)
    suggestions_prev: tuple[int, int] = (0, 0)


def windows(now: datetime) -> dict[str, Window]:
    """The windows of the view: today and this month, each with its comparison, and the
    30 days behind the trend and the grid ranking."""
    return {"today": kpis.window("today", now), "yesterday": kpis.previous("today", now),
            "month": kpis.window("month", now), "prev_month": kpis.previous("month", now),
            "30d": kpis.window("30d", now)}


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


def kpi_cards(cur: Figures, prev: Figures, scope: str, lang: str) -> list[dict[str, Any]]:
    """One card per figure: label, value (text and raw), change against the previous
    period, tone."""
    cards = []
    for key in CARD_KEYS:
        now_v, then_v = cur.value(key), prev.value(key)
        ch = change(now_v, then_v, points=key == "close_rate")
        bad = (ch["dir"] == "up") == (key in RISE_IS_BAD) and ch["dir"] != "flat"
        cards.append({"key": f"{scope}-{key}", "kpi": key, "window": scope,
                      "label": t(f"ld_{key}", lang), "raw": kpis.data_value(now_v),
                      "value": measure_text(key, now_v, lang), "change": ch["text"],
                      "dir": ch["dir"], "tone": "bad" if bad else "good"
                      if ch["dir"] != "flat" else ""})
    return cards


def category_mix(facts: Iterable[WorkOrderFact], w: Window) -> list[tuple[str, int]]:
    """Work orders received in the window by category, largest first."""
    return Counter(f.category or "" for f in facts
                   if w.start <= f.created_at < w.end).most_common()


def tier_rows(tiers: dict[str, TierShare], prev: TierShare | None,
              lang: str) -> list[dict[str, Any]]:
    """The tier shares as rows (小事不出格率 …): this month over all categories, last month,
    then each category's; values as text ("—" when nothing was resolved)."""
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}%"

    overall = tiers.get("*")
    rows: list[dict[str, Any]] = [{"key": key, "label": zh if lang != "en" else en,
             "value": pct(getattr(overall, key) if overall else None),
             "prev": pct(getattr(prev, key) if prev else None)}
            for key, (zh, en, _) in TIER_SHARES.items()]
    for cat, share in sorted(tiers.items()):
        if cat == "*":
            continue
        rows.append({"key": cat, "label": category_label(cat, lang), "resolved": share.resolved,
                     **{k: pct(getattr(share, k)) for k in TIER_SHARES}})
    return rows


def suggestion_row(cur: tuple[int, int], prev: tuple[int, int],
                   lang: str) -> dict[str, Any]:
    """建议采纳率 as one figure: this month's share (accepted of decided), last month's."""
    def pct(pair: tuple[int, int]) -> str:
        v = suggestion_share(*pair)
        return "—" if v is None else f"{v * 100:.1f}%"

    zh, en = SUGGESTION_SHARE
    return {"key": "suggest_share", "label": en if lang == "en" else zh, "value": pct(cur),
            "prev": pct(prev), "count": f"{cur[0]}/{cur[1]}"}
