"""Invariants of the demo town data in datasources/towns/demo/.

Only stdlib + shapely + pytest; nothing from the app packages.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import pytest
from shapely.geometry import LineString, Point, shape
from shapely.ops import substring, unary_union

# TOWN_DATA_DIR lets the same checks run against a real town's files.
DEMO = Path(os.environ.get("TOWN_DATA_DIR") or Path(__file__).resolve().parent.parent / "datasources" / "towns" / "demo")
JSON_FILES = ["town.json", "grids.geojson", "stations.json", "routes.json", "basemap.geojson"]
EPS = 1e-9  # degrees, for "inside bbox" and area tolerances (deg²)


def load(name):
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


def rows(name):
    with open(DEMO / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def town():
    return load("town.json")


@pytest.fixture(scope="module")
def grids():
    return load("grids.geojson")["features"]


@pytest.fixture(scope="module")
def villages():
    return rows("villages.csv")


@pytest.fixture(scope="module")
def stations():
    return load("stations.json")


@pytest.fixture(scope="module")
def routes():
    return load("routes.json")


@pytest.fixture(scope="module")
def vehicles():
    return rows("vehicles.csv")


@pytest.fixture(scope="module")
def basemap():
    return load("basemap.geojson")["features"]


@pytest.fixture(scope="module")
def proj(town):
    lat0 = town["center"][1]
    kx = 111320.0 * math.cos(math.radians(lat0))
    ky = 110540.0

    def xy(lon, lat):
        return (lon * kx, lat * ky)

    return xy, kx, ky


def metres_line(coords, xy):
    return LineString([xy(lon, lat) for lon, lat in coords])


def hhmm(s):
    assert re.fullmatch(r"\d\d:\d\d", s), s
    h, m = s.split(":")
    return int(h) * 60 + int(m)


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("name", JSON_FILES)
def test_json_files_parse_as_utf8(name):
    raw = (DEMO / name).read_bytes()
    json.loads(raw.decode("utf-8"))


def test_total_size_small():
    total = sum(p.stat().st_size for p in DEMO.iterdir() if p.is_file())
    assert total < 1.5 * 1024 * 1024


def test_town_header(town):
    assert town["code"] == "510000-QS"
    assert town["name"] == "青石镇" and town["name_en"] == "Qingshi Town"
    assert town["demo"] is True and town["timezone"] == "Asia/Shanghai"
    assert 60000 <= town["population"] <= 75000
    b = shape(town["boundary"])
    assert b.geom_type == "Polygon" and b.is_valid
    minx, miny, maxx, maxy = b.bounds
    assert town["bbox"] == pytest.approx([minx, miny, maxx, maxy], abs=2e-6)
    assert b.contains(Point(town["center"]))


def test_town_area(town, proj):
    _, kx, ky = proj
    area_km2 = shape(town["boundary"]).area * kx * ky / 1e6
    assert 65 <= area_km2 <= 75
    assert town["area_km2"] == pytest.approx(area_km2, abs=0.5)


# ---------------------------------------------------------------- grids
def test_grid_counts_and_codes(grids):
    levels = [f["properties"]["level"] for f in grids]
    assert (levels.count(1), levels.count(2), levels.count(3)) == (5, 13, 50)
    assert len(grids) == 68
    codes = [f["properties"]["code"] for f in grids]
    assert len(set(codes)) == len(codes)
    for f in grids:
        p = f["properties"]
        assert re.fullmatch(rf"G{p['level']}-\d\d", p["code"]), p["code"]


def test_grid_parents(grids):
    by = {f["properties"]["code"]: f["properties"] for f in grids}
    for p in by.values():
        if p["level"] == 1:
            assert p["parent"] is None and p["village"] is None
            assert p["workers"] == []
        else:
            assert p["parent"] in by, p["code"]
            assert by[p["parent"]]["level"] == p["level"] - 1
            assert p["village"]
        if p["level"] == 3:
            assert p["village"] == by[p["parent"]]["village"]
            assert 1 <= len(p["workers"]) <= 2
            for w in p["workers"]:
                assert w["id"] and w["name"] and re.fullmatch(r"1\d{10}", w["phone"])
        assert re.fullmatch(r"139\d{8}", p["leader"]["phone"])
        assert isinstance(p["households"], int) and p["households"] > 0
    kids = {}
    for p in by.values():
        kids.setdefault(p["parent"], []).append(p["code"])
    for p in by.values():
        if p["level"] == 1:
            assert 2 <= len(kids[p["code"]]) <= 3
        elif p["level"] == 2:
            assert 3 <= len(kids[p["code"]]) <= 5


def test_grid_geometries_single_valid_polygons(grids):
    for f in grids:
        g = shape(f["geometry"])
        assert g.geom_type == "Polygon", f["properties"]["code"]
        assert g.is_valid and g.area > 0, f["properties"]["code"]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_level_tiles_boundary(grids, town, level):
    boundary = shape(town["boundary"])
    polys = [shape(f["geometry"]) for f in grids if f["properties"]["level"] == level]
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            if polys[i].intersects(polys[j]):
                assert polys[i].intersection(polys[j]).area < EPS
    union = unary_union(polys)
    assert union.symmetric_difference(boundary).area < 0.001 * boundary.area


def test_children_within_parents(grids):
    geo = {f["properties"]["code"]: shape(f["geometry"]) for f in grids}
    for f in grids:
        p = f["properties"]
        if p["parent"]:
            child = geo[p["code"]]
            assert child.difference(geo[p["parent"]]).area < 1e-4 * child.area, p["code"]


# ---------------------------------------------------------------- villages
def test_villages(villages, grids, town):
    assert len(villages) == 13
    assert [v["code"] for v in villages] == [f"V{i:02d}" for i in range(1, 14)]
    kinds = [v["kind"] for v in villages]
    assert set(kinds) <= {"village", "community"}
    assert 2 <= kinds.count("community") <= 3
    assert any(v["name"] == "青石社区" and v["kind"] == "community" for v in villages)
    total = sum(int(v["population"]) for v in villages)
    assert 60000 <= total <= 75000
    assert abs(total - town["population"]) <= 2000
    l2 = {f["properties"]["code"]: f for f in grids if f["properties"]["level"] == 2}
    assert {f["properties"]["village"] for f in l2.values()} == {v["code"] for v in villages}
    for v in villages:
        g = l2[v["grid"]]
        assert g["properties"]["village"] == v["code"]
        assert shape(g["geometry"]).contains(Point(float(v["lon"]), float(v["lat"]))), v["code"]


# ---------------------------------------------------------------- stations
def test_stations(stations, villages, town):
    codes = {v["code"] for v in villages}
    boundary = shape(town["boundary"])
    assert len(stations) == 5
    assert [s["code"] for s in stations] == ["EC-00", "ES-01", "ES-02", "ES-03", "ES-04"]
    assert [s["kind"] for s in stations] == ["centre", "area", "area", "area", "area"]
    assert stations[0]["name"] == "青石镇应急中心"
    assert any("城镇" in s["name"] for s in stations) and any("建林" in s["name"] for s in stations)
    for s in stations:
        assert sorted(r["kind"] for r in s["rooms"]) == ["command", "medical", "shelter", "supplies"]
        for r in s["rooms"]:
            assert isinstance(r["capacity"], int)
            assert (r["capacity"] > 0) == (r["kind"] in ("medical", "shelter"))
        assert 8 <= len(s["inventory"]) <= 12
        for it in s["inventory"]:
            assert it["category"] in {"flood", "fire", "medical", "shelter", "general"}
            assert isinstance(it["quantity"], int) and isinstance(it["min_level"], int)
            assert it["expiry"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", it["expiry"])
        for t in s["teams"]:
            assert t["kind"] in {"party", "volunteer", "militia", "medical", "rescue"}
            assert 0 <= t["on_duty"] <= t["members"]
        assert set(s["covers"]) <= codes
        assert boundary.contains(Point(s["lon"], s["lat"]))
    assert "V01" in stations[0]["covers"]
    area_covers = [c for s in stations[1:] for c in s["covers"]]
    assert len(area_covers) == len(set(area_covers)) == 13
    assert set(area_covers) == codes


def test_station_demo_story(stations):
    skus = [it for s in stations for it in s["inventory"]]
    below = [it for it in skus if it["quantity"] < it["min_level"]]
    assert 2 <= len(below) <= 3
    soon = [it for it in skus if it["expiry"] and "2026-11-22" < it["expiry"] <= "2027-01-31"]
    assert 2 <= len(soon) <= 3
    jianlin = next(s for s in stations if "建林" in s["name"])
    assert any(t["kind"] == "rescue" and t["members"] == 26 for t in jianlin["teams"])
    assert any(t["kind"] == "medical" and t["members"] == 6 for t in jianlin["teams"])
    assert any(t["kind"] == "rescue" and t["members"] >= 50 for t in stations[0]["teams"])


def test_station_near_covered_villages(stations, villages, proj):
    xy, _, _ = proj
    pos = {v["code"]: xy(float(v["lon"]), float(v["lat"])) for v in villages}
    for s in stations[1:]:
        sp = xy(s["lon"], s["lat"])
        for c in s["covers"]:
            assert math.dist(sp, pos[c]) < 6000, (s["code"], c)


# ---------------------------------------------------------------- routes
def test_routes_basic(routes, vehicles):
    assert len(routes) >= 6
    codes = [r["code"] for r in routes]
    assert len(set(codes)) == len(codes)
    assert {r["school"] for r in routes} == {"青石中学", "青石镇中心小学"}
    for r in routes:
        assert 5 <= len(r["stops"]) <= 9, r["code"]
        assert r["stops"][-1]["name"].startswith(r["school"])
        assert len({s["code"] for s in r["stops"]}) == len(r["stops"])
        assert 2 <= len(r["trips"]) <= 3
        assert any(t["period"] == "am" and t["direction"] == "to_school" for t in r["trips"])
        assert any(t["period"] == "pm" and t["direction"] == "from_school" for t in r["trips"])
        assert set(r["staff"]) == {"driver", "teacher", "police", "warden"}
    assert len(vehicles) >= 12
    plates = [v["plate"] for v in vehicles]
    assert len(set(plates)) == len(plates)
    assert {v["route"] for v in vehicles} == set(codes)
    for v in vehicles:
        assert re.fullmatch(r"川F·D\d{5}", v["plate"]), v["plate"]
        assert 19 <= int(v["seats"]) <= 45


def stop_positions(route, xy):
    """Distance (m) along the path of each stop, in order; asserts <= 30 m off."""
    line = metres_line(route["path"], xy)
    pos, out = 0.0, []
    for s in route["stops"]:
        p = Point(xy(s["lon"], s["lat"]))
        rest = substring(line, pos, line.length)
        d = rest.distance(p) if rest.length > 0 else Point(rest.coords[0]).distance(p)
        assert d <= 30.0, (route["code"], s["code"], d)
        pos = pos + (rest.project(p) if rest.length > 0 else 0.0)
        out.append(pos)
    return out, line.length


def test_route_paths_pass_stops_in_order(routes, proj):
    xy, _, _ = proj
    for r in routes:
        pos, length = stop_positions(r, xy)
        assert pos == sorted(pos)
        assert abs(length - r["length_m"]) < 0.02 * length + 50


def test_timetables(routes, proj):
    xy, _, _ = proj
    for r in routes:
        pos, _ = stop_positions(r, xy)
        n = len(r["stops"])
        for t in r["trips"]:
            assert t["period"] in ("am", "pm") and t["direction"] in ("to_school", "from_school")
            assert t["days"] == "school"
            times = [hhmm(x) for x in t["stop_times"]]
            assert len(times) == n, t["code"]
            assert times == sorted(times), t["code"]
            order = pos if t["direction"] == "to_school" else [pos[-1] - p for p in reversed(pos)]
            for k in range(1, n):
                dt_h = (times[k] - times[k - 1]) / 60.0
                assert dt_h > 0, (t["code"], k)
                v = (order[k] - order[k - 1]) / 1000.0 / dt_h
                assert 10 <= v <= 60, (t["code"], k, v)
            if t["period"] == "am":
                assert times[-1] < 12 * 60
            else:
                assert times[0] >= 12 * 60


# ---------------------------------------------------------------- basemap
def test_basemap(basemap, routes, villages, proj):
    xy, _, _ = proj
    kinds = {f["properties"]["kind"] for f in basemap}
    assert {"boundary", "road", "river", "place", "school"} <= kinds
    assert kinds <= {"boundary", "road", "river", "water", "place", "school"}
    roads = [f for f in basemap if f["properties"]["kind"] == "road"]
    assert {f["properties"]["class"] for f in roads} == {"county", "town", "village"}
    # connected road graph (roads meet at shared vertices)
    lines = [metres_line(f["geometry"]["coordinates"], xy) for f in roads]
    net = unary_union(lines)
    assert net.buffer(1.0).geom_type == "Polygon"
    # route paths lie on the roads
    cover = net.buffer(2.0)
    for r in routes:
        path = metres_line(r["path"], xy)
        assert path.difference(cover).length < 1.0, r["code"]
    places = {f["properties"]["name"] for f in basemap if f["properties"]["kind"] == "place"}
    assert {v["name"] for v in villages} <= places
    schools = {f["properties"]["name"] for f in basemap if f["properties"]["kind"] == "school"}
    assert {r["school"] for r in routes} <= schools


# ---------------------------------------------------------------- bbox
def _all_coords(obj):
    if isinstance(obj, (list, tuple)) and len(obj) == 2 and all(isinstance(x, (int, float)) for x in obj):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _all_coords(o)


def test_all_coordinates_within_bbox(town, grids, basemap, stations, routes, villages):
    minx, miny, maxx, maxy = town["bbox"]
    pts = []
    for f in grids + basemap:
        pts += list(_all_coords(f["geometry"]["coordinates"]))
    pts += [(s["lon"], s["lat"]) for s in stations]
    for r in routes:
        pts += [(s["lon"], s["lat"]) for s in r["stops"]] + [tuple(p) for p in r["path"]]
    pts += [(float(v["lon"]), float(v["lat"])) for v in villages]
    pts.append(tuple(town["center"]))
    assert len(pts) > 1000
    for lon, lat in pts:
        assert minx - EPS <= lon <= maxx + EPS and miny - EPS <= lat <= maxy + EPS, (lon, lat)


# ---------------------------------------------------------------- units (issue 14)
def test_every_village_has_one_office_and_every_category_a_town_and_county_unit():
    units = load("units.json")
    villages = {r["code"] for r in rows("villages.csv")}
    offices = [u["village"] for u in units if u["tier"] == "village"]
    assert sorted(offices) == sorted(villages)
    categories = {"public_security", "city_management", "traffic", "market", "planning",
                  "estate", "fire", "environment", "water", "labour", "culture", "education",
                  "work_safety", "venues", "disputes"}
    for tier in ("town", "county"):
        handled = {c for u in units if u["tier"] == tier for c in u["categories"]}
        assert handled == categories, tier
    ids = [u["id"] for u in units] + [p["id"] for u in units for p in u["people"]]
    assert len(ids) == len(set(ids))
    assert all(u["people"] for u in units)

