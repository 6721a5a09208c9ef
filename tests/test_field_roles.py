"""The hand-over by id and the role rule through every door (issue 11).

A work order dispatched from the duty console to the rota's worker reaches that worker's
task list and takes their field steps; a grid worker's every non-field step is refused by
every door that takes steps, and nothing changes in the record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import BadInput, Refused
from dashboard.incidents.lifecycle import ACTIONS, FIELD_STEPS
from dashboard.incidents.rules import (
    CHECK_STEPS,
    Actor,
    check_may_take,
    field_steps_in,
    may_take,
)
from dashboard.messages import IncidentReport
from tests.auth_helpers import (
    console_act,
    console_context,
    csrf,
    pattern_id,
    post_callback,
    sign_in,
)
from tests.browser import app_client, wait_until

WORKER, WORKER_ID = "陈红梅", "W003"  # of G3-02 in the demo town (with 李春梅, W002)
NON_FIELD = tuple(a for a in ACTIONS if a not in FIELD_STEPS)


@pytest.fixture
def client(settings):
    """The real app in-process, with the rota's worker's account linked to its person."""
    with app_client(settings) as c:
        c.zn.accounts.add_user(WORKER, "grid_worker", "test-password", person_id=WORKER_ID)
        yield c


def _reported(svc: Any, title: str = "自来水管爆裂") -> int:
    # The rota puts 陈红梅 on duty in G3-02 now: the console, reading the live rota,
    # recommends her first.
    from dashboard.grids.rota import shift_at
    from dashboard.timeutil import utcnow
    from datasources.sql import models as m

    day, shift = shift_at(utcnow())
    with svc.store.session() as s:
        row = s.query(m.GridRota).filter_by(grid_code="G3-02", day=day, shift=shift).one()
        row.worker_id, row.worker_name = WORKER_ID, WORKER
    report = IncidentReport(source="hotline", category="water", title=title,
                            lon=104.45, lat=30.55)
    hit = GridHit("G3-02", "V01", workers=("李春梅", WORKER), rostered=WORKER)
    return svc.store.create_incident(report, hit).incident.id


def field_click(client: TestClient, incident_id: int, action: str, note: str = "") -> Any:
    """The /field page's report_field_step callback for one clicked step button."""
    trigger = {"type": "field-act", "incident": incident_id, "action": action}
    return post_callback(client, [("field-result", "children"), ("field-note", "value")],
                     [[{"id": trigger, "property": "n_clicks", "value": 1}]],
                     [{"id": "field-name-store", "property": "data", "value": "W001"},
                      {"id": "field-note", "property": "value", "value": note},
                      {"id": "field-photo", "property": "value", "value": ""},
                      {"id": "field-lang", "property": "data", "value": "zh"}],
                     pattern_id(trigger) + ".n_clicks")


def _field_api(client: TestClient, incident_id: int, action: str, lang: str = "zh",
               **body: Any) -> Any:
    return client.post(f"/api/v1/field/incidents/{incident_id}/{action}",
                       content=json.dumps(body, ensure_ascii=False),
                       headers={"X-CSRFToken": csrf(client), "Accept-Language": lang})


def _as_worker(client: TestClient) -> None:
    sign_in(client, client.zn, WORKER, "grid_worker")


def _as_officer(client: TestClient) -> None:
    sign_in(client, client.zn, "值班员王", "officer")


