"""JT/T 808-2013/2019 framing and the messages a bus tracking platform needs.

A frame on the wire is 0x7E, the escaped (header, body, XOR checksum), 0x7E; inside,
0x7E is sent as 7D 02 and 0x7D as 7D 01. Numbers are big-endian; times are BCD in
Beijing time (GMT+8); text is GBK.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FLAG = 0x7E
ESC = 0x7D
MAX_FRAME = 2048  # a body is at most 1023 bytes; anything longer between flags is junk

REGISTER, REGISTER_REPLY, AUTH, HEARTBEAT = 0x0100, 0x8100, 0x0102, 0x0002
LOCATION, BATCH, PLATFORM_REPLY, TERMINAL_REPLY = 0x0200, 0x0704, 0x8001, 0x0001
OK, FAIL, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
# Results of a 0x8100 register reply: 0 ok, 1 the vehicle is registered (to another
# terminal), 2 no such vehicle, 3 the terminal is registered, 4 no such terminal.
REG_OK, REG_VEHICLE_TAKEN, REG_NO_VEHICLE, REG_TERMINAL_TAKEN, REG_NO_TERMINAL = 0, 1, 2, 3, 4
BEIJING = timedelta(hours=8)


class FrameError(ValueError):
    """A frame that cannot be read; `reason` is the counter key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def escape(data: bytes) -> bytes:
    """7D -> 7D 01, 7E -> 7D 02."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo `escape`; a 7D followed by anything but 01/02 is an error."""
    if ESC not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == ESC:
            if i + 1 >= n or data[i + 1] not in (1, 2):
                raise FrameError("bad_escape", f"7D at {i}")
            out.append(ESC if data[i + 1] == 1 else FLAG)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def checksum(data: bytes) -> int:
    """XOR of every byte (header and body, before escaping)."""
    x = 0
    for b in data:
        x ^= b
    return x


def bcd(digits: str) -> bytes:
    """Decimal digits as packed BCD (even length)."""
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even number of digits: {digits!r}")
    return bytes(int(digits[i:i + 2], 16) for i in range(0, len(digits), 2))


def unbcd(data: bytes) -> str:
    """Packed BCD to digits; a nibble above 9 is an error."""
    text = data.hex()
    if not text.isdigit():
        raise FrameError("bad_bcd", text)
    return text


@dataclass(frozen=True)
class Header:
    """Message id, protocol version (None for 2013), terminal phone, serial, subpackage."""

    msg_id: int
    phone: str
    serial: int
    version: int | None = None
    body_len: int = 0
    encrypted: bool = False
    packet: tuple[int, int] | None = None


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    header: Header
    body: bytes


def decode_frame(raw: bytes) -> Frame:
    """Decode what lies between two 0x7E flags (escaped); raises FrameError."""
    data = unescape(raw)
    if len(data) < 13:
        raise FrameError("too_short", f"{len(data)} bytes")
    if checksum(data[:-1]) != data[-1]:
        raise FrameError("bad_checksum", f"{checksum(data[:-1]):02x} != {data[-1]:02x}")
    msg_id, props = struct.unpack_from(">HH", data, 0)
    body_len = props & 0x3FF
    encrypted = bool(props & 0x1C00)
    sub = bool(props & 0x2000)
    if props & 0x4000:  # 2019: version byte, 10-byte BCD phone
        version = data[4]
        phone, pos = unbcd(data[5:15]), 15
    else:
        version, phone, pos = None, unbcd(data[4:10]), 10
    if len(data) < pos + 2:
        raise FrameError("too_short", "header")
    serial = struct.unpack_from(">H", data, pos)[0]
    pos += 2
    packet = None
    if sub:
        if len(data) < pos + 4:
            raise FrameError("too_short", "subpackage header")
        packet = struct.unpack_from(">HH", data, pos)
        pos += 4
    body = data[pos:-1]
    if len(body) != body_len:
        raise FrameError("bad_length", f"body {len(body)} bytes, header says {body_len}")
    return Frame(Header(msg_id, phone.lstrip("0") or "0", serial, version, body_len, encrypted,
                        packet), body)


