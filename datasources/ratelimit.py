"""A fixed-window rate limit on Redis (INCR + EXPIRE), shared by every server process."""

from __future__ import annotations

import logging
import time

import redis
from redis.exceptions import RedisError

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
