"""JT/T 809 over real TCP: an operator's lower platform (tests/jt809_platform.py, written
from the standard) logs in, keeps alive, sends 300 buses' positions and an alarm; the buses
move in the picture the wall reads, the alarm becomes a work order, the officer's 督办 goes
down as 0x9401 and the operator's 0x1401 answer lands in the work order's history."""

from __future__ import annotations

import json
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.buses.operators import OperatorRegister, operator_of
from dashboard.roles import OFFICER, Principal
from datasources.flows.desk import desk_step
from datasources.redis.publisher import Publisher
from tests.browser import wait_until
from tests.jt809_platform import Platform, running_jt809

ACCESS, USER, PASSWORD = 10001, 5001, "zn809pwd"
ACCESS_2019 = 20002
KEYS = (30_000_000, 20_000_000, 20_000_000)
BUSES = [f"川F·X{i:05d}" for i in range(300)]
LON0, LAT0 = 104.44, 30.54  # inside the demo town


def register() -> OperatorRegister:
    """Two operators: a 2011 platform with 300 buses, a 2019 one with a cipher key."""
    return OperatorRegister.of([
        operator_of({"name": "县顺安校车公司", "access_code": ACCESS, "user_id": USER,
                     "password": PASSWORD, "edition": 2011, "plates": BUSES}),
        operator_of({"name": "县通达客运", "access_code": ACCESS_2019, "user_id": 7002,
                     "password": "td2019", "edition": 2019, "plates": ["川F·Y00001"],
                     "key": {"m1": KEYS[0], "ia1": KEYS[1], "ic1": KEYS[2]}}),
    ])


def bus(settings) -> Publisher:  # type: ignore[no-untyped-def]
    return Publisher.from_url(settings.redis_url, settings.redis_prefix)


def test_wrong_credentials_get_the_standards_result_codes(settings, services) -> None:
    with running_jt809(services.bus, register()) as (gw, port):
        p = Platform(port, ACCESS)
        assert p.login(USER, "wrong") == (4, 0)  # 密码错误
        assert p.login(9999, PASSWORD) == (3, 0)  # 用户没有注册
        # Frames before a login are dropped and counted; the link stays open.
        p.position(BUSES[0], LON0, LAT0, 30, 90, datetime.now(UTC))
        stranger = Platform(port, 77777)
        assert stranger.login(USER, PASSWORD) == (2, 0)  # 接入码不正确
        # 2019: the 接入码 in the body must be the header's.
        liar = Platform(port, ACCESS_2019, 2019, KEYS)
        assert liar.login(7002, "td2019", access_in_body=ACCESS)[0] == 2
        result, code = p.login(USER, PASSWORD)
        assert result == 0 and code != 0
        assert p.link_test() == 0x1006  # UP_LINKTEST_RSP
        wait_until(lambda: {k: v for k, v in services.bus.rejected_counts().items()
                            if k.startswith("jt809_")}
                   == {"jt809_bad_password": 1, "jt809_unknown_user": 1,
                       "jt809_bad_access_code": 2, "jt809_unauthenticated": 1},
                   what="the refusals counted by reason")
        assert gw.stats["logins"] == 1 and gw.stats["linktests"] == 1
        for x in (p, stranger, liar):
            x.close()


