"""Open311 GeoReport v2 conformance: every example of the spec (wiki.open311.org/GeoReport_v2),
asked of a real server in JSON and in XML, answered in the spec's shapes.

The spec's examples, as this file encodes them (element names and nesting; the JSON keys
are the same names):
  GET services.xml?jurisdiction_id=…        <services><service>SERVICE…</service></services>
  GET services/033.xml?jurisdiction_id=…    <service_definition><service_code/><attributes>
                                            <attribute>ATTRIBUTE…<values><value><key/><name/>
  POST requests.xml (form: api_key, jurisdiction_id, service_code, lat, long,
       address_string, email, device_id, account_id, first_name, last_name, phone,
       description, media_url, attribute[CODE]=v, attribute[CODE][]=v…)
                                            <service_requests><request>POSTED…</request>
  GET tokens/123456.xml                     <service_requests><request><service_request_id/>
                                            <token/></request></service_requests>
  GET requests.xml?start_date=…&end_date=…&status=open
  GET requests/123456.xml                   <service_requests><request>REQUEST…</request>
  any error                                 <errors><error><code/><description/></error>
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from dashboard.incidents.lifecycle import CATEGORIES
from dashboard.roles import OFFICER, Principal
from datasources.flows.desk import desk_step, dispatch_to
from tests.browser import Live

pytestmark = pytest.mark.shared_app  # refusals and reads: one app for the module

SERVICE = ["service_code", "service_name", "description", "metadata", "type", "keywords",
           "group"]
ATTRIBUTE = ["variable", "code", "datatype", "required", "datatype_description", "order",
             "description", "values"]
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
POSTED = {"service_request_id", "token", "service_notice", "account_id"}
REQUEST = ["service_request_id", "status", "status_notes", "service_name", "service_code",
           "description", "agency_responsible", "service_notice", "requested_datetime",
           "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
           "long", "media_url"]
FORMATS = ("json", "xml")
JURISDICTION = "510000-QS"  # the demo town's code (town.json)


# ------------------------------------------------------------------ the wire
def fetch(live: Live, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """(status, content type, raw body) of one request to the live server."""
    req = urllib.request.Request(live.base + path, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read()


def parse(fmt: str, ctype: str, raw: bytes) -> Any:
    """The body as JSON, or as an XML element after checking the spec's UTF-8 declaration."""
    if fmt == "json":
        assert ctype.startswith("application/json") and "utf-8" in ctype, ctype
        return json.loads(raw)
    assert ctype.startswith("text/xml") and "utf-8" in ctype, ctype
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), raw[:60]
    return ET.fromstring(raw)


def items(fmt: str, body: Any, root: str, item: str) -> list[dict[str, Any]]:
    """The list items of an answer as dicts; in XML, checks <root><item>… and that every
    item's children are leaf elements, returned by name in document order."""
    if fmt == "json":
        assert isinstance(body, list)
        return body
    assert body.tag == root, body.tag
    assert all(child.tag == item for child in body), [c.tag for c in body]
    return [{c.tag: c.text for c in child} for child in body]


def form(fields: dict[str, Any]) -> bytes:
    """A urlencoded form, repeated keys allowed (attribute[CODE][]=a&attribute[CODE][]=b)."""
    pairs = fields.items() if isinstance(fields, dict) else fields
    return urllib.parse.urlencode(list(pairs), doseq=True).encode()


def spec_post_fields(**kw: Any) -> dict[str, Any]:
    """The spec's POST example with this town's codes and places."""
    return {"api_key": "demo-key", "jurisdiction_id": JURISDICTION,
            "service_code": "environment", "lat": "30.5523", "long": "104.4512",
            "address_string": "青石河边，青石社区", "email": "smit333@example.invalid",
            "device_id": "tt222111", "account_id": "123456", "first_name": "john",
            "last_name": "smith", "phone": "111111111",
            "description": "A large sinkhole is destroying the street",
            "media_url": "https://www.example.invalid/media/1234.jpg",
            "attribute[building]": "3栋", "attribute[danger]": "no",
            "attribute[pollution][]": ["water", "waste"], **kw}


