"""A scripted wall over the Dash websocket: no browser, the renderer's side of the protocol.

It signs in with a real session or kiosk cookie, opens `/_dash-ws-callback` as the page does,
starts the no-input persistent callbacks (the wall's live stream among them), answers the
server's `get_props` asks as the page would (its path, language, village, the last bus frame
drawn), counts the frames pushed to it and notes when a marker text first arrives.

Used by `bench/fanout.py` and `bench/soak.py` (hundreds of walls in one process) and by
`tests/test_fanout.py`. Bus frames, the big ones, are not parsed: their sequence number is
read from the head of the text, so the client costs little next to the server it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import websockets
from websockets.asyncio.client import connect

BUS_FRAME = "home-bus-frame"
PANELS = "home-panels"
RESTART = "home-restart"
_BUS_HEAD = re.compile(r'"componentId":\s*"home-bus-frame".{0,60}?"seq":\s*(\d+)'
                       r'(?:,\s*"full":\s*(true|false))?')
_COMPONENT = re.compile(r'"componentId":\s*"([^"]+)"')
_ids = itertools.count(1)


def persistent_callbacks(base: str, cookies: dict[str, str]) -> list[dict[str, Any]]:
    """The app's persistent callbacks (`/_dash-dependencies`), as the renderer reads them."""
    request = urllib.request.Request(f"{base}/_dash-dependencies", headers={
        "cookie": cookie_header(cookies)})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return [c for c in json.loads(resp.read()) if c.get("persistent")]


def flatten(message: Any) -> list[dict[str, Any]]:
    """The messages of one websocket text: one, or an array, whose items may be arrays too
    (Dash's sender batches what it has queued, and the wall queues batches; the page's
    worker unpacks them the same way)."""
    if not isinstance(message, list):
        return [message]
    return [one for item in message for one in flatten(item)]


def cookie_header(cookies: dict[str, str]) -> str:
    """`name=value; ...` for a Cookie header."""
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


@dataclass
class Frame:
    """One pushed update: when it arrived, its size, and (bus frames) its seq and fullness."""

    at: float
    target: str
    size: int
    seq: int | None = None
    full: bool | None = None
    data: Any = None
    text: str = ""  # the message as sent (keep_text)


