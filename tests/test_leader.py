"""Leaders' view rules and the daily brief, on a real database and over HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents import kpis
from dashboard.messages import IncidentReport
from dashboard.screens.leader import change, kpi_cards, windows
from dashboard.timeutil import LOCAL_TZ
from datasources.sql.briefs import day_bounds

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 local


def test_the_view_compares_like_with_like():
    ws = windows(NOW)
    assert ws["yesterday"].end - ws["yesterday"].start == ws["today"].end - ws["today"].start
    assert ws["prev_month"].start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 Oct local
    assert ws["prev_month"].end - ws["prev_month"].start == ws["month"].end - ws["month"].start


def test_changes_read_as_a_leader_expects():
    assert change(12, 10) == {"text": "+20%", "dir": "up"}
    assert change(90.0, 95.5, points=True) == {"text": "-5.5pt", "dir": "down"}
    assert change(3, 0) == {"text": "+3", "dir": "up"}
    assert change(None, 4)["text"] == "—"
    cur = replace(kpis.EMPTY, overdue=5, received=8)
    prev = replace(kpis.EMPTY, overdue=2, received=4)
    cards = {c["key"]: c for c in kpi_cards(cur, prev, "today", "zh")}
    assert cards["today-overdue"]["tone"] == "bad" and cards["today-received"]["tone"] == "good"
    assert cards["today-received"]["label"] == "受理"
    assert (cards["today-received"]["kpi"], cards["today-received"]["raw"]) == ("received", "8")


def test_daily_brief_lists_overdue_with_why_and_is_kept_per_day(services):
    store, briefs = services.store, services.briefs
    # Mid-afternoon of the local day, so "3 hours ago" is the same day at any hour of the run
    # (in the first hours after midnight in Asia/Shanghai it would be yesterday's work order).
    local_day = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    now = datetime.combine(local_day, time(15, 0), LOCAL_TZ).astimezone(UTC)
    today = local_day.isoformat()
    rep = {"source": "hotline", "category": "environment", "lon": 104.45, "lat": 30.55}
    late = store.create_incident(IncidentReport(title="河道漂浮垃圾 A&B", priority="urgent",
                                                **rep), GridHit("G3-03", "V01"),
                                 now=now - timedelta(hours=3)).incident
    store.act(late.id, "urge", "值班员王", note="请尽快处置")
    html_page = briefs.generate(today, now)
    assert "值班日报" in html_page and "河道漂浮垃圾 A&amp;B" in html_page  # escaped
    assert "催办1次" in html_page and "紧急" in html_page
    assert [d["day"] for d in briefs.days()] == [today]
    assert briefs.days()[0]["figures"]["received"] >= 1
    # A past day is kept as generated the first time.
    yesterday = (now.astimezone(LOCAL_TZ).date() - timedelta(days=1)).isoformat()
    first = briefs.get(yesterday, now)
    assert briefs.get(yesterday, now + timedelta(hours=1)) == first
    with pytest.raises(ValueError):
        briefs.get("2026-13-01", now)
    with pytest.raises(ValueError, match="not happened"):
        briefs.get((now + timedelta(days=3)).astimezone(LOCAL_TZ).date().isoformat(), now)


def test_leader_overview_reads_rankings_and_mix(services):
    store = services.store
    now = datetime.now(UTC)
    rep = {"source": "hotline", "category": "water", "title": "停水", "lon": 104.45, "lat": 30.55}
    inc = store.create_incident(IncidentReport(**rep), GridHit("G3-03", "V01"), now=now).incident
    store.act(inc.id, "accept", "值班员王")
    store.act(inc.id, "dispatch", "值班员王", assignee="水务站")
    o = services.leader.overview(now + timedelta(seconds=1))
    assert o.today.received == 1 and o.categories == [("water", 1)]
    assert o.grids["G2-01"].received == 1
    assert sum(o.daily["received"]) == 1


def test_day_bounds_are_local_midnights():
    start, end = day_bounds("2026-11-25")
    assert start == datetime(2026, 11, 24, 16, 0, tzinfo=UTC) and end - start == timedelta(days=1)


def test_housekeeping_keeps_yesterdays_brief_once(services):
    import asyncio

    from datasources.flows.housekeeping import run_daily_tasks

    async def one_round() -> None:
        task = asyncio.create_task(run_daily_tasks(services, period_s=0.05))
        await asyncio.sleep(0.5)
        assert not task.done()
        task.cancel()

    asyncio.run(one_round())
    yesterday = (datetime.now(UTC).astimezone(LOCAL_TZ).date() - timedelta(days=1)).isoformat()
    assert [d["day"] for d in services.briefs.days()] == [yesterday]
    assert services.briefs.keep_yesterday() is False


def test_the_grid_ranking_writes_each_close_rate_on_its_bar(services):
    from pages._leader_parts import grid_figure

    figures = {"G2-01": replace(kpis.EMPTY, received=4, closed=3, close_rate=75.0),
               "G2-02": replace(kpis.EMPTY, received=2, closed=2, close_rate=100.0)}
    fig = grid_figure(figures, services.grids, "zh")
    bars = dict(zip(fig.data[0].y, fig.data[0].text, strict=True))
    names = {c: services.grids[c].name for c in figures}
    assert bars == {names["G2-01"]: "75.0%", names["G2-02"]: "100.0%"}
