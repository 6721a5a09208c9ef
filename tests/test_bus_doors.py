"""The HTTP doors for positions (JSON batch, GTFS-Realtime push) and the GTFS-RT poller."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google.transit import gtfs_realtime_pb2 as rt

from dashboard.messages import VehiclePosition
from dashboard.settings import Settings
from datasources.feeds.gtfs_rt import parse_feed, poll_forever, vehicle_feed
from tests.browser import KEYS, Live, serve, wait_until

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    with serve(settings) as running:
        yield running


def fix(plate: str, s: int = 0, **kw) -> dict:  # type: ignore[no-untyped-def]
    return {"plate": plate, "lon": 104.46 + s * 1e-4, "lat": 30.55, "speed_kmh": 30,
            "heading": 90, "at": (NOW + timedelta(seconds=s)).isoformat(), **kw}



def test_a_json_batch_reaches_the_latest_state_and_the_trip_board(live: Live) -> None:
    body = {"positions": [fix("川F·D72692", 0, onboard=10), fix("川F·D54327", 1),
                          fix("HTTP-1", 2)]}
    status, _, answer = live.post_json("/api/v1/vehicles/positions", body)
    assert (status, answer) == (202, {"accepted": 3})
    latest = live.services.bus.latest_positions()
    assert latest["川F·D72692"].onboard == 10 and "HTTP-1" in latest
    trips = wait_until(lambda: live.call("GET", "/api/v1/buses/trips")[2]["trips"])
    assert {t["plate"] for t in trips} >= {"川F·D72692", "HTTP-1"}


@pytest.mark.parametrize(("raw", "status", "reason", "says"), [
    (b"{not json", 400, "bad_json", "JSON"),
    (json.dumps({"positions": [fix("A", lat=95)]}).encode(), 400, "invalid", "positions.0.lat"),
    (json.dumps({"positions": []}).encode(), 400, "invalid", "positions"),
    (b"{" + b" " * 300_000 + b"}", 413, "too_large", "bytes"),
])
def test_bad_json_batches_get_a_clear_4xx_and_are_counted(live: Live, raw: bytes, status: int,
                                                          reason: str, says: str) -> None:
    got, _, answer = live.post_json("/api/v1/vehicles/positions", raw)
    assert got == status and answer["error"] == reason and says in answer["detail"]
    assert live.rejected()[reason] == 1
    assert live.services.bus.latest_positions() == {}


def test_a_pushed_gtfs_rt_feed_is_read_and_its_bad_entity_skipped(live: Live) -> None:
    feed = rt.FeedMessage.FromString(vehicle_feed([VehiclePosition(
        plate="GTFS-1", lon=104.46, lat=30.55, speed_kmh=36, heading=45, at=NOW,
        trip="R01-AM1", route="R01", occupancy_pct=64)]))
    broken = feed.entity.add()
    broken.id = "no-pos"
    broken.vehicle.vehicle.id = "GTFS-2"
    status, _, answer = live.call("POST", "/api/v1/vehicles/gtfs-rt", feed.SerializeToString(),
                                  {"Content-Type": "application/x-protobuf"})
    assert status == 202 and answer["accepted"] == 1
    assert answer["skipped"] == [{"entity": "no-pos", "reason": "no_position"}]
    got = live.services.bus.latest_positions()["GTFS-1"]
    assert (got.speed_kmh, got.trip, got.route, got.at) == (36.0, "R01-AM1", "R01", NOW)
    assert got.occupancy_pct == 64
    row = wait_until(lambda: {t["plate"]: t for t in live.call("GET", "/api/v1/buses/trips")[2]
                            ["trips"]}.get("GTFS-1"))
    assert row["load"] == 0.64  # the feed's occupancy when it gives no head count
    assert live.rejected()["gtfs_rt_no_position"] == 1
    status, _, answer = live.call("POST", "/api/v1/vehicles/gtfs-rt", b"\xff\xfe garbage",
                                  {"Content-Type": "application/x-protobuf"})
    assert status == 400 and answer["error"] == "gtfs_rt_bad_protobuf"
    # The latest state is also served as a feed, readable by any GTFS-RT consumer that holds
    # an ingest key (where the children's buses are is not public).
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(live.base + "/api/v1/vehicles/gtfs-rt")
    assert refused.value.code == 401
    keyed = urllib.request.Request(live.base + "/api/v1/vehicles/gtfs-rt",
                                   headers={"X-Api-Key": KEYS["feed"]})
    with urllib.request.urlopen(keyed) as resp:
        assert resp.status == 200
        exported = parse_feed(resp.read())
    assert [p.plate for p in exported.positions] == ["GTFS-1"]


def test_the_poller_fetches_a_feed_url_and_publishes_its_fixes(services) -> None:
    feed = vehicle_feed([VehiclePosition(plate="POLL-1", lon=104.46, lat=30.55, at=NOW)])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            self.wfile.write(feed)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    stop = threading.Event()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/vehicles.pb"
    poller = threading.Thread(target=poll_forever, args=(services.bus, url, 0.2, stop))
    poller.start()
    try:
        wait_until(lambda: "POLL-1" in services.bus.latest_positions())
    finally:
        stop.set()
        poller.join(5)
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------ time travel (issue 12)
def test_a_position_dated_9999_is_refused_as_bad_time_and_the_bus_moves_on(live: Live) -> None:
    door = "/api/v1/vehicles/positions"
    assert live.post_json(door, {"positions": [fix("HTTP-T", 0)]})[0] == 202
    status, _, answer = live.post_json(door, {"positions": [
        fix("HTTP-T", 1, at="9999-12-31T00:00:00+00:00")]}, Accept_Language="en")
    assert status == 400 and answer["error"] == "bad_time"
    assert "future" in answer["message"] and answer["refused"] == [0]
    status, _, answer = live.post_json(door, {"positions": [
        fix("HTTP-T", 1, at=(NOW - timedelta(hours=3)).isoformat())]})
    assert status == 400 and answer["error"] == "bad_time" and "分钟" in answer["message"]
    # A batch with a good and a bad fix: the good one counts, the bad one is named.
    status, _, answer = live.post_json(door, {"positions": [
        fix("HTTP-T", 2), fix("HTTP-T", 3, at="2068-01-01T00:00:00+00:00")]})
    assert (status, answer["accepted"], answer["refused"]) == (202, 1, [1])
    assert live.services.bus.latest_positions()["HTTP-T"].at == NOW + timedelta(seconds=2)
    assert live.rejected()["bad_time"] == 3
    trips = wait_until(lambda: {t["plate"]: t for t in live.call(
        "GET", "/api/v1/buses/trips")[2]["trips"]}.get("HTTP-T"))
    assert trips["plate"] == "HTTP-T"
    assert live.services.hub.state.vehicles["HTTP-T"].at == NOW + timedelta(seconds=2)


def test_a_gtfs_rt_entity_from_the_far_future_is_skipped_as_bad_time(live: Live) -> None:
    feed = rt.FeedMessage.FromString(vehicle_feed([VehiclePosition(
        plate="GTFS-T", lon=104.46, lat=30.55, at=NOW)]))
    for n, stamp in enumerate((int(datetime(2068, 1, 1, tzinfo=UTC).timestamp()),
                               253402300799, 2**63)):
        e = feed.entity.add()
        e.id = f"future{n}"
        e.vehicle.vehicle.id = "GTFS-T"
        e.vehicle.position.latitude, e.vehicle.position.longitude = 30.56, 104.47
        e.vehicle.timestamp = stamp
    status, _, answer = live.call("POST", "/api/v1/vehicles/gtfs-rt", feed.SerializeToString(),
                                  {"Content-Type": "application/x-protobuf"})
    assert status == 202 and answer["accepted"] == 1
    assert sorted(answer["skipped"], key=lambda s: s["entity"]) == [
        {"entity": f"future{n}", "reason": "bad_time"} for n in range(3)]
    assert live.services.bus.latest_positions()["GTFS-T"].at == NOW
    assert live.rejected()["bad_time"] == 3


def test_an_sos_with_a_bad_time_still_raises_a_flagged_work_order(live: Live) -> None:
    status, _, answer = live.post_json("/api/v1/vehicles/positions", {"positions": [
        fix("川F·D72692", 0, at="9999-12-31T00:00:00+00:00", alarm=1, lon=120.0)]})
    assert status == 400 and answer["error"] == "bad_time"
    order = wait_until(lambda: [i for i in live.services.hub.state.incidents.values()
                                if i.source == "bus" and i.priority == "urgent"], timeout=10)
    assert len(order) == 1
    assert order[0].title.startswith("【位置待核实】校车紧急报警：川F·D72692（定位时间不可信）")
    assert [order[0].lon, order[0].lat] == live.services.town_meta["center"]
    assert "川F·D72692" not in live.services.bus.latest_positions()
