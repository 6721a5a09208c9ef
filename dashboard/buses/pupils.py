"""Pupils on the shuttles (定人, 一校一册), pure: the manifest of a trip and who may read what.

A manifest lists, for each stop of a trip in driving order, the pupils expected there: in
the morning they board at their home stop, in the afternoon they alight at it. Names of
minors are personal data: whole only for the people who need them (officers, admins, the
escort of that trip, the staff of the pupil's school), masked 张*明 for other people at the
console, and never on the wall, which gets counts only. Guardians' phones are whole for
officers and admins only (138****1234 for everyone else).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dashboard.buses.tracking import drives_backwards
from dashboard.roles import ADMIN, DISPLAY, ESCORT, OFFICER, SCHOOL_STAFF, mask_phone
from dashboard.town import Route, Trip

BOARD, ALIGHT, ABSENT = "board", "alight", "absent"
EVENTS: tuple[str, ...] = (BOARD, ALIGHT, ABSENT)
VOLUNTEER, LINE_LEADER = "volunteer", "line_leader"
DUTIES: tuple[str, ...] = (VOLUNTEER, LINE_LEADER)
# What an account may look after (user_posts.kind).
POST_TRIP, POST_VEHICLE, POST_SCHOOL = "trip", "vehicle", "school"
POST_KINDS: tuple[str, ...] = (POST_TRIP, POST_VEHICLE, POST_SCHOOL)
FULL, MASKED, COUNTS = "full", "masked", "counts"


@dataclass(frozen=True)
class GuardianRecord:
    """A guardian (监护人) of a pupil."""

    name: str
    relation: str
    phone: str


@dataclass(frozen=True)
class PupilRecord:
    """A pupil as the register holds them: identity by id, the name only for display."""

    id: str
    name: str
    school: str
    klass: str
    home_stop: str
    trips: tuple[str, ...]
    guardians: tuple[GuardianRecord, ...] = ()


@dataclass(frozen=True)
class StopDuty:
    """Who looks after a stop for a school: parent volunteer or pupil line leader."""

    stop: str
    duty: str
    name: str
    phone: str = ""
    pupil_id: str | None = None
    school: str = ""


@dataclass(frozen=True)
class ManifestStop:
    """One stop of a trip with the pupils expected there and what they do (board/alight)."""

    code: str
    name: str
    name_en: str
    time: str
    action: str  # board | alight
    pupils: tuple[PupilRecord, ...]
    staff: tuple[StopDuty, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """Who is expected on a trip, stop by stop, in driving order."""

    trip: str
    route: str
    direction: str
    school: str
    stops: tuple[ManifestStop, ...]
    pupil_ids: frozenset[str] = field(default=frozenset())

    @property
    def expected(self) -> int:
        """How many pupils the trip should carry."""
        return len(self.pupil_ids)

    def home_stop(self, pupil_id: str) -> str | None:
        """The stop where `pupil_id` boards (morning) or alights (afternoon)."""
        for stop in self.stops:
            if any(p.id == pupil_id for p in stop.pupils):
                return stop.code
        return None


def build_manifest(route: Route, trip: Trip, pupils: Iterable[PupilRecord],
                   staff: Iterable[StopDuty] = ()) -> Manifest:
    """The manifest of `trip` on `route`: the pupils riding it at their home stops, stops in
    driving order (reversed for afternoon trips), pupils by class then name."""
    stops = list(route.stops)
    if drives_backwards(trip.direction):
        stops.reverse()
    riding = [p for p in pupils if trip.code in p.trips]
    by_stop: dict[str, list[PupilRecord]] = {}
    for p in riding:
        by_stop.setdefault(p.home_stop, []).append(p)
    duties: dict[str, list[StopDuty]] = {}
    for d in staff:
        duties.setdefault(d.stop, []).append(d)
    action = ALIGHT if drives_backwards(trip.direction) else BOARD
    out = []
    for i, s in enumerate(stops):
        here = sorted(by_stop.get(s.code, []), key=lambda p: (p.klass, p.name, p.id))
        time = trip.stop_times[i] if i < len(trip.stop_times) else ""
        out.append(ManifestStop(s.code, s.name, s.name_en, time, action, tuple(here),
                                tuple(sorted(duties.get(s.code, []), key=lambda d: d.duty))))
    return Manifest(trip.code, route.code, trip.direction, route.school, tuple(out),
                    frozenset(p.id for p in riding))


# ---------------------------------------------------------------- who sees what
@dataclass(frozen=True)
class Viewer:
    """Who reads a manifest: a role and what the account looks after (kind, ref) pairs."""

    role: str
    posts: frozenset[tuple[str, str]] = frozenset()


def name_access(viewer: Viewer, trip: str, plate: str | None = None,
                school: str | None = None) -> str:
    """How `viewer` sees pupils' names on `trip` (run by `plate`, for `school`):
    FULL (officers, admins, the trip's escort, the school's staff), COUNTS (the wall) or
    MASKED (everyone else)."""
    if viewer.role in (ADMIN, OFFICER):
        return FULL
    if viewer.role == DISPLAY:
        return COUNTS
    if viewer.role == ESCORT and ((POST_TRIP, trip) in viewer.posts
                                  or (plate is not None and (POST_VEHICLE, plate)
                                      in viewer.posts)):
        return FULL
    if viewer.role == SCHOOL_STAFF and school is not None and \
            (POST_SCHOOL, school) in viewer.posts:
        return FULL
    return MASKED


def mask_pupil_name(name: str) -> str:
    """张*明 / 欧阳** / 李*: first and last character kept (for three or more), the rest
    starred; a two-character name keeps only its first."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def guardian_phone(phone: str, viewer: Viewer) -> str:
    """A guardian's phone: whole for officers and admins, 138****1234 for anyone else."""
    return phone if viewer.role in (ADMIN, OFFICER) else mask_phone(phone)


def manifest_view(manifest: Manifest, viewer: Viewer,
                  plate: str | None = None) -> dict[str, Any]:
    """The manifest as `viewer` may read it (a JSON-ready dict). The wall gets counts per
    stop only; names are masked unless the viewer needs them; phones per guardian_phone."""
    counts_only = name_access(viewer, manifest.trip, plate) == COUNTS
    stops = []
    for s in manifest.stops:
        row: dict[str, Any] = {"code": s.code, "name": s.name, "name_en": s.name_en,
                               "time": s.time, "action": s.action, "expected": len(s.pupils)}
        if not counts_only:
            row["pupils"] = [pupil_view(p, viewer, manifest.trip, plate) for p in s.pupils]
            row["staff"] = [{"duty": d.duty,
                             "name": d.name if name_access(viewer, manifest.trip, plate,
                                                           d.school) == FULL
                             else mask_pupil_name(d.name),
                             "phone": guardian_phone(d.phone, viewer) if d.phone else "",
                             "pupil": d.pupil_id}
                            for d in s.staff]
        stops.append(row)
    return {"trip": manifest.trip, "route": manifest.route, "direction": manifest.direction,
            "school": manifest.school, "expected": manifest.expected, "stops": stops}


def pupil_view(p: PupilRecord, viewer: Viewer, trip: str,
               plate: str | None = None) -> dict[str, Any]:
    """One pupil as `viewer` may read them on `trip`."""
    full = name_access(viewer, trip, plate, p.school) == FULL
    return {"id": p.id, "name": p.name if full else mask_pupil_name(p.name),
            "class": p.klass, "home_stop": p.home_stop,
            "guardians": [{"name": g.name if full else mask_pupil_name(g.name),
                           "relation": g.relation, "phone": guardian_phone(g.phone, viewer)}
                          for g in p.guardians]}
