"""The Redis side of zhongnao: publishing reports, events and positions, and counting rejects."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import redis

from dashboard.channels import Channels
from dashboard.messages import (
    Event,
    IncidentProgress,
    IncidentReport,
    StockMovement,
    VehiclePosition,
    VehiclePositions,
)

log = logging.getLogger(__name__)


class Publisher:
    """Synchronous publisher used by ingest, the simulator and the store's event outbox."""

    def __init__(self, client: redis.Redis, channels: Channels):
        self.r = client
        self.ch = channels

    @classmethod
    def from_url(cls, url: str, prefix: str = "zn") -> Publisher:
        """Connect to the Redis at `url`."""
        return cls(redis.Redis.from_url(url, health_check_interval=30), Channels(prefix))

    def report(self, message: IncidentReport | IncidentProgress | StockMovement) -> int:
        """Publish one inbound message on the ingest channel; returns receivers."""
        return int(self.r.publish(self.ch.ingest, message.to_json()))

    def publish_raw(self, channel: str, payload: str | bytes) -> int:
        """Publish bytes as they are (tests and adapters that forward foreign payloads)."""
        return int(self.r.publish(channel, payload))

    def next_seq(self) -> int:
        """The next number of the shared event sequence."""
        return int(self.r.incr(self.ch.event_seq))

    def current_seq(self) -> int:
        """The last number handed out by the event sequence."""
        return int(self.r.get(self.ch.event_seq) or 0)

    def publish_event(self, event: Event) -> int:
        """Publish a committed fact on the events channel."""
        return int(self.r.publish(self.ch.events, event.to_json()))

    def publish_positions(self, positions: Iterable[VehiclePosition], chunk: int = 500) -> int:
        """Keep the latest fix per vehicle in a hash and publish the fixes in batches."""
        batch = list(positions)
        sent = 0
        for start in range(0, len(batch), chunk):
            part = batch[start : start + chunk]
            message = VehiclePositions(positions=part, sent_at=time.time())
            pipe = self.r.pipeline(transaction=False)
            pipe.hset(
                self.ch.vehicle_state,
                mapping={p.plate: p.model_dump_json(exclude_none=True) for p in part},
            )
            pipe.publish(self.ch.vehicles, message.to_json())
            pipe.execute()
            sent += len(part)
        return sent

    def latest_positions(self) -> dict[str, VehiclePosition]:
        """Latest fix of every vehicle, from the hash (the snapshot side of the feed)."""
        out: dict[str, VehiclePosition] = {}
        for plate, raw in self.r.hgetall(self.ch.vehicle_state).items():
            try:
                out[_text(plate)] = VehiclePosition.model_validate_json(raw)
            except ValueError:
                log.warning("dropping unreadable latest state for %r", plate)
        return out

    def count_rejected(self, reason: str) -> int:
        """Count one rejected inbound message under `reason`; returns the new count."""
        return int(self.r.hincrby(self.ch.rejected, reason, 1))

    def rejected_counts(self) -> dict[str, int]:
        """Rejected inbound messages so far, by reason."""
        return {_text(k): int(v) for k, v in self.r.hgetall(self.ch.rejected).items()}

    def claim(self, digest: str, ttl_s: int = 300) -> bool:
        """True for the first process to claim this inbound message (others skip it)."""
        return bool(self.r.set(self.ch.claim(digest), b"1", nx=True, ex=ttl_s))


def _text(value: bytes | str) -> str:
    """A Redis key or field as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
