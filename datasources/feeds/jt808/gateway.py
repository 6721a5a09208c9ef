"""The JT/T 808 TCP gateway: terminals register, authenticate and report; fixes go to Redis.

Only the terminals of the town's vehicle register get in (issue 12): a registration is
checked by `dashboard.buses.terminals.admit` (terminal phone ↔ plate), refused with the
standard 0x8100 result and counted otherwise; the auth code issued is kept only as a salted
hash in the Redis hash `zn:jt808:terminals`. It listens on 127.0.0.1 unless told otherwise.

One asyncio server; each connection has its own frame splitter, so a broken frame is
dropped and counted on that connection while it and every other connection go on.
Fixes are batched and published through `Publisher.publish_positions` (the same door as the
simulator), so the hub, the tracker and the screens see them like any other fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from dashboard.buses.fixtime import BAD_TIME, screen_fixes
from dashboard.buses.sos import has_sos, rescued_sos
from dashboard.buses.terminals import (
    ALREADY_REGISTERED,
    PLATE_MISMATCH,
    UNKNOWN_TERMINAL,
    UNKNOWN_VEHICLE,
    TerminalRegister,
    admit,
    already_registered,
    code_matches,
    new_code,
    phone_key,
    sealed,
)
from dashboard.messages import IncidentReport, VehiclePosition
from dashboard.timeutil import utcnow
from datasources.feeds.jt808 import codec as c
from datasources.redis.publisher import Publisher

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 180.0  # three missed heartbeats (the terminal default is 60 s)
_READ_ERRORS = (c.FrameError, struct.error, ValueError, IndexError, KeyError)
# A refused registration's answer, by the rule's reason (the standard's 0x8100 results).
REFUSALS = {UNKNOWN_TERMINAL: c.REG_NO_TERMINAL, UNKNOWN_VEHICLE: c.REG_NO_VEHICLE,
            PLATE_MISMATCH: c.REG_VEHICLE_TAKEN, ALREADY_REGISTERED: c.REG_TERMINAL_TAKEN}


@dataclass
class Session:
    """One terminal connection: who it is and the platform's own serial numbers."""

    peer: str
    phone: str | None = None
    plate: str | None = None
    authed: bool = False
    serial: int = 0
    frames: int = 0
    last_at: datetime | None = None  # the newest fix taken on this connection

    def next_serial(self) -> int:
        """The platform's next message serial on this connection."""
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial


