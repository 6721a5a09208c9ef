"""The one place that opens Redis: a plain URL, or a primary found through Redis Sentinel.

Every part that talks to Redis (the publisher, the hub's subscriber, the limiter and the
login throttle through the publisher's client, the leader lease, the simulator, the CLI)
gets its client here, so all of them follow a failover the same way; tests/test_sentinel.py
fails when another module builds a client itself.

Sentinel (`REDIS_SENTINELS` / `REDIS_MASTER`, dashboard/settings.sentinel_url): redis-py's
`Sentinel.master_for` gives a client whose connections ask the sentinels where the primary
is each time they (re)connect. When the primary dies its connections fail (the caller sees
a Redis error and goes on as with any Redis fault); the next connection goes to whichever
server the sentinels name, the promoted replica once they have agreed. A connection to a
server that was demoted meanwhile answers READONLY, which redis-py turns into a reconnect.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel

from dashboard.settings import parse_sentinel_url

# A sentinel that does not answer within this is skipped for the next one.
SENTINEL_TIMEOUT_S = 0.5
# Retries of one call after a dropped or refused connection: enough to land on a primary
# promoted a moment ago, short enough that a request does not wait out the whole failover
# (its caller's fallback answers sooner: the database guards reports, the limiter lets
# through). A timeout is not retried: a frozen server would hold the caller 2 × as long.
# Behind sentinels the retry applies twice (to the command, and inside each reconnection),
# so one retry is already four attempts, made at once: with a back-off each failed call
# took 100 ms while no primary answered, and a report makes several (bench/failover.py).
RETRIES = 1


def _retry() -> Retry:
    return Retry(NoBackoff(), RETRIES,
                 supported_errors=(RedisConnectionError,))


def is_sentinel(url: str) -> bool:
    """True when `url` names a primary behind sentinels."""
    return parse_sentinel_url(url) is not None


def client(url: str, *, timeout: float | None = 3.0, connect_timeout: float | None = None,
           health_check_interval: int = 0) -> redis.Redis:
    """A synchronous client of the Redis at `url` (redis://, unix://, or sentinel://)."""
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": connect_timeout if connect_timeout is not None else timeout,
        "health_check_interval": health_check_interval,
        "retry": _retry(),
        "retry_on_error": [RedisConnectionError],
    }
    client: redis.Redis = _open(url, options, redis.Redis, Sentinel)
    return client


def async_client(url: str, *, timeout: float | None = None, connect_timeout: float = 5.0,
                 health_check_interval: int = 15) -> aioredis.Redis:
    """An asyncio client of the Redis at `url` (the hub's subscriber)."""
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": connect_timeout,
        "health_check_interval": health_check_interval,
    }
    client: aioredis.Redis = _open(url, options, aioredis.Redis, AsyncSentinel)
    return client


def _open(url: str, options: dict[str, Any], redis_class: Any, sentinel_class: Any) -> Any:
    """A client of `redis_class` on `url`, or on the primary a sentinel:// URL's sentinels
    name (the sync and asyncio flavours differ only in their classes)."""
    found = parse_sentinel_url(url)
    if found is None:
        return redis_class.from_url(url, **options)
    sentinel = sentinel_class(list(found.sentinels), socket_timeout=SENTINEL_TIMEOUT_S,
                              sentinel_kwargs=_sentinel_kwargs(found.sentinel_password))
    if found.password:
        options = {**options, "password": found.password}
    return sentinel.master_for(found.master, redis_class=redis_class, **options)


def _sentinel_kwargs(password: str) -> dict[str, Any]:
    """How to talk to the sentinels themselves: short timeouts, and their own password
    (REDIS_SENTINEL_PASSWORD) when they have one."""
    kwargs: dict[str, Any] = {"socket_timeout": SENTINEL_TIMEOUT_S,
                              "socket_connect_timeout": SENTINEL_TIMEOUT_S}
    if password:
        kwargs["password"] = password
    return kwargs


def primary(url: str) -> str | None:
    """The address of the primary the sentinels name now ("host:port"), None for a plain
    URL or when no sentinel answers (/api/health shows it)."""
    found = parse_sentinel_url(url)
    if found is None:
        return None
    sentinel = Sentinel(list(found.sentinels), socket_timeout=SENTINEL_TIMEOUT_S,
                        sentinel_kwargs=_sentinel_kwargs(found.sentinel_password))
    try:
        host, port = sentinel.discover_master(found.master)
    except RedisError:
        return None
    finally:
        for s in sentinel.sentinels:
            s.close()
    return f"{host}:{port}"
