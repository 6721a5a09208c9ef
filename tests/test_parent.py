"""A guardian's link and /parent (issue 13): the link is swapped for a cookie and leaves the
URL, is revocable, opens /parent and nothing else; a guardian sees their own children (all
of them, matched by phone) and can turn their text messages off."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from dashboard.buses.boarding import Boarding
from dashboard.buses.notify import guardian_recipient
from dashboard.buses.parents import (
    follows_bus,
    guardians_children,
    home_eta,
    parse_recipient,
    phone_key,
    shown_state,
    timeline,
)
from dashboard.roles import GUARDIAN, Principal
from datasources.flows.parents import family
from datasources.gate.web import GUARDIAN_COOKIE, RedactTokens, csrf_token
from datasources.sql import models as m
from datasources.sql.pupils import PupilStore
from tests.auth_helpers import post_callback

AT = datetime(2026, 12, 7, 23, 12, tzinfo=UTC)  # 07:12 in Shanghai
CHILDREN = [("parent-children", "children"), ("parent-bus", "children")]


# ------------------------------------------------------------------ the rules
def test_a_guardian_is_named_by_pupil_and_place_and_matched_by_phone():
    assert parse_recipient(guardian_recipient("QSZX2026001", 2)) == ("QSZX2026001", 2)
    assert parse_recipient("guardian:../etc/1") is None
    assert parse_recipient(None) is None
    assert phone_key("+86 138-1234-5678") == phone_key("13812345678") == "13812345678"
    rows = [("A1", 1, "138-1234-5678"), ("A1", 2, "13900000000"),
            ("B7", 2, "+8613812345678"), ("C3", 1, "13700000000")]
    assert guardians_children("13812345678", rows) == {"A1": 1, "B7": 2}
    assert guardians_children("", rows) == {}


def test_the_timeline_reads_as_the_day_happened_whatever_order_taps_arrived_in():
    def ev(event: str, minutes: int, stop: str | None, seq: int) -> Boarding:
        return Boarding("A1", "R01-AM1", "2026-12-08", event, AT + timedelta(minutes=minutes),
                        stop=stop, seq=seq)

    names = {"S1": "白鹤村站", "S9": "清水中学"}
    morning = timeline([ev("alight", 29, "S9", 1), ev("board", 0, "S1", 2)], "to_school",
                       names)
    assert [(x.word, x.clock, x.stop) for x in morning] == [
        ("par_boarded", "07:12", "白鹤村站"), ("par_at_school", "07:41", "清水中学")]
    home = timeline([ev("alight", 586, "S1", 3)], "from_school", names)
    assert [(x.word, x.clock) for x in home] == [("par_alighted", "16:58")]
    assert [x.word for x in timeline([ev("absent", 0, None, 4)], "to_school", names)] == \
        ["par_absent"]
    assert follows_bus("expected") and follows_bus("on_board")
    assert not follows_bus("alighted") and not follows_bus("absent")
    times = [AT, AT + timedelta(minutes=30)]
    assert shown_state("expected", times, AT + timedelta(minutes=20)) == "expected"
    assert shown_state("expected", times, AT + timedelta(minutes=80)) == "over"
    assert shown_state("alighted", times, AT + timedelta(minutes=80)) == "alighted"
    detail = {"stops": [{"code": "S1", "eta": None}, {"code": "S2", "eta": AT.isoformat()}]}
    assert home_eta(detail, "S2") == AT
    assert home_eta(detail, "S1") is None and home_eta(None, "S2") is None


# ------------------------------------------------------------------ the link
def first_pupils(services, n: int = 2) -> list[str]:
    """The first `n` children of R01-AM1 with two guardians each."""
    manifest = PupilStore(services.store.engine).manifest("R01-AM1")
    return [p.id for s in manifest.stops for p in s.pupils if len(p.guardians) > 1][:n]


def link(services, pupil: str, seq: int = 1) -> str:
    return services.accounts.add_key("guardian", guardian_recipient(pupil, seq))


def open_link(client, token: str) -> None:
    """As a phone does: the link, then the page it is redirected to."""
    client.cookies.clear()
    r = client.get(f"/parent?link={token}&lang=en", follow_redirects=False,
                   headers={"accept": "text/html"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/parent?lang=en"  # the token leaves the URL
    assert r.headers["cache-control"] == "no-store"
    assert client.cookies.get(GUARDIAN_COOKIE) == token


def test_a_link_becomes_a_cookie_opens_parent_only_and_is_revocable(client):
    services = client.zn
    pupil = first_pupils(services)[0]
    token = link(services, pupil)
    open_link(client, token)
    assert client.get("/parent", headers={"accept": "text/html"}).status_code == 200
    # No other page, door or pupil's data: the wall, the console, the manifest, taps.
    for path in ("/", "/dispatch", "/escort", "/buses", "/audit"):
        r = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/parent"), path
        assert client.get(path).status_code == 403, path  # not a browser: refused
    assert client.get("/api/v1/buses/trips/R01-AM1/manifest").status_code == 403
    r = client.post("/api/v1/buses/boarding", json={"pupil": pupil},
                    headers={"X-CSRFToken": csrf_token(token)})
    assert r.status_code == 403
    assert client.get("/api/v1/buses/trips").status_code == 403
    # Revoked: refused at the next request, and the link no longer opens.
    assert services.accounts.revoke_named("guardian", guardian_recipient(pupil, 1)) == 1
    r = client.get("/parent", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    client.cookies.clear()
    r = client.get(f"/parent?link={token}", follow_redirects=False)
    assert r.status_code == 403 and "revoked" in r.text and "停用" in r.text
    assert client.get("/parent?link=made-up", follow_redirects=False).status_code == 403


def test_the_access_log_masks_the_link():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s "%s %s"',
                               ("1.2.3.4", "GET", "/parent?link=SECRET&lang=en"), None)
    RedactTokens().filter(record)
    assert "SECRET" not in str(record.args) and "link=[redacted]" in str(record.args)


# ------------------------------------------------------------------ what the page shows
def children_shown(client, lang: str = "zh") -> tuple[list[str], str]:
    r = post_callback(client, CHILDREN, [{"id": "parent-tick", "property": "n_intervals",
                                          "value": 1}],
                      [{"id": "parent-lang", "property": "data", "value": lang}],
                      "parent-tick.n_intervals")
    assert r.status_code == 200, r.text
    response = json.loads(r.text)["response"]
    cards = response["parent-children"]["children"]
    shown = sorted(c["props"]["data-pupil"] for c in cards) if isinstance(cards, list) else []
    text = json.dumps(response, ensure_ascii=False)
    return shown, text


def test_a_guardian_sees_their_own_children_and_no_one_else(client):
    services = client.zn
    a, b = first_pupils(services)
    with services.store.session() as s:  # b's second guardian is a's first (same phone)
        phone = s.scalar(select(m.Guardian.phone).where(m.Guardian.pupil_id == a,
                                                        m.Guardian.seq == 1))
        s.execute(update(m.Guardian).where(m.Guardian.pupil_id == b, m.Guardian.seq == 1)
                  .values(phone="+86 " + phone))
        s.commit()
    store = PupilStore(services.store.engine)
    names = {p.id: p.name for p in store.pupils([a, b])}
    open_link(client, link(services, a))
    shown, text = children_shown(client)
    assert shown == sorted([a, b])  # both of hers, through either child's link
    assert names[a] in text and names[b] in text
    others = [p for p in store.pupils_of_trip("R01-AM1") if p.id not in (a, b)]
    assert others and not any(p.id in text or p.name in text for p in others)
    # The other guardian of a sees a only.
    open_link(client, link(services, a, 2))
    shown, _ = children_shown(client, "en")
    assert shown == [a]
    # Not a guardian of the register (left it): nothing at all.
    fam = family(store, Principal(role=GUARDIAN, kind="guardian",
                                  person_id=guardian_recipient("NOPE", 1)))
    assert fam.children == {}


def test_the_switch_mutes_the_guardians_texts_for_each_of_their_children(client):
    services = client.zn
    a = first_pupils(services)[0]
    token = link(services, a)
    open_link(client, token)

    def switch(value: list[str]) -> str:
        r = post_callback(client, [("parent-sms-state", "children")],
                          [{"id": "parent-sms", "property": "value", "value": value}],
                          [{"id": "parent-lang", "property": "data", "value": "zh"}],
                          "parent-sms.value")
        assert r.status_code == 200, r.text
        return str(json.loads(r.text)["response"]["parent-sms-state"]["children"])

    assert "短信通知已关闭" in switch([])
    assert services.outbox.muted(guardian_recipient(a, 1))
    assert not services.outbox.muted(guardian_recipient(a, 2))  # the other guardian's own
    switch(["sms"])
    assert not services.outbox.muted(guardian_recipient(a, 1))
    # Anything but the switch's own value changes nothing (and is no server error).
    r = post_callback(client, [("parent-sms-state", "children")],
                      [{"id": "parent-sms", "property": "value", "value": "off"}],
                      [{"id": "parent-lang", "property": "data", "value": "zh"}],
                      "parent-sms.value")
    assert r.status_code == 204 and not services.outbox.muted(guardian_recipient(a, 1))


def test_a_wall_pc_opening_a_parents_link_becomes_that_parent_only(client):
    services = client.zn
    wall = services.accounts.add_key("kiosk", "hall left")
    client.cookies.clear()
    assert client.get(f"/?kiosk={wall}", follow_redirects=False).status_code == 303
    token = link(services, first_pupils(services)[0])
    r = client.get(f"/parent?link={token}", follow_redirects=False)
    assert any(c.startswith("zn_kiosk=;") for c in r.headers.get_list("set-cookie"))
    assert client.get("/parent", headers={"accept": "text/html"}).status_code == 200


def test_the_command_line_prints_a_link_that_opens_parent_and_revokes_it(client):
    from click.testing import CliRunner

    from cli import main

    settings = client.zn.settings
    env = {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "ZN_LOG_LEVEL": "WARNING"}
    pupil = first_pupils(client.zn)[0]
    made = CliRunner().invoke(main, ["pupils", "parent-link", pupil, "--seq", "2",
                                     "--base", "https://zn.example.cn/"], env=env)
    assert made.exit_code == 0, made.output
    url = made.output.strip()
    assert url.startswith("https://zn.example.cn/parent?link=")
    open_link(client, url.split("link=", 1)[1])
    assert client.get("/parent", headers={"accept": "text/html"}).status_code == 200
    unknown = CliRunner().invoke(main, ["pupils", "parent-link", "NOPE"], env=env)
    assert unknown.exit_code != 0 and "no guardian" in unknown.output
    gone = CliRunner().invoke(main, ["pupils", "parent-link", pupil, "--seq", "2",
                                     "--revoke"], env=env)
    assert gone.exit_code == 0 and "revoked 1" in gone.output
    r = client.get("/parent", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303  # the cookie is refused at the next request: to /login
    with client.zn.store.session() as s:
        actions = [a for a, in s.execute(select(m.AuditEntry.action)
                                         .where(m.AuditEntry.action.like("parent.%")))]
    assert actions == ["parent.link", "parent.revoke"]