@dataclass
class Gateway:
    """Serve JT/T 808 terminals on a TCP port and publish their fixes."""

    bus: Publisher
    # Who may register which plate. Empty (a town whose vehicles.csv has no `terminal`
    # column and no declared register): every registration is refused, result 4.
    register: TerminalRegister = field(default_factory=lambda: TerminalRegister({}))
    flush_s: float = 0.2
    stats: Counter[str] = field(default_factory=Counter)
    _queue: list[VehiclePosition] = field(default_factory=list)
    # Rejections by reason, counted (and announced to every hub) with the next flush: a
    # flood of junk is one Redis call per flush, and no Redis call blocks the loop.
    _rejects: Counter[str] = field(default_factory=Counter)
    # SOS work orders of refused fixes (an SOS is never dropped), sent with the next flush.
    _sos: list[IncidentReport] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _flusher: asyncio.Task[None] | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1", port: int = 8808) -> int:
        """Listen; returns the bound port (0 picks a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self._flusher = asyncio.create_task(self._flush_loop(), name="jt808-flush")
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info("JT/T 808 gateway on %s:%s, %s terminal(s) in the register", host, bound,
                 len(self.register))
        if not len(self.register):
            log.warning("JT/T 808: the vehicle register binds no terminal (no `terminal` "
                        "column in vehicles.csv, no ZN_JT808_REGISTER): every registration "
                        "will be refused")
        return bound

    async def stop(self) -> None:
        """Close the listener and every connection, publishing what is queued."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._flush()

    # ------------------------------------------------------------------ connections
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        peer = str(writer.get_extra_info("peername"))
        session, splitter = Session(peer), c.Splitter()
        self.stats["connections"] += 1
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S)
                if not chunk:
                    break
                for raw in splitter.feed(chunk):
                    reply = await self._frame(session, raw)
                    if reply:
                        writer.write(reply)
                if splitter.overflows:
                    self._drop("overflow", session, f"{splitter.overflows} over-long runs")
                    splitter.overflows = 0
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug in one connection must not reach the others
            log.exception("JT/T 808 connection %s failed", peer)
        finally:
            self._conns.discard(task)
            self.stats["disconnects"] += 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _drop(self, reason: str, session: Session, detail: str) -> None:
        self.stats["dropped"] += 1
        self.stats[f"dropped_{reason}"] += 1
        log.warning("JT/T 808 %s dropped a frame (%s): %s", session.peer, reason, detail[:200])
        self._rejects[f"jt808_{reason}"] += 1

    async def _frame(self, session: Session, raw: bytes) -> bytes | None:
        try:
            frame = c.decode_frame(raw)
        except _READ_ERRORS as exc:
            self._drop(getattr(exc, "reason", "bad_frame"), session, str(exc))
            return None
        h = frame.header
        session.frames += 1
        self.stats["frames"] += 1

        def reply(result: int) -> bytes:
            return c.encode_frame(c.PLATFORM_REPLY, h.phone, session.next_serial(),
                                  c.general_reply(h.serial, h.msg_id, result), h.version)

        if h.encrypted or h.packet is not None:
            self._drop("unsupported", session, f"0x{h.msg_id:04x} encrypted or subpackaged")
            return reply(c.UNSUPPORTED)
        try:
            if h.msg_id == c.REGISTER:
                return await self._register(session, frame)
            if h.msg_id == c.AUTH:
                ok = await self._auth(session, h.phone, c.parse_auth(frame.body, h.version))
                return reply(c.OK if ok else c.FAIL)
            if h.msg_id == c.HEARTBEAT:
                self.stats["heartbeats"] += 1
                return reply(c.OK)
            if h.msg_id == c.TERMINAL_REPLY:
                return None
            if h.msg_id in (c.LOCATION, c.BATCH):
                if not session.authed or session.phone != h.phone:
                    self._drop("unauthenticated", session, f"0x{h.msg_id:04x} from {h.phone}")
                    self._rescue_unauthenticated(h.phone, frame)
                    return reply(c.FAIL)
                locs = ([c.parse_location(frame.body)] if h.msg_id == c.LOCATION
                        else c.parse_batch(frame.body))
                # Nothing taken (a fix dated 2068, say): the terminal hears "bad message".
                return reply(c.OK if self._enqueue(session, locs) else c.BAD_MESSAGE)
        except _READ_ERRORS as exc:
            self._drop(getattr(exc, "reason", "bad_body"), session, str(exc))
            return reply(c.BAD_MESSAGE)
        self.stats["unsupported"] += 1
        return reply(c.UNSUPPORTED)

    def _enqueue(self, session: Session, locs: list[c.Location]) -> int:
        """Queue the fixes the time rule keeps; returns how many."""
        fixes = []
        for loc in locs:
            try:
                fixes.append(VehiclePosition(plate=session.plate or session.phone or "?",
                                             lon=loc.lon, lat=loc.lat, speed_kmh=loc.speed_kmh,
                                             heading=loc.heading % 360, at=loc.at,
                                             alarm=loc.alarm or None))
            except ValidationError as exc:
                self._drop("invalid", session, str(exc).splitlines()[0])
                if has_sos(loc.alarm):
                    self._rescue(session.plate or session.phone or "?", loc, "invalid")
        # This connection's newest fix bounds the next; publish_positions checks again
        # against the latest fix from every door.
        known = {f.plate: session.last_at for f in fixes[:1] if session.last_at is not None}
        screened = screen_fixes(fixes, utcnow(), known, self.bus.window)
        if screened.refused:
            self.stats["dropped"] += len(screened.refused)
            self.stats[f"dropped_{BAD_TIME}"] += len(screened.refused)
            self._rejects[BAD_TIME] += len(screened.refused)
            log.warning("JT/T 808 %s: %s fixes refused as %s (%s)", session.peer,
                        len(screened.refused), BAD_TIME,
                        ", ".join(fixes[i].at.isoformat() for i in screened.refused[:3]))
            for i in screened.refused:
                if has_sos(fixes[i].alarm):
                    self._sos.append(rescued_sos(fixes[i].plate, fixes[i].lon, fixes[i].lat,
                                                 utcnow(), BAD_TIME, fixes[i].at.isoformat()))
        for fix in screened.latest.values():
            session.last_at = fix.at
        for fix in screened.kept:
            self._queue.append(fix)
            self.stats["fixes"] += 1
            if fix.alarm and fix.alarm & 0x1:
                self.stats["sos"] += 1
        return len(screened.kept)

    def _rescue(self, label: str, loc: c.Location, why: str) -> None:
        self._sos.append(rescued_sos(label, loc.lon, loc.lat, utcnow(), why,
                                     loc.at.isoformat()))

    def _rescue_unauthenticated(self, phone: str, frame: c.Frame) -> None:
        """A terminal nobody registered may still be a bus in trouble: its SOS is kept."""
        try:
            locs = ([c.parse_location(frame.body)] if frame.header.msg_id == c.LOCATION
                    else c.parse_batch(frame.body))
        except _READ_ERRORS:
            return
        for loc in locs:
            if has_sos(loc.alarm):
                self._rescue(phone, loc, "unauthenticated")
                return  # one per frame; repeats share a msg_id anyway

    # ------------------------------------------------------------------ registry (Redis)
    async def _register(self, session: Session, frame: c.Frame) -> bytes:
        h = frame.header
        reg = c.parse_register(frame.body, h.version)

        def answer(result: int, code: str = "") -> bytes:
            body = c.register_reply(h.serial, result, code)
            return c.encode_frame(c.REGISTER_REPLY, h.phone, session.next_serial(), body,
                                  h.version)

        verdict = admit(self.register, h.phone, reg.plate)
        reason = verdict.refusal
        if verdict.ok and verdict.plate is not None:
            stored = await self._record(h.phone)
            if already_registered(stored, verdict.plate):
                reason = ALREADY_REGISTERED
        if reason is not None or verdict.plate is None:
            reason = reason or UNKNOWN_TERMINAL
            self.stats["register_refused"] += 1
            self.stats[reason] += 1
            self._rejects[reason] += 1
            log.warning("JT/T 808 %s: registration of terminal %s as %r refused (%s)",
                        session.peer, h.phone, reg.plate[:40], reason)
            return answer(REFUSALS.get(reason, c.REG_NO_TERMINAL))
        code = new_code()
        record = json.dumps({"plate": verdict.plate, "terminal": reg.terminal_id,
                             **sealed(code)}, ensure_ascii=False)
        await asyncio.to_thread(self.bus.r.hset, self.bus.ch.jt808_terminals, h.phone, record)
        session.phone, session.plate, session.authed = h.phone, verdict.plate, False
        self.stats["registered"] += 1
        return answer(c.REG_OK, code)

    async def _record(self, phone: str) -> dict[str, object] | None:
        """What the registry holds for a terminal (None: nothing readable)."""
        raw = await asyncio.to_thread(self.bus.r.hget, self.bus.ch.jt808_terminals, phone)
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    async def _auth(self, session: Session, phone: str, code: str) -> bool:
        record = await self._record(phone)
        # The register is asked again: a bus given to another terminal since this one
        # registered is no longer this terminal's.
        if (record is None or not code_matches(code, record)
                or not admit(self.register, phone, str(record.get("plate", ""))).ok):
            self.stats["auth_failed"] += 1
            self._rejects["jt808_auth_failed"] += 1
            return False
        session.phone, session.plate, session.authed = phone, str(record["plate"]), True
        self.stats["authenticated"] += 1
        return True

    # ------------------------------------------------------------------ publishing
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self._flush()
            except Exception:  # Redis away: keep the fixes for the next round
                log.exception("JT/T 808 publish failed")

    async def _flush(self) -> None:
        if self._rejects:
            rejects, self._rejects = self._rejects, Counter()
            try:
                for reason, n in list(rejects.items()):
                    await asyncio.to_thread(self.bus.count_rejected, reason, n)
                    del rejects[reason]
            except Exception:
                self._rejects.update(rejects)  # counted with the next round
                log.exception("JT/T 808 rejections not counted yet")
        if self._sos:
            sos, self._sos = self._sos, []
            try:
                await asyncio.to_thread(self.bus.rescue_sos, sos)
            except Exception:
                self._sos = sos + self._sos  # never dropped: sent with the next round
                log.exception("JT/T 808 SOS not sent yet")
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        try:
            await asyncio.to_thread(self.bus.publish_positions, batch)
        except Exception:
            # Keep them for the next round, but never hoard without bound while Redis is away.
            self._queue = (batch + self._queue)[-100_000:]
            raise
        self.stats["published"] += len(batch)


async def serve_forever(bus: Publisher, host: str, port: int,
                        register: TerminalRegister) -> None:
    """Run the gateway until cancelled (the `zhongnao gateway jt808` command)."""
    gw = Gateway(bus, register)
    await gw.start(host, port)
    try:
        while True:
            await asyncio.sleep(60)
            log.info("JT/T 808 gateway: %s", dict(gw.stats))
    finally:
        await gw.stop()


def forget_terminals(bus: Publisher, phones: list[str]) -> int:
    """Let these terminals register again (a box reset or replaced): their stored codes are
    dropped. Returns how many the registry held (`zhongnao gateway jt808-reset`)."""
    keys = [phone_key(p) for p in phones]
    return int(bus.r.hdel(bus.ch.jt808_terminals, *keys)) if keys else 0
