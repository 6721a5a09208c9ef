"""Open311 GeoReport v2 client round trip against a real server."""

from __future__ import annotations

import urllib.parse
from typing import Any

from sqlalchemy import select

from dashboard.incidents.lifecycle import CATEGORIES
from datasources.sql import models as m
from tests.browser import Live


def post_form(live: Live, fields: dict[str, Any], **headers: str) -> tuple[int, dict, Any]:
    """POST requests.json form-encoded, as GeoReport clients do."""
    body = urllib.parse.urlencode(fields).encode()
    return live.call("POST", "/open311/v2/requests.json", body,
                     {"Content-Type": "application/x-www-form-urlencoded", **headers})


def request_fields(**kw: Any) -> dict[str, Any]:
    """A valid GeoReport request inside the demo town."""
    return {"api_key": "demo-key", "service_code": "environment", "lat": 30.5523,
            "long": 104.4512, "description": "青石河桥下有大量漂浮物，气味很大",
            "address_string": "青石河桥", "first_name": "先生", "last_name": "王",
            "phone": "13800001234", "media_url": "https://example.invalid/p/42.jpg", **kw}


def test_round_trip_file_then_follow_a_request(live: Live) -> None:
    status, _, created = post_form(live, request_fields())
    assert status == 200, created
    assert len(created) == 1 and created[0]["account_id"] is None
    ref = created[0]["service_request_id"]
    assert ref and ref in created[0]["service_notice"]

    status, _, found = live.call("GET", f"/open311/v2/requests/{ref}.json")
    assert status == 200 and len(found) == 1
    req = found[0]
    assert req["service_request_id"] == ref
    assert req["status"] == "open" and req["status_notes"].startswith("上报（")
    assert req["service_code"] == "environment" and req["service_name"] == "环境保护"
    assert req["lat"] == 30.5523 and req["long"] == 104.4512
    assert req["media_url"] == "https://example.invalid/p/42.jpg"
    assert req["requested_datetime"].endswith("+08:00") and req["expected_datetime"]
    # Echoed as sent: the address typed, the description without it.
    assert req["address"] == "青石河桥" and req["address_id"] is None
    assert req["description"] == "青石河桥下有大量漂浮物，气味很大"
    assert req["agency_responsible"] == "青石镇指挥中心"

    # Stored as a citizen report with the reporter's name, surname first.
    with live.services.store.session() as s:
        row = s.scalar(select(m.Incident).where(m.Incident.ref == ref))
        assert row.source == "citizen" and row.title.startswith("青石河桥下")
        assert row.reporter_name == "王先生" and row.reporter_phone == "13800001234"

    status, _, listed = live.call("GET", "/open311/v2/requests.json?status=open"
                                         "&service_code=environment")
    assert [r["service_request_id"] for r in listed] == [ref]
    assert live.call("GET", "/open311/v2/requests.json?status=closed")[2] == []
    status, _, by_id = live.call("GET", f"/open311/v2/requests.json?service_request_id={ref},x")
    assert [r["service_request_id"] for r in by_id] == [ref]
    status, _, err = live.call("GET", "/open311/v2/requests.json?start_date=yesterday")
    assert status == 400 and err[0]["code"] == 400

    status, _, en = live.call("GET", f"/open311/v2/requests/{ref}.json?locale=en")
    assert en[0]["status_notes"].startswith("Reported (")
    assert en[0]["service_name"] == "Environment"


def test_services_list_has_the_fifteen_categories(live: Live) -> None:
    status, _, services = live.call("GET", "/open311/v2/services.json")
    assert status == 200
    assert [s["service_code"] for s in services] == [c.code for c in CATEGORIES]
    assert len(services) == 15
    first = services[0]
    assert first["service_name"] == "社会治安" and first["metadata"] is True
    assert first["type"] == "realtime" and first["group"] and first["keywords"]
    en = live.call("GET", "/open311/v2/services.json?locale=en")[2]
    assert en[0]["service_name"] == "Public security"
    en = live.call("GET", "/open311/v2/services.json", headers={"Accept-Language": "en-US"})[2]
    assert en[0]["service_name"] == "Public security"


def test_refusals_follow_the_spec_and_are_counted(live: Live) -> None:
    status, _, err = post_form(live, request_fields(api_key="wrong"))
    assert status == 403 and err[0]["code"] == 403 and "api_key" in err[0]["description"]
    status, _, err = post_form(live, request_fields(service_code="ufo"))
    assert status == 404 and err[0]["code"] == 404 and "ufo" in err[0]["description"]
    status, _, err = post_form(live, request_fields(lat=30.0, long=120.0),
                               **{"Accept-Language": "en"})
    assert status in (400, 422) and err[0]["code"] == status
    assert "outside every grid of the town" in err[0]["description"]
    status, _, err = post_form(live, {k: v for k, v in request_fields().items()
                                      if k not in ("lat", "long", "address_string")})
    assert status == 400 and "address_string" in err[0]["description"]
    status, _, err = post_form(live, request_fields(description="<script>x</script>"))
    assert status == 400

    status, _, err = live.call("GET", "/open311/v2/requests/20990101-99999.json")
    assert status == 404 and err[0]["code"] == 404 and "20990101-99999" in err[0]["description"]

    assert live.call("GET", "/open311/v2/requests.json")[2] == []
    assert live.rejected() == {"unauthorized": 1, "invalid": 3, "outside_town": 1}
