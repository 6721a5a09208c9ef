"""The standard's side steps (issue 14): 核查, 返工, 延期, 缓办, 作废 in the loop's table.

Each is taken through the real store on the demo town's database, as the console and the
field take them; refusals come back as codes whose text the requester reads in zh or en.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.i18n.errors import error_text
from dashboard.incidents import kpis
from dashboard.incidents.deadlines import parse_extension
from dashboard.incidents.errors import BadInput, TransitionError
from dashboard.incidents.lifecycle import ACTIONS, STATE_COLOURS, STATES, state_colour_css
from dashboard.incidents.rules import OrderFacts, offered
from dashboard.messages import IncidentReport
from datasources.services import Services
from tests.auth_helpers import console_act, console_context, show_incident, sign_in
from tests.browser import app_client, step_backdated

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai
OFFICER = "值班员王"


def _order(svc: Services, state: str = "in_progress", title: str = "路灯不亮") -> int:
    """A work order of the demo town taken along the loop to `state`."""
    report = IncidentReport(source="hotline", category="city_management", title=title,
                            lon=104.45, lat=30.55, reported_at=T0)
    hit = GridHit("G3-02", "V01", workers=("李春梅", "陈红梅"), rostered="陈红梅")
    iid = svc.store.create_incident(report, hit, now=T0).incident.id
    steps = ("accept", "dispatch", "start", "resolve")
    goal = {"reported": 0, "accepted": 1, "dispatched": 2, "in_progress": 3, "resolved": 4}
    for step in steps[:goal[state]]:
        step_backdated(svc.store, iid, step, OFFICER, assignee="陈红梅", assignee_id="W003",
                       now=T0 + timedelta(minutes=5))
    return iid


def _refusal(call: Any) -> tuple[str, str, str]:
    with pytest.raises(TransitionError) as refused:
        call()
    err = refused.value
    return err.code, error_text(err, "zh"), error_text(err, "en")


# ---------------------------------------------------------------- 核查 and 结案
def test_verify_then_close_and_a_town_may_require_verification(services):
    store = services.store
    iid = _order(services, "resolved")
    assert store.act(iid, "verify", OFFICER, note="现场核查通过").state == "verified"
    closed = store.act(iid, "close", OFFICER, satisfaction=5)
    assert closed.state == "closed" and closed.satisfaction == 5
    actions = [h["action"] for h in store.history(iid)]
    assert actions[-2:] == ["verify", "close"]

    store.verify_before_close = True  # ZN_VERIFY_BEFORE_CLOSE
    other = _order(services, "resolved")
    code, zh, en = _refusal(lambda: store.act(other, "close", OFFICER, satisfaction=4))
    assert (code, zh, en) == ("verify_first", "须先核查通过才能结案",
                              "verify the handling before closing")
    assert store.incident(other)["state"] == "resolved"
    store.act(other, "verify", OFFICER)
    assert store.act(other, "close", OFFICER, satisfaction=4).state == "closed"


def test_the_setting_is_read_from_the_environment():
    from dashboard.settings import Settings
    assert Settings.from_env({"ZN_VERIFY_BEFORE_CLOSE": "true"}).verify_before_close
    assert not Settings.from_env({}).verify_before_close


# ---------------------------------------------------------------- 返工
def test_rework_after_a_failed_check_or_follow_up_is_counted_and_needs_a_reason(services):
    store = services.store
    iid = _order(services, "resolved")
    with pytest.raises(BadInput) as no_reason:
        store.act(iid, "rework", OFFICER)
    assert error_text(no_reason.value, "zh") == "返工须填写原因"
    after = store.act(iid, "rework", OFFICER, note="核查不通过：灯仍不亮")
    assert after.state == "in_progress" and after.rework_count == 1
    assert after.closed_at is None
    store.act(iid, "resolve", OFFICER)
    store.act(iid, "verify", OFFICER)
    assert store.act(iid, "rework", OFFICER, note="回访不满意").rework_count == 2
    assert [h["action"] for h in store.history(iid)].count("rework") == 2


# ---------------------------------------------------------------- 延期
@pytest.mark.parametrize(("text", "spec"), [
    ("48h", "48h"), ("48H 等待配件", "48h"), ("2d", "2d"), ("2天", "2d"), ("3wd", "3wd"),
    ("3个工作日 需协调", "3wd"), ("12小时", "12h")])
def test_an_extension_reads_its_duration_from_the_first_word_of_the_note(text, spec):
    assert parse_extension(text) == spec


@pytest.mark.parametrize("text", ["", "  ", "明天", "48", "0h", "91d", "h48", None, 48])
def test_a_duration_that_cannot_be_read_is_a_clear_refusal(text):
    with pytest.raises(BadInput) as refused:
        parse_extension(text)
    assert refused.value.code == "bad_duration"
    assert "48h" in error_text(refused.value, "zh") and "48h" in error_text(refused.value, "en")


def test_an_extension_is_asked_then_approved_and_moves_the_deadline(services):
    store = services.store
    iid = _order(services)
    before = store.incident(iid)["deadline_at"]
    asked = store.act(iid, "extend", "陈红梅", note="48h 等待更换灯杆")
    assert asked.extend_request == "48h" and asked.deadline_at == before
    code, zh, _ = _refusal(lambda: store.act(iid, "extend", "陈红梅", note="24h"))
    assert code == "extend_pending" and "48h" in zh
    approved = store.act(iid, "extend_ok", OFFICER)  # the duration asked for
    assert approved.deadline_at == before + timedelta(hours=48)
    assert approved.extend_count == 1 and approved.extend_request is None
    # The officer may approve another duration than asked, typed in the note.
    store.act(iid, "extend", "陈红梅", note="5天")
    again = store.act(iid, "extend_ok", OFFICER, note="2d")
    assert again.deadline_at == before + timedelta(hours=48 + 48) and again.extend_count == 2


def test_a_refused_extension_keeps_the_deadline_and_needs_a_reason(services):
    store = services.store
    iid = _order(services)
    before = store.incident(iid)["deadline_at"]
    code, zh, en = _refusal(lambda: store.act(iid, "extend_ok", OFFICER))
    assert code == "no_extend_request" and zh == "没有待审批的延期申请，不能批准延期"
    store.act(iid, "extend", "陈红梅", note="3d")
    with pytest.raises(BadInput):
        store.act(iid, "extend_no", OFFICER)
    refused = store.act(iid, "extend_no", OFFICER, note="工作量不大，按期完成")
    assert refused.extend_request is None and refused.deadline_at == before
    assert refused.extend_count == 0


# ---------------------------------------------------------------- 缓办 and 作废
def test_a_suspended_order_stops_its_clock_and_resumes_with_the_time_given_back(services):
    store = services.store
    iid = _order(services, "dispatched")
    deadline = store.incident(iid)["deadline_at"]
    on_hold = T0 + timedelta(hours=1)
    with pytest.raises(BadInput):
        store.act(iid, "suspend", OFFICER, now=on_hold)
    held = store.act(iid, "suspend", OFFICER, note="需列入明年预算", now=on_hold)
    assert held.state == "suspended"
    # Out of the duty queue and the overdue sweep while on hold, and never overdue.
    late = deadline + timedelta(days=10)
    assert iid not in [v.id for v in store.queue(now=late)]
    assert iid not in [v.id for v in store.supervise_overdue(now=late)]
    fact = kpis.WorkOrderFact(id=iid, state="suspended", created_at=T0, deadline_at=deadline)
    assert not kpis.is_overdue_at(fact, late)
    back = store.act(iid, "resume", OFFICER, now=on_hold + timedelta(days=3))
    assert back.state == "accepted"
    assert back.deadline_at == deadline + timedelta(days=3)


def test_void_needs_a_reason_and_counts_nowhere(services):
    store = services.store
    iid = _order(services, "reported", title="重复来电")
    code_zh = None
    with pytest.raises(BadInput) as no_reason:
        store.act(iid, "void", OFFICER)
    code_zh = error_text(no_reason.value, "zh")
    assert code_zh == "作废须填写原因"
    assert store.act(iid, "void", OFFICER, note="非本镇辖区").state == "void"
    fact = kpis.WorkOrderFact(id=iid, state="void", created_at=T0)
    w = kpis.Window("t", T0 - timedelta(hours=1), T0 + timedelta(days=1))
    assert kpis.figures([fact], w) == kpis.EMPTY
    with pytest.raises(TransitionError):
        store.act(iid, "accept", OFFICER)


# ---------------------------------------------------------------- the table offers them
def test_the_offered_steps_follow_the_state_and_the_pending_request():
    out = OrderFacts("in_progress", "grid", 0, None)
    assert {"extend", "suspend", "void", "resolve"} <= set(offered(out))
    assert not {"extend_ok", "extend_no", "verify", "resume"} & set(offered(out))
    pending = replace(out, extend_request="48h")
    assert {"extend_ok", "extend_no"} <= set(offered(pending))
    assert "extend" not in offered(pending)
    done = OrderFacts("resolved", "grid", 0, T0)
    assert {"verify", "close", "rework"} <= set(offered(done))
    assert "close" not in offered(done, verify_before_close=True)
    assert offered(OrderFacts("void", "grid", 0, None)) == ()
    assert offered(OrderFacts("closed", "grid", 0, T0)) == ()


# ---------------------------------------------------------------- one colour table
def test_every_state_has_one_colour_and_no_asset_keeps_a_copy():
    assert set(STATE_COLOURS) == set(STATES)
    css = state_colour_css()
    for state, colour in STATE_COLOURS.items():
        assert f"--st-{state}:{colour};" in css and f".st-{state}{{" in css
    keyed = re.compile(rf"\b({'|'.join(STATE_COLOURS)})[\"']?\s*:\s*[\"']#")
    badge = re.compile(r"\.st-[\w-]+\s*\{[^}]*#")
    for asset in (ROOT / "assets").glob("*.*"):
        if asset.suffix in (".js", ".css"):
            text = asset.read_text(encoding="utf-8")
            assert not keyed.search(text), f"{asset.name} keeps a table of state colours"
            assert not badge.search(text), f"{asset.name} colours a state badge itself"
    views = (ROOT / "dashboard" / "screens" / "views.py").read_text(encoding="utf-8")
    assert not any(c in views for c in STATE_COLOURS.values())


# ---------------------------------------------------------------- on the console
@pytest.fixture
def client(settings):
    with app_client(settings) as c:
        yield c


def test_the_console_sends_the_colours_and_offers_the_new_steps_as_buttons(client):
    svc = client.zn
    sign_in(client, svc, OFFICER, "officer")
    page = client.get("/dispatch")
    assert '<style id="zn-state-colours">' in page.text
    assert f"--st-suspended:{STATE_COLOURS['suspended']}" in page.text
    iid = _order(svc)
    body = json.dumps(show_incident(client, iid).json(), ensure_ascii=False)
    for action in ("extend", "suspend", "void", "resolve"):
        assert f"disp-act-{action}" in body
    assert "disp-act-extend_ok" not in body
    step_backdated(svc.store, iid, "extend", "陈红梅", note="48h")
    seen = console_context(client, iid)
    body = json.dumps(show_incident(client, iid).json(), ensure_ascii=False)
    assert "disp-act-extend_ok" in body and ACTIONS["extend_ok"].zh in body
    # The officer types another duration in the note; a word that is none is refused in
    # the officer's language and changes nothing.
    deadline = svc.store.incident(iid)["deadline_at"]
    bad = console_act(client, {"type": "disp-act", "action": "extend_ok"}, seen,
                      note="同意", lang="en")
    assert "cannot read the duration 同意" in json.dumps(bad.json(), ensure_ascii=False)
    assert svc.store.incident(iid)["deadline_at"] == deadline
    ok = console_act(client, {"type": "disp-act", "action": "extend_ok"}, seen, note="24h")
    assert ok.status_code == 200 and "disp-toast err" not in ok.text
    assert svc.store.incident(iid)["deadline_at"] == deadline + timedelta(hours=24)


def _stages(tree: Any) -> dict[str, str]:
    """data-stage → data-on-time of every stage mark in a callback's response."""
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        if "data-stage" in tree:
            out[tree["data-stage"]] = tree["data-on-time"]
        for value in tree.values():
            out.update(_stages(value))
    elif isinstance(tree, list):
        for value in tree:
            out.update(_stages(value))
    return out


