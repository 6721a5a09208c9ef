"""View rules of the bus page and the GCJ-02 display conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli import main
from dashboard.buses.tracking import build_plans
from dashboard.buses.views import bus_slug, day_trips, replay_at, staff_rows, stop_rows
from dashboard.geo.gcj02 import display, wgs84_to_gcj02
from dashboard.settings import DEMO_TOWN_DIR
from datasources.towns.files import load_town


def at_local(hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, 25, h, m, tzinfo=UTC) - timedelta(hours=8)  # a Wednesday


@pytest.fixture(scope="module")
def plans():  # type: ignore[no-untyped-def]
    return build_plans(load_town(DEMO_TOWN_DIR).routes)


def test_the_days_board_lists_every_trip_with_its_bus_and_punctuality(plans) -> None:
    rows = {"川F·D72692": {"plate": "川F·D72692", "trip": "R01-AM2", "status": "late",
                          "delay_min": 4.2}}
    finished = {"2026-11-25:R01-AM1": {"plate": "川F·D72692", "delay_s": -30.0,
                                       "status": "on_time"},
                "2026-11-25:R03-AM1": {"plate": "川F·D77141", "delay_s": 290.0,
                                       "status": "late"}}
    board = day_trips(plans, rows, finished, at_local("07:20"), "zh")
    assert len(board) == len(plans)
    assert [b["departs"] for b in board] == sorted(b["departs"] for b in board)
    by = {b["trip"]: b for b in board}
    assert (by["R01-AM1"]["status_label"], by["R01-AM1"]["plate"]) == ("已到达", "川F·D72692")
    assert (by["R01-AM2"]["status_label"], by["R01-AM2"]["delay_text"]) == ("晚点", "晚4分")
    assert (by["R01-AM2"]["punctuality"], by["R01-AM1"]["punctuality"]) == ("晚4分", "已到达")
    # A finished trip keeps its lateness, and says it arrived.
    assert by["R03-AM1"]["punctuality"] == "已到达 晚5分"
    assert by["R01-PM1"]["status_label"] == "待发车"
    # R02-AM1 left at 07:17 by the timetable; no bus seen: it has not started, it is not late.
    assert by["R02-AM1"]["status"] == "not_started"
    assert by["R02-AM1"]["status_label"] == "未发车"
    assert by["R02-AM1"]["colour"] != by["R01-AM2"]["colour"]
    assert by["R01-AM1"]["route_name"] == "青石中学1号专线"
    en = {b["trip"]: b for b in day_trips(plans, rows, finished, at_local("07:20"), "en")}
    assert en["R01-PM1"]["status_label"] == "Scheduled"
    assert en["R01-AM1"]["route_name"] == "Qingshi Middle School Line 1"


def test_no_trips_on_a_holiday(plans) -> None:
    assert day_trips(plans, {}, {}, at_local("07:20"), "zh",
                     holidays=frozenset({date(2026, 11, 25)})) == []


def test_staff_on_board_and_on_the_route() -> None:
    staff = {"driver": "胡永福", "teacher": "蒋桂芳", "police": "何平", "warden": "袁秀英"}
    got = staff_rows(staff, {"driver": "周丽华", "escort": "罗平"}, "zh")
    assert got[0] == ("驾驶员", "周丽华") and ("随车照管员", "罗平") in got
    assert ("Traffic warden", "袁秀英") in staff_rows(staff, None, "en")


def test_stop_rows_and_replay_frames_show_local_times() -> None:
    detail = {"stops": [
        {"name": "甲站", "name_en": "A", "scheduled": at_local("06:35").isoformat(),
         "eta": None, "passed": True},
        {"name": "乙站", "name_en": "B", "scheduled": at_local("06:40").isoformat(),
         "eta": at_local("06:43").isoformat(), "passed": False}]}
    assert stop_rows(detail, "en") == [
        {"name": "A", "scheduled": "06:35", "eta": "", "passed": "✓"},
        {"name": "B", "scheduled": "06:40", "eta": "06:43", "passed": ""}]
    track = [{"at": at_local("06:35").isoformat(), "lon": 1, "lat": 2, "speed_kmh": 3}]
    assert replay_at(track, 5)["time"] == "06:35:00"
    assert replay_at([], 0) is None
    assert bus_slug("川F·D72692").startswith("zn-bus-") and bus_slug("A").isascii()


def test_gcj02_shifts_points_in_china_only_when_the_basemap_asks() -> None:
    # The reference pair printed by wandergis/coordtransform's own test.
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert display(104.45, 30.55, "wgs84") == (104.45, 30.55)
    assert display(-0.1, 51.5, "gcj02") == (-0.1, 51.5)


def test_the_gateway_commands_are_on_the_cli() -> None:
    out = CliRunner().invoke(main, ["gateway", "--help"]).output
    assert "jt808" in out and "gtfs-rt" in out
    assert "--port" in CliRunner().invoke(main, ["gateway", "jt808", "--help"]).output
