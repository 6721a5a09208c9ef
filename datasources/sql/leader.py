"""SQL behind the leaders' view: one read of the work-order facts, then the pure rules."""

from __future__ import annotations

from datetime import datetime

from dashboard.grids.stats import grid_measures
from dashboard.incidents import kpis
from dashboard.screens import leader
from dashboard.screens.leader import Overview
from dashboard.timeutil import utcnow
from datasources.sql import suggestions
from datasources.sql.grids import GridStore
from datasources.sql.incidents import Store
from datasources.sql.kpis import read_facts


class LeaderStore:
    """Reads what a leader's tablet shows: one query per refresh, every window cut from it."""

    def __init__(self, store: Store, grids: GridStore):
        self.store = store
        self.grids = grids

    def overview(self, now: datetime | None = None, village: str | None = None) -> Overview:
        """Today and month figures with their previous periods, trends, rankings and tier
        shares; `village`: one village's (the village small brain's)."""
        now = now or utcnow()
        ws = leader.windows(now)
        days = kpis.last_days(now, leader.TREND_DAYS)
        trend = [kpis.day_window(d, now) for d in days]
        with self.store.session() as s:
            facts = read_facts(s, kpis.span([*ws.values(), *trend]), village=village)
        return Overview(
            today=kpis.figures(facts, ws["today"]),
            yesterday=kpis.figures(facts, ws["yesterday"]),
            month=kpis.figures(facts, ws["month"]),
            prev_month=kpis.figures(facts, ws["prev_month"]),
            days=days, daily=kpis.daily_series(facts, days, now),
            categories=leader.category_mix(facts, ws["month"]),
            grids=grid_measures(facts, self.grids.cells, 2, ws["30d"],
                                versioned=self.grids.versioned()),
            tiers=kpis.tier_shares(facts, ws["month"]),
            tiers_prev=kpis.tier_share(facts, ws["prev_month"]),
            suggestions=suggestions.decided(self.store, ws["month"].start, ws["month"].end),
            suggestions_prev=suggestions.decided(self.store, ws["prev_month"].start,
                                                 ws["prev_month"].end))
