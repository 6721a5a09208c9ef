"""The children's safety rules (issue 13), pure: what a trip's taps and its end mean.

- **遗留儿童 (child left on board):** when a trip ends (the bus at its last stop, or the trip
  window closed), every child boarded and not alighted raises an URGENT alert at once,
  naming the children and the bus. One episode per bus, trip and day.
- **超员 (overload):** more children on board than the bus has seats. Once per trip and day.
- **错站 (wrong stop):** a child alighting away from where they should (the school in the
  morning, their home stop in the afternoon). Once per child, trip and day.
- **未下车 (missed stop):** on the way home, the bus reached the stop after a child's home
  stop and the child is still on board. Once per child, trip and day.

A child still on board at the last stop is the left-on-board alert's (it names them). An
alert's key is built from the trip and
day, so every process, seeing the same events, names the same episode; the first to claim
it raises it (as the bus alerts do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dashboard.buses.boarding import ON_BOARD, Boarding, Tally
from dashboard.buses.pupils import ALIGHT, Manifest, PupilRecord, mask_pupil_name
from dashboard.buses.timetable import runs_on, trip_window
from dashboard.buses.tracking import TripPlan, drives_backwards
from dashboard.i18n.text import t
from dashboard.timeutil import hhmm

LEFT_ON_BOARD, OVERLOAD, WRONG_STOP = "left_child", "overload", "wrong_stop"
MISSED_STOP = "missed_stop"
# kind -> (category, priority): a child left on a bus is the most urgent thing there is.
CHILD_ALERTS: dict[str, tuple[str, str]] = {
    LEFT_ON_BOARD: ("education", "urgent"),
    OVERLOAD: ("traffic", "high"),
    WRONG_STOP: ("education", "high"),
    MISSED_STOP: ("education", "high"),
}


@dataclass(frozen=True)
class ChildAlert:
    """One alert about children on a bus: what, which bus and trip, who, where, when."""

    kind: str
    plate: str
    trip: str
    day: str
    at: datetime
    lon: float
    lat: float
    pupils: tuple[PupilRecord, ...] = ()
    value: int | None = None  # on board (overload)
    limit: int | None = None  # seats (overload)
    stop: str | None = None  # where it happened (wrong stop)

    @property
    def key(self) -> str:
        """The episode's name, the same in every process: bus:<plate>:<kind>:<trip>:<day>
        (and the child for a wrong stop)."""
        tail = f":{self.pupils[0].id}" if self.kind in (WRONG_STOP, MISSED_STOP) \
            and self.pupils else ""
        return f"bus:{self.plate}:{self.kind}:{self.trip}:{self.day}{tail}"


def _records(manifest: Manifest, ids: list[str]) -> tuple[PupilRecord, ...]:
    by_id = {p.id: p for s in manifest.stops for p in s.pupils}
    return tuple(by_id.get(i) or PupilRecord(i, i, "", "", "", ()) for i in sorted(ids))


def left_on_board(manifest: Manifest, tally: Tally, plate: str, day: str, at: datetime,
                  lon: float, lat: float) -> ChildAlert | None:
    """At the end of a trip: the urgent alert naming every child still on board, or None."""
    on = [pid for pid, st in tally.pupils.items() if st.state == ON_BOARD]
    if not on:
        return None
    return ChildAlert(LEFT_ON_BOARD, plate, manifest.trip, day, at, lon, lat,
                      _records(manifest, on), value=len(on))


def windows_closed(plans: Mapping[str, TripPlan], day: date, now: datetime,
                   holidays: Iterable[date] = (),
                   within: timedelta = timedelta(hours=6)) -> list[tuple[str, datetime]]:
    """The trips of `day` whose window (timetable.trip_window) closed before `now`, and no
    longer ago than `within`, with when it closed: each is due its 遗留儿童 check from the
    record, whatever the tracker saw (a bus without GPS, a server restarted in the grace)."""
    hol = frozenset(holidays)
    out = []
    for code, plan in plans.items():
        if not runs_on(plan.days, day, hol):
            continue
        closed = trip_window(plan.times_on(day))[1]
        if closed < now <= closed + within:
            out.append((code, closed))
    return sorted(out, key=lambda x: (x[1], x[0]))


def last_plate(events: Iterable[Boarding]) -> str | None:
    """The bus of a trip's taps: the plate of its latest event that names one."""
    plates = [e for e in events if e.plate]
    return max(plates, key=lambda e: (e.at, e.seq)).plate if plates else None


