"""Pupils on and off the bus (issue 13): the boarding door for card/face terminals and
escorts' phones, stored once per key, placed on the trip running then and the stop the bus
was at; the tally of a trip, whatever order the taps arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dashboard.buses.boarding import Boarding, tally, trip_at
from dashboard.messages import VehiclePosition
from dashboard.timeutil import LOCAL_TZ
from datasources.sql import models as m
from datasources.sql.pupils import PupilStore
from tests.auth_helpers import sign_in

TERMINAL_KEY = "test-terminal-key-0001"
PLATE = "川F·D72692"  # route R01's first bus


def local(hhmm: str, days_ago: int = 0) -> datetime:
    """A local (Asia/Shanghai) time of a recent day that has already passed, as UTC."""
    now = datetime.now(LOCAL_TZ)
    day = now.date() - timedelta(days=days_ago)
    h, mi = (int(x) for x in hhmm.split(":"))
    at = datetime(day.year, day.month, day.day, h, mi, tzinfo=LOCAL_TZ)
    if at > now:
        at -= timedelta(days=1)
    return at.astimezone(UTC)


@pytest.fixture
def terminal(client):
    """The app with a card terminal's key (source terminal, scope boarding)."""
    client.zn.accounts.add_key("ingest", "R01 card reader", "terminal", token=TERMINAL_KEY)
    return client


def manifest_r01(services):
    return PupilStore(services.store.engine).manifest("R01-AM1")


def first_stop_pupils(services) -> list[str]:
    first = next(s for s in manifest_r01(services).stops if s.pupils)
    return [p.id for p in first.pupils]


def post(client, body: dict, lang: str = "zh", key: str | None = TERMINAL_KEY):
    headers = {"Accept-Language": lang}
    if key:
        headers["X-Api-Key"] = key
    return client.post("/api/v1/buses/boarding", json=body, headers=headers)


def test_a_terminal_tap_is_stored_on_the_running_trip_at_the_stop_and_once_per_key(terminal):
    services = terminal.zn
    pupil = first_stop_pupils(services)[0]
    at = local("06:36")
    stop = manifest_r01(services).stops[0]
    route = PupilStore(services.store.engine).trip_route("R01-AM1")
    lon, lat = next((s.lon, s.lat) for s in route[0].stops if s.code == stop.code)
    services.bus.publish_positions([VehiclePosition(plate=PLATE, at=at, lon=lon, lat=lat,
                                                    speed_kmh=0, heading=0)])
    body = {"pupil": pupil, "event": "board", "at": at.isoformat(), "vehicle": PLATE,
            "key": "tap-0001-abcdef"}
    r = post(terminal, body)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["stored"] is True and got["trip"] == "R01-AM1" and got["stop"] == stop.code
    assert got["counts"]["on_board"] == 1
    assert got["counts"]["expected"] == manifest_r01(services).expected
    again = post(terminal, body)  # the terminal did not hear the answer and retries
    assert again.status_code == 200 and again.json()["stored"] is False
    assert again.json()["id"] == got["id"] and again.json()["counts"]["on_board"] == 1
    with services.store.session() as s:
        assert s.scalar(select(func.count()).select_from(m.BoardingEvent)) == 1
        row = s.scalar(select(m.BoardingEvent))
        assert (row.source, row.plate, row.lon) == ("terminal", PLATE, lon)
    # The same key on another tap is a sender's bug: refused, not silently dropped.
    reused = post(terminal, {**body, "event": "absent"}, lang="en")
    assert reused.status_code == 409 and reused.json()["error"] == "key_reused"
    assert "make a new key per event" in reused.json()["message"]


@pytest.mark.parametrize(("change", "status", "code", "zh"), [
    ({"event": "jump"}, 400, "bad_event", "事件「jump」无效"),
    ({"key": "short"}, 400, "bad_key", "key（幂等键）"),
    ({"at": "2099-01-01T07:00:00+08:00"}, 400, "bad_time", "定位时间不可信"),
    ({"at": "yesterday"}, 400, "bad_date", "不是有效日期"),
    ({"pupil": "NOBODY01"}, 404, "unknown_pupil", "名册上没有学号「NOBODY01」"),
    ({"vehicle": "川X·00000"}, 404, "unknown_vehicle", "没有车牌为「川X·00000」的校车"),
    ({"at": "NOON"}, 400, "no_trip_now", "此时没有乘坐的班次"),
    ({"pupil": ["a"]}, 400, "bad_text", "须为文字"),
])
def test_bad_events_get_a_clear_4xx_in_the_requesters_language_and_are_counted(
        terminal, change, status, code, zh):
    services = terminal.zn
    body = {"pupil": first_stop_pupils(services)[0], "event": "board",
            "at": local("06:36").isoformat(), "vehicle": PLATE, "key": "tap-bad-000001"}
    if change.get("at") == "NOON":
        change = {"at": local("12:00").isoformat()}
    r = post(terminal, {**body, **change})
    assert r.status_code == status, r.text
    assert r.json()["error"] == code and zh in r.json()["message"]
    english = post(terminal, {**body, **change}, lang="en")
    assert english.json()["message"].isascii() or code in ("unknown_vehicle",)
    assert services.bus.rejected_counts()[code] == 2
    with services.store.session() as s:
        assert s.scalar(select(func.count()).select_from(m.BoardingEvent)) == 0


