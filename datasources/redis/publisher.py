"""The Redis side of zhongnao: publishing reports, events and positions, and counting rejects."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import redis
from redis.client import Pipeline

from dashboard.buses.fixtime import BAD_TIME, FixWindow, Screened, screen_fixes
from dashboard.buses.sos import has_sos, rescued_sos
from dashboard.channels import Channels
from dashboard.messages import (
    Event,
    IncidentProgress,
    IncidentReport,
    StockMovement,
    VehiclePosition,
    VehiclePositions,
)
from dashboard.timeutil import utcnow
from datasources.redis import connect

log = logging.getLogger(__name__)

# How long a plate stays "real" after its last fix from a real door: the simulator never
# drives it meanwhile, so a real bus whose terminal is off shows as silent, not simulated.
REAL_FEED_TTL_S = 24 * 3600

# The simulator's publish, atomic against a real door's MULTI: a plate whose real-feed key
# exists is skipped (not written to the latest-state hash, not published). KEYS: the hash.
# ARGV: real-key prefix, channel, envelope head, envelope tail, then plate, fix JSON pairs.
_SIM_PUBLISH = """
local kept, skipped = {}, {}
for i = 5, #ARGV, 2 do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    kept[#kept + 1] = ARGV[i + 1]
  else
    skipped[#skipped + 1] = ARGV[i]
  end
end
if #kept > 0 then
  redis.call('PUBLISH', ARGV[2], ARGV[3] .. table.concat(kept, ',') .. ARGV[4])
end
return {#kept, skipped}
"""


# Count rejections and announce them in one step: the counter hash and the event sequence
# move together, so a hub's snapshot (sequence and counts read together) plus the events
# after it always add up to the hash. KEYS: sequence, counter hash. ARGV: reason, how many,
# channel, the event's JSON before and after its sequence number.
_COUNT_REJECTED = """
local seq = redis.call('INCR', KEYS[1])
local total = redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. seq .. ARGV[5])
return total
"""


REDIS_TIMEOUT_S = 3.0
WATCH_TRIES = 50  # a read-decide-write of the latest fixes that lost this often gives up


@dataclass
class Published:
    """What `publish_positions` did: fixes published, and the indexes refused as bad_time."""

    accepted: int = 0
    refused: list[int] = field(default_factory=list)


class Publisher:
    """Synchronous publisher used by ingest, the simulator and the store's event outbox.

    `window` bounds the time of a position fix (dashboard/buses/fixtime.py)."""

    def __init__(self, client: redis.Redis, channels: Channels, window: FixWindow | None = None):
        self.r = client
        self.ch = channels
        self.window = window or FixWindow()

    @classmethod
    def from_url(cls, url: str, prefix: str = "zn",
                 window: FixWindow | None = None) -> Publisher:
        """Connect to the Redis at `url` (or the primary its sentinels name, following a
        failover: datasources/redis/connect.py). Every call gives up after REDIS_TIMEOUT_S: a
        Redis that holds its connections and never answers (stopped, swapping) fails the
        call as a Redis error, which every caller already handles, instead of parking a
        thread for ever."""
        client = connect.client(url, timeout=REDIS_TIMEOUT_S, health_check_interval=30)
        return cls(client, Channels(prefix), window)

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

    def next_seqs(self, n: int) -> int:
        """Take `n` consecutive numbers of the shared event sequence; returns the first."""
        return int(self.r.incrby(self.ch.event_seq, n)) - n + 1

    def publish_event(self, event: Event) -> int:
        """Publish a committed fact on the events channel."""
        return int(self.r.publish(self.ch.events, event.to_json()))

    def publish_events(self, events: Iterable[Event]) -> None:
        """Publish committed facts on the events channel in order, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for event in events:
            pipe.publish(self.ch.events, event.to_json())
        pipe.execute()

    def publish_positions(self, positions: Iterable[VehiclePosition],
                          chunk: int = 500) -> Published:
        """Real fixes (every door but the simulator): refuse those the time rule refuses
        (counted as bad_time), mark each plate real, move the latest fix per vehicle in a
        hash forward only, and publish the kept fixes in batches."""
        batch = list(positions)
        out = Published()
        for start in range(0, len(batch), chunk):
            part = batch[start : start + chunk]
            screened = self._publish_chunk(part)
            out.accepted += len(screened.kept)
            out.refused += [start + i for i in screened.refused]
        if out.refused:
            log.warning("refused %s fixes as %s", len(out.refused), BAD_TIME)
            self.count_rejected(BAD_TIME, len(out.refused))
            # The position is refused; an SOS it carries is not.
            self.rescue_sos([rescued_sos(p.plate, p.lon, p.lat, utcnow(), BAD_TIME,
                                         p.at.isoformat())
                             for p in (batch[i] for i in out.refused) if has_sos(p.alarm)])
        return out

    def rescue_sos(self, reports: Iterable[IncidentReport]) -> int:
        """Hand SOS work orders whose fixes were refused to intake (dashboard/buses/sos.py);
        each has a msg_id, so a repeat, or several processes sending it, is handled once."""
        n = 0
        for report in reports:
            log.warning("SOS kept although its fix was refused: %s", report.title)
            self.report(report)
            n += 1
        return n

    def _publish_chunk(self, part: list[VehiclePosition]) -> Screened:
        """Read the latest fixes, decide, write; again when another writer came between
        (the simulator writes the same hash), a bounded number of times."""
        with self.r.pipeline(transaction=True) as pipe:
            for _ in range(WATCH_TRIES):
                try:
                    pipe.watch(self.ch.vehicle_state)
                    screened = self._screen_chunk(part, pipe)
                    pipe.execute()
                    return screened
                except redis.WatchError:
                    continue
        raise redis.RedisError(f"latest positions kept changing ({WATCH_TRIES} tries)")

    def _screen_chunk(self, part: list[VehiclePosition], pipe: Pipeline) -> Screened:
        plates = list(dict.fromkeys(p.plate for p in part))
        current = {}
        for plate, raw in zip(plates, pipe.hmget(self.ch.vehicle_state, plates), strict=True):
            if raw:
                try:
                    current[plate] = VehiclePosition.model_validate_json(raw).at
                except ValueError:
                    log.warning("unreadable latest state for %r is replaced", plate)
        screened = screen_fixes(part, utcnow(), current, self.window)
        # One MULTI, so the simulator's script runs wholly before or after it.
        pipe.multi()
        if screened.kept:
            for plate in {p.plate for p in screened.kept}:
                pipe.set(self.ch.real_feed(plate), b"1", ex=REAL_FEED_TTL_S)
            if screened.latest:
                pipe.hset(self.ch.vehicle_state,
                          mapping={plate: p.model_dump_json(exclude_none=True)
                                   for plate, p in screened.latest.items()})
            message = VehiclePositions(positions=screened.kept, sent_at=time.time())
            pipe.publish(self.ch.vehicles, message.to_json())
        return screened

    def publish_sim_positions(self, positions: Iterable[VehiclePosition],
                              chunk: int = 500) -> tuple[int, set[str]]:
        """The simulator's fixes, marked source "sim", for plates no real door reports.

        Returns (fixes published, plates skipped because a real door reports them).
        """
        batch = list(positions)
        sent, skipped = 0, set()
        for start in range(0, len(batch), chunk):
            part = batch[start : start + chunk]
            envelope = json.loads(VehiclePositions(positions=part[:1], sent_at=time.time(),
                                                   source="sim").to_json())
            envelope["positions"] = "@"
            head, tail = json.dumps(envelope, ensure_ascii=False).split('"@"')
            args: list[str] = [self.ch.real_feed(""), self.ch.vehicles, head + "[", "]" + tail]
            for p in part:
                args += [p.plate, p.model_dump_json(exclude_none=True)]
            kept, real = self.r.eval(_SIM_PUBLISH, 1, self.ch.vehicle_state, *args)
            sent += int(kept)
            skipped |= {x.decode() if isinstance(x, bytes) else str(x) for x in real}
        return sent, skipped

    def is_real(self, plate: str) -> bool:
        """True while a real door reports this plate (its real-feed key lives)."""
        return bool(self.r.exists(self.ch.real_feed(plate)))

    def latest_positions(self) -> dict[str, VehiclePosition]:
        """Latest fix of every vehicle, from the hash (the snapshot side of the feed)."""
        out: dict[str, VehiclePosition] = {}
        for plate, raw in self.r.hgetall(self.ch.vehicle_state).items():
            try:
                out[_text(plate)] = VehiclePosition.model_validate_json(raw)
            except ValueError:
                log.warning("dropping unreadable latest state for %r", plate)
        return out

    def count_rejected(self, reason: str, n: int = 1) -> int:
        """Count `n` rejected inbound messages under `reason` and tell every hub (a
        `rejected` event, so /api/health and the walls' counters move); returns the new
        count. Every door counts here: the hash `rejected` is the one source of counts."""
        event = Event(type="rejected", seq=0, at=utcnow(), reason=reason,
                      count=n if n > 1 else None, sent_at=time.time()).to_json()
        head, tail = event.split('"seq":0', 1)
        return int(self.r.eval(_COUNT_REJECTED, 2, self.ch.event_seq, self.ch.rejected,
                               reason, n, self.ch.events, head + '"seq":', tail))

    def rejected_counts(self) -> dict[str, int]:
        """Rejected inbound messages so far, by reason."""
        return {_text(k): int(v) for k, v in self.r.hgetall(self.ch.rejected).items()}

    def seq_and_rejected(self) -> tuple[int, dict[str, int]]:
        """The event sequence and the rejection counts read together (a hub's snapshot)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.get(self.ch.event_seq)
        pipe.hgetall(self.ch.rejected)
        seq, counts = pipe.execute()
        return int(seq or 0), {_text(k): int(v) for k, v in counts.items()}

    def swept(self, period: int) -> bool:
        """True once a sweep round of this period number ran (in any process)."""
        return bool(self.r.hexists(self.ch.sweep_runs, str(period)))

    def count_sweep(self, period: int) -> int:
        """Record a sweep round as its period's own; returns the rounds counted for it
        (1 unless two processes led at once). Kept a day."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(self.ch.sweep_runs, str(period), 1)
        pipe.expire(self.ch.sweep_runs, 86_400)
        return int(pipe.execute()[0])

    def sweep_runs(self) -> dict[int, int]:
        """Sweep rounds counted per period number (tests, /api/health)."""
        return {int(k): int(v) for k, v in self.r.hgetall(self.ch.sweep_runs).items()}

    def claim(self, digest: str, ttl_s: int = 300) -> bool:
        """True for the first process to claim this inbound message (others skip it)."""
        return bool(self.r.set(self.ch.claim(digest), b"1", nx=True, ex=ttl_s))

    def claim_all(self, claims: Sequence[tuple[str, int]]) -> list[bool]:
        """`claim` for each (digest, ttl_s), in one round trip: True where this process is
        the first (intake's committer claims a batch's reports at once)."""
        pipe = self.r.pipeline(transaction=False)
        for digest, ttl_s in claims:
            pipe.set(self.ch.claim(digest), b"1", nx=True, ex=ttl_s)
        return [bool(won) for won in pipe.execute()]


def _text(value: bytes | str) -> str:
    """A Redis key or field as text (the client answers bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
