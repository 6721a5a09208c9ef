"""Travel time over the basemap road network, and which villages a station reaches in time.

Roads come from the town's basemap (LineString features of kind "road"); a point joins the
network at its nearest road vertex, the gap driven at access speed with the road factor.
Without a network (or between unconnected parts) the estimate is the straight line times
the road factor at the default speed (the rule the console used before).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from dashboard.geo.lookup import haversine_m

ROAD_FACTOR = 1.35
DEFAULT_KMH = 35.0
ACCESS_KMH = 20.0
# Emergency vehicles on rural Chinese roads; lower than the signposted limits on purpose.
CLASS_KMH = {"county": 50.0, "town": 40.0, "village": 30.0}
RADIUS_M = 5000.0


def straight(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    """Straight line x road factor: metres and minutes at the default speed."""
    metres = haversine_m(lon1, lat1, lon2, lat2) * ROAD_FACTOR
    return metres, metres / 1000 / DEFAULT_KMH * 60


@dataclass
class RoadNetwork:
    """The basemap's roads as a weighted graph (minutes and metres per edge)."""

    graph: nx.Graph
    nodes: list[tuple[float, float]]

    @classmethod
    def from_basemap(cls, basemap: dict[str, Any] | None) -> RoadNetwork:
        """Build from a GeoJSON FeatureCollection (empty when there are no roads)."""
        g: nx.Graph = nx.Graph()
        for f in (basemap or {}).get("features", []):
            props = f.get("properties") or {}
            geom = f.get("geometry") or {}
            if props.get("kind") != "road" or geom.get("type") not in ("LineString",
                                                                        "MultiLineString"):
                continue
            lines = [geom["coordinates"]] if geom["type"] == "LineString" else geom["coordinates"]
            kmh = CLASS_KMH.get(props.get("class", ""), DEFAULT_KMH)
            for line in lines:
                pts = [(round(x, 6), round(y, 6)) for x, y, *_ in line]
                for a, b in zip(pts, pts[1:], strict=False):
                    metres = haversine_m(a[0], a[1], b[0], b[1])
                    minutes = metres / 1000 / kmh * 60
                    old = g.get_edge_data(a, b)
                    if old is None or old["minutes"] > minutes:
                        g.add_edge(a, b, metres=metres, minutes=minutes)
        return cls(g, list(g.nodes))

    def __bool__(self) -> bool:
        return self.graph.number_of_edges() > 0

    def snap(self, lon: float, lat: float) -> tuple[tuple[float, float], float]:
        """Nearest road vertex and the straight distance to it (metres)."""
        k = math.cos(math.radians(lat))
        best = min(self.nodes, key=lambda n: ((n[0] - lon) * k) ** 2 + (n[1] - lat) ** 2)
        return best, haversine_m(lon, lat, best[0], best[1])

    def travel_from(self, lon: float, lat: float,
                    targets: Iterable[tuple[float, float]]) -> list[tuple[float, float, str]]:
        """Metres, minutes and method ('road'/'line') from one point to each target."""
        targets = list(targets)
        if not self:
            return [(*straight(lon, lat, x, y), "line") for x, y in targets]
        source, gap = self.snap(lon, lat)
        minutes = nx.single_source_dijkstra_path_length(self.graph, source, weight="minutes")
        metres = nx.single_source_dijkstra_path_length(self.graph, source, weight="metres")
        out = []
        for x, y in targets:
            node, gap2 = self.snap(x, y)
            if node not in minutes:
                out.append((*straight(lon, lat, x, y), "line"))
                continue
            access = (gap + gap2) * ROAD_FACTOR
            out.append((metres[node] + access,
                        minutes[node] + access / 1000 / ACCESS_KMH * 60, "road"))
        return out

    def travel(self, lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
        """Road metres and minutes between two points (straight-line fallback)."""
        metres, minutes, _ = self.travel_from(lon1, lat1, [(lon2, lat2)])[0]
        return metres, minutes


def coverage_rows(stations: list[dict[str, Any]], villages: list[dict[str, Any]],
                  net: RoadNetwork, target_min: float,
                  radius_m: float = RADIUS_M) -> list[dict[str, Any]]:
    """Per village: its station (by `covers`, else the quickest), distance, minutes,
    and whether it is outside the radius or the target time."""
    times = {st["code"]: net.travel_from(st["lon"], st["lat"],
                                         [(v["lon"], v["lat"]) for v in villages])
             for st in stations}
    rows = []
    for n, v in enumerate(villages):
        own = [st for st in stations if v["code"] in (st.get("covers") or [])
               and st.get("kind") != "centre"]
        pick = own or stations
        best = min(pick, key=lambda st: times[st["code"]][n][1])
        metres, minutes, how = times[best["code"]][n]
        line = haversine_m(best["lon"], best["lat"], v["lon"], v["lat"])
        rows.append({"village": v["code"], "name": v.get("name", ""), "lon": v["lon"],
                     "lat": v["lat"],
                     "name_en": v.get("name_en", ""), "station": best["code"],
                     "station_name": best.get("name", ""),
                     "station_name_en": best.get("name_en", ""),
                     "line_m": round(line), "road_m": round(metres),
                     "minutes": round(minutes, 1), "method": how,
                     "outside_radius": line > radius_m, "late": minutes > target_min,
                     "flagged": line > radius_m or minutes > target_min,
                     "all": {st["code"]: round(times[st["code"]][n][1], 1) for st in stations}})
    return rows
