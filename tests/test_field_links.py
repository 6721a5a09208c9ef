"""Photo links and notes from the field (issue 12): the field page and the field API take a
photo link only as an http(s) address without markup, with a coded refusal in the worker's
language, and nothing is stored when it is refused; a 403 names nobody else's assignee.

The app runs in-process (`client`), with real SQLite and Redis; the page's callback is posted
as Dash's renderer posts it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import BadInput
from dashboard.messages import IncidentReport
from tests.auth_helpers import csrf, sign_in
from tests.browser import KEYS

pytestmark = pytest.mark.shared_app  # refusals and reads: one app for the module

WORKER, WORKER_ID = "陈红梅", "W003"
OTHER, OTHER_ID = "李春梅", "W002"
HOSTILE = ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "http://x.cn/<script>alert(1)</script>",
           'https://x.cn/a.jpg"onmouseover="alert(1)', "data:text/html,<b>x</b>",
           "ftp://x.cn/a.jpg", "http:///a.jpg", "https://x.cn/a b.jpg", "//x.cn/a.jpg",
           "https://x.cn/\u0000.jpg", "http://x.cn/'><img src=x>", "https://" + "a" * 600)
GOOD = "https://img.example.cn/2026/12/04/a.jpg?w=800&h=600#top"


@pytest.fixture
def order(client: Any) -> int:
    """A work order dispatched to WORKER, with both workers' accounts linked to them."""
    svc = client.zn
    for name, person in ((WORKER, WORKER_ID), (OTHER, OTHER_ID)):
        svc.accounts.user(name) or svc.accounts.add_user(name, "grid_worker", "test-password",
                                                         person_id=person)
    report = IncidentReport(source="hotline", category="water", title="自来水管爆裂",
                            lon=104.45, lat=30.55)
    incident_id = svc.store.create_incident(report, GridHit("G3-02", "V01")).incident.id
    svc.intake.act(incident_id, "accept", "值班员王")
    svc.intake.act(incident_id, "dispatch", "值班员王", assignee=WORKER, assignee_id=WORKER_ID)
    return incident_id


def _history(client: Any, incident_id: int) -> list[Any]:
    return [(h["action"], h["note"]) for h in client.zn.store.history(incident_id)]


def _api(client: Any, incident_id: int, action: str, lang: str = "zh", **body: Any) -> Any:
    return client.post(f"/api/v1/field/incidents/{incident_id}/{action}",
                       content=json.dumps(body, ensure_ascii=False),
                       headers={"X-CSRFToken": csrf(client), "Accept-Language": lang})


