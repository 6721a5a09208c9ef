"""The duty console trusts nothing the browser sends back (issue 12).

- A dispatch names a person or team of the town's register, by id, checked on the server;
  the name stored is the register's. One click (accept then dispatch) is one transaction:
  an officer could dispatch to any string, and on PostgreSQL a long one gave a 500 after
  the accept had committed, leaving the work order half-dispatched.
- Ids the pages send back (selected incident, report, dispatch, the context's id, the
  grids page's level and crumb) are parsed by dashboard/inputs.parse_id and bounded: a
  non-numeric or 20-digit one is a refusal in the page's language, never a 500.
- Notes, stock reasons, batches and upload file names are text: markup is refused with a
  code, and nothing is stored.

Callbacks are posted as Dash's renderer posts them, to the real app in-process, signed in
as an officer; real SQLite (or DATABASE_URL) and Redis.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import BadInput, TransitionError
from dashboard.incidents.rules import Actor
from dashboard.messages import IncidentReport
from tests.auth_helpers import (
    console_act,
    console_context,
    pattern_id,
    post_callback,
    show_incident,
    sign_in,
)

pytestmark = pytest.mark.shared_app  # refusals and reads: one app for the module

WORKER, WORKER_ID = "陈红梅", "W003"  # of G3-02 in the demo town
TEAM_ID, TEAM = "team:EC-00-T1", "青石镇综合应急救援队"
OFFICER = "值班员王"


def _reported(svc: Any) -> int:
    report = IncidentReport(source="hotline", category="water", title="自来水管爆裂",
                            lon=104.45, lat=30.55)
    hit = GridHit("G3-02", "V01", workers=("李春梅", WORKER), rostered=WORKER)
    return svc.store.create_incident(report, hit).incident.id


def _officer(client: Any) -> None:
    sign_in(client, client.zn, OFFICER, "officer")


def _record(svc: Any, incident_id: int) -> tuple[Any, ...]:
    order = svc.store.incident(incident_id)
    return (order["state"], order["version"], order["assignee"], order["assignee_id"],
            [h["action"] for h in svc.store.history(incident_id)])


def _toast(r: Any, out: str = "disp-toast") -> tuple[str, str]:
    assert r.status_code == 200, r.text[:300]
    resp = r.json()["response"][out]
    return str(resp["children"]), resp["className"]


REC0 = {"type": "disp-rec", "index": 0}


# ---------------------------------------------------------------- 1. whom a click names
@pytest.mark.parametrize("forged", [
    "W999",                      # no such person
    "x" * 5000,                  # the long string that was a 500 on PostgreSQL
    "team:NOPE",                 # no such team
    "<img src=x onerror=alert(1)>",
    None, 42, ["W003"], {"id": "W003"},
])
def test_a_forged_assignee_is_refused_and_nothing_is_half_done(client, forged):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    before = _record(svc, incident_id)
    seen["recs"] = [{"id": forged, "name": "<b>随便谁</b>"}]
    text, tone = _toast(console_act(client, REC0, seen))
    assert tone == "disp-toast err"
    assert "名册" in text, text  # refused as no person or team of the town, in Chinese
    assert _record(svc, incident_id) == before  # not even accepted


@pytest.mark.parametrize("action", ["dispatch", "reassign"])
def test_no_dispatch_goes_round_the_register_through_an_action_button(client, action):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    svc.intake.act(incident_id, "accept", OFFICER)
    seen = console_context(client, incident_id)
    before = _record(svc, incident_id)
    text, tone = _toast(console_act(client, {"type": "disp-act", "action": action}, seen))
    assert tone == "disp-toast err", text
    assert _record(svc, incident_id) == before


def test_the_refusal_speaks_the_officers_language(client):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    seen["recs"] = [{"id": "W999", "name": "nobody"}]
    text, tone = _toast(console_act(client, REC0, seen, lang="en"))
    assert tone == "disp-toast err" and "register" in text, text


def test_a_real_id_is_named_as_the_register_names_it_whatever_the_page_said(client):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    seen["recs"] = [{"id": TEAM_ID, "name": "<script>alert(1)</script>" * 20}]
    text, tone = _toast(console_act(client, REC0, seen))
    assert tone == "disp-toast ok", text
    state, _, assignee, assignee_id, actions = _record(svc, incident_id)
    assert (state, assignee, assignee_id) == ("dispatched", TEAM, TEAM_ID)
    assert actions[-2:] == ["accept", "dispatch"]
    assert TEAM in text


@pytest.mark.parametrize("index", [50, -1, "abc", "9" * 20, None, [0], 1.5])
def test_a_recommendation_the_page_was_never_sent_is_refused(client, index):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    before = _record(svc, incident_id)
    text, tone = _toast(console_act(client, {"type": "disp-rec", "index": index}, seen))
    assert tone == "disp-toast err", text
    assert _record(svc, incident_id) == before


def test_accept_then_dispatch_commits_together_or_not_at_all(services):
    incident_id = _reported(services)
    before = _record(services, incident_id)
    officer = Actor(OFFICER)
    # A plan whose second step the loop refuses: the first must not stay committed.
    with pytest.raises(TransitionError):
        services.store.dispatch(incident_id, ("accept", "close"), officer, WORKER_ID)
    assert _record(services, incident_id) == before
    with pytest.raises(BadInput) as refused:
        services.store.dispatch(incident_id, ("accept", "dispatch"), officer, "W999")
    assert refused.value.code == "unknown_assignee"
    assert _record(services, incident_id) == before
    view = services.store.dispatch(incident_id, ("accept", "dispatch"), officer, WORKER_ID,
                                   expect_version=before[1])
    assert (view.state, view.assignee, view.assignee_id) == ("dispatched", WORKER, WORKER_ID)
    assert _record(services, incident_id)[4][-2:] == ["accept", "dispatch"]


def test_an_assignee_id_is_checked_before_any_query():
    from dashboard.incidents.rules import assignee_key

    assert assignee_key("W003") == ("person", "W003")
    assert assignee_key("team:EC-00-T1") == ("team", "EC-00-T1")
    for bad in ("", "x" * 41, "W 003", "<b>", None, 3, ["W003"]):
        with pytest.raises(BadInput) as refused:
            assignee_key(bad)
        assert refused.value.code == "unknown_assignee"
        assert len(str(refused.value.params["id"])) <= 40


# ---------------------------------------------------------------- 3. ids the pages send back
BAD_IDS: tuple[Any, ...] = ("abc", "9" * 20, 10**20, -3, 1.5, ["1"], {"id": 1}, True)


def _no_500(r: Any) -> Any:
    assert r.status_code in (200, 204), (r.status_code, r.text[:300])
    return r.json()["response"] if r.status_code == 200 else {}


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_forged_id_in_the_consoles_context_is_a_refusal_not_a_500(client, bad):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    before = _record(svc, incident_id)
    forged = {**seen, "id": bad}
    for trigger in (REC0, {"type": "disp-act", "action": "urge"}):
        text, tone = _toast(console_act(client, trigger, forged))
        assert tone == "disp-toast err", text
        assert "无效" in text, text  # bad_id, in the page's language
    # 投屏 and the resource section take the same context.
    r = post_callback(client, [("disp-toast", "children"), ("disp-toast", "className")],
                      [{"id": "disp-cast", "property": "n_clicks", "value": 1}],
                      [{"id": "disp-ctx", "property": "data", "value": forged},
                       {"id": "disp-lang", "property": "data", "value": "en"}],
                      "disp-cast.n_clicks")
    text, tone = _toast(r)
    assert tone == "disp-toast err" and "not a valid id" in text, text
    _no_500(post_callback(client, [("res-section", "open"), ("res-opened-for", "data")],
                          [{"id": "disp-ctx", "property": "data", "value": forged}],
                          [{"id": "res-opened-for", "property": "data", "value": None}],
                          "disp-ctx.data"))
    _no_500(post_callback(client, [("res-section", "hidden"), ("res-station", "options"),
                                   ("res-station", "value"), ("res-list", "children"),
                                   ("res-list-sig", "data")],
                          [{"id": "disp-ctx", "property": "data", "value": forged},
                           {"id": "res-tick", "property": "data", "value": 0},
                           {"id": "res-refresh", "property": "data", "value": 0}],
                          [{"id": "res-station", "property": "value", "value": "ES-01"},
                           {"id": "res-list-sig", "property": "data", "value": None},
                           {"id": "disp-lang", "property": "data", "value": "zh"}],
                          "disp-ctx.data"))
    _no_500(post_callback(client, [("res-teams", "options"), ("res-teams", "value"),
                                   ("res-supplies", "children"), ("res-rank", "children")],
                          [{"id": "res-station", "property": "value", "value": "ES-01"},
                           {"id": "res-refresh", "property": "data", "value": 0}],
                          [{"id": "disp-ctx", "property": "data", "value": forged},
                           {"id": "disp-lang", "property": "data", "value": "zh"}],
                          "res-station.value"))
    r = post_callback(client, [("res-toast", "children"), ("res-toast", "className"),
                               ("res-refresh", "data"), ("disp-tick", "data")],
                      [{"id": "res-go", "property": "n_clicks", "value": 1}],
                      [{"id": "res-station", "property": "value", "value": "ES-01"},
                       {"id": "res-teams", "property": "value", "value": ["ES-01-T1"]},
                       [], [],
                       {"id": "disp-ctx", "property": "data", "value": forged},
                       {"id": "disp-lang", "property": "data", "value": "zh"}],
                      "res-go.n_clicks")
    assert _no_500(r)["res-toast"]["className"] == "disp-toast err"
    assert _record(svc, incident_id) == before
    assert svc.resources.res.dispatches(incident_id) == []


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_forged_report_or_dispatch_id_is_a_refusal_not_a_500(client, bad):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    split = {"type": "disp-split", "report": bad}
    r = post_callback(client, [("disp-toast", "children"), ("disp-toast", "className"),
                               ("disp-tick", "data")],
                      [[{"id": split, "property": "n_clicks", "value": 1}]],
                      [{"id": "disp-ctx", "property": "data", "value": seen},
                       {"id": "disp-officer", "property": "data", "value": None},
                       {"id": "disp-lang", "property": "data", "value": "zh"}],
                      pattern_id(split) + ".n_clicks")
    answer = _no_500(r)  # a dict where the id belongs fires nothing (204), or is refused
    assert not answer or answer["disp-toast"]["className"] == "disp-toast err"
    step = {"type": "res-step", "dispatch": bad, "step": "depart"}
    r = post_callback(client, [("res-toast", "children"), ("res-toast", "className"),
                               ("res-refresh", "data"), ("disp-tick", "data")],
                      [[{"id": step, "property": "n_clicks", "value": 1}]],
                      [[], [], {"id": "disp-lang", "property": "data", "value": "zh"}],
                      pattern_id(step) + ".n_clicks")
    answer = _no_500(r)
    assert not answer or answer["res-toast"]["className"] == "disp-toast err"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_the_selected_incident_and_the_page_address_take_no_forged_id(client, bad):
    _officer(client)
    r = show_incident(client, bad)
    assert "事件不存在" in str(_no_500(r)["disp-detail"])
    page = client.get("/dispatch", params={"incident": str(bad)})
    assert page.status_code == 200


@pytest.mark.parametrize("drill", [
    {"level": "abc", "path": []}, {"level": "9" * 20, "path": []}, {"level": 7, "path": []},
    {"level": None, "path": None}, {"level": [1], "path": "G2"}, "level", [1, 2], 5,
])
def test_the_grid_pages_level_and_crumb_take_no_forged_value(client, drill):
    _officer(client)
    outs = [("gs-frame", "data"), ("gs-legend", "children"), ("gs-crumbs", "children"),
            ("gs-rank", "children"), ("gs-totals", "children")]

    def view(drill: Any, measure: str = "received") -> Any:
        return post_callback(client, outs,
                             [{"id": "gs-drill", "property": "data", "value": drill},
                              {"id": "gs-measure", "property": "value", "value": measure},
                              {"id": "gs-window", "property": "value", "value": "30d"},
                              {"id": "gs-category", "property": "value", "value": None},
                              {"id": "gs-tick", "property": "data", "value": 0}],
                             [{"id": "gs-lang", "property": "data", "value": "zh"}],
                             "gs-drill.data")

    assert _no_500(view({"level": 2, "path": ["G1-01"]}))["gs-frame"]["data"]["level"] == 2
    assert _no_500(view(drill)) == {}  # no_update: nothing the page drew asks for this
    assert _no_500(view({"level": 1, "path": []}, measure="<b>")) == {}
    for index in ("abc", "9" * 20, -1, None, [0]):
        crumb = {"type": "gs-crumb", "index": index}
        r = post_callback(client, [("gs-drill", "data"), ("gs-select", "data")],
                          [[{"id": crumb, "property": "n_clicks", "value": 1}]],
                          [{"id": "gs-drill", "property": "data", "value": drill}],
                          pattern_id(crumb) + ".n_clicks")
        _no_500(r)


# ---------------------------------------------------------------- 2. text is kept as text
MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</b>",
          "<!-- x -->", "javascript:alert(1)", "见\x00附件", ["<b>"])


@pytest.mark.parametrize("note", MARKUP)
def test_markup_in_an_officers_note_is_refused_and_nothing_is_stored(client, note):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    before = _record(svc, incident_id)
    for trigger in ({"type": "disp-act", "action": "note"}, {"type": "disp-act",
                                                               "action": "return"}, REC0):
        text, tone = _toast(console_act(client, trigger, seen, note=note))
        assert tone == "disp-toast err", text
        if not isinstance(note, list):  # a list is bad_text (must be text)
            assert "不能含有 HTML" in text, text
    assert _record(svc, incident_id) == before
    text, tone = _toast(console_act(client, {"type": "disp-act", "action": "note"}, seen,
                                    note="<b>x</b>", lang="en"))
    assert tone == "disp-toast err" and "without markup" in text, text


def test_plain_notes_with_angle_brackets_of_arithmetic_still_pass(client):
    svc = client.zn
    incident_id = _reported(svc)
    _officer(client)
    seen = console_context(client, incident_id)
    text, tone = _toast(console_act(client, {"type": "disp-act", "action": "note"}, seen,
                                    note="水位 < 2 米，流量 > 3 立方/秒 & 上涨"))
    assert tone == "disp-toast ok", text
    assert svc.store.history(incident_id)[-1]["note"] == "水位 < 2 米，流量 > 3 立方/秒 & 上涨"


def record_movement(client: Any, kind: str, reason: Any, batch: Any = None,
                    lang: str = "zh") -> Any:
    outs = [("rs-toast", "children"), ("rs-toast", "className"), ("rs-qty", "value"),
            ("rs-reason", "value")]
    state = [{"id": "rs-station", "property": "value", "value": "ES-01"},
             {"id": "rs-item", "property": "value", "value": "FL-SB"},
             {"id": "rs-kind", "property": "value", "value": kind},
             {"id": "rs-qty", "property": "value", "value": 5},
             {"id": "rs-reason", "property": "value", "value": reason},
             {"id": "rs-batch", "property": "value", "value": batch},
             {"id": "rs-lang", "property": "data", "value": lang}]
    return post_callback(client, outs, [{"id": "rs-apply", "property": "n_clicks", "value": 1}],
                         state, "rs-apply.n_clicks")


def _ledger(svc: Any) -> tuple[Any, ...]:
    st = svc.resources.res.station("ES-01")
    item = next(i for i in st["items"] if i["sku"] == "FL-SB")
    return item["quantity"], item["batch"], len(svc.resources.res.ledger("ES-01"))


@pytest.mark.parametrize("markup", MARKUP[:-1])
def test_markup_in_a_stock_reason_or_batch_is_refused_and_nothing_is_stored(client, markup):
    svc = client.zn
    _officer(client)
    before = _ledger(svc)
    for kind, reason, batch in (("receive", markup, None), ("receive", "入库", markup),
                                ("issue", markup, None), ("adjust", markup, None)):
        text, tone = _toast(record_movement(client, kind, reason, batch), "rs-toast")
        assert tone == "res-toast err", (kind, text)
        assert "纯文字" in text and ("原因" in text or "批次" in text), text
    text, tone = _toast(record_movement(client, "receive", markup, lang="en"), "rs-toast")
    assert "the reason must be plain text" in text, text
    assert _ledger(svc) == before
    text, tone = _toast(record_movement(client, "receive", "汛前补充", "2026-11"), "rs-toast")
    assert tone == "res-toast ok", text


def test_a_stock_take_file_named_with_markup_is_refused_whole(client):
    svc = client.zn
    _officer(client)
    before = _ledger(svc)
    csv = "station,sku,quantity\nES-01,FL-SB,1\n"
    contents = "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()
    for name in ("<img src=x onerror=alert(1)>.csv", "a\x07.csv", ["x.csv"]):
        r = post_callback(client, [("rs-toast", "children"), ("rs-toast", "className")],
                          [{"id": "rs-upload", "property": "contents", "value": contents}],
                          [{"id": "rs-upload", "property": "filename", "value": name},
                           {"id": "rs-lang", "property": "data", "value": "zh"}],
                          "rs-upload.contents")
        text, tone = _toast(r, "rs-toast")
        assert tone == "res-toast err" and "文件名" in text, text
    assert _ledger(svc) == before


def test_the_one_markup_rule_is_the_message_schemas():
    from dashboard.inputs import not_plain, plain_text
    from dashboard.messages import clean_text

    for bad in MARKUP[:-1]:
        assert not_plain(bad)
        with pytest.raises(ValueError):
            clean_text(bad)
        with pytest.raises(BadInput) as refused:
            plain_text(bad, "reason")
        assert refused.value.code == "bad_plain"
    assert plain_text("  a < 2 > 1  ", "reason") == "a < 2 > 1"
    assert plain_text(None, "batch") == ""
