"""GTFS static import: routes, stops, trips and stop times of an operator's feed -> routes.json.

The result has the town folder's `routes.json` format, so a real operator's GTFS export
becomes the routes, stops and timetables that `zhongnao load-town --replace` loads.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import zipfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NEEDED = ("routes.txt", "trips.txt", "stop_times.txt", "stops.txt")
OPTIONAL = ("calendar.txt", "shapes.txt")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
WEEKEND = ("saturday", "sunday")


class GtfsError(ValueError):
    """A feed that lacks a file or a column this import needs."""


def read_feed(path: str | Path) -> dict[str, list[dict[str, str]]]:
    """The feed's tables (a .zip or a folder of .txt files) as lists of rows."""
    p = Path(path)
    tables: dict[str, list[dict[str, str]]] = {}

    def parse(text: str) -> list[dict[str, str]]:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k}
                for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))]

    if p.is_dir():
        for name in NEEDED + OPTIONAL:
            if (p / name).exists():
                tables[name] = parse((p / name).read_text("utf-8"))
    else:
        with zipfile.ZipFile(p) as z:
            names = {Path(n).name: n for n in z.namelist()}
            for name in NEEDED + OPTIONAL:
                if name in names:
                    tables[name] = parse(z.read(names[name]).decode("utf-8"))
    missing = [n for n in NEEDED if n not in tables]
    if missing:
        raise GtfsError(f"GTFS feed {p} lacks {', '.join(missing)}")
    return tables


def _hhmm(value: str) -> str:
    h, m, _ = (int(x) for x in value.split(":"))
    return f"{h % 24:02d}:{m:02d}"


def _days(row: dict[str, str] | None) -> str:
    if row is None:
        return "school"
    on = {d for d in WEEKDAYS + WEEKEND if row.get(d) == "1"}
    if on == set(WEEKDAYS + WEEKEND):
        return "daily"
    if on and on <= set(WEEKEND):
        return "weekend"
    return "school"


def _length_m(path: list[list[float]]) -> int:
    total = 0.0
    for (x1, y1), (x2, y2) in zip(path, path[1:], strict=False):
        kx = 111_320.0 * math.cos(math.radians((y1 + y2) / 2))
        total += math.hypot((x2 - x1) * kx, (y2 - y1) * 110_574.0)
    return round(total)


def routes_from_gtfs(t: dict[str, list[dict[str, str]]]) -> list[dict[str, Any]]:
    """Town routes (routes.json rows) from GTFS tables; short-turn trips are skipped."""
    stops = {s["stop_id"]: s for s in t["stops.txt"]}
    calendar = {c["service_id"]: c for c in t.get("calendar.txt", [])}
    times: dict[str, list[dict[str, str]]] = {}
    for st in t["stop_times.txt"]:
        times.setdefault(st["trip_id"], []).append(st)
    for rows in times.values():
        rows.sort(key=lambda r: int(r["stop_sequence"]))
    shapes: dict[str, list[tuple[int, list[float]]]] = {}
    for sp in t.get("shapes.txt", []):
        shapes.setdefault(sp["shape_id"], []).append(
            (int(sp["shape_pt_sequence"]), [float(sp["shape_pt_lon"]), float(sp["shape_pt_lat"])]))
    out = []
    for r in t["routes.txt"]:
        trips = [tr for tr in t["trips.txt"] if tr["route_id"] == r["route_id"]
                 and tr["trip_id"] in times]
        outbound = [tr for tr in trips if tr.get("direction_id", "0") in ("", "0")]
        if not outbound:
            log.warning("GTFS route %s has no outbound trip; skipped", r["route_id"])
            continue
        main = max(outbound, key=lambda tr: len(times[tr["trip_id"]]))
        order = [st["stop_id"] for st in times[main["trip_id"]]]
        code = r["route_id"][:16]
        route_stops: list[dict[str, Any]] = [
                       {"code": f"{code}-{sid}"[:24], "name": stops[sid]["stop_name"],
                        "name_en": stops[sid].get("stop_desc", ""),
                        "lon": float(stops[sid]["stop_lon"]),
                        "lat": float(stops[sid]["stop_lat"])} for sid in order]
        shape = sorted(shapes.get(main.get("shape_id", ""), []))
        path = [p for _, p in shape] or [[s["lon"], s["lat"]] for s in route_stops]
        out_trips = []
        for tr in trips:
            seq = times[tr["trip_id"]]
            back = tr.get("direction_id") == "1"
            if [st["stop_id"] for st in seq] != (order[::-1] if back else order):
                log.warning("GTFS trip %s does not serve every stop of %s; skipped",
                            tr["trip_id"], code)
                continue
            hhmm = [_hhmm(st["departure_time"] or st["arrival_time"]) for st in seq]
            out_trips.append({"code": tr["trip_id"][:24], "period": "am" if hhmm[0] < "12:00"
                              else "pm", "direction": "from_school" if back else "to_school",
                              "stop_times": hhmm, "days": _days(calendar.get(tr["service_id"]))})
        name = r.get("route_long_name") or r.get("route_short_name") or code
        out.append({"code": code, "name": name[:60], "name_en": r.get("route_desc", "")[:80],
                    "school": main.get("trip_headsign", "")[:60], "stops": route_stops,
                    "path": path, "length_m": _length_m(path),
                    "trips": sorted(out_trips, key=lambda x: x["stop_times"][0]),
                    "staff": {}})
    return out


def import_gtfs(feed: str | Path, town_dir: str | Path) -> int:
    """Write the feed's routes as `routes.json` into a town folder; returns the route count."""
    routes = routes_from_gtfs(read_feed(feed))
    target = Path(town_dir) / "routes.json"
    target.write_text(json.dumps(routes, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return len(routes)
