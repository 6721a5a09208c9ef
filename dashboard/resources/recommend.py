"""Who and what is nearest to an incident: ranked dispatch recommendations (pure)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboard.geo.lookup import haversine_m
from dashboard.incidents.rules import Assignee, team_assignee_id
from dashboard.resources.kits import DEFAULT_KITS

# Straight-line distance × road factor ≈ road distance in a hilly merged town: the fallback
# when no road network is given (dashboard/resources/coverage.py routes the basemap's roads).
ROAD_FACTOR = 1.35
SPEED_KMH = 35.0


@dataclass(frozen=True)
class Candidate:
    """One recommendation: a grid worker or a station's team, with distance and time."""

    kind: str  # "grid_worker" | "team"
    name: str
    detail: str
    distance_m: float
    eta_min: float
    available: bool
    assignee: str  # the display name the work order shows
    assignee_id: str | None  # whom it names: grid_workers.id, or team_assignee_id(code)
    supplies: list[dict[str, Any]] = field(default_factory=list)
    name_en: str = ""  # the team's English name (people keep their own name)
    detail_en: str = ""  # the station's English name

    def label(self, lang: str) -> tuple[str, str]:
        """(name, detail) as the console shows them in `lang`."""
        if lang == "en":
            return self.name_en or self.name, self.detail_en or self.detail
        return self.name, self.detail


def travel(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    """Estimated road distance (m) and drive time (min) between two points."""
    metres = haversine_m(lon1, lat1, lon2, lat2) * ROAD_FACTOR
    return metres, metres / 1000 / SPEED_KMH * 60


def recommend(incident: dict[str, Any], workers: list[dict[str, Any]],
              stations: list[dict[str, Any]], limit: int = 6,
              route: Callable[[float, float, float, float], tuple[float, float]] | None = None,
              kits: Mapping[str, Mapping[str, int]] = DEFAULT_KITS,
              on_duty_id: str | None = None, away: Collection[str] = ()) -> list[Candidate]:
    """Grid workers of the incident's grid first, then teams ranked by drive time
    (over the road network when `route` is given, see dashboard/resources/coverage.py),
    each with what its station holds of the incident type's kit (dashboard/resources/kits.py,
    ZN_KITS_FILE)."""
    out: list[Candidate] = []
    # The worker the live rota has on duty now (`on_duty_id`: a swap or an edit on /admin
    # moves it) is asked first; without it, the one the work order was placed with. A
    # worker on leave (`away`) is listed last, not available.
    on_duty = incident.get("grid_worker")

    def first(w: dict[str, Any]) -> tuple[bool, bool]:
        mine = w.get("id") == on_duty_id if on_duty_id else w["name"] == on_duty
        return w.get("id") in away, not mine

    for w in sorted(workers, key=first):
        out.append(Candidate(kind="grid_worker", name=w["name"], detail=w.get("grid", ""),
                             distance_m=0.0, eta_min=0.0, available=w.get("id") not in away,
                             assignee=w["name"], assignee_id=w.get("id")))
    kit = kits.get(incident.get("category", ""), {})
    teams: list[Candidate] = []
    for st in stations:
        metres, minutes = (route or travel)(incident["lon"], incident["lat"], st["lon"],
                                            st["lat"])
        supplies = [{"sku": i["sku"], "name": i["name"], "name_en": i.get("name_en", ""),
                     "quantity": i["quantity"], "unit": i["unit"]}
                    for i in st["items"] if i["sku"] in kit and i["quantity"]]
        for tm in st["teams"]:
            free = tm["on_duty"] > 0 and tm.get("status", "standby") == "standby"
            teams.append(Candidate(kind="team", name=tm["name"], detail=st["name"],
                                   distance_m=round(metres), eta_min=round(minutes, 1),
                                   available=free, assignee=tm["name"],
                                   assignee_id=team_assignee_id(tm["code"]) if tm.get("code")
                                   else None, supplies=supplies,
                                   name_en=tm.get("name_en", ""),
                                   detail_en=st.get("name_en", "")))
    teams.sort(key=lambda c: (not c.available, c.eta_min, c.name))
    return (out + teams)[:limit]


def assignee_of(candidate: Candidate) -> Assignee:
    """Whom dispatching to this recommendation names on the work order."""
    return Assignee(candidate.assignee_id, candidate.assignee)
