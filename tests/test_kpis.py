"""The KPI definitions (dashboard/incidents/kpis.py): each measure, each window at its
edges (Beijing midnight, the first of the month), the one SQL read, and the doc."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.incidents import kpis
from dashboard.incidents.kpis import KpiError, Window, WorkOrderFact, figures
from datasources.sql.kpis import read_facts
from tests.clock import earlier_today

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai
MIDNIGHT = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 25 Nov 00:00 in Asia/Shanghai
DOC = Path(__file__).resolve().parents[1] / "docs" / "kpis.md"


def _wo(n: int, reported: datetime, state: str = "reported", **kw) -> WorkOrderFact:
    return WorkOrderFact(id=n, state=state, created_at=reported, **kw)


def test_every_measure_and_window_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", doc, flags=re.M))
    missing = [m for m in (*kpis.MEASURES, *kpis.WINDOWS) if m not in rows]
    assert not missing, f"docs/kpis.md does not define: {missing}"


def test_windows_start_where_a_leader_expects():
    assert kpis.window("hour", NOW).start == NOW - timedelta(hours=1)
    assert kpis.window("today", NOW).start == MIDNIGHT
    assert kpis.window("7d", NOW).start == NOW - timedelta(days=7)
    assert kpis.window("30d", NOW).start == NOW - timedelta(days=30)
    assert kpis.window("month", NOW).start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(KpiError, match="unknown window"):
        kpis.window("year", NOW)


def test_comparison_windows_are_like_with_like():
    today, yesterday = kpis.window("today", NOW), kpis.previous("today", NOW)
    assert yesterday.start == MIDNIGHT - timedelta(days=1)
    assert yesterday.end - yesterday.start == today.end - today.start
    hour = kpis.previous("hour", NOW)
    assert (hour.start, hour.end) == (NOW - timedelta(hours=25), NOW - timedelta(hours=24)
                                      + kpis.NOW_EPS)
    month, last = kpis.window("month", NOW), kpis.previous("month", NOW)
    assert last.start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 Oct local
    assert last.end - last.start == month.end - month.start
    # 31 March against February: the whole of February, never into March.
    march_end = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    feb = kpis.previous("month", march_end)
    assert feb.end == kpis.window("month", march_end).start
    week = kpis.previous("7d", NOW)
    assert week.end == kpis.window("7d", NOW).start


def test_beijing_midnight_splits_the_days():
    just_before = _wo(1, MIDNIGHT - timedelta(seconds=1))
    at_midnight = _wo(2, MIDNIGHT)
    facts = [just_before, at_midnight]
    assert figures(facts, kpis.window("today", MIDNIGHT)).received == 1
    late_evening = kpis.window("today", MIDNIGHT - timedelta(microseconds=1))
    assert late_evening.start == MIDNIGHT - timedelta(days=1)
    assert figures(facts, late_evening).received == 1  # 23:59:59 is yesterday's
    days = kpis.last_days(MIDNIGHT, 2)
    assert days == [date(2026, 11, 24), date(2026, 11, 25)]
    assert kpis.daily_series(facts, days, MIDNIGHT)["received"] == [1, 1]


def test_the_first_of_the_month_starts_a_new_month():
    first = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 Dec 00:00 local
    old = _wo(1, first - timedelta(minutes=1), "closed", closed_at=first - timedelta(seconds=30),
              satisfaction=5, scored_at=first + timedelta(minutes=5))
    new = _wo(2, first)
    month = figures([old, new], kpis.window("month", first + timedelta(hours=1)))
    assert (month.received, month.closed, month.closed_in) == (1, 0, 0)
    assert month.satisfaction == 5.0  # the score was given in December
    last_day = figures([old, new], kpis.day_window(date(2026, 11, 30), first))
    assert (last_day.received, last_day.closed, last_day.closed_in) == (1, 1, 1)
    # Compared with the first hour of November, not with its last day.
    assert figures([old, new], kpis.previous("month", first + timedelta(hours=1))).received == 0


def test_a_work_order_reported_now_counts_now():
    assert figures([_wo(1, NOW)], kpis.window("hour", NOW)).received == 1
    assert figures([_wo(1, NOW + timedelta(seconds=1))], kpis.window("hour", NOW)).received == 0


def test_received_closed_and_close_rate_share_one_set():
    w = kpis.window("today", NOW)
    facts = [
        _wo(1, NOW - timedelta(hours=5), "closed", closed_at=NOW - timedelta(hours=1)),
        _wo(2, NOW - timedelta(hours=2), "resolved", closed_at=NOW - timedelta(hours=1)),
        _wo(3, NOW - timedelta(hours=1)),
        _wo(4, NOW - timedelta(days=2), "closed", closed_at=NOW - timedelta(hours=3)),
    ]
    f = figures(facts, w)
    assert (f.received, f.closed, f.close_rate, f.still_open) == (3, 2, 66.7, 1)
    assert figures([], w).close_rate is None


def test_open_and_overdue_now_are_taken_at_the_windows_end():
    old_open = _wo(1, NOW - timedelta(days=9), deadline_at=NOW - timedelta(days=8))
    fresh = _wo(2, NOW - timedelta(hours=1), deadline_at=NOW + timedelta(hours=1))
    done_later = _wo(3, NOW - timedelta(days=2), "closed", closed_at=NOW - timedelta(hours=1),
                     deadline_at=NOW - timedelta(days=1, hours=12))
    f = figures([old_open, fresh, done_later], kpis.window("today", NOW))
    assert (f.open, f.overdue_now) == (2, 1)
    # Yesterday at this time the third was still open, and already late.
    y = figures([old_open, fresh, done_later], kpis.previous("today", NOW))
    assert (y.open, y.overdue_now) == (2, 2)


def test_overdue_in_a_window_is_late_at_any_moment_of_it():
    w = kpis.window("today", NOW)
    stuck = _wo(1, NOW - timedelta(days=9), deadline_at=NOW - timedelta(days=8))
    late_today = _wo(2, NOW - timedelta(days=2), "resolved", closed_at=NOW - timedelta(hours=2),
                     deadline_at=NOW - timedelta(days=1))
    late_before = _wo(3, NOW - timedelta(days=5), "closed", closed_at=NOW - timedelta(days=2),
                      deadline_at=NOW - timedelta(days=4))
    on_time = _wo(4, NOW - timedelta(hours=6), "closed", closed_at=NOW - timedelta(hours=5),
                  deadline_at=NOW - timedelta(hours=4))
    not_yet = _wo(5, NOW - timedelta(hours=1), deadline_at=NOW + timedelta(minutes=1))
    f = figures([stuck, late_today, late_before, on_time, not_yet], w)
    assert (f.overdue, f.overdue_now) == (2, 1)
    assert figures([stuck, late_today, late_before], kpis.window("7d", NOW)).overdue == 3
    # A deadline passing exactly at the window's end is not yet late.
    edge = _wo(6, NOW - timedelta(hours=1), deadline_at=w.end)
    assert figures([edge], w).overdue == 0


def test_handling_time_is_over_what_was_resolved_in_the_window():
    w = kpis.window("today", NOW)
    facts = [
        _wo(1, NOW - timedelta(days=1), "closed", closed_at=NOW - timedelta(hours=2)),  # 22 h
        _wo(2, NOW - timedelta(hours=3), "resolved", closed_at=NOW - timedelta(hours=1)),  # 2 h
        _wo(3, NOW - timedelta(hours=3), "in_progress"),
        _wo(4, NOW - timedelta(days=3), "closed", closed_at=NOW - timedelta(days=2)),
    ]
    f = figures(facts, w)
    assert (f.closed_in, f.avg_hours) == (2, 12.0)
    assert figures(facts[2:3], w).avg_hours is None


def test_satisfaction_is_the_mean_of_scores_given_in_the_window():
    w = kpis.window("today", NOW)
    yday = NOW - timedelta(days=1)
    facts = [
        _wo(1, yday, "closed", closed_at=yday, satisfaction=3, scored_at=NOW - timedelta(hours=1)),
        _wo(2, NOW - timedelta(hours=4), "closed", closed_at=NOW - timedelta(hours=3),
            satisfaction=5, scored_at=NOW - timedelta(hours=2)),
        _wo(3, yday, "closed", closed_at=yday, satisfaction=1, scored_at=yday),
        _wo(4, NOW - timedelta(hours=2), "resolved", closed_at=NOW - timedelta(hours=1)),
    ]
    f = figures(facts, w)
    assert (f.satisfaction, f.scored) == (4.0, 2)


def test_figures_read_as_every_screen_writes_them():
    assert [kpis.data_value(v) for v in (None, 0, 3, 95.4, 100.0, 4.65)] == [
        "", "0", "3", "95.4", "100", "4.65"]
    f = figures([], kpis.window("today", NOW))
    assert f.value("received") == 0
    with pytest.raises(KpiError):
        f.value("beauty")


def _all_kinds(now: datetime) -> list[WorkOrderFact]:
    """Work orders of every shape around a window: reported before, in and after it,
    open, resolved before, in and after it, scored later."""
    out = []
    n = 0
    for reported_h in (-300, -30, -5, -1, 0.5):
        for closed_h in (None, -200, -20, -2, 0.2):
            for score_h in (None, -10, -0.5):
                n += 1
                reported = now + timedelta(hours=reported_h)
                closed = None if closed_h is None else now + timedelta(hours=closed_h)
                if closed is not None and closed < reported:
                    continue
                scored = None if score_h is None or closed is None else max(
                    closed, now + timedelta(hours=score_h))
                out.append(_wo(n, reported, "closed" if closed else "dispatched",
                               closed_at=closed, scored_at=scored,
                               satisfaction=4 if scored else None,
                               deadline_at=reported + timedelta(hours=3)))
    return out


def test_only_the_relevant_work_orders_change_a_windows_figures():
    facts = _all_kinds(NOW)
    for name in kpis.WINDOWS:
        for w in (kpis.window(name, NOW), kpis.previous(name, NOW)):
            kept = [f for f in facts if kpis.is_relevant(f, w)]
            assert figures(kept, w) == figures(facts, w), w


def test_the_sql_read_keeps_exactly_the_relevant_work_orders(services):
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    store = services.store
    now = datetime.now(UTC).replace(microsecond=0)
    shapes = _all_kinds(now)
    ids = {}
    for f in shapes:
        rep = IncidentReport(source="hotline", category="water", title=f"形状{f.id}",
                             lon=104.45, lat=30.55, reported_at=f.created_at)
        inc = store.create_incident(rep, GridHit("G3-03", "V01"), now=f.created_at).incident
        ids[inc.id] = f
        if f.closed_at is not None:
            for action in ("accept",):
                store.act(inc.id, action, "值班员", now=f.created_at)
            store.act(inc.id, "dispatch", "值班员", assignee="水务站", now=f.created_at)
            store.act(inc.id, "start", "水务站", now=f.created_at)
            store.act(inc.id, "resolve", "水务站", now=f.closed_at)
            if f.scored_at is not None:
                store.act(inc.id, "close", "值班员", satisfaction=4, now=f.scored_at)
    everything = Window("all", datetime(2000, 1, 1, tzinfo=UTC), now + timedelta(days=2))
    with store.session() as s:
        stored = read_facts(s, everything)
        assert {f.id for f in stored} == set(ids)
        for name in kpis.WINDOWS:
            for w in (kpis.window(name, now), kpis.previous(name, now)):
                read = {f.id for f in read_facts(s, w)}
                assert read == {f.id for f in stored if kpis.is_relevant(f, w)}, w
                assert figures(read_facts(s, w), w) == figures(stored, w)
    by_id = {f.id: f for f in stored}
    scored = [i for i, f in ids.items() if f.scored_at is not None]
    assert scored and all(by_id[i].scored_at == ids[i].scored_at for i in scored)


def test_a_void_work_order_is_never_overdue():
    """The brief lists what is_overdue_in says: a 作废 one past its deadline is not late."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    w = kpis.Window("x", start, start + timedelta(days=1))
    void = kpis.WorkOrderFact(1, "void", start, deadline_at=start + timedelta(hours=1))
    assert not kpis.is_overdue_in(void, w)
    assert kpis.is_overdue_in(replace(void, state="dispatched"), w)


