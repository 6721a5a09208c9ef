"""View models of the wall's added panels: grid heat, bus punctuality, station readiness,
alerts; read from the live state only (no database on the push path)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dashboard.buses.board import status_label
from dashboard.grids.stats import choropleth, open_by_level
from dashboard.i18n.text import name, t
from dashboard.incidents.lifecycle import OPEN_STATES, is_overdue
from dashboard.incidents.video import image_allowed
from dashboard.screens.live import LiveState
from dashboard.timeutil import as_utc, hhmm
from dashboard.town import GridCell

# The trip states the wall counts; their labels are the bus page's (buses/board.STATUSES).
TRIP_STATUSES = ("on_time", "early", "late", "not_started", "done")
MAX_ALERTS = 12
CAST_FRESH_S = 120  # a screen that loads later does not replay an old 投屏


def grid_heat(state: LiveState, cells: Mapping[str, GridCell],
              chain: Mapping[str, Mapping[int, int | str]], lang: str) -> dict[str, Any]:
    """Level-2 choropleth of open incidents: colour and hover text per grid."""
    open_grids = [i.grid for i in state.incidents.values() if i.state in OPEN_STATES]
    counts = open_by_level(open_grids, chain, 2)  # type: ignore[arg-type]
    values: dict[str, float | None] = {c.code: counts.get(c.code, 0) for c in cells.values()
                                       if c.level == 2}
    result = choropleth(values, "open")
    tips = {code: f"{name({'name': cells[code].name, 'name_en': cells[code].name_en}, lang)}"
                  f" · {t('gs_m_open', lang)} {n}" for code, n in values.items()}
    return {"level": 2, "parent": None, "url": "/api/town/grids-2.geojson", "wall": True,
            "colours": result["colours"], "tips": tips, "counts": counts}


def punctuality(state: LiveState, lang: str, limit: int = 3,
                unfit: Iterable[str] = ()) -> dict[str, Any]:
    """On-time share and counts of trips running now, and the latest trips first; the buses
    not fit to drive (不宜出车, dashboard/buses/fleet.py) are named whether or not they run.

    Trip rows come from the bus tracker (`LiveState.trips`); with none running the panel says
    so and shows how many buses report positions.
    """
    trips: Mapping[str, Mapping[str, Any]] = state.trips
    marks = [{"plate": p, "text": t("fleet.not_fit", lang)} for p in sorted(unfit)]
    if not trips:
        return {"available": False, "unfit": marks,
                "text": t("wall_no_trips", lang).format(live=len(state.vehicles))}
    counts = {s: 0 for s in TRIP_STATUSES}
    for row in trips.values():
        status = row.get("status")
        if status in counts:
            counts[status] += 1
    running = counts["on_time"] + counts["early"] + counts["late"]
    late = sorted((r for r in trips.values() if r.get("status") == "late"),
                  key=lambda r: -(r.get("delay_min") or 0))
    return {
        "available": True,
        "unfit": marks,
        "rate": round(100.0 * (counts["on_time"] + counts["early"]) / running, 1)
        if running else None,
        "counts": [{"key": s, "label": status_label(s, lang), "n": counts[s]}
                   for s in TRIP_STATUSES],
        "late": [{"plate": r.get("plate", ""), "route": r.get("route_name") or r.get("route", ""),
                  "next": r.get("next_stop") or "", "delay": r.get("delay_min") or 0}
                 for r in late[:limit]],
    }


def snapshot_of(inc: Any, origins: tuple[str, ...]) -> str | None:
    """A video alert's snapshot for the focus card, when its origin is allowed (ZN_IMAGE_ORIGINS,
    as the Content-Security-Policy): the wall never shows a broken image."""
    url = getattr(inc, "photo_url", None)
    return url if getattr(inc, "camera_id", None) and image_allowed(url, origins) else None


def alerts(state: LiveState, cells: Mapping[str, GridCell], lang: str,
           now: datetime, origins: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What takes the hall's attention: urgent (SOS) incidents, the bus tracker's alerts and
    overdue incidents.

    Bus alerts are the tracker's work orders (source 'bus': overspeed against the route's
    limits, off-route, signal lost, ...), raised once per episode, so the wall and the
    incident loop agree. Each alert has a stable `key`, so a screen focuses it once, when new.
    """
    out: list[dict[str, Any]] = []
    for inc in sorted(state.incidents.values(), key=lambda i: i.created_at, reverse=True):
        if inc.state not in OPEN_STATES:
            continue
        cell = cells.get(inc.grid or "")
        where = name({"name": cell.name, "name_en": cell.name_en}, lang) if cell else ""
        kind = ("sos" if inc.priority == "urgent" else "bus" if inc.source == "bus"
                else "overdue" if is_overdue(inc.state, inc.deadline_at, now) else None)
        if kind is None:
            continue
        at = inc.deadline_at or now if kind == "overdue" else inc.created_at
        out.append({"key": f"{kind}-{inc.id}", "kind": kind,
                    "label": t(f"wall_alert_{kind}", lang),
                    "text": f"{inc.ref} {inc.title} · {where}", "lon": inc.lon,
                    "lat": inc.lat, "id": inc.id, "time": hhmm(at),
                    "img": snapshot_of(inc, origins), "photo": inc.photo})
    order = {"sos": 0, "bus": 1, "overdue": 2}
    out.sort(key=lambda a: order[a["kind"]])
    return out[:MAX_ALERTS]


def cast_focus(state: LiveState, now: datetime,
               origins: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The incident a duty officer sent to the wall (投屏), with where it is, if fresh."""
    cast: Mapping[str, Any] | None = getattr(state, "cast", None)
    if not cast:
        return None
    inc = state.incidents.get(int(cast.get("incident_id", 0)))
    at = float(cast.get("at", 0))
    if inc is None:
        return None
    return {"key": f"cast-{inc.id}-{at}", "id": inc.id, "ref": inc.ref, "title": inc.title,
            "lon": inc.lon, "lat": inc.lat, "by": cast.get("by", ""), "at": at,
            "fresh": as_utc(now).timestamp() - at <= CAST_FRESH_S,
            "img": snapshot_of(inc, origins), "photo": inc.photo}
