"""The school's view of today's shuttles (issue 13: 未到 is shown to the attendant and the
school): for each trip carrying the school's pupils, the counts of its own children and who
is absent, still on board or not yet on, names as the reader may see them (pupils.pupil_view:
whole for the school's own staff and officers, masked for others)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dashboard.buses.boarding import ALIGHTED, EXPECTED, ON_BOARD, Tally
from dashboard.buses.pupils import ABSENT, Manifest, Viewer, pupil_view
from dashboard.buses.tracking import drives_backwards

# The groups a school reads, most urgent first: absent children (call home), children on a
# bus, children not yet on; those who got off are a count.
GROUPS: tuple[str, ...] = (ABSENT, ON_BOARD, EXPECTED)


def school_trips(school: str, found: Iterable[tuple[Manifest, Tally]], viewer: Viewer,
                 plates: Mapping[str, str | None],
                 over: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """One row per trip with children of `school` on its manifest, in departure order:
    trip, route, direction, the departure and arrival times, the bus (`plates` by trip), the
    counts over the school's children and, per group, each child (id, name, class, stop,
    the time of their last tap). `over`: the trips whose window has closed (a child still
    "not on yet" then never rode, nor was marked absent)."""
    rows = []
    for manifest, tally in found:
        ours = [(s, p) for s in manifest.stops for p in s.pupils if p.school == school]
        if not ours:
            continue
        plate = plates.get(manifest.trip)
        groups: dict[str, list[dict[str, Any]]] = {g: [] for g in (*GROUPS, ALIGHTED)}
        for stop, p in ours:
            st = tally.pupils.get(p.id)
            state = st.state if st is not None else EXPECTED
            last = st.last if st is not None else None
            groups.setdefault(state, []).append({
                "id": p.id, "name": pupil_view(p, viewer, manifest.trip, plate)["name"],
                "class": p.klass, "stop": stop.name, "stop_en": stop.name_en or stop.name,
                "at": last.at if last is not None else None})
        times = [s.time for s in manifest.stops if s.time]
        rows.append({
            "trip": manifest.trip, "route": manifest.route, "plate": plate,
            "over": manifest.trip in over,
            "home": drives_backwards(manifest.direction),
            "departs": min(times) if times else "", "arrives": max(times) if times else "",
            "counts": {"expected": len(ours), **{g: len(groups[g])
                                                 for g in (ON_BOARD, ALIGHTED, ABSENT)}},
            "groups": {g: sorted(groups[g], key=lambda x: (x["class"], x["id"]))
                       for g in GROUPS}})
    return sorted(rows, key=lambda r: (r["departs"], r["trip"]))
