"""Stock arithmetic, reservations and resource dispatches on a real database (SQLite, or
PostgreSQL with DATABASE_URL): never negative, every change in the ledger, races lost cleanly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import NotFound
from dashboard.messages import IncidentReport
from dashboard.resources.errors import StockError, says
from datasources.sql.resources import ResourceError, Resources

STATION = "ES-01"


def _incident(services, category: str = "water") -> int:
    report = IncidentReport(source="hotline", category=category, title="河水漫堤",
                            lon=104.45, lat=30.55)
    return services.store.create_incident(report, GridHit("G3-01", "V01")).incident.id


def _item(res: Resources, sku: str, station: str = STATION) -> dict:
    return next(i for i in res.station(station)["items"] if i["sku"] == sku)


def _standby_teams(res: Resources, station: str = STATION) -> list[str]:
    return [t["code"] for t in res.station(station)["teams"] if t["status"] == "standby"]


def test_receive_issue_and_adjust_are_ledger_rows_and_adjust_needs_a_reason(services):
    res = Resources(services.store)
    start = _item(res, "FL-SB")["quantity"]
    res.receive(STATION, "FL-SB", 100, "仓管李", batch="2026-11")
    res.issue(STATION, "FL-SB", 30, "仓管李", "村道加固")
    with pytest.raises(ResourceError):
        res.adjust(STATION, "FL-SB", -5, "仓管李", "  ")
    res.adjust(STATION, "FL-SB", -5, "仓管李", "盘点破损")
    item = _item(res, "FL-SB")
    assert item["quantity"] == start + 65 and item["batch"] == "2026-11"
    ledger = res.ledger(STATION, "FL-SB")
    assert [(r["kind"], r["delta"], r["after"]) for r in reversed(ledger)] == [
        ("receive", 100, start + 100), ("issue", -30, start + 70), ("adjust", -5, start + 65)]
    assert ledger[0]["reason"] == "盘点破损"
    with pytest.raises(StockError):
        res.issue(STATION, "FL-SB", start + 66, "仓管李", "太多")
    with pytest.raises(NotFound):
        res.receive(STATION, "NO-SUCH", 1, "仓管李")
    assert len(res.ledger(STATION, "FL-SB")) == 3


def test_reserve_depart_return_moves_stock_out_and_back_in_the_incident_history(services):
    res = Resources(services.store)
    incident = _incident(services)
    teams = _standby_teams(res)[:2]
    start = _item(res, "FL-SB")
    d = res.dispatch(incident, STATION, teams, {"FL-SB": 20}, "值班员王")
    item = _item(res, "FL-SB")
    assert (item["quantity"], item["reserved"], item["out"]) == (start["quantity"], 20, 0)
    assert {t["code"]: t["status"] for t in res.station(STATION)["teams"]
            if t["code"] in teams} == dict.fromkeys(teams, "en_route")
    # Reserved stock is not available to anyone else, nor to an ordinary issue.
    with pytest.raises(StockError):
        res.issue(STATION, "FL-SB", start["quantity"] - 19, "仓管李", "领用")
    res.depart(d["id"], "值班员王")
    item = _item(res, "FL-SB")
    assert (item["quantity"], item["reserved"], item["out"]) == (start["quantity"] - 20, 0, 20)
    with pytest.raises(ResourceError):
        res.depart(d["id"], "值班员王")  # already gone
    res.give_back(d["id"], "值班员王", consumed={"FL-SB": 5})
    item = _item(res, "FL-SB")
    assert (item["quantity"], item["reserved"], item["out"]) == (start["quantity"] - 5, 0, 0)
    assert all(t["status"] == "standby" for t in res.station(STATION)["teams"])
    kinds = [r["kind"] for r in reversed(res.ledger(STATION, "FL-SB"))]
    assert kinds == ["reserve", "depart", "return", "consume"]
    history = services.store.history(incident)
    assert [h["action"] for h in history][-3:] == ["res_dispatch", "res_depart", "res_return"]
    assert "沙袋20袋" in history[-3]["note"] and "消耗5" in history[-1]["note"]
    assert res.dispatches(incident)[0]["lines"][0] == {
        "sku": "FL-SB", "name": "沙袋", "name_en": "Sandbags", "unit": "袋", "quantity": 20,
        "returned": 15, "consumed": 5}


def test_a_dispatch_that_never_left_releases_its_reservation(services):
    res = Resources(services.store)
    incident = _incident(services)
    before = _item(res, "SH-TN")
    d = res.dispatch(incident, STATION, [], {"SH-TN": 3}, "值班员王")
    assert res.give_back(d["id"], "值班员王")["state"] == "cancelled"
    after = _item(res, "SH-TN")
    assert (after["quantity"], after["reserved"], after["out"]) == (before["quantity"], 0, 0)
    assert services.store.history(incident)[-1]["action"] == "res_cancel"


def test_a_failed_dispatch_takes_nothing(services):
    res = Resources(services.store)
    incident = _incident(services)
    team = _standby_teams(res)[0]
    tents = _item(res, "SH-TN")["quantity"]
    with pytest.raises(StockError) as refused:
        res.dispatch(incident, STATION, [team], {"FL-SB": 1, "SH-TN": tents + 1}, "值班员王")
    # The officer reads why in Chinese; the log keeps the English.
    assert says(refused.value, "zh") == f"帐篷可用仅{tents}顶，不能预留{tents + 1}"
    assert says(refused.value, "en").startswith("帐篷 at ES-01: only")
    assert _item(res, "FL-SB")["reserved"] == 0
    assert team in _standby_teams(res)
    assert res.dispatches(incident) == [] and res.ledger(STATION, "FL-SB") == []


def test_threads_racing_for_the_last_tents_never_take_more_than_there_are(services):
    res = Resources(services.store)
    incident = _incident(services)
    tents = _item(res, "SH-TN")["quantity"]
    res.issue(STATION, "SH-TN", tents - 3, "仓管李", "调往中心")  # three tents left

    def grab(_: int) -> bool:
        try:
            res.dispatch(incident, STATION, [], {"SH-TN": 1}, "值班员")
            return True
        except StockError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = sum(pool.map(grab, range(16)))
    item = _item(res, "SH-TN")
    assert won == 3 and (item["quantity"], item["reserved"]) == (3, 3)
    reserves = [r for r in res.ledger(STATION, "SH-TN") if r["kind"] == "reserve"]
    assert sorted(r["reserved"] for r in reserves) == [1, 2, 3]
    # Departures and returns racing on the same dispatches: each happens exactly once.
    ids = [d["id"] for d in res.dispatches(incident)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        departed = list(pool.map(lambda i: _try(res.depart, i, "值班员"), ids * 3))
    assert sum(departed) == 3
    item = _item(res, "SH-TN")
    assert (item["quantity"], item["reserved"], item["out"]) == (0, 0, 3)


def test_two_officers_sending_the_same_team_one_wins(services):
    res = Resources(services.store)
    incident = _incident(services)
    team = _standby_teams(res)[0]

    def send(_: int) -> bool:
        try:
            res.dispatch(incident, STATION, [team], {"FL-SB": 1}, "值班员")
            return True
        except ResourceError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(send, range(8))) == 1
    assert _item(res, "FL-SB")["reserved"] == 1  # the losers' sandbags were not kept


def _try(fn, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
        return True
    except ResourceError:
        return False


def test_shelter_occupancy_stays_between_zero_and_capacity(services):
    res = Resources(services.store)
    free = res.station(STATION)["shelter"]
    assert res.shelter_move(STATION, 30) == free - 30
    with pytest.raises(ResourceError):
        res.shelter_move(STATION, free)  # 30 too many
    with pytest.raises(ResourceError):
        res.shelter_move(STATION, -10_000)
    assert res.shelter_move(STATION, -30) == free