@dataclass
class WireWall:
    """One scripted screen of page `path` (the wall: "/")."""

    base: str
    cookies: dict[str, str]
    lang: str = "zh"
    village: str | None = None
    path: str = "/"
    compression: str | None = "deflate"  # browsers offer permessage-deflate
    ack_delay: float = 0.0  # seconds before the page "has drawn" a bus frame
    keep_frames: bool = False  # keep every Frame (tests); the bench only counts
    keep_text: bool = False  # and each message's text
    callbacks: list[dict[str, Any]] | None = None
    frames: list[Frame] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    bytes_in: int = 0
    seen: dict[str, float] = field(default_factory=dict)  # marker -> first arrival (epoch s)
    watch: set[str] = field(default_factory=set)
    props: dict[tuple[str, str], Any] = field(default_factory=dict)
    live: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    error: BaseException | None = None
    _ws: Any = None
    _task: asyncio.Task[None] | None = None
    _acks: set[asyncio.Task[None]] = field(default_factory=set)

    # ------------------------------------------------------------------ public
    async def start(self) -> WireWall:
        """Connect and ask for the live streams; returns at once (`live` is set on the
        first pushed panel frame)."""
        if self.callbacks is None:
            self.callbacks = await asyncio.to_thread(persistent_callbacks, self.base,
                                                     self.cookies)
        self.props.update({("_pages_location", "pathname"): self.path,
                           ("_pages_location", "search"): "",
                           ("home-lang", "data"): self.lang,
                           ("home-village", "data"): self.village,
                           ("home-bus-ack", "data"): 0, ("home-panels-ack", "data"): 0})
        url = urlparse(self.base)
        self._ws = await connect(
            f"ws://{url.netloc}/_dash-ws-callback", compression=self.compression,
            additional_headers={"cookie": cookie_header(self.cookies),
                                "origin": f"{url.scheme}://{url.netloc}"},
            max_size=None, open_timeout=60, ping_interval=None)
        self.renderer = f"wire-{next(_ids)}"
        for cb in self.callbacks:
            if not cb.get("inputs"):
                await self._request(cb, [])
        self._task = asyncio.create_task(self._read())
        return self

    def expect(self, markers: Iterable[str]) -> None:
        """Note the arrival time of each of these texts in a pushed panel frame."""
        self.watch.update(markers)

    async def close(self) -> None:
        """Close the socket and stop reading."""
        self.closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        for task in list(self._acks):
            task.cancel()

    def last(self, target: str) -> Frame | None:
        """The newest kept frame pushed to component `target`."""
        return next((f for f in reversed(self.frames) if f.target == target), None)

    # ------------------------------------------------------------------ protocol
    async def _request(self, cb: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
        payload = {"output": cb["output"], "outputs": [], "inputs": inputs, "state": [],
                   "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]}
        await self._ws.send(json.dumps({"type": "callback_request",
                                        "requestId": f"r{next(_ids)}",
                                        "rendererId": self.renderer, "payload": payload}))

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                now = time.time()
                self.bytes_in += len(text)
                if isinstance(text, bytes):
                    text = text.decode()
                head = _BUS_HEAD.search(text[:400]) if text[0] == "{" else None
                if head is not None:  # a bus frame: counted, acknowledged, not parsed
                    seq, full = int(head.group(1)), head.group(2) == "true"
                    self._count(Frame(now, BUS_FRAME, len(text), seq, full))
                    self._ack(seq)
                    continue
                if self.watch:
                    for marker in [m for m in self.watch if m in text]:
                        self.seen.setdefault(marker, now)
                        self.watch.discard(marker)
                if not self.keep_frames and len(text) > 2048 and text[0] == "{" \
                        and "get_props_request" not in text[:200]:
                    # A big panel frame: counted by its component, not parsed.
                    comp = _COMPONENT.search(text[:400])
                    if comp is not None:
                        self._count(Frame(now, comp.group(1), len(text)))
                        if comp.group(1) == PANELS:
                            self.live.set()
                        continue
                message = json.loads(text)
                batch = flatten(message)
                for one in batch:
                    # A message batched with others is encoded again the way the server
                    # encodes (compact, UTF-8): the same text it was in the batch.
                    raw = "" if not self.keep_text else text if len(batch) == 1 else \
                        json.dumps(one, ensure_ascii=False, separators=(",", ":"))
                    await self._handle(one, now, len(text), raw)
        except (websockets.ConnectionClosed, OSError) as exc:
            if not self.closed:
                self.error = exc
        finally:
            self.closed = True

    def _count(self, frame: Frame) -> None:
        self.counts[frame.target] = self.counts.get(frame.target, 0) + 1
        if self.keep_frames:
            self.frames.append(frame)

    def _ack(self, seq: int) -> None:
        if not self.ack_delay:
            self.props[("home-bus-ack", "data")] = seq
            return

        async def later() -> None:
            await asyncio.sleep(self.ack_delay)
            self.props[("home-bus-ack", "data")] = seq
        task = asyncio.create_task(later())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _handle(self, message: dict[str, Any], now: float, size: int,
                      raw: str = "") -> None:
        kind = message.get("type")
        if kind == "get_props_request":
            payload = message.get("payload") or {}
            comp = payload.get("componentId", "")
            values = {p: self.props.get((comp, p)) for p in payload.get("properties", [])}
            await self._ws.send(json.dumps({"type": "get_props_response",
                                            "requestId": message.get("requestId"),
                                            "payload": values}))
        elif kind == "set_props":
            payload = message.get("payload") or {}
            comp = payload.get("componentId", "")
            props = payload.get("props") or {}
            data = props.get("data")
            if comp == BUS_FRAME and isinstance(data, dict):
                self._count(Frame(now, comp, size, data.get("seq"), data.get("full"), data, raw))
                self._ack(int(data.get("seq") or 0))
                return
            self._count(Frame(now, comp, size, data=props if self.keep_frames else None,
                              text=raw))
            if comp == PANELS:
                self.live.set()
            elif comp == RESTART:  # the page starts the stream again, as the renderer would
                cb = next(c for c in self.callbacks or ()
                          if [i["id"] for i in c.get("inputs", [])] == [RESTART])
                await self._request(cb, [{"id": RESTART, "property": "data",
                                          "value": props.get("data")}])