def encode_frame(msg_id: int, phone: str, serial: int, body: bytes = b"",
                 version: int | None = None) -> bytes:
    """A complete frame with flags, checksum and escaping (2019 header when `version`)."""
    if len(body) > 0x3FF:
        raise ValueError("body longer than 1023 bytes needs subpackages")
    props = len(body)
    if version is not None:
        head = struct.pack(">HHB", msg_id, props | 0x4000, version) + bcd(phone.zfill(20))
    else:
        head = struct.pack(">HH", msg_id, props) + bcd(phone.zfill(12))
    data = head + struct.pack(">H", serial & 0xFFFF) + body
    return bytes([FLAG]) + escape(data + bytes([checksum(data)])) + bytes([FLAG])


class Splitter:
    """Cuts a TCP byte stream into frames; junk and over-long runs are dropped, not kept."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.overflows = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the escaped contents of every complete frame."""
        self.buf += chunk
        out = []
        while True:
            start = self.buf.find(FLAG)
            if start < 0:
                self.buf.clear()
                break
            end = self.buf.find(FLAG, start + 1)
            if end < 0:
                del self.buf[:start]
                if len(self.buf) > MAX_FRAME:
                    self.overflows += 1
                    self.buf.clear()
                break
            content = bytes(self.buf[start + 1:end])
            if content:
                out.append(content)
                del self.buf[:end + 1]
            else:  # 7E 7E: the second flag may open the next frame
                del self.buf[:end]
        return out


# ------------------------------------------------------------------ message bodies
@dataclass(frozen=True)
class Location:
    """A 0x0200 location report (also each item of a 0x0704 batch)."""

    alarm: int
    status: int
    lat: float
    lon: float
    altitude_m: int
    speed_kmh: float
    heading: int
    at: datetime
    extras: dict[int, bytes]


def _bcd_time(at: datetime) -> bytes:
    local = at.astimezone(UTC) + BEIJING
    return bcd(local.strftime("%y%m%d%H%M%S"))


def encode_location(loc: Location) -> bytes:
    """The body of a 0x0200 report."""
    status = loc.status | (0x4 if loc.lat < 0 else 0) | (0x8 if loc.lon < 0 else 0)
    body = struct.pack(">IIIIHHH", loc.alarm, status, round(abs(loc.lat) * 1e6),
                       round(abs(loc.lon) * 1e6), loc.altitude_m, round(loc.speed_kmh * 10),
                       loc.heading) + _bcd_time(loc.at)
    for key, value in sorted(loc.extras.items()):
        body += bytes([key, len(value)]) + value
    return body


def parse_location(body: bytes) -> Location:
    """Read a 0x0200 body; raises FrameError."""
    if len(body) < 28:
        raise FrameError("bad_location", f"{len(body)} bytes")
    alarm, status, lat, lon, alt, speed, heading = struct.unpack_from(">IIIIHHH", body, 0)
    t = unbcd(body[22:28])
    try:
        # YYMMDDhhmmss, the year 20YY: strptime's %y would read 69-99 as 1969-1999.
        local = datetime(2000 + int(t[0:2]), int(t[2:4]), int(t[4:6]), int(t[6:8]),
                         int(t[8:10]), int(t[10:12]), tzinfo=UTC)
    except ValueError as exc:
        raise FrameError("bad_time", t) from exc
    if lat > 90_000_000 or lon > 180_000_000 or heading > 360:
        raise FrameError("bad_location", f"lat {lat} lon {lon} heading {heading}")
    extras: dict[int, bytes] = {}
    pos = 28
    while pos + 2 <= len(body):
        key, n = body[pos], body[pos + 1]
        if pos + 2 + n > len(body):
            raise FrameError("bad_location", f"extra 0x{key:02x} runs past the body")
        extras[key] = body[pos + 2:pos + 2 + n]
        pos += 2 + n
    return Location(alarm, status, (-1 if status & 0x4 else 1) * lat / 1e6,
                    (-1 if status & 0x8 else 1) * lon / 1e6, alt, speed / 10.0,
                    heading, local - BEIJING, extras)


def encode_batch(locations: list[Location], kind: int = 0) -> bytes:
    """The body of a 0x0704 batch (kind 0 normal, 1 blind-area re-upload)."""
    body = struct.pack(">HB", len(locations), kind)
    for loc in locations:
        item = encode_location(loc)
        body += struct.pack(">H", len(item)) + item
    return body


