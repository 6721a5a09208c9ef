"""A page's live tick: bump a Store when incidents or KPIs change, at most every few seconds."""

from __future__ import annotations

import asyncio
import logging
import time

from dash import ctx, set_props
from dash.exceptions import WebsocketDisconnected

from pages._components import page_lang, services

log = logging.getLogger(__name__)


async def tick_on_change(path: str, lang_id: str, tick_id: str, min_gap_s: float) -> None:
    """Run in a no-input persistent callback: the page's own callbacks take the tick as an
    Input and recompute, so the page updates live without a database poll per screen."""
    ws = ctx.websocket
    if ws is None:
        return
    try:
        if await page_lang(ws, path, lang_id) is None:
            return
        hub = services().hub
        assert hub is not None
        seen, sent, last = -1, None, 0.0
        while not ws.is_shutdown:
            v = hub.state.versions
            pending = sent is not None and (v["incidents"], v["kpis"]) != sent
            seen = await hub.wait_change(seen, timeout=0.3 if pending else 5.0)
            key = (v["incidents"], v["kpis"])
            if key != sent and time.monotonic() - last >= min_gap_s:
                if sent is not None:
                    set_props(tick_id, {"data": time.time()})
                sent, last = key, time.monotonic()
            await asyncio.sleep(0.2)
    except WebsocketDisconnected:
        return
    except Exception:
        log.exception("live tick of %s failed", path)
        raise