def _page(client: Any, incident_id: int, action: str, note: Any = "", photo: Any = "",
          lang: str = "zh") -> str:
    """The /field page's report_field_step callback for one clicked step; the result text."""
    trigger = {"type": "field-act", "incident": incident_id, "action": action}
    body = {"output": "..field-result.children...field-note.value..",
            "outputs": [{"id": "field-result", "property": "children"},
                        {"id": "field-note", "property": "value"}],
            "inputs": [[{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "field-name-store", "property": "data", "value": WORKER_ID},
                      {"id": "field-note", "property": "value", "value": note},
                      {"id": "field-photo", "property": "value", "value": photo},
                      {"id": "field-lang", "property": "data", "value": lang}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":"), sort_keys=True,
                                          ensure_ascii=False) + ".n_clicks"]}
    r = client.post("/_dash-update-component", content=json.dumps(body, ensure_ascii=False),
                    headers={"X-CSRFToken": csrf(client), "content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    return json.dumps(r.json()["response"]["field-result"]["children"], ensure_ascii=False)


# ---------------------------------------------------------------- one rule
def test_one_rule_for_a_photo_link():
    from dashboard.inputs import photo_url

    assert photo_url(GOOD) == GOOD
    assert photo_url("  http://10.0.0.5:8080/p/1.png ") == "http://10.0.0.5:8080/p/1.png"
    assert photo_url("") is None and photo_url(None) is None
    for bad in (*HOSTILE, ["https://x.cn/a.jpg"], 5):
        with pytest.raises(BadInput) as refused:
            photo_url(bad)
        assert refused.value.code == "bad_url"


# ---------------------------------------------------------------- the field API
@pytest.mark.parametrize("link", HOSTILE)
def test_the_field_api_refuses_a_photo_link_that_is_not_plain_http(client, order, link):
    sign_in(client, client.zn, WORKER, "grid_worker")
    before = _history(client, order)
    zh = _api(client, order, "note", note="现场已围挡", photo_url=link)
    assert zh.status_code == 400, zh.text
    assert zh.json()["error"] == "bad_url" and "照片链接" in zh.json()["message"]
    en = _api(client, order, "note", "en", note="fenced off", photo_url=link)
    assert en.status_code == 400 and "photo link" in en.json()["message"]
    assert _history(client, order) == before


def test_the_field_api_keeps_a_plain_photo_link_with_the_note(client, order):
    sign_in(client, client.zn, WORKER, "grid_worker")
    r = _api(client, order, "note", note="现场已围挡", photo_url=GOOD)
    assert r.status_code == 200, r.text
    assert _history(client, order)[-1] == ("note", f"现场已围挡 {GOOD}")


# ---------------------------------------------------------------- the field page
@pytest.mark.parametrize("link", HOSTILE[:6])
def test_the_field_page_refuses_a_photo_link_that_is_not_plain_http(client, order, link):
    sign_in(client, client.zn, WORKER, "grid_worker")
    before = _history(client, order)
    shown = _page(client, order, "note", note="现场已围挡", photo=link)
    assert "field-error" in shown and "照片链接" in shown, shown
    shown = _page(client, order, "note", note="fenced off", photo=link, lang="en")
    assert "field-error" in shown and "photo link" in shown, shown
    assert _history(client, order) == before


@pytest.mark.parametrize(("note", "photo"), [("<img src=x onerror=alert(1)>", ""),
                                             (["现场"], ""), ("现场", ["https://x.cn/a.jpg"]),
                                             ({"a": 1}, None)])
def test_the_field_page_takes_notes_as_the_api_does(client, order, note, photo):
    sign_in(client, client.zn, WORKER, "grid_worker")
    before = _history(client, order)
    shown = _page(client, order, "note", note=note, photo=photo)
    assert "field-error" in shown, shown
    assert _history(client, order) == before
    # The API refuses the same markup.
    if isinstance(note, str) and "<" in note:
        assert _api(client, order, "note", note=note).status_code == 400


def test_the_field_page_keeps_a_plain_photo_link_with_the_note(client, order):
    sign_in(client, client.zn, WORKER, "grid_worker")
    shown = _page(client, order, "note", note="现场已围挡", photo=GOOD)
    assert "field-ok" in shown, shown
    assert _history(client, order)[-1] == ("note", f"现场已围挡 {GOOD}")


# ---------------------------------------------------------------- the 403
def test_the_field_apis_403_names_nobody_elses_assignee(client, order):
    sign_in(client, client.zn, OTHER, "grid_worker")
    for action in ("ack", "start", "note", "resolve"):
        for lang in ("zh", "en"):
            r = _api(client, order, action, lang, note="我来")
            assert r.status_code == 403 and r.json()["error"] == "not_assignee", r.text
            assert WORKER not in r.text and WORKER_ID not in r.text, r.text
        shown = _page(client, order, action, note="我来")
        assert "field-error" in shown and WORKER not in shown and WORKER_ID not in shown


# ---------------------------------------------------------------- the report doors
@pytest.mark.parametrize("link", ["http://x.cn/<script>alert(1)</script>",
                                  'https://x.cn/a.jpg"onerror="alert(1)', "javascript:alert(1)"])
def test_the_report_doors_take_the_same_photo_links(client, link):
    key = {"X-Api-Key": KEYS["hotline"], "content-type": "application/json",
           "Accept-Language": "en"}
    body = {"source": "hotline", "category": "traffic", "title": "红绿灯故障", "lon": 104.45,
            "lat": 30.55, "photo_url": link}
    r = client.post("/api/v1/incidents", content=json.dumps(body), headers=key)
    assert r.status_code == 400 and "photo link" in r.json()["message"], r.text
    form = {"api_key": "demo-key", "service_code": "traffic", "lat": "30.55", "long": "104.45",
            "description": "红绿灯故障", "media_url": link}
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 400 and "照片链接" in r.json()[0]["description"], r.text
    ok = client.post("/api/v1/incidents", content=json.dumps({**body, "photo_url": GOOD}),
                     headers=key)
    assert ok.status_code == 201, ok.text
