"""应急抽调 (issue 16): a duty officer calls up off-duty workers from the rota's call-up list
for an open work order; each is texted through the outbox (a real SMS gateway here), sees
it on /field and answers; the console reads who answered. Only an officer calls up; a
forged list, an unknown worker or another's answer is refused in words."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.buses.notify import NotifyConfig
from dashboard.geo.lookup import GridHit
from dashboard.grids.callup import MAX_CALLUP, CallupError, pick_callees, tally
from dashboard.messages import IncidentReport
from dashboard.roles import CURRENT, Principal
from datasources.outbound.senders import Notifier, senders_for
from pages._callup_parts import callup_refused
from tests.receiver import SmsGateway

OFFICER = Principal(role="officer", name="值班员甲", kind="user", user_id=7)
GRID = "G3-02"


def open_order(services: Any) -> Any:
    report = IncidentReport(source="grid_worker", category="water", title="河堤管涌",
                            lon=104.46, lat=30.55)
    return services.store.create_incident(report, GridHit(GRID, "V01")).incident


def worker(wid: str) -> Principal:
    return Principal(role="grid_worker", name=wid, kind="user", user_id=99, person_id=wid)


def test_pick_callees_takes_only_ids_offered_once_each():
    offered = [{"id": "W1", "name": "甲"}, {"id": "W2", "name": "乙"}]
    assert [w["id"] for w in pick_callees(offered, ["W2", "W1", "W2"])] == ["W2", "W1"]
    for chosen, code in (([], "callup_none"), (None, "callup_none"), ("W1", "callup_none"),
                         (["W9"], "callup_not_offered"), ([["W1"]], "callup_not_offered"),
                         ([{"id": "W1"}], "callup_not_offered"),
                         (["W1"] * (MAX_CALLUP + 1), "callup_many")):
        with pytest.raises(CallupError) as bad:
            pick_callees(offered, chosen)
        assert bad.value.code == code
        said = callup_refused(bad.value, "en")
        assert said and "{worker}" not in said and "{n}" not in said
    assert (tally(["coming", None, "cannot", "coming"]).waiting,
            tally([]).called) == (1, 0)


def test_an_officer_calls_up_workers_who_are_texted_and_answer_from_their_page(services):
    sms = SmsGateway()
    try:
        config = NotifyConfig.from_dict(sms.config())
        desk = services.callups
        desk.notify = config
        order = open_order(services)
        offered = desk.offered(order.id)
        assert offered and all(w["grid"] != GRID or w["name"] != services.rota
                               .worker_on_duty(GRID) for w in offered)
        chosen = [w["id"] for w in offered[:2]]
        token = CURRENT.set(OFFICER)
        try:
            done = desk.call_up(OFFICER, order.id, chosen, "zh")
        finally:
            CURRENT.reset(token)
        assert [m["id"] for m in done["members"]] == chosen
        phones = {w["id"]: w["phone"] for w in offered}
        assert done["texted"] == sum(1 for c in chosen if phones[c])
        Notifier(services.outbox, senders_for(config)).run_once()
        for wid in chosen:
            if phones[wid]:
                [text] = sms.texts_to(phones[wid])
                assert "应急抽调" in text and order.ref in text
        # Each worker sees it among their own call-ups, and answers.
        mine = desk.callups.for_worker(chosen[0])
        assert [(c["ref"], c["answer"]) for c in mine] == [(order.ref, None)]
        assert desk.answer(worker(chosen[0]), mine[0]["callup"], "coming") == order.id
        # Another worker cannot answer for them; an answer is one of two words.
        with pytest.raises(CallupError) as not_theirs:
            desk.answer(worker("W999"), mine[0]["callup"], "cannot")
        assert callup_refused(not_theirs.value, "zh") == "这条抽调不是给您的"
        with pytest.raises(CallupError):
            desk.answer(worker(chosen[1]), mine[0]["callup"], "maybe")
        answers = {c["worker_id"]: c["answer"] for c in desk.callups.for_incident(order.id)}
        assert answers == {chosen[0]: "coming", chosen[1]: None}
        entry = [r for r in services.audit.search(action="callup")][0]
        assert entry["actor"] == "值班员甲" and entry["target"] == order.ref
    finally:
        sms.close()


def test_only_an_officer_calls_up_and_never_for_a_closed_order_or_an_unoffered_worker(
        services):
    desk = services.callups
    order = open_order(services)
    offered = desk.offered(order.id)
    for role in ("admin", "leader", "grid_worker", "display", "handler"):
        with pytest.raises(CallupError) as refused:
            desk.call_up(Principal(role=role, name=role), order.id, [offered[0]["id"]])
        assert refused.value.code == "callup_role"
    with pytest.raises(CallupError) as on_duty:
        desk.call_up(OFFICER, order.id, [services.rota.duty_id(GRID)])
    assert on_duty.value.code == "callup_not_offered"  # on duty: not on the list
    with pytest.raises(CallupError) as gone:
        desk.call_up(OFFICER, 987654, [offered[0]["id"]])
    assert gone.value.code == "callup_closed"
    # A worker on leave is not offered.
    day = services.rota.table(GRID, "2000-01-01", 1)
    assert day == []
    away = offered[0]["id"]
    from dashboard.grids.rota import shift_at
    from dashboard.timeutil import utcnow
    from datasources.sql import models as m

    today, _ = shift_at(utcnow())
    with services.rota.store.session() as s:
        s.add(m.RotaLeave(worker_id=away, start_day=today, end_day=today, reason="病假",
                          created_at=utcnow()))
    assert away not in {w["id"] for w in desk.offered(order.id)}


def _post_callup(client: Any, chosen: Any, seen: Any) -> Any:
    from tests.auth_helpers import post_callback

    return post_callback(
        client, [("cu-msg", "children"), ("cu-msg", "className"), ("cu-tick", "data")],
        [{"id": "cu-go", "property": "n_clicks", "value": 1}],
        [{"id": "cu-pick", "property": "value", "value": chosen},
         {"id": "disp-ctx", "property": "data", "value": seen},
         {"id": "disp-lang", "property": "data", "value": "en"}], "cu-go.n_clicks")


def test_the_console_refuses_forged_call_ups_in_words(client, services):
    from tests.auth_helpers import sign_in

    sign_in(client, services, "值班员乙", "officer")
    order = open_order(services)
    good = services.callups.offered(order.id)[0]["id"]
    for chosen, seen in (([good], None), ([good], {"id": "x"}), ([good], {"id": [1]}),
                         ("W002", {"id": order.id}), ([["W002"]], {"id": order.id}),
                         (["W999"], {"id": order.id}), ([], {"id": order.id}),
                         ([good] * 50, {"id": order.id}), ([good], {"id": 10**30})):
        r = _post_callup(client, chosen, seen)
        assert r.status_code == 200, (chosen, seen, r.status_code, r.text[:200])
        assert r.json()["response"]["cu-msg"]["className"] == "cu-msg bad", (chosen, seen)
    assert services.callups.callups.for_incident(order.id) == []
    r = _post_callup(client, [good], {"id": order.id})
    assert r.json()["response"]["cu-msg"]["children"].startswith("1 called up")
