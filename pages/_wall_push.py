"""The wall's push: each frame built and encoded once per process, audience and change, the
same text queued on every screen that shares it (dashboard/screens/frames.py builds them).

One `WallFanout` per hub (per server process) runs one task: on every change of the live
state it updates the panels of each audience that has screens (the town's and each village's,
per language), encodes each frame once and queues it on the screens' websockets. A screen's
own work is what differs: which frame it already holds. A screen whose socket is backed up
is skipped, and sent the newest full frame once it drains; a screen new to an audience gets
the full frame at once.

Bus frames go out from each screen's own loop, paced by its acknowledgement (the page
returns the seq it drew): the frame of the moment, built once per language and push
interval, as a delta to a screen that drew the one before, else in full. A bus frame is
never queued behind anything: panel frames (incidents) never wait behind bus data.

Text goes straight to the connection's own ASGI sender (uvicorn's websocket protocol, read
from the context `SocketSend` sets for each websocket), in Dash's message shape, not through
Dash's outbound queue (`DashWebsocketCallback`, Dash 4.4's backends/ws.py; pinned in
pyproject): each message queued there costs a thread-safe wake-up, a task and a batching
timer, the largest per-screen cost of a server feeding 200 walls (bench/fanout.py --profile).
A write is made only while the socket takes it without waiting (the protocol is not paused
for a full buffer), so one slow screen never holds up the others; a screen whose socket is
not ready is behind. Without that sender (another server) the text goes through Dash's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from websockets.protocol import State

from dashboard.grids.stats import ancestors
from dashboard.screens import views
from dashboard.screens.frames import Audience, BusFrames, PanelFrames, WallInputs
from dashboard.screens.live import LiveState, for_village
from dashboard.settings import split_keys
from dashboard.timeutil import utcnow
from pages._components import services

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0  # the screen's "last push" time; assets/zn_stage.js marks it stale
# The shortest time between two rounds: under a burst of reports a screen gets at most 20
# frames a second (a wall without a GPU composites each in software); a lone report waits for
# nothing (it used to wait a fixed 20 ms for company).
ROUND_GAP_S = 0.05
RESEND_FULL_S = 5.0  # a screen that has not drawn a bus frame this long is sent a full one
UNANSWERED_RESTART = 3
MAX_BACKLOG = 4  # Dash-queued, unsent messages beyond which a screen is behind: skip it


class ids:  # noqa: N801 - a namespace of constants (the wall's, pages/home.py)
    """Component ids the push writes (and the page scripts read: pages/_script_ids.py)."""

    STAGE = "zn-stage"  # the wall's 1920x1080 stage: a page script acts only where it is
    PANELS = "home-panels"
    BUS_FRAME = "home-bus-frame"
    BUS_ACK = "home-bus-ack"
    STATUS = "home-status"
    GAP = "home-gap"  # a gap in the live feed, then how the log filled it
    SEQ = "home-seq"
    HEARTBEAT = "home-heartbeat"
    RESTART = "home-restart"


class Restart(Exception):
    """The page stopped answering on this connection; a fresh stream takes over."""


class Shared(str):
    """A payload's text, the same object for every screen it goes to: its UTF-8 bytes are
    encoded once, on the first screen's write, not once per screen."""

    @functools.cached_property
    def utf8(self) -> bytes:
        """The text as UTF-8."""
        return self.encode()


def utf8(text: str) -> bytes:
    """A text's UTF-8 bytes (a Shared payload's, encoded once)."""
    return text.utf8 if isinstance(text, Shared) else text.encode()


def payload(component: str, props: dict[str, Any]) -> Shared:
    """One `set_props` payload, encoded (once, for every screen it goes to)."""
    return Shared(json.dumps({"componentId": component, "props": props}, ensure_ascii=False,
                             separators=(",", ":"), default=str))


def text_frame(parts: list[bytes]) -> bytes:
    """One unfragmented websocket text message holding `parts` (RFC 6455 §5.2: a server's
    frames are not masked): what uvicorn's sender would write for their text, framed here
    so the shared payload is not decoded, re-encoded and framed again for every screen."""
    size = sum(map(len, parts))
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 127, size)
    return b"".join([head, *parts])


Send = Callable[[dict[str, Any]], Awaitable[None]]
# The ASGI `send` of the websocket being served (SocketSend sets it; Dash's handler creates
# each callback's task inside the connection's context, so a wall's stream reads its own).
SOCKET: ContextVar[Send | None] = ContextVar("zn_socket_send", default=None)