# ---------------------------------------------------------------- the hand-over
def test_an_order_dispatched_from_the_console_reaches_the_rotas_worker(client):
    svc = client.zn
    incident_id = _reported(svc)
    _as_officer(client)
    seen = console_context(client, incident_id)
    assert seen["recs"][0] == {"id": WORKER_ID, "name": WORKER}
    done = console_act(client, {"type": "disp-rec", "index": 0}, seen)
    assert "disp-toast ok" in done.text, done.text
    order = svc.store.incident(incident_id)
    assert (order["state"], order["assignee_id"], order["assignee"]) == \
        ("dispatched", WORKER_ID, WORKER)

    _as_worker(client)
    tasks = client.get("/api/v1/field/tasks").json()
    assert [t["id"] for t in tasks] == [incident_id]
    for action, state in (("ack", "dispatched"), ("start", "in_progress"),
                          ("resolve", "resolved")):
        r = _field_api(client, incident_id, action)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == state
    history = svc.store.history(incident_id)
    assert [h["action"] for h in history][-5:] == ["accept", "dispatch", "ack", "start",
                                                   "resolve"]
    worker_id = svc.accounts.user(WORKER).id
    officer_id = svc.accounts.user("值班员王").id
    assert [h["actor_user_id"] for h in history][-5:] == [officer_id] * 2 + [worker_id] * 3
    # The audit keeps the account beside the name, too.
    from datasources.sql import models as m

    with svc.store.session() as s:
        audited = {(a.action, a.actor_user_id) for a in s.query(m.AuditEntry)}
    assert {("incident.dispatch", officer_id), ("incident.resolve", worker_id)} <= audited
    assert client.get("/api/v1/field/tasks").json() == []


def test_a_worker_sees_only_their_own_person_id_whatever_they_ask(client):
    svc = client.zn
    incident_id = _reported(svc)
    svc.intake.act(incident_id, "accept", "值班员王")
    svc.intake.act(incident_id, "dispatch", "值班员王", assignee=WORKER, assignee_id=WORKER_ID)
    # Another account called by the same name but linked to another person sees nothing.
    svc.accounts.add_user("陈红梅2", "grid_worker", "test-password", person_id="W002",
                          display_name=WORKER)
    sign_in(client, svc, "陈红梅2", "grid_worker")
    assert client.get("/api/v1/field/tasks", params={"person": WORKER_ID}).json() == []
    r = _field_api(client, incident_id, "ack")
    assert r.status_code == 403 and r.json()["error"] == "not_assignee"
    assert r.json()["message"] == "该工单未派给您"


# ---------------------------------------------------------------- every door refuses
def _order_for(svc: Any, action: str) -> int:
    """A work order of the worker where `action` is allowed by the loop (so only the role
    rule can refuse it)."""
    incident_id = _reported(svc, f"测试{action}")
    sources = ACTIONS[action].sources
    if action == "resume":
        svc.intake.act(incident_id, "suspend", "值班员王", note="等待汛期过后")
        return incident_id
    # Along the loop until the action's table allows it (out with the worker, if it can be).
    for step in ("accept", "dispatch", "start", "resolve"):
        state = svc.store.incident(incident_id)["state"]
        if state in sources and (state == "dispatched" or "dispatched" not in sources):
            break
        svc.intake.act(incident_id, step, "值班员王",
                       **({"assignee": WORKER, "assignee_id": WORKER_ID}
                          if step == "dispatch" else {}))
    if action in ("extend_ok", "extend_no"):  # these need a pending request
        svc.intake.act(incident_id, "extend", "值班员王", note="48h")
    return incident_id


def _record(svc: Any, incident_id: int) -> tuple[Any, ...]:
    order = svc.store.incident(incident_id)
    return order["version"], order["state"], len(svc.store.history(incident_id))


def test_a_grid_worker_takes_no_desk_step_through_any_door(client):
    for action in NON_FIELD:
        _refused_everywhere(client, action)


