"""The leader lease: one server process at a time runs the once-only work.

A lease is redis-py's `Lock` (SET key token NX PX ttl; extended by a compare-and-pexpire
script, released by compare-and-delete), held by no thread in particular. Every process
calls `keep()` about three times per TTL: the holder extends it, the others try to take
it. A leader killed with -9 stops extending; its lease runs out and another process takes
it at its next `keep()`, within TTL + one renewal. What runs under it: docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading

import redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from datasources.redis import connect

log = logging.getLogger(__name__)


class Lease:
    """A renewable lease on one Redis key; `held` says whether this process holds it."""

    def __init__(self, client: redis.Redis, key: str, ttl_s: float = 5.0):
        self.key = key
        self.ttl_s = ttl_s
        self.held = False
        self.taken = 0  # times this process became leader
        self.who = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = Lock(client, key, timeout=ttl_s, blocking=False, thread_local=False)
        self._mutex = threading.Lock()  # the hub's worker and the daily tasks both call keep

    @property
    def renew_s(self) -> float:
        """How often `keep()` should be called: three chances per lifetime."""
        return self.ttl_s / 3

    def keep(self) -> bool:
        """Extend the lease if held, else try to take it; True while this process leads.
        A Redis fault means not leading (the lease runs out by itself meanwhile)."""
        with self._mutex:
            return self._keep()

    def _keep(self) -> bool:
        was = self.held
        try:
            if self.held:
                try:
                    self._lock.reacquire()
                except LockError:  # ran out (a stall longer than the TTL) and taken
                    self.held = False
            if not self.held:
                self.held = bool(self._lock.acquire(blocking=False))
        except RedisError as exc:
            if was:
                log.warning("leader lease %s not renewed (Redis: %s)", self.key, exc)
            self.held = False
        if self.held and not was:
            self.taken += 1
            log.warning("leader lease %s taken by %s", self.key, self.who)
        elif was and not self.held:
            log.warning("leader lease %s lost by %s", self.key, self.who)
        return self.held

    def release(self) -> None:
        """Give the lease up now (a clean stop: another process takes it at once)."""
        with self._mutex:
            if not self.held:
                return
            self.held = False
            with contextlib.suppress(LockError, RedisError):  # else it runs out by itself
                self._lock.release()


def lease_held(redis_url: str, key: str) -> bool:
    """True while some process holds the lease `key` (a server renews it every few seconds
    while it runs); False when Redis is not there either."""
    if not redis_url:
        return False
    try:
        client = connect.client(redis_url, timeout=2)
        try:
            return bool(client.exists(key))
        finally:
            client.close()
    except RedisError:
        return False
