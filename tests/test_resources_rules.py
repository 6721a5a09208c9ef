"""Pure rules of emergency resources: readiness, coverage over the road network, kits and the
station ranking, and the live state taking a station's row from an event."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pytest

from dashboard.messages import Event, parse_event
from dashboard.resources.coverage import RoadNetwork, coverage_rows, straight
from dashboard.resources.kits import KitError, rank_stations
from dashboard.resources.readiness import readiness_rows
from dashboard.resources.stock import Stock, expiring
from dashboard.screens.live import LiveState
from dashboard.screens.views import station_cards
from dashboard.settings import DEMO_TOWN_DIR
from datasources.towns.files import load_kits

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


def _station(**kw) -> dict:
    base = {
        "code": "ES-09", "kind": "area", "name": "测试站", "name_en": "Test Station",
        "lon": 104.45, "lat": 30.55, "covers": ["V01"], "vehicles": 2,
        "items": [
            {"sku": "FL-SB", "name": "沙袋", "name_en": "Sandbags", "unit": "袋",
             "quantity": 500, "reserved": 0, "out": 0, "min_level": 400, "expiry": None},
            {"sku": "GE-NF", "name": "方便面", "name_en": "Noodles", "unit": "箱",
             "quantity": 80, "reserved": 0, "out": 0, "min_level": 40, "expiry": "2027-06-01"},
        ],
        "teams": [{"code": "ES-09-T1", "name": "救援队", "name_en": "Rescue", "members": 20,
                   "on_duty": 6, "status": "standby", "vehicles": 1},
                  {"code": "ES-09-T2", "name": "突击队", "name_en": "Squad", "members": 12,
                   "on_duty": 4, "status": "standby", "vehicles": 1}],
        "shelter": 100, "shelter_capacity": 120,
    }
    return {**base, **kw}


def test_a_station_with_everything_is_green_with_no_reasons():
    row = readiness_rows([_station()], "zh", NOW)[0]
    assert row == {"code": "ES-09", "name": "测试站", "level": "green", "reasons": [], "low": 0,
                   "expiring": 0, "shelter_free": 100, "on_duty": 10, "vehicles": 2}


def test_reservations_count_against_the_minimum_and_expiry_within_30_days_is_amber():
    st = _station()
    st["items"][0]["reserved"] = 120  # 380 available < 400
    st["items"][1]["expiry"] = "2026-12-20"  # 25 days from 25 Nov
    row = readiness_rows([st], "zh", NOW)[0]
    assert row["level"] == "amber" and row["low"] == 1 and row["expiring"] == 1
    assert row["reasons"] == ["沙袋低于下限 380/400袋", "方便面25天后到期"]
    en = readiness_rows([st], "en", NOW)[0]["reasons"]
    assert en == ["Sandbags below minimum 380/400 bags", "Noodles expires in 25 d"]


def test_no_vehicle_or_nobody_on_standby_or_an_empty_item_is_red():
    st = _station()
    for tm in st["teams"]:
        tm["status"] = "en_route"
    st["items"][0]["quantity"] = 0
    row = readiness_rows([st], "zh", NOW)[0]
    assert row["level"] == "red" and row["on_duty"] == 0 and row["vehicles"] == 0
    assert set(row["reasons"]) >= {"沙袋已无可用", "无待命人员", "无可用车辆", "2支队伍出动中"}


def test_shelter_nearly_full_is_amber_and_full_is_red():
    assert readiness_rows([_station(shelter=10)], "zh", NOW)[0]["level"] == "amber"
    assert readiness_rows([_station(shelter=0)], "zh", NOW)[0]["level"] == "red"


def test_expiry_is_judged_on_the_local_calendar_day():
    assert expiring("2026-12-25", NOW) and not expiring("2026-12-26", NOW)
    assert expiring("2020-01-01", NOW) and not expiring(None, NOW)
    assert not expiring("not-a-date", NOW)


def test_available_is_on_hand_less_reserved_and_what_left_is_not_on_hand():
    # 100 on hand, 30 of them reserved for a dispatch not yet gone, 50 out with a team.
    s = Stock(quantity=100, reserved=30, out=50, min_level=80)
    assert (s.available, s.low, s.empty) == (70, True, False)
    assert Stock(quantity=80, reserved=0, out=50, min_level=80).low is False
    assert Stock(quantity=5, reserved=5, min_level=0).empty
    item = {"quantity": 10, "reserved": 4, "min_level": 7, "expiry": "2026-12-01"}
    assert (Stock.of(item).available, Stock.of(item).low, Stock.of(item).expiring(NOW)) == (
        6, True, True)


def test_road_network_routes_along_roads_and_falls_back_to_a_straight_line():
    # An L-shaped road: going round the corner is longer than the straight line.
    basemap = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "road", "class": "town"},
         "geometry": {"type": "LineString",
                      "coordinates": [[104.40, 30.50], [104.40, 30.53], [104.43, 30.53]]}}]}
    net = RoadNetwork.from_basemap(basemap)
    metres, minutes = net.travel(104.40, 30.50, 104.43, 30.53)
    assert 6000 < metres < 6300  # 3.3 km north + 2.9 km east
    assert minutes == pytest.approx(metres / 1000 / 40 * 60, rel=0.01)
    assert RoadNetwork.from_basemap(None).travel(104.40, 30.50, 104.43, 30.53) == straight(
        104.40, 30.50, 104.43, 30.53)


def test_demo_town_coverage_flags_villages_beyond_the_target_time():
    basemap = json.loads((DEMO_TOWN_DIR / "basemap.geojson").read_text(encoding="utf-8"))
    stations = json.loads((DEMO_TOWN_DIR / "stations.json").read_text(encoding="utf-8"))
    with (DEMO_TOWN_DIR / "villages.csv").open(encoding="utf-8") as fh:
        villages = [{**r, "lon": float(r["lon"]), "lat": float(r["lat"])}
                    for r in csv.DictReader(fh)]
    net = RoadNetwork.from_basemap(basemap)
    rows = coverage_rows(stations, villages, net, target_min=15)
    assert len(rows) == 13 and all(r["method"] == "road" for r in rows)
    # Every village is served by the area station that covers it, within 5 km.
    covers = {v: st["code"] for st in stations[1:] for v in st["covers"]}
    assert all(r["station"] == covers[r["village"]] for r in rows)
    assert all(r["road_m"] >= r["line_m"] for r in rows)
    assert not any(r["outside_radius"] for r in rows)
    tight = coverage_rows(stations, villages, net, target_min=5)
    late = {r["village"] for r in tight if r["flagged"]}
    assert late == {r["village"] for r in rows if r["minutes"] > 5} and late


def test_kits_load_from_a_file_and_bad_files_are_refused(tmp_path):
    good = tmp_path / "kits.json"
    good.write_text(json.dumps({"water": {"FL-SB": 300}}), encoding="utf-8")
    assert load_kits(str(good))["water"] == {"FL-SB": 300}
    assert load_kits(None)["fire"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"flood": {"FL-SB": 1}}), encoding="utf-8")
    with pytest.raises(KitError, match="unknown category"):
        load_kits(str(bad))
    bad.write_text(json.dumps({"water": {"FL-SB": -1}}), encoding="utf-8")
    with pytest.raises(KitError, match="positive"):
        load_kits(str(bad))


def test_stations_rank_by_time_kit_and_free_teams():
    near_empty = _station(code="A", lon=104.451, lat=30.551)
    near_empty["items"][0]["quantity"] = 0
    far_full = _station(code="B", lon=104.47, lat=30.56)
    near_busy = _station(code="C", lon=104.4505, lat=30.5505)
    for tm in near_busy["teams"]:
        tm["status"] = "on_scene"
    ranked = rank_stations({"lon": 104.45, "lat": 30.55}, [near_empty, far_full, near_busy],
                           {"FL-SB": 200}, straight)
    assert [r["station"] for r in ranked] == ["B", "A", "C"]
    assert ranked[0]["kit"][0]["send"] == 200 and ranked[1]["kit_share"] == 0.0
    assert ranked[2]["free_teams"] == []


def test_a_station_event_replaces_the_station_row_and_the_wall_card_shows_it():
    state = LiveState()
    state.load_snapshot(seq=1, incidents=[], vehicles={}, stations=[_station()], kpis=None,
                        rejected={})
    row = _station()
    row["items"][0]["reserved"] = 20
    row["teams"][0]["status"] = "en_route"
    event = parse_event(Event(type="station.changed", seq=2, at=NOW, station=row).to_json())
    assert state.apply_event(event) == "applied"
    card = station_cards(state, "zh", NOW)[0]
    assert card["items"][0] == {"sku": "FL-SB", "name": "沙袋", "quantity": 480, "unit": "袋",
                                "low": False, "held": "预留20"}
    assert card["teams"] == [{"code": "ES-09-T1", "name": "救援队", "status": "en_route",
                              "text": "出动"}]
    assert card["level"] == "amber" and "1支队伍出动中" in card["reasons"]


def test_the_wall_card_lists_recently_moved_items_first_so_a_return_is_seen():
    st = _station()
    st["items"].append({"sku": "SH-TN", "name": "帐篷", "name_en": "Tents", "unit": "顶",
                        "quantity": 30, "reserved": 0, "out": 0, "min_level": 10,
                        "expiry": None, "moved_at": "2026-11-25T03:59:00+00:00"})
    st["items"][0]["moved_at"] = "2026-11-25T03:58:00+00:00"  # sandbags, a minute earlier
    state = LiveState()
    state.load_snapshot(seq=1, incidents=[], vehicles={}, stations=[st], kpis=None, rejected={})
    order = [i["sku"] for i in station_cards(state, "zh", NOW)[0]["items"]]
    assert order == ["SH-TN", "FL-SB", "GE-NF"]
    later = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # an hour on: back to lowest first
    assert [i["sku"] for i in station_cards(state, "zh", later)[0]["items"]] == [
        "FL-SB", "GE-NF", "SH-TN"]


def test_team_recommendations_use_the_given_route():
    from dashboard.resources.recommend import recommend

    def slow(*_: float) -> tuple[float, float]:
        return 9000.0, 42.0

    recs = recommend({"lon": 104.45, "lat": 30.55, "category": "water"}, [], [_station()],
                     route=slow)
    assert {(c.distance_m, c.eta_min) for c in recs} == {(9000, 42.0)}
