"""The durable record on a real database (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.geo import GridHit
from dashboard.incidents import TransitionError
from dashboard.messages import IncidentReport
from datasources.store import NotFound, StockError


def _report(**kw) -> IncidentReport:
    base = {"source": "grid_worker", "category": "environment", "title": "河道漂浮垃圾",
            "lon": 104.45, "lat": 30.55}
    return IncidentReport(**{**base, **kw})


def test_report_is_stored_with_grid_deadline_and_first_history_row(services):
    store = services.store
    created = store.create_incident(_report(priority="urgent"), GridHit("G3-01", "V01"))
    inc = created.incident
    assert created.new and inc.state == "reported" and inc.grid == "G3-01"
    assert inc.ref.endswith(f"{inc.id:05d}")
    assert (inc.deadline_at - inc.created_at).total_seconds() == 2 * 3600
    assert [h["to"] for h in store.history(inc.id)] == ["reported"]


def test_a_retried_report_with_the_same_source_ref_is_not_stored_twice(services):
    store = services.store
    first = store.create_incident(_report(source_ref="A-1"), GridHit("G3-01", "V01"))
    again = store.create_incident(_report(source_ref="A-1"), GridHit("G3-01", "V01"))
    assert not again.new and again.incident.id == first.incident.id
    assert store.kpis()["today"]["received"] == 1


def test_transitions_follow_the_loop_and_append_history(services):
    store = services.store
    inc = store.create_incident(_report(), GridHit("G3-01", "V01")).incident
    for state in ("accepted", "dispatched", "in_progress", "resolved"):
        store.transition(inc.id, state, actor="值班员张三")
    with pytest.raises(TransitionError):
        store.transition(inc.id, "dispatched", actor="值班员张三")
    with pytest.raises(NotFound):
        store.transition(99999, "accepted", actor="x")
    history = store.history(inc.id)
    assert [h["to"] for h in history] == ["reported", "accepted", "dispatched", "in_progress",
                                          "resolved"]
    assert history[-1]["from"] == "in_progress" and history[-1]["actor"] == "值班员张三"
    k = store.kpis()
    assert k["today"] == {"received": 1, "closed": 1, "close_rate": 100.0}
    assert k["open"] == 0


def test_stock_never_goes_negative_under_concurrent_issues(services):
    store = services.store
    start = next(i["quantity"] for i in store.stations()[1]["items"] if i["sku"] == "SH-TN")
    station = store.stations()[1]["code"]

    def issue(_: int) -> bool:
        try:
            store.move_stock(station, "SH-TN", -1, "演练领用", "测试")
            return True
        except StockError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(issue, range(start + 10)))
    assert sum(results) == start
    after = next(i for i in store.stations()[1]["items"] if i["sku"] == "SH-TN")
    assert after["quantity"] == 0
    ledger = store.movements(station, "SH-TN")
    assert len(ledger) == start and ledger[-1]["after"] == 0
    assert sorted(m["after"] for m in ledger) == list(range(start))