def test_the_console_shows_each_stage_on_time_or_late_and_the_counts(client):
    svc = client.zn
    sign_in(client, svc, OFFICER, "officer")
    iid = _order(svc, "resolved")  # accepted and dispatched 5 min after the report
    step_backdated(svc.store, iid, "rework", OFFICER, note="核查不通过",
                   now=T0 + timedelta(hours=2))
    step_backdated(svc.store, iid, "extend", "陈红梅", note="48h", now=T0 + timedelta(hours=3))
    for lang, late, extend in (("zh", "核查 超时", "申请延期 48h，待审批"),
                               ("en", "Verify late", "48h asked, awaiting approval")):
        shown = show_incident(client, iid, lang).json()
        body = json.dumps(shown, ensure_ascii=False)
        assert ("立案 按时" if lang == "zh" else "Accept on time") in body
        # Resolved, then reworked: 处置 is undone past its deadline now, 核查 not begun.
        assert _stages(shown) == {"accept": "true", "dispatch": "true", "handle": "false",
                                  "verify": "none"}, body[:2000]
        assert late not in body and extend in body and "×1" in body


# ---------------------------------------------------------------- on PostgreSQL too
def test_the_migration_side_steps_and_evaluation_run_on_postgresql(private_pg):
    from dashboard.incidents.evaluation import indicators
    from dashboard.settings import Settings
    from datasources.sql.engine import make_engine
    from datasources.sql.evaluation import read_cases
    from datasources.sql.incidents import Store
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(private_pg.url)
    try:
        prepare_database(engine, Settings().town_dir)  # every migration, 0012 included
        store = Store(engine)
        report = IncidentReport(source="hotline", category="water", title="漏水",
                                lon=104.45, lat=30.55, reported_at=T0)
        hit = GridHit("G3-02", "V01", workers=("陈红梅",), rostered="陈红梅")
        iid = store.create_incident(report, hit, now=T0).incident.id
        deadline = store.incident(iid)["deadline_at"]
        for action, kw in (("accept", {}), ("dispatch", {"assignee": "陈红梅",
                                                         "assignee_id": "W003"}),
                           ("start", {}), ("extend", {"note": "2天"}), ("extend_ok", {}),
                           ("suspend", {"note": "等待汛期过后"}), ("resume", {}),
                           ("dispatch", {"assignee": "陈红梅", "assignee_id": "W003"}),
                           ("start", {}), ("resolve", {}), ("rework", {"note": "核查不通过"}),
                           ("resolve", {}), ("verify", {})):
            store.act(iid, action, OFFICER, now=T0 + timedelta(hours=1), **kw)
        order = store.incident(iid)
        assert order["state"] == "verified" and order["rework_count"] == 1
        assert order["deadline_at"] == deadline + timedelta(days=2)
        with store.session() as s:
            ind = indicators(read_cases(s, T0, T0 + timedelta(minutes=1)), T0 + timedelta(days=9))
        assert (ind.handled_on_time, ind.reworked, ind.extended) == (1, 1, 1)
    finally:
        engine.dispose()


