"""Intake that reads (issue 18): merging by place, time and words; every caller kept for
回访; category and unit suggested after intake, and the officer's decision counted."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest

from dashboard.incidents import textsim
from dashboard.incidents.errors import TransitionError
from dashboard.incidents.evaluation import suggestion_share
from dashboard.incidents.rules import OrderFacts, actor_of, offered
from dashboard.roles import LEADER, OFFICER, Principal, personal
from datasources.flows.suggestions import labelled_examples
from datasources.sql import suggestions as kept

LABELLED = Path(__file__).parent / "data" / "reports_labelled.csv"
OFFICER_ME = Principal(role=OFFICER, name="值班员王", kind="user", user_id=1)


@pytest.fixture
def settings(settings):
    """The conftest's settings with the default merge rule on (200 m, 30 min, words)."""
    return settings.with_(dedup_meters=200, dedup_minutes=30)


def _report(title: str, lon: float, lat: float, category: str = "estate",
            description: str = "", source: str = "hotline", **extra: str) -> str:
    return json.dumps({"type": "incident.report", "source": source, "category": category,
                       "title": title, "description": description, "lon": lon, "lat": lat,
                       **extra}, ensure_ascii=False)


def test_two_problems_17_metres_apart_stay_two_work_orders_flagged(services):
    """The new user's case: 电梯故障 and 垃圾堆放, same category, 17 m apart."""
    intake = services.intake
    lift = intake.handle_raw(_report("电梯故障", 104.45000, 30.55000,
                                     description="3栋电梯停运，有老人被困"))
    rubbish = intake.handle_raw(_report("垃圾堆放", 104.45000, 30.55015,
                                        description="3栋楼下垃圾堆放没人清理"))
    assert lift.event.type == "incident.created" and rubbish.event.type == "incident.created"
    assert rubbish.event.incident.id != lift.event.incident.id
    assert rubbish.event.incident.report_count == 1
    # ... and the second is shown as a possible duplicate of the first.
    assert rubbish.event.incident.dup_of == lift.event.incident.id


def test_two_wordings_of_one_problem_at_one_place_merge(services):
    intake, store = services.intake, services.store
    first = intake.handle_raw(_report("电梯故障", 104.45000, 30.55000,
                                      description="3栋电梯故障，困住了一位老人"))
    second = intake.handle_raw(_report("电梯坏了", 104.45005, 30.55003,
                                       description="3栋的电梯又坏了，老人上不了楼"))
    assert second.merged and second.event.incident.id == first.event.incident.id
    assert second.event.incident.report_count == 2
    assert "文字相似度" in store.history(first.event.incident.id)[-1]["note"]


def test_zero_threshold_is_the_old_rule(services):
    """ZN_DEDUP_TEXT=0 compares no words: place, time and category alone merge."""
    services.store.dedup = type(services.store.dedup)(200, 30, 0.0)
    intake = services.intake
    lift = intake.handle_raw(_report("电梯故障", 104.45000, 30.55000))
    rubbish = intake.handle_raw(_report("垃圾堆放", 104.45000, 30.55015))
    assert rubbish.merged and rubbish.event.incident.id == lift.event.incident.id


def test_similarity_is_about_the_problem_not_the_telling():
    assert textsim.similarity("电梯故障。3栋电梯停运", "垃圾堆放。3栋楼下垃圾没人清") == 0
    assert textsim.similarity("路灯不亮", "市民来电反映：路灯坏了，请尽快处理") >= 0.1
    # The caller's set phrases are not the problem: they make two problems no closer.
    assert textsim.similarity("市民来电反映：电梯故障，请尽快处理",
                              "市民来电反映：垃圾堆放，请尽快处理") == 0


