"""GTFS-Realtime VehiclePositions: read a feed (pushed or polled) into VehiclePosition fixes."""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2 as rt
from pydantic import ValidationError

from dashboard.buses.fixtime import BAD_TIME
from dashboard.messages import VehiclePosition
from datasources.redis.publisher import Publisher

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 8 * 1024 * 1024
MS_TO_KMH = 3.6


class FeedError(ValueError):
    """A feed that is not a GTFS-Realtime FeedMessage at all."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class FeedResult:
    """The fixes read from one feed (with their entity ids), and the entities skipped
    with why."""

    positions: list[VehiclePosition] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)


def parse_feed(data: bytes) -> FeedResult:
    """Read a FeedMessage; an unusable entity is skipped with its reason, the rest kept."""
    if len(data) > MAX_FEED_BYTES:
        raise FeedError("too_large", f"{len(data)} bytes")
    feed = rt.FeedMessage()
    try:
        feed.ParseFromString(data)
    except DecodeError as exc:
        raise FeedError("bad_protobuf", str(exc) or "not a FeedMessage") from exc
    if not feed.HasField("header") or not feed.header.gtfs_realtime_version:
        raise FeedError("bad_protobuf", "no FeedHeader.gtfs_realtime_version")
    out = FeedResult()
    for e in feed.entity:
        if not e.HasField("vehicle"):
            continue
        v = e.vehicle
        vd = v.vehicle
        plate = vd.license_plate or vd.id or vd.label or e.id
        if not v.HasField("position"):
            out.skipped.append((e.id, "no_position"))
            continue
        stamp = v.timestamp or feed.header.timestamp
        if not stamp:
            out.skipped.append((e.id, "no_timestamp"))
            continue
        p = v.position
        try:
            at = datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):  # beyond year 9999: no time at all
            out.skipped.append((e.id, BAD_TIME))
            continue
        try:
            out.positions.append(VehiclePosition(
                plate=plate[:16], lon=p.longitude, lat=p.latitude,
                speed_kmh=round(p.speed * MS_TO_KMH, 1) if p.HasField("speed") else 0.0,
                heading=p.bearing % 360 if p.HasField("bearing") else 0.0,
                at=at,
                route=v.trip.route_id or None if v.HasField("trip") else None,
                trip=v.trip.trip_id or None if v.HasField("trip") else None,
                occupancy_pct=(float(v.occupancy_percentage)
                               if v.HasField("occupancy_percentage") else None)))
            out.entities.append(e.id)
        except ValidationError as exc:
            out.skipped.append((e.id, "invalid: " + str(exc).splitlines()[1].strip()))
    return out


def vehicle_feed(positions: list[VehiclePosition], at: datetime | None = None) -> bytes:
    """A FeedMessage of the given fixes (for tests, the bench and as an export)."""
    feed = rt.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.timestamp = int((at or datetime.now(UTC)).timestamp())
    for i, pos in enumerate(positions):
        e = feed.entity.add()
        e.id = f"v{i}"
        e.vehicle.vehicle.id = pos.plate
        e.vehicle.vehicle.license_plate = pos.plate
        e.vehicle.position.latitude = pos.lat
        e.vehicle.position.longitude = pos.lon
        e.vehicle.position.speed = pos.speed_kmh / MS_TO_KMH
        e.vehicle.position.bearing = pos.heading
        e.vehicle.timestamp = int(pos.at.timestamp())
        if pos.trip:
            e.vehicle.trip.trip_id = pos.trip
        if pos.route:
            e.vehicle.trip.route_id = pos.route
        if pos.occupancy_pct is not None:
            e.vehicle.occupancy_percentage = round(pos.occupancy_pct)
    return feed.SerializeToString()


def ingest(bus: Publisher, data: bytes) -> FeedResult:
    """Parse a feed and publish its fixes; skipped entities are counted as rejected, those
    the time rule refuses as bad_time. Returns the fixes published and every skip."""
    result = parse_feed(data)
    reasons = Counter(why if why == BAD_TIME else "gtfs_rt_" + why.split(":")[0]
                      for _, why in result.skipped)
    for reason, n in reasons.items():
        bus.count_rejected(reason, n)
    if result.positions:
        refused = set(bus.publish_positions(result.positions).refused)  # counted there
        result.skipped += [(result.entities[i], BAD_TIME) for i in sorted(refused)]
        result.positions = [p for i, p in enumerate(result.positions) if i not in refused]
        result.entities = [e for i, e in enumerate(result.entities) if i not in refused]
    return result


def poll_forever(bus: Publisher, url: str, every_s: float, stop: threading.Event) -> None:
    """Fetch the feed every `every_s` seconds until `stop`; a failed poll is logged and counted."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - operator URL
                data = resp.read(MAX_FEED_BYTES + 1)
            result = ingest(bus, data)
            log.info("GTFS-RT %s: %s fixes, %s skipped", url, len(result.positions),
                     len(result.skipped))
        except FeedError as exc:
            log.warning("GTFS-RT %s: %s", url, exc)
            bus.count_rejected("gtfs_rt_" + exc.reason)
        except OSError as exc:
            log.warning("GTFS-RT %s unreachable: %s", url, exc)
        stop.wait(every_s)
