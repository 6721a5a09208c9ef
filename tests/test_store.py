"""The durable record on a real database (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import Conflict, NotFound
from dashboard.incidents.lifecycle import TransitionError
from dashboard.messages import IncidentReport
from dashboard.resources.errors import StockError


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
    assert store.kpis().today.received == 1


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
    assert (k.today.received, k.today.closed, k.today.close_rate) == (1, 1, 100.0)
    assert k.today.open == 0


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


def _accepted(store) -> int:
    inc = store.create_incident(_report(), GridHit("G3-01", "V01")).incident
    store.act(inc.id, "accept", actor="值班员甲")
    return inc.id


def test_two_officers_dispatching_at_once_exactly_one_wins(services):
    store = services.store
    incident_id = _accepted(store)
    officers = [f"值班员{n:02d}" for n in range(16)]

    def dispatch(officer: str):
        try:
            store.act(incident_id, "dispatch", actor=officer, assignee=f"{officer}的队伍")
            return ("ok", officer)
        except Conflict as exc:
            return ("conflict", str(exc))
        except TransitionError as exc:
            return ("refused", str(exc))

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(dispatch, officers))
    winners = [who for kind, who in results if kind == "ok"]
    assert len(winners) == 1, results
    losers = [msg for kind, msg in results if kind != "ok"]
    assert len(losers) == 15
    # Whoever lost is told who was first (a conflict), or that it is already dispatched.
    assert all(winners[0] in msg or "dispatched" in msg for msg in losers), losers
    history = store.history(incident_id)
    assert [h["to"] for h in history].count("dispatched") == 1
    assert history[-1]["actor"] == winners[0]


def test_the_whole_loop_with_urge_escalate_supervise_and_follow_up(services):
    store = services.store
    incident_id = _accepted(store)
    store.act(incident_id, "urge", actor="值班员甲", note="请尽快处理")
    v = store.act(incident_id, "escalate", actor="值班员甲")
    assert (v.level, v.state, v.urge_count) == ("village", "accepted", 1)
    v = store.act(incident_id, "dispatch", actor="值班员甲", assignee="城镇片区救援队")
    assert v.assignee == "城镇片区救援队"
    v = store.act(incident_id, "reassign", actor="值班员乙", assignee="建林片区救援队")
    store.act(incident_id, "start", actor="建林片区救援队")
    store.act(incident_id, "resolve", actor="建林片区救援队", note="已清理")
    with pytest.raises(TransitionError, match="satisfaction"):
        store.act(incident_id, "close", actor="值班员甲")
    v = store.act(incident_id, "close", actor="值班员甲", satisfaction=5)
    assert (v.state, v.satisfaction, v.assignee) == ("closed", 5, "建林片区救援队")
    month = store.kpis().month
    assert month.satisfaction == 5.0 and month.avg_hours is not None
    assert month.avg_hours < 0.1 and month.close_rate == 100.0
    actions = [h["action"] for h in store.history(incident_id)]
    assert actions == ["report", "accept", "urge", "escalate", "dispatch", "reassign", "start",
                       "resolve", "close"]
    with pytest.raises(TransitionError):
        store.act(incident_id, "urge", actor="值班员甲")


def test_overdue_incidents_get_one_supervision_entry(services):
    store = services.store
    inc = store.create_incident(_report(priority="urgent"), GridHit("G3-01", "V01")).incident
    later = inc.deadline_at + timedelta(minutes=1)
    assert [v.id for v in store.supervise_overdue(later)] == [inc.id]
    assert store.supervise_overdue(later) == []
    assert [h["action"] for h in store.history(inc.id)] == ["report", "supervise"]
    assert store.kpis(later).today.overdue_now == 1


def test_migration_0009_names_people_by_id_where_the_stored_name_matches(tmp_path):
    """An older database (0008): its worker account, its work orders dispatched to
    "网格员 NAME" and its history rows get their ids."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008_accounts")
        conn.execute(text("INSERT INTO grids (code, level, name, name_en, geometry, "
                          "leader_name, leader_phone, households) VALUES "
                          "('G3-01', 3, 'g', 'g', '{}', '', '', 0)"))
        conn.execute(text("INSERT INTO grid_workers (id, grid_code, name, phone) VALUES "
                          "('W001', 'G3-01', '冯思远', '')"))
        conn.execute(text("INSERT INTO users (name, role, password_hash, display_name, "
                          "disabled, created_at) VALUES ('冯思远', 'grid_worker', 'x', "
                          "'冯思远', 0, '2026-11-30 00:00:00')"))
        conn.execute(text(
            "INSERT INTO incidents (ref, source, category, priority, title, description, lon, "
            "lat, grid_code, state, assignee, level, urge_count, supervised, report_count, "
            "version, created_at, updated_at) VALUES ('20261130-00001', 'hotline', 'water', "
            "'normal', 't', '', 104.45, 30.55, 'G3-01', 'dispatched', '网格员 冯思远', 'grid', "
            "0, 0, 1, 2, '2026-11-30 00:00:00', '2026-11-30 00:00:00')"))
        conn.execute(text("INSERT INTO incident_events (incident_id, at, actor, to_state, "
                          "action, note) VALUES (1, '2026-11-30 00:00:00', '冯思远', "
                          "'dispatched', 'ack', '')"))
        command.upgrade(cfg, "0009_person_ids")
        assert conn.execute(text("SELECT person_id FROM users")).scalar() == "W001"
        assert tuple(conn.execute(text("SELECT assignee_id, assignee FROM incidents")).one()) \
            == ("W001", "冯思远")
        assert conn.execute(text("SELECT actor_user_id FROM incident_events")).scalar() == 1
    engine.dispose()


def test_every_open_work_order_reaches_the_screens_whatever_their_number(services):
    """The screens' snapshot holds every open work order: past 2,000 open ones the oldest
    were cut, and a worker's /field (drawn from it) showed none while the API listed his."""
    from sqlalchemy import insert

    from dashboard.timeutil import utcnow
    from datasources.sql import models as m

    now = utcnow()
    rows = [{"ref": f"T{i:06d}", "source": "hotline", "category": "environment",
             "title": f"积压-{i}", "lon": 104.45, "lat": 30.55, "state": "dispatched",
             "assignee_id": "W-OLDEST" if i == 0 else "W-OTHER", "created_at": now,
             "updated_at": now} for i in range(2_050)]
    with services.store.session() as s:
        s.execute(insert(m.Incident), rows)
    live = services.store.live_incidents()
    assert len([v for v in live if v.state == "dispatched"]) == 2_050
    assert any(v.assignee_id == "W-OLDEST" for v in live)
