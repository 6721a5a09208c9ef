"""Grid measures: pure rules, then the same figures read from a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.grids.stats import (
    NO_DATA,
    RAMP,
    StatsError,
    ancestors,
    choropleth,
    grid_measures,
    grid_totals,
    open_by_level,
    values_of,
)
from dashboard.incidents import kpis
from dashboard.incidents.kpis import WorkOrderFact
from dashboard.messages import IncidentReport
from dashboard.town import GridCell
from datasources.sql.grids import GridStore

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai


def _cell(code: str, level: int, parent: str | None) -> GridCell:
    return GridCell(code=code, level=level, parent=parent, name=code, name_en=code,
                    village=None, geometry={}, leader={}, workers=[], households=0)


CELLS = [_cell("A", 1, None), _cell("B", 1, None), _cell("A1", 2, "A"), _cell("A2", 2, "A"),
         _cell("B1", 2, "B"), _cell("A1a", 3, "A1"), _cell("A1b", 3, "A1"),
         _cell("A2a", 3, "A2"), _cell("B1a", 3, "B1")]


TODAY = kpis.window("today", NOW)


def _fact(grid: str, state: str = "reported", hours_ago: float = 1.0, **kw) -> WorkOrderFact:
    n = next(_ids)
    return WorkOrderFact(id=n, grid=grid, state=state,
                         created_at=NOW - timedelta(hours=hours_ago), **kw)


_ids = iter(range(1, 10_000))


def test_measures_roll_level3_facts_up_to_each_level():
    facts = [
        _fact("A1a"), _fact("A1a", deadline_at=NOW - timedelta(minutes=5)),
        _fact("A1b", "closed", hours_ago=5, closed_at=NOW - timedelta(hours=1), satisfaction=5),
        _fact("A2a", "resolved", hours_ago=3, closed_at=NOW - timedelta(hours=2),
              satisfaction=4),
        _fact("B1a", "in_progress"),
    ]
    lvl1 = grid_measures(facts, CELLS, 1, TODAY)
    a = lvl1["A"]
    assert (a.received, a.open, a.overdue, a.closed, a.close_rate, a.avg_hours,
            a.satisfaction) == (4, 2, 1, 2, 50.0, 2.5, 4.5)
    assert lvl1["B"].received == 1 and lvl1["B"].close_rate == 0.0
    lvl2 = grid_measures(facts, CELLS, 2, TODAY, parent="A")
    assert set(lvl2) == {"A1", "A2"}
    assert lvl2["A1"].received == 3 and lvl2["A2"].avg_hours == 1.0
    lvl3 = grid_measures(facts, CELLS, 3, TODAY, parent="A1")
    assert lvl3["A1b"].satisfaction == 5.0 and lvl3["A1a"].overdue == 1
    # The side panel's totals are the town's figures: the sum of the level-1 grids.
    town = grid_totals(facts, CELLS, TODAY)
    assert town == kpis.figures(facts, TODAY)
    assert town.received == sum(f.received for f in lvl1.values())
    assert grid_totals(facts, CELLS, TODAY, parent="A1").received == 3


def test_grids_without_incidents_are_listed_with_zeros_and_no_rates():
    figures = grid_measures([], CELLS, 2, TODAY)
    assert figures["B1"] == kpis.EMPTY
    assert figures["B1"].close_rate is None and figures["B1"].avg_hours is None
    with pytest.raises(StatsError):
        grid_measures([], CELLS, 4, TODAY)


def test_choropleth_colours_hot_grids_red_and_the_legend_counts_them():
    figures = {"A": 0, "B": 10, "C": 5}
    result = choropleth(figures, "open")
    assert result["colours"]["B"] == RAMP[-1] and result["colours"]["A"] == RAMP[0]
    assert [row["to"] for row in result["legend"]][-1] == 10
    assert sum(row["grids"] for row in result["legend"]) == 3
    # For a close rate, high is good: the best grid is drawn in the quiet colour.
    rates = choropleth({"A": 100.0, "B": 20.0, "C": None}, "close_rate")
    assert rates["colours"]["A"] == RAMP[0] and rates["colours"]["B"] == RAMP[-1]
    assert rates["colours"]["C"] == NO_DATA and rates["legend"][-1]["grids"] == 1
    with pytest.raises(StatsError, match="unknown measure"):
        choropleth(figures, "beauty")
    with pytest.raises(StatsError, match="unknown measure"):
        values_of({"A": kpis.EMPTY}, "beauty")


def test_open_work_orders_counted_per_level2_grid():
    chain = ancestors(CELLS)
    assert open_by_level(["A1a", "A1b", "A2a", None, "nowhere"], chain, 2) == {"A1": 2, "A2": 1}


def test_grid_store_reads_the_window_and_category_from_the_database(services):
    store = services.store
    gs = GridStore(store, list(services.grids.values()))
    now = datetime.now(UTC)
    report = {"source": "grid_worker", "title": "井盖缺失", "lon": 104.45, "lat": 30.55}
    a = store.create_incident(IncidentReport(category="environment", **report),
                              GridHit("G3-03", "V01"), now=now).incident
    store.create_incident(IncidentReport(category="city_management", **report),
                          GridHit("G3-03", "V01"), now=now)
    old = IncidentReport(category="environment", reported_at=now - timedelta(days=3), **report)
    store.create_incident(old, GridHit("G3-03", "V01"), now=now)
    for state in ("accepted", "dispatched", "in_progress", "resolved"):
        store.transition(a.id, state, actor="测试")
    now = datetime.now(UTC)  # figures are taken at the window's end: after the resolution
    today = gs.measures(2, "today", now=now)
    assert today["G2-01"].received == 2 and today["G2-01"].closed == 1
    env = gs.measures(3, "7d", category="environment", parent="G2-01", now=now)
    assert env["G3-03"].received == 2 and env["G3-03"].open == 1
    assert gs.totals("today", now=now).received == 2
    assert len(gs.points("7d", now=now)) == 3
    assert gs.measures(1, "hour", version=7) is gs.measures(1, "hour", version=7)
    with pytest.raises(ValueError, match="unknown category"):
        gs.facts("today", category="nonsense")
    with pytest.raises(StatsError, match="unknown window"):
        gs.facts("year")


def test_count_legends_use_whole_numbers_and_small_ranges_get_a_class_per_value():
    result = choropleth({"A": 0, "B": 1, "C": 0}, "open")
    assert [(r["from"], r["to"], r["grids"]) for r in result["legend"]] == [
        (0, 0, 2), (1, 1, 1)]
    assert result["colours"]["B"] == RAMP[-1] and result["colours"]["A"] == RAMP[0]
    wide = choropleth({str(n): n for n in range(0, 23)}, "received")
    bounds = [(r["from"], r["to"]) for r in wide["legend"]]
    assert bounds[0][0] == 0 and bounds[-1][1] == 22
    assert all(b[0] == a[1] + 1 for a, b in zip(bounds, bounds[1:], strict=False))


def test_the_grid_map_shows_where_things_are_resolved_in_the_grid_and_in_the_village():
    """Issue 14: the tier shares on the grid map: of what was resolved in the window, the
    share resolved at the grid's own level (小事不出格率), within the village …; a grid whose
    cases all climbed to the county is the one drawn hot."""
    from dashboard.grids.views import measure_label, measure_text, ranking

    done = {"state": "closed", "hours_ago": 5, "closed_at": NOW - timedelta(hours=1)}
    facts = [_fact("A1a", level="grid", **done), _fact("A1b", level="grid", **done),
             _fact("A1b", level="village", **done), _fact("A2a", level="county", **done),
             _fact("A2a", level="town", **done), _fact("B1a")]  # B1: nothing resolved
    lvl2 = grid_measures(facts, CELLS, 2, TODAY)
    assert (lvl2["A1"].in_grid, lvl2["A1"].in_village, lvl2["A1"].in_town) == (66.7, 100.0,
                                                                               100.0)
    assert (lvl2["A2"].in_grid, lvl2["A2"].in_town) == (0.0, 50.0)
    assert lvl2["B1"].in_grid is None
    result = choropleth(values_of(lvl2, "in_grid"), "in_grid")
    assert result["colours"]["A2"] == RAMP[-1] and result["colours"]["A1"] == RAMP[0]
    assert result["colours"]["B1"] == NO_DATA
    cells = {c.code: c for c in CELLS}
    assert [r["code"] for r in ranking(lvl2, cells, "in_grid", "zh")] == ["A2", "A1"]
    assert measure_text("in_grid", 66.7, "zh") == "66.7%"
    assert (measure_label("in_grid", "zh"), measure_label("in_village", "en")) == (
        "小事不出格率", "Resolved in the village")
