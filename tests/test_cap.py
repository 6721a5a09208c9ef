"""Warnings as CAP 1.2 (issue 15): the GB/T 35965.1 identifier, the issued XML against the
OASIS schema, a cancel referencing its alert, the Atom feed listing both, every refusal in
the user's language, and docs/cap.md's example message and door examples run as written."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from dashboard.alerts.cap import (
    CAP_NS,
    check_draft,
    geometry_polygons,
    make_identifier,
    parse_identifier,
    polygon_text,
    unit_code,
)
from dashboard.i18n.errors import error_text
from dashboard.incidents.errors import BadInput, LoopError
from dashboard.roles import OFFICER, Principal
from dashboard.timeutil import LOCAL_TZ
from datasources.flows.cap_xml import problems
from tests.auth_helpers import sign_in

DOC = Path(__file__).resolve().parent.parent / "docs" / "cap.md"
OFFICER_P = Principal(role=OFFICER, name="王芳", kind="user")
NS = {"cap": CAP_NS, "atom": "http://www.w3.org/2005/Atom"}
FLOOD = {"event": "flood", "severity": "Severe", "urgency": "Expected", "certainty": "Likely",
         "headline": "白鹤河水位上涨，沿河村组注意防范",
         "description": "上游强降雨，预计今晚超警戒。",
         "instruction": "沿河住户向高处转移。", "grids": ["G3-01", "G3-07"], "hours": 6}


def cap_of(xml: str | bytes) -> Any:
    """The parsed message."""
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml)


def text(doc: Any, path: str) -> str:
    return doc.findtext(path, namespaces=NS)


# ------------------------------------------------------------------ the identifier rule
def test_the_identifier_is_31_characters_unit_time_in_beijing_and_serial():
    unit = unit_code("510121", "000")
    assert unit == "51012100000000"
    at = datetime(2026, 12, 5, 10, 30, 5, tzinfo=UTC)  # 18:30:05 in Beijing
    ident = make_identifier(unit, at, 3)
    assert ident == "51012100000000_20261205183005_3" and len(ident) == 31
    back = parse_identifier(ident)
    assert (back.area, back.organisation, back.sub_unit, back.extension, back.serial) == (
        "510121", "000", "000", "00", 3)
    assert back.at == at and str(back) == ident


@pytest.mark.parametrize("bad", [
    "51012100000000_20261205183005",  # no serial
    "5101210000000_20261205183005_0",  # a 13-digit unit
    "51012100000000-20261205183005-0",  # wrong separators
    "51012100000000_20261305183005_0",  # month 13
    "51012100000000_20261205183005_10",  # serial of two digits
    "../../etc/passwd", "", 42, None,
])
def test_anything_else_is_not_an_identifier(bad):
    with pytest.raises(BadInput) as got:
        parse_identifier(bad)
    assert got.value.code == "cap_identifier"
    assert "31" in error_text(got.value, "en") and "31 位" in error_text(got.value, "zh")


def test_unit_codes_and_serials_have_their_digits():
    for parts in [("51012", "000"), ("510121", "00"), ("51012a", "000")]:
        with pytest.raises(BadInput):
            unit_code(*parts)
    with pytest.raises(BadInput):
        make_identifier("51012100000000", datetime.now(UTC), 10)


def test_a_grid_is_a_closed_ring_of_lat_lon_pairs():
    ring = [[104.1, 30.5], [104.2, 30.5], [104.2, 30.6]]
    assert polygon_text(ring) == ("30.500000,104.100000 30.500000,104.200000 "
                                  "30.600000,104.200000 30.500000,104.100000")
    with pytest.raises(BadInput):
        polygon_text([[104.1, 30.5], [104.2, 30.5]])
    square = {"type": "MultiPolygon", "coordinates": [[ring + [ring[0]]], [ring]]}
    assert len(geometry_polygons(square)) == 2


# ------------------------------------------------------------------ issue, cancel, feed
def test_an_issued_warning_validates_names_its_grids_and_is_audited(services):
    done = services.warnings.issue(FLOOD, OFFICER_P)
    assert problems(done.xml) == []
    doc = cap_of(done.xml)
    assert text(doc, "cap:identifier") == done.identifier
    assert re.fullmatch(r"51000000000000_\d{14}_\d", done.identifier)
    assert (text(doc, "cap:status"), text(doc, "cap:msgType"), text(doc, "cap:scope")) == (
        "Actual", "Alert", "Public")
    info = doc.find("cap:info", NS)
    assert (text(info, "cap:event"), text(info, "cap:severity"), text(info, "cap:urgency"),
            text(info, "cap:certainty"), text(info, "cap:language")) == (
        "洪涝", "Severe", "Expected", "Likely", "zh-CN")
    areas = info.findall("cap:area", NS)
    assert [text(a, "cap:areaDesc") for a in areas] == ["青石社区第1网格", "新街社区第2网格"]
    ring = text(areas[0], "cap:polygon").split(" ")
    assert ring[0] == ring[-1] and len(ring) >= 4
    lat, lon = map(float, ring[0].split(","))
    assert 30 < lat < 31 and 104 < lon < 105  # latitude first, as CAP has it
    sent = datetime.fromisoformat(text(doc, "cap:sent"))
    assert datetime.fromisoformat(text(info, "cap:expires")) - sent == timedelta(hours=6)
    assert text(doc, "cap:sent").endswith("+08:00")
    audit = services.audit.search(action="cap.issue")
    assert audit[0]["target"] == done.identifier and audit[0]["actor"] == "王芳"


def test_two_warnings_in_one_second_get_serials_0_and_1(services):
    now = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
    first = services.warnings.issue(FLOOD, OFFICER_P, now=now)
    second = services.warnings.issue({**FLOOD, "event": "road_closure"}, OFFICER_P, now=now)
    assert first.identifier.endswith("_20261205180000_0")
    assert second.identifier.endswith("_20261205180000_1")


def test_a_cancel_references_the_original_validates_and_happens_once(services):
    alert = services.warnings.issue(FLOOD, OFFICER_P)
    original = cap_of(alert.xml)
    done = services.warnings.cancel(alert.identifier, "水位回落", OFFICER_P)
    assert problems(done.xml) == []
    doc = cap_of(done.xml)
    assert text(doc, "cap:msgType") == "Cancel" and done.identifier != alert.identifier
    assert text(doc, "cap:references") == ",".join(
        text(original, f"cap:{n}") for n in ("sender", "identifier", "sent"))
    assert text(doc, "cap:note") == "水位回落"
    assert text(doc, "cap:info/cap:headline").startswith("【撤销】")
    assert text(doc, "cap:info/cap:responseType") == "AllClear"
    with pytest.raises(LoopError) as again:
        services.warnings.cancel(alert.identifier, "再撤一次", OFFICER_P)
    assert again.value.code == "cap_not_cancellable"
    assert "已撤销" in error_text(again.value, "zh")
    audit = services.audit.search(action="cap.cancel")
    assert [r["target"] for r in audit] == [alert.identifier]
    assert done.identifier in audit[0]["detail"]


def test_the_feed_lists_the_alert_and_its_cancel_each_linking_valid_xml(client):
    desk = client.zn.warnings
    alert = desk.issue(FLOOD, OFFICER_P)
    cancel = desk.cancel(alert.identifier, "水位回落", OFFICER_P)
    r = client.get("/api/v1/cap/feed.atom")  # public: nobody signed in
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    entries = feed.findall("atom:entry", NS)
    links = [e.find("atom:link", NS).get("href") for e in entries]
    assert links[:2] == [f"http://testserver/api/v1/cap/{cancel.identifier}.xml",
                         f"http://testserver/api/v1/cap/{alert.identifier}.xml"]
    assert [e.find("atom:category", NS).get("term") for e in entries[:2]] == ["Cancel", "Alert"]
    assert "已撤销" in entries[1].findtext("atom:summary", namespaces=NS)
    for link in links[:2]:
        one = client.get(link.replace("http://testserver", ""))
        assert one.status_code == 200
        assert one.headers["content-type"].startswith("application/cap+xml")
        assert problems(one.content) == []
    en = client.get("/api/v1/cap/feed.atom?lang=en")
    assert "Qingshi Town warnings" in en.text


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("change", "code", "zh", "en"), [
    ({"event": "meteor"}, "cap_choice", "请选择预警类型", "Choose the event type"),
    ({"severity": "Unknown"}, "cap_choice", "请选择预警级别", "Choose the severity"),
    ({"headline": "  "}, "cap_required", "请填写标题", "Fill in the headline"),
    ({"headline": "<script>alert(1)</script>"}, "bad_plain", "标题", "headline"),
    ({"description": "长" * 2001}, "cap_too_long", "最多 2000", "at most 2000"),
    ({"grids": []}, "cap_no_area", "至少选择一个影响网格", "at least one affected grid"),
    ({"grids": ["G9-99"]}, "cap_unknown_grid", "G9-99", "G9-99"),
    ({"hours": 0}, "cap_hours", "1 至 168 小时", "1 to 168 hours"),
    ({"hours": "forever"}, "cap_hours", "1 至 168 小时", "1 to 168 hours"),
    ({"status": "Draft"}, "cap_choice", "信息状态", "status"),
])
def test_a_bad_draft_is_refused_in_the_users_language(change, code, zh, en):
    with pytest.raises(BadInput) as got:
        check_draft({**FLOOD, **change}, {"G3-01", "G3-07"})
    assert got.value.code == code
    assert zh in error_text(got.value, "zh") and en in error_text(got.value, "en")


def test_nothing_is_kept_or_sent_for_a_refused_draft(services):
    with pytest.raises(BadInput):
        services.warnings.issue({**FLOOD, "grids": []}, OFFICER_P)
    assert services.warnings.recent() == [] and services.audit.search(action="cap.") == []


def test_the_schema_refuses_what_is_not_cap(services):
    xml = services.warnings.issue(FLOOD, OFFICER_P).xml
    assert problems(xml.replace("<status>Actual</status>", "<status>Real</status>"))
    assert problems(xml.replace("+08:00</sent>", "Z</sent>"))  # CAP 1.2 wants an offset
    assert problems("<alert>not even CAP</alert>")
    assert problems("not XML")


def test_the_message_door_refuses_a_bad_identifier_and_knows_no_other(client):
    r = client.get("/api/v1/cap/not-an-id.xml", headers={"Accept-Language": "en"})
    assert r.status_code == 400 and r.json()["error"] == "cap_identifier"
    assert "31 characters" in r.json()["message"]
    r = client.get("/api/v1/cap/51000000000000_20261205183000_0.xml")
    assert r.status_code == 404 and "没有预警" in r.json()["message"]


def test_the_console_issues_only_for_officers_and_admins(client):
    """The panel's callbacks are the console's actions: a leader is refused."""
    from tests.auth_helpers import post_callback

    def list_as(role: str) -> Any:
        sign_in(client, client.zn, f"cap-{role}", role)
        return post_callback(client, [("cap-list", "children")],
                             [{"id": "cap-list-tick", "property": "data", "value": 0}],
                             [{"id": "disp-lang", "property": "data", "value": "zh"}],
                             "cap-list-tick.data")

    assert list_as("leader").status_code == 403
    r = list_as("officer")
    assert r.status_code == 200 and "暂无已发布预警" in json.dumps(r.json(), ensure_ascii=False)


# ------------------------------------------------------------------ the documentation
def _doc_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_docs_example_message_is_what_the_product_issues_and_validates(services):
    """docs/cap.md's draft, issued at the doc's time, gives the doc's XML byte for byte."""
    draft = json.loads(_doc_blocks("json")[0])
    example = _doc_blocks("xml")[0]
    assert problems(example) == []
    sent = parse_identifier(cap_of(example).findtext("cap:identifier", namespaces=NS)).at
    done = services.warnings.issue(draft, OFFICER_P, now=sent)
    assert done.xml == example
    cancel = _doc_blocks("xml")[1]
    assert problems(cancel) == []
    assert cap_of(cancel).findtext("cap:references", namespaces=NS).split(",")[1] == \
        done.identifier