def overload(manifest: Manifest, tally: Tally, seats: int | None, plate: str, day: str,
             at: datetime, lon: float, lat: float) -> ChildAlert | None:
    """More children on board than seats (GB 24407: 45/56 at most), or None."""
    if seats is None or tally.on_board <= seats:
        return None
    return ChildAlert(OVERLOAD, plate, manifest.trip, day, at, lon, lat,
                      value=tally.on_board, limit=seats)


def missed_stop(manifest: Manifest, tally: Tally, reached: int, plate: str, day: str,
                at: datetime, lon: float, lat: float) -> list[ChildAlert]:
    """On an afternoon trip, the bus reached stop `reached` (driving order): every child
    whose home stop is the one before and who is still on board missed it (one alert each)."""
    if not drives_backwards(manifest.direction) or reached < 1 or \
            reached >= len(manifest.stops):
        return []
    before = manifest.stops[reached - 1]
    return [ChildAlert(MISSED_STOP, plate, manifest.trip, day, at, lon, lat, (p,),
                       stop=before.code)
            for p in before.pupils
            if (st := tally.pupils.get(p.id)) is not None and st.state == ON_BOARD]


def alight_stop(manifest: Manifest, pupil: str) -> str | None:
    """Where a child should get off this trip: the school (the last stop) in the morning,
    their home stop in the afternoon."""
    if drives_backwards(manifest.direction):
        return manifest.home_stop(pupil)
    return manifest.stops[-1].code if manifest.stops else None


def wrong_stop(manifest: Manifest, event: Boarding, lon: float, lat: float) -> ChildAlert | None:
    """A child alighting at a stop other than theirs (when the stop is known), or None."""
    if event.event != ALIGHT or event.stop is None or event.pupil not in manifest.pupil_ids:
        return None
    expected = alight_stop(manifest, event.pupil)
    if expected is None or event.stop == expected:
        return None
    return ChildAlert(WRONG_STOP, event.plate or "", manifest.trip, event.day, event.at,
                      lon, lat, _records(manifest, [event.pupil]), stop=event.stop)


def named(pupils: tuple[PupilRecord, ...], lang: str) -> str:
    """Children as a work order may name them: pupil id, masked name, class."""
    return t("ca_sep", lang).join(
        f"{p.id}（{mask_pupil_name(p.name)}，{p.klass}）" if lang == "zh"
        else f"{p.id} ({mask_pupil_name(p.name)}, {p.klass})" for p in pupils)


def on_board_note(manifest: Manifest, tally: Tally, lang: str = "zh") -> str:
    """What a bus alert (SOS, overspeed, off route…) adds about the children on the bus:
    how many and who (by id, masked), or "" when nobody is on board."""
    on = [pid for pid, st in tally.pupils.items() if st.state == ON_BOARD]
    if not on:
        return ""
    return t("ca_on_board", lang).format(n=len(on), who=named(_records(manifest, on), lang))


def child_alert_text(alert: ChildAlert, lang: str = "zh",
                     stop_names: dict[str, str] | None = None) -> tuple[str, str]:
    """(title, description) of a child alert. The title (on the wall too) says how many and
    which bus, never a name; the description names each child by pupil id, masked name
    (张*明) and class: a work order's description is public through the Open311 reads, so
    the whole name is read from the register by id (the manifest door, audited)."""
    names = stop_names or {}
    kind = t(f"ca_{alert.kind}", lang)
    title = t(f"ca_title_{alert.kind}", lang).format(
        kind=kind, plate=alert.plate, n=alert.value or len(alert.pupils),
        seats=alert.limit or 0)
    who = named(alert.pupils, lang)
    desc = t("ca_desc", lang).format(kind=kind, plate=alert.plate, trip=alert.trip,
                                     at=hhmm(alert.at), who=who or "-")
    if alert.stop:
        key = "ca_home" if alert.kind == MISSED_STOP else "ca_stop"
        desc += t(key, lang).format(stop=names.get(alert.stop, alert.stop))
    return title[:100], desc


def late_alight_note(manifest: Manifest, tally: Tally, event: Boarding, lang: str = "zh") -> str:
    """The note a 遗留儿童 work order gets when a child's alight tap arrives after the alert
    (an escort's queue sent late): who got off when, and how many are still on board."""
    who = named(_records(manifest, [event.pupil]), lang)
    return t("ca_late_alight", lang).format(who=who, at=hhmm(event.at), n=tally.on_board)
