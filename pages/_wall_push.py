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

Text is queued straight on Dash's outbound websocket queue (`DashWebsocketCallback`, Dash
4.4's backends/ws.py; pinned in pyproject): `set_props` would encode the same frame once per
screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from dashboard.grids.stats import ancestors
from dashboard.screens import views
from dashboard.screens.frames import Audience, BusFrames, PanelFrames, WallInputs
from dashboard.screens.live import LiveState, for_village
from dashboard.settings import split_keys
from dashboard.timeutil import utcnow
from pages._components import services

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0  # the screen's "last push" time; assets/zn_stage.js marks it stale
RESEND_FULL_S = 5.0  # a screen that has not drawn a bus frame this long is sent a full one
UNANSWERED_RESTART = 3
MAX_BACKLOG = 4  # queued, unsent messages beyond which a screen is behind: skip it


class ids:  # noqa: N801 - a namespace of constants (the wall's, pages/home.py)
    """Component ids the push writes."""

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


def payload(component: str, props: dict[str, Any]) -> str:
    """One `set_props` payload, encoded (once, for every screen it goes to)."""
    return json.dumps({"componentId": component, "props": props}, ensure_ascii=False,
                      separators=(",", ":"), default=str)


@dataclass(eq=False)
class Screen:
    """One connected wall: its websocket, its audience, what it already holds."""

    ws: Any
    audience: Audience
    panel_seq: int = 0
    status: tuple[str, ...] | None = None
    seq_text: str | None = None
    _head: str = ""
    _staged: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        renderer = getattr(self.ws, "_renderer_id", "")
        self._head = '{"type":"set_props","rendererId":' + json.dumps(renderer) + ',"payload":'

    def backlog(self) -> int:
        """Messages queued for this screen and not yet sent."""
        queue = self.ws._get_outbound_queue()
        return 0 if queue is None else int(queue.sync_q.qsize())

    def send(self, encoded: str) -> None:
        """Queue an encoded payload (the text shared by every screen); never blocks."""
        self.stage(encoded)
        self.flush()

    def stage(self, encoded: str) -> None:
        """Add an encoded payload to this screen's next message (flush sends them)."""
        self._staged.append(self._head + encoded + "}")

    def flush(self) -> None:
        """Queue the staged payloads as one websocket message (an array, as Dash's sender
        batches them): one wake-up of the connection's sender per round, not one per panel."""
        staged, self._staged = self._staged, []
        if not staged or self.ws.is_shutdown:
            return
        queue = self.ws._get_outbound_queue()
        if queue is not None:
            queue.sync_q.put_nowait(staged[0] if len(staged) == 1
                                    else "[" + ",".join(staged) + "]")


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
            try:
                behind = await self.round()
            except Exception:  # one bad round must not end every wall's stream
                log.exception("wall push round failed")
                behind = True
            seen = await self._wait(seen, 0.1 if behind else HEARTBEAT_S)
            await asyncio.sleep(0.02)  # a burst of changes goes out as one frame

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

    async def scoped(self, audience: Audience, state: LiveState, now: Any) -> LiveState:
        """The live state as this audience sees it: a village's own work orders and figures
        (its KPI board read once per change of the town's KPIs, for all its screens)."""
        if audience.village is None:
            return state
        version = state.versions["kpis"]
        held = self.village_boards.get(audience.village)
        if held is None or held[0] != version:
            try:
                board = await asyncio.to_thread(services().store.kpis, now, audience.village)
            except Exception:  # database down: the figures it had (the status says stale)
                log.warning("village %s KPIs not read; keeping the last", audience.village)
                board = held[1] if held is not None else None
            held = (version, board)
            self.village_boards[audience.village] = held
        return for_village(state, audience.village, held[1])

    async def round(self) -> bool:
        """Update every audience's panels and queue them where needed; True if a screen is
        still behind (the next round comes sooner)."""
        state = self.hub.state
        now = utcnow()
        inputs = self.inputs()
        behind = False
        status_text: dict[str, tuple[str, ...]] = {}
        for audience, group in list(self.screens.items()):
            frames = self.panels.setdefault(audience, PanelFrames(audience))
            delta = frames.update(await self.scoped(audience, state, now), inputs, now)
            delta_text = self._encode(frames, delta) if delta else None
            full_text: str | None = None
            for screen in list(group):
                if screen.panel_seq == frames.seq or frames.seq == 0:
                    continue
                if screen.backlog() > MAX_BACKLOG:
                    behind = True  # skipped now; the newest full frame once it drains
                    continue
                if delta_text is not None and screen.panel_seq == frames.seq - 1:
                    screen.stage(delta_text)
                else:
                    if full_text is None:
                        full_text = self._encode(frames, None)
                    screen.stage(full_text)
                screen.panel_seq = frames.seq
            if audience.lang not in status_text:
                line = views.status_line(state, audience.lang)
                gap = views.gap_line(state, audience.lang)
                status_text[audience.lang] = (
                    payload(ids.STATUS, {"children": line["text"],
                                         "className": f"status {line['tone']}"}),
                    payload(ids.GAP, {"children": gap["text"], "className": gap["tone"]}))
            for screen in group:
                if screen.status != status_text[audience.lang]:
                    for encoded in status_text[audience.lang]:
                        screen.stage(encoded)
                    screen.status = status_text[audience.lang]
        self._everyone(state)
        for group in self.screens.values():
            for screen in group:
                screen.flush()
        return behind

    def _encode(self, frames: PanelFrames, delta: dict[str, Any] | None) -> str:
        self.encodes += 1
        return payload(ids.PANELS, {"data": frames.frame(delta)})

    def _everyone(self, state: LiveState) -> None:
        """The heartbeat and the sequence number: the same text for every screen."""
        beat = time.monotonic() - self._beat >= HEARTBEAT_S
        if beat:
            self._beat = time.monotonic()
            beat_text = payload(ids.HEARTBEAT, {"children": f"{time.time():.3f}"})
        seq_text = payload(ids.SEQ, {"children": f"#{state.seq}"})
        for group in self.screens.values():
            for screen in group:
                if beat:
                    screen.stage(beat_text)
                if screen.seq_text != seq_text:
                    screen.stage(seq_text)
                    screen.seq_text = seq_text


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
    screen = Screen(ws, audience)
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
                    screen.send(payload(ids.RESTART, {"data": time.time()}))
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
        screen.send(channel.text(full or seq != sent + 1))
        sent, sent_at = seq, time.monotonic()