def test_300_buses_move_on_the_wall_an_alarm_becomes_a_work_order_and_its_督办_goes_back(
        live) -> None:
    state = live.services.hub.state
    with running_jt809(bus(live.services.settings), register(), linktest_s=0.5) as (gw, port):
        p = Platform(port, ACCESS)
        down = p.serve_slave()
        result, verify = p.login(USER, PASSWORD, down_port=down)
        assert result == 0
        # The town dials the slave link back with the verify code, and keeps it alive.
        wait_until(lambda: p.verify_seen == [verify], what="0x9001 with the verify code")
        wait_until(lambda: gw.stats["slave_linktests"] >= 1, what="0x9005/0x9006")
        assert p.link_test() == 0x1006
        now = datetime.now(UTC).replace(microsecond=0)
        for i, plate in enumerate(BUSES):
            p.position(plate, LON0 + (i % 20) * 1e-3, LAT0 + (i // 20) * 1e-3, 30, 90, now)
        wait_until(lambda: all(pl in state.vehicles for pl in BUSES), timeout=30,
                   what="300 buses on the wall")
        assert state.vehicles[BUSES[21]].lon == pytest.approx(LON0 + 1e-3)
        # They move: a second round a second later, 0.002° east; one bus backfills.
        later = now + timedelta(seconds=1)
        for i, plate in enumerate(BUSES):
            p.position(plate, LON0 + (i % 20) * 1e-3 + 2e-3, LAT0 + (i // 20) * 1e-3, 32, 90,
                       later)
        wait_until(lambda: all(state.vehicles[pl].at == later for pl in BUSES), timeout=30,
                   what="the second round on the wall")
        assert state.vehicles[BUSES[21]].lon == pytest.approx(LON0 + 3e-3)
        # A bus not on the operator's list is refused and counted, never shown.
        p.position("川F·NOTOURS", LON0, LAT0, 30, 90, later)
        wait_until(lambda: live.services.bus.rejected_counts().get("jt809_unknown_plate") == 1,
                   what="the unknown plate counted")
        assert "川F·NOTOURS" not in state.vehicles
        # The alarm: an emergency on bus 7 becomes a work order where the bus is.
        p.alarm(BUSES[7], 0x0003, later, "车内乘客突发疾病")
        order = wait_until(lambda: next((i for i in state.incidents.values()
                                         if BUSES[7] in i.title), None), timeout=15,
                           what="the alarm's work order")
        assert (order.source, order.priority, order.category) == ("bus", "urgent", "traffic")
        assert "紧急报警" in order.title
        assert (order.lon, order.lat) == pytest.approx((LON0 + 7e-3 + 2e-3, LAT0))
        # The officer's 督办 at the console goes down the slave link as 0x9400/0x9401.
        officer = Principal(role=OFFICER, name="值班员王芳", kind="user")
        desk_step(live.services.intake, officer, order.id, "supervise", note="请立即处置")
        while True:
            msg_id, body = p.slave_frames.get(timeout=10)
            if msg_id == 0x9400:
                break
        assert body[:21].rstrip(b"\x00").decode("gbk") == BUSES[7]
        colour, sub, n = struct.unpack_from(">BHI", body, 21)
        data = body[28:]
        assert (colour, sub, n, len(data)) == (2, 0x9401, 92, 92)
        src, warn_type, warn_at, sid, _end, level = struct.unpack_from(">BHQIQB", data, 0)
        assert (warn_type, warn_at, level) == (0x0003, int(later.timestamp()), 0)
        assert data[24:40].rstrip(b"\x00").decode("gbk") == "值班员王芳"
        # The operator answers on the main link: 已处理完毕, into the history.
        p.answer_urge(BUSES[7], sid, 1)

        def answered() -> list[dict]:
            return [h for h in live.services.store.history(order.id)
                    if "督办应答" in (h["note"] or "")]

        reply = wait_until(answered, timeout=15, what="the reply in the history")[0]
        assert reply["actor"] == "县顺安校车公司" and "已处理完毕" in reply["note"]
        assert str(sid) in reply["note"]
        actions = [h["action"] for h in live.services.store.history(order.id)]
        assert actions[-2:] == ["supervise", "note"]
        p.close()


def test_a_2019_platform_with_the_cipher_sends_positions_and_answers_on_the_main_link(
        live) -> None:
    state = live.services.hub.state
    with running_jt809(bus(live.services.settings), register()) as (gw, port):
        p = Platform(port, ACCESS_2019, 2019, KEYS)
        assert p.login(7002, "td2019")[0] == 0  # no slave link offered
        now = datetime.now(UTC).replace(microsecond=0)
        p.backfill("川FY00001", [(LON0, LAT0, now - timedelta(seconds=20)),
                                 (LON0 + 1e-3, LAT0, now - timedelta(seconds=10))])
        p.position("川F·Y00001", LON0 + 2e-3, LAT0, 40, 180, now)
        wait_until(lambda: state.vehicles.get("川F·Y00001") is not None
                   and state.vehicles["川F·Y00001"].at == now, what="the 2019 bus")
        assert state.vehicles["川F·Y00001"].speed_kmh == 40
        assert gw.stats["fixes"] == 3 and gw.stats["dropped"] == 0
        p.alarm("川F·Y00001", 0x0001, now, "")
        order = wait_until(lambda: next((i for i in state.incidents.values()
                                         if "川F·Y00001" in i.title), None), timeout=15,
                           what="the 2019 alarm's work order")
        assert order.priority == "high" and "超速报警" in order.title
        live.services.intake.act(order.id, "urge", "值班员", note="催办")
        msg_id, body = p.recv()  # no slave link: the 督办 comes on the main link
        while msg_id != 0x9400:
            msg_id, body = p.recv()
        sub, n = struct.unpack_from(">HI", body, 0)
        assert sub == 0x9401 and body[6:27].rstrip(b"\x00").decode("gbk") == "川F·Y00001"
        sid = struct.unpack_from(">I", body, 6 + 24 + 8)[0]
        p.answer_urge("", sid, 0)
        wait_until(lambda: any("处理中" in (h["note"] or "")
                               for h in live.services.store.history(order.id)),
                   timeout=15, what="处理中 in the history")
        # A 督办 while the platform is away waits for it, and goes down once it is back.
        p.close()
        wait_until(lambda: gw.stats["disconnects"] >= 1, what="the platform gone")
        live.services.intake.act(order.id, "urge", "值班员", note="再次催办")
        time.sleep(0.3)
        assert gw.stats["urges_sent"] == 1
        p = Platform(port, ACCESS_2019, 2019, KEYS)
        assert p.login(7002, "td2019")[0] == 0
        msg_id, body = p.recv()
        while msg_id != 0x9400:
            msg_id, body = p.recv()
        assert struct.unpack_from(">I", body, 6 + 24 + 8)[0] == sid + 1
        # Another operator cannot answer this 督办.
        raw = {"supervision_id": sid, "result": 1, "access_code": ACCESS, "operator": "x"}
        live.services.bus.r.rpush(live.services.bus.ch.jt809_replies, json.dumps(raw))
        wait_until(lambda: live.services.bus.rejected_counts().get(
            "jt809_unknown_supervision") == 1, timeout=10, what="the stranger's reply refused")
        p.close()


FUZZ = st.one_of(
    st.binary(min_size=1, max_size=120),
    st.builds(lambda body, cut: Platform.frame_for(ACCESS, 0x1200, body)[:cut],
              st.binary(max_size=80), st.integers(2, 120)),
    st.builds(lambda flip, pos: bytes(x ^ flip if i == pos else x for i, x in enumerate(
        Platform.frame_for(ACCESS, 0x1005))), st.integers(1, 255), st.integers(1, 25)),
)


def test_fuzzed_frames_never_hurt_another_platform(settings, services) -> None:
    with running_jt809(services.bus, register()) as (gw, port):
        honest = Platform(port, ACCESS_2019, 2019, KEYS)
        assert honest.login(7002, "td2019")[0] == 0
        fuzzer = Platform(port, ACCESS)
        assert fuzzer.login(USER, PASSWORD)[0] == 0

        @hsettings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(FUZZ)
        def one(blob: bytes) -> None:
            fuzzer.sock.sendall(blob + b"\x5d")
            assert honest.link_test() == 0x1006

        one()
        assert gw.stats["dropped"] > 0
        time.sleep(0.1)
        late = Platform(port, ACCESS)  # the fuzzer's link may be gone; a new one works
        assert late.login(USER, PASSWORD)[0] == 0 and late.link_test() == 0x1006
        for x in (honest, fuzzer, late):
            x.close()



def test_the_command_names_a_broken_operators_file(settings, tmp_path) -> None:
    from click.testing import CliRunner

    from cli import main

    bad = tmp_path / "operators.json"
    bad.write_text(json.dumps({"operators": [{"name": "甲", "access_code": 1, "user_id": 2,
                                              "password": "toolongpassword"}]}), "utf-8")
    env = {"ZN_DATA_DIR": settings.data_dir, "REDIS_URL": settings.redis_url,
           "ZN_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(main, ["gateway", "jt809", "--operators", str(bad)], env=env)
    assert result.exit_code != 0
    assert "ZN_JT809_OPERATORS" in result.output and "1-8 ASCII" in result.output
    helptext = CliRunner().invoke(main, ["gateway", "jt809", "--help"]).output
    assert "ZN_JT809_HOST, 127.0.0.1" in helptext
