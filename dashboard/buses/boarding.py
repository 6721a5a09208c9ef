"""On and off the bus, pure: boarding events (上车/下车/未到), the trip they belong to, the
stop they happened at, and the tally of a trip (expected / on board / alighted / absent).

Events may arrive late and out of order (an escort's phone queues taps while offline): the
tally orders them by the time they happened (`at`), never by arrival, so the last thing that
happened to a child is their state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard.buses.pupils import ABSENT, ALIGHT, BOARD, EVENTS, Manifest
from dashboard.buses.timetable import local_date, stop_times_on, trip_window
from dashboard.incidents.errors import BadInput
from dashboard.timeutil import as_utc

ESCORT_SOURCE, TERMINAL_SOURCE = "escort", "terminal"
SOURCES: tuple[str, ...] = (ESCORT_SOURCE, TERMINAL_SOURCE)
STOP_RADIUS_M = 150.0  # a tap within this of a stop happened at that stop
EXPECTED, ON_BOARD, ALIGHTED = "expected", "on_board", "alighted"


@dataclass(frozen=True)
class Boarding:
    """One boarding event as stored: who, which trip on which local day, what, when, where."""

    pupil: str
    trip: str
    day: str
    event: str
    at: datetime
    plate: str | None = None
    stop: str | None = None
    lon: float | None = None
    lat: float | None = None
    source: str = ESCORT_SOURCE
    key: str = ""
    seq: int = 0  # the store's id: breaks ties between events of the same second


def check_event(event: object) -> str:
    """The event code, or BadInput `bad_event` (上车 board, 下车 alight, 未到 absent)."""
    if not isinstance(event, str) or event not in EVENTS:
        raise BadInput("bad_event", value=str(event)[:20])
    return event



def trip_at(trips: Mapping[str, Sequence[str]], at: datetime) -> tuple[str, date] | None:
    """Which of a pupil's trips (code → stop times) runs at `at`, and on which local day:
    the one whose window (30 min before departure to 45 min after arrival) holds it."""
    day = local_date(at)
    best: tuple[str, date] | None = None
    for code, times in sorted(trips.items()):
        if not times:
            continue
        lo, hi = trip_window(stop_times_on(day, times))
        if lo <= as_utc(at) <= hi and best is None:
            best = (code, day)
    return best


def stop_near(stops: Iterable[tuple[str, float, float]], lon: float | None,
              lat: float | None, radius_m: float = STOP_RADIUS_M) -> str | None:
    """The code of the nearest stop (code, lon, lat) within `radius_m` of the bus, or None."""
    if lon is None or lat is None:
        return None
    kx = 110_574.0 * math.cos(math.radians(lat))
    best: tuple[float, str] | None = None
    for code, slon, slat in stops:
        d = math.hypot((slon - lon) * kx, (slat - lat) * 110_574.0)
        if d <= radius_m and (best is None or d < best[0]):
            best = (d, code)
    return best[1] if best else None


@dataclass
class PupilState:
    """Where a child is on a trip, after every event so far."""

    pupil: str
    state: str = EXPECTED
    boarded_at: datetime | None = None
    boarded_stop: str | None = None
    alighted_at: datetime | None = None
    alighted_stop: str | None = None
    last: Boarding | None = None


@dataclass
class Tally:
    """A trip's count: expected (on the manifest), on board, alighted, absent, and each
    child's state; `extra` are children on the bus who are not on this trip's manifest."""

    expected: int
    pupils: dict[str, PupilState] = field(default_factory=dict)
    extra: set[str] = field(default_factory=set)

    def count(self, state: str) -> int:
        """How many children are in `state`."""
        return sum(1 for p in self.pupils.values() if p.state == state)

    @property
    def on_board(self) -> int:
        """Children on the bus now."""
        return self.count(ON_BOARD)

    @property
    def alighted(self) -> int:
        """Children who got off."""
        return self.count(ALIGHTED)

    @property
    def absent(self) -> int:
        """Children marked 未到."""
        return self.count(ABSENT)

    def counts(self) -> dict[str, int]:
        """expected / on_board / alighted / absent, for screens."""
        return {"expected": self.expected, "on_board": self.on_board,
                "alighted": self.alighted, "absent": self.absent}


def tally(manifest: Manifest, events: Iterable[Boarding]) -> Tally:
    """Apply a trip's events in the order they happened (`at`, then as stored)."""
    out = Tally(manifest.expected, {pid: PupilState(pid) for pid in manifest.pupil_ids})
    for e in sorted(events, key=lambda e: (as_utc(e.at), e.seq)):
        st = out.pupils.get(e.pupil)
        if st is None:
            st = out.pupils[e.pupil] = PupilState(e.pupil)
            out.extra.add(e.pupil)
        st.last = e
        if e.event == BOARD:
            st.state, st.boarded_at, st.boarded_stop = ON_BOARD, e.at, e.stop
            st.alighted_at = st.alighted_stop = None
        elif e.event == ALIGHT:
            st.state, st.alighted_at, st.alighted_stop = ALIGHTED, e.at, e.stop
        elif e.event == ABSENT and st.state in (EXPECTED, ABSENT):
            st.state = ABSENT  # a child seen on the bus is not made absent by a late tap
    return out


def escort_trip(trips: Mapping[str, Sequence[str]], now: datetime) -> str | None:
    """The trip an escort works at `now` among theirs (code → stop times): the one running,
    else the next one today, else today's last."""
    running = trip_at(trips, now)
    if running is not None:
        return running[0]
    day = local_date(now)
    starts = sorted((stop_times_on(day, times)[0], code) for code, times in trips.items()
                    if times)
    later = [code for start, code in starts if start > as_utc(now)]
    if later:
        return later[0]
    return starts[-1][1] if starts else None
