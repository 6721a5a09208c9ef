"""The JT/T 809 gateway: operators' platforms log in on the main link and send positions
and alarms; the town connects back on the slave link and sends its 督办 down.

Only the operators of the admin's declaration get in (dashboard/buses/operators.py): a login
with an unknown 接入码, user id, password or address is answered with the standard 0x1002
result and counted. A position or alarm for a bus not on the operator's list is refused and
counted (`jt809_unknown_plate`). Positions go out through `Publisher.publish_positions`, as
every door's do; an alarm (0x1400/0x1402) becomes a work order through the ingest channel,
the path the SOS of the JT/T 808 gateway takes. A 督办 of such a work order (催办 or 督办 at
the console, datasources/flows/jt809_desk.py) waits in Redis until the operator is logged
in, goes down as 0x9400/0x9401 (on the slave link when it is up, else on the main link),
and the operator's 0x1401 answer goes back for the work order's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import struct
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from pydantic import ValidationError

from dashboard.buses.operators import (
    BAD_ACCESS_CODE,
    BAD_IP,
    BAD_PASSWORD,
    UNKNOWN_PLATE,
    UNKNOWN_USER,
    Operator,
    OperatorRegister,
    alarm_report,
    check_login,
)
from dashboard.buses.sos import has_sos, rescued_sos
from dashboard.messages import IncidentReport, VehiclePosition
from dashboard.timeutil import utcnow
from datasources.feeds.jt809 import bodies as b
from datasources.feeds.jt809 import codec as c
from datasources.redis.publisher import Publisher

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 180.0  # three missed link tests (platforms test every 60 s)
ALARM_TTL_S = 30 * 24 * 3600  # how long a 督办 of an alarm's work order can still go down
URGE_BATCH = 20  # 督办 taken per operator per flush
_READ_ERRORS = (c.FrameError, struct.error, ValueError, IndexError, KeyError, UnicodeError)
# A refused login's answer, by the rule's reason (the standard's 0x1002 results).
REFUSALS = {BAD_ACCESS_CODE: c.LOGIN_BAD_ACCESS_CODE, UNKNOWN_USER: c.LOGIN_NO_USER,
            BAD_PASSWORD: c.LOGIN_BAD_PASSWORD, BAD_IP: c.LOGIN_BAD_IP}


def _keys(op: Operator | None) -> c.Keys | None:
    return c.Keys(*op.keys) if op is not None and op.keys else None


@dataclass
class Link:
    """One main-link connection: which operator it is, once logged in, and its state."""

    peer: str
    peer_ip: str
    writer: asyncio.StreamWriter
    op: Operator | None = None
    serial: int = 0
    verify_code: int = 0
    down_addr: tuple[str, int] | None = None
    slave: asyncio.StreamWriter | None = None
    slave_task: asyncio.Task[None] | None = None
    last: dict[str, tuple[float, float]] = field(default_factory=dict)  # plate -> lon, lat

    def next_serial(self) -> int:
        """The town's next message serial on this link."""
        self.serial = (self.serial + 1) & 0xFFFFFFFF
        return self.serial


