"""JT/T 808: the codec against hand-computed frames, and the TCP gateway with a fuzzer."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasources.feeds.jt808 import codec as c
from tests.browser import Terminal, wait_until

PHONE = "13800138000"
PLATE = "川F·D72692"
T0 = datetime(2026, 11, 24, 22, 35, tzinfo=UTC)  # 06:35 in Beijing


def H(text: str) -> bytes:  # noqa: N802 - reads like the hex in the standard's examples
    return bytes.fromhex(text.replace(" ", ""))


# ------------------------------------------------------------------ codec, known frames
def test_escaping_follows_the_standard_example() -> None:
    assert c.escape(H("30 7e 08 7d 55")) == H("30 7d 02 08 7d 01 55")
    assert c.unescape(H("30 7d 02 08 7d 01 55")) == H("30 7e 08 7d 55")
    with pytest.raises(c.FrameError, match="bad_escape"):
        c.unescape(H("30 7d 03"))


def test_a_2013_heartbeat_frame_byte_for_byte() -> None:
    # 0002 | props 0000 | BCD phone 013800138000 | serial 0001 | XOR = a9
    frame = H("7e 0002 0000 013800138000 0001 a9 7e")
    assert c.encode_frame(c.HEARTBEAT, PHONE, 1) == frame
    got = c.decode_frame(frame[1:-1])
    assert (got.header.msg_id, got.header.phone, got.header.serial) == (2, PHONE, 1)
    assert got.header.version is None and got.body == b""


def test_a_2019_header_with_an_escaped_serial() -> None:
    # props 4000 (version flag), version 01, 10-byte BCD phone, serial 007e -> 00 7d 02
    frame = H("7e 0002 4000 01 00000000013800138000 00 7d02 97 7e")
    assert c.encode_frame(c.HEARTBEAT, PHONE, 0x7E, version=1) == frame
    got = c.decode_frame(frame[1:-1])
    assert got.header.version == 1 and got.header.serial == 0x7E


LOCATION_BODY = H(
    "00000001"  # alarm: bit 0 SOS
    "00000002"  # status: positioned
    "01d28593"  # lat 30.573971
    "063a0e8c"  # lon 104.468108
    "01f4"      # altitude 500 m
    "02d5"      # speed 72.5 km/h (1/10)
    "005a"      # heading 90
    "261125063500"  # 2026-11-25 06:35:00 Beijing time
)


def test_a_location_report_with_the_sos_bit_and_speed() -> None:
    frame = H("7e 0200 001c 013800138000 0007") + LOCATION_BODY + H("92 7e")
    got = c.decode_frame(frame[1:-1])
    loc = c.parse_location(got.body)
    assert loc.alarm & 1 and loc.speed_kmh == 72.5 and loc.heading == 90
    assert (loc.lat, loc.lon, loc.altitude_m) == (30.573971, 104.468108, 500)
    assert loc.at == T0
    assert c.encode_location(loc) == LOCATION_BODY
    assert c.encode_frame(c.LOCATION, PHONE, 7, LOCATION_BODY) == frame


def test_a_batch_and_a_bad_checksum() -> None:
    loc = c.parse_location(LOCATION_BODY)
    body = c.encode_batch([loc, loc], kind=1)
    assert body[:3] == H("0002 01") and body[3:5] == H("001c")
    assert c.parse_batch(body) == [loc, loc]
    frame = bytearray(c.encode_frame(c.BATCH, PHONE, 9, body))
    frame[-2] ^= 0xFF
    with pytest.raises(c.FrameError, match="bad_checksum"):
        c.decode_frame(bytes(frame[1:-1]))


def test_register_and_its_reply_in_both_versions() -> None:
    reg = c.Register(51, 600, "ZNDEV", "ZN-T1", "T000001", 2, PLATE)
    for version in (None, 1):
        assert c.parse_register(c.encode_register(reg, version), version) == reg
    assert c.register_reply(5, c.OK, "abc") == H("0005 00 616263")
    assert c.general_reply(7, 0x0200, c.OK) == H("0007 0200 00")


@given(st.binary(max_size=300), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
       st.sampled_from([None, 1]))
def test_encode_then_decode_is_the_identity(body: bytes, msg_id: int, serial: int,
                                            version: int | None) -> None:
    frame = c.encode_frame(msg_id, PHONE, serial, body, version)
    assert c.FLAG not in frame[1:-1]
    got = c.decode_frame(frame[1:-1])
    assert (got.header.msg_id, got.header.serial, got.body) == (msg_id, serial, body)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_frame_error_or_a_frame(raw: bytes) -> None:
    with contextlib.suppress(c.FrameError):
        c.decode_frame(raw)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_the_splitter_finds_frames_however_the_stream_is_cut(cuts: list[int]) -> None:
    stream = b"junk" + c.encode_frame(2, PHONE, 1) + c.encode_frame(0x200, PHONE, 2,
                                                                     LOCATION_BODY) * 2
    sp, out, pos = c.Splitter(), [], 0
    for n in cuts * 20:
        out += sp.feed(stream[pos:pos + n])
        pos += n
    out += sp.feed(stream[pos:])
    assert [c.decode_frame(f).header.serial for f in out] == [1, 2, 2]


# ------------------------------------------------------------------ the TCP gateway
@pytest.fixture
def gateway(jt808):  # type: ignore[no-untyped-def]
    """The gateway publishing into the test's Redis (conftest's jt808)."""
    return jt808


@pytest.mark.parametrize("version", [None, 1])
def test_a_terminal_registers_authenticates_and_its_fix_reaches_the_latest_state(
        services, gateway, version) -> None:
    gw, port = gateway
    term = Terminal(port, version=version)
    term.send(c.HEARTBEAT)
    assert c.parse_general_reply(term.recv().body)[2] == c.OK
    # Positions before authentication are refused.
    assert term.report(T0, 104.468108, 30.573971, 30) == c.FAIL
    term.login()
    assert term.report(T0, 104.468108, 30.573971, 72.5, alarm=1) == c.OK
    fix = wait_until(lambda: services.bus.latest_positions().get(PLATE))
    assert (fix.lon, fix.lat, fix.speed_kmh, fix.alarm) == (104.468108, 30.573971, 72.5, 1)
    assert fix.at == T0
    # A blind-area batch of three fixes: the latest state holds the newest.
    locs = [c.Location(0, 2, 30.57, 104.47, 0, 20, 180, T0 + timedelta(seconds=s), {})
            for s in (10, 20, 30)]
    term.send(c.BATCH, c.encode_batch(locs, 1))
    assert c.parse_general_reply(term.recv().body)[2] == c.OK
    wait_until(lambda: services.bus.latest_positions()[PLATE].at == T0 + timedelta(seconds=30))
    assert gw.stats["fixes"] == 4 and gw.stats["dropped_unauthenticated"] == 1
    term.close()


def test_broken_frames_are_dropped_and_counted_and_the_connection_lives_on(
        services, gateway) -> None:
    gw, port = gateway
    term = Terminal(port)
    term.login()
    good = c.encode_frame(c.LOCATION, PHONE, 50, LOCATION_BODY)
    bad = bytearray(good)
    bad[-2] ^= 0x55  # checksum
    term.sock.sendall(bytes(bad) + H("7e 7d 03 7e") + good)
    reply = term.recv()
    assert c.parse_general_reply(reply.body)[:2] == (50, c.LOCATION)
    assert gw.stats["dropped_bad_checksum"] == 1 and gw.stats["dropped_bad_escape"] == 1
    wait_until(lambda: services.bus.rejected_counts().get("jt808_bad_checksum") == 1)
    term.close()


FUZZ = st.one_of(
    st.binary(min_size=1, max_size=120),
    st.builds(lambda body, cut: c.encode_frame(c.LOCATION, "13800138001", 3, body)[:cut],
              st.binary(max_size=60), st.integers(2, 80)),
    st.builds(lambda flip, pos: bytes(b ^ flip if i == pos else b for i, b in enumerate(
        c.encode_frame(c.LOCATION, "13800138001", 4, LOCATION_BODY))),
              st.integers(1, 255), st.integers(1, 40)),
)


def test_fuzzed_frames_never_hurt_another_terminal(services, gateway) -> None:
    gw, port = gateway
    honest = Terminal(port)
    honest.login()
    fuzzer = Terminal.of(port, "川F·D54327")  # 13800138001, whose frames FUZZ mangles
    fuzzer.login(plate="川F·D54327")
    sent = [0]

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(FUZZ)
    def one(blob: bytes) -> None:
        fuzzer.sock.sendall(blob + b"\x7e")
        sent[0] += 1
        at = T0 + timedelta(seconds=sent[0])
        assert honest.report(at, 104.468108, 30.573971, 30) == c.OK

    one()
    wait_until(lambda: services.bus.latest_positions()[PLATE].at
             == T0 + timedelta(seconds=sent[0]))
    assert gw.stats["dropped"] > 0
    # The honest terminal was never cut off, and a fresh connection still works.
    late = Terminal.of(port, "川F·D32468")
    late.login(plate="川F·D32468")
    assert late.report(T0, 104.46, 30.55, 10) == c.OK
    for t in (honest, fuzzer, late):
        t.close()


# ------------------------------------------------------------------ time travel (issue 12)
def test_two_digit_years_are_2000_to_2099() -> None:
    at = c.parse_location(LOCATION_BODY[:22] + H("991231235959")).at
    assert at == datetime(2099, 12, 31, 15, 59, 59, tzinfo=UTC)
    at = c.parse_location(LOCATION_BODY[:22] + H("700101080000")).at
    assert at == datetime(2070, 1, 1, 0, 0, tzinfo=UTC)


def test_a_fix_dated_2068_is_refused_and_never_freezes_the_bus(services, gateway) -> None:
    gw, port = gateway
    now = datetime.now(UTC).replace(microsecond=0)
    term = Terminal(port)
    term.login()
    assert term.report(now, 104.468108, 30.573971, 30) == c.OK
    wait_until(lambda: services.bus.latest_positions().get(PLATE), what="the first fix")
    assert term.report(datetime(2068, 1, 1, tzinfo=UTC), 104.47, 30.57, 30) == c.BAD_MESSAGE
    # Far older than the bus's latest fix: refused too.
    assert term.report(now - timedelta(hours=3), 104.47, 30.57, 30) == c.BAD_MESSAGE
    assert term.report(now + timedelta(seconds=1), 104.4682, 30.5740, 31) == c.OK
    wait_until(lambda: services.bus.latest_positions()[PLATE].at == now + timedelta(seconds=1),
               what="the next honest fix")
    wait_until(lambda: services.bus.rejected_counts().get("bad_time") == 2,
               what="two bad_time counted")
    # A new connection knows nothing of the bus: the old fix still never moves it back.
    term.close()
    again = Terminal(port)
    again.login()
    again.report(now - timedelta(hours=3), 104.47, 30.57, 30)
    wait_until(lambda: services.bus.rejected_counts().get("bad_time") == 3,
               what="the third bad_time counted")
    assert services.bus.latest_positions()[PLATE].at == now + timedelta(seconds=1)
    again.close()


# ------------------------------------------------------------------ rejections are seen
def test_gateway_rejections_reach_the_health_check_and_the_wall_counter(live, jt808) -> None:
    from dashboard.screens.views import kpi_cards

    gw, port = jt808
    term = Terminal(port)
    term.login()
    good = c.encode_frame(c.LOCATION, PHONE, 50, LOCATION_BODY)
    bad = bytearray(good)
    bad[-2] ^= 0x55  # checksum
    term.sock.sendall(bytes(bad) + good)
    assert c.parse_general_reply(term.recv().body)[:2] == (50, c.LOCATION)
    wait_until(lambda: live.call("GET", "/api/health")[2]["rejected"].get("jt808_bad_checksum")
               == 1, timeout=5, what="the gateway's rejection on /api/health")
    state = live.services.hub.state
    cards = {card["key"]: card for card in kpi_cards(state, "zh", datetime.now(UTC))}
    assert cards["rejected"]["value"] == state.rejected_total() >= 1
    assert state.rejected == live.rejected()  # one source of counts
    term.close()


# ------------------------------------------------------------------ an SOS is never dropped
def test_an_sos_from_an_unknown_terminal_or_with_a_bad_time_still_raises_a_work_order(
        live, jt808) -> None:
    gw, port = jt808

    def sos_orders() -> list:
        return [i for i in live.services.hub.state.incidents.values()
                if i.source == "bus" and i.priority == "urgent"]

    stranger = Terminal(port, phone="13900000009")  # never registered nor authenticated
    for _ in range(3):  # the button held: one work order
        assert stranger.report(datetime.now(UTC), 104.468108, 30.573971, 0, alarm=1) == c.FAIL
    first = wait_until(sos_orders, timeout=10, what="the stranger's SOS work order")
    assert "终端未认证" in first[0].title and "13900000009" in first[0].title
    term = Terminal(port)
    term.login()
    assert term.report(datetime(2068, 1, 1, tzinfo=UTC), 104.4682, 30.5740, 0,
                       alarm=1) == c.BAD_MESSAGE
    both = wait_until(lambda: len(sos_orders()) == 2 and sos_orders(), timeout=10,
                      what="the SOS with a bad time")
    assert any("定位时间不可信" in i.title and PLATE in i.title for i in both)
    assert PLATE not in live.services.bus.latest_positions()  # the fix itself is refused
    import time

    time.sleep(0.5)
    assert len(sos_orders()) == 2
    for t in (stranger, term):
        t.close()


# ------------------------------------------------------------------ who may drive a bus (issue 12)
OTHER_PLATE = "川F·D54327"  # the demo's second R01 bus; its terminal is 13800138001


def test_only_a_terminal_of_the_register_registers_and_only_its_own_plate(
        services, gateway) -> None:
    gw, port = gateway
    stranger = Terminal(port, phone="13900000009")  # in no register
    assert stranger.register(PLATE)[0] == c.REG_NO_TERMINAL
    assert stranger.report(T0, 104.46, 30.55, 10) == c.FAIL  # and it drives nothing
    other = Terminal(port, phone="13800138001")  # the terminal of 川F·D54327
    assert other.register(PLATE) == (c.REG_VEHICLE_TAKEN, "")  # another bus's plate
    assert other.register("川F·FAKE1") == (c.REG_NO_VEHICLE, "")  # no bus of the town
    assert other.report(T0, 104.46, 30.55, 10) == c.FAIL
    # Its own plate, as terminals often spell it (no middle dot): in, as the register's plate.
    result, code = other.register("川FD54327")
    assert result == c.REG_OK and code
    assert other.auth(code) == c.OK
    assert other.report(T0, 104.468108, 30.573971, 20) == c.OK
    fix = wait_until(lambda: services.bus.latest_positions().get(OTHER_PLATE))
    assert fix.at == T0
    assert PLATE not in services.bus.latest_positions()
    wait_until(lambda: {k: v for k, v in services.bus.rejected_counts().items()
                        if k in ("jt808_unknown_terminal", "jt808_plate_mismatch",
                                 "jt808_unknown_vehicle")}
               == {"jt808_unknown_terminal": 1, "jt808_plate_mismatch": 1,
                   "jt808_unknown_vehicle": 1}, what="the three refusals counted")
    for t in (stranger, other):
        t.close()


def test_auth_codes_are_per_terminal_and_only_their_hash_is_stored(services, gateway) -> None:
    import json

    gw, port = gateway
    term = Terminal(port)
    result, code = term.register(PLATE)
    assert result == c.REG_OK
    stored = services.bus.r.hgetall(services.bus.ch.jt808_terminals)
    raw = stored[PHONE.encode()].decode()
    assert code not in raw and "code" not in json.loads(raw)
    assert json.loads(raw)["plate"] == PLATE
    # Another terminal of the register cannot sign in with this terminal's code.
    other = Terminal(port, phone="13800138001")
    assert other.auth(code) == c.FAIL
    assert term.auth(code + "0") == c.FAIL
    assert term.auth(code) == c.OK
    # Whoever sends its phone is refused a new code (the header's phone is only a claim):
    # the terminal reconnects with the code it holds.
    again = Terminal(port)
    assert again.register(PLATE) == (c.REG_TERMINAL_TAKEN, "")
    assert again.auth(code) == c.OK
    # The admin lets a reset box register again: a new code, and the old one is dead.
    from datasources.feeds.jt808.gateway import forget_terminals

    assert forget_terminals(services.bus, ["013800138000"]) == 1
    result, fresh = again.register(PLATE)
    assert result == c.REG_OK and fresh != code
    assert again.auth(code) == c.FAIL and again.auth(fresh) == c.OK
    # A record kept in clear (before issue 12) never signs anyone in.
    services.bus.r.hset(services.bus.ch.jt808_terminals, PHONE,
                        json.dumps({"plate": PLATE, "code": "abc"}))
    assert Terminal(port).auth("abc") == c.FAIL
    wait_until(lambda: services.bus.rejected_counts().get("jt808_auth_failed") == 4
               and services.bus.rejected_counts().get("jt808_terminal_registered") == 1,
               what="four failed sign-ins and one second registration counted")
    for t in (term, other, again):
        t.close()


def test_a_town_without_terminals_refuses_every_registration(settings, services) -> None:
    from dashboard.buses.terminals import TerminalRegister
    from tests.browser import running_gateway

    with running_gateway(services.bus, TerminalRegister({})) as (gw, port):
        term = Terminal(port)
        assert term.register(PLATE) == (c.REG_NO_TERMINAL, "")
        wait_until(lambda: services.bus.rejected_counts().get("jt808_unknown_terminal") == 1)
        term.close()


def test_the_gateway_listens_on_this_machine_only_unless_told(services) -> None:
    import asyncio

    from datasources.feeds.jt808.gateway import Gateway

    async def bound_address() -> str:
        gw = Gateway(services.bus)
        await gw.start(port=0)
        assert gw._server is not None
        host = str(gw._server.sockets[0].getsockname()[0])
        await gw.stop()
        return host

    assert asyncio.run(bound_address()) == "127.0.0.1"
