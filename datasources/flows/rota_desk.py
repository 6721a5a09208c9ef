"""The rota's changes told to every open screen: a shift set, swapped or left by leave on
/admin commits first (datasources/sql/rota.py), then a `rota.changed` event goes out on the
hub, and each open duty console draws its recommendation again from the live rota."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from dashboard.messages import Event
from dashboard.timeutil import utcnow
from datasources.redis.publisher import Publisher

log = logging.getLogger(__name__)


def announce_rota(bus: Publisher | None) -> Event | None:
    """Publish that the rota changed (numbered like every committed fact); None when Redis
    cannot be reached: the change is committed and the consoles see it at their next
    drawing."""
    if bus is None:
        return None
    try:
        event = Event(type="rota.changed", seq=bus.next_seq(), at=utcnow(),
                      sent_at=time.time())
        bus.publish_event(event)
    except (RedisError, OSError) as exc:
        log.warning("rota change not announced: %r", exc)
        return None
    return event
