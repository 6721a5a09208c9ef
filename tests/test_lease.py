"""The leader lease (datasources/redis/lease.py) on a real Redis: one holder at a time; a
holder that stops renewing (killed) is replaced within the TTL; one that stalled past it
learns it lost the lease instead of leading beside the new one; a clean stop hands over at
once. Two hubs on one Redis run the sweep round in one of them only."""

from __future__ import annotations

import asyncio
import time

from datasources.redis.lease import Lease, lease_held
from tests.browser import wait_until

TTL = 0.6


def test_one_holder_and_a_takeover_within_the_ttl(services) -> None:
    key = services.bus.ch.leader
    a, b = Lease(services.bus.r, key, TTL), Lease(services.bus.r, key, TTL)
    assert a.keep() and not b.keep()
    for _ in range(4):  # renewed past several lifetimes, never lost
        time.sleep(TTL / 3)
        assert a.keep() and not b.keep()
    assert lease_held(services.redis_url, key)
    stopped = time.monotonic()  # a stops renewing, as a killed process does
    wait_until(b.keep, 3 * TTL, "b to take the lease", interval=TTL / 3)
    assert time.monotonic() - stopped <= TTL + TTL / 3 + 0.2
    assert not a.keep()  # a stalled past the TTL: it no longer leads
    assert b.keep()
    b.release()
    assert a.keep()  # a clean stop hands over at once


def test_two_hubs_one_sweep_round_per_period(services, settings) -> None:
    from datasources.services import Services

    other = Services(settings).open()
    hubs = [services.hub, other.hub]
    rounds = [0, 0]
    for i, hub in enumerate(hubs):
        hub.sweep_s = 0.5
        hub.sweeps.append(lambda i=i: rounds.__setitem__(i, rounds[i] + 1))

    async def main() -> None:
        for hub in hubs:
            await hub.start()
        try:
            await asyncio.sleep(3)
        finally:
            for hub in hubs:
                await hub.stop()

    try:
        asyncio.run(main())
    finally:
        other.close()
    assert sorted(rounds)[0] == 0 and sorted(rounds)[1] >= 3  # one hub swept, the other never
    runs = services.bus.sweep_runs()
    assert len(runs) >= 3 and set(runs.values()) == {1}