def test_the_hubs_held_facts_give_the_boards_a_full_read_gives(services):
    """The live boards come from facts the hub keeps current by work order (issue 17): after
    each step, re-reading only the order it named gives the town's and a village's board a
    read of the whole month gives; an order outside the month is not taken in; a change whose
    event was missed is taken in by the next full read."""
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    store = services.store
    now = datetime.now(UTC).replace(microsecond=0)
    held = store.live_facts(full_every=3600)
    held.refresh(now)

    def report(title: str, village: str, at: datetime) -> int:
        rep = IncidentReport(source="hotline", category="water", title=title,
                             lon=104.45, lat=30.55, reported_at=at)
        grid = "G3-03" if village == "V01" else "G3-13"
        return store.create_incident(rep, GridHit(grid, village), now=at).incident.id

    def agrees(board: kpis.KpiBoard) -> None:
        assert board == store.kpis(now)
        for village in ("V01", "V03"):
            assert held.board(now, village) == store.kpis(now, village), village

    first = report("活的", "V01", earlier_today(now, 30))
    agrees(held.refresh(now, {first}))
    assert held.board(now).today.received >= 1
    for action, kw in (("accept", {}), ("dispatch", {"assignee": "水务站"}), ("start", {}),
                       ("resolve", {}), ("close", {"satisfaction": 5})):
        store.act(first, action, "值班员", now=earlier_today(now, 20), **kw)
        agrees(held.refresh(now, {first}))
    assert held.board(now, "V01").today.closed >= 1

    # Reported and resolved long before this month: named, it still does not count.
    old_at = now - timedelta(days=70)
    old = report("旧的", "V03", old_at)
    for action, kw in (("accept", {}), ("dispatch", {"assignee": "水务站"}), ("start", {}),
                       ("resolve", {})):
        store.act(old, action, "值班员", now=old_at + timedelta(hours=1), **kw)
    agrees(held.refresh(now, {old}))

    # A report this process never heard of: missing until the next full read takes it in.
    before = held.board(now).today.received
    report("没听到的", "V03", now - timedelta(minutes=5))
    assert held.refresh(now, set()).today.received == before
    held.full_every = 0
    agrees(held.refresh(now, set()))
    assert held.board(now).today.received == before + 1
    assert held.full_reads == 2 and held.partial_reads == 7