def post(live: Live, fmt: str, fields: dict[str, Any], **headers: str) -> tuple[int, Any]:
    status, ctype, raw = fetch(live, "POST", f"/open311/v2/requests.{fmt}", form(fields),
                               {"Content-Type": "application/x-www-form-urlencoded",
                                **headers})
    return status, parse(fmt, ctype, raw)


def error_of(fmt: str, body: Any) -> tuple[int, str]:
    """(code, description) of the spec's error answer, checking its shape."""
    found = items(fmt, body, "errors", "error")
    assert len(found) == 1 and set(found[0]) == {"code", "description"}, found
    return int(found[0]["code"]), found[0]["description"]


# ------------------------------------------------------------------ services
@pytest.mark.parametrize("fmt", FORMATS)
def test_get_service_list_as_the_spec_shows_it(live: Live, fmt: str) -> None:
    status, ctype, raw = fetch(live, "GET",
                               f"/open311/v2/services.{fmt}?jurisdiction_id={JURISDICTION}")
    assert status == 200
    services = items(fmt, parse(fmt, ctype, raw), "services", "service")
    assert [s["service_code"] for s in services] == [c.code for c in CATEGORIES]
    for s in services:
        assert list(s) == SERVICE  # the spec's elements, in its order
        assert s["metadata"] in (True, "true") and s["type"] == "realtime"
        assert s["service_name"] and s["group"] and "," in s["keywords"]
    assert services[0]["service_name"] == "社会治安"


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_service_definition_with_attributes(live: Live, fmt: str) -> None:
    path = f"/open311/v2/services/environment.{fmt}?jurisdiction_id={JURISDICTION}&locale=en"
    status, ctype, raw = fetch(live, "GET", path)
    assert status == 200
    body = parse(fmt, ctype, raw)
    if fmt == "xml":
        assert body.tag == "service_definition"
        assert [c.tag for c in body] == ["service_code", "attributes"]
        assert body.findtext("service_code") == "environment"
        attrs = body.findall("attributes/attribute")
        assert all([c.tag for c in a] == ATTRIBUTE for a in attrs)
        defs = [{c.tag: c.text for c in a} for a in attrs]
        values = {a.findtext("code"): [(v.findtext("key"), v.findtext("name"))
                                       for v in a.findall("values/value")] for a in attrs}
        assert all(d["variable"] in ("true", "false") for d in defs)
    else:
        assert list(body) == ["service_code", "attributes"]
        assert body["service_code"] == "environment"
        defs = body["attributes"]
        assert all(list(a) == ATTRIBUTE for a in defs)
        values = {a["code"]: [(v["key"], v["name"]) for v in a["values"]] for a in defs}
        assert all(isinstance(a["variable"], bool) for a in defs)
    assert all(d["datatype"] in DATATYPES for d in defs)
    assert [int(d["order"]) for d in defs] == list(range(1, len(defs) + 1))
    codes = [d["code"] for d in defs]
    assert codes[:3] == ["photo", "building", "danger"] and "pollution" in codes
    assert values["pollution"] == [("water", "Water"), ("air", "Air"), ("waste", "Waste"),
                                   ("noise", "Noise")]
    assert values["danger"] == [("yes", "Yes"), ("no", "No")]
    photo = next(d for d in defs if d["code"] == "photo")
    assert photo["variable"] in (False, "false")  # information for the citizen only


