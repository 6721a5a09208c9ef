"""分析研判: the range and its comparisons, the hot-spot rule, grade changes, and the record
read from a real database (volumes equal the KPI rule's, the evaluation is evaluation.py's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.i18n.errors import error_text
from dashboard.incidents import analysis as an
from dashboard.incidents import kpis
from dashboard.incidents.errors import BadInput
from dashboard.messages import IncidentReport
from dashboard.screens import analysis as screen
from dashboard.timeutil import LOCAL_TZ

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 local, a Monday
# About 50 m east of (104.45, 30.55) is 0.00052° of longitude at this latitude.
LON, LAT, STEP_50M = 104.45, 30.55, 0.00052


def local(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), LOCAL_TZ) \
        .astimezone(UTC)


def test_a_quarter_is_compared_with_the_one_before_and_last_years():
    ps = screen.periods("2026q4")
    assert ps.label == "2026Q4"
    assert (ps.current.start, ps.current.end) == (local("2026-10-01"), local("2027-01-01"))
    assert ps.previous.end == ps.current.start
    assert ps.previous.end - ps.previous.start == ps.current.end - ps.current.start
    assert (ps.last_year.start, ps.last_year.end) == (local("2025-10-01"), local("2026-01-01"))


def test_dates_include_the_last_day_and_leap_days_fall_back():
    ps = screen.periods(None, "2028-02-01", "2028-02-29")
    assert ps.current.end == local("2028-03-01")
    assert ps.previous.start == local("2028-01-03")  # 29 days before
    assert ps.last_year.start == local("2027-02-01") and ps.last_year.end == local("2027-03-01")


@pytest.mark.parametrize(("args", "code"), [
    (("2026Q5", None, None), "bad_quarter"), (("1Q1", None, None), "bad_quarter"),
    (("9999Q1", None, None), "bad_quarter"), ((None, "0001-01-01", "2026-01-01"), "bad_date"),
    ((None, "2026-01-01", "9999-12-31"), "bad_date"),
    ((None, "2026-03-01", "2026-02-01"), "range_reversed"),
    (("2026Q1", "2026-01-01", None), "range_mixed"),
    ((None, "2024-01-01", "2026-01-01"), "range_long"), ((None, None, None), "bad_date")])
def test_bad_ranges_are_coded_refusals_in_both_languages(args, code):
    with pytest.raises(BadInput) as caught:
        screen.periods(*args)
    assert caught.value.code == code and caught.value.http_status == 400
    zh, en = error_text(caught.value, "zh"), error_text(caught.value, "en")
    assert zh != en and "err_" not in zh + en and "{" not in zh + en


def pt(i: int, days: float, east_m: float = 0.0, category: str = "city",
       grid: str = "G3-01", state: str = "reported") -> an.ReportPoint:
    return an.ReportPoint(i, T0 + timedelta(days=days), category,
                          LON + STEP_50M * east_m / 50, LAT, grid, state)


def test_three_reports_of_a_category_within_100_m_in_30_days_make_a_hot_spot():
    p = an.Period("current", T0, T0 + timedelta(days=90))
    assert an.hot_spots([pt(1, 0), pt(2, 5, 60), pt(3, 20, 30)], p)[0].ids == (1, 2, 3)
    # Too far apart (the third 150 m away), too slow (31 days), another category, or void.
    assert an.hot_spots([pt(1, 0), pt(2, 5, 60), pt(3, 20, 150)], p) == []
    assert an.hot_spots([pt(1, 0), pt(2, 5), pt(3, 31)], p) == []
    assert an.hot_spots([pt(1, 0), pt(2, 5), pt(3, 6, category="water")], p) == []
    assert an.hot_spots([pt(1, 0), pt(2, 5), pt(3, 6, state="void")], p) == []
    # Chained repeats stay one place; a second place is a second hot spot.
    spots = an.hot_spots([pt(1, 0), pt(2, 1), pt(3, 2), pt(4, 3), pt(5, 10, 2000),
                          pt(6, 11, 2010), pt(7, 12, 2020)], p)
    assert [h.count for h in spots] == [4, 3]


def test_a_hot_spot_that_was_one_the_period_before_recurs():
    prev = an.Period("previous", T0, T0 + timedelta(days=30))
    cur = an.Period("current", T0 + timedelta(days=30), T0 + timedelta(days=60))
    before = [pt(1, 1), pt(2, 2), pt(3, 3)]
    now = before + [pt(4, 40, 20), pt(5, 41, 20), pt(6, 42, 20), pt(7, 40, 5000),
                    pt(8, 41, 5000), pt(9, 42, 5000)]
    spots = an.hot_spots(now, cur, before)
    assert [(h.count, h.recurring) for h in spots] == [(3, True), (3, False)]
    assert an.hot_spots(now, prev, []) and all(h.first < cur.start for h in
                                               an.hot_spots(now, prev, []))


def test_recurring_problems_come_back_week_after_week():
    p = an.Period("current", T0, T0 + timedelta(days=60))
    pts = [pt(1, 0, 0), pt(2, 8, 900), pt(3, 16, 1800), pt(4, 1, category="water"),
           pt(5, 2, category="water")]
    assert an.recurring(pts, p) == [{"grid": "G3-01", "category": "city", "weeks": 3,
                                     "reports": 3}]


def test_volumes_and_weeks_are_the_kpi_rule():
    p = an.Period("current", local("2026-11-02"), local("2026-11-16"))
    facts = [kpis.WorkOrderFact(1, "closed", T0, T0 + timedelta(hours=2)),
             kpis.WorkOrderFact(2, "dispatched", T0 + timedelta(days=8)),
             kpis.WorkOrderFact(3, "void", T0 + timedelta(days=8)),
             kpis.WorkOrderFact(4, "reported", T0 - timedelta(days=3))]
    cats = {1: "city", 2: "city", 3: "water", 4: "water"}
    assert an.volumes(facts, p, cats) == {"city": 2}
    assert an.weekly(facts, p) == [
        {"week": "2026-11-02", "received": 1, "closed_in": 1},
        {"week": "2026-11-09", "received": 1, "closed_in": 0}]


def test_grade_changes_read_as_arrows():
    assert an.grade_change("A", "C") == "up" and an.grade_change("D", "B") == "down"
    assert an.grade_change("B", "B") == "same" and an.grade_change("B", None) == "new"
    assert screen.pct_text(an.change_pct(12, 10)) == "+20.0%"
    assert screen.pct_text(an.change_pct(5, 0)) == "—"


def _file(store, category, at, lon=LON, lat=LAT, source="hotline", grid=("G3-03", "V01")):
    rep = IncidentReport(source=source, category=category, title="测试", lon=lon, lat=lat)
    return store.create_incident(rep, GridHit(*grid), now=at).incident


def test_the_record_reads_a_quarter_against_the_last(services):
    store = services.store
    q4, q3 = local("2026-10-01"), local("2026-07-01")
    for k in range(3):  # one place, three reports in a fortnight: a hot spot
        _file(store, "city_management", q4 + timedelta(days=3 + 5 * k), lon=LON + 0.0002 * k)
    _file(store, "water", q4 + timedelta(days=40), source="citizen")
    inc = _file(store, "water", q3 + timedelta(days=10))
    store.act(inc.id, "accept", "值班员王")
    now = local("2026-12-20")
    ps = screen.periods("2026Q4")
    rec = services.analysis.record(ps, now)
    assert rec["categories"]["current"] == {"city_management": 3, "water": 1}
    assert rec["categories"]["previous"] == {"water": 1}
    assert rec["sources"]["current"] == {"hotline": 3, "citizen": 1}
    for p in ps.all():  # the overview is the KPI rule's figures of each period
        with store.session() as s:
            from datasources.sql.kpis import read_facts
            assert rec["figures"][p.key] == kpis.figures(read_facts(s, p.window()),
                                                         p.window()).as_dict()
    assert rec["hot_count"] == 1 and rec["hot_spots"][0]["count"] == 3
    assert rec["hot_spots"][0]["category"] == "city_management"
    assert sum(w["received"] for w in rec["weekly"]["current"]) == 4
    rows = screen.eval_rows(rec, "zh")
    assert rows[-1]["unit"] == "全镇" and rows[-1]["cases"] == "4"
    doc = screen.document(rec, "zh")
    assert doc.title == "事件分析研判报告（2026Q4）"
    assert doc.sections[0].heading.startswith("一、")
    cats = doc.sections[1].tables[0]
    assert cats.rows[0][:4] == ["城市管理", "3", "0", "0"]
    assert screen.document(rec, "en").sections[1].tables[0].rows[0][0] == "City management"


def test_a_running_quarter_is_compared_with_the_same_length_of_the_others():
    ps = screen.periods("2026Q4")
    now = local("2026-11-15")
    cut = an.cut(ps, now)
    length = cut.current.end - cut.current.start
    assert cut.current.end > now and length < timedelta(days=46)
    assert all(p.end - p.start == length for p in cut.all())
    assert cut.previous.start == ps.previous.start and cut.last_year.start == ps.last_year.start
    assert an.cut(ps, local("2027-02-01")) == ps
    with pytest.raises(BadInput) as caught:
        an.cut(ps, local("2026-09-30"))
    assert caught.value.code == "day_ahead"


def test_a_change_against_a_period_before_the_records_is_not_given():
    ps = screen.periods("2026Q4")
    rec = {"first_report": local("2025-12-04").isoformat(),
           "periods": {p.key: {"start": p.start.isoformat(), "end": p.end.isoformat()}
                       for p in ps.all()},
           "figures": {p.key: {"received": n} for p, n in zip(ps.all(), (120, 100, 2),
                                                              strict=True)}}
    assert screen._changes(rec, [120, 100, 2]) == ["+20.0%", "—"]
    assert screen.coverage_note(rec, "zh").startswith("记录始于 2025-12-04")
    rec["first_report"] = local("2025-01-01").isoformat()
    assert screen._changes(rec, [120, 100, 2]) == ["+20.0%", "+5900.0%"]
    assert screen.coverage_note(rec, "en") == ""
