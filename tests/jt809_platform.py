"""A JT/T 809 lower platform (an operator's monitoring platform), written from the standard
with its own framing (struct and binascii.crc_hqx), not with the codec under test: it logs
in on the main link, keeps it alive, sends positions and alarms, serves the slave link the
town dials back, and answers a 督办. Also `running_jt809`, the gateway on its own loop."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import queue
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ESC = {0x5B: b"\x5a\x01", 0x5A: b"\x5a\x02", 0x5D: b"\x5e\x01", 0x5E: b"\x5e\x02"}
UNESC = {b"\x5a\x01": b"\x5b", b"\x5a\x02": b"\x5a", b"\x5e\x01": b"\x5d", b"\x5e\x02": b"\x5e"}


def cipher(data: bytes, key: int, m1: int, ia1: int, ic1: int) -> bytes:
    """The standard's body cipher, as its C listing writes it (32-bit unsigned key)."""
    key, out = key or 1, bytearray()
    for byte in data:
        key = (ia1 * (key % m1) + ic1) % 2**32
        out.append(byte ^ ((key >> 20) & 0xFF))
    return bytes(out)


def gbk(text: str, n: int) -> bytes:
    """A GBK text field of n bytes."""
    return text.encode("gbk")[:n].ljust(n, b"\x00")