def test_one_click_merge_moves_every_caller_and_voids_the_duplicate(services):
    intake, store = services.intake, services.store
    lift = intake.handle_raw(_report("电梯故障", 104.45000, 30.55000,
                                     reporter_name="张三", reporter_phone="13800001111"))
    other = intake.handle_raw(_report("楼里出不去了", 104.45001, 30.55001,
                                      description="被关在轿厢里", reporter_name="李四",
                                      reporter_phone="13900002222"))
    dup = other.event.incident
    assert dup.dup_of == lift.event.incident.id
    assert "merge" in offered(OrderFacts.of(store.incident(dup.id)))
    assert "merge" not in offered(OrderFacts.of(store.incident(lift.event.incident.id)))
    intake.act(dup.id, "merge", "值班员王", expect_version=dup.version)
    assert store.incident(dup.id)["state"] == "void"
    target = store.incident(lift.event.incident.id)
    assert target["report_count"] == 2
    assert [c["name"] for c in store.callers(target["id"])] == ["张三", "李四"]
    assert store.history(target["id"])[-1]["action"] == "merge"
    # An order that is not flagged offers no merge.
    with pytest.raises(TransitionError):
        intake.act(target["id"], "merge", "值班员王")


def test_callers_masked_by_role_and_called_back_each_with_own_satisfaction(services):
    intake, store = services.intake, services.store
    first = intake.handle_raw(_report("路灯不亮", 104.45, 30.55, "city_management",
                                      reporter_name="王小明", reporter_phone="13812345678"))
    intake.handle_raw(_report("路灯坏了", 104.4501, 30.5501, "city_management",
                              reporter_name="赵丽", reporter_phone="13987654321"))
    callers = store.callers(first.event.incident.id)
    assert len(callers) == 2
    phone = callers[1]["phone"]
    assert personal(phone, "phone", OFFICER_ME) == "13987654321"
    assert personal(phone, "phone", Principal(role=LEADER)) == "139****4321"
    assert personal(callers[1]["name"], "name", Principal(role=LEADER)) == "赵*"
    oid = first.event.incident.id
    for step in ("accept", "dispatch", "start", "resolve"):
        kw = {"assignee": "冯思远", "assignee_id": "W001"} if step == "dispatch" else {}
        intake.act(oid, step, "值班员王", **kw)
    intake.rate_caller(callers[1]["report_id"], 2, actor_of(OFFICER_ME))
    intake.act(oid, "close", "值班员王", satisfaction=5)  # the first caller's score
    after = store.callers(oid)
    assert [c["satisfaction"] for c in after] == [5, 2]
    assert store.incident(oid)["satisfaction"] == round((5 + 2) / 2)


@pytest.fixture
def trained(services):
    """The suggestion model trained on the labelled set (the demo history's stand-in)."""
    services.suggester.train(labelled_examples(LABELLED))
    return services


def test_suggestion_follows_the_stored_report_within_a_second(trained):
    services = trained
    out = services.intake.handle_raw(_report("电梯坏了", 104.4567, 30.5561, "estate",
                                             description="10号楼电梯停运一周没人修"))
    oid = out.event.incident.id
    deadline = time.monotonic() + 1.0
    found = None
    while time.monotonic() < deadline and found is None:
        found = kept.of(services.store, oid)
        time.sleep(0.02)
    assert found is not None, "no suggestion within a second"
    assert found["category"] == "estate"
    assert found["unit_id"] and len(found["categories"]) == 3
    # The work order changed (its version), so every screen showing it draws it again.
    assert services.store.incident(oid)["version"] > out.event.incident.version


