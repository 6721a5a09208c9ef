"""JT/T 809-2011 and -2019 framing: flags, escapes, CRC, the header and the body cipher.

A frame on the wire is 0x5B, the escaped (header, body, CRC-16), 0x5D. Inside, 0x5B is sent
as 5A 01, 0x5A as 5A 02, 0x5D as 5E 01 and 0x5E as 5E 02. Numbers are big-endian. The header
is MSG_LENGTH (the whole frame, flags included, before escaping), MSG_SN, MSG_ID,
MSG_GNSSCENTERID (the lower platform's 接入码), VERSION_FLAG (3 bytes), ENCRYPT_FLAG,
ENCRYPT_KEY; 2019 adds TIME (UTC seconds, 8 bytes): 22 bytes in 2011, 30 in 2019. Nothing in
a frame says which edition it is: the edition is the operator's (by its 接入码).
The CRC is CRC-16/CCITT (poly 0x1021, initial 0xFFFF) of the header and the body, before
escaping. An encrypted body (flag 1) is XORed with the standard's stream of the header's key
and the operator's M1, IA1, IC1.
"""

from __future__ import annotations

import binascii
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

HEAD, TAIL = 0x5B, 0x5D
ESC_HEAD, ESC_TAIL = 0x5A, 0x5E
E2011, E2019 = 2011, 2019
EDITIONS = (E2011, E2019)
HEADER_LEN = {E2011: 22, E2019: 30}
# VERSION_FLAG sent by each edition (2019 platforms send 1.2.15; 2011 ones 1.0.0).
VERSION = {E2011: (1, 0, 0), E2019: (1, 2, 15)}
MAX_FRAME = 16_384  # the longest frame taken (a 5-fix backfill is under 1 KiB)

# Business types (数据类型) and sub-business types.
UP_CONNECT_REQ, UP_CONNECT_RSP = 0x1001, 0x1002
UP_DISCONNECT_REQ, UP_DISCONNECT_RSP = 0x1003, 0x1004
UP_LINKTEST_REQ, UP_LINKTEST_RSP = 0x1005, 0x1006
UP_DISCONNECT_INFORM = 0x1007
DOWN_CONNECT_REQ, DOWN_CONNECT_RSP = 0x9001, 0x9002
DOWN_DISCONNECT_REQ, DOWN_DISCONNECT_RSP = 0x9003, 0x9004
DOWN_LINKTEST_REQ, DOWN_LINKTEST_RSP = 0x9005, 0x9006
UP_EXG_MSG, DOWN_EXG_MSG = 0x1200, 0x9200
UP_EXG_MSG_REGISTER, UP_EXG_MSG_REAL_LOCATION, UP_EXG_MSG_HISTORY_LOCATION = (
    0x1201, 0x1202, 0x1203)
UP_WARN_MSG, DOWN_WARN_MSG = 0x1400, 0x9400
UP_WARN_MSG_URGE_TODO_ACK, UP_WARN_MSG_ADPT_INFO = 0x1401, 0x1402
DOWN_WARN_MSG_URGE_TODO_REQ = 0x9401

# 0x1002 results (主链路登录应答).
LOGIN_OK, LOGIN_BAD_IP, LOGIN_BAD_ACCESS_CODE, LOGIN_NO_USER, LOGIN_BAD_PASSWORD, \
    LOGIN_BUSY, LOGIN_OTHER = range(7)
LOGIN_RESULTS = {LOGIN_OK: ("成功", "ok"), LOGIN_BAD_IP: ("IP地址不正确", "wrong IP address"),
                 LOGIN_BAD_ACCESS_CODE: ("接入码不正确", "wrong access code"),
                 LOGIN_NO_USER: ("用户没有注册", "user not registered"),
                 LOGIN_BAD_PASSWORD: ("密码错误", "wrong password"),
                 LOGIN_BUSY: ("资源紧张，稍后再连接（已经占用）", "busy, reconnect later"),
                 LOGIN_OTHER: ("其他", "other")}
# 0x9002 results (从链路连接应答).
DOWN_OK, DOWN_BAD_VERIFY_CODE, DOWN_BUSY, DOWN_OTHER = range(4)
# 0x1401 results (报警督办应答).
URGE_RESULTS = {0: ("处理中", "being handled"), 1: ("已处理完毕", "handled"),
                2: ("不作处理", "will not be handled"), 3: ("将来处理", "will be handled later")}


class FrameError(ValueError):
    """A frame that cannot be read; `reason` is the counter key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ------------------------------------------------------------------ bytes on the wire
_BAD_ESCAPE = re.compile(rb"[\x5a\x5e](?![\x01\x02])")


def escape(data: bytes) -> bytes:
    """5B -> 5A 01, 5A -> 5A 02, 5D -> 5E 01, 5E -> 5E 02."""
    return (data.replace(b"\x5a", b"\x5a\x02").replace(b"\x5b", b"\x5a\x01")
            .replace(b"\x5e", b"\x5e\x02").replace(b"\x5d", b"\x5e\x01"))


def unescape(data: bytes) -> bytes:
    """Undo `escape`; 5A or 5E followed by anything but 01/02 is an error. In escaped bytes
    every 5A and 5E leads a pair, and no pair's second byte leads another, so the pairs
    can be replaced in any order."""
    if b"\x5a" not in data and b"\x5e" not in data:
        return data
    bad = _BAD_ESCAPE.search(data)
    if bad is not None:
        raise FrameError("bad_escape", f"{data[bad.start()]:02x} at {bad.start()}")
    return (data.replace(b"\x5a\x01", b"\x5b").replace(b"\x5a\x02", b"\x5a")
            .replace(b"\x5e\x01", b"\x5d").replace(b"\x5e\x02", b"\x5e"))


def crc16(data: bytes) -> int:
    """CRC-16/CCITT (poly 0x1021, initial 0xFFFF, no reflection): 29B1 for b'123456789'.
    binascii's CRC-CCITT (XMODEM) is that polynomial; started at 0xFFFF it is this one."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Keys:
    """An operator's cipher constants (M1, IA1, IC1 of the standard)."""

    m1: int
    ia1: int
    ic1: int