@dataclass
class Gateway:
    """Serve JT/T 809 lower platforms on a TCP port."""

    bus: Publisher
    operators: OperatorRegister = field(default_factory=lambda: OperatorRegister({}))
    flush_s: float = 0.2
    linktest_s: float = 60.0  # the town's 0x9005 on each slave link
    stats: Counter[str] = field(default_factory=Counter)
    _queue: list[VehiclePosition] = field(default_factory=list)
    _rejects: Counter[str] = field(default_factory=Counter)
    _alarms: list[tuple[IncidentReport, dict[str, object]]] = field(default_factory=list)
    _replies: list[dict[str, object]] = field(default_factory=list)
    _sos: list[IncidentReport] = field(default_factory=list)
    _links: dict[int, Link] = field(default_factory=dict)  # 接入码 -> its logged-in link
    _server: asyncio.Server | None = None
    _flusher: asyncio.Task[None] | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1", port: int = 8809) -> int:
        """Listen; returns the bound port (0 picks a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self._flusher = asyncio.create_task(self._flush_loop(), name="jt809-flush")
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info("JT/T 809 gateway on %s:%s, %s operator(s)", host, bound, len(self.operators))
        if not len(self.operators):
            log.warning("JT/T 809: no operator declared (ZN_JT809_OPERATORS): every login "
                        "will be refused")
        return bound

    async def stop(self) -> None:
        """Close the listener and every link, publishing what is queued."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        for link in list(self._links.values()):
            if link.slave_task is not None:
                link.slave_task.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._flush()

    # ------------------------------------------------------------------ the main link
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        peername = writer.get_extra_info("peername")
        link = Link(str(peername), str(peername[0]) if peername else "", writer)
        splitter = c.Splitter()
        self.stats["connections"] += 1
        try:
            while not writer.is_closing():
                chunk = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
                if not chunk:
                    break
                for raw in splitter.feed(chunk):
                    self._frame(link, raw)
                if splitter.overflows:
                    self._drop("overflow", link, f"{splitter.overflows} over-long runs")
                    splitter.overflows = 0
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug in one link must not reach the others
            log.exception("JT/T 809 link %s failed", link.peer)
        finally:
            self._conns.discard(task)
            self._forget(link)
            self.stats["disconnects"] += 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _forget(self, link: Link) -> None:
        if link.op is not None and self._links.get(link.op.access_code) is link:
            del self._links[link.op.access_code]
        if link.slave_task is not None:
            link.slave_task.cancel()
        if link.slave is not None:
            link.slave.close()

    def _drop(self, reason: str, link: Link, detail: str) -> None:
        self.stats["dropped"] += 1
        self.stats[f"dropped_{reason}"] += 1
        log.warning("JT/T 809 %s dropped a frame (%s): %s", link.peer, reason, detail[:200])
        self._rejects[f"jt809_{reason}"] += 1

    def _send(self, link: Link, writer: asyncio.StreamWriter, msg_id: int, body: bytes = b"",
              op: Operator | None = None, edition: int | None = None,
              access_code: int | None = None) -> None:
        op = op or link.op
        keys = _keys(op)
        edition = edition or (op.edition if op is not None else c.E2011)
        code = access_code if access_code is not None else (op.access_code if op else 0)
        writer.write(c.encode_frame(msg_id, code, link.next_serial(), body, edition, keys=keys,
                                    key=secrets.randbits(32) if keys else 0))

    def _frame(self, link: Link, raw: bytes) -> None:
        try:
            msg_id, access, version = c.peek(raw)
        except _READ_ERRORS as exc:
            self._drop(getattr(exc, "reason", "bad_frame"), link, str(exc))
            return
        if link.op is not None and access != link.op.access_code:
            self._drop("access_mismatch", link, f"接入码 {access} on {link.op.name}'s link")
            return
        op = link.op or self.operators.get(access)
        # Nothing in a frame names its edition: the operator's, else the version's guess.
        edition = op.edition if op is not None else (
            c.E2019 if version >= (1, 2, 0) else c.E2011)
        try:
            frame = c.decode_frame(raw, edition, _keys(op))
        except _READ_ERRORS as exc:
            self._drop(getattr(exc, "reason", "bad_frame"), link, str(exc))
            return
        self.stats["frames"] += 1
        try:
            if msg_id == c.UP_CONNECT_REQ:
                self._login(link, frame, op, edition)
                return
            if link.op is None:
                self._drop("unauthenticated", link, f"0x{msg_id:04x} before a login")
                return
            if msg_id == c.UP_LINKTEST_REQ:
                self.stats["linktests"] += 1
                self._send(link, link.writer, c.UP_LINKTEST_RSP)
            elif msg_id == c.UP_DISCONNECT_REQ:
                self._send(link, link.writer, c.UP_DISCONNECT_RSP)
                link.writer.close()
            elif msg_id == c.UP_EXG_MSG:
                self._exchange(link, b.parse_envelope(frame.body))
            elif msg_id == c.UP_WARN_MSG:
                self._warn(link, b.parse_warn(frame.body, link.op.edition))
            elif msg_id in (c.UP_DISCONNECT_INFORM, c.UP_LINKTEST_RSP):
                pass
            else:
                self.stats["unsupported"] += 1
        except _READ_ERRORS as exc:
            self._drop(getattr(exc, "reason", "bad_body"), link, str(exc))

    def _login(self, link: Link, frame: c.Frame, op: Operator | None, edition: int) -> None:
        login = b.parse_login(frame.body, edition)
        who, reason = check_login(self.operators, frame.header.access_code, login.user_id,
                                  login.password, link.peer_ip, login.access_code)
        if who is None or reason is not None:
            reason = reason or BAD_ACCESS_CODE
            self.stats["login_refused"] += 1
            self._rejects[reason] += 1
            log.warning("JT/T 809 %s: login of 接入码 %s user %s refused (%s)", link.peer,
                        frame.header.access_code, login.user_id, reason)
            self._send(link, link.writer, c.UP_CONNECT_RSP,
                       b.login_reply(REFUSALS.get(reason, c.LOGIN_OTHER), 0), op=op,
                       edition=edition, access_code=frame.header.access_code)
            return
        old = self._links.get(who.access_code)
        if old is not None and old is not link:  # the platform reconnected: the new link wins
            self._forget(old)
            old.writer.close()
        link.op, link.verify_code = who, secrets.randbits(32) or 1
        self._links[who.access_code] = link
        self.stats["logins"] += 1
        self._send(link, link.writer, c.UP_CONNECT_RSP, b.login_reply(c.LOGIN_OK,
                                                                      link.verify_code))
        link.down_addr = self._down_addr(link, login)
        if link.down_addr is not None:
            link.slave_task = asyncio.create_task(self._slave(link), name="jt809-slave")

    @staticmethod
    def _down_addr(link: Link, login: b.Login) -> tuple[str, int] | None:
        """Where the slave link goes: the operator's declared address, else the login's
        when it is the address the platform connected from (the town does not dial an
        address a stranger names)."""
        assert link.op is not None
        if link.op.down_link:
            host, _, port = link.op.down_link.rpartition(":")
            return host, int(port)
        if login.down_ip and login.down_ip == link.peer_ip and login.down_port:
            return login.down_ip, login.down_port
        return None

    # ------------------------------------------------------------------ the slave link
    async def _slave(self, link: Link) -> None:
        """Connect to the operator's platform, 0x9001 with the verify code, then 0x9005 every
        `linktest_s`; again after a failure, while the main link lives."""
        assert link.down_addr is not None and link.op is not None
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*link.down_addr), 10)
                self._send(link, writer, c.DOWN_CONNECT_REQ, b.verify_code_body(link.verify_code))
                splitter, refused = c.Splitter(), False
                while not refused:
                    try:
                        chunk = await asyncio.wait_for(reader.read(65536), self.linktest_s)
                    except TimeoutError:
                        self._send(link, writer, c.DOWN_LINKTEST_REQ)
                        await writer.drain()
                        continue
                    if not chunk:
                        break
                    for raw in splitter.feed(chunk):
                        frame = c.decode_frame(raw, link.op.edition, _keys(link.op))
                        if frame.header.msg_id == c.DOWN_CONNECT_RSP:
                            refused = not frame.body or frame.body[0] != c.DOWN_OK
                            self.stats["slave_refused" if refused else "slave_links"] += 1
                            link.slave = None if refused else writer
                        elif frame.header.msg_id == c.DOWN_LINKTEST_RSP:
                            self.stats["slave_linktests"] += 1
                writer.close()
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, *_READ_ERRORS) as exc:
                log.warning("JT/T 809 slave link to %s (%s): %s", link.op.name, link.down_addr,
                            exc)
            link.slave = None
            await asyncio.sleep(30)

    # ------------------------------------------------------------------ positions
    def _plate(self, link: Link, sent: str) -> str | None:
        assert link.op is not None
        plate = link.op.plate(sent)
        if plate is None:
            self.stats["unknown_plate"] += 1
            self._rejects[UNKNOWN_PLATE] += 1
            log.warning("JT/T 809 %s: %r is not a bus of %s: refused", link.peer, sent[:30],
                        link.op.name)
        return plate

    def _exchange(self, link: Link, env: b.Envelope) -> None:
        assert link.op is not None
        if env.data_type not in (c.UP_EXG_MSG_REAL_LOCATION, c.UP_EXG_MSG_HISTORY_LOCATION):
            self.stats["unsupported"] += 1
            return
        plate = self._plate(link, env.plate)
        if plate is None:
            return
        fixes = ([b.parse_location(env.data, link.op.edition)]
                 if env.data_type == c.UP_EXG_MSG_REAL_LOCATION
                 else b.parse_history(env.data, link.op.edition))
        for g in fixes:
            if g.encrypted:  # the national map plugin's cipher: the town cannot read it
                self._drop("encrypted_position", link, plate)
                continue
            try:
                fix = VehiclePosition(plate=plate, lon=g.lon, lat=g.lat, speed_kmh=g.speed_kmh,
                                      heading=g.heading % 360, at=g.at, alarm=g.alarm or None)
            except ValidationError as exc:
                self._drop("invalid", link, str(exc).splitlines()[0])
                if has_sos(g.alarm):
                    self._sos.append(rescued_sos(plate, g.lon, g.lat, utcnow(), "invalid",
                                                 g.at.isoformat()))
                continue
            self._queue.append(fix)
            link.last[plate] = (fix.lon, fix.lat)
            self.stats["fixes"] += 1

    # ------------------------------------------------------------------ alarms and 督办
    def _warn(self, link: Link, env: b.Envelope) -> None:
        op = link.op
        assert op is not None
        if env.data_type == c.UP_WARN_MSG_URGE_TODO_ACK:
            sid, result = b.parse_urge_ack(env.data)
            self.stats["urge_replies"] += 1
            self._replies.append({"supervision_id": sid, "result": result,
                                  "access_code": op.access_code, "operator": op.name,
                                  "at": utcnow().isoformat()})
            return
        if env.data_type != c.UP_WARN_MSG_ADPT_INFO:
            self.stats["unsupported"] += 1
            return
        alarm = b.parse_alarm(env.data, op.edition, env.plate, env.colour)
        plate = self._plate(link, alarm.plate)
        if plate is None:
            return
        report = alarm_report(op, plate, alarm.warn_type, alarm.at, alarm.content,
                              link.last.get(plate))
        facts: dict[str, object] = {
            "access_code": op.access_code, "plate": plate, "colour": alarm.colour,
            "warn_type": alarm.warn_type, "warn_src": alarm.src, "at": alarm.at.isoformat(),
            "info_id": alarm.info_id}
        self._alarms.append((report, facts))
        self.stats["alarms"] += 1

    def _urge_frame(self, link: Link, job: dict[str, object]) -> bytes:
        """The 0x9400/0x9401 body of one 督办 job (written by jt809_desk)."""
        op = link.op
        assert op is not None
        plate, colour = str(job["plate"]), int(str(job.get("colour", 0)))
        urge = b.Urge(int(str(job["warn_type"])), datetime.fromisoformat(str(job["warn_at"])),
                      int(str(job["supervision_id"])),
                      datetime.fromisoformat(str(job["deadline"])), int(str(job["level"])),
                      str(job.get("supervisor", "")), str(job.get("tel", "")),
                      str(job.get("email", "")), int(str(job.get("warn_src", 2))), plate, colour)
        return b.encode_warn(c.DOWN_WARN_MSG_URGE_TODO_REQ, b.encode_urge(urge, op.edition),
                             op.edition, plate, colour)

    async def _send_urges(self) -> None:
        for link in list(self._links.values()):
            assert link.op is not None
            key = self.bus.ch.jt809_urges(link.op.access_code)
            raw = await asyncio.to_thread(self.bus.r.lpop, key, URGE_BATCH)
            for item in cast(list[bytes], raw or []):
                try:
                    body = self._urge_frame(link, json.loads(item))
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("JT/T 809: an unreadable 督办 job dropped: %s", exc)
                    continue
                # On the slave link when it is up (the standard's way), else the main link.
                self._send(link, link.slave or link.writer, c.DOWN_WARN_MSG, body)
                self.stats["urges_sent"] += 1

    # ------------------------------------------------------------------ publishing
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self._flush()
            except Exception:  # Redis away: keep what is queued for the next round
                log.exception("JT/T 809 publish failed")

    async def _flush(self) -> None:
        if self._rejects:
            rejects, self._rejects = self._rejects, Counter()
            try:
                for reason, n in list(rejects.items()):
                    await asyncio.to_thread(self.bus.count_rejected, reason, n)
                    del rejects[reason]
            except Exception:
                self._rejects.update(rejects)
                log.exception("JT/T 809 rejections not counted yet")
        if self._sos:
            sos, self._sos = self._sos, []
            try:
                await asyncio.to_thread(self.bus.rescue_sos, sos)
            except Exception:
                self._sos = sos + self._sos
                log.exception("JT/T 809 SOS not sent yet")
        if self._alarms:
            alarms, self._alarms = self._alarms, []
            try:
                await asyncio.to_thread(self._raise_alarms, alarms)
            except Exception:
                self._alarms = alarms + self._alarms  # never dropped: the next round
                log.exception("JT/T 809 alarms not raised yet")
        if self._replies:
            replies, self._replies = self._replies, []
            try:
                await asyncio.to_thread(self.bus.r.rpush, self.bus.ch.jt809_replies,
                                        *[json.dumps(r, ensure_ascii=False) for r in replies])
            except Exception:
                self._replies = replies + self._replies
                log.exception("JT/T 809 督办 replies not passed on yet")
        if self._links:
            await self._send_urges()
            for link in list(self._links.values()):
                for w in {link.writer, link.slave} - {None}:
                    with contextlib.suppress(ConnectionError):
                        await w.drain()  # type: ignore[union-attr]
        if self._queue:
            batch, self._queue = self._queue, []
            try:
                await asyncio.to_thread(self.bus.publish_positions, batch)
            except Exception:
                self._queue = (batch + self._queue)[-100_000:]
                raise
            self.stats["published"] += len(batch)

    def _raise_alarms(self, alarms: list[tuple[IncidentReport, dict[str, object]]]) -> None:
        """Keep each alarm's facts (for a later 督办), then hand the work order to intake."""
        for report, facts in alarms:
            assert report.source_ref is not None
            self.bus.r.set(self.bus.ch.jt809_alarm(report.source_ref),
                           json.dumps(facts, ensure_ascii=False), ex=ALARM_TTL_S)
            self.bus.report(report)


async def serve_forever(bus: Publisher, host: str, port: int,
                        operators: OperatorRegister) -> None:
    """Run the gateway until cancelled (the `zhongnao gateway jt809` command)."""
    gw = Gateway(bus, operators)
    await gw.start(host, port)
    try:
        while True:
            await asyncio.sleep(60)
            log.info("JT/T 809 gateway: %s", dict(gw.stats))
    finally:
        await gw.stop()
