"""Intake over real Redis and a real database: commit first, publish after, reject clearly."""

from __future__ import annotations

import json
import time

from dashboard.messages import parse_event


def _listen(services):
    """A subscriber to the events channel, subscribed once this returns."""
    pubsub = services.bus.r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(services.bus.ch.events)
    pubsub.get_message(timeout=1)  # reads the subscribe notice (returns None for it)
    return pubsub


def _events(pubsub, quiet_s: float = 0.5) -> list:
    """Events received until the channel has been quiet for `quiet_s`."""
    out = []
    deadline = time.monotonic() + quiet_s
    while time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.05)
        if msg is not None:
            out.append(parse_event(msg["data"]))
            deadline = time.monotonic() + quiet_s
    return out


def report(**kw) -> str:
    body = {"type": "incident.report", "source": "hotline", "category": "traffic",
            "title": "红绿灯故障", "lon": 104.45, "lat": 30.55, **kw}
    return json.dumps(body, ensure_ascii=False)


def test_good_report_is_committed_then_published_with_the_next_sequence_number(services):
    pubsub = _listen(services)
    outcome = services.intake.handle_raw(report(msg_id="hotline-0001"))
    assert outcome.event is not None
    events = _events(pubsub)
    assert [e.type for e in events] == ["incident.created"]
    assert events[0].seq == services.bus.current_seq()
    assert events[0].incident.grid is not None
    # The work order names the grid's worker on duty (a daily rotation until rotas exist).
    cell = next(c for c in services.store.grid_cells() if c.code == events[0].incident.grid)
    assert events[0].incident.grid_worker in {w["name"] for w in cell.workers}
    assert services.store.history(events[0].incident.id)[0]["to"] == "reported"


def test_bad_messages_are_counted_and_the_good_ones_around_them_survive(services):
    intake = services.intake
    results = [intake.handle_raw(raw) for raw in (
        report(title="第一条"),
        "{broken",
        report(title="越界", lon=110.0),
        report(title="<b>x</b>"),
        report(title="第二条"),
        json.dumps({"type": "incident.progress", "incident_id": 424242, "to_state": "accepted",
                    "actor": "值班员"}),
    )]
    assert [r.rejected for r in results] == [None, "bad_json", "outside_town", "invalid", None,
                                             "unknown_id"]
    assert services.bus.rejected_counts() == {"bad_json": 1, "outside_town": 1, "invalid": 1,
                                              "unknown_id": 1}
    assert services.store.kpis().today.received == 2


def test_the_same_delivery_is_handled_once_but_distinct_msg_ids_are_not_merged(services):
    intake = services.intake
    move = {"type": "stock.movement", "station": "EC-00", "sku": "FL-SB", "delta": -2,
            "reason": "防汛发放"}
    first = intake.handle_raw(json.dumps({**move, "msg_id": "move-00000001"}))
    again = intake.handle_raw(json.dumps({**move, "msg_id": "move-00000001"}))
    other = intake.handle_raw(json.dumps({**move, "msg_id": "move-00000002"}))
    assert first.event and again.skipped and other.event
    assert len(services.store.movements("EC-00", "FL-SB")) == 2


def test_duplicate_source_ref_is_rejected_as_duplicate(services):
    intake = services.intake
    assert intake.handle_raw(report(source_ref="12345-778", msg_id="d-0000001")).event
    dup = intake.handle_raw(report(source_ref="12345-778", msg_id="d-0000002"))
    assert dup.rejected == "duplicate" and "12345-778" in dup.detail


def test_stock_movement_that_would_go_negative_is_refused(services):
    outcome = services.intake.handle_raw(json.dumps(
        {"type": "stock.movement", "station": "EC-00", "sku": "FL-SB", "delta": -100000,
         "reason": "错误出库"}))
    assert outcome.rejected == "stock_negative"


def test_a_progress_message_dispatches_to_a_person_by_id(services):
    created = services.intake.handle_raw(report(msg_id="hotline-0100")).event.incident
    for to_state, extra in (("accepted", {}),
                            ("dispatched", {"assignee": "冯思远", "assignee_id": "W001"})):
        body = {"type": "incident.progress", "incident_id": created.id, "to_state": to_state,
                "actor": "系统模拟", **extra}
        assert services.intake.handle_raw(json.dumps(body, ensure_ascii=False)).event
    assert [v.id for v in services.store.assigned_to("W001")] == [created.id]
    bad = {"type": "incident.progress", "incident_id": created.id, "to_state": "in_progress",
           "actor": "x", "assignee_id": "<W001>"}
    assert services.intake.handle_raw(json.dumps(bad)).rejected == "invalid"


def test_a_progress_message_hands_work_only_to_a_person_or_team_of_the_register(services):
    """The Redis door named the assignee as the message did: any string became the work
    order's assignee (a stranger's name on the wall, a task no phone would ever show)."""
    created = services.intake.handle_raw(report(msg_id="hotline-0101")).event.incident
    step = {"type": "incident.progress", "incident_id": created.id, "actor": "系统模拟"}
    assert services.intake.handle_raw(json.dumps({**step, "to_state": "accepted"})).event
    for stranger in ({"assignee": "不存在的人"}, {"assignee_id": "W999"},
                     {"assignee": "冯思远", "assignee_id": "team:NOPE"}):
        refused = services.intake.handle_raw(json.dumps(
            {**step, "to_state": "dispatched", **stranger}, ensure_ascii=False))
        assert refused.rejected == "unknown_assignee", stranger
    assert services.store.incident(created.id)["state"] == "accepted"
    # A name the register holds once is taken as that person, named as the register names
    # them; an id wins over whatever name the message gives.
    done = services.intake.handle_raw(json.dumps(
        {**step, "to_state": "dispatched", "assignee": "冯思远"}, ensure_ascii=False))
    assert (done.event.incident.assignee, done.event.incident.assignee_id) == ("冯思远", "W001")
    again = services.intake.handle_raw(json.dumps(
        {**step, "to_state": "in_progress", "assignee": "冒名", "assignee_id": "W001"},
        ensure_ascii=False))
    assert again.event is not None
    assert services.bus.rejected_counts().get("unknown_assignee") == 3
