"""A fixed-window rate limit on Redis (INCR + EXPIRE), shared by every server process."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from dashboard.roles import Principal

log = logging.getLogger(__name__)


def hit(r: redis.Redis, key: str, limit: int, window_s: int = 60) -> int | None:
    """Count one attempt; None when within `limit`, else the seconds until the window ends.

    When Redis cannot answer the attempt is let through: refusing every login and every
    report while Redis restarts would turn a short outage into a total one.
    """
    if limit <= 0:
        return None
    window = int(time.time() // window_s)
    rkey = f"{key}:{window}"
    try:
        pipe = r.pipeline()
        pipe.incr(rkey)
        pipe.expire(rkey, window_s + 1)
        count = int(pipe.execute()[0])
    except RedisError as exc:
        log.warning("rate limit %s not checked: %s", key, exc)
        return None
    if count <= limit:
        return None
    return max(1, int((window + 1) * window_s - time.time()) + 1)


def ingest_wait(services: Any, who: Principal, key: str = "") -> int | None:
    """Seconds a source must wait before its next report (None: go on). Keyed by the
    ingest key's name, else by the caller's address."""
    ident = who.name if who.kind == "key" else (key[:8] if key else who.ip or "?")
    return hit(services.bus.r, f"{services.bus.ch.prefix}:rl:ingest:{ident}",
               services.settings.ingest_rate)


def too_many(wait: int, lang: str) -> JSONResponse:
    """429 with Retry-After, in the API's {error, message} shape."""
    text = (f"Too many reports; retry in {wait} s." if lang == "en"
            else f"上报过于频繁，请 {wait} 秒后重试。")
    return JSONResponse({"error": "rate_limited", "message": text}, status_code=429,
                        headers={"Retry-After": str(wait)})
