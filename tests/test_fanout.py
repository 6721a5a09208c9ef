"""Frames built once per audience: scripted walls on the real served app (tests/wire.py).

Each wall is a real signed-in websocket speaking the renderer's side of Dash's protocol; the
server, Redis and database are real. What a screen would show is read from the frames it is
pushed (the browser journeys in test_wall_browser.py draw them).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from dashboard.i18n.text import category_label
from dashboard.screens.frames import Audience
from datasources.gate.web import CSRF_COOKIE, KIOSK_COOKIE, SESSION_COOKIE, csrf_token
from pages._wall_push import fanout_of
from tests.browser import Source
from tests.wire import BUS_FRAME, PANELS, WireWall

IN_JIANLIN = (104.484513, 30.574798)  # inside G3-10, 建林村 (village V03, unit U-V03)
IN_QINGSHI = (104.4512, 30.5523)  # inside 青石社区, another village of the town


def kiosk(live: Any) -> dict[str, str]:
    """A wall PC's cookies: a fresh kiosk token (display role)."""
    token = live.services.accounts.add_key("kiosk", f"wall {uuid.uuid4().hex[:6]}")
    return {KIOSK_COOKIE: token, CSRF_COOKIE: csrf_token(token)}


def village_officer(live: Any) -> dict[str, str]:
    """建林村's officer, signed in (their wall is always their own village's)."""
    accounts = live.services.accounts
    user = accounts.user("建林村干部") or accounts.add_user(
        "建林村干部", "village", "fanout-test-pw-1", unit_id="U-V03")
    token = accounts.start_session(user)
    return {SESSION_COOKIE: token, CSRF_COOKIE: csrf_token(token)}