# ------------------------------------------------------------------ POST and follow
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_the_spec_example_then_follow_it_by_token_id_and_list(live: Live,
                                                                   fmt: str) -> None:
    status, body = post(live, fmt, spec_post_fields(description=f"{fmt}: sinkhole"))
    assert status == 200, body
    [created] = items(fmt, body, "service_requests", "request")
    assert set(created) <= POSTED and {"service_request_id", "service_notice"} <= set(created)
    ref, token = created["service_request_id"], created["token"]
    assert ref in created["service_notice"] and token
    assert created["account_id"] in (None, "")  # <account_id/>: no accounts here

    status, ctype, raw = fetch(live, "GET", f"/open311/v2/tokens/{token}.{fmt}")
    assert status == 200
    assert items(fmt, parse(fmt, ctype, raw), "service_requests", "request") == [
        {"service_request_id": ref, "token": token}]

    status, ctype, raw = fetch(live, "GET", f"/open311/v2/requests/{ref}.{fmt}?locale=en")
    [req] = items(fmt, parse(fmt, ctype, raw), "service_requests", "request")
    assert list(req) == REQUEST
    # Echoed as sent: the description and the address, with nothing appended in Chinese.
    assert req["description"] == f"{fmt}: sinkhole"
    assert req["address"] == "青石河边，青石社区" and req["address_id"] in (None, "")
    assert req["status"] == "open" and req["status_notes"].startswith("Reported (")
    assert req["service_code"] == "environment" and req["service_name"] == "Environment"
    assert req["agency_responsible"] == "Qingshi Town command centre"
    assert float(req["lat"]) == 30.5523 and float(req["long"]) == 104.4512
    assert req["media_url"] == "https://www.example.invalid/media/1234.jpg"
    assert req["requested_datetime"].endswith("+08:00")

    # The spec's GET Service Requests example: dates and a status; comma lists too.
    query = urllib.parse.urlencode({"start_date": "2010-05-24T00:00:00Z",
                                    "end_date": "2099-06-24T00:00:00Z", "status": "open"})
    for q in (query, "status=open,closed&service_code=environment,traffic", ""):
        status, ctype, raw = fetch(live, "GET", f"/open311/v2/requests.{fmt}?{q}")
        listed = items(fmt, parse(fmt, ctype, raw), "service_requests", "request")
        assert status == 200 and ref in [r["service_request_id"] for r in listed], q
        assert all(list(r) == REQUEST for r in listed)
    status, ctype, raw = fetch(live, "GET", f"/open311/v2/requests.{fmt}?status=closed"
                                            "&service_code=environment,fire")
    assert ref not in [r["service_request_id"] for r in
                       items(fmt, parse(fmt, ctype, raw), "service_requests", "request")]
    status, ctype, raw = fetch(live, "GET",
                               f"/open311/v2/requests.{fmt}?service_request_id={ref},nope")
    assert [r["service_request_id"] for r in
            items(fmt, parse(fmt, ctype, raw), "service_requests", "request")] == [ref]


def test_the_console_reads_the_address_and_the_answers_under_the_citizens_words(
        live: Live) -> None:
    status, body = post(live, "json", spec_post_fields(description="井盖缺失"))
    assert status == 200, body
    from sqlalchemy import select

    from datasources.sql import models as m

    with live.services.store.session() as s:
        row = s.scalar(select(m.Incident).where(m.Incident.ref == body[0]["service_request_id"]))
        assert row.description.splitlines() == [
            "井盖缺失", "地址：青石河边，青石社区", "楼栋、门牌号或院落名：3栋",
            "现场是否有人身危险：否", "污染类型：水体、垃圾"]
        assert row.source == "citizen" and row.reporter_name == "john smith"


def test_agency_responsible_and_status_notes_follow_the_work_order(live: Live) -> None:
    fields = {k: v for k, v in spec_post_fields(description="违章搭建").items()
              if k != "attribute[pollution][]"}
    status, body = post(live, "json", {**fields, "service_code": "planning"})
    assert status == 200, body
    ref = body[0]["service_request_id"]
    intake = live.services.intake
    incident_id = _id_of(live, ref)
    officer = Principal(role=OFFICER, name="值班员甲", kind="user", user_id=1)
    dispatch_to(intake, officer, incident_id, "unit:U-C-ZJ", state="reported", version=None,
                note="需县住建局认定")
    zh = live.call("GET", f"/open311/v2/requests/{ref}.json")[2][0]
    en = live.call("GET", f"/open311/v2/requests/{ref}.json?locale=en")[2][0]
    assert zh["agency_responsible"] == "县住房和城乡建设局"
    assert en["agency_responsible"] == "County Housing and Construction Bureau"
    assert zh["status_notes"].startswith("派遣（") and "需县住建局认定" not in zh["status_notes"]
    desk_step(intake, officer, incident_id, "void", note="重复上报，已并入其他工单")
    closed = live.call("GET", f"/open311/v2/requests/{ref}.json")[2][0]
    assert closed["status"] == "closed"
    assert closed["status_notes"].startswith("作废（")
    assert closed["status_notes"].endswith("：重复上报，已并入其他工单")