def _refused_everywhere(client: TestClient, action: str) -> None:
    svc = client.zn
    incident_id = _order_for(svc, action)
    before = _record(svc, incident_id)
    seen = {"id": incident_id, "ref": "x", "version": before[0],
            "state": before[1], "recs": [{"id": WORKER_ID, "name": WORKER}]}
    _as_worker(client)

    page = field_click(client, incident_id, action, note="我来处理")
    assert page.status_code == 200, page.text
    shown = _text(page)
    assert "field-error" in shown and ("不是现场操作" in shown or (
        action in CHECK_STEPS and "核查" in shown)), shown

    api = _field_api(client, incident_id, action, note="我来处理")
    assert api.status_code == 403, api.text
    # 核查 is the phone's too, but not of one's own handling (rules.may_check).
    assert api.json()["error"] == ("not_your_check" if action in CHECK_STEPS
                                   else "not_field_step")

    for trigger in ({"type": "disp-act", "action": action}, {"type": "disp-rec", "index": 0}):
        assert console_act(client, trigger, seen, note="我来处理",
                           satisfaction=5).status_code == 403

    json_api = client.post("/api/v1/incidents", headers={"X-CSRFToken": csrf(client)},
                           content=json.dumps({"type": "incident.progress",
                                               "incident_id": incident_id,
                                               "to_state": ACTIONS[action].target or "accepted",
                                               "actor": WORKER}))
    assert json_api.status_code == 403
    assert client.get(f"/api/v1/incidents/{incident_id}").status_code == 403

    assert _record(svc, incident_id) == before, action


def _text(r: Any) -> str:
    return json.dumps(r.json(), ensure_ascii=False)


def test_the_role_rule_is_one_pure_function():
    for action in ACTIONS:
        assert may_take("officer", action, False) and may_take("admin", action, False)
        assert may_take("leader", action, False) == (action == "note")
        assert may_take("grid_worker", action, True) == (action in FIELD_STEPS)
        assert not may_take("grid_worker", action, False)
        assert not may_take("display", action, True) and not may_take("ingest", action, True)
    # The phone's buttons follow the loop: what the state allows of the field steps.
    assert field_steps_in("dispatched") == ("ack", "start", "note", "extend")
    assert field_steps_in("in_progress") == ("note", "extend", "resolve")
    assert field_steps_in("resolved") == ()
    with pytest.raises(Refused) as other:
        check_may_take("grid_worker", "ack", False)
    assert other.value.code == "not_assignee"
    with pytest.raises(Refused) as desk:
        check_may_take("leader", "dispatch", False)
    assert desk.value.code == "role_action" and desk.value.params["action"] == "dispatch"


# ---------------------------------------------------------------- the console's rules
def test_a_return_needs_a_note_and_a_close_a_score_in_both_languages(client):
    svc = client.zn
    returned = _order_for(svc, "return")
    closing = _order_for(svc, "close")
    _as_officer(client)
    for incident_id, action, lang, text in (
            (returned, "return", "zh", "退回须填写原因"),
            (returned, "return", "en", "a return needs a note"),
            (closing, "close", "zh", "回访办结须选择满意度（1–5 分）"),
            (closing, "close", "en", "a close needs a satisfaction score (1–5)")):
        before = _record(svc, incident_id)
        seen = {"id": incident_id, "ref": "x", "version": before[0], "state": before[1],
                "recs": []}
        r = console_act(client, {"type": "disp-act", "action": action}, seen, lang=lang)
        assert r.status_code == 200 and "disp-toast err" in _text(r), _text(r)
        assert text in _text(r)
        assert _record(svc, incident_id) == before
    # The store holds the same rules for every other path (the simulator, the CLI...).
    with pytest.raises(BadInput) as no_note:
        svc.store.act(returned, "return", Actor("值班员王"))
    assert no_note.value.code == "note_required"
    with pytest.raises(BadInput) as no_score:
        svc.store.act(closing, "close", "值班员王", satisfaction=7)
    assert no_score.value.code == "satisfaction_required"


def test_a_field_step_without_a_text_note_is_refused_in_the_requesters_language(client):
    svc = client.zn
    incident_id = _order_for(svc, "note")
    _as_worker(client)
    r = _field_api(client, incident_id, "note", lang="en")
    assert r.status_code == 400 and r.json()["message"] == "write the note first"