async def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` inside the loop until truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def with_walls(walls: list[WireWall], body: Callable[[], Awaitable[None]]) -> None:
    """Start the walls, wait until each has its first panel frame, run `body`, close them."""
    async def run() -> None:
        try:
            await asyncio.gather(*(w.start() for w in walls))
            await asyncio.wait_for(asyncio.gather(*(w.live.wait() for w in walls)), 60)
            await body()
        finally:
            await asyncio.gather(*(w.close() for w in walls))
    asyncio.run(run())


def titles(wall: WireWall) -> set[str]:
    """Every feed title the wall was pushed."""
    return {row["title"] for f in wall.frames if f.target == PANELS
            for row in (f.data or {}).get("data", {}).get("feed") or ()}


def report(source: Source, title: str, where: tuple[float, float]) -> None:
    """A report at a point, as a source publishes it."""
    source.report(title=title, lon=where[0], lat=where[1], msg_id=uuid.uuid4().hex)


def test_a_village_officers_wall_gets_its_villages_frame_not_the_towns(live, settings):
    town = WireWall(live.base, kiosk(live), keep_frames=True)
    village = WireWall(live.base, village_officer(live), keep_frames=True)
    source = Source(settings)

    async def body() -> None:
        report(source, "建林村路灯不亮", IN_JIANLIN)
        report(source, "青石社区井盖缺失", IN_QINGSHI)
        await until(lambda: {"建林村路灯不亮", "青石社区井盖缺失"} <= titles(town), 20,
                    "both reports on the town's wall")
        await until(lambda: "建林村路灯不亮" in titles(village), 20,
                    "建林村's report on its officer's wall")
        await asyncio.sleep(1.0)  # a frame with the other village's report would be here
        assert "青石社区井盖缺失" not in titles(village)
        audiences = set(fanout_of(live.services.hub).panels)
        assert {Audience(None, "zh"), Audience("V03", "zh")} <= audiences

    with_walls([town, village], body)


def test_two_walls_in_different_languages_get_their_own_frames(live, settings):
    zh = WireWall(live.base, kiosk(live), lang="zh", keep_frames=True)
    en = WireWall(live.base, kiosk(live), lang="en", keep_frames=True)
    source = Source(settings)

    def row(wall: WireWall) -> dict[str, Any] | None:
        return next((r for f in reversed(wall.frames) if f.target == PANELS
                     for r in (f.data or {}).get("data", {}).get("feed") or ()
                     if r["title"] == "双语测试"), None)

    async def body() -> None:
        report(source, "双语测试", IN_QINGSHI)
        zh_row = await until(lambda: row(zh), 20, "the report on the Chinese wall")
        en_row = await until(lambda: row(en), 20, "the report on the English wall")
        assert zh_row["category"] == category_label("city_management", "zh")
        assert en_row["category"] == category_label("city_management", "en")
        assert zh_row["category"] != en_row["category"]

    with_walls([zh, en], body)


def test_a_slow_screen_skips_to_the_newest_bus_frame(live, settings):
    fast = WireWall(live.base, kiosk(live), keep_frames=True)
    slow = WireWall(live.base, kiosk(live), keep_frames=True, ack_delay=3.0)
    source = Source(settings)

    async def body() -> None:
        end = time.monotonic() + 9
        step = 0
        while time.monotonic() < end:  # one bus moving all the time: a new frame each push
            step += 1
            source.position("川A·F0001", 104.45 + step * 1e-4, 30.55)
            await asyncio.sleep(0.25)
        fast_seqs = [f.seq for f in fast.frames if f.target == BUS_FRAME]
        slow_frames = [f for f in slow.frames if f.target == BUS_FRAME]
        # The slow screen was sent fewer frames, each time the newest one, in full (it
        # skipped the ones built while it was drawing).
        assert len(slow_frames) < len(fast_seqs), (slow_frames, fast_seqs)
        jumps = [b for a, b in zip(slow_frames, slow_frames[1:], strict=False)
                 if (b.seq or 0) > (a.seq or 0) + 1]
        assert jumps and all(b.full for b in jumps), slow_frames
        assert max(f.seq or 0 for f in slow_frames) >= max(fast_seqs) - 3

    with_walls([fast, slow], body)


def test_an_incident_frame_is_not_delayed_behind_a_bus_frame(live, settings):
    # The page has not drawn its bus frame (its answer never changes): bus frames stop for it
    # while buses keep moving, and a report still reaches it at once.
    wall = WireWall(live.base, kiosk(live), keep_frames=True, ack_delay=600)
    source = Source(settings)

    async def body() -> None:
        for step in range(8):
            source.position("川A·F0002", 104.45 + step * 1e-4, 30.55)
            await asyncio.sleep(0.25)
        await until(lambda: wall.counts.get(BUS_FRAME), 10, "the first bus frame")
        buses_before = wall.counts[BUS_FRAME]
        sent = time.monotonic()
        report(source, "不等公交帧", IN_QINGSHI)
        for step in range(8, 40):
            source.position("川A·F0002", 104.45 + step * 1e-4, 30.55)
            await asyncio.sleep(0.1)
            if "不等公交帧" in titles(wall):
                break
        await until(lambda: "不等公交帧" in titles(wall), 10, "the report on the wall")
        assert time.monotonic() - sent < 10
        assert wall.counts[BUS_FRAME] == buses_before  # the bus stream was waiting all along

    with_walls([wall], body)


def test_a_wall_whose_socket_is_full_is_skipped_then_sent_the_newest_full_frame(live,
                                                                              settings):
    # Frames are written straight to each connection: one whose send buffer is full (its
    # transport paused the protocol, as for a wall on a stalled network) must hold up no
    # other wall, be sent nothing meanwhile, and then get the newest of everything at once.
    fast = WireWall(live.base, kiosk(live), keep_frames=True)
    slow = WireWall(live.base, kiosk(live), keep_frames=True)
    source = Source(settings)
    fanout = fanout_of(live.services.hub)

    async def body() -> None:
        screen = next(s for group in fanout.screens.values() for s in group
                      if s.ws._renderer_id == slow.renderer)
        assert screen.socket is not None  # uvicorn's own sender, not Dash's queue
        loop = fanout._task.get_loop() if fanout._task is not None else None
        assert loop is not None
        protocol = screen.socket.protocol
        # What the transport calls when the socket's buffer passes its high-water mark.
        loop.call_soon_threadsafe(protocol.pause_writing)
        await asyncio.sleep(0.3)  # a frame already on its way lands now
        held = len(slow.frames)
        for title in ("缓冲满时一", "缓冲满时二"):
            report(source, title, IN_QINGSHI)
            await until(lambda t=title: t in titles(fast), 10, f"{title} on the other wall")
        assert len(slow.frames) == held  # nothing was written to the full socket
        loop.call_soon_threadsafe(protocol.resume_writing)
        await until(lambda: "缓冲满时二" in titles(slow), 5, "the newest report, once it drains")
        first = next(f for f in slow.frames[held:] if f.target == PANELS)
        # The full frame (the stations too, which no report changed), with both reports.
        assert {"stations", "feed", "kpis"} <= set(first.data["data"])
        assert {"缓冲满时一", "缓冲满时二"} <= {row["title"] for row in first.data["data"]["feed"]}

    with_walls([fast, slow], body)


def test_one_frame_is_built_and_encoded_once_for_n_screens(live, settings):
    n = 6
    walls = [WireWall(live.base, kiosk(live), keep_frames=True, keep_text=True)
             for _ in range(n)]
    source = Source(settings)
    fanout = fanout_of(live.services.hub)

    def frames_with(title: str) -> list[str]:
        return [next((f.text for f in w.frames if f.target == PANELS and title in f.text), "")
                for w in walls]

    async def body() -> None:
        town = fanout.panels[Audience(None, "zh")]
        builds, encodes = town.builds, fanout.encodes
        report(source, "一次构建", IN_QINGSHI)
        texts = await until(lambda: all(frames_with("一次构建")) and frames_with("一次构建"),
                            20, "the report on every wall")
        # The same text for every screen, but for the renderer id each page names itself by.
        bodies = {re.sub(r'"rendererId":"[^"]*"', "", text) for text in texts}
        assert len(bodies) == 1
        # Built and encoded once for the six (a change or two more may land meanwhile: the
        # KPI board recounts, the feed's ages tick), not once per screen.
        assert town.builds - builds < n / 2
        assert fanout.encodes - encodes < n / 2

    with_walls(walls, body)


def panel_data(wall: WireWall) -> list[dict[str, Any]]:
    """The panel frames the wall was pushed, oldest first."""
    return [(f.data or {}).get("data") or {} for f in wall.frames if f.target == PANELS]


def test_a_wall_is_sent_only_the_markers_that_changed(live, settings):
    """A county's backlog is hundreds of open work orders: a new one, or a step of one, sends
    that marker alone, not every marker again to every wall; a wall that joins gets them all."""
    source = Source(settings)
    first = WireWall(live.base, kiosk(live), keep_frames=True)
    run = uuid.uuid4().hex[:6]

    def marker_titles(rows: list[list[Any]]) -> set[str]:
        return {row[6].split(" · ")[1] for row in rows}

    async def body() -> None:
        for i in range(12):
            report(source, f"积压 {run} {i:02d}", IN_QINGSHI)
        await until(lambda: any(f"积压 {run} 11" in f.text or f"积压 {run} 11" in str(f.data)
                                for f in first.frames), 20, "the backlog on the wall")
        mark = len(panel_data(first))
        report(source, f"新单 {run}", IN_QINGSHI)

        def new_frame() -> dict[str, Any] | None:
            return next((d for d in panel_data(first)[mark:] if f"新单 {run}" in str(
                d.get("marker_changes"))), None)
        frame = await until(new_frame, 20, "the new work order's marker")
        changes = frame["marker_changes"]
        assert "markers" not in frame  # a delta: not every marker again
        assert marker_titles(changes["rows"]) == {f"新单 {run}"}
        assert changes["gone"] == []
        new_id = changes["rows"][0][0]
        assert changes["rows"][0][3] == "reported" and changes["rows"][0][5] is True

        # A step of that order: its marker alone, in its new state.
        mark = len(panel_data(first))
        live.services.intake.act(new_id, "accept", "值班员")

        def stepped() -> list[Any] | None:
            for d in panel_data(first)[mark:]:
                for row in (d.get("marker_changes") or {}).get("rows", ()):
                    if row[0] == new_id and row[3] == "accepted":
                        return [d["marker_changes"]["rows"], d]
            return None
        rows, frame = await until(stepped, 20, "the accepted order's marker")
        assert [row[0] for row in rows] == [new_id] and "markers" not in frame

        # A wall that joins now is sent every marker, in their states now.
        late = WireWall(live.base, kiosk(live), keep_frames=True)
        await late.start()
        try:
            await asyncio.wait_for(late.live.wait(), 60)
            full = await until(lambda: next((d for d in panel_data(late) if "markers" in d),
                                            None), 20, "the late wall's full frame")
            by_title = {row[6].split(" · ")[1]: row for row in full["markers"]}
            assert {f"积压 {run} {i:02d}" for i in range(12)} | {f"新单 {run}"} <= set(by_title)
            assert by_title[f"新单 {run}"][3] == "accepted"
        finally:
            await late.close()

    with_walls([first], body)


def test_a_frame_written_past_uvicorns_sender_is_one_text_message_at_every_length():
    """The shared payload's bytes are framed once per screen by our own writer (not decoded,
    re-encoded and framed by uvicorn's): websockets' own parser reads each length class of
    RFC 6455 (7-bit, 16-bit, 64-bit) back as one whole text message, Chinese intact."""
    from websockets.frames import Frame, Opcode
    from websockets.streams import StreamReader

    from pages._wall_push import payload, text_frame, utf8

    for size in (0, 125, 126, 65_535, 65_536, 300_000):
        text = ("网格" * size)[:size]
        parts = [b'{"a":', text.encode()[: max(0, size - 6)], b"}"]
        reader = StreamReader()
        reader.feed_data(text_frame(parts))
        parse = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parse)
            raise AssertionError("a whole frame was written")
        except StopIteration as done:
            frame = done.value
        assert frame.opcode is Opcode.TEXT and frame.fin
        assert frame.data == b"".join(parts)
        assert not reader.buffer  # nothing after the message
    shared = payload("home-seq", {"children": "#12 网格"})
    assert utf8(shared) is utf8(shared)  # encoded once for every screen it goes to
    assert utf8(shared).decode() == shared
