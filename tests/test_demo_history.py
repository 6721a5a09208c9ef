"""A month of demo history: played through the real loop, believable figures, added once."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from dashboard.actors import SIM_ACTOR
from dashboard.i18n.codes import actor_label
from dashboard.settings import DEMO_TOWN_DIR, Settings
from dashboard.timeutil import LOCAL_TZ, as_utc
from datasources.sim.history import backfill
from datasources.sim.simulator import Simulator
from datasources.sql import models as m
from datasources.sql.engine import make_engine
from datasources.sql.incidents import Store
from datasources.sql.town_loader import prepare_database
from datasources.towns.files import load_town

# Noon on a Friday, local time: today is half-way through, the month 20 days old.
NOW = as_utc(datetime(2026, 11, 20, 12, 0, tzinfo=LOCAL_TZ))
DAYS = 10  # a week and a half: what is still open today weighs like in a month


def _store(db_url: str, data_dir: str) -> Store:
    settings = Settings.from_env(environ={}, database_url=db_url, data_dir=data_dir)
    engine = make_engine(db_url)
    prepare_database(engine, settings.town_dir)
    return Store(engine)


@pytest.fixture(scope="module")
def town():
    return load_town(DEMO_TOWN_DIR)


@pytest.fixture(scope="module")
def filled(tmp_path_factory, town):
    """One backfill shared by the module's tests (SQLite: the demo's database)."""
    folder = tmp_path_factory.mktemp("history")
    store = _store(f"sqlite:///{folder / 'zhongnao.db'}", str(folder))
    result = backfill(store, town, days=DAYS, seed=7, now=NOW)
    yield store, result
    store.engine.dispose()


def _incidents(store: Store) -> list[m.Incident]:
    with store.session() as s:
        return list(s.scalars(select(m.Incident).order_by(m.Incident.id)))


def test_the_month_looks_like_a_town_at_work(filled):
    store, result = filled
    assert result.incidents > 60 * DAYS * 0.8 and result.briefs == DAYS
    month = store.kpis(NOW).month
    assert month.close_rate is not None and 90 <= month.close_rate <= 98
    assert month.satisfaction is not None and 4.0 <= month.satisfaction <= 5.0
    assert month.avg_hours is not None and month.avg_hours > 0
    rows = _incidents(store)
    days = Counter(as_utc(r.created_at).astimezone(LOCAL_TZ).date() for r in rows)
    first = NOW.astimezone(LOCAL_TZ).date() - timedelta(days=DAYS)
    for n in range(DAYS + 1):  # the past days full, today up to noon
        assert days[first + timedelta(days=n)] >= (50 if n < DAYS else 10)
    assert max(as_utc(r.created_at) for r in rows) <= NOW
    assert len(Counter(r.category for r in rows)) == 15
    # Mostly satisfied, a few overdue, some urged or escalated, nothing from the future.
    scores = [r.satisfaction for r in rows if r.satisfaction]
    assert 0.9 <= sum(s >= 4 for s in scores) / len(scores) < 1.0
    assert any(r.urge_count for r in rows) and any(r.level != "grid" for r in rows)
    assert any(r.closed_at and r.closed_at > r.deadline_at for r in rows)
    assert any(r.state not in ("resolved", "closed") and as_utc(r.deadline_at) < NOW
               for r in rows)


def test_every_step_is_in_the_history_and_dispatch_names_the_worker_on_duty(filled):
    store, _ = filled
    closed = [r for r in _incidents(store) if r.state == "closed"]
    ids = {w["id"]: w["name"] for c in store.grid_cells() for w in c.workers}
    for row in closed[:40]:
        steps = store.history(row.id)
        actions = [h["action"] or "report" for h in steps]
        for needed in ("report", "accept", "dispatch", "start", "resolve", "close"):
            assert needed in actions, (row.ref, actions)
        times = [h["at"] for h in steps]
        assert times == sorted(times) and times[-1] <= NOW
        if (row.assignee_id or "").startswith("unit:"):  # handed to a unit (issue 14)
            assert row.assignee_id == f"unit:{row.unit_id}" and row.level in ("town", "county")
            continue
        assert row.assignee == row.grid_worker and row.assignee
        assert row.assignee_id and ids[row.assignee_id] == row.assignee  # the person, by id
        # Made-up steps are the system's: never the demo officer's or a worker's name.
        assert {h["actor"] for h in steps[1:]} == {SIM_ACTOR}, steps  # [0]: the report
    with store.session() as s:  # the past days got a rota, so the worker was rostered
        assert s.scalar(select(m.GridRota).where(
            m.GridRota.day == (NOW - timedelta(days=DAYS)).astimezone(LOCAL_TZ)
            .date().isoformat()).limit(1)) is not None
        assert s.get(m.DailyBrief, (NOW - timedelta(days=1)).astimezone(LOCAL_TZ)
                     .date().isoformat()) is not None


def test_a_second_run_adds_nothing(filled, town):
    store, _ = filled
    before = len(_incidents(store))
    again = backfill(store, town, days=DAYS, seed=7, now=NOW)
    assert again.skipped and again.incidents == 0 and len(_incidents(store)) == before


def test_same_seed_same_history(tmp_path, town):
    def run(name: str, seed: int) -> list[tuple]:
        store = _store(f"sqlite:///{tmp_path / name}", str(tmp_path))
        try:
            backfill(store, town, days=2, seed=seed, now=NOW, briefs=False)
            return [(r.ref, r.category, r.state, r.satisfaction, r.grid_code, r.assignee)
                    for r in _incidents(store)]
        finally:
            store.engine.dispose()

    first = run("a.db", 7)
    assert first and run("b.db", 7) == first
    assert run("c.db", 8) != first


def test_load_history_command_adds_once_and_refuses_a_real_town(db_url, tmp_path):
    env = {"ZN_DATA_DIR": str(tmp_path), "DATABASE_URL": db_url, "ZN_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    first = runner.invoke(main, ["load-history", "--days", "1"], env=env)
    assert first.exit_code == 0 and "work orders over 1 days" in first.output
    second = runner.invoke(main, ["load-history", "--days", "1"], env=env)
    assert second.exit_code == 0 and "already present" in second.output

    real = tmp_path / "real-town"
    shutil.copytree(DEMO_TOWN_DIR, real)
    meta = (real / "town.json").read_text(encoding="utf-8").replace('"demo": true',
                                                                     '"demo": false')
    Path(real / "town.json").write_text(meta, encoding="utf-8")
    env = {**env, "ZN_DATA_DIR": str(tmp_path / "real"), "ZN_TOWN_DIR": str(real),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'real.db'}"}
    refused = runner.invoke(main, ["load-history"], env=env)
    assert refused.exit_code != 0 and "not marked demo" in refused.output


def test_the_live_simulator_reports_at_the_historys_rate(filled, town):
    store, _ = filled
    days = Counter(as_utc(r.created_at).astimezone(LOCAL_TZ).date() for r in _incidents(store))
    today = NOW.astimezone(LOCAL_TZ).date()
    full = [n for d, n in days.items() if d != today]
    history_mean = sum(full) / len(full)
    sim = Simulator(town, None, seed=5, rate=1.0)  # type: ignore[arg-type]
    start = as_utc(datetime(2026, 11, 23, 0, 0, tzinfo=LOCAL_TZ))  # a Monday, a whole week
    week = sum(sim.reports_due(start + timedelta(seconds=s), 5.0)
               for s in range(0, 7 * 86400, 5))
    print(f"history {history_mean:.1f}/day, live simulator {week / 7:.1f}/day")
    assert 0.7 * history_mean <= week / 7 <= 1.3 * history_mean, (week / 7, history_mean)
    # And by hour: the small hours are quiet, the morning busy.
    night = sum(sim.report_rate(start + timedelta(hours=h)) for h in range(0, 5)) * 3600
    morning = sum(sim.report_rate(start + timedelta(hours=h)) for h in range(8, 12)) * 3600
    assert night < 0.2 * morning


def test_the_system_actor_has_a_label_in_both_languages():
    assert (actor_label(SIM_ACTOR, "zh"), actor_label(SIM_ACTOR, "en")) == ("系统模拟", "Simulator")
    assert actor_label("值班员", "en") == "值班员"  # a person's name is shown as stored


def test_the_demo_takes_the_standards_side_steps_so_its_evaluation_is_not_all_100(filled):
    from dashboard.incidents.evaluation import indicators
    from datasources.sql.evaluation import read_cases

    store, _ = filled
    with store.session() as s:
        actions = set(s.scalars(select(m.IncidentEvent.action).distinct()))
        cases = read_cases(s, NOW - timedelta(days=DAYS + 1), NOW)
    assert {"verify", "rework", "extend", "extend_ok", "return", "void"} <= actions
    ind = indicators(cases, NOW)
    assert ind.rework_rate and 0 < ind.rework_rate < 0.1
    assert ind.extend_rate and 0 < ind.extend_rate < 0.1
    assert ind.accurate_dispatch_rate and 0.9 < ind.accurate_dispatch_rate < 1
    assert ind.on_time_dispatch_rate and 0.6 < ind.on_time_dispatch_rate < 1
    assert ind.avg_verify_h and 0.2 < ind.avg_verify_h < 3


def test_older_days_are_played_once_newest_first_and_resume(tmp_path, town):
    from datasources.sim.history import backfill_older

    store = _store(f"sqlite:///{tmp_path / 'older.db'}", str(tmp_path))
    try:
        backfill(store, town, days=1, seed=7, now=NOW, briefs=False)
        first = backfill_older(store, town, days=3, after=1, seed=7, now=NOW)
        assert first.days == 2 and first.incidents > 60
        days = {as_utc(i.created_at).astimezone(LOCAL_TZ).date() for i in _incidents(store)}
        today = NOW.astimezone(LOCAL_TZ).date()
        assert {today - timedelta(days=2), today - timedelta(days=3)} <= days
        # Played through the loop: most of the older work orders are closed with a score.
        older = [i for i in _incidents(store)
                 if as_utc(i.created_at).astimezone(LOCAL_TZ).date() <= today - timedelta(2)]
        assert sum(i.state == "closed" for i in older) > 0.8 * len(older)
        again = backfill_older(store, town, days=4, after=1, seed=7, now=NOW)
        assert again.days == 1  # only the day not played yet
    finally:
        store.engine.dispose()


def test_older_days_leave_nothing_stuck_or_on_hold(tmp_path, town):
    """A year of history must not pile forever-overdue work orders on today's screens."""
    from datasources.sim.history import backfill_older

    store = _store(f"sqlite:///{tmp_path / 'settled.db'}", str(tmp_path))
    try:
        backfill(store, town, days=1, seed=11, now=NOW, briefs=False)
        backfill_older(store, town, days=10, after=1, seed=11, now=NOW)
        today = NOW.astimezone(LOCAL_TZ).date()
        # A week back, every plan has run its course (a 72 h extension and a rework at most).
        older = [i for i in _incidents(store)
                 if as_utc(i.created_at).astimezone(LOCAL_TZ).date() <= today - timedelta(7)]
        assert len(older) > 200
        assert {i.state for i in older} <= {"closed", "void"}
    finally:
        store.engine.dispose()


def test_some_past_orders_were_handed_to_town_offices_and_county_departments(filled):
    store, _ = filled
    rows = _incidents(store)
    levels = Counter(r.level for r in rows if r.state == "closed")
    # Most stay in the grid; a few went to the town's offices and fewer to the county.
    assert levels["grid"] > levels["town"] > levels["county"] > 0, levels
    handed = [r for r in rows if r.level == "county" and r.state == "closed"][0]
    assert "escalate" in [h["action"] for h in store.history(handed.id)]