# ---------------------------------------------------------------- work-order numbers
def test_a_work_order_reported_at_1am_beijing_carries_that_beijing_date(services):
    at = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 2026-03-05 01:00 in Asia/Shanghai
    report = IncidentReport(source="hotline", category="water", title="夜间漏水",
                            lon=104.45, lat=30.55, reported_at=at)
    inc = services.store.create_incident(report, GridHit("G3-01", "V01"),
                                         now=datetime(2026, 3, 4, 17, 5, tzinfo=UTC)).incident
    assert inc.ref.startswith("20260305-"), inc.ref


# ---------------------------------------------------------------- 核查 (issue 14)
CHECKER, CHECKER_ID = "李春梅", "W002"  # the other worker of G3-02
ELSEWHERE = "冯思远"  # W001, of G3-01


def test_the_grids_other_worker_checks_the_handling_on_the_phone(client):
    """核查: 陈红梅 resolved it; 李春梅, of the same grid, has it in her checks, must say why
    it failed, and passes it; nobody checks their own handling or another grid's."""
    svc = client.zn
    svc.accounts.add_user(CHECKER, "grid_worker", "test-password", person_id=CHECKER_ID)
    svc.accounts.add_user(ELSEWHERE, "grid_worker", "test-password", person_id="W001")
    first, second = _reported(svc, "井盖破损"), _reported(svc, "路灯不亮")
    for incident_id in (first, second):
        for step in ("accept", "dispatch", "start", "resolve"):
            svc.intake.act(incident_id, step, "值班员王",
                           **({"assignee": WORKER, "assignee_id": WORKER_ID}
                              if step == "dispatch" else {}))
    # The one who handled it does not check it.
    _as_worker(client)
    assert client.get("/api/v1/field/checks").json() == []
    mine = _field_api(client, first, "verify")
    assert mine.status_code == 403 and mine.json()["error"] == "not_your_check"
    # Another grid's worker neither.
    sign_in(client, svc, ELSEWHERE, "grid_worker")
    assert client.get("/api/v1/field/checks").json() == []
    assert _field_api(client, first, "verify").status_code == 403
    # The grid's other worker: both to check; a failed check needs the reason.
    sign_in(client, svc, CHECKER, "grid_worker")
    assert {v["id"] for v in client.get("/api/v1/field/checks").json()} == {first, second}
    why = _field_api(client, second, "rework", lang="en")
    assert why.status_code == 400, why.text
    failed = _field_api(client, second, "rework", note="井盖仍未更换")
    assert failed.status_code == 200 and failed.json()["state"] == "in_progress"
    # On her phone: the grid's order to check, with its two buttons; she passes it there.
    def phone() -> str:
        r = post_callback(client, [("field-tasks", "children"), ("field-shown", "data")],
                          [{"id": "field-tick", "property": "n_intervals", "value": 1},
                           {"id": "field-live", "property": "data", "value": None},
                           {"id": "field-name-store", "property": "data",
                            "value": CHECKER_ID}],
                          [{"id": "field-lang", "property": "data", "value": "zh"},
                           {"id": "field-shown", "property": "data", "value": None}],
                          "field-tick.n_intervals")
        return json.dumps(r.json(), ensure_ascii=False)
    cards = wait_until(lambda: (lambda x: x if "待核查" in x and "井盖破损" in x else None)(
        phone()), 10, "the check on her phone")
    assert '"action": "verify"' in cards and '"action": "rework"' in cards
    assert "路灯不亮" not in cards  # sent back for rework: not hers to check now
    passed = field_click(client, first, "verify", note="已到现场核实")
    assert "核查通过 ✓" in _text(passed), _text(passed)
    assert svc.store.incident(first)["state"] == "verified"
    assert client.get("/api/v1/field/checks").json() == []
    order = svc.store.incident(second)
    assert order["rework_count"] == 1 and order["assignee_id"] == WORKER_ID
    steps = [(h["action"], h["actor"]) for h in svc.store.history(first)]
    assert steps[-1][0] == "verify" and CHECKER in steps[-1][1]
