"""One boarding event, from an escort's phone or a card/face terminal, to the database.

The same steps for both doors (the /escort page's queue posts to the JSON door the terminals
use): check the input, find the trip the pupil rides at that time, take the bus's position
from its latest fix, store it once per idempotency key, then let the safety rules look
(dashboard/buses/child_safety.py) and raise what they find into the incident loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dashboard.buses.boarding import (
    ESCORT_SOURCE,
    TERMINAL_SOURCE,
    Boarding,
    Tally,
    check_event,
    stop_near,
    tally,
    trip_at,
)
from dashboard.buses.fixtime import FixWindow, time_fault
from dashboard.buses.pupils import POST_TRIP, POST_VEHICLE, Manifest
from dashboard.idempotency import check_key
from dashboard.incidents.errors import BadInput, Conflict, NotFound, Refused
from dashboard.inputs import parse_instant, text_param
from dashboard.roles import ESCORT, Principal
from dashboard.timeutil import as_utc, utcnow
from datasources.redis.publisher import Publisher
from datasources.sql.boarding import BoardingStore
from datasources.sql.pupils import PupilStore

log = logging.getLogger(__name__)
FIX_FRESH_S = 600.0  # a fix older than this says nothing about where a tap happened


@dataclass
class Recorded:
    """What became of one event: the stored event (or the first one under its key), whether
    it was new, and the trip's tally after it."""

    event: Boarding
    new: bool
    tally: Tally
    manifest: Manifest
    alerts: list[Any] = field(default_factory=list)


class BoardingDesk:
    """Records boarding events and hands new ones to the safety rules."""

    def __init__(self, events: BoardingStore, pupils: PupilStore, bus: Publisher | None,
                 window: FixWindow | None = None):
        self.events = events
        self.pupils = pupils
        self.bus = bus
        self.window = window or FixWindow()
        # Called with each new event's Recorded (the safety rules; issue 13 step 3).
        self.after: list[Callable[[Recorded], object]] = []
        self._counts: dict[tuple[str, str], tuple[float, tuple[Manifest, Tally] | None]] = {}
        self._lock = threading.Lock()

    def parse(self, body: Any, now: datetime | None = None) -> tuple[str, str, datetime, str,
                                                                     str]:
        """(pupil, event, at, plate, key) of a JSON body, or BadInput naming what is wrong."""
        if not isinstance(body, dict):
            raise BadInput("bad_shape")
        pupil = text_param(body.get("pupil"), "pupil")
        plate = text_param(body.get("vehicle"), "vehicle")
        if not pupil or len(pupil) > 24:
            raise BadInput("bad_pupil", value=str(body.get("pupil"))[:40])
        if not plate or len(plate) > 16:
            raise BadInput("bad_vehicle", value=str(body.get("vehicle"))[:40])
        event = check_event(body.get("event"))
        key = check_key(body.get("key"))
        at = parse_instant(body.get("at"), "at")
        if time_fault(at, now or utcnow(), None, self.window):
            raise BadInput("bad_time", future_min=f"{self.window.future_s / 60:g}",
                           replay_min=f"{self.window.replay_s / 60:g}")
        return pupil, event, at, plate, key

    def record(self, who: Principal, body: Any, now: datetime | None = None) -> Recorded:
        """Check, place and store one event (blocking; run it in a thread)."""
        pupil, event, at, plate, key = self.parse(body, now)
        vehicle = self.events.vehicle(plate)
        if vehicle is None:
            raise NotFound("unknown_vehicle", value=plate)
        trips = self.events.pupil_trips(pupil)
        if trips is None:
            raise NotFound("unknown_pupil", value=pupil)
        found = trip_at(trips, at)
        if found is None:
            raise BadInput("no_trip_now", value=pupil)
        trip, day = found
        if who.role == ESCORT:
            posts = self.pupils.posts(who.user_id)
            if (POST_TRIP, trip) not in posts and (POST_VEHICLE, plate) not in posts:
                raise Refused("not_your_trip", value=trip)
        manifest = self.pupils.manifest(trip)
        assert manifest is not None  # the pupil's trip is the town's
        lon, lat = self._where(plate, at)
        route = self.pupils.trip_route(trip)
        stops = [(s.code, s.lon, s.lat) for s in route[0].stops] if route else []
        source = TERMINAL_SOURCE if who.kind == "key" else ESCORT_SOURCE
        b = Boarding(pupil, trip, day.isoformat(), event, as_utc(at), plate,
                     stop_near(stops, lon, lat), lon, lat, source, key)
        stored, new = self.events.record(b, who.name or who.source)
        if not new and (stored.pupil, stored.event, stored.at) != (b.pupil, b.event, b.at):
            # The key of another tap: a sender's bug that would silently lose this one.
            raise Conflict("key_reused", value=key)
        done = Recorded(stored, new, tally(manifest, self.events.events(trip, b.day)),
                        manifest)
        if new:
            for hook in self.after:
                try:
                    hook(done)
                except Exception:  # stored; a rule's fault must not lose the answer
                    log.exception("safety check after %s failed", key)
        return done

    def _where(self, plate: str, at: datetime) -> tuple[float | None, float | None]:
        """The bus's latest fix near the time of the tap, if Redis has one."""
        if self.bus is None:
            return None, None
        try:
            fix = self.bus.latest_positions().get(plate)
        except Exception as exc:  # Redis away: the event is stored without a position
            log.warning("no position for %s: %s", plate, exc)
            return None, None
        if fix is None or abs(as_utc(fix.at) - as_utc(at)) > timedelta(seconds=FIX_FRESH_S):
            return None, None
        return fix.lon, fix.lat

    def trip_tally(self, trip: str, day: str) -> tuple[Manifest, Tally] | None:
        """The manifest and tally of a trip on a local day, or None for an unknown trip."""
        manifest = self.pupils.manifest(trip)
        if manifest is None:
            return None
        return manifest, tally(manifest, self.events.events(trip, day))

    def counts(self, trip: str, day: str, max_age_s: float = 5.0) -> dict[str, int] | None:
        """expected / on board / alighted / absent of a trip, read at most every
        `max_age_s` per trip in this process (screens redraw every second; taps from every
        process are in the database)."""
        found = self.recent_tally(trip, day, max_age_s)
        return found[1].counts() if found is not None else None

    def recent_tally(self, trip: str, day: str,
                     max_age_s: float = 5.0) -> tuple[Manifest, Tally] | None:
        """trip_tally read at most every `max_age_s` per trip in this process (the /buses
        panels of every screen share it)."""
        now = time.monotonic()
        with self._lock:
            cached = self._counts.get((trip, day))
        if cached is not None and now - cached[0] < max_age_s:
            return cached[1]
        value = self.trip_tally(trip, day)
        with self._lock:
            if len(self._counts) > 500:  # yesterday's trips: drop them all
                self._counts.clear()
            self._counts[(trip, day)] = (now, value)
        return value
