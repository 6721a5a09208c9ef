"""Housekeeping the leader process runs: extend the duty rota, keep yesterday's brief,
retrain the suggestion model nightly (issue 18; a Redis claim per day guards it too)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)
PERIOD_S = 600.0


async def run_daily_tasks(services: Any, period_s: float = PERIOD_S) -> None:
    """Loop until cancelled; a failure is logged and retried next period, never fatal."""
    while True:
        try:
            hub = services.hub
            if hub is not None and not await hub.lead_now_async():
                await asyncio.sleep(period_s)  # another process holds the leader lease
                continue
            if services.rota is not None:
                await asyncio.to_thread(services.rota.ensure, services.settings.town_dir)
            if services.briefs is not None and await asyncio.to_thread(
                    services.briefs.keep_yesterday):
                log.info("kept yesterday's daily brief")
            if getattr(services, "suggester", None) is not None:
                await asyncio.to_thread(services.suggester.nightly, services.bus.claim)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("daily housekeeping failed; retrying in %.0f s", period_s)
        await asyncio.sleep(period_s)
