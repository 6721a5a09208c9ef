"""JT/T 809: the codec against frames computed by hand from the standard (not by the codec),
the body cipher, 2011 against 2019, and a fuzz of the decoder."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasources.feeds.jt809 import bodies as b
from datasources.feeds.jt809 import codec as c

ACCESS = 10001  # 接入码 00002711
PLATE = "川F·D72692"  # GBK b4a8 46 a1a4 44 3732363932
T0 = datetime(2026, 11, 24, 22, 35, tzinfo=UTC)  # 2026-11-25 06:35 in Beijing


def H(text: str) -> bytes:  # noqa: N802 - reads like the hex in the standard's tables
    return bytes.fromhex(" ".join(line.split("#")[0] for line in text.splitlines()))


# ------------------------------------------------------------------ CRC and escapes
def test_the_crc_is_ccitt_with_initial_ffff() -> None:
    # The catalogue's check value of CRC-16/CCITT-FALSE (poly 1021, init FFFF).
    assert c.crc16(b"123456789") == 0x29B1
    assert c.crc16(b"") == 0xFFFF


def test_escapes_of_the_four_special_bytes() -> None:
    assert c.escape(H("01 5b 02 5a 03 5d 04 5e")) == H("01 5a01 02 5a02 03 5e01 04 5e02")
    assert c.unescape(H("01 5a01 02 5a02 03 5e01 04 5e02")) == H("01 5b 02 5a 03 5d 04 5e")
    for bad in ("5a 03", "5e 00", "00 5a"):
        with pytest.raises(c.FrameError, match="bad_escape"):
            c.unescape(H(bad))


# ------------------------------------------------------------------ frames built by hand
HEARTBEAT_2011 = H("""
5b
0000001a   # MSG_LENGTH 26: flags, 22-byte header, CRC
00000001   # MSG_SN
1005       # UP_LINKTEST_REQ
00002711   # MSG_GNSSCENTERID 10001
010000     # VERSION_FLAG 1.0.0
00         # ENCRYPT_FLAG
00000000   # ENCRYPT_KEY
61f4       # CRC-16/CCITT of the 22 bytes
5d
""")


def test_a_2011_link_test_byte_for_byte() -> None:
    assert c.encode_frame(c.UP_LINKTEST_REQ, ACCESS, 1) == HEARTBEAT_2011
    got = c.decode_frame(HEARTBEAT_2011[1:-1])
    assert (got.header.msg_id, got.header.access_code, got.header.serial) == (0x1005, ACCESS, 1)
    assert got.header.version == (1, 0, 0) and got.header.at is None and got.body == b""
    assert c.peek(HEARTBEAT_2011[1:-1]) == (0x1005, ACCESS, (1, 0, 0))


LOGIN_2011 = H("""
5b 00000048 00000001 1001 00002711 010000 00 00000000
00001389                                   # USERID 5001
7a6e383039707764                           # PASSWORD "zn809pwd"
3132372e302e302e31 0000000000000000000000000000000000000000000000 # DOWN_LINK_IP, 32
2651                                       # DOWN_LINK_PORT 9809
3551 5d
""")
LOGIN_2019 = H("""
5b 00000054 00000001 1001 00002711 01020f 00 00000000
000000006b137020                           # TIME: 2026-12-05 02:00:00 UTC (1796436000)
00001389 7a6e383039707764
00002711                                   # 2019: the 接入码 again, in the body
3132372e302e302e31 0000000000000000000000000000000000000000000000
2651
42b5 5d
""")


def test_a_login_in_both_editions() -> None:
    login = b.Login(5001, "zn809pwd", "127.0.0.1", 9809, ACCESS)
    assert c.encode_frame(c.UP_CONNECT_REQ, ACCESS, 1, b.encode_login(login)) == LOGIN_2011
    at = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert c.encode_frame(c.UP_CONNECT_REQ, ACCESS, 1, b.encode_login(login, c.E2019),
                          c.E2019, at=at) == LOGIN_2019
    old = c.decode_frame(LOGIN_2011[1:-1], c.E2011)
    assert b.parse_login(old.body) == b.Login(5001, "zn809pwd", "127.0.0.1", 9809)
    new = c.decode_frame(LOGIN_2019[1:-1], c.E2019)
    assert new.header.at == at and new.header.version == (1, 2, 15)
    assert b.parse_login(new.body, c.E2019) == login
    # The reply: result 0 and a verify code for the slave link; 4 is a wrong password.
    assert b.login_reply(c.LOGIN_OK, 0x01020304) == H("00 01020304")
    assert b.parse_login_reply(H("04 00000000")) == (c.LOGIN_BAD_PASSWORD, 0)


def test_2011_and_2019_headers_differ_by_the_time() -> None:
    # Nothing in a frame names its edition: a 2011 frame is too short for a 2019 header, but
    # a 2019 frame read as 2011 passes its CRC with the time at the head of its body. Hence
    # the edition is the operator's, declared with its 接入码.
    with pytest.raises(c.FrameError, match="too_short"):
        c.decode_frame(HEARTBEAT_2011[1:-1], c.E2019)
    wrong = c.decode_frame(LOGIN_2019[1:-1], c.E2011)
    assert wrong.body[:8] == H("000000006b137020") and len(wrong.body) == 58
    assert c.decode_frame(LOGIN_2019[1:-1], c.E2019).body == wrong.body[8:]


POSITION_2011 = H("""
5b 00 00 00 5a02        # MSG_LENGTH 90 = 0x5a, escaped as 5a 02
00000002 1200 00002711 010000 00 00000000
b4a846a1a4443732363932 00000000000000000000   # VEHICLE_NO 川F·D72692 (GBK), 21 bytes
02                      # VEHICLE_COLOR yellow
1202                    # UP_EXG_MSG_REAL_LOCATION
00000024                # DATA_LENGTH 36
00                      # ENCRYPT: plain coordinates
19 0b 07ea              # DATE 25 Nov 2026 (day, month, year)
06 23 00                # TIME 06:35:00 Beijing time
063a0e8c                # LON 104.468108
01d28593                # LAT 30.573971
0048                    # VEC1 72 km/h
0000                    # VEC2 (tachograph)
00003039                # VEC3 mileage 12345 km
00 5a02                 # DIRECTION 90 (0x5a escaped)
01f4                    # ALTITUDE 500 m
00000002                # STATE positioned
00000000                # ALARM
343a 5d
""")


def test_a_2011_real_time_position() -> None:
    got = c.decode_frame(POSITION_2011[1:-1])
    env = b.parse_envelope(got.body)
    assert (env.plate, env.colour, env.data_type) == (PLATE, 2, c.UP_EXG_MSG_REAL_LOCATION)
    g = b.parse_location(env.data)
    assert (g.lon, g.lat, g.speed_kmh, g.heading, g.altitude_m) == (104.468108, 30.573971,
                                                                    72.0, 90, 500)
    assert g.at == T0 and g.mileage_km == 12345 and not g.encrypted
    assert c.encode_frame(c.UP_EXG_MSG, ACCESS, 2, b.encode_envelope(env)) == POSITION_2011


def test_a_2019_position_carries_the_jt808_body() -> None:
    loc808 = H("00000000 00000002 01d28593 063a0e8c 01f4 02d0 005a 261125063500")
    data = (H("00") + H("0000001c") + loc808
            + (H("00" * 11) + H("00000000")) * 3)  # three (platform id, alarm) pairs
    g = b.parse_location(data, c.E2019)
    assert (g.lon, g.lat, g.speed_kmh, g.heading, g.at) == (104.468108, 30.573971, 72.0, 90,
                                                           T0)
    assert b.encode_location(g, c.E2019) == data
    with pytest.raises(c.FrameError, match="bad_gnss"):
        b.parse_location(data + b"\x00", c.E2019)


def test_a_backfill_of_two_positions() -> None:
    g = b.parse_location(b.parse_envelope(c.decode_frame(POSITION_2011[1:-1]).body).data)
    data = b.encode_history([g, g])
    assert data[0] == 2 and len(data) == 1 + 2 * 36
    assert b.parse_history(data) == [g, g]
    for bad in (H("00"), H("06") + data[1:], data + b"\x00"):
        with pytest.raises(c.FrameError):
            b.parse_history(bad)


def test_escapes_in_the_serial_and_a_broken_crc() -> None:
    # Serial 5b5a5d5e: every special byte inside one field.
    frame = H("5b 0000001a 5a01 5a02 5e01 5e02 1005 00002711 010000 00 00000000 f458 5d")
    assert c.encode_frame(c.UP_LINKTEST_REQ, ACCESS, 0x5B5A5D5E) == frame
    assert c.decode_frame(frame[1:-1]).header.serial == 0x5B5A5D5E
    broken = bytearray(HEARTBEAT_2011)
    broken[-2] ^= 0x01
    with pytest.raises(c.FrameError, match="bad_crc"):
        c.decode_frame(bytes(broken[1:-1]))


# ------------------------------------------------------------------ the body cipher
def test_the_cipher_by_hand() -> None:
    # M1 30000000, IA1 20000000, IC1 20000000, ENCRYPT_KEY 256178:
    # key1 = 20000000 * (256178 % 30000000) + 20000000 = 5123580000000 -> mod 2^32 = 0xed2a7700
    # key2 = 20000000 * (3978983168 % 30000000) + 20000000 mod 2^32 = 0x44e62d00
    # key3 = 0x67392d00, key4 = 0xa7c8ad00; each byte XOR (key >> 20) & 0xff: d2 4e 73 7c.
    keys = c.Keys(30_000_000, 20_000_000, 20_000_000)
    assert c.crypt(H("00000000"), 256178, keys) == H("d24e737c")
    assert c.crypt(H("01020304"), 256178, keys) == H("d34c7078")
    assert c.crypt(c.crypt(b"any body", 99, keys), 99, keys) == b"any body"
    # An encrypted frame: the flag, the key in the header, the body deciphered on reading.
    frame = c.encode_frame(c.UP_LINKTEST_REQ, ACCESS, 1, H("01020304"), keys=keys, key=256178)
    assert H("01 0003e8b2") in frame and H("d34c7078") in frame  # flag 1, key 256178
    got = c.decode_frame(frame[1:-1], c.E2011, keys)
    assert got.header.encrypted and got.body == H("01020304")
    with pytest.raises(c.FrameError, match="no_key"):
        c.decode_frame(frame[1:-1], c.E2011)


# ------------------------------------------------------------------ alarms and 督办
def test_a_2011_alarm_and_the_2019_alarm() -> None:
    data = H("""
    02         # WARN_SRC enterprise platform
    0003       # WARN_TYPE emergency
    00000000 6b061114  # WARN_TIME 2026-11-24 22:35:00 UTC (1795559700)
    00000007   # INFO_ID
    00000004   # INFO_LENGTH
    b1a8beaf   # 报警 (GBK)
    """)
    a = b.parse_alarm(data, c.E2011, PLATE, 2)
    assert (a.src, a.warn_type, a.at, a.info_id, a.content, a.plate) == (
        2, 3, T0, 7, "报警", PLATE)
    assert b.encode_alarm(a) == data
    new = b.Alarm(0x0001, T0, "超速", plate=PLATE, colour=2, source_platform="51060000001")
    raw = b.encode_alarm(new, c.E2019)
    assert len(raw) == 11 + 2 + 24 + 21 + 1 + 11 + 8 + 4
    back = b.parse_alarm(raw, c.E2019)
    assert (back.warn_type, back.plate, back.content, back.start) == (1, PLATE, "超速", T0)


def test_the_urge_request_and_its_reply() -> None:
    u = b.Urge(3, T0, 0x12, datetime(2026, 11, 25, tzinfo=UTC), 0, "值班员", "0838-1234567")
    data = b.encode_urge(u)
    assert data[:3] == H("02 0003") and data[11:15] == H("00000012")
    assert len(data) == 92 and b.parse_urge(data) == u
    assert b.parse_urge(b.encode_urge(u, c.E2019), c.E2019).supervisor == "值班员"
    assert b.encode_urge_ack(0x12, 1) == H("00000012 01")
    assert b.parse_urge_ack(H("00000012 01")) == (0x12, 1)
    env = b.encode_warn(c.DOWN_WARN_MSG_URGE_TODO_REQ, data, c.E2011, PLATE, 2)
    assert env[21:28] == H("02 9401 0000005c")
    assert b.encode_warn(c.DOWN_WARN_MSG_URGE_TODO_REQ, data, c.E2019)[:6] == H("9401 0000005c")


# ------------------------------------------------------------------ stream and fuzz
@given(st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_the_splitter_finds_frames_however_the_stream_is_cut(cuts: list[int]) -> None:
    stream = b"junk\x5d" + HEARTBEAT_2011 + POSITION_2011 + b"\x5bcut" + LOGIN_2011
    sp, out, pos = c.Splitter(), [], 0
    for n in cuts * 20:
        out += sp.feed(stream[pos:pos + n])
        pos += n
    out += sp.feed(stream[pos:])
    assert [c.decode_frame(f).header.msg_id for f in out] == [0x1005, 0x1200, 0x1001]


@given(st.binary(max_size=300), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
       st.integers(0, 0xFFFFFFFF), st.sampled_from(c.EDITIONS), st.booleans())
def test_encode_then_decode_is_the_identity(body: bytes, msg_id: int, serial: int,
                                            key: int, edition: int, cipher: bool) -> None:
    keys = c.Keys(30_000_000, 20_000_000, 20_000_000) if cipher else None
    frame = c.encode_frame(msg_id, ACCESS, serial, body, edition, keys=keys, key=key)
    assert c.HEAD not in frame[1:-1] and c.TAIL not in frame[1:-1]
    got = c.decode_frame(frame[1:-1], edition, keys)
    assert (got.header.msg_id, got.header.serial, got.body) == (msg_id, serial, body)


BODY_READERS = (b.parse_login, lambda d, e: b.parse_login_reply(d),
                lambda d, e: b.parse_envelope(d), b.parse_warn, b.parse_location,
                b.parse_history, b.parse_alarm, b.parse_urge, lambda d, e: b.parse_urge_ack(d))


@given(st.one_of(st.binary(max_size=200),
                 st.builds(lambda f, i, x: f[:i] + bytes([x]) + f[i + 1:],
                           st.sampled_from([HEARTBEAT_2011, POSITION_2011, LOGIN_2019]),
                           st.integers(0, 90), st.integers(0, 255))),
       st.sampled_from(c.EDITIONS))
def test_the_decoder_raises_only_its_own_error(raw: bytes, edition: int) -> None:
    keys = c.Keys(30_000_000, 20_000_000, 20_000_000)
    try:
        frame = c.decode_frame(raw.strip(b"\x5b\x5d"), edition, keys)
    except c.FrameError:
        return
    for read in BODY_READERS:
        with contextlib.suppress(c.FrameError):
            read(frame.body, edition)