class Platform:
    """One lower platform: its 接入码, edition (2011/2019), optional cipher keys."""

    def __init__(self, port: int, access: int, edition: int = 2011,
                 keys: tuple[int, int, int] | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.access, self.edition, self.keys, self.serial = access, edition, keys, 0
        self.buf = b""
        self.slave: socket.socket | None = None
        self.slave_frames: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self.verify_seen: list[int] = []

    # ------------------------------------------------------------ frames
    def frame(self, msg_id: int, body: bytes = b"") -> bytes:
        """A whole frame: header (2019 with the UTC time), body (enciphered with a key of
        0x1234 when the platform has keys), CRC-16/CCITT-FALSE, escapes, flags."""
        self.serial += 1
        flag, key = (1, 0x1234) if self.keys else (0, 0)
        if self.keys:
            body = cipher(body, key, *self.keys)
        hsize = 30 if self.edition == 2019 else 22
        version = b"\x01\x02\x0f" if self.edition == 2019 else b"\x01\x00\x00"
        head = struct.pack(">IIHI", 1 + hsize + len(body) + 3, self.serial, msg_id, self.access)
        head += version + struct.pack(">BI", flag, key)
        if self.edition == 2019:
            head += struct.pack(">Q", int(datetime.now(UTC).timestamp()))
        data = head + body
        data += struct.pack(">H", binascii.crc_hqx(data, 0xFFFF))
        return b"\x5b" + b"".join(ESC.get(x, bytes([x])) for x in data) + b"\x5d"

    def read(self, raw: bytes) -> tuple[int, bytes]:
        """(business type, deciphered body) of one escaped frame; checks CRC and length."""
        for esc, plain in UNESC.items():
            raw = raw.replace(esc, plain)  # 5a/5e pairs never overlap after escaping
        data = raw
        assert binascii.crc_hqx(data[:-2], 0xFFFF) == struct.unpack(">H", data[-2:])[0]
        length, _sn, msg_id, access = struct.unpack_from(">IIHI", data, 0)
        assert length == len(data) + 2 and access == self.access
        flag, key = struct.unpack_from(">BI", data, 17)
        body = data[(30 if self.edition == 2019 else 22):-2]
        if flag:
            assert self.keys is not None
            body = cipher(body, key, *self.keys)
        return msg_id, body

    @staticmethod
    def frame_for(access: int, msg_id: int, body: bytes = b"") -> bytes:
        """A 2011 frame of `access` without a connection (to mangle in a fuzz)."""
        p = Platform.__new__(Platform)
        p.access, p.edition, p.keys, p.serial = access, 2011, None, 0
        return p.frame(msg_id, body)

    def send(self, msg_id: int, body: bytes = b"") -> None:
        """Send one frame on the main link."""
        self.sock.sendall(self.frame(msg_id, body))

    def recv(self) -> tuple[int, bytes]:
        """The next frame the town sends on the main link."""
        while b"\x5d" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the town hung up")
            self.buf += chunk
        start, end = self.buf.index(b"\x5b"), self.buf.index(b"\x5d")
        raw, self.buf = self.buf[start + 1:end], self.buf[end + 1:]
        return self.read(raw)

    # ------------------------------------------------------------ the main link
    def login(self, user: int, password: str, down_port: int = 0,
              access_in_body: int | None = None) -> tuple[int, int]:
        """0x1001; the town's (result, verify code) of 0x1002."""
        body = struct.pack(">I", user) + password.encode()[:8].ljust(8, b"\x00")
        if self.edition == 2019:
            body += struct.pack(">I", self.access if access_in_body is None else access_in_body)
        body += gbk("127.0.0.1", 32) + struct.pack(">H", down_port)
        self.send(0x1001, body)
        msg_id, reply = self.recv()
        assert msg_id == 0x1002
        result, code = struct.unpack(">BI", reply)
        return result, code

    def link_test(self) -> int:
        """0x1005; the business type of the answer (0x1006)."""
        self.send(0x1005)
        return self.recv()[0]

    def gnss(self, lon: float, lat: float, kmh: int, heading: int, at: datetime,
             alarm: int = 0) -> bytes:
        """One position in this platform's edition: 2011's 36 bytes (Beijing date and time)
        or 2019's JT/T 808 0x0200 body with three empty platform slots."""
        bj = at.astimezone(UTC) + timedelta(hours=8)
        if self.edition == 2011:
            return (struct.pack(">BBBH", 0, bj.day, bj.month, bj.year)
                    + bytes((bj.hour, bj.minute, bj.second))
                    + struct.pack(">IIHHIHHII", round(lon * 1e6), round(lat * 1e6), kmh, 0,
                                  1000, heading, 500, 2, alarm))
        bcd = bytes.fromhex(bj.strftime("%y%m%d%H%M%S"))
        loc = struct.pack(">IIIIHHH", alarm, 2, round(lat * 1e6), round(lon * 1e6), 500,
                          kmh * 10, heading) + bcd
        return struct.pack(">BI", 0, len(loc)) + loc + (b"\x00" * 11 + b"\x00" * 4) * 3

    def position(self, plate: str, lon: float, lat: float, kmh: int, heading: int,
                 at: datetime, alarm: int = 0) -> None:
        """0x1200 / 0x1202 real-time position of one bus (colour 2, yellow)."""
        data = self.gnss(lon, lat, kmh, heading, at, alarm)
        self.send(0x1200, gbk(plate, 21) + struct.pack(">BHI", 2, 0x1202, len(data)) + data)

    def backfill(self, plate: str, fixes: list[tuple[float, float, datetime]]) -> None:
        """0x1200 / 0x1203 自动补报 of up to five positions."""
        data = bytes([len(fixes)]) + b"".join(self.gnss(x, y, 20, 90, t) for x, y, t in fixes)
        self.send(0x1200, gbk(plate, 21) + struct.pack(">BHI", 2, 0x1203, len(data)) + data)

    def warn(self, sub: int, data: bytes, plate: str = "") -> None:
        """0x1400 with a sub-business (2011 names the bus in the envelope)."""
        if self.edition == 2011:
            body = gbk(plate, 21) + struct.pack(">BHI", 2, sub, len(data)) + data
        else:
            body = struct.pack(">HI", sub, len(data)) + data
        self.send(0x1400, body)

    def alarm(self, plate: str, warn_type: int, at: datetime, content: str) -> None:
        """0x1400 / 0x1402 上报报警信息."""
        text = content.encode("gbk")
        secs = int(at.timestamp())
        if self.edition == 2011:
            data = struct.pack(">BHQII", 2, warn_type, secs, 1, len(text)) + text
        else:
            data = (gbk("51060000001", 11) + struct.pack(">HQQQ", warn_type, secs, secs, secs)
                    + gbk(plate, 21) + b"\x02" + b"\x00" * 11 + struct.pack(">II", 0, len(text))
                    + text)
        self.warn(0x1402, data, plate)

    def answer_urge(self, plate: str, supervision_id: int, result: int) -> None:
        """0x1400 / 0x1401 报警督办应答."""
        self.warn(0x1401, struct.pack(">IB", supervision_id, result), plate)

    # ------------------------------------------------------------ the slave link
    def serve_slave(self) -> int:
        """Listen for the town's slave link (answer 0x9001 with 0x9002 result 0, 0x9005 with
        0x9006, keep every other frame); returns the port to give in the login."""
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def run() -> None:
            conn, _ = server.accept()
            self.slave = conn
            buf = b""
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"\x5d" in buf:
                    start, end = buf.index(b"\x5b"), buf.index(b"\x5d")
                    msg_id, body = self.read(buf[start + 1:end])
                    buf = buf[end + 1:]
                    if msg_id == 0x9001:
                        self.verify_seen.append(struct.unpack(">I", body)[0])
                        conn.sendall(self.frame(0x9002, b"\x00"))
                    elif msg_id == 0x9005:
                        conn.sendall(self.frame(0x9006))
                    self.slave_frames.put((msg_id, body))

        threading.Thread(target=run, daemon=True).start()
        return int(server.getsockname()[1])

    def close(self) -> None:
        """Hang up both links."""
        self.sock.close()
        if self.slave is not None:
            self.slave.close()


@contextlib.contextmanager
def running_jt809(publisher: Any, operators: Any, **kw: Any) -> Iterator[tuple[Any, int]]:
    """The JT/T 809 gateway on a free port, on its own event-loop thread, publishing to real
    Redis through `publisher`; yields (gateway, port)."""
    from datasources.feeds.jt809.gateway import Gateway

    loop = asyncio.new_event_loop()
    gw = Gateway(publisher, operators, flush_s=0.05, **kw)
    port = loop.run_until_complete(gw.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield gw, port
    finally:
        asyncio.run_coroutine_threadsafe(gw.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
