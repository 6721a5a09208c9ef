"""The wall's added panels as pure rules: punctuality, readiness, alerts, 投屏 messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.messages import IncidentView, MessageError, VehiclePosition
from dashboard.screens.cast import WallCast, parse_cast
from dashboard.screens.live import LiveState
from dashboard.screens.wall import alerts, cast_focus, punctuality

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _incident(i: int, **kw) -> IncidentView:
    base = {"id": i, "ref": f"R{i}", "source": "hotline", "category": "fire", "priority": "normal",
            "title": f"事件{i}", "state": "reported", "lon": 104.45, "lat": 30.55,
            "created_at": NOW - timedelta(hours=1), "updated_at": NOW}
    return IncidentView(**{**base, **kw})


def test_punctuality_degrades_to_live_bus_count_until_trip_rows_exist():
    state = LiveState()
    state.vehicles = {"A": VehiclePosition(plate="A", lon=104.4, lat=30.5, at=NOW)}
    out = punctuality(state, "zh")
    assert out == {"available": False, "text": "班次数据未接入：在线校车 1 辆", "unfit": []}


def test_the_bus_panel_names_a_bus_not_fit_to_drive_whether_or_not_trips_run():
    state = LiveState()
    assert punctuality(state, "zh", unfit={"川F·D74743"})["unfit"] == [
        {"plate": "川F·D74743", "text": "不宜出车"}]
    state.trips = {"A": {"plate": "A", "status": "on_time"}}  # type: ignore[attr-defined]
    assert punctuality(state, "en", unfit={"川F·D74743"})["unfit"] == [
        {"plate": "川F·D74743", "text": "Not fit"}]


def test_punctuality_counts_trips_and_lists_the_latest_first():
    state = LiveState()
    state.trips = {  # type: ignore[attr-defined]  # the bus issue's contract
        "A": {"plate": "A", "route_name": "一号线", "status": "on_time", "delay_min": 0},
        "B": {"plate": "B", "route_name": "二号线", "status": "late", "delay_min": 4},
        "C": {"plate": "C", "route_name": "三号线", "status": "late", "delay_min": 11},
        "D": {"plate": "D", "status": "done"},
    }
    out = punctuality(state, "en")
    assert out["available"] and out["rate"] == pytest.approx(33.3)
    assert [r["plate"] for r in out["late"]] == ["C", "B"]
    assert {c["key"]: c["n"] for c in out["counts"]}["done"] == 1


def test_alerts_put_sos_and_bus_alerts_before_overdue_and_skip_closed():
    state = LiveState()
    state.incidents = {
        1: _incident(1, deadline_at=NOW - timedelta(minutes=1)),
        2: _incident(2, priority="urgent"),
        3: _incident(3, state="closed", priority="urgent"),
    }
    # The tracker's overspeed episode is a work order from source 'bus'; a bus merely
    # reporting a high speed is the tracker's to judge (zones, duration), not the wall's.
    state.incidents[4] = _incident(4, source="bus", priority="high",
                                   title="校车超速：川F1 72 km/h（限速60）")
    state.vehicles = {"川F2": VehiclePosition(plate="川F2", lon=104.4, lat=30.5, at=NOW,
                                             speed_kmh=75)}
    out = alerts(state, {}, "zh", NOW)
    assert [a["key"] for a in out] == ["sos-2", "bus-4", "overdue-1"]
    assert out[1]["label"] == "校车告警" and "川F1 72 km/h" in out[1]["text"]


def test_cast_messages_are_validated_and_focus_only_when_fresh():
    with pytest.raises(MessageError) as err:
        parse_cast(b'{"type": "wall.cast", "incident_id": 0}')
    assert err.value.reason == "bad_cast"
    with pytest.raises(MessageError):
        parse_cast(b"{nope")
    cast = parse_cast(WallCast(incident_id=1, by="李四", at=NOW.timestamp()).to_json())
    state = LiveState()
    state.incidents = {1: _incident(1)}
    state.cast = cast.model_dump()  # type: ignore[attr-defined]
    focus = cast_focus(state, NOW + timedelta(seconds=30))
    assert focus is not None and focus["fresh"] and focus["by"] == "李四"
    assert not cast_focus(state, NOW + timedelta(minutes=10))["fresh"]


def test_the_wall_focus_card_carries_the_work_order_photo():
    # 随手拍 (issue 15): an urgent report with a photo, and a 投屏 of it, show the photo.
    state = LiveState()
    photo = "5f0c9d3a8e2b4f6a9c1d7e0b3a4f5c6d"
    state.incidents = {7: _incident(7, priority="urgent", source="grid_worker", photo=photo),
                       8: _incident(8, priority="urgent")}
    shown = {a["id"]: a["photo"] for a in alerts(state, {}, "zh", NOW)}
    assert shown == {7: photo, 8: None}
    state.cast = {"incident_id": 7, "by": "值班员王", "at": NOW.timestamp()}  # type: ignore[attr-defined]
    assert cast_focus(state, NOW)["photo"] == photo


def test_a_remembered_marker_still_turns_overdue_with_the_clock_and_follows_each_change():
    """The map's marker rows are kept between builds (a frame per event rebuilt 400 rows'
    words): a kept row must still turn overdue when its deadline passes, and a step of the
    work order (a new view) must show in its colour and tooltip."""
    from dashboard.screens.views import incident_rows

    state = LiveState()
    state.incidents = {1: _incident(1, deadline_at=NOW + timedelta(minutes=5)),
                       2: _incident(2)}
    memo: dict = {}
    first = {r[0]: r for r in incident_rows(state, "zh", NOW, memo=memo)}
    assert first[1][4] is False and first[1][6] == "R1 消防安全 · 事件1 · 上报"
    again = {r[0]: r for r in incident_rows(state, "zh", NOW, memo=memo)}
    assert again[2] is first[2]  # the same view: its row is not built again
    later = {r[0]: r for r in incident_rows(state, "zh", NOW + timedelta(minutes=6),
                                             memo=memo)}
    assert later[1][4] is True and later[2][4] is False  # the clock alone turns it overdue
    state.incidents[1] = _incident(1, state="dispatched", deadline_at=NOW + timedelta(minutes=5))
    stepped = {r[0]: r for r in incident_rows(state, "zh", NOW + timedelta(minutes=6),
                                              memo=memo)}
    assert stepped[1][3] == "dispatched" and stepped[1][6].endswith("· 派遣")
    assert stepped[1][4] is True
    # Without a memo, the same rows.
    assert incident_rows(state, "zh", NOW + timedelta(minutes=6)) == list(stepped.values())
    assert set(memo) == {1, 2}  # only what this build showed is kept
