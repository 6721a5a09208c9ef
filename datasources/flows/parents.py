"""A guardian's view of their own children (issue 13): who they are, from the principal
alone, and today's trips with the bus live, the ETA home and what happened.

The scoping is here, on the server, and nowhere in the page: the children are those the
register lists with the phone of the guardian the link names (dashboard/buses/parents.py),
never an id the browser sent. Of each trip the view carries the bus's position and ETA
only: no other child's name, stop or count leaves this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.buses.boarding import EXPECTED, Boarding, tally
from dashboard.buses.notify import guardian_recipient
from dashboard.buses.parents import (
    follows_bus,
    guardians_children,
    home_eta,
    parse_recipient,
    shown_state,
    timeline,
    todays_trips,
)
from dashboard.buses.pupils import GuardianRecord, Manifest, PupilRecord
from dashboard.buses.timetable import local_date, runs_on, stop_times_on
from dashboard.buses.tracking import drives_backwards
from dashboard.roles import GUARDIAN, Principal
from dashboard.timeutil import utcnow
from dashboard.town import Route, Trip
from datasources.sql.boarding import BoardingStore
from datasources.sql.pupils import PupilStore


class ParentReads:
    """The register and taps as guardians' phones read them, one copy per server process:
    many phones poll the same few trips, so each trip's manifest and taps are read at most
    every `trip_s`, the register's guardians every `register_s` (a tap is on the phones
    within `trip_s` + their own 5 s; a new register within `register_s`)."""

    def __init__(self, pupils: PupilStore, events: BoardingStore, trip_s: float = 2.0,
                 register_s: float = 30.0):
        self.store, self.events_store = pupils, events
        self.trip_s, self.register_s = trip_s, register_s
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def _read(self, key: tuple[Any, ...], max_age: float, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._cache) > 5000:  # yesterday's trips and gone families: start over
                self._cache.clear()
            self._cache[key] = (now, value)
        return value

    def guardian(self, pupil: str, seq: int) -> GuardianRecord | None:
        """The guardian at `seq` of `pupil` (PupilStore.guardian), cached."""
        return self._read(("g", pupil, seq), self.register_s,
                          lambda: self.store.guardian(pupil, seq))

    def guardian_rows(self) -> list[tuple[str, int, str]]:
        """(pupil id, seq, phone) of every guardian (PupilStore.guardian_rows), cached."""
        return self._read(("rows",), self.register_s,
                          self.store.guardian_rows)

    def pupils(self, ids: Sequence[str]) -> list[PupilRecord]:
        """These pupils (PupilStore.pupils), cached."""
        return self._read(("p", *ids), self.register_s,
                          lambda: self.store.pupils(ids))

    def trip_route(self, trip: str) -> tuple[Route, Trip] | None:
        """A trip and its route (PupilStore.trip_route), cached."""
        return self._read(("r", trip), self.register_s,
                          lambda: self.store.trip_route(trip))

    def manifest(self, trip: str) -> Manifest | None:
        """A trip's manifest (PupilStore.manifest), cached."""
        return self._read(("m", trip), self.register_s,
                          lambda: self.store.manifest(trip))

    def events(self, trip: str, day: str) -> list[Boarding]:
        """A trip's taps of a day (BoardingStore.events), read at most every `trip_s`."""
        return self._read(("e", trip, day), self.trip_s,
                          lambda: self.events_store.events(trip, day))


@dataclass(frozen=True)
class Family:
    """The guardian behind a link: their children (pupil id → the guardian's place in that
    child's register) and the recipient ids their SMS go to (one per child)."""

    children: dict[str, int]

    @property
    def recipients(self) -> list[str]:
        """The guardian's recipient id for each child (what a mute applies to)."""
        return [guardian_recipient(p, seq) for p, seq in sorted(self.children.items())]


def family(pupils: ParentReads | PupilStore, who: Principal) -> Family:
    """The children of the guardian `who` is; none for anyone else (or a link whose
    guardian left the register)."""
    named = parse_recipient(who.person_id) if who.role == GUARDIAN else None
    if named is None:
        return Family({})
    guardian = pupils.guardian(*named)
    if guardian is None:
        return Family({})
    return Family(guardians_children(guardian.phone, pupils.guardian_rows()))


@dataclass
class ChildTrip:
    """One of a child's trips today, as their guardian sees it."""

    trip: str
    direction: str
    home_stop: str
    home_time: str  # HH:MM at the home stop by the timetable
    state: str  # expected | on_board | alighted | absent
    moments: list[Any] = field(default_factory=list)  # parents.Moment
    plate: str | None = None
    bus: tuple[float, float] | None = None  # lon, lat while the child is to follow it
    eta: datetime | None = None


@dataclass
class ChildView:
    """A child and their trips today."""

    pupil: PupilRecord
    trips: list[ChildTrip]


def children_today(hub: Any, reads: ParentReads, fam: Family, lang: str,
                   now: datetime | None = None) -> list[ChildView]:
    """Each child of the family with their trips running today, their state, timeline, the
    bus on the trip (while the child is to follow it) and its ETA at the home stop."""
    now = now or utcnow()
    day = local_date(now)
    tracker = hub.tracker if hub is not None else None
    trip_rows = hub.state.trips if hub is not None else {}
    positions = hub.state.vehicles if hub is not None else {}
    out = []
    for pupil in reads.pupils(sorted(fam.children)):
        runs = {code: found for code in pupil.trips
                if (found := reads.trip_route(code)) is not None}
        holidays = tracker.fleet.holidays if tracker is not None else frozenset()
        times = {code: stop_times_on(day, trip.stop_times) if runs_on(trip.days, day, holidays)
                 else [] for code, (_, trip) in runs.items()}
        trips = []
        for code in todays_trips(pupil, times):
            route, trip = runs[code]
            manifest = reads.manifest(code)
            if manifest is None:
                continue
            all_events = reads.events(code, day.isoformat())
            mine = [b for b in all_events if b.pupil == pupil.id]
            state = tally(manifest, all_events).pupils.get(pupil.id)
            names = {s.code: (s.name if lang == "zh" else s.name_en or s.name)
                     for s in route.stops}
            driving = [s.code for s in route.stops]
            if drives_backwards(trip.direction):  # times are in driving order
                driving.reverse()
            idx = driving.index(pupil.home_stop) if pupil.home_stop in driving else 0
            row = ChildTrip(code, trip.direction, names.get(pupil.home_stop, ""),
                            trip.stop_times[idx] if idx < len(trip.stop_times) else "",
                            shown_state(state.state if state is not None else EXPECTED,
                                        times[code], now),
                            timeline(mine, trip.direction, names))
            plate = next((p for p, r in trip_rows.items() if r.get("trip") == code), None)
            if plate is not None and follows_bus(row.state):
                fix = positions.get(plate)
                row.plate = plate
                row.bus = (fix.lon, fix.lat) if fix is not None else None
                if tracker is not None:
                    row.eta = home_eta(tracker.fleet.detail(plate, now), pupil.home_stop)
            trips.append(row)
        out.append(ChildView(pupil, trips))
    return out
