"""Message schemas: what sources may send, and the clear reasons for what they may not."""

from __future__ import annotations

import json

import pytest

from dashboard.messages import (
    MAX_MESSAGE_BYTES,
    Event,
    IncidentView,
    MessageError,
    parse_event,
    parse_inbound,
    parse_vehicle_message,
)

GOOD = {"type": "incident.report", "source": "hotline", "category": "fire",
        "title": "仓库冒烟", "lon": 104.45, "lat": 30.55}


def _reason(raw) -> str:
    with pytest.raises(MessageError) as err:
        parse_inbound(raw if isinstance(raw, (str, bytes)) else json.dumps(raw))
    return err.value.reason


def test_a_good_report_round_trips():
    report = parse_inbound(json.dumps(GOOD, ensure_ascii=False))
    assert report.title == "仓库冒烟" and report.priority == "normal"
    assert parse_inbound(report.to_json()) == report


@pytest.mark.parametrize(("raw", "reason"), [
    ("{", "bad_json"),
    (b"\xff\xfe", "bad_json"),
    ("[1, 2]", "bad_shape"),
    ({**GOOD, "v": 2}, "bad_version"),
    ({**GOOD, "type": "incident.delete"}, "unknown_type"),
    ({k: v for k, v in GOOD.items() if k != "title"}, "invalid"),
    ({**GOOD, "category": "aliens"}, "invalid"),
    ({**GOOD, "source": "twitter"}, "invalid"),
    ({**GOOD, "lon": 181}, "invalid"),
    ({**GOOD, "lat": "NaN"}, "invalid"),
    ({**GOOD, "title": "<img src=x onerror=alert(1)>"}, "invalid"),
    ({**GOOD, "description": "点击 javascript:alert(1)"}, "invalid"),
    ({**GOOD, "title": "a\x00b"}, "invalid"),
    ({**GOOD, "description": "长" * 2001}, "invalid"),
    ({**GOOD, "photo_url": "file:///etc/passwd"}, "invalid"),
    ({**GOOD, "extra": 1}, "invalid"),
])
def test_bad_input_is_rejected_with_a_reason(raw, reason):
    assert _reason(raw) == reason


def test_oversized_message_is_rejected_before_parsing():
    assert _reason("x" * (MAX_MESSAGE_BYTES + 1)) == "too_large"


def test_the_error_names_the_field():
    with pytest.raises(MessageError) as err:
        parse_inbound(json.dumps({**GOOD, "lon": 400}))
    assert "lon" in err.value.detail


def test_vehicle_batch_validates_every_fix():
    fix = {"plate": "川F·D12345", "lon": 104.4, "lat": 30.5, "at": "2026-11-22T01:00:00Z"}
    assert len(parse_vehicle_message(json.dumps(
        {"type": "vehicle.positions", "positions": [fix, fix]})).positions) == 2
    with pytest.raises(MessageError):
        parse_vehicle_message(json.dumps(
            {"type": "vehicle.positions", "positions": [fix, {**fix, "speed_kmh": -3}]}))
    with pytest.raises(MessageError):
        parse_vehicle_message(json.dumps({"type": "vehicle.positions", "positions": []}))


def test_event_with_missing_optional_fields_round_trips():
    view = IncidentView(id=1, ref="20261122-00001", source="hotline", category="fire",
                        priority="urgent", title="火", state="reported", lon=1.0, lat=2.0,
                        grid=None, village=None, created_at="2026-11-22T01:00:00Z",
                        updated_at="2026-11-22T01:00:00Z", deadline_at=None)
    event = Event(type="incident.created", seq=3, at="2026-11-22T01:00:00Z", incident=view)
    assert parse_event(event.to_json()) == event
