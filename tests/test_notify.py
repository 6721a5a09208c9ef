"""Guardians told (issue 13): the product's real senders post to a local HTTP server standing
in for the town's SMS gateway and for a WeCom group robot; the messages, their order,
retries after a 500, a muted guardian, the rate, and one message per event even with two
senders at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.buses.alerts import Alert
from dashboard.buses.notify import (
    RATE_LIMIT,
    Note,
    NotifyConfig,
    SmsTemplate,
    compose,
    over_rate,
    retry_at,
)
from dashboard.timeutil import LOCAL_TZ
from datasources.outbound.senders import Notifier, SendError, SmsGateway, WeComRobot, senders_for
from datasources.sql.notify import Outbox
from tests.browser import free_port
from tests.receiver import SMS_OK, WECOM_OK, Receiver

SECRET = "s3cret-of-the-provider"
PLATE = "川F·D72692"  # the demo town's first R01 bus
G17 = "guardian:Q17/1"  # a guardian by pupil id and place in the register
AT = datetime(2026, 12, 4, 23, 12, tzinfo=UTC)  # 07:12 Beijing




@pytest.fixture
def sms() -> Iterator[Receiver]:
    r = Receiver([SMS_OK], secret=SECRET)
    yield r
    r.close()


def sms_config(url: str) -> NotifyConfig:
    return NotifyConfig.from_dict({
        "centre_phone": "0838-6201234",
        "sms": {"url": f"{url}/sms/send", "secret": SECRET,
                "fixed": {"account": "zn-town", "template": "SMS_1001"}}})


def note(kind: str, minutes: int = 0, **kw: Any) -> Note:
    return Note(kind, AT + timedelta(minutes=minutes), child="王小明", stop="白鹤村站",
                plate=PLATE, route="R01", **kw)


# ------------------------------------------------------------------ the rules
def test_each_message_reads_well_in_both_languages() -> None:
    assert compose(note("boarded"), "zh") == "【校车】王小明 07:12 在白鹤村站上车（川F·D72692）。"
    assert compose(note("alighted", 526), "en") == \
        "[School bus] 王小明 got off at 白鹤村站 at 15:58."
    alert = compose(Note("bus_alert", AT, plate=PLATE, route="R01",
                         centre_phone="0838-6201234"), "zh")
    assert "0838-6201234" in alert and "处置" in alert
    assert "12345" in compose(Note("bus_alert", AT, plate=PLATE, route="R01"), "en")


def test_a_bad_notification_file_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="sms.url"):
        NotifyConfig.from_dict({"sms": {"url": "ftp://x"}})
    with pytest.raises(ValueError, match="sms.secret"):
        NotifyConfig.from_dict({"sms": {"url": "https://sms.example.cn/send"}})
    with pytest.raises(ValueError, match="wecom.R01"):
        NotifyConfig.from_dict({"wecom": {"R01": "javascript:alert(1)"}})
    with pytest.raises(ValueError, match="unknown fields"):
        NotifyConfig.from_dict({"smtp": {}})
    assert SmsTemplate.from_dict({"url": "https://x.cn/s", "sign": "none"}).sign == "none"


def test_retries_back_off_then_give_up_and_the_rate_is_per_ten_minutes() -> None:
    assert retry_at(1, AT) == AT + timedelta(seconds=10)
    assert retry_at(4, AT) == AT + timedelta(minutes=30)
    assert retry_at(5, AT) is None
    recent = [AT - timedelta(minutes=m) for m in range(RATE_LIMIT)]
    assert over_rate(recent, AT)
    assert not over_rate(recent[:-1], AT)
    assert not over_rate([AT - timedelta(minutes=11)] * 20, AT)


# ------------------------------------------------------------------ against receivers
def test_a_guardian_gets_boarded_at_school_and_alighted_in_order_signed(services,
                                                                       sms) -> None:
    cfg = sms_config(sms.url)
    out = Outbox(services.store.engine)
    for kind, minutes in (("boarded", 0), ("at_school", 29), ("alighted", 586)):
        assert out.tell_guardian(cfg, G17, "13812345678", note(kind, minutes),
                                 dedup=f"{kind}:17:1")[1] == "queued"
    assert Notifier(out, senders_for(cfg)).run_once() == 3
    assert [r["path"] for r in sms.requests] == ["/sms/send"] * 3
    bodies = [r["body"] for r in sms.requests]
    assert [b["content"] for b in bodies] == [
        "【校车】王小明 07:12 在白鹤村站上车（川F·D72692）。",
        "【校车】王小明 07:41 已到校。",
        "【校车】王小明 16:58 在白鹤村站下车。"]
    assert {b["phone"] for b in bodies} == {"13812345678"}
    assert {b["account"] for b in bodies} == {"zn-town"}
    assert [e["status"] for e in out.log(G17)] == ["sent"] * 3


def test_a_500_is_retried_after_its_backoff_and_delivered_once(services) -> None:
    sms = Receiver([(500, {"code": 500}), SMS_OK], secret=SECRET)
    try:
        cfg = sms_config(sms.url)
        out = Outbox(services.store.engine, backoff=(0.3, 0.3))
        out.tell_guardian(cfg, G17, "13812345678", note("boarded"))
        notifier = Notifier(out, senders_for(cfg))
        assert notifier.run_once() == 0
        [entry] = out.log(G17)
        assert (entry["status"], entry["tries"], entry["last_error"]) == ("queued", 1,
                                                                          "HTTP 500")
        assert notifier.run_once() == 0 and len(sms.requests) == 1  # not due yet
        time.sleep(0.35)
        assert notifier.run_once() == 1
        assert len(sms.requests) == 2
        [entry] = out.log(G17)
        assert (entry["status"], entry["tries"]) == ("sent", 2)
        assert notifier.run_once() == 0 and len(sms.requests) == 2
    finally:
        sms.close()


def test_a_message_refused_every_time_fails_for_good_with_the_reason(services) -> None:
    sms = Receiver([(200, {"code": 15, "msg": "blacklisted"})])
    try:
        cfg = sms_config(sms.url)
        out = Outbox(services.store.engine, backoff=(0.0,))
        out.tell_guardian(cfg, G17, "13812345678", note("boarded"))
        notifier = Notifier(out, senders_for(cfg))
        notifier.run_once()
        notifier.run_once()
        [entry] = out.log(G17)
        assert entry["status"] == "failed" and entry["tries"] == 2
        assert "blacklisted" in entry["last_error"]
        assert notifier.run_once() == 0 and len(sms.requests) == 2
    finally:
        sms.close()


def test_a_muted_guardian_is_sent_nothing_and_the_log_says_so(services, sms) -> None:
    cfg = sms_config(sms.url)
    out = Outbox(services.store.engine)
    out.tell_guardian(cfg, G17, "13812345678", note("boarded"))  # queued, then muted
    out.mute(G17)
    assert out.tell_guardian(cfg, G17, "13812345678", note("at_school", 29))[1] == "muted"
    out.tell_guardian(cfg, "guardian:Q18/1", "13900000000", note("boarded"))  # another child's
    assert Notifier(out, senders_for(cfg)).run_once() == 1
    assert [r["body"]["phone"] for r in sms.requests] == ["13900000000"]
    assert [e["status"] for e in out.log(G17)] == ["muted", "muted"]
    out.unmute(G17)
    out.tell_guardian(cfg, G17, "13812345678", note("alighted", 586))
    assert Notifier(out, senders_for(cfg)).run_once() == 1


def test_one_event_is_told_once_and_a_flood_is_held_at_the_rate(services, sms) -> None:
    cfg = sms_config(sms.url)
    out = Outbox(services.store.engine)
    first = out.tell_guardian(cfg, G17, "13812345678", note("boarded"), dedup="e1")
    assert first is not None
    assert out.tell_guardian(cfg, G17, "13812345678", note("boarded"), dedup="e1") is None
    statuses = [out.tell_guardian(cfg, G17, "13812345678", note("boarded", i))[1]
                for i in range(1, RATE_LIMIT + 2)]
    assert statuses.count("limited") == 2 and statuses[:RATE_LIMIT - 1] == [
        "queued"] * (RATE_LIMIT - 1)
    assert Notifier(out, senders_for(cfg)).run_once() == RATE_LIMIT


def test_two_senders_at_once_send_each_message_once(services, sms) -> None:
    cfg = sms_config(sms.url)
    out = Outbox(services.store.engine)
    for g in range(6):
        out.tell_guardian(cfg, f"guardian:Q{g}/1", f"1380000000{g}", note("boarded"))
    a, b = Notifier(out, senders_for(cfg)), Notifier(out, senders_for(cfg))
    done: list[int] = []
    threads = [threading.Thread(target=lambda n=n: done.append(n.run_once())) for n in (a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(done) == 6
    assert sorted(r["body"]["phone"] for r in sms.requests) == [f"1380000000{g}"
                                                                 for g in range(6)]


def test_an_sos_tells_the_routes_parent_group_calmly_once_and_never_a_childs_name(
        services) -> None:
    robot = Receiver([(200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
                      WECOM_OK])
    try:
        cfg = NotifyConfig.from_dict({"centre_phone": "0838-6201234",
                                      "wecom": {"R01": f"{robot.url}/cgi-bin/webhook/send"}})
        services.notify = cfg
        services.outbox.backoff = (0.0,)
        sos = Alert("sos", PLATE, AT, 104.47, 30.57)
        services.hub.tracker.raise_alert(sos)  # the tracker's real path: work order + hook
        services.hub.tracker.raise_alert(sos)  # the same episode again: claimed already
        notifier = Notifier(services.outbox, senders_for(cfg))
        notifier.run_once()  # the robot answers 45009: over its rate, tried again
        notifier.run_once()
        assert len(robot.requests) == 2
        body = robot.requests[-1]["body"]
        assert body["msgtype"] == "text"
        assert body["text"]["content"] == ("【校车】R01 线校车（川F·D72692）07:12 出现情况，"
                                           "镇指挥中心已在处置。如需了解请拨打 0838-6201234。")
        [entry] = services.outbox.log("route:R01")
        assert entry["status"] == "sent" and entry["tries"] == 2
        # An overspeed is the centre's business: the parents are not alarmed.
        services.hub.tracker.raise_alert(Alert("overspeed", PLATE, AT, 104.47, 30.57,
                                               value=75, limit=60))
        assert len(services.outbox.log("route:R01")) == 1
        with pytest.raises(ValueError):
            services.outbox.tell_route(cfg, note("boarded"))
    finally:
        robot.close()


def test_a_late_bus_tells_the_group_the_minutes(services) -> None:
    robot = Receiver([WECOM_OK])
    try:
        cfg = NotifyConfig.from_dict({"wecom": {"R01": f"{robot.url}/hook"}})
        services.notify = cfg
        services.hub.tracker.raise_alert(Alert("late_departure", PLATE, AT, 104.47, 30.57,
                                               value=720, limit=300, trip="R01-AM1"))
        Notifier(services.outbox, senders_for(cfg)).run_once()
        assert robot.texts() == ["【校车】R01 线校车（川F·D72692）预计晚到约 12 分钟，请稍候。"]
    finally:
        robot.close()


def test_an_unreachable_gateway_is_an_outcome_not_a_crash() -> None:
    port = free_port()  # nobody listens
    with pytest.raises(SendError, match="unreachable"):
        WeComRobot().send(f"http://127.0.0.1:{port}/hook", "x")
    gw = SmsGateway(SmsTemplate.from_dict({"url": f"http://127.0.0.1:{port}/s",
                                           "sign": "none"}))
    with pytest.raises(SendError):
        gw.send("13800000000", "x")


def test_the_cli_sends_a_test_message_and_says_what_came_back(tmp_path) -> None:
    from click.testing import CliRunner

    from cli import main

    robot = Receiver([WECOM_OK, (200, {"errcode": 93000, "errmsg": "invalid webhook url"})])
    try:
        conf = tmp_path / "notify.json"
        conf.write_text(json.dumps({"wecom": {"R01": f"{robot.url}/hook"}}), encoding="utf-8")
        env = {"ZN_NOTIFY_FILE": str(conf)}
        ok = CliRunner().invoke(main, ["notify", "test", "--route", "R01"], env=env)
        assert ok.exit_code == 0 and "delivered" in ok.output
        assert robot.requests[0]["body"]["msgtype"] == "text"
        bad = CliRunner().invoke(main, ["notify", "test", "--route", "R01"], env=env)
        assert bad.exit_code == 1 and "errcode 93000: invalid webhook url" in bad.output
        none = CliRunner().invoke(main, ["notify", "test", "--route", "R09"], env=env)
        assert none.exit_code == 1 and "no WeCom robot for route R09" in none.output
    finally:
        robot.close()


def test_a_child_tapped_on_and_off_tells_each_guardian_once(settings, tmp_path) -> None:
    """Through the real boarding door of the served app, whose own sender posts to the SMS
    gateway: a card terminal's taps → each guardian's SMS, once per tap."""
    import dataclasses

    from dashboard.messages import VehiclePosition
    from datasources.sql.pupils import PupilStore
    from tests.browser import app_client, wait_until
    from tests.test_boarding import local

    sms = Receiver([SMS_OK], secret=SECRET)
    conf = tmp_path / "notify.json"
    conf.write_text(json.dumps({"sms": {"url": f"{sms.url}/sms/send", "secret": SECRET}}),
                    encoding="utf-8")
    try:
        with app_client(dataclasses.replace(settings, notify_file=str(conf))) as client:
            services = client.zn
            services.accounts.add_key("ingest", "R01 card reader", "terminal",
                                      token="tk-notify-01")
            pupils = PupilStore(services.store.engine)
            manifest = pupils.manifest("R01-AM1")
            first = next(s for s in manifest.stops if s.pupils)
            child = first.pupils[0]
            route = pupils.trip_route("R01-AM1")
            lon, lat = next((s.lon, s.lat) for s in route[0].stops if s.code == first.code)
            on, off = local("06:36"), local("07:30")
            services.bus.publish_positions([VehiclePosition(plate=PLATE, at=on, lon=lon,
                                                            lat=lat, speed_kmh=0, heading=0)])
            head = {"X-Api-Key": "tk-notify-01"}
            tap = {"pupil": child.id, "event": "board", "at": on.isoformat(),
                   "vehicle": PLATE, "key": "tap-notify-0001"}
            door = "/api/v1/buses/boarding"
            assert client.post(door, json=tap, headers=head).status_code == 201
            assert client.post(door, json=tap, headers=head).status_code == 200  # a retry
            tap2 = tap | {"event": "alight", "at": off.isoformat(), "key": "tap-notify-0002"}
            assert client.post(door, json=tap2, headers=head).status_code == 201
            phones = [g.phone for g in child.guardians]
            assert phones
            wait_until(lambda: len(sms.requests) >= 2 * len(phones), 10, "the SMS")
            time.sleep(0.3)  # nothing more comes
            clock = on.astimezone(LOCAL_TZ).strftime("%H:%M")
            later = off.astimezone(LOCAL_TZ).strftime("%H:%M")
            assert [(r["body"]["phone"], r["body"]["content"]) for r in sms.requests] == [
                (p, f"【校车】{child.name} {clock} 在{first.name}上车（{PLATE}）。")
                for p in phones] + [(p, f"【校车】{child.name} {later} 已到校。")
                                    for p in phones]
            assert services.outbox.log(f"guardian:{child.id}/1")[0]["status"] == "sent"
    finally:
        sms.close()


def test_a_queued_message_goes_at_once_not_at_the_next_round(services, sms) -> None:
    """The server's sender wakes when its process queues a message: a parent hears of the
    tap in well under its 30 s round."""
    import asyncio

    cfg = sms_config(sms.url)
    notifier = Notifier(services.outbox, senders_for(cfg), period_s=30.0)

    async def scenario() -> float:
        task = asyncio.create_task(notifier.run())
        await asyncio.sleep(0.2)  # the first (empty) round is done; it now waits 30 s
        t0 = time.monotonic()
        services.outbox.tell_guardian(cfg, G17, "13812345678", note("boarded"))
        while not sms.requests and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.01)
        took = time.monotonic() - t0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return took

    assert asyncio.run(scenario()) < 5.0
    assert len(sms.requests) == 1