def test_migration_0012_makes_old_unsatisfied_follow_ups_counted_rework(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010_key_scopes")
        conn.execute(text(
            "INSERT INTO incidents (id, ref, source, category, priority, title, description, "
            "lon, lat, state, level, urge_count, supervised, report_count, version, "
            "created_at, updated_at) VALUES (1, 'r1', 'hotline', 'water', 'normal', 't', '', "
            "104.45, 30.55, 'in_progress', 'grid', 0, 0, 1, 3, '2026-11-23', '2026-11-23')"))
        for n, action in enumerate(("accept", "reopen", "reopen")):
            conn.execute(text(
                "INSERT INTO incident_events (incident_id, at, actor, to_state, action, note) "
                f"VALUES (1, '2026-11-23 0{n}:00', 'x', 'in_progress', '{action}', '')"))
        command.upgrade(cfg, "head")
        actions = [a for (a,) in conn.execute(text(
            "SELECT action FROM incident_events ORDER BY id"))]
        counts = conn.execute(text(
            "SELECT rework_count, extend_count, extend_request FROM incidents")).one()
        command.downgrade(cfg, "0010_key_scopes")
        back = [a for (a,) in conn.execute(text("SELECT action FROM incident_events"))]
    engine.dispose()
    assert actions == ["accept", "rework", "rework"]
    assert tuple(counts) == (2, 0, None)
    assert back == ["accept", "reopen", "reopen"]


def test_the_systems_notes_since_the_officer_looked_do_not_refuse_their_step(client):
    """The overdue sweep's 督办 and the model's suggestion arrive while the officer reads
    the order: their click still goes. Another officer's step since is still a conflict
    naming who was first."""
    from sqlalchemy import update

    from dashboard.incidents.rules import SYSTEM
    from dashboard.incidents.suggest import Suggestion
    from datasources.sql import models as m
    from datasources.sql import suggestions

    svc = client.zn
    sign_in(client, svc, OFFICER, "officer")
    iid = _order(svc, "dispatched")
    seen = console_context(client, iid)
    assert seen["seen_event"] > 0
    # The overdue sweep comes after the officer looked (the app's own sweep may have
    # supervised the order before; it is made to again). The app's sweep runs meanwhile
    # and may take this step first: the sweep run here then skips it, and either way the
    # order's last step is the system's 督办.
    with svc.store.session() as s:
        s.execute(update(m.Incident).where(m.Incident.id == iid).values(supervised=False))
    svc.store.supervise_overdue()
    last = svc.store.history(iid)[-1]
    assert (last["action"], last["actor"]) == ("supervise", SYSTEM.name), last
    assert suggestions.save(svc.store, iid, Suggestion((("city_management", 0.9),), (), "t1"))
    ok = console_act(client, {"type": "disp-act", "action": "start"}, seen, lang="en")
    assert "disp-toast err" not in ok.text, ok.text[:400]
    assert svc.store.incident(iid)["state"] == "in_progress"
    # Now seen by an officer before another person's step: refused, naming them.
    seen = console_context(client, iid)
    svc.store.act(iid, "urge", "值班员李", note="请加快")
    late = console_act(client, {"type": "disp-act", "action": "resolve"}, seen,
                       note="已修复", lang="en")
    said = json.dumps(late.json(), ensure_ascii=False)
    assert "disp-toast err" in said and '值班员李 took the step \\"urge\\"' in said, said[:400]
    assert svc.store.incident(iid)["state"] == "in_progress"
