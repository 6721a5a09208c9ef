"""Hostile input at every door gets a clear 4xx in the requester's language, never a 500
(issue 12, "Hostile input"): dates at year 1 or 9999, hours of 1e308 / inf / 99999999, a
20-digit id, a 5,000-digit integer, 100k-deep JSON, a list where text belongs.

The app runs in-process (`client`: a server error is a 500, as a real client sees it) on a
real SQLite database and a real Redis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard.incidents.errors import BadInput
from dashboard.inputs import (
    MAX_YEAR,
    MIN_YEAR,
    bounded_number,
    parse_day,
    parse_id,
    parse_instant,
)
from dashboard.messages import MessageError, parse_inbound
from tests.auth_helpers import sign_in
from tests.browser import KEYS

pytestmark = pytest.mark.shared_app  # refusals and reads: one app for the module

YEAR_1 = ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01")
YEAR_9999 = ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00", "9999-12-31")
HUGE_HOURS = ("1e308", "inf", "-inf", "99999999", "nan", "-1")
KEY = {"X-Api-Key": KEYS["hotline"], "content-type": "application/json"}


def report(**kw: Any) -> dict[str, Any]:
    """A valid report body inside the demo town."""
    return {"source": "hotline", "category": "traffic", "title": "红绿灯故障",
            "lon": 104.45, "lat": 30.55, **kw}


def _incidents(client: Any) -> int:
    from sqlalchemy import func, select

    from datasources.sql import models as m

    with client.zn.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(m.Incident)) or 0)


def _as_admin(client: Any) -> dict[str, str]:
    return sign_in(client, client.zn, "管理员甲", "admin")


# ---------------------------------------------------------------- POST /api/v1/incidents
@pytest.mark.parametrize("when", YEAR_1 + YEAR_9999)
def test_a_report_dated_year_1_or_9999_is_refused_in_the_senders_language(client, when):
    stored, refused = _incidents(client), client.zn.bus.rejected_counts().get("invalid", 0)
    zh = client.post("/api/v1/incidents", content=json.dumps(report(reported_at=when)),
                     headers=KEY)
    assert zh.status_code == 400, zh.text
    assert zh.json()["error"] == "invalid"
    assert "reported_at" in zh.json()["message"] and "有效日期" in zh.json()["message"]
    en = client.post("/api/v1/incidents", content=json.dumps(report(reported_at=when)),
                     headers={**KEY, "Accept-Language": "en"})
    assert en.status_code == 400 and "not a valid date" in en.json()["message"]
    assert _incidents(client) == stored  # nothing stored, and both refusals counted
    assert client.zn.bus.rejected_counts().get("invalid") == refused + 2


def test_a_5000_digit_integer_in_a_report_is_bad_json_not_a_500(client):
    body = json.dumps(report())[:-1] + ', "msg_id": ' + "9" * 5000 + "}"
    r = client.post("/api/v1/incidents", content=body, headers=KEY)
    assert r.status_code == 400 and r.json()["error"] == "bad_json", r.text
    lon = json.dumps(report())[:-1].replace('"lon": 104.45', '"lon": ' + "1" * 5000) + "}"
    r = client.post("/api/v1/incidents", content=lon, headers={**KEY, "Accept-Language": "en"})
    assert r.status_code == 400 and r.json()["message"] == "The body is not valid UTF-8 JSON."
    assert client.zn.bus.rejected_counts().get("bad_json") == 2


def test_100k_deep_json_is_bad_json_not_a_500(client):
    r = client.post("/api/v1/incidents", content="[" * 100_000 + "]" * 100_000, headers=KEY)
    assert r.status_code == 400 and r.json()["error"] == "bad_json", r.text


@pytest.mark.parametrize("field", ["title", "category", "source", "description"])
def test_a_list_where_text_belongs_in_a_report_is_invalid(client, field):
    r = client.post("/api/v1/incidents", content=json.dumps(report(**{field: ["x"]})),
                    headers=KEY)
    assert r.status_code == 400 and r.json()["error"] == "invalid", r.text


# ---------------------------------------------------------------- the Redis door
@pytest.mark.parametrize("raw", [
    '{"type":"incident.progress","incident_id":' + "9" * 20 + ',"to_state":"accepted",'
    '"actor":"x"}',
    '{"type":"incident.progress","incident_id":' + "9" * 5000 + ',"to_state":"accepted",'
    '"actor":"x"}',
    '{"type":"incident.report","source":"hotline","category":"traffic","title":"t",'
    '"lon":104.45,"lat":30.55,"reported_at":"0001-01-01T00:00:00+14:00"}',
    "[" * 100_000 + "]" * 100_000,
])
def test_the_redis_door_refuses_the_same_inputs_with_a_reason(raw):
    with pytest.raises(MessageError) as refused:
        parse_inbound(raw)
    assert refused.value.reason in ("invalid", "bad_json")


def test_the_redis_door_counts_them_as_rejected_instead_of_failing(client):
    outcome = client.zn.intake.handle_raw('{"type":"incident.progress","incident_id":'
                                          + "9" * 20 + ',"to_state":"accepted","actor":"x"}')
    assert outcome.rejected == "invalid"
    assert client.zn.intake.handle_raw("1" * 5000).rejected == "bad_json"


# ---------------------------------------------------------------- Open311
@pytest.mark.parametrize("when", YEAR_1 + YEAR_9999)
@pytest.mark.parametrize("param", ["end_date", "start_date"])
def test_open311_dates_at_year_1_or_9999_are_a_georeport_400(client, when, param):
    r = client.get("/open311/v2/requests.json", params={param: when, "locale": "en"})
    assert r.status_code == 400, r.text
    assert r.json()[0]["code"] == 400 and param in r.json()[0]["description"]
    assert "not a valid date" in r.json()[0]["description"]
    zh = client.get("/open311/v2/requests.json", params={param: when})
    assert zh.status_code == 400 and "有效日期" in zh.json()[0]["description"]


# ---------------------------------------------------------------- the daily brief
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-13-01", "1999-12-31"])
def test_a_brief_of_year_1_or_9999_is_a_400_in_the_readers_language(client, day):
    _as_admin(client)
    zh = client.get(f"/api/brief/{day}.html")
    assert zh.status_code == 400, zh.text
    assert zh.json()["error"] == "bad_date" and "有效日期" in zh.json()["message"]
    en = client.get(f"/api/brief/{day}.html", params={"lang": "en"})
    assert en.status_code == 400 and "not a valid date" in en.json()["message"]


def test_a_brief_of_a_day_to_come_says_so_in_the_readers_language(client):
    _as_admin(client)
    r = client.get("/api/brief/2098-01-01.html", params={"lang": "en"})
    assert r.status_code == 400 and r.json() == {
        "error": "day_ahead", "message": "2098-01-01 has not happened yet"}


def test_todays_brief_still_answers(client):
    from dashboard.timeutil import LOCAL_TZ, utcnow

    _as_admin(client)
    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    r = client.get(f"/api/brief/{today}.html", params={"download": 1})
    assert r.status_code == 200 and f'filename="brief-{today}.html"' in \
        r.headers["content-disposition"]
    # Any value asks for the file; a 5,000-digit one is no longer FastAPI's English 422.
    r = client.get(f"/api/brief/{today}.html", params={"download": "9" * 5000})
    assert r.status_code == 200 and "content-disposition" in r.headers
    assert "content-disposition" not in client.get(f"/api/brief/{today}.html").headers


# ---------------------------------------------------------------- the audit range
@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "yesterday"])
@pytest.mark.parametrize("path", ["/audit", "/audit.csv"])
def test_an_audit_range_at_year_1_or_9999_is_a_400(client, param, day, path):
    _as_admin(client)
    r = client.get(path, params={param: day, "lang": "en"})
    assert r.status_code == 400, r.text[:300]
    assert "not a valid date" in r.text
    zh = client.get(path, params={param: day})
    assert zh.status_code == 400 and "有效日期" in zh.text


def test_a_sane_audit_range_still_answers(client):
    _as_admin(client)
    assert client.get("/audit", params={"since": "2026-01-01", "until": "2026-12-31"}) \
        .status_code == 200
    assert client.get("/audit.csv", params={"since": "", "until": ""}).status_code == 200


# ---------------------------------------------------------------- the bus track
@pytest.mark.parametrize("start", YEAR_1[:2] + YEAR_9999[:2] + ("9999-12-31T23:59:59",))
def test_a_bus_track_from_year_1_or_9999_is_a_400(client, start):
    _as_admin(client)
    r = client.get("/api/v1/buses/川A12345/track", params={"start": start},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_date" and "not a valid date" in r.json()["message"]


@pytest.mark.parametrize("hours", HUGE_HOURS)
def test_a_bus_track_of_1e308_or_inf_hours_is_a_400(client, hours):
    _as_admin(client)
    for start in (None, "2026-12-01T08:00:00+08:00"):
        r = client.get("/api/v1/buses/川A12345/track",
                       params={"hours": hours, **({"start": start} if start else {})})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "bad_number" and "hours" in r.json()["message"]


def test_a_sane_bus_track_still_answers(client):
    _as_admin(client)
    r = client.get("/api/v1/buses/川A12345/track",
                   params={"start": "2026-12-01T08:00:00+08:00", "hours": "2.5"})
    assert r.status_code == 200 and r.json() == {"plate": "川A12345", "fixes": []}


# ---------------------------------------------------------------- the field API
@pytest.mark.parametrize("ident", ["9" * 20, "9" * 5000, "2147483648", "0", "-1", "1e3"])
def test_a_20_digit_id_in_the_field_api_is_a_400(client, ident):
    headers = _as_admin(client)
    r = client.post(f"/api/v1/field/incidents/{ident}/ack", content="{}",
                    headers={**headers, "Accept-Language": "en"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_id" and r.json()["message"].endswith("is not a valid id")


@pytest.mark.parametrize("body", [
    '{"note": ["x"]}', '{"actor": {"a": 1}}', '{"note": ' + "9" * 5000 + "}",
    "[" * 100_000 + "]" * 100_000,
])
def test_a_list_or_a_huge_number_in_a_field_step_is_a_400(client, body):
    headers = _as_admin(client)
    r = client.post("/api/v1/field/incidents/1/note", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid", r.text


# ---------------------------------------------------------------- the shared helper
def test_one_helper_bounds_every_door():
    assert parse_day("2026-12-04").isoformat() == "2026-12-04"
    assert parse_instant("2026-12-04T08:00:00+08:00").isoformat() == \
        "2026-12-04T00:00:00+00:00"
    assert parse_id("42") == 42
    assert bounded_number("2.5", "hours", 0, 24) == 2.5
    for bad in (f"{MIN_YEAR - 1}-12-31", f"{MAX_YEAR + 1}-01-01", ["2026-12-04"], None, ""):
        with pytest.raises(BadInput):
            parse_day(bad)
    for number in ("1e308", "inf", float("inf"), 10**30, "9" * 5000, True, [1]):
        with pytest.raises(BadInput) as refused:
            bounded_number(number, "hours", 0, 24)
        assert refused.value.code == "bad_number" and len(refused.value.params["value"]) <= 40


# ---------------------------------------------------------------- the duty console
def test_a_list_where_the_consoles_note_belongs_is_a_refusal_not_a_500(client):
    from dashboard.geo.lookup import GridHit
    from dashboard.messages import IncidentReport

    svc = client.zn
    report = IncidentReport(source="hotline", category="water", title="自来水管爆裂",
                            lon=104.45, lat=30.55)
    incident_id = svc.store.create_incident(report, GridHit("G3-02", "V01")).incident.id
    headers = sign_in(client, svc, "值班员王", "officer")
    order = svc.store.incident(incident_id)
    trigger = {"type": "disp-act", "action": "accept"}
    outs = [("disp-toast", "children"), ("disp-toast", "className"), ("disp-tick", "data"),
            ("disp-note", "value"), ("disp-satisfaction", "value")]
    key = "...".join(f"{i}.{p}" for i, p in outs)
    body = {"output": f"..{key}..", "outputs": [{"id": i, "property": p} for i, p in outs],
            "inputs": [[], [{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "disp-ctx", "property": "data",
                       "value": {"id": incident_id, "ref": order["ref"],
                                 "version": order["version"], "state": order["state"],
                                 "recs": []}},
                      {"id": "disp-officer", "property": "data", "value": None},
                      {"id": "disp-note", "property": "value", "value": ["<b>x</b>"]},
                      {"id": "disp-satisfaction", "property": "value", "value": None},
                      {"id": "disp-lang", "property": "data", "value": "en"}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":"), sort_keys=True)
                               + ".n_clicks"]}
    r = client.post("/_dash-update-component", content=json.dumps(body),
                    headers={**headers, "content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    toast = json.dumps(r.json()["response"]["disp-toast"], ensure_ascii=False)
    assert "disp-toast err" in toast and "note must be text" in toast, toast
    assert svc.store.incident(incident_id)["version"] == order["version"]


@pytest.mark.parametrize("choice", ["x", "川A12345||9999-12-31T23:59:59-14:00|0001-01-01",
                                    "川A12345||yesterday|today", ["a"], 5])
def test_a_forged_bus_replay_choice_is_an_empty_replay_not_a_500(client, choice):
    headers = sign_in(client, client.zn, "值班员王", "officer")
    outs = [("bus-replay-track", "data"), ("bus-replay-slider", "max"),
            ("bus-replay-slider", "value")]
    key = "...".join(f"{i}.{p}" for i, p in outs)
    body = {"output": f"..{key}..", "outputs": [{"id": i, "property": p} for i, p in outs],
            "inputs": [{"id": "bus-replay-run", "property": "value", "value": choice}],
            "state": [], "changedPropIds": ["bus-replay-run.value"]}
    r = client.post("/_dash-update-component", content=json.dumps(body, ensure_ascii=False),
                    headers={**headers, "content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["response"]["bus-replay-slider"]["max"] == 0


def test_a_20_digit_id_anywhere_in_the_record_is_none_such(client):
    from dashboard.incidents.errors import NotFound

    svc = client.zn
    for ident in (10**20, 2**31, 0, -1):
        with pytest.raises(NotFound):
            svc.store.incident(ident)
        with pytest.raises(NotFound):
            svc.intake.act(ident, "accept", "值班员王")
        with pytest.raises(NotFound):
            svc.intake.split_report(ident, "值班员王")
        with pytest.raises(NotFound):
            svc.resources.depart(ident, "值班员王")
    # The console's incident view (its id comes from the browser) says the order is gone.
    headers = sign_in(client, svc, "值班员王", "officer")
    outs = [("disp-detail", "children"), ("disp-actions", "children"),
            ("disp-sat-wrap", "hidden"), ("disp-history", "children"), ("disp-recs", "children"),
            ("disp-ctx", "data"), ("disp-focus", "data"), ("disp-action-bar", "hidden")]
    key = "...".join(f"{i}.{p}" for i, p in outs)
    body = {"output": f"..{key}..", "outputs": [{"id": i, "property": p} for i, p in outs],
            "inputs": [{"id": "disp-selected", "property": "data", "value": 10**20},
                       {"id": "disp-tick", "property": "data", "value": 0},
                       {"id": "disp-officer", "property": "data", "value": None}],
            "state": [{"id": "disp-lang", "property": "data", "value": "zh"}],
            "changedPropIds": ["disp-selected.data"]}
    r = client.post("/_dash-update-component", content=json.dumps(body),
                    headers={**headers, "content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert "事件不存在" in json.dumps(r.json(), ensure_ascii=False)