def test_dispatch_records_accepted_or_changed_and_the_share(trained):
    services = trained
    store, intake = services.store, services.intake
    from datasources.flows.desk import dispatch_to

    ids = []
    for n, title in enumerate(("工地老板欠了三个月工钱", "包工头跑了拿不到工资")):
        out = intake.handle_raw(_report(title, 104.40 + n * 0.02, 30.55, "labour"))
        ids.append(out.event.incident.id)
        services.suggester._pool.submit(lambda: None).result(timeout=5)  # worker drained
    first = kept.of(store, ids[0])
    assert first is not None and first["unit_id"]
    dispatch_to(intake, OFFICER_ME, ids[0], f"unit:{first['unit_id']}", state="reported",
                version=None)
    dispatch_to(intake, OFFICER_ME, ids[1], "W001", state="reported", version=None)
    assert kept.of(store, ids[0])["accepted"] is True
    assert kept.of(store, ids[1])["accepted"] is False
    accepted, decided = kept.decided(store, *_today())
    assert (accepted, decided) == (1, 2)
    assert suggestion_share(accepted, decided) == 0.5
    # The leaders' view shows it as one figure: 建议采纳率 50.0 % (1/2) this month.
    from dashboard.screens.leader import suggestion_row

    o = services.leader.overview()
    row = suggestion_row(o.suggestions, o.suggestions_prev, "zh")
    assert (row["label"], row["value"], row["count"]) == ("建议采纳率", "50.0%", "1/2")


def test_a_new_version_is_kept_and_loaded_by_another_process(trained, tmp_path):
    from datasources.flows.suggestions import Suggester

    again = Suggester(trained.store, trained.settings.data_dir)
    model = again.load()
    assert model is not None and model.version == trained.suggester.model.version
    assert again.suggest("河里漂着很多塑料瓶", village="V01").category == "environment"


def _today():
    from datetime import timedelta

    from dashboard.timeutil import utcnow

    now = utcnow()
    return now - timedelta(hours=1), now + timedelta(hours=1)


def test_the_hotline_door_answers_with_the_suggestion_and_open311_without_service_code(
        live) -> None:
    """The hotline's POST answer carries the suggestion when ready (or where to read it);
    an Open311 request without service_code gets the category the model reads."""
    live.services.suggester.train(labelled_examples(LABELLED))
    status, _, body = live.post_json("/api/v1/incidents", {
        "source": "hotline", "category": "environment", "title": "河里全是垃圾",
        "description": "河面上漂着很多塑料瓶，水都发臭了", "lon": 104.45, "lat": 30.55})
    assert status == 201, body
    assert body["suggestion_url"] == f"/api/v1/incidents/{body['id']}"
    assert body["suggestion"]["category"] == "environment"
    form = urllib.parse.urlencode({"api_key": "demo-key", "lat": 30.5523, "long": 104.4512,
                                   "description": "工地老板欠了我们三个月工钱不给"}).encode()
    status, _, made = live.call("POST", "/open311/v2/requests.json", form,
                                {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, made
    ref = made[0]["service_request_id"]
    assert [v.category for v in live.services.store.live_incidents() if v.ref == ref] \
        == ["labour"]


def test_nightly_retrain_is_done_by_one_process_a_night(trained) -> None:
    from datetime import UTC, datetime

    from datasources.flows.suggestions import Suggester

    claims: set[str] = set()

    def claim(key: str, _ttl: int) -> bool:
        if key in claims:
            return False
        claims.add(key)
        return True

    night = datetime(2030, 1, 2, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
    one = trained.suggester
    other = Suggester(trained.store, trained.settings.data_dir)
    # The town has too few handled work orders of its own: the night's try says so.
    assert one.nightly(claim, night) is False and one.model is not None
    claims.clear()
    one.train(labelled_examples(LABELLED))  # a version of its own, then the other loads it
    assert other.nightly(claim, night) is False
    assert other.model is not None and other.model.version == one.model.version


def test_migration_0023_goes_down_and_up_again(tmp_path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        assert "incident_suggestions" in inspect(conn).get_table_names()
        assert "dup_of" in {c["name"] for c in inspect(conn).get_columns("incidents")}
        command.downgrade(cfg, "0017_units")
        assert "incident_suggestions" not in inspect(conn).get_table_names()
        assert "satisfaction" not in {c["name"] for c in
                                      inspect(conn).get_columns("incident_reports")}
        command.upgrade(cfg, "head")
        assert "satisfaction" in {c["name"] for c in inspect(conn).get_columns("incident_reports")}
    engine.dispose()
