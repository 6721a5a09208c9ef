"""A sliding-window rate limit on Redis (a sorted set per key), shared by every server process."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import redis
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from dashboard.i18n.text import t
from dashboard.roles import Principal

log = logging.getLogger(__name__)


def hit(r: redis.Redis, key: str, limit: int, window_s: int = 60) -> int | None:
    """Count one attempt; None when within `limit` in the last `window_s` seconds, else the
    seconds until the oldest counted attempt leaves the window.

    A sliding log (one sorted set per key), not fixed clock windows: with fixed windows
    2 × limit attempts fit across a window boundary, and a burst could slip through.
    When Redis cannot answer the attempt is let through: refusing every login and every
    report while Redis restarts would turn a short outage into a total one.
    """
    if limit <= 0:
        return None
    now = time.time()
    try:
        pipe = r.pipeline()
        pipe.zremrangebyscore(key, 0, now - window_s)
        pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, window_s + 1)
        _, _, count, oldest, _ = pipe.execute()
    except RedisError as exc:
        log.warning("rate limit %s not checked: %s", key, exc)
        return None
    if int(count) <= limit:
        return None
    first = float(oldest[0][1]) if oldest else now
    return max(1, int(first + window_s - now) + 1)


# How long a request waits for the limiter. Past it the attempt is let through, as when Redis
# is down (see `hit`): a frozen Redis must not hold a sign-in or a report, nor, on the event
# loop, every other request of the process.
LIMIT_WAIT_S = 1.0


async def hit_async(r: redis.Redis, key: str, limit: int, window_s: int = 60) -> int | None:
    """`hit` for async handlers: off the event loop, and bounded by LIMIT_WAIT_S."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(hit, r, key, limit, window_s),
                                      LIMIT_WAIT_S)
    except TimeoutError:
        log.warning("rate limit %s not checked: Redis gave no answer in %s s", key,
                    LIMIT_WAIT_S)
        return None


async def ingest_wait(services: Any, who: Principal, key: str = "") -> int | None:
    """Seconds a source must wait before its next report (None: go on). Keyed by the
    ingest key's name, else by the caller's address."""
    ident = who.name if who.kind == "key" else (key[:8] if key else who.ip or "?")
    return await hit_async(services.bus.r, f"{services.bus.ch.prefix}:rl:ingest:{ident}",
                           services.settings.ingest_rate)


def too_many(wait: int, lang: str) -> JSONResponse:
    """429 with Retry-After, in the API's {error, message} shape."""
    text = t("api_rate_limited", lang).format(wait=wait)
    return JSONResponse({"error": "rate_limited", "message": text}, status_code=429,
                        headers={"Retry-After": str(wait)})