def crypt(data: bytes, key: int, keys: Keys) -> bytes:
    """The standard's stream cipher (its own inverse): key = IA1 * (key % M1) + IC1 for each
    byte, in 32-bit unsigned arithmetic, XORing the byte with bits 20-27 of the key."""
    if keys.m1 == 0:
        raise FrameError("bad_key", "M1 is 0")
    key = key or 1
    out = bytearray(data)
    for i in range(len(out)):
        key = (keys.ia1 * (key % keys.m1) + keys.ic1) & 0xFFFFFFFF
        out[i] ^= (key >> 20) & 0xFF
    return bytes(out)


# ------------------------------------------------------------------ frames
@dataclass(frozen=True)
class Header:
    """Length, serial, business type, 接入码, version, encryption and (2019) the UTC time."""

    msg_id: int
    access_code: int
    serial: int
    version: tuple[int, int, int] = (1, 0, 0)
    encrypted: bool = False
    key: int = 0
    at: datetime | None = None  # 2019 only
    length: int = 0


@dataclass(frozen=True)
class Frame:
    """One decoded frame; `body` is deciphered when the header says it is encrypted."""

    header: Header
    body: bytes


def peek(raw: bytes) -> tuple[int, int, tuple[int, int, int]]:
    """(business type, 接入码, version) of an escaped frame without checking it: the gateway
    needs the 接入码 to know the operator, hence the edition, before it can decode."""
    data = unescape(raw[:40])  # the fields sit in the first 18 bytes; escapes may double them
    if len(data) < 18:
        raise FrameError("too_short", f"{len(data)} bytes")
    msg_id, access = struct.unpack_from(">HI", data, 8)
    return msg_id, access, (data[14], data[15], data[16])


def decode_frame(raw: bytes, edition: int = E2011, keys: Keys | None = None) -> Frame:
    """Decode what lies between 0x5B and 0x5D (escaped); raises FrameError only."""
    data = unescape(raw)
    size = HEADER_LEN[edition]
    if len(data) < size + 2:
        raise FrameError("too_short", f"{len(data)} bytes")
    want = crc16(data[:-2])
    got = struct.unpack_from(">H", data, len(data) - 2)[0]
    if want != got:
        raise FrameError("bad_crc", f"{want:04x} != {got:04x}")
    length, serial, msg_id, access = struct.unpack_from(">IIHI", data, 0)
    if length != len(data) + 2:
        raise FrameError("bad_length", f"header says {length}, frame is {len(data) + 2}")
    version = (data[14], data[15], data[16])
    flag, key = struct.unpack_from(">BI", data, 17)
    if flag > 1:
        raise FrameError("bad_header", f"encrypt flag {flag}")
    at = None
    if edition == E2019:
        secs = struct.unpack_from(">Q", data, 22)[0]
        try:
            at = datetime.fromtimestamp(secs, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise FrameError("bad_time", str(secs)) from exc
    body = data[size:-2]
    if flag:
        if keys is None:
            raise FrameError("no_key", f"0x{msg_id:04x} encrypted, no key for {access}")
        body = crypt(body, key, keys)
    return Frame(Header(msg_id, access, serial, version, bool(flag), key, at, length), body)


def encode_frame(msg_id: int, access_code: int, serial: int, body: bytes = b"",
                 edition: int = E2011, *, version: tuple[int, int, int] | None = None,
                 keys: Keys | None = None, key: int = 0, at: datetime | None = None) -> bytes:
    """A complete frame with flags, CRC and escaping; the body is enciphered with `keys`
    (and the header's `key`) when keys are given."""
    size = HEADER_LEN[edition]
    flag = 1 if keys is not None else 0
    if keys is not None:
        body = crypt(body, key, keys)
    major, minor, patch = version or VERSION[edition]
    head = struct.pack(">IIHIBBBBI", size + len(body) + 4, serial & 0xFFFFFFFF, msg_id,
                       access_code, major, minor, patch, flag, key & 0xFFFFFFFF)
    if edition == E2019:
        when = at or datetime.now(UTC)
        head += struct.pack(">Q", int(when.timestamp()))
    data = head + body
    return bytes([HEAD]) + escape(data + struct.pack(">H", crc16(data))) + bytes([TAIL])


class Splitter:
    """Cuts a TCP byte stream into frames (the escaped bytes between 5B and 5D); junk and
    over-long runs are dropped, not kept."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.overflows = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the escaped contents of every complete frame."""
        self.buf += chunk
        out = []
        while True:
            start = self.buf.find(HEAD)
            if start < 0:
                self.buf.clear()
                break
            end = self.buf.find(TAIL, start + 1)
            # A second 5B before the 5D: the first frame was cut; start again there.
            again = self.buf.find(HEAD, start + 1, end if end >= 0 else len(self.buf))
            if again >= 0:
                del self.buf[:again]
                continue
            if end < 0:
                del self.buf[:start]
                if len(self.buf) > MAX_FRAME:
                    self.overflows += 1
                    self.buf.clear()
                break
            if end > start + 1:
                out.append(bytes(self.buf[start + 1:end]))
            del self.buf[:end + 1]
        return out
