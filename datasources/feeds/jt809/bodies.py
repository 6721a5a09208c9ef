"""JT/T 809 message bodies a school-bus supervision platform needs, 2011 and 2019.

Text is GBK, zero-padded to its field. Times in UTC fields are seconds since 1970 (UTC);
the 2011 GNSS date and time are Beijing time (GMT+8), as JT/T 808's. A 2019 position
carries the JT/T 808 0x0200 body itself, read with that codec.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from datasources.feeds.jt808 import codec as jt808
from datasources.feeds.jt809.codec import E2011, E2019, FrameError

BEIJING = timedelta(hours=8)
PLATE_N, PLATFORM_ID_N = 21, 11
GNSS_2011_N = 36


def pad(text: str, n: int) -> bytes:
    """GBK, cut and zero-padded to n bytes."""
    raw = text.encode("gbk", errors="replace")[:n]
    return raw.ljust(n, b"\x00")


def text(raw: bytes) -> str:
    """A zero-padded GBK field as text."""
    return raw.split(b"\x00", 1)[0].decode("gbk", errors="replace").strip()


def utc_seconds(at: datetime) -> int:
    """A UTC time field."""
    return max(0, int(at.timestamp()))


def from_utc_seconds(secs: int) -> datetime:
    """Read a UTC time field; FrameError when beyond the calendar."""
    try:
        return datetime.fromtimestamp(secs, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise FrameError("bad_time", str(secs)) from exc


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise FrameError(f"bad_{what}", f"{len(data)} bytes, {n} needed")


# ------------------------------------------------------------------ links
@dataclass(frozen=True)
class Login:
    """0x1001 主链路登录请求: user id, password (8 bytes), the slave link's address; 2019
    also carries the 接入码 in the body."""

    user_id: int
    password: str
    down_ip: str
    down_port: int
    access_code: int | None = None


def encode_login(login: Login, edition: int = E2011) -> bytes:
    """The body of 0x1001."""
    body = struct.pack(">I", login.user_id) + pad(login.password, 8)
    if edition == E2019:
        body += struct.pack(">I", login.access_code or 0)
    return body + pad(login.down_ip, 32) + struct.pack(">H", login.down_port)


def parse_login(body: bytes, edition: int = E2011) -> Login:
    """Read a 0x1001 body."""
    size = 50 if edition == E2019 else 46
    _need(body, size, "login")
    user_id = struct.unpack_from(">I", body, 0)[0]
    password = body[4:12].split(b"\x00", 1)[0].decode("latin-1")
    pos, access = 12, None
    if edition == E2019:
        access = struct.unpack_from(">I", body, 12)[0]
        pos = 16
    ip = text(body[pos:pos + 32])
    port = struct.unpack_from(">H", body, pos + 32)[0]
    return Login(user_id, password, ip, port, access)


def login_reply(result: int, verify_code: int) -> bytes:
    """The body of 0x1002: result and the verify code for the slave link."""
    return struct.pack(">BI", result, verify_code)


def parse_login_reply(body: bytes) -> tuple[int, int]:
    """(result, verify code) of 0x1002."""
    _need(body, 5, "login_reply")
    result, code = struct.unpack_from(">BI", body, 0)
    return int(result), int(code)


def verify_code_body(code: int) -> bytes:
    """The body of 0x9001 从链路连接请求 (and 0x9003): the verify code."""
    return struct.pack(">I", code)


def parse_verify_code(body: bytes) -> int:
    """The verify code of a 0x9001 body."""
    _need(body, 4, "down_connect")
    return int(struct.unpack_from(">I", body, 0)[0])


# ------------------------------------------------------------------ exchange envelopes
@dataclass(frozen=True)
class Envelope:
    """The vehicle and sub-business of 0x1200/0x9200 (and 2011's 0x1400/0x9400)."""

    plate: str
    colour: int
    data_type: int
    data: bytes


def encode_envelope(env: Envelope) -> bytes:
    """VEHICLE_NO (21), VEHICLE_COLOR, DATA_TYPE, DATA_LENGTH, DATA."""
    return (pad(env.plate, PLATE_N) + struct.pack(">BHI", env.colour, env.data_type,
                                                  len(env.data)) + env.data)


def parse_envelope(body: bytes) -> Envelope:
    """Read a vehicle envelope; the data must be as long as it says."""
    _need(body, 28, "envelope")
    colour, data_type, n = struct.unpack_from(">BHI", body, PLATE_N)
    data = body[28:]
    if len(data) != n:
        raise FrameError("bad_envelope", f"data {len(data)} bytes, says {n}")
    return Envelope(text(body[:PLATE_N]), colour, data_type, data)


def encode_warn(data_type: int, data: bytes, edition: int = E2011, plate: str = "",
                colour: int = 0) -> bytes:
    """0x1400/0x9400: 2011 wraps the vehicle envelope; 2019 has only DATA_TYPE and
    DATA_LENGTH (the vehicle is inside the sub-business)."""
    if edition == E2011:
        return encode_envelope(Envelope(plate, colour, data_type, data))
    return struct.pack(">HI", data_type, len(data)) + data


def parse_warn(body: bytes, edition: int = E2011) -> Envelope:
    """Read 0x1400/0x9400 (plate and colour empty in 2019)."""
    if edition == E2011:
        return parse_envelope(body)
    _need(body, 6, "envelope")
    data_type, n = struct.unpack_from(">HI", body, 0)
    if len(body) - 6 != n:
        raise FrameError("bad_envelope", f"data {len(body) - 6} bytes, says {n}")
    return Envelope("", 0, data_type, body[6:])


# ------------------------------------------------------------------ positions
@dataclass(frozen=True)
class Gnss:
    """One position: what both editions carry, in the units of the screens."""

    lon: float
    lat: float
    speed_kmh: float
    heading: int
    at: datetime
    altitude_m: int = 0
    state: int = 0
    alarm: int = 0
    encrypted: bool = False  # coordinates enciphered by the national map plugin
    mileage_km: int = 0
    recorder_kmh: int = 0


def _bj(at: datetime) -> datetime:
    return at.astimezone(UTC) + BEIJING


def encode_gnss_2011(g: Gnss) -> bytes:
    """The 36-byte GNSS_DATA of 2011."""
    local = _bj(g.at)
    state = g.state | (0x4 if g.lat < 0 else 0) | (0x8 if g.lon < 0 else 0)
    return (struct.pack(">BBBH", 1 if g.encrypted else 0, local.day, local.month, local.year)
            + bytes((local.hour, local.minute, local.second))
            + struct.pack(">IIHHIHHII", round(abs(g.lon) * 1e6), round(abs(g.lat) * 1e6),
                          round(g.speed_kmh), g.recorder_kmh, g.mileage_km, g.heading,
                          g.altitude_m, state, g.alarm))


def parse_gnss_2011(data: bytes) -> Gnss:
    """Read a 36-byte GNSS_DATA (date and time in Beijing time)."""
    _need(data, GNSS_2011_N, "gnss")
    enc, day, month, year = struct.unpack_from(">BBBH", data, 0)
    hh, mm, ss = data[5], data[6], data[7]
    lon, lat, v1, v2, mileage, heading, alt, state, alarm = struct.unpack_from(
        ">IIHHIHHII", data, 8)
    try:
        at = datetime(year, month, day, hh, mm, ss, tzinfo=UTC) - BEIJING
    except (ValueError, OverflowError) as exc:
        raise FrameError("bad_time", f"{year}-{month}-{day} {hh}:{mm}:{ss}") from exc
    if lat > 90_000_000 or lon > 180_000_000 or heading > 360:
        raise FrameError("bad_gnss", f"lat {lat} lon {lon} heading {heading}")
    return Gnss((-1 if state & 0x8 else 1) * lon / 1e6, (-1 if state & 0x4 else 1) * lat / 1e6,
                float(v1), heading, at, alt, state, alarm, bool(enc), mileage, v2)


def encode_gnss_2019(g: Gnss, platforms: tuple[tuple[str, int], ...] = ()) -> bytes:
    """2019's vehicle position: ENCRYPT, the JT/T 808 0x0200 body with its length, then
    three (platform id, alarm) pairs (the platforms that watch the vehicle)."""
    loc = jt808.encode_location(jt808.Location(g.alarm, g.state, g.lat, g.lon, g.altitude_m,
                                               g.speed_kmh, g.heading, g.at, {}))
    body = struct.pack(">BI", 1 if g.encrypted else 0, len(loc)) + loc
    pairs = list(platforms)[:3] + [("", 0)] * (3 - len(platforms[:3]))
    for pid, alarm in pairs:
        body += pad(pid, PLATFORM_ID_N) + struct.pack(">I", alarm)
    return body


def parse_gnss_2019(data: bytes) -> tuple[Gnss, int]:
    """Read a 2019 vehicle position; (position, bytes used)."""
    _need(data, 5, "gnss")
    enc, n = struct.unpack_from(">BI", data, 0)
    end = 5 + n + 3 * (PLATFORM_ID_N + 4)
    _need(data, end, "gnss")
    try:
        loc = jt808.parse_location(data[5:5 + n])
    except jt808.FrameError as exc:
        raise FrameError(exc.reason if exc.reason == "bad_time" else "bad_gnss",
                         str(exc)) from exc
    return Gnss(loc.lon, loc.lat, loc.speed_kmh, loc.heading, loc.at, loc.altitude_m,
                loc.status, loc.alarm, bool(enc)), end


def parse_location(data: bytes, edition: int = E2011) -> Gnss:
    """The data of 0x1202 (one position)."""
    if edition == E2011:
        if len(data) != GNSS_2011_N:
            raise FrameError("bad_gnss", f"{len(data)} bytes")
        return parse_gnss_2011(data)
    g, used = parse_gnss_2019(data)
    if used != len(data):
        raise FrameError("bad_gnss", f"{len(data) - used} bytes after the position")
    return g


def encode_location(g: Gnss, edition: int = E2011) -> bytes:
    """The data of 0x1202."""
    return encode_gnss_2011(g) if edition == E2011 else encode_gnss_2019(g)


def encode_history(fixes: list[Gnss], edition: int = E2011) -> bytes:
    """The data of 0x1203 自动补报: GNSS_CNT (1-5) and the positions."""
    return bytes([len(fixes)]) + b"".join(encode_location(g, edition) for g in fixes)


def parse_history(data: bytes, edition: int = E2011) -> list[Gnss]:
    """Read the data of 0x1203."""
    _need(data, 1, "history")
    count, pos, out = data[0], 1, []
    if not 1 <= count <= 5:
        raise FrameError("bad_history", f"GNSS_CNT {count}")
    for _ in range(count):
        if edition == E2011:
            _need(data, pos + GNSS_2011_N, "history")
            out.append(parse_gnss_2011(data[pos:pos + GNSS_2011_N]))
            pos += GNSS_2011_N
        else:
            g, used = parse_gnss_2019(data[pos:])
            out.append(g)
            pos += used
    if pos != len(data):
        raise FrameError("bad_history", "bytes after the last position")
    return out


# ------------------------------------------------------------------ alarms
@dataclass(frozen=True)
class Alarm:
    """0x1402 上报报警信息. 2011: source, type, time, info id, content (the vehicle in the
    envelope). 2019: the reporting platform, type, time, start and end, the vehicle, the
    platform reported on, the line, content (no info id, no source byte)."""

    warn_type: int
    at: datetime
    content: str = ""
    src: int = 2  # 1 terminal, 2 enterprise platform, 3 government platform, 9 other
    info_id: int = 0
    plate: str = ""
    colour: int = 0
    source_platform: str = ""
    start: datetime | None = None
    end: datetime | None = None
    target_platform: str = ""
    line_id: int = 0


def encode_alarm(a: Alarm, edition: int = E2011) -> bytes:
    """The data of 0x1402."""
    content = a.content.encode("gbk", errors="replace")
    if edition == E2011:
        return (struct.pack(">BHQII", a.src, a.warn_type, utc_seconds(a.at), a.info_id,
                            len(content)) + content)
    return (pad(a.source_platform, PLATFORM_ID_N)
            + struct.pack(">HQQQ", a.warn_type, utc_seconds(a.at),
                          utc_seconds(a.start or a.at), utc_seconds(a.end or a.at))
            + pad(a.plate, PLATE_N) + bytes([a.colour]) + pad(a.target_platform, PLATFORM_ID_N)
            + struct.pack(">II", a.line_id, len(content)) + content)


def parse_alarm(data: bytes, edition: int = E2011, plate: str = "", colour: int = 0) -> Alarm:
    """Read the data of 0x1402 (`plate`, `colour`: 2011's envelope)."""
    if edition == E2011:
        _need(data, 19, "alarm")
        src, warn_type, secs, info_id, n = struct.unpack_from(">BHQII", data, 0)
        if len(data) != 19 + n:
            raise FrameError("bad_alarm", f"content {len(data) - 19} bytes, says {n}")
        return Alarm(warn_type, from_utc_seconds(secs), data[19:].decode("gbk", "replace"),
                     src, info_id, plate, colour)
    _need(data, 78, "alarm")
    source = text(data[:11])
    warn_type, secs, start, end = struct.unpack_from(">HQQQ", data, 11)
    veh = text(data[37:58])
    col = data[58]
    target = text(data[59:70])
    line, n = struct.unpack_from(">II", data, 70)
    if len(data) != 78 + n:
        raise FrameError("bad_alarm", f"content {len(data) - 78} bytes, says {n}")
    return Alarm(warn_type, from_utc_seconds(secs), data[78:].decode("gbk", "replace"),
                 2, 0, veh, col, source, from_utc_seconds(start), from_utc_seconds(end),
                 target, line)


@dataclass(frozen=True)
class Urge:
    """0x9401 报警督办请求: the alarm urged, the 督办 id and deadline, level (0 urgent,
    1 normal) and who urges. 2019 carries the vehicle here (the envelope has none)."""

    warn_type: int
    warn_at: datetime
    supervision_id: int
    deadline: datetime
    level: int = 1
    supervisor: str = ""
    tel: str = ""
    email: str = ""
    src: int = 2
    plate: str = ""
    colour: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def encode_urge(u: Urge, edition: int = E2011) -> bytes:
    """The data of 0x9401."""
    head = (struct.pack(">BH", u.src, u.warn_type) if edition == E2011
            else pad(u.plate, PLATE_N) + struct.pack(">BH", u.colour, u.warn_type))
    return (head + struct.pack(">QIQB", utc_seconds(u.warn_at), u.supervision_id,
                               utc_seconds(u.deadline), u.level)
            + pad(u.supervisor, 16) + pad(u.tel, 20) + pad(u.email, 32))


def parse_urge(data: bytes, edition: int = E2011, plate: str = "", colour: int = 0) -> Urge:
    """Read the data of 0x9401 (the lower platform's side)."""
    lead = 3 if edition == E2011 else PLATE_N + 3
    _need(data, lead + 21 + 68, "urge")
    if edition == E2011:
        src, warn_type = struct.unpack_from(">BH", data, 0)
    else:
        plate = text(data[:PLATE_N])
        colour, warn_type = struct.unpack_from(">BH", data, PLATE_N)
        src = 2
    secs, sid, deadline, level = struct.unpack_from(">QIQB", data, lead)
    p = lead + 21
    return Urge(warn_type, from_utc_seconds(secs), sid, from_utc_seconds(deadline), level,
                text(data[p:p + 16]), text(data[p + 16:p + 36]), text(data[p + 36:p + 68]),
                src, plate, colour)


def encode_urge_ack(supervision_id: int, result: int) -> bytes:
    """The data of 0x1401 报警督办应答: the 督办 id and the result (URGE_RESULTS)."""
    return struct.pack(">IB", supervision_id, result)


def parse_urge_ack(data: bytes) -> tuple[int, int]:
    """(督办 id, result) of 0x1401."""
    if len(data) != 5:
        raise FrameError("bad_urge_ack", f"{len(data)} bytes")
    sid, result = struct.unpack(">IB", data)
    return int(sid), int(result)