def test_the_docs_door_examples_run_as_written(client):
    client.zn.warnings.issue(json_draft(), OFFICER_P,
                             now=datetime(2026, 12, 5, 18, 30, tzinfo=LOCAL_TZ))
    calls = re.findall(r"^curl -s http://127\.0\.0\.1:8050(\S+)$",
                       DOC.read_text(encoding="utf-8"), re.M)
    assert len(calls) >= 3
    refusal = json.loads(_doc_blocks("json")[1])
    for path in calls:
        r = client.get(path)
        assert r.status_code in (200, 400), path
        if r.status_code == 400:
            assert r.json() == refusal
        if path.endswith(".xml") and r.status_code == 200:
            assert problems(r.content) == []
        if path.endswith(".atom"):
            assert etree.fromstring(r.content).find("atom:entry", NS) is not None


def test_the_docs_feed_example_is_atom_linking_the_examples():
    feed = etree.fromstring(_doc_blocks("atom")[0].encode())
    links = [e.find("atom:link", NS).get("href") for e in feed.findall("atom:entry", NS)]
    idents = [cap_of(x).findtext("cap:identifier", namespaces=NS) for x in _doc_blocks("xml")]
    assert links == [f"http://127.0.0.1:8050/api/v1/cap/{i}.xml" for i in reversed(idents)]


def json_draft() -> dict[str, Any]:
    return json.loads(_doc_blocks("json")[0])


def test_racing_officers_get_distinct_serials_and_one_cancel(services):
    """Eight officers issue in the same second: eight identifiers, serials 0-7; eight
    cancel one alert at once: one cancel, seven told it is cancelled already."""
    import threading

    now = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
    issued: list[str] = []
    refused: list[str] = []

    def issue() -> None:
        issued.append(services.warnings.issue(FLOOD, OFFICER_P, now=now).identifier)

    def cancel(ident: str) -> None:
        try:
            # A minute after issue: on the wall clock it could be after the warning expired
            # (the test once failed in the afternoon of its issue date).
            issued.append(services.warnings.cancel(ident, "撤", OFFICER_P,
                                                   now=now + timedelta(minutes=1)).identifier)
        except LoopError as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(i[-1] for i in issued) == [str(n) for n in range(8)]
    target = issued[0]
    issued.clear()
    threads = [threading.Thread(target=cancel, args=(target,)) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(issued) == 1 and refused == ["cap_not_cancellable"] * 7
    assert services.warnings.get(target).cancelled_by == issued[0]