class SocketSend:
    """ASGI middleware, outermost: puts each websocket's own `send` in the context."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token = SOCKET.set(send)
        try:
            await self.app(scope, receive, send)
        finally:
            SOCKET.reset(token)


@dataclass
class Socket:
    """A connection's own sender: uvicorn's websocket protocol behind its ASGI `send`."""

    send: Send
    protocol: Any

    @classmethod
    def of_context(cls) -> Socket | None:
        """The connection being served, when its server is uvicorn's websockets-sansio
        protocol (else None: Dash's queue carries the text)."""
        send = SOCKET.get()
        protocol: Any = getattr(send, "__self__", None)
        if send is None or not all(hasattr(protocol, name) for name in
                                   ("writable", "close_sent", "transport", "conn")) \
                or not hasattr(protocol.conn, "state"):
            return None
        return cls(send, protocol)

    def ready(self) -> bool:
        """A write now goes out without waiting (open, not closing, not paused for a full
        buffer)."""
        p = self.protocol
        return (p.writable.is_set() and not p.close_sent and not p.transport.is_closing()
                and p.conn.state is State.OPEN)

    def buffered(self) -> int:
        """Bytes written and not yet taken by the network."""
        return int(self.protocol.transport.get_write_buffer_size())

    def write(self, parts: list[bytes]) -> None:
        """One text message of `parts` (UTF-8), framed and written to the transport (call
        only when ready: it never waits). Nothing of the protocol's state changes for an
        unfragmented message of a connection without extensions (permessage-deflate is
        off, cli.serve), which is what its own `send` would have framed."""
        self.protocol.transport.write(text_frame(parts))


@dataclass(eq=False)
class Screen:
    """One connected wall: its websocket, its audience, what it already holds."""

    ws: Any
    audience: Audience
    socket: Socket | None = None  # None: through Dash's outbound queue
    panel_seq: int = 0
    status: tuple[str, ...] | None = None
    seq_text: str | None = None
    _head: str = ""
    _head_b: bytes = b""
    _staged: list[str] = field(default_factory=list)  # the payloads of the next message

    def __post_init__(self) -> None:
        renderer = getattr(self.ws, "_renderer_id", "")
        self._head = '{"type":"set_props","rendererId":' + json.dumps(renderer) + ',"payload":'
        self._head_b = self._head.encode()

    def backlog(self) -> int:
        """What is queued for this screen and not yet sent (0: nothing waits): Dash's queued
        messages and, written straight, the socket's unsent bytes (or 1 when it is paused)."""
        queue = self.ws._get_outbound_queue()
        queued = 0 if queue is None else int(queue.sync_q.qsize())
        if self.socket is None:
            return queued
        return queued + (self.socket.buffered() if self.socket.ready() else 1)

    def ready(self) -> bool:
        """A message queued now goes out without waiting behind this screen's backlog."""
        if self.ws.is_shutdown:
            return False
        if self.socket is None:
            return self.backlog() <= MAX_BACKLOG
        return self.socket.ready()

    async def send(self, encoded: str) -> bool:
        """Send an encoded payload (the text shared by every screen) if the screen takes it
        without waiting; True if it was sent."""
        self.stage(encoded)
        return await self.flush()

    def stage(self, encoded: str) -> None:
        """Add an encoded payload to this screen's next message (flush sends them)."""
        self._staged.append(encoded)

    async def flush(self) -> bool:
        """Send the staged payloads as one websocket message (an array, as Dash's sender
        batches them): one write per round, not one per panel. A screen that is not ready
        then is sent nothing, and forgets what it holds, so the next round sends it the
        newest of everything (the full panel frame, the status); False then."""
        staged, self._staged = self._staged, []
        if not staged:
            return True
        if self.ready():
            try:
                if self.socket is not None:  # the shared payloads' bytes, each set_props'd
                    parts = [b"["] if len(staged) > 1 else []
                    for n, encoded in enumerate(staged):
                        parts += [b"},", self._head_b] if n else [self._head_b]
                        parts.append(utf8(encoded))
                    parts.append(b"}]" if len(staged) > 1 else b"}")
                    self.socket.write(parts)
                    return True
                queue = self.ws._get_outbound_queue()
                if queue is not None:
                    messages = [self._head + encoded + "}" for encoded in staged]
                    queue.sync_q.put_nowait(messages[0] if len(messages) == 1
                                            else "[" + ",".join(messages) + "]")
                    return True
            except Exception:  # closed meanwhile: its stream ends on the shutdown
                log.debug("a wall's socket closed during a write", exc_info=True)
        self.panel_seq, self.status, self.seq_text = 0, None, None
        return False


@dataclass
class BusChannel:
    """One language's bus frames and their encodings (built once per push interval)."""

    frames: BusFrames
    interval: float
    built_at: float = 0.0
    _text: dict[bool, str] = field(default_factory=dict)

    def current(self, state: LiveState) -> int:
        """Advance to a new frame when one is due and a bus moved; the frame's seq."""
        now = time.monotonic()
        if now - self.built_at >= self.interval * 0.9 and self.frames.advance(state):
            self.built_at = now
            self._text = {}
        return self.frames.seq

    def text(self, full: bool) -> str:
        """The current frame, encoded once."""
        if full not in self._text:
            self._text[full] = payload(ids.BUS_FRAME, {"data": self.frames.frame(full)})
        return self._text[full]


class WallFanout:
    """The walls of one process: their audiences' frames, built and encoded once."""

    def __init__(self, hub: Any):
        self.hub = hub
        self.screens: dict[Audience, set[Screen]] = {}
        self.panels: dict[Audience, PanelFrames] = {}
        self.buses: dict[str, BusChannel] = {}
        self.village_boards: dict[str, tuple[int, Any]] = {}
        self.encodes = 0  # panel frames encoded (a test counts them against the screens)
        self._chain: Any = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._beat = 0.0

    # ------------------------------------------------------------------ screens
    def join(self, screen: Screen) -> None:
        """Add a screen; the running round sends it the full frame at once."""
        self.screens.setdefault(screen.audience, set()).add(screen)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="wall-fanout")
        assert self._wake is not None
        self._wake.set()

    def leave(self, screen: Screen) -> None:
        """Forget a screen (its audience's frames too, once it has none)."""
        group = self.screens.get(screen.audience)
        if group is not None:
            group.discard(screen)
            if not group:
                del self.screens[screen.audience]
                self.panels.pop(screen.audience, None)

    def bus_channel(self, lang: str, interval: float) -> BusChannel:
        """The bus frames of `lang` (one channel per language)."""
        if lang not in self.buses:
            self.buses[lang] = BusChannel(BusFrames(lang), interval)
        return self.buses[lang]

    # ------------------------------------------------------------------ the round
    async def _run(self) -> None:
        seen = -1
        while self.screens:
            started = time.monotonic()
            try:
                behind = await self.round()
            except Exception:  # one bad round must not end every wall's stream
                log.exception("wall push round failed")
                behind = True
            seen = await self._wait(seen, 0.1 if behind else HEARTBEAT_S)
            # A change after a quiet spell goes out at once; in a burst, rounds come at most
            # every ROUND_GAP_S, each carrying everything that changed since the last.
            await asyncio.sleep(max(0.0, started + ROUND_GAP_S - time.monotonic()))

    async def _wait(self, seen: int, timeout: float) -> int:
        assert self._wake is not None
        if self._wake.is_set():
            self._wake.clear()
            return seen
        change = asyncio.ensure_future(self.hub.wait_change(seen, timeout))
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({change, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            if not change.done():
                change.cancel()
        self._wake.clear()
        return int(self.hub.version)

    def inputs(self) -> WallInputs:
        """What every audience's panels read beside the live state."""
        svc = services()
        if self._chain is None:
            self._chain = ancestors(svc.grids.values())
        watch = svc.fleet_watch
        return WallInputs(grids=svc.grids, chain=self._chain, feed_size=svc.settings.feed_size,
                          unfit=watch.marks if watch is not None else None,
                          origins=tuple(split_keys(svc.settings.image_origins)))

    def scoped(self, audience: Audience, state: LiveState, now: Any) -> LiveState:
        """The live state as this audience sees it: a village's own work orders and figures
        (its KPI board built once per change of the town's KPIs, for all its screens, from
        the facts the hub holds: no database read)."""
        if audience.village is None:
            return state
        version = state.versions["kpis"]
        held = self.village_boards.get(audience.village)
        if held is None or held[0] != version:
            # None until the hub's first refresh, as the town's board (state.kpis) is.
            board = self.hub.facts.board(now, audience.village) \
                if state.kpis is not None else None
            held = (version, board)
            self.village_boards[audience.village] = held
        return for_village(state, audience.village, held[1])

    async def round(self) -> bool:
        """Update every audience's panels and send them where needed; True if a screen is
        behind (the next round comes sooner)."""
        state = self.hub.state
        now = utcnow()
        inputs = self.inputs()
        beat_text, seq_text = self._everyone(state)
        behind = False
        status_text: dict[str, tuple[str, ...]] = {}
        # The town's audiences first, each sent before the next is built: the town's walls
        # do not wait for the villages' panels.
        for audience, group in sorted(self.screens.items(),
                                      key=lambda item: item[0].village is not None):
            frames = self.panels.setdefault(audience, PanelFrames(audience))
            delta = frames.update(self.scoped(audience, state, now), inputs, now)
            delta_text = self._encode(frames, delta) if delta else None
            full_text: str | None = None
            if audience.lang not in status_text:
                line = views.status_line(state, audience.lang)
                gap = views.gap_line(state, audience.lang)
                status_text[audience.lang] = (
                    payload(ids.STATUS, {"children": line["text"],
                                         "className": f"status {line['tone']}"}),
                    payload(ids.GAP, {"children": gap["text"], "className": gap["tone"]}))
            status = status_text[audience.lang]
            for screen in list(group):
                if not screen.ready():
                    behind = True  # sent nothing now; the newest of everything once it drains
                    continue
                if screen.panel_seq != frames.seq and frames.seq:
                    if delta_text is not None and screen.panel_seq == frames.seq - 1:
                        screen.stage(delta_text)
                    else:
                        if full_text is None:
                            full_text = self._encode(frames, None)
                        screen.stage(full_text)
                    screen.panel_seq = frames.seq
                if screen.status != status:
                    for encoded in status:
                        screen.stage(encoded)
                    screen.status = status
                if beat_text is not None:
                    screen.stage(beat_text)
                if screen.seq_text != seq_text:
                    screen.stage(seq_text)
                    screen.seq_text = seq_text
                if not await screen.flush():
                    behind = True
        return behind

    def _encode(self, frames: PanelFrames, delta: dict[str, Any] | None) -> str:
        self.encodes += 1
        return payload(ids.PANELS, {"data": frames.frame(delta)})

    def _everyone(self, state: LiveState) -> tuple[str | None, str]:
        """The heartbeat (None when not due) and the sequence number: the same text for
        every screen."""
        beat_text = None
        if time.monotonic() - self._beat >= HEARTBEAT_S:
            self._beat = time.monotonic()
            beat_text = payload(ids.HEARTBEAT, {"children": f"{time.time():.3f}"})
        return beat_text, payload(ids.SEQ, {"children": f"#{state.seq}"})


_FANOUTS: dict[int, WallFanout] = {}


def fanout_of(hub: Any) -> WallFanout:
    """The fanout of this hub (one per server process)."""
    held = _FANOUTS.get(id(hub))
    if held is None or held.hub is not hub:
        held = _FANOUTS[id(hub)] = WallFanout(hub)
    return held


async def serve_wall(ws: Any, audience: Audience) -> None:
    """Serve one wall until it disconnects: its panels from the shared round, its bus frames
    from its own loop. Raises Restart when the page stops answering on this connection."""
    svc = services()
    fanout = fanout_of(svc.hub)
    screen = Screen(ws, audience, Socket.of_context())
    fanout.join(screen)
    try:
        await push_buses(screen, fanout, svc.settings.push_interval_ms / 1000.0)
    finally:
        fanout.leave(screen)


async def push_buses(screen: Screen, fanout: WallFanout, interval: float) -> None:
    """Bus frames for one screen, each only once the screen drew the one before."""
    ws = screen.ws
    channel = fanout.bus_channel(screen.audience.lang, interval)
    sent = 0  # the seq of the last frame sent; 0: none yet (the next one is full)
    sent_at = 0.0
    unanswered = 0
    while not ws.is_shutdown:
        await asyncio.sleep(interval)
        full = sent == 0
        if sent:
            try:
                acked = await ws.get_prop(ids.BUS_ACK, "data", timeout=interval * 2)
                unanswered = 0
            except TimeoutError:
                acked = None
                unanswered += 1
            if unanswered >= UNANSWERED_RESTART:
                # Dash's shared worker can swap the page's websocket during a page load and
                # leave this one send-only: pushes arrive, answers never do. Ask the page to
                # start a fresh stream over the connection it uses now, and end this one.
                log.info("wall stream got no answer %s times; restarting it", unanswered)
                with contextlib.suppress(Exception):
                    await screen.send(payload(ids.RESTART, {"data": time.time()}))
                raise Restart
            if acked != sent:
                if time.monotonic() - sent_at < RESEND_FULL_S:
                    continue  # the screen is still drawing the last frame: skip, never queue
                full = True
        seq = channel.current(fanout.hub.state)
        if seq == 0 or (seq == sent and not full):
            continue
        if screen.backlog():
            continue  # never ahead of an incident: the newest frame on the next tick
        if await screen.send(channel.text(full or seq != sent + 1)):
            sent, sent_at = seq, time.monotonic()