def _id_of(live: Live, ref: str) -> int:
    from sqlalchemy import select

    from datasources.sql import models as m

    with live.services.store.session() as s:
        return int(s.scalar(select(m.Incident.id).where(m.Incident.ref == ref)))


# ------------------------------------------------------------------ where, without lat/long
@pytest.mark.parametrize(("fields", "place", "lat", "address"), [
    ({"address_string": "建林村二组王家院子"}, "group", 30.577492, "建林村二组王家院子"),
    ({"address_id": "L-S01"}, "landmark", 30.550337, "Qingshi Middle School"),
    ({"address_string": "Heba Village"}, "village", 30.56684, "Heba Village"),
])
def test_an_address_alone_is_placed_by_the_towns_gazetteer(live: Live, fields, place, lat,
                                                           address) -> None:
    sent = {k: v for k, v in spec_post_fields(description=place).items()
            if k not in ("lat", "long", "address_string")}
    status, body = post(live, "json", {**sent, **fields})
    assert status == 200, body
    req = live.call("GET", f"/open311/v2/requests/{body[0]['service_request_id']}.json"
                           "?locale=en")[2][0]
    assert req["lat"] == pytest.approx(lat) and req["address"] == address
    assert req["address_id"] == fields.get("address_id")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_address_is_the_specs_400_in_the_requesters_language(live: Live,
                                                                        fmt: str) -> None:
    sent = {k: v for k, v in spec_post_fields().items() if k not in ("lat", "long")}
    status, body = post(live, fmt, {**sent, "address_string": "火星基地"})
    assert status == 400 and error_of(fmt, body) == (400, error_of(fmt, body)[1])
    assert "地名库" in error_of(fmt, body)[1]
    status, body = post(live, fmt, {**sent, "address_string": "火星基地"},
                        **{"Accept-Language": "en"})
    assert "gazetteer" in error_of(fmt, body)[1]
    status, body = post(live, fmt, {**sent, "address_id": "X-404", "address_string": ""})
    assert status == 400 and "X-404" in error_of(fmt, body)[1]


