#!/usr/bin/env python3
"""Generate the fictional demo town 青石镇 (Qingshi Town) for zhongnao.

虚构演示数据 / fictional demo data.  Deterministic: a fixed random seed, shapely
only, no network.  Writes every file in ``datasources/towns/demo/``; a rerun
produces byte-identical files.

    python tools/gen_demo_town.py [--out DIR]

Geometry is built in local metres (equirectangular around LAT0) and written as
WGS-84 lon/lat rounded to 6 decimals.  The grid polygons are built as one planar
partition (snap-rounded linework polygonized on a 1e-6 degree grid), so the
three grid levels tile the boundary exactly and nest exactly.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import io
import json
import math
import random
from pathlib import Path

import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.ops import polygonize, unary_union

SEED = 20261122
LON0, LAT0 = 104.45, 30.55
KX = 111320.0 * math.cos(math.radians(LAT0))  # metres per degree of longitude
KY = 110540.0  # metres per degree of latitude
GRID = 1e-6  # degree precision grid
TARGET_AREA_M2 = 70.2e6
POPULATION = 67300

OUT_DEFAULT = Path(__file__).resolve().parent.parent / "datasources" / "towns" / "demo"


# ---------------------------------------------------------------- helpers
def to_deg(x: float, y: float) -> tuple[float, float]:
    return (round(LON0 + x / KX, 6), round(LAT0 + y / KY, 6))


def to_m(lon: float, lat: float) -> tuple[float, float]:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


def geom_to_deg(g):
    return shapely.transform(g, lambda c: _to_deg_arr(c))


def _to_deg_arr(c):
    out = c.copy()
    out[:, 0] = LON0 + c[:, 0] / KX
    out[:, 1] = LAT0 + c[:, 1] / KY
    return out


def rnd(v: float) -> float:
    r = round(v, 6)
    return 0.0 if r == 0 else r


def rcoords(coords):
    return [[rnd(x), rnd(y)] for x, y in coords]


def poly_geojson(p: Polygon) -> dict:
    p = shapely.geometry.polygon.orient(p, 1.0)
    return {
        "type": "Polygon",
        "coordinates": [rcoords(p.exterior.coords)] + [rcoords(r.coords) for r in p.interiors],
    }


def dist(a, b) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def dump_json(obj, path: Path, compact: bool = False) -> None:
    if compact:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------- names
SURNAMES = list("王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林唐邓曾谢彭蒋廖冯袁杜")
GIVEN = [
    "建国", "秀英", "志强", "丽华", "伟", "芳", "军", "敏", "静", "勇", "洪", "平", "刚",
    "桂芳", "德明", "玉兰", "春梅", "文杰", "明", "晓燕", "海涛", "小红", "国华", "永福",
    "琴", "德贵", "红梅", "家豪", "思远", "雪梅", "光荣", "长青", "学文", "兴华", "淑芬",
]


class Namer:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def person(self) -> str:
        for _ in range(1000):
            n = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            if n not in self.used:
                self.used.add(n)
                return n
        raise RuntimeError("out of names")

    def phone(self) -> str:
        return "139" + "".join(str(self.rng.randrange(10)) for _ in range(8))


# (code, name, name_en, pinyin short, kind, ring, angle_deg, scale, n_level3)
VILLAGES = [
    ("V01", "青石社区", "Qingshi Community", "Qingshi", "community", "seat", 0, 0.0, 5),
    ("V02", "新街社区", "Xinjie Community", "Xinjie", "community", "inner", 200, 0.42, 4),
    ("V03", "建林村", "Jianlin Village", "Jianlin", "village", "outer", 50, 0.74, 4),
    ("V04", "河坝村", "Heba Village", "Heba", "village", "outer", 140, 0.74, 4),
    ("V05", "桂花村", "Guihua Village", "Guihua", "village", "outer", 275, 0.74, 4),
    ("V06", "石桥村", "Shiqiao Village", "Shiqiao", "village", "inner", 290, 0.42, 3),
    ("V07", "柏林村", "Bailin Village", "Bailin", "village", "inner", 20, 0.42, 3),
    ("V08", "金龙村", "Jinlong Village", "Jinlong", "village", "inner", 110, 0.42, 3),
    ("V09", "白鹤村", "Baihe Village", "Baihe", "village", "outer", 95, 0.74, 4),
    ("V10", "红岩村", "Hongyan Village", "Hongyan", "village", "outer", 185, 0.74, 4),
    ("V11", "双河村", "Shuanghe Village", "Shuanghe", "village", "outer", 5, 0.74, 4),
    ("V12", "松柏村", "Songbai Village", "Songbai", "village", "outer", 230, 0.74, 4),
    ("V13", "桃源村", "Taoyuan Village", "Taoyuan", "village", "outer", 320, 0.74, 4),
]
CN_NUM = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


# ---------------------------------------------------------------- geometry
def make_boundary(rng: random.Random) -> Polygon:
    a, b = 5800.0, 3850.0
    ph = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
    pts = []
    n = 150
    for i in range(n):
        t = 2 * math.pi * i / n
        k = 1 + 0.06 * math.sin(3 * t + ph[0]) + 0.04 * math.sin(5 * t + ph[1]) + 0.02 * math.sin(9 * t + ph[2])
        pts.append((a * k * math.cos(t), b * k * math.sin(t)))
    poly = Polygon(pts)
    s = math.sqrt(TARGET_AREA_M2 / poly.area)
    return Polygon([(x * s, y * s) for x, y in pts])


def village_centres(rng: random.Random, boundary: Polygon):
    a, b = 5800.0, 3850.0
    pts = []
    for v in VILLAGES:
        ring, ang, sc = v[5], v[6], v[7]
        if ring == "seat":
            p = (300.0 + rng.uniform(-100, 100), -200.0 + rng.uniform(-100, 100))
        else:
            t = math.radians(ang + rng.uniform(-7, 7))
            s = sc + rng.uniform(-0.04, 0.04)
            p = (a * s * math.cos(t), b * s * math.sin(t))
        assert boundary.contains(Point(p))
        pts.append(p)
    return pts


def voronoi_cells(points, clip: Polygon):
    vor = shapely.voronoi_polygons(MultiPoint(points), extend_to=clip.buffer(2000), ordered=True)
    return [g.intersection(clip) for g in vor.geoms]


def lloyd(points, clip, rng, iters=3):
    pts = list(points)
    for _ in range(iters):
        cells = voronoi_cells(pts, clip)
        pts = [(c.centroid.x, c.centroid.y) for c in cells]
    return pts


def build_grids(rng: random.Random, boundary_m: Polygon, centres):
    """Return (faces_by_l3, l3_village) as snapped degree polygons."""
    vcells = voronoi_cells(centres, boundary_m)
    l3_float = []  # (village index, polygon in metres)
    for vi, cell in enumerate(vcells):
        if cell.geom_type != "Polygon":
            return None
        n = VILLAGES[vi][8]
        seeds = []
        minx, miny, maxx, maxy = cell.bounds
        while len(seeds) < n:
            p = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if cell.contains(Point(p)):
                seeds.append(p)
        seeds = lloyd(seeds, cell, rng, iters=4)
        for c in voronoi_cells(seeds, cell):
            if c.geom_type != "Polygon":
                return None
            l3_float.append((vi, c))
    # planar partition in degrees, snap-rounded on the GRID
    l3_deg = [geom_to_deg(c) for _, c in l3_float]
    lines = shapely.union_all([c.exterior for c in l3_deg], grid_size=GRID)
    faces = list(polygonize(lines))
    faces = [shapely.set_precision(f, GRID) for f in faces]
    owner_faces: list[list] = [[] for _ in l3_deg]
    tree = shapely.STRtree(l3_deg)
    for f in faces:
        if f.is_empty:
            continue
        cand = tree.query(f)
        best = max(cand, key=lambda i: l3_deg[i].intersection(f).area)
        owner_faces[int(best)].append(f)
    l3 = []
    for i, fs in enumerate(owner_faces):
        u = unary_union(fs)
        if u.geom_type != "Polygon" or not u.is_valid:
            return None
        l3.append(u)
    return l3, [vi for vi, _ in l3_float]


def group_zones(centres, l2_polys):
    """Five level-1 zones of 2-3 adjacent villages (13 = 3+3+3+2+2)."""
    seat = centres[0]
    others = sorted(range(1, 13), key=lambda i: math.atan2(centres[i][1] - seat[1], centres[i][0] - seat[0]))
    for sizes in ([3, 3, 2, 2, 2], [3, 2, 3, 2, 2], [2, 3, 2, 3, 2], [3, 2, 2, 3, 2], [2, 2, 3, 2, 3]):
        for off in range(12):
            order = others[off:] + others[:off]
            groups, k = [], 0
            for s in sizes:
                groups.append(order[k:k + s])
                k += s
            for gi, g in enumerate(groups):
                if len(g) == 3:
                    continue
                trial = [list(x) for x in groups]
                trial[gi] = [0] + trial[gi]
                ok = all(
                    unary_union([l2_polys[i] for i in grp]).geom_type == "Polygon" for grp in trial
                )
                if ok:
                    return trial
    raise RuntimeError("no zone grouping")


# ---------------------------------------------------------------- roads
class Roads:
    def __init__(self, boundary_m: Polygon):
        self.nodes: dict[str, tuple[float, float]] = {}
        self.edges: list[dict] = []
        self.boundary = boundary_m
        self.inner = boundary_m.buffer(-120)

    def node(self, nid, p):
        self.nodes[nid] = (float(p[0]), float(p[1]))

    def wiggle(self, rng, p, q, seg=750.0, amp=110.0):
        L = dist(p, q)
        n = max(1, round(L / seg))
        dx, dy = (q[0] - p[0]) / L, (q[1] - p[1]) / L
        nx, ny = -dy, dx
        pts = [p]
        off = 0.0
        for i in range(1, n):
            t = i / n
            off = 0.55 * off + rng.uniform(-amp, amp)
            c = (p[0] + (q[0] - p[0]) * t + nx * off, p[1] + (q[1] - p[1]) * t + ny * off)
            if not self.inner.contains(Point(c)):
                c = (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t)
            pts.append(c)
        pts.append(q)
        return pts

    def add(self, rng, a, b, cls, name, name_en, seg=750.0, amp=110.0):
        pts = self.wiggle(rng, self.nodes[a], self.nodes[b], seg, amp)
        # round to the degree grid now so paths and roads share exact vertices
        deg = [to_deg(*p) for p in pts]
        self.edges.append({"a": a, "b": b, "cls": cls, "name": name, "name_en": name_en,
                           "m": pts, "deg": deg, "len": sum(dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1))})

    def adjacency(self):
        adj: dict[str, list] = {}
        for ei, e in enumerate(self.edges):
            adj.setdefault(e["a"], []).append((e["b"], ei))
            adj.setdefault(e["b"], []).append((e["a"], ei))
        return adj

    def shortest(self, s, t, banned=frozenset()):
        adj = self.adjacency()
        best = {s: 0.0}
        prev = {}
        pq = [(0.0, s)]
        while pq:
            d, u = heapq.heappop(pq)
            if u == t:
                break
            if d > best.get(u, 1e18):
                continue
            for v, ei in sorted(adj.get(u, [])):
                if v in banned and v != t:
                    continue
                nd = d + self.edges[ei]["len"]
                if nd < best.get(v, 1e18):
                    best[v] = nd
                    prev[v] = (u, ei)
                    heapq.heappush(pq, (nd, v))
        if t not in best:
            return None
        seq = []
        v = t
        while v != s:
            u, ei = prev[v]
            seq.append((u, v, ei))
            v = u
        return list(reversed(seq))

    def walk(self, seq):
        """Vertices (metres, degrees, tag) along a node-edge sequence."""
        out = []
        for u, v, ei in seq:
            e = self.edges[ei]
            m, d = e["m"], e["deg"]
            if e["a"] != u:
                m, d = m[::-1], d[::-1]
            n = len(m)
            for i in range(n):
                if out and i == 0:
                    continue
                tag = u if i == 0 else (v if i == n - 1 else ("mid", ei, i if e["a"] == u else n - 1 - i))
                out.append((m[i], d[i], tag))
        return out

    def connected(self):
        adj = self.adjacency()
        start = next(iter(self.nodes))
        seen, stack = {start}, [start]
        while stack:
            u = stack.pop()
            for v, _ in adj.get(u, []):
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        return seen == set(adj) == set(self.nodes)


def build_roads(rng, boundary_m, centres):
    R = Roads(boundary_m)
    for i, c in enumerate(centres):
        R.node(VILLAGES[i][0], c)
    seat = centres[0]
    # schools
    R.node("SCH1", (seat[0] + 420, seat[1] + 330))
    v2 = centres[1]
    R.node("SCH2", (v2[0] - 380, v2[1] + 300))
    # county road X128 west-east through the seat
    vi_w = min(range(1, 13), key=lambda i: (abs(centres[i][1] - seat[1]) + (0 if centres[i][0] < seat[0] - 3000 else 1e6)))
    vi_e = min(range(1, 13), key=lambda i: (abs(centres[i][1] - seat[1]) + (0 if centres[i][0] > seat[0] + 3000 else 1e6)))
    bx = boundary_m.exterior
    far = 20000
    lw = LineString([centres[vi_w], (centres[vi_w][0] - far, centres[vi_w][1] - 900)])
    le = LineString([centres[vi_e], (centres[vi_e][0] + far, centres[vi_e][1] + 700)])
    pw = lw.intersection(bx)
    pe = le.intersection(bx)
    pw = pw if pw.geom_type == "Point" else pw.geoms[0]
    pe = pe if pe.geom_type == "Point" else pe.geoms[0]
    pw = (pw.x * 0.985, pw.y * 0.985)
    pe = (pe.x * 0.985, pe.y * 0.985)
    R.node("XW", pw)
    R.node("XE", pe)
    cn, ce = "县道X128青石路", "County Road X128 (Qingshi Rd)"
    R.add(rng, "XW", VILLAGES[vi_w][0], "county", cn, ce, seg=450, amp=45)
    R.add(rng, VILLAGES[vi_w][0], "V01", "county", cn, ce, seg=450, amp=45)
    R.add(rng, "V01", VILLAGES[vi_e][0], "county", cn, ce, seg=450, amp=45)
    R.add(rng, VILLAGES[vi_e][0], "XE", "county", cn, ce, seg=450, amp=45)
    county_pairs = {frozenset((VILLAGES[vi_w][0], "V01")), frozenset(("V01", VILLAGES[vi_e][0]))}
    # town roads: MST + some short Delaunay edges between village centres
    tri = shapely.delaunay_triangles(MultiPoint(centres), only_edges=True)
    cand = []
    for ln in tri.geoms:
        a, b = ln.coords[0], ln.coords[-1]
        ia = min(range(13), key=lambda i: dist(centres[i], a))
        ib = min(range(13), key=lambda i: dist(centres[i], b))
        if ia == ib:
            continue
        L = dist(centres[ia], centres[ib])
        if not boundary_m.buffer(-60).contains(LineString([centres[ia], centres[ib]])):
            continue
        cand.append((round(L, 3), min(ia, ib), max(ia, ib)))
    cand.sort()
    parent = list(range(13))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # county edges already join their endpoints
    for pr in county_pairs:
        a, b = sorted(int(x[1:]) - 1 for x in pr)
        parent[find(a)] = find(b)
    chosen = []
    for L, ia, ib in cand:
        key = frozenset((VILLAGES[ia][0], VILLAGES[ib][0]))
        if key in county_pairs:
            continue
        if find(ia) != find(ib):
            parent[find(ia)] = find(ib)
            chosen.append((ia, ib))
        elif L < 4300 and rng.random() < 0.6:
            chosen.append((ia, ib))
    for ia, ib in sorted(chosen):
        va, vb = VILLAGES[ia], VILLAGES[ib]
        R.add(rng, va[0], vb[0], "town", f"{va[1][0]}{vb[1][0]}路", f"{va[3]}–{vb[3]} Road", seg=380, amp=70)
    R.add(rng, "V01", "SCH1", "town", "青中路", "Qingzhong Road", seg=400, amp=30)
    R.add(rng, "V02", "SCH2", "town", "育才路", "Yucai Road", seg=400, amp=30)
    # village roads: dead-end spurs to the outer groups (组)
    inner = boundary_m.buffer(-250)
    for i, c in enumerate(centres):
        nsp = 2 if VILLAGES[i][5] == "outer" else 1
        for k in range(nsp):
            for _ in range(50):
                ang = rng.uniform(0, 2 * math.pi)
                L = rng.uniform(1100, 1700)
                p = (c[0] + L * math.cos(ang), c[1] + L * math.sin(ang))
                if inner.contains(Point(p)):
                    # keep away from other village centres
                    if min(dist(p, q) for j, q in enumerate(centres) if j != i) > 900:
                        break
            nid = f"{VILLAGES[i][0]}-P{k + 1}"
            R.node(nid, p)
            R.add(rng, VILLAGES[i][0], nid, "village", f"{VILLAGES[i][1]}{CN_NUM[k]}号村道",
                  f"{VILLAGES[i][3]} Village Road {k + 1}", seg=300, amp=60)
    assert R.connected()
    return R


def build_river(rng, boundary_m):
    pts = []
    x0, x1 = -9000, 9000
    n = 40
    for i in range(n + 1):
        x = x0 + (x1 - x0) * i / n
        y = 2600 - 0.42 * (x - x0) + 380 * math.sin(x / 900.0) + rng.uniform(-60, 60)
        pts.append((x, y))
    ln = LineString(pts).intersection(boundary_m.buffer(-40))
    if ln.geom_type != "LineString":
        ln = max(ln.geoms, key=lambda g: g.length)
    return ln


# ---------------------------------------------------------------- routes
def build_routes(rng, R: Roads, namer: Namer, l2_deg):
    specs = [
        # (school node, school name, name, name_en, start node, via village)
        ("SCH1", "青石中学", "青石中学1号专线", "Qingshi Middle School Line 1", "V03-P1", None),
        ("SCH1", "青石中学", "青石中学2号专线", "Qingshi Middle School Line 2", "V04-P1", None),
        ("SCH1", "青石中学", "青石中学3号专线", "Qingshi Middle School Line 3", "V05-P2", None),
        ("SCH1", "青石中学", "青石中学4号专线", "Qingshi Middle School Line 4", "V13-P1", None),
        ("SCH2", "青石镇中心小学", "中心小学1号专线", "Central Primary School Line 1", "V12-P1", None),
        ("SCH2", "青石镇中心小学", "中心小学2号专线", "Central Primary School Line 2", "V10-P2", None),
        ("SCH2", "青石镇中心小学", "中心小学3号专线", "Central Primary School Line 3", "V09-P1", None),
    ]
    school_en = {"青石中学": "Qingshi Middle School", "青石镇中心小学": "Qingshi Central Primary School"}
    group_names: dict[tuple, tuple[str, str]] = {}
    group_counter: dict[str, int] = {}
    vcode_idx = {v[0]: i for i, v in enumerate(VILLAGES)}

    def nearest_village(pm):
        pt = Point(*to_deg(*pm))
        for i, poly in enumerate(l2_deg):
            if poly.covers(pt):
                return i
        return min(range(13), key=lambda i: dist(R.nodes[VILLAGES[i][0]], pm))

    def stop_name(tag, pm, key):
        if isinstance(tag, str) and tag in vcode_idx:
            v = VILLAGES[vcode_idx[tag]]
            if v[4] == "community":
                return f"{v[1]}居委会站", f"{v[3]} Community Office Stop"
            return f"{v[1]}委会站", f"{v[3]} Village Committee Stop"
        if key not in group_names:
            vi = nearest_village(pm)
            v = VILLAGES[vi]
            group_counter[v[0]] = group_counter.get(v[0], 0) + 1
            g = group_counter[v[0]] + (5 if v[4] == "village" else 0)
            if v[4] == "community":
                group_names[key] = (f"{v[1][:-2]}{g}号小区站", f"{v[3]} Estate {g} Stop")
            else:
                group_names[key] = (f"{v[1]}{g}组站", f"{v[3]} Group {g} Stop")
        return group_names[key]

    routes = []
    for ri, (sch, sname, name, name_en, start, _via) in enumerate(specs):
        code = f"R{ri + 1:02d}"
        seq = R.shortest(start, sch)
        verts = R.walk(seq)
        cum = [0.0]
        for i in range(1, len(verts)):
            cum.append(cum[-1] + dist(verts[i - 1][0], verts[i][0]))
        total = cum[-1]

        last = len(verts) - 1
        must = [0]
        for i in range(1, last):
            tag = verts[i][2]
            if isinstance(tag, str) and tag in vcode_idx:
                if cum[i] - cum[must[-1]] >= 450 and total - cum[i] >= 450:
                    must.append(i)
        must.append(last)

        def pick(gap):
            idx = [0]
            for a, b in zip(must, must[1:]):
                seg = cum[b] - cum[a]
                extra = int(seg // gap) - 1
                for k in range(1, extra + 1):
                    target = cum[a] + seg * k / (extra + 1)
                    cands = [i for i in range(a + 1, b)
                             if cum[i] - cum[idx[-1]] >= 400 and cum[b] - cum[i] >= 400]
                    if cands:
                        idx.append(min(cands, key=lambda i: abs(cum[i] - target)))
                idx.append(b)
            return idx

        chosen = None
        for gap in [900, 1000, 1100, 1250, 1400, 1600, 1800, 2100, 2500, 3000, 800, 700, 600, 500]:
            idx = pick(gap)
            if 6 <= len(idx) <= 8:
                chosen = idx
                break
        if chosen is None:
            for gap in [500, 600, 700, 800, 1000, 1200, 1500, 2000, 3000]:
                idx = pick(gap)
                if 5 <= len(idx) <= 9:
                    chosen = idx
                    break
        assert chosen is not None, (code, total)
        stops = []
        for k, i in enumerate(chosen):
            pm, pd, tag = verts[i]
            if i == len(verts) - 1:
                nm, ne = f"{sname}站", f"{school_en[sname]} Stop"
            else:
                key = tag if isinstance(tag, str) else tag
                nm, ne = stop_name(tag, pm, key)
            stops.append({"code": f"{code}-S{k + 1:02d}", "name": nm, "name_en": ne,
                          "lon": pd[0], "lat": pd[1]})
        # timetable increments (whole minutes, ~32 km/h)
        incs = []
        for k in range(1, len(chosen)):
            d_km = (cum[chosen[k]] - cum[chosen[k - 1]]) / 1000.0
            incs.append(max(1, round(d_km * 60 / 32)))

        def fmt(m):
            return f"{m // 60:02d}:{m % 60:02d}"

        is_mid = sch == "SCH1"
        arrive1 = (7 * 60 + 30) if is_mid else (7 * 60 + 50)
        trips = []
        t0 = arrive1 - sum(incs) - (ri % 3)
        times = [t0]
        for inc in incs:
            times.append(times[-1] + inc)
        trips.append({"code": f"{code}-AM1", "period": "am", "direction": "to_school",
                      "stop_times": [fmt(t) for t in times], "days": "school"})
        if ri in (0, 2, 4):
            t0 = arrive1 - 40 - sum(incs)
            times2 = [t0]
            for inc in incs:
                times2.append(times2[-1] + inc)
            trips.insert(0, {"code": f"{code}-AM0", "period": "am", "direction": "to_school",
                             "stop_times": [fmt(t) for t in times2], "days": "school"})
            trips[0]["code"], trips[1]["code"] = f"{code}-AM1", f"{code}-AM2"
        dep = (17 * 60 + 40) if is_mid else (16 * 60 + 50)
        dep += 5 * (ri % 2)
        times3 = [dep]
        for inc in reversed(incs):
            times3.append(times3[-1] + inc)
        trips.append({"code": f"{code}-PM1", "period": "pm", "direction": "from_school",
                      "stop_times": [fmt(t) for t in times3], "days": "school"})
        path = [list(v[1]) for v in verts]
        routes.append({
            "code": code, "name": name, "name_en": name_en, "school": sname,
            "stops": stops, "path": path, "length_m": int(round(total)), "trips": trips,
            "staff": {"driver": namer.person(), "teacher": namer.person(),
                      "police": namer.person(), "warden": namer.person()},
        })
    return routes


# ---------------------------------------------------------------- stations
ITEMS = [
    # sku, name, name_en, category, unit, base qty, min, perishable(days) or None
    ("FL-SB", "沙袋", "Sandbags", "flood", "袋", 800, 400, None),
    ("SH-TN", "帐篷", "Tents", "shelter", "顶", 20, 10, None),
    ("FL-LJ", "救生衣", "Life jackets", "flood", "件", 60, 30, None),
    ("FI-EX", "灭火器", "Fire extinguishers", "fire", "具", 40, 20, 1400),
    ("GE-GN", "发电机", "Generators", "general", "台", 3, 2, None),
    ("ME-FA", "急救包", "First-aid kits", "medical", "个", 50, 25, 900),
    ("GE-WT", "矿泉水", "Bottled water", "general", "箱", 120, 60, 500),
    ("GE-NF", "方便面", "Instant noodles", "general", "箱", 80, 40, 250),
    ("SH-QL", "棉被", "Quilts", "shelter", "床", 100, 50, None),
    ("GE-TC", "手电筒", "Torches", "general", "支", 60, 30, None),
    ("FL-BT", "冲锋舟", "Assault boats", "flood", "艘", 2, 1, None),
    ("FL-PM", "抽水泵", "Water pumps", "flood", "台", 4, 2, None),
]


def date_add(days: int) -> str:
    # from 2026-11-22 without datetime arithmetic surprises
    import datetime as dt
    return (dt.date(2026, 11, 22) + dt.timedelta(days=days)).isoformat()


def build_stations(rng, namer: Namer, centres, boundary_m):
    seat = centres[0]
    vidx = {v[0]: i for i, v in enumerate(VILLAGES)}
    defs = [
        ("EC-00", "centre", "青石镇应急中心", "Qingshi Town Emergency Centre", "V01", (-350, -260)),
        ("ES-01", "area", "城镇片区应急保障服务站", "Chengzhen Area Emergency Service Station", "V02", (260, -240)),
        ("ES-02", "area", "建林片区应急保障服务站", "Jianlin Area Emergency Service Station", "V03", (-240, -200)),
        ("ES-03", "area", "河坝片区应急保障服务站", "Heba Area Emergency Service Station", "V04", (230, -210)),
        ("ES-04", "area", "桂花片区应急保障服务站", "Guihua Area Emergency Service Station", "V05", (-220, 240)),
    ]
    pos = {}
    for code, _, _, _, vc, off in defs:
        c = centres[vidx[vc]]
        if code == "ES-01":  # between the seat and 新街
            c = ((seat[0] + c[0]) / 2, (seat[1] + c[1]) / 2)
        p = (c[0] + off[0], c[1] + off[1])
        assert boundary_m.contains(Point(p))
        pos[code] = p
    covers = {c: [] for c in ("ES-01", "ES-02", "ES-03", "ES-04")}
    for i, v in enumerate(VILLAGES):
        best = min(covers, key=lambda s: dist(pos[s], centres[i]))
        covers[best].append(v[0])
    stations = []
    short = {("ES-03", "FL-SB"), ("ES-04", "ME-FA"), ("ES-02", "FL-LJ")}
    expiring = {("ES-01", "GE-NF"): 13, ("EC-00", "ME-FA"): 25, ("ES-04", "GE-WT"): 41}
    for code, kind, name, name_en, vc, _ in defs:
        big = 2.0 if kind == "centre" else 1.0
        rooms = [
            {"kind": "command", "name": "应急指挥部", "name_en": "Command post", "capacity": 0},
            {"kind": "supplies", "name": "应急物资储备室", "name_en": "Supplies store", "capacity": 0},
            {"kind": "medical", "name": "临时医疗救助室", "name_en": "Temporary medical room",
             "capacity": int(rng.choice([4, 6, 8]) * big)},
            {"kind": "shelter", "name": "受灾群众临时安置室", "name_en": "Temporary shelter",
             "capacity": int(rng.choice([80, 100, 120, 150]) * big)},
        ]
        n_items = 12 if kind == "centre" else rng.choice([9, 10, 11])
        items = ITEMS[:n_items] if kind == "centre" else ITEMS[:8] + rng.sample(ITEMS[8:], n_items - 8)
        inv = []
        for sku, nm, ne, cat, unit, q, mn, life in items:
            minl = max(1, int(round(mn * big)))
            qty = int(round(q * big * rng.uniform(1.0, 1.5)))
            if (code, sku) in short:
                qty = int(minl * rng.uniform(0.4, 0.7))
            exp = None
            if life is not None:
                exp = date_add(rng.randrange(life // 2, life) + 60)
            if (code, sku) in expiring:
                exp = date_add(expiring[(code, sku)])
            inv.append({"sku": sku, "name": nm, "name_en": ne, "category": cat, "unit": unit,
                        "quantity": qty, "min_level": minl, "expiry": exp})
        teams = []
        tcount = 0

        def team(tkind, nm, ne, members, skills):
            nonlocal tcount
            tcount += 1
            teams.append({"code": f"{code}-T{tcount}", "name": nm, "name_en": ne, "kind": tkind,
                          "members": members, "on_duty": max(1, int(members * rng.uniform(0.25, 0.45))),
                          "leader": namer.person(), "phone": namer.phone(), "skills": skills})

        short_name = name.replace("片区应急保障服务站", "").replace("镇应急中心", "镇")
        if kind == "centre":
            team("rescue", "青石镇综合应急救援队", "Qingshi Town Rescue Team", 56,
                 ["防汛抢险", "森林灭火", "地质灾害救援", "水上救援"])
            team("militia", "青石镇民兵应急连", "Qingshi Militia Emergency Company", 40, ["防汛抢险", "人员转移", "巡逻"])
            team("medical", "青石镇卫生院医疗队", "Town Clinic Medical Team", 8, ["现场急救", "伤员转运"])
            team("party", "镇机关党员先锋队", "Town Party Members Vanguard", 30, ["群众转移", "物资分发"])
        elif code == "ES-02":
            team("rescue", "建林片区应急救援队", "Jianlin Area Rescue Team", 26, ["防汛抢险", "森林灭火", "地质灾害救援"])
            team("medical", "镇卫生院建林医疗小组", "Town Clinic Jianlin Medical Team", 6, ["现场急救", "伤员转运"])
            team("volunteer", "建林志愿服务队", "Jianlin Volunteers", 18, ["物资分发", "心理疏导"])
        else:
            team("rescue", f"{short_name}片区应急救援队", f"{name_en.split()[0]} Area Rescue Team",
                 rng.randrange(18, 27), ["防汛抢险", "森林灭火"])
            team("party", f"{short_name}党员突击队", f"{name_en.split()[0]} Party Members Squad",
                 rng.randrange(12, 21), ["群众转移", "隐患排查"])
            team("militia" if rng.random() < 0.5 else "volunteer", f"{short_name}民兵志愿队",
                 f"{name_en.split()[0]} Militia & Volunteers", rng.randrange(10, 19), ["巡逻", "物资分发"])
        cov = ["V01"] if kind == "centre" else covers[code]
        lon, lat = to_deg(*pos[code])
        stations.append({"code": code, "kind": kind, "name": name, "name_en": name_en, "lon": lon, "lat": lat,
                         "covers": cov, "rooms": rooms, "inventory": inv, "teams": teams,
                         "vehicles": 6 if kind == "centre" else rng.randrange(2, 4)})
    return stations


SKILL_POOL = {
    "rescue": ["防汛抢险", "森林灭火", "地质灾害救援", "水上救援", "绳索救援", "驾驶员"],
    "militia": ["防汛抢险", "人员转移", "巡逻", "驾驶员"],
    "medical": ["现场急救", "伤员转运", "护理"],
    "party": ["群众转移", "物资分发", "隐患排查"],
    "volunteer": ["物资分发", "心理疏导", "巡逻"],
}


def add_rosters(stations) -> None:
    """Members with skills, team vehicles, item batches, shelter occupancy (issue 5).

    Its own random stream, so the rest of the town stays byte-identical."""
    rng = random.Random(SEED + 5)
    namer = Namer(random.Random(SEED + 6))
    for st in stations:
        spare = st["vehicles"]
        for t in st["teams"]:
            pool = SKILL_POOL[t["kind"]]
            roster = []
            for k in range(t["members"]):
                role = "leader" if k == 0 else ("medic" if t["kind"] == "medical" else "member")
                roster.append({"name": t["leader"] if k == 0 else namer.person(), "role": role,
                               "phone": t["phone"] if k == 0 else namer.phone(),
                               "skills": rng.sample(pool, rng.randrange(1, 3)),
                               "on_duty": k < t["on_duty"]})
            t["roster"] = roster
            t["vehicles"] = 1 if spare > 0 else 0
            spare -= t["vehicles"]
        for i in st["inventory"]:
            i["batch"] = f"{rng.choice([2024, 2025, 2026])}-{rng.randrange(1, 13):02d}"
        for r in st["rooms"]:
            if r["kind"] == "shelter":
                r["occupancy"] = rng.choice([0, 0, 6, 12, 20])


# ---------------------------------------------------------------- main
def generate(out: Path) -> None:
    rng = random.Random(SEED)
    namer = Namer(random.Random(SEED + 1))
    boundary_m = make_boundary(rng)
    centres = village_centres(rng, boundary_m)

    res = None
    for attempt in range(50):
        res = build_grids(random.Random(SEED * 100 + attempt), boundary_m, centres)
        if res is not None:
            break
    assert res is not None, "grid generation failed"
    l3, l3_vil = res
    l2 = [unary_union([p for p, vi in zip(l3, l3_vil) if vi == i]) for i in range(13)]
    assert all(p.geom_type == "Polygon" for p in l2)
    zones = group_zones(centres, l2)
    zones.sort(key=lambda g: (0 if 0 in g else 1, math.atan2(centres[g[-1]][1], centres[g[-1]][0])))
    l1 = [unary_union([l2[i] for i in g]) for g in zones]
    boundary = unary_union(l1)
    assert boundary.geom_type == "Polygon" and not boundary.interiors
    area_m2 = boundary.area * KX * KY

    # --- villages: population, households, point
    pops = [12800, 8600] + [rng.randrange(3300, 5000) for _ in range(11)]
    rest = POPULATION - 12800 - 8600
    s = sum(pops[2:])
    pops = pops[:2] + [int(round(p * rest / s)) for p in pops[2:]]
    pops[-1] += POPULATION - sum(pops)
    hh = [int(round(p / rng.uniform(2.55, 2.85))) for p in pops]
    vpts = []
    for i, c in enumerate(centres):
        lon, lat = to_deg(*c)
        assert l2[i].contains(Point(lon, lat)), VILLAGES[i]
        vpts.append((lon, lat))

    # --- grids
    feats = []
    zone_of = {}
    for zi, g in enumerate(zones):
        for i in g:
            zone_of[i] = zi
    for zi, g in enumerate(zones):
        feats.append({"type": "Feature", "geometry": poly_geojson(l1[zi]), "properties": {
            "code": f"G1-{zi + 1:02d}", "level": 1, "parent": None,
            "name": f"第{CN_NUM[zi]}网格片区", "name_en": f"Zone {zi + 1}", "village": None,
            "leader": {"name": namer.person(), "phone": namer.phone()}, "workers": [],
            "households": sum(hh[i] for i in g)}})
    for i, v in enumerate(VILLAGES):
        feats.append({"type": "Feature", "geometry": poly_geojson(l2[i]), "properties": {
            "code": f"G2-{i + 1:02d}", "level": 2, "parent": f"G1-{zone_of[i] + 1:02d}",
            "name": f"{v[1]}网格", "name_en": f"{v[2]} Grid", "village": v[0],
            "leader": {"name": namer.person(), "phone": namer.phone()}, "workers": [],
            "households": hh[i]}})
    n3 = 0
    wid = 0
    for i, v in enumerate(VILLAGES):
        cells = [p for p, vi in zip(l3, l3_vil) if vi == i]
        cells.sort(key=lambda p: (-round(p.centroid.y, 5), round(p.centroid.x, 5)))
        areas = [p.area for p in cells]
        shares = [a / sum(areas) for a in areas]
        hs = [int(hh[i] * sh) for sh in shares]
        hs[0] += hh[i] - sum(hs)
        for k, p in enumerate(cells):
            n3 += 1
            workers = []
            for _ in range(1 if rng.random() < 0.45 else 2):
                wid += 1
                workers.append({"id": f"W{wid:03d}", "name": namer.person(), "phone": namer.phone()})
            feats.append({"type": "Feature", "geometry": poly_geojson(p), "properties": {
                "code": f"G3-{n3:02d}", "level": 3, "parent": f"G2-{i + 1:02d}",
                "name": f"{v[1]}第{k + 1}网格", "name_en": f"{v[2]} Grid {k + 1}", "village": v[0],
                "leader": {"name": namer.person(), "phone": namer.phone()}, "workers": workers,
                "households": hs[k]}})
    assert n3 == 50

    # --- roads, river, routes, stations
    roads = build_roads(rng, boundary_m, centres)
    river = build_river(rng, boundary_m)
    routes = build_routes(rng, roads, namer, l2)
    stations = build_stations(rng, namer, centres, boundary_m)
    add_rosters(stations)

    out.mkdir(parents=True, exist_ok=True)
    minx, miny, maxx, maxy = boundary.bounds
    cen = boundary.centroid
    town = {
        "code": "510000-QS", "name": "青石镇", "name_en": "Qingshi Town", "demo": True,
        "note": "虚构演示数据 / fictional demo data", "timezone": "Asia/Shanghai",
        "center": [rnd(cen.x), rnd(cen.y)], "bbox": [rnd(minx), rnd(miny), rnd(maxx), rnd(maxy)],
        "area_km2": round(area_m2 / 1e6, 2), "population": POPULATION,
        "boundary": poly_geojson(boundary),
    }
    dump_json(town, out / "town.json")
    dump_json({"type": "FeatureCollection", "features": feats}, out / "grids.geojson", compact=True)

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name", "name_en", "kind", "population", "households", "lon", "lat", "grid"])
    for i, v in enumerate(VILLAGES):
        w.writerow([v[0], v[1], v[2], v[4], pops[i], hh[i], vpts[i][0], vpts[i][1], f"G2-{i + 1:02d}"])
    (out / "villages.csv").write_text(buf.getvalue(), encoding="utf-8")

    dump_json(stations, out / "stations.json")
    # routes: keep each path on one line for compactness
    text = json.dumps(routes, ensure_ascii=False, indent=1)
    (out / "routes.json").write_text(_compact_paths(text) + "\n", encoding="utf-8")

    # vehicles
    models = [("宇通ZK6609DX", 19), ("宇通ZK6729DX", 24), ("金龙XMQ6661ASD", 31),
              ("中通LCK6809D", 35), ("宇通ZK6105DX", 41), ("东风EQ6110ST", 45)]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    # terminal: the SIM number of the bus's JT/T 808 terminal, the only one the gateway lets
    # register that plate (issue 12). Numbered, not drawn, so the random stream (and every
    # other file) stays as it was; the first bus carries 13800138000, the tests' terminal.
    w.writerow(["plate", "route", "seats", "driver", "phone", "escort", "model", "year",
                "terminal"])
    plates = set()
    nveh = 0
    for ri, r in enumerate(routes):
        count = 2 if ri in (0, 1, 2, 4, 5, 6) else 1
        for k in range(count):
            while True:
                plate = "川F·D" + "".join(str(rng.randrange(10)) for _ in range(5))
                if plate not in plates:
                    plates.add(plate)
                    break
            model, seats = models[(ri * 2 + k) % len(models)] if k == 0 else models[(ri + 3) % len(models)]
            drv = r["staff"]["driver"] if k == 0 else namer.person()
            w.writerow([plate, r["code"], seats, drv, namer.phone(), namer.person(), model, rng.randrange(2019, 2026),
                        f"1380013{8000 + nveh:04d}"])
            nveh += 1
    assert nveh >= 12
    (out / "vehicles.csv").write_text(buf.getvalue(), encoding="utf-8")

    # basemap
    bm = []

    def feat(geom, kind, name=None, name_en=None, cls=None):
        props = {"kind": kind, "name": name, "name_en": name_en}
        if cls is not None:
            props["class"] = cls
        bm.append({"type": "Feature", "geometry": geom, "properties": props})

    feat({"type": "LineString", "coordinates": rcoords(boundary.exterior.coords)}, "boundary", "青石镇界", "Qingshi Town boundary")
    river_deg = geom_to_deg(river)
    water = shapely.set_precision(geom_to_deg(river.buffer(22, cap_style="flat")).intersection(boundary), GRID)
    if water.geom_type == "MultiPolygon":
        water = max(water.geoms, key=lambda g: g.area)
    feat(poly_geojson(water), "water", "青石河", "Qingshi River")
    feat({"type": "LineString", "coordinates": rcoords(river_deg.coords)}, "river", "青石河", "Qingshi River")
    order = {"county": 0, "town": 1, "village": 2}
    for e in sorted(roads.edges, key=lambda e: order[e["cls"]]):
        feat({"type": "LineString", "coordinates": [list(p) for p in e["deg"]]}, "road", e["name"], e["name_en"], e["cls"])
    for i, v in enumerate(VILLAGES):
        feat({"type": "Point", "coordinates": list(vpts[i])}, "place", v[1], v[2])
    for nid, nm, ne in (("SCH1", "青石中学", "Qingshi Middle School"), ("SCH2", "青石镇中心小学", "Qingshi Central Primary School")):
        feat({"type": "Point", "coordinates": list(to_deg(*roads.nodes[nid]))}, "school", nm, ne)
    dump_json({"type": "FeatureCollection", "features": bm}, out / "basemap.geojson", compact=True)
    dump_json(units(VILLAGES), out / "units.json")

    # cameras (雪亮工程, issue 15): one at each village office's crossing and one at each
    # school's gate, placed by rule, not drawn, so the random stream is unchanged.
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "name_en", "lon", "lat"])
    for i, v in enumerate(VILLAGES):
        w.writerow([f"CAM-{v[0]}", f"{v[1]}村委会路口", f"{v[2]} office crossing",
                    rnd(vpts[i][0] + 0.0004), rnd(vpts[i][1] + 0.0003)])
    for nid, nm, ne in (("SCH1", "青石中学", "Qingshi Middle School"),
                        ("SCH2", "青石镇中心小学", "Qingshi Central Primary School")):
        lon, lat = to_deg(*roads.nodes[nid])
        w.writerow([f"CAM-{nid}", f"{nm}校门", f"{ne} gate", rnd(lon), rnd(lat)])
    (out / "cameras.csv").write_text(buf.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------- units (issue 14)
# The offices work orders are handed to: each village's 村(社区) office, town offices and
# county departments, with the categories each handles and two people each. Names are
# numbered from lists, not drawn, so the random stream (and every other file) is unchanged.
TOWN_UNITS = (
    ("U-T-PS", "青石派出所", "Qingshi Police Station", ["public_security", "traffic"]),
    ("U-T-SJ", "青石司法所", "Qingshi Justice Office", ["disputes", "labour"]),
    ("U-T-AJ", "青石安监站", "Qingshi Work Safety Station", ["work_safety", "fire"]),
    ("U-T-CG", "青石城管中队", "Qingshi Urban Management Squad",
     ["city_management", "planning", "estate", "environment", "water"]),
    ("U-T-ZZ", "青石综治中心", "Qingshi Governance Centre",
     ["disputes", "public_security", "venues"]),
    ("U-T-WH", "青石文化服务中心", "Qingshi Culture Service Centre",
     ["culture", "education", "market"]),
)
COUNTY_UNITS = (
    ("U-C-ZJ", "县住房和城乡建设局", "County Housing and Construction Bureau",
     ["planning", "estate", "city_management"]),
    ("U-C-JT", "县交通运输局", "County Transport Bureau", ["traffic"]),
    ("U-C-SJ", "县市场监督管理局", "County Market Regulation Bureau", ["market"]),
    ("U-C-HJ", "县生态环境局", "County Ecology and Environment Bureau", ["environment"]),
    ("U-C-SW", "县水务局", "County Water Bureau", ["water"]),
    ("U-C-YJ", "县应急管理局", "County Emergency Management Bureau", ["work_safety", "fire"]),
    ("U-C-GA", "县公安局", "County Public Security Bureau", ["public_security", "disputes"]),
    ("U-C-RS", "县人力资源和社会保障局", "County Human Resources and Social Security Bureau",
     ["labour"]),
    ("U-C-JY", "县教育局", "County Education Bureau", ["education"]),
    ("U-C-WL", "县文化广播电视和旅游局", "County Culture, Radio, TV and Tourism Bureau",
     ["culture", "venues"]),
)
UNIT_SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
UNIT_GIVEN = ["建国", "秀英", "志强", "丽华", "海燕", "国平", "春梅", "德明", "玉兰", "立新",
              "文静", "红军", "晓东", "桂芳", "明辉", "永红", "俊杰", "淑珍", "伟", "敏"]


def units(villages) -> list[dict]:
    """units.json: one office per village (it takes every category), then the town
    offices and the county departments; people numbered U-…-1, U-…-2."""
    n = 0

    def person(code: str, i: int) -> dict:
        nonlocal n
        n += 1
        return {"id": f"{code}-{i}",
                "name": UNIT_SURNAMES[n % len(UNIT_SURNAMES)] + UNIT_GIVEN[(n * 7) % len(UNIT_GIVEN)],
                "phone": f"1390828{n:04d}"}

    out = []
    for v in villages:
        community = v[4] == "community"
        code = "U-" + v[0]
        out.append({"id": code, "name": v[1] + ("居委会" if community else "村委会"),
                    "name_en": v[2] + (" Residents' Committee" if community
                                       else " Villagers' Committee"),
                    "tier": "village", "village": v[0], "categories": "*",
                    "people": [person(code, 1), person(code, 2)]})
    for tier, rows in (("town", TOWN_UNITS), ("county", COUNTY_UNITS)):
        for code, name, en, cats in rows:
            out.append({"id": code, "name": name, "name_en": en, "tier": tier,
                        "categories": cats, "people": [person(code, 1), person(code, 2)]})
    return out


def _compact_paths(text: str) -> str:
    """Collapse indented [lon, lat] pairs onto single lines."""
    import re
    text = re.sub(r"\[\n\s*(-?[\d.]+),\n\s*(-?[\d.]+)\n\s*\]", r"[\1, \2]", text)
    text = re.sub(r'("path": \[)\n\s*', r"\1", text)
    text = re.sub(r"(\[-?[\d.]+, -?[\d.]+\]),\n\s*(?=\[)", r"\1, ", text)
    text = re.sub(r"(\[-?[\d.]+, -?[\d.]+\])\n\s*\]", r"\1]", text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DEFAULT)
    args = ap.parse_args()
    generate(args.out)
    for p in sorted(args.out.iterdir()):
        print(f"{p.stat().st_size:>9}  {p}")


if __name__ == "__main__":
    main()