def parse_batch(body: bytes) -> list[Location]:
    """Read a 0x0704 body."""
    if len(body) < 3:
        raise FrameError("bad_batch", "no count")
    count = struct.unpack_from(">H", body, 0)[0]
    pos, out = 3, []
    for _ in range(count):
        if pos + 2 > len(body):
            raise FrameError("bad_batch", "fewer items than counted")
        n = struct.unpack_from(">H", body, pos)[0]
        out.append(parse_location(body[pos + 2:pos + 2 + n]))
        pos += 2 + n
    if pos != len(body):
        raise FrameError("bad_batch", "bytes after the last item")
    return out


@dataclass(frozen=True)
class Register:
    """A 0x0100 terminal registration."""

    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


_REG_SIZES = {None: (5, 20, 7), 2019: (11, 30, 30)}


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00 ").decode("gbk", errors="replace")


def parse_register(body: bytes, version: int | None) -> Register:
    """Read a 0x0100 body (field sizes differ between 2013 and 2019)."""
    maker_n, model_n, tid_n = _REG_SIZES[None if version is None else 2019]
    fixed = 4 + maker_n + model_n + tid_n + 1
    if len(body) < fixed:
        raise FrameError("bad_register", f"{len(body)} bytes")
    province, city = struct.unpack_from(">HH", body, 0)
    p = 4
    maker = _text(body[p:p + maker_n])
    p += maker_n
    model = _text(body[p:p + model_n])
    p += model_n
    tid = _text(body[p:p + tid_n])
    p += tid_n
    return Register(province, city, maker, model, tid, body[p], _text(body[p + 1:]))


def encode_register(reg: Register, version: int | None = None) -> bytes:
    """The body of a 0x0100 registration."""
    maker_n, model_n, tid_n = _REG_SIZES[None if version is None else 2019]

    def pad(s: str, n: int) -> bytes:
        return s.encode("gbk")[:n].ljust(n, b"\x00")

    return (struct.pack(">HH", reg.province, reg.city) + pad(reg.maker, maker_n)
            + pad(reg.model, model_n) + pad(reg.terminal_id, tid_n)
            + bytes([reg.plate_color]) + reg.plate.encode("gbk"))


def register_reply(serial: int, result: int, code: str = "") -> bytes:
    """The body of 0x8100: the registration's serial, result and (on success) auth code."""
    return struct.pack(">HB", serial, result) + (code.encode("gbk") if result == OK else b"")


def parse_register_reply(body: bytes) -> tuple[int, int, str]:
    """(serial, result, auth code) of a 0x8100 body."""
    serial, result = struct.unpack_from(">HB", body, 0)
    return serial, result, body[3:].decode("gbk")


def parse_auth(body: bytes, version: int | None) -> str:
    """The auth code of a 0x0102 body (2019 adds its length, IMEI and firmware)."""
    if version is None:
        return body.decode("gbk", errors="replace")
    if not body or len(body) < 1 + body[0]:
        raise FrameError("bad_auth", "short")
    return body[1:1 + body[0]].decode("gbk", errors="replace")


def encode_auth(code: str, version: int | None = None, imei: str = "", firmware: str = "") -> bytes:
    """The body of a 0x0102 authentication."""
    raw = code.encode("gbk")
    if version is None:
        return raw
    return (bytes([len(raw)]) + raw + imei.encode()[:15].ljust(15, b"\x00")
            + firmware.encode()[:20].ljust(20, b"\x00"))


def general_reply(serial: int, msg_id: int, result: int) -> bytes:
    """The body of 0x8001 (platform) or 0x0001 (terminal): serial, message id, result."""
    return struct.pack(">HHB", serial, msg_id, result)


def parse_general_reply(body: bytes) -> tuple[int, int, int]:
    """(serial, message id, result) of a 0x8001/0x0001 body."""
    if len(body) != 5:
        raise FrameError("bad_reply", f"{len(body)} bytes")
    seq, msg_id, result = struct.unpack(">HHB", body)
    return seq, msg_id, result
