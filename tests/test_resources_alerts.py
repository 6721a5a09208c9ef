"""The resource desk on real Redis and a real database: each step is announced with the
station's row, and low stock or expiry becomes one 安全生产 work order per item and episode."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from tests.test_intake import _events, _listen


def test_each_step_publishes_the_station_row(services):
    desk = services.resources
    inc = services.store.create_incident(
        IncidentReport(source="hotline", category="water", title="内涝", lon=104.45, lat=30.55),
        GridHit("G3-01", "V01")).incident
    sub = _listen(services)
    team = desk.res.station("ES-01")["teams"][0]["code"]
    d = desk.dispatch(inc.id, "ES-01", [team], {"FL-SB": 20}, "值班员王")
    events = [e for e in _events(sub) if e.type == "station.changed"]
    assert len(events) == 1 and events[0].station["code"] == "ES-01"
    sandbags = next(i for i in events[0].station["items"] if i["sku"] == "FL-SB")
    assert sandbags["reserved"] == 20
    assert events[0].station["teams"][0]["status"] == "en_route"
    desk.depart(d["id"], "值班员王")
    desk.give_back(d["id"], "值班员王")
    rows = [e.station for e in _events(sub) if e.type == "station.changed"]
    assert [next(i["out"] for i in r["items"] if i["sku"] == "FL-SB") for r in rows] == [20, 0]
    assert rows[-1]["teams"][0]["status"] == "standby"
    sub.close()


def test_low_stock_raises_one_work_safety_order_per_episode(services):
    desk = services.resources
    item = next(i for i in desk.res.station("ES-01")["items"] if i["sku"] == "SH-TN")
    drop = item["quantity"] - item["min_level"] + 1
    desk.issue("ES-01", "SH-TN", drop, "仓管李", "调拨")  # one below the minimum
    desk.issue("ES-01", "SH-TN", 1, "仓管李", "领用")  # still low: same episode
    alerts = [a for a in desk.open_alerts() if a["sku"] == "SH-TN"]
    assert len(alerts) == 1 and alerts[0]["kind"] == "low"
    inc = services.store.incident(alerts[0]["incident_id"])
    assert inc["category"] == "work_safety" and inc["source"] == "resources"
    assert "帐篷" in inc["title"] and inc["priority"] == "high"
    desk.receive("ES-01", "SH-TN", 10, "仓管李")  # back above: the episode ends
    assert not [a for a in desk.open_alerts() if a["sku"] == "SH-TN"]
    desk.issue("ES-01", "SH-TN", 10, "仓管李", "再次调拨")  # a new episode, a new order
    assert services.store.kpis().today.received == 2


def test_racing_checks_raise_an_alert_once(services):
    desk = services.resources
    item = next(i for i in desk.res.station("ES-02")["items"] if i["sku"] == "FL-SB")
    desk.res.issue("ES-02", "FL-SB", item["quantity"] - 1, "仓管李", "调拨")  # no check yet
    with ThreadPoolExecutor(max_workers=6) as pool:
        raised = list(pool.map(lambda _: desk.check("ES-02", "FL-SB"), range(12)))
    assert sum(len(r) for r in raised) == 1
    assert services.store.kpis().today.received == 1


def test_the_sweep_raises_the_demo_towns_expiring_items_once(services):
    desk = services.resources
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    first = desk.sweep(now=now, force=True)
    assert first and desk.sweep(now=now, force=True) == []
    kinds = {(a["station"], a["sku"], a["kind"]) for a in desk.open_alerts()}
    assert ("ES-01", "GE-NF", "expiry") in kinds  # the demo story: noodles expire in 13 days
    assert ("ES-03", "FL-SB", "low") in kinds  # and Heba is short of sandbags
    assert desk.sweep() == []  # the periodic call waits for its period
    assert json.dumps(first, ensure_ascii=False)


def test_a_source_s_stock_movement_through_intake_is_checked_too(services):
    from dashboard.messages import StockMovement

    item = next(i for i in services.resources.res.station("ES-04")["items"]
                if i["sku"] == "FL-SB")
    drop = item["quantity"] - item["min_level"] + 1
    outcome = services.intake.handle(StockMovement(station="ES-04", sku="FL-SB", delta=-drop,
                                                   reason="调拨", actor="仓库系统"))
    assert outcome.event is not None and outcome.event.type == "stock.changed"
    alerts = [a for a in services.resources.open_alerts() if a["station"] == "ES-04"]
    assert [(a["sku"], a["kind"]) for a in alerts] == [("FL-SB", "low")]


def test_reserved_stock_below_the_minimum_is_low_for_every_reader(services):
    """Reserving takes stock off what is available: the desk's alert, readiness, the wall's
    card, the /resources table and the daily brief all call it low (the brief once did not)."""
    from dashboard.resources.readiness import readiness_rows
    from dashboard.resources.stock import Stock
    from dashboard.screens.live import LiveState
    from dashboard.screens.views import station_cards
    from dashboard.timeutil import LOCAL_TZ, utcnow

    desk = services.resources
    item = next(i for i in desk.res.station("ES-01")["items"] if i["sku"] == "FL-SB")
    hold = item["quantity"] - item["min_level"] + 1  # on hand stays at or above the minimum
    inc = services.store.create_incident(
        IncidentReport(source="hotline", category="water", title="内涝", lon=104.45, lat=30.55),
        GridHit("G3-01", "V01")).incident
    team = desk.res.station("ES-01")["teams"][0]["code"]
    desk.dispatch(inc.id, "ES-01", [team], {"FL-SB": hold}, "值班员王")
    row = desk.res.station("ES-01")
    held = next(i for i in row["items"] if i["sku"] == "FL-SB")
    assert held["quantity"] >= held["min_level"] and Stock.of(held).low
    assert [a["kind"] for a in desk.open_alerts() if a["sku"] == "FL-SB"] == ["low"]
    assert readiness_rows([row], "zh", utcnow())[0]["low"] >= 1
    state = LiveState()
    state.stations = [row]
    card = next(i for i in station_cards(state, "zh")[0]["items"] if i["sku"] == "FL-SB")
    assert card["low"] and card["quantity"] == held["quantity"] - hold
    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    brief = services.briefs.record(today)
    listed = [s for s in brief["stock"] if s["station"] == row["name"] and s["item"] == "沙袋"]
    assert [s["quantity"] for s in listed] == [f"{held['quantity'] - hold}袋"]