# ------------------------------------------------------------------ multipart
def multipart(fields: dict[str, Any], files: dict[str, bytes] | None = None) -> tuple[bytes,
                                                                                        str]:
    """A multipart/form-data body (repeated keys for lists) and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        for one in v if isinstance(v, list) else [v]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                         f"{one}\r\n".encode())
    for name, data in (files or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                     + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_multipart_posts_are_taken_and_media_files_refused_clearly(live: Live,
                                                                   fmt: str) -> None:
    body, ctype = multipart(spec_post_fields(description="multipart"))
    status, rtype, raw = fetch(live, "POST", f"/open311/v2/requests.{fmt}", body,
                               {"Content-Type": ctype})
    assert status == 200, raw
    [created] = items(fmt, parse(fmt, rtype, raw), "service_requests", "request")
    found = live.call("GET", f"/open311/v2/requests/{created['service_request_id']}.json")[2]
    assert found[0]["description"] == "multipart"
    body, ctype = multipart(spec_post_fields(), {"media": b"\xff\xd8\xff" + b"0" * 300_000})
    status, rtype, raw = fetch(live, "POST", f"/open311/v2/requests.{fmt}", body,
                               {"Content-Type": ctype, "Accept-Language": "en"})
    assert status == 400
    assert "media_url" in error_of(fmt, parse(fmt, rtype, raw))[1]


# ------------------------------------------------------------------ errors on every path
ERRORS = [
    # (method, path, form, status, a word of the English description)
    ("GET", "/open311/v2/services.{fmt}?jurisdiction_id=city.gov", None, 404, "city.gov"),
    ("GET", "/open311/v2/services/033.{fmt}", None, 404, "033"),
    ("GET", "/open311/v2/services/fire.{fmt}?jurisdiction_id=x", None, 404, "jurisdiction"),
    ("POST", "/open311/v2/requests.{fmt}", {"api_key": "xyz"}, 403, "api_key"),
    ("POST", "/open311/v2/requests.{fmt}", {"service_code": "001"}, 404, "001"),
    ("POST", "/open311/v2/requests.{fmt}", {"jurisdiction_id": "city.gov"}, 404, "city.gov"),
    ("POST", "/open311/v2/requests.{fmt}", {"service_code": ""}, 400, "service_code"),
    ("POST", "/open311/v2/requests.{fmt}", {"attribute[WHISHETN]": "123"}, 400, "WHISHETN"),
    ("POST", "/open311/v2/requests.{fmt}", {"attribute[danger]": "maybe"}, 400, "danger"),
    ("GET", "/open311/v2/requests.{fmt}?status=pending", None, 400, "status"),
    ("GET", "/open311/v2/requests.{fmt}?start_date=yesterday", None, 400, "start_date"),
    ("GET", "/open311/v2/requests.{fmt}?service_code=ufo,fire", None, 404, "ufo"),
    ("GET", "/open311/v2/requests/123456.{fmt}", None, 404, "123456"),
    ("GET", "/open311/v2/tokens/12345.{fmt}", None, 404, "12345"),
    ("GET", "/open311/v2/discovery.{fmt}", None, 404, "discovery"),
    ("GET", "/open311/v2/requests/1/comments.{fmt}", None, 404, "comments"),
    ("DELETE", "/open311/v2/requests.{fmt}", None, 405, "DELETE"),
    ("POST", "/open311/v2/services.{fmt}", {}, 405, "POST"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("method", "path", "fields", "status", "word"), ERRORS)
def test_every_error_is_the_specs_error_format(live: Live, fmt: str, method: str, path: str,
                                              fields: dict[str, Any] | None, status: int,
                                              word: str) -> None:
    body = None
    headers = {"Accept-Language": "en"}
    if fields is not None:
        body = form({**spec_post_fields(), **fields})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    got, ctype, raw = fetch(live, method, path.format(fmt=fmt), body, headers)
    assert got == status, raw
    code, description = error_of(fmt, parse(fmt, ctype, raw))
    assert code == status and word in description, description


@pytest.mark.parametrize("path", ["/open311/v2/services.csv", "/open311/v2/foo",
                                  "/open311/v3/services.json", "/open311"])
def test_other_paths_under_open311_are_404_in_json_never_the_gates_401(live: Live,
                                                                       path: str) -> None:
    status, ctype, raw = fetch(live, "GET", path)
    assert status == 404, raw
    code, description = error_of("json", parse("json", ctype, raw))
    assert code == 404 and "请先登录" not in description


# ------------------------------------------------------------------ refusals before the door
def test_the_rate_limit_the_body_limit_and_the_gate_refuse_in_the_specs_format(
        settings) -> None:
    from dataclasses import replace

    from datasources.gate.web import SESSION_COOKIE
    from tests.browser import app_client

    with app_client(replace(settings, ingest_rate=1)) as client:
        sent = form(spec_post_fields())
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept-Language": "en"}
        assert client.post("/open311/v2/requests.xml", content=sent,
                           headers=headers).status_code == 200
        r = client.post("/open311/v2/requests.xml", content=sent, headers=headers)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert error_of("xml", parse("xml", r.headers["content-type"], r.content))[0] == 429

        # Over the gate's 8 MiB: refused before anything reads it, in the spec's shape.
        r = client.post("/open311/v2/requests.xml", content=b"x" * (9 * 1024 * 1024),
                        headers=headers)
        assert r.status_code == 413
        assert error_of("xml", parse("xml", r.headers["content-type"], r.content))[0] == 413

        # A signed-in browser's cookie without its CSRF token: the gate's 403, as GeoReport.
        accounts = client.zn.accounts
        accounts.user("o311-officer") or accounts.add_user("o311-officer", OFFICER,
                                                           "o311-test-password-1")
        client.cookies.set(SESSION_COOKIE,
                           accounts.start_session(accounts.user("o311-officer")))
        r = client.post("/open311/v2/requests.json", content=sent, headers=headers)
        assert r.status_code == 403
        code, description = error_of("json", r.json())
        assert code == 403 and "CSRF" in description