def test_a_key_without_the_boarding_scope_and_nobody_are_refused(terminal):
    body = {"pupil": "x", "event": "board", "at": "2026-01-01T00:00:00Z", "vehicle": PLATE,
            "key": "tap-000000001"}
    assert post(terminal, body, key="test-bus-key").status_code == 403  # positions only
    terminal.cookies.clear()
    assert post(terminal, body, key=None).status_code == 401


def test_an_escort_taps_only_on_their_own_trip(client):
    services = client.zn
    accounts = services.accounts
    user = accounts.add_user("照管员乙", "escort", "test-password")
    PupilStore(services.store.engine).add_post(user.id, "trip", "R01-AM1")
    headers = sign_in(client, services, "照管员乙", "escort")
    pupil = first_stop_pupils(services)[0]
    body = {"pupil": pupil, "event": "board", "at": local("06:36").isoformat(),
            "vehicle": PLATE, "key": "esc-0000001"}
    r = client.post("/api/v1/buses/boarding", json=body, headers=headers)
    assert r.status_code == 201, r.text
    with services.store.session() as s:
        row = s.scalar(select(m.BoardingEvent))
        assert (row.source, row.actor) == ("escort", "照管员乙")
    # A pupil of route R05 rides a trip this escort does not look after.
    other = next(p.id for s in PupilStore(services.store.engine).manifest("R05-AM1").stops
                 for p in s.pupils)
    r = client.post("/api/v1/buses/boarding", headers=headers, json={
        **body, "pupil": other, "at": local("07:06").isoformat(), "key": "esc-0000002"})
    assert r.status_code == 403 and r.json()["error"] == "not_your_trip"


# ---------------------------------------------------------------- the rules, no server
def ev(pupil: str, event: str, hhmm: str, seq: int, stop: str | None = None) -> Boarding:
    return Boarding(pupil, "R01-AM1", "2026-12-04", event,
                    datetime.fromisoformat(f"2026-12-04T{hhmm}:00+08:00"), PLATE, stop,
                    seq=seq)


def test_late_and_out_of_order_taps_give_the_tally_of_what_happened(services):
    manifest = manifest_r01(services)
    a, b, c = sorted(manifest.pupil_ids)[:3]
    # The phone was offline: the alight of a and the board of c arrive before the boards.
    arrived = [ev(a, "alight", "06:50", 1, "R01-S07"), ev(c, "board", "06:41", 2),
               ev(b, "absent", "06:38", 3), ev(a, "board", "06:35", 4),
               ev(b, "board", "06:39", 5)]  # b came running after being marked absent
    t = tally(manifest, arrived)
    assert t.pupils[a].state == "alighted" and t.pupils[a].alighted_stop == "R01-S07"
    assert t.pupils[b].state == "on_board" and t.pupils[c].state == "on_board"
    assert t.counts() == {"expected": manifest.expected, "on_board": 2, "alighted": 1,
                          "absent": 0}
    # An "absent" tap that happened after the child boarded does not take them off the bus.
    t = tally(manifest, [ev(a, "board", "06:35", 1), ev(a, "absent", "06:36", 2)])
    assert t.pupils[a].state == "on_board"


def test_the_trip_a_tap_belongs_to_is_the_one_running_then():
    times = {"R01-AM1": ["06:35", "06:50"], "R01-PM1": ["17:40", "17:55"]}
    day = datetime(2026, 12, 4, tzinfo=LOCAL_TZ)
    assert trip_at(times, day.replace(hour=6, minute=20))[0] == "R01-AM1"
    assert trip_at(times, day.replace(hour=18, minute=30))[0] == "R01-PM1"
    assert trip_at(times, day.replace(hour=12)) is None


def test_an_escort_of_a_bus_gets_the_trip_the_bus_is_on(client):
    """An account that names only its bus follows the bus: the trip the tracker has it on."""
    from tests.auth_helpers import post_callback

    services = client.zn
    user = services.accounts.add_user("照管员丙", "escort", "test-password")
    PupilStore(services.store.engine).add_post(user.id, "vehicle", PLATE)
    services.hub.state.trips[PLATE] = {"plate": PLATE, "trip": "R01-PM1"}
    sign_in(client, services, "照管员丙", "escort")

    def shown() -> dict:
        r = post_callback(client, [("escort-data", "data")],
                          [{"id": "escort-tick", "property": "n_intervals", "value": 1}],
                          [{"id": "escort-trip", "property": "data", "value": None},
                           {"id": "escort-lang", "property": "data", "value": "zh"},
                           {"id": "escort-data", "property": "data", "value": None}],
                          "escort-tick.n_intervals")
        assert r.status_code == 200, r.text
        return r.json()["response"]["escort-data"]["data"]

    data = shown()
    assert (data["trip"], data["plate"]) == ("R01-PM1", PLATE)
    names = [p["name"] for s in data["stops"] for p in s["pupils"]]
    assert names and all("*" not in n for n in names)  # the bus's escort reads whole names
    services.hub.state.trips.pop(PLATE)
    assert shown()["trip"] in ("R01-AM1", "R01-AM2", "R01-PM1")  # its route's trips
