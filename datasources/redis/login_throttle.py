"""The sign-in throttle's counts in Redis (rules in dashboard/signin.py), shared by every
server process. Synchronous: the door calls it off the event loop.

Keys under `<prefix>:login:`: `fail:<address>:<name>` a hash {n, at} of wrong passwords from
that address; `burst:<name>` a sorted set of failure times from anywhere; `known:<name>` the
addresses of recent successful sign-ins; `alerted:<name>` one alert per burst window.
When Redis cannot answer, the sign-in goes on unthrottled (as the per-address limit does):
refusing every sign-in while Redis restarts would lock out the whole command centre. The
password is still checked, and the failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from dashboard.signin import (
    BURST_FAILURES,
    BURST_WINDOW_S,
    FAILURE_MEMORY_S,
    KNOWN_ADDRESSES,
    KNOWN_FOR_S,
    wait_left,
)
from datasources.redis.ratelimit import LIMIT_WAIT_S

log = logging.getLogger(__name__)


class LoginThrottle:
    """Failures per (name, address) with backoff; bursts per name; usual addresses."""

    def __init__(self, r: redis.Redis, prefix: str):
        self.r = r
        self.base = f"{prefix}:login"

    async def bounded(self, step: Callable[[str, str], Any], name: str, ip: str) -> Any:
        """Run `wait`, `failed` or `succeeded` off the event loop, bounded as the other
        limits (LIMIT_WAIT_S); past it the sign-in goes on unthrottled, as when Redis is
        down (a frozen Redis must not hold a sign-in nor every other request)."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(step, name, ip), LIMIT_WAIT_S)
        except TimeoutError:
            log.warning("sign-in throttle for %r skipped: Redis gave no answer in %s s", name,
                        LIMIT_WAIT_S)
            return 0 if step == self.wait else False

    def _fail(self, name: str, ip: str) -> str:
        return f"{self.base}:fail:{ip}:{name}"

    def wait(self, name: str, ip: str, now: float | None = None) -> int:
        """Seconds this address must wait before trying this name again (0: go on)."""
        now = time.time() if now is None else now
        try:
            pipe = self.r.pipeline()
            pipe.hmget(self._fail(name, ip), "n", "at")
            pipe.zremrangebyscore(f"{self.base}:burst:{name}", 0, now - BURST_WINDOW_S)
            pipe.zcard(f"{self.base}:burst:{name}")
            pipe.zrange(f"{self.base}:burst:{name}", 0, 0, withscores=True)
            pipe.zscore(f"{self.base}:known:{name}", ip)
            (n, at), _, burst, oldest, known = pipe.execute()
        except RedisError as exc:
            log.warning("sign-in throttle for %r not checked: %s", name, exc)
            return 0
        left = wait_left(int(n or 0), float(at or 0), now)
        if left or known is not None or int(burst) < BURST_FAILURES:
            return left
        # A burst against this name: only its usual addresses may try it until it cools.
        first = float(oldest[0][1]) if oldest else now
        return max(1, int(first + BURST_WINDOW_S - now) + 1)

    def failed(self, name: str, ip: str, now: float | None = None) -> bool:
        """Count a wrong password; True when this failure starts a burst (alert once)."""
        now = time.time() if now is None else now
        key, burst = self._fail(name, ip), f"{self.base}:burst:{name}"
        try:
            pipe = self.r.pipeline()
            pipe.hincrby(key, "n", 1)
            pipe.hset(key, "at", f"{now:.6f}")
            pipe.expire(key, FAILURE_MEMORY_S)
            pipe.zadd(burst, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.zremrangebyscore(burst, 0, now - BURST_WINDOW_S)
            pipe.zcard(burst)
            pipe.expire(burst, BURST_WINDOW_S + 1)
            count = pipe.execute()[5]
            if int(count) < BURST_FAILURES:
                return False
            return bool(self.r.set(f"{self.base}:alerted:{name}", "1", nx=True,
                                   ex=BURST_WINDOW_S))
        except RedisError as exc:
            log.warning("sign-in failure for %r not counted: %s", name, exc)
            return False

    def succeeded(self, name: str, ip: str, now: float | None = None) -> None:
        """The right password: forget this address's failures, remember it as usual."""
        now = time.time() if now is None else now
        known = f"{self.base}:known:{name}"
        try:
            pipe = self.r.pipeline()
            pipe.delete(self._fail(name, ip))
            pipe.zadd(known, {ip: now})
            pipe.zremrangebyrank(known, 0, -KNOWN_ADDRESSES - 1)
            pipe.expire(known, KNOWN_FOR_S)
            pipe.execute()
        except RedisError as exc:
            log.warning("sign-in of %r not remembered: %s", name, exc)
