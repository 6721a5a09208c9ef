"""GTFS static import: an operator's feed becomes the town's routes, stops and timetables."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dashboard.buses.tracking import build_plans
from dashboard.settings import DEMO_TOWN_DIR
from datasources.towns.files import load_town
from datasources.towns.gtfs_static import GtfsError, read_feed, routes_from_gtfs

FEED = {
    "routes.txt": "route_id,route_short_name,route_long_name,route_desc\n"
                  "QS9,9,青石中学9号专线,Qingshi Line 9\n",
    "stops.txt": "stop_id,stop_name,stop_desc,stop_lat,stop_lon\n"
                 "A,甲村站,Jia,30.5700,104.4600\nB,乙村站,Yi,30.5650,104.4650\n"
                 "C,青石中学站,School,30.5600,104.4700\n",
    "trips.txt": "route_id,service_id,trip_id,direction_id,shape_id,trip_headsign\n"
                 "QS9,WK,QS9-AM1,0,S1,青石中学\nQS9,WK,QS9-PM1,1,,回程\n"
                 "QS9,WK,QS9-SHORT,0,,青石中学\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "QS9-AM1,06:50:00,06:50:00,A,1\nQS9-AM1,06:55:00,06:55:00,B,2\n"
                      "QS9-AM1,07:02:00,07:02:00,C,3\n"
                      "QS9-PM1,17:40:00,17:40:00,C,1\nQS9-PM1,17:47:00,17:47:00,B,2\n"
                      "QS9-PM1,17:52:00,17:52:00,A,3\n"
                      "QS9-SHORT,07:30:00,07:30:00,B,1\nQS9-SHORT,07:37:00,07:37:00,C,2\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\nWK,1,1,1,1,1,0,0,20260901,20270115\n",
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                  "S1,30.5700,104.4600,1\nS1,30.5680,104.4640,2\nS1,30.5650,104.4650,3\n"
                  "S1,30.5600,104.4700,4\n",
}


@pytest.fixture
def feed_zip(tmp_path: Path) -> Path:
    path = tmp_path / "gtfs.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in FEED.items():
            z.writestr(name, text)
    return path


def test_a_feed_becomes_routes_with_stops_path_and_timetables(feed_zip: Path) -> None:
    [route] = routes_from_gtfs(read_feed(feed_zip))
    assert (route["code"], route["name"], route["school"]) == ("QS9", "青石中学9号专线", "青石中学")
    assert [s["name"] for s in route["stops"]] == ["甲村站", "乙村站", "青石中学站"]
    assert len(route["path"]) == 4 and 1000 < route["length_m"] < 2000
    assert [(t["code"], t["direction"], t["days"], t["stop_times"]) for t in route["trips"]] == [
        ("QS9-AM1", "to_school", "school", ["06:50", "06:55", "07:02"]),
        ("QS9-PM1", "from_school", "school", ["17:40", "17:47", "17:52"])]


def test_the_imported_town_loads_and_its_trips_drive_the_right_way(feed_zip: Path,
                                                                  tmp_path: Path) -> None:
    town_dir = tmp_path / "town"
    shutil.copytree(DEMO_TOWN_DIR, town_dir)
    result = CliRunner().invoke(main, ["import-gtfs", str(feed_zip), "--dir", str(town_dir)])
    assert result.exit_code == 0, result.output
    assert "1 route(s)" in result.output
    plans = build_plans(load_town(town_dir).routes)
    assert plans["QS9-PM1"].stops[0].name == "青石中学站"
    assert plans["QS9-AM1"].line.stop_m[-1] == pytest.approx(plans["QS9-AM1"].line.length_m,
                                                            abs=1)


def test_a_feed_without_stop_times_is_refused_by_name(tmp_path: Path) -> None:
    for name, text in FEED.items():
        if name != "stop_times.txt":
            (tmp_path / name).write_text(text, "utf-8")
    with pytest.raises(GtfsError, match="stop_times.txt"):
        read_feed(tmp_path)
