"""WGS-84 to GCJ-02 (the datum of Chinese web basemaps), applied at display time only."""

from __future__ import annotations

import math
from typing import Any

_A = 6378245.0
_EE = 0.00669342162296594323


def _out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _dlat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 position of a WGS-84 point (unchanged outside China)."""
    if _out_of_china(lon, lat):
        return lon, lat
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def display(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A stored WGS-84 point as drawn on a basemap of datum `crs` (wgs84 or gcj02)."""
    return wgs84_to_gcj02(lon, lat) if crs == "gcj02" else (lon, lat)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 position is (lon, lat): the forward formula inverted
    by fixed-point iteration (to about a centimetre; unchanged outside China). For data a
    town exports from a GCJ-02 map (天地图 is CGCS2000 ≈ WGS-84; 高德/腾讯 are GCJ-02)."""
    if _out_of_china(lon, lat):
        return lon, lat
    x, y = lon, lat
    for _ in range(30):
        gx, gy = wgs84_to_gcj02(x, y)
        dx, dy = lon - gx, lat - gy
        x, y = x + dx, y + dy
        if abs(dx) < 1e-9 and abs(dy) < 1e-9:
            break
    return x, y


# The datums a town's files may be in (town.json "crs"); CGCS2000 differs from WGS-84 by
# centimetres, so it is taken as is.
CRS_NAMES = ("wgs84", "cgcs2000", "gcj02")


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point of a file in datum `crs` (CRS_NAMES) as stored (WGS-84)."""
    return gcj02_to_wgs84(lon, lat) if crs == "gcj02" else (lon, lat)


def geometry_to_wgs84(geom: dict[str, Any], crs: str) -> dict[str, Any]:
    """A GeoJSON geometry's coordinates in datum `crs` as WGS-84 (6 decimals)."""
    if crs != "gcj02":
        return geom

    def walk(c: Any) -> Any:
        if c and isinstance(c[0], (int, float)):
            x, y = gcj02_to_wgs84(float(c[0]), float(c[1]))
            return [round(x, 6), round(y, 6)]
        return [walk(p) for p in c]

    return {**geom, "coordinates": walk(geom.get("coordinates") or [])}
