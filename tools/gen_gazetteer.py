"""Write datasources/towns/demo/gazetteer.csv: the demo town's address points.

Derived from the town's own files (no network, byte-identical on rerun): each village and
community at its committee's point, each village's groups (村民小组, one per level-3 grid,
at the grid's representative point), the schools and emergency stations, and the bridges
where a road crosses the river. A real town replaces the file with its own list (the
columns are docs/ingest.md's); Open311's address_id and address_string are looked up in it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from shapely.geometry import shape

TOWN = Path(__file__).resolve().parents[1] / "datasources" / "towns" / "demo"
CN_NUM = "一二三四五六七八九十"
COLUMNS = ["id", "kind", "name", "name_en", "lat", "lon", "village"]


def rows() -> list[list[str]]:
    """Every address point of the demo town, by id."""
    with (TOWN / "villages.csv").open(encoding="utf-8", newline="") as fh:
        villages = list(csv.DictReader(fh))
    grids = json.loads((TOWN / "grids.geojson").read_text(encoding="utf-8"))["features"]
    basemap = json.loads((TOWN / "basemap.geojson").read_text(encoding="utf-8"))["features"]
    stations = json.loads((TOWN / "stations.json").read_text(encoding="utf-8"))
    out: list[list[str]] = []

    def add(pid: str, kind: str, name: str, name_en: str, lat: float, lon: float,
            village: str = "") -> None:
        out.append([pid, kind, name, name_en, f"{lat:.6f}", f"{lon:.6f}", village])

    for v in villages:
        add(f"A-{v['code']}", "village", v["name"], v["name_en"], float(v["lat"]),
            float(v["lon"]), v["code"])
        if v["kind"] != "village":
            continue  # a community's streets are its landmarks; groups are a village's
        cells = sorted((f for f in grids if f["properties"]["level"] == 3
                        and f["properties"].get("village") == v["code"]),
                       key=lambda f: f["properties"]["code"])
        for i, cell in enumerate(cells):
            p = shape(cell["geometry"]).representative_point()
            add(f"A-{v['code']}-{i + 1:02d}", "group", f"{v['name']}{CN_NUM[i]}组",
                f"{v['name_en']} Group {i + 1}", p.y, p.x, v["code"])
    n = 0
    for f in basemap:
        if f["properties"]["kind"] == "school":
            n += 1
            lon, lat = f["geometry"]["coordinates"]
            add(f"L-S{n:02d}", "landmark", f["properties"]["name"],
                f["properties"]["name_en"], lat, lon)
    for st in stations:
        add(f"L-{st['code']}", "landmark", st["name"], st["name_en"], st["lat"], st["lon"])
    river = next(shape(f["geometry"]) for f in basemap if f["properties"]["kind"] == "river")
    seen: set[str] = set()
    for f in basemap:
        props = f["properties"]
        if props["kind"] != "road" or props["name"] in seen:
            continue
        crossing = shape(f["geometry"]).intersection(river)
        if crossing.is_empty:
            continue
        seen.add(props["name"])
        p = crossing.representative_point()
        add(f"L-B{len(seen):02d}", "landmark", f"{props['name']}青石河桥",
            f"{props['name_en']} Bridge over the Qingshi River", p.y, p.x)
    return out


def main() -> None:
    """Write the file."""
    with (TOWN / "gazetteer.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows())


if __name__ == "__main__":
    main()
