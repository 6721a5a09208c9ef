"""Bus alert rules with episodes: each condition raises one alert when it starts, not per fix.

An episode's key is built from the fix that started it, so every server process that sees
the same fixes names the same episode (the tracker claims the key once in Redis).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely

from dashboard.i18n.text import t
from dashboard.timeutil import as_utc, hhmm

KINDS = ("overspeed", "off_route", "signal_lost", "late_departure", "unscheduled_stop", "sos")
SOS_BIT = 0x1  # JT/T 808 alarm flag bit 0: emergency alarm (紧急报警)
M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds of the alert rules (defaults follow the school-bus rules; see README)."""

    limit_kmh: float = 60.0
    overspeed_hold_s: float = 3.0
    overspeed_clear_s: float = 15.0
    corridor_m: float = 150.0
    off_route_hold_s: float = 20.0
    off_route_clear_s: float = 30.0
    signal_lost_s: float = 60.0
    late_departure_s: float = 300.0
    stop_speed_kmh: float = 5.0
    unscheduled_stop_s: float = 120.0
    stop_radius_m: float = 60.0
    stop_drift_m: float = 30.0
    sos_clear_s: float = 30.0


@dataclass(frozen=True)
class Alert:
    """One raised alert: kind, vehicle, when its episode started, where, and the measure."""

    kind: str
    plate: str
    started_at: datetime
    lon: float
    lat: float
    value: float | None = None
    limit: float | None = None
    zone: str | None = None
    trip: str | None = None

    @property
    def key(self) -> str:
        """Stable name of the episode (same in every process that saw the same fixes)."""
        return f"bus:{self.plate}:{self.kind}:{int(as_utc(self.started_at).timestamp())}"


@dataclass
class Episode:
    """A condition that must hold `hold_s` to open and be absent `clear_s` to close."""

    hold_s: float
    clear_s: float
    since: datetime | None = None
    open: bool = False
    clear_since: datetime | None = None

    def step(self, cond: bool, at: datetime) -> datetime | None:
        """Feed one observation; returns the episode's start when it opens right now."""
        if cond:
            self.clear_since = None
            if self.since is None:
                self.since = at
            if not self.open and (at - self.since).total_seconds() >= self.hold_s:
                self.open = True
                return self.since
            return None
        if self.open:
            self.clear_since = self.clear_since or at
            if (at - self.clear_since).total_seconds() >= self.clear_s:
                self.open, self.since, self.clear_since = False, None, None
        else:
            self.since = None
        return None


@dataclass(frozen=True)
class SpeedZone:
    """A stretch with its own limit (sharp bend, steep slope, narrow road, bridge: 20 km/h)."""

    name: str
    limit_kmh: float
    line: Sequence[Sequence[float]]
    radius_m: float = 30.0


class SpeedLimits:
    """The default limit and the zones that lower it, looked up by position."""

    def __init__(self, default_kmh: float, zones: Iterable[SpeedZone] = ()):
        self.default_kmh = default_kmh
        self.zones = list(zones)
        first = self.zones[0].line[0] if self.zones else (0.0, 0.0)
        self.lon0, self.lat0 = float(first[0]), float(first[1])
        self.kx = M_PER_DEG_LAT * math.cos(math.radians(self.lat0))
        self.shapes = [shapely.LineString([self._xy(*p) for p in z.line]).buffer(z.radius_m)
                       if len(z.line) > 1 else shapely.Point(self._xy(*z.line[0])).buffer(
                           z.radius_m) for z in self.zones]

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)

    def at(self, lon: float, lat: float) -> tuple[float, str | None]:
        """(limit in km/h, zone name or None) at a point: the lowest limit that applies."""
        best, name = self.default_kmh, None
        pt = shapely.Point(self._xy(lon, lat))
        for zone, shape in zip(self.zones, self.shapes, strict=True):
            if zone.limit_kmh < best and shape.contains(pt):
                best, name = zone.limit_kmh, zone.name
        return best, name


def parse_zones(rows: Any) -> list[SpeedZone]:
    """Speed zones from a town file's rows (or /admin's table: this is its validator);
    ValueError names the row that is wrong."""
    if not isinstance(rows, list):
        raise ValueError("a list of zones: {name, limit_kmh, line: [[lon, lat], ...]}")
    out = []
    for i, row in enumerate(rows):
        try:
            zone = SpeedZone(name=str(row["name"]), limit_kmh=float(row["limit_kmh"]),
                             line=[(float(p[0]), float(p[1])) for p in row["line"]],
                             radius_m=float(row.get("radius_m", 30.0)))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"speed zone #{i}: {exc!r}") from exc
        if not zone.line or not 0 < zone.limit_kmh <= 120 or not 1 <= zone.radius_m <= 1000:
            raise ValueError(f"speed zone #{i}: needs a line, a limit of 1-120 km/h and a "
                             "radius of 1-1000 m")
        if not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in zone.line):
            raise ValueError(f"speed zone #{i}: a point is not [longitude, latitude]")
        out.append(zone)
    return out


@dataclass(frozen=True)
class FixContext:
    """What the tracker knows about a fix: on a trip, off the path by, near a stop."""

    on_trip: bool = False
    offset_m: float | None = None
    near_stop: bool = False
    trip: str | None = None


@dataclass
class VehicleAlerts:
    """The episodes of one vehicle; feed it fixes and clock ticks, it returns new alerts."""

    plate: str
    cfg: AlertConfig
    limits: SpeedLimits
    episodes: dict[str, Episode] = field(default_factory=dict)
    last_fix: tuple[datetime, float, float] | None = None
    stop_anchor: tuple[float, float] | None = None
    late_trips: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        c = self.cfg
        self.episodes = {
            "overspeed": Episode(c.overspeed_hold_s, c.overspeed_clear_s),
            "off_route": Episode(c.off_route_hold_s, c.off_route_clear_s),
            "signal_lost": Episode(c.signal_lost_s, 0.0),
            "unscheduled_stop": Episode(c.unscheduled_stop_s, 10.0),
            "sos": Episode(0.0, c.sos_clear_s),
        }

    def on_late_fix(self, at: datetime, lon: float, lat: float, alarm: int | None,
                    trip: str | None = None) -> list[Alert]:
        """A fix older than the last one (re-sent after a signal gap) moves nothing, but an
        SOS pressed then is never dropped: it opens the SOS episode unless one is open."""
        sos = self.episodes["sos"]
        if not (alarm or 0) & SOS_BIT or sos.open:
            return []
        at = as_utc(at)
        sos.open, sos.since, sos.clear_since = True, at, None
        return [Alert("sos", self.plate, at, lon, lat, trip=trip)]

    def on_fix(self, at: datetime, lon: float, lat: float, speed_kmh: float,
               alarm: int | None, ctx: FixContext) -> list[Alert]:
        """Apply one fix (in time order); alerts whose episode starts now."""
        at = as_utc(at)
        if self.last_fix is not None and at <= self.last_fix[0]:
            return []  # a repeated or late fix says nothing new
        self.last_fix = (at, lon, lat)
        self.episodes["signal_lost"].step(False, at)
        out: list[Alert] = []

        def fire(kind: str, cond: bool, **extra: object) -> None:
            start = self.episodes[kind].step(cond, at)
            if start is not None:
                out.append(Alert(kind, self.plate, start, lon, lat, trip=ctx.trip,
                                 **extra))  # type: ignore[arg-type]

        limit, zone = self.limits.at(lon, lat)
        fire("overspeed", speed_kmh > limit, value=speed_kmh, limit=limit, zone=zone)
        fire("sos", bool((alarm or 0) & SOS_BIT))
        off = ctx.on_trip and ctx.offset_m is not None and ctx.offset_m > self.cfg.corridor_m
        fire("off_route", off, value=ctx.offset_m, limit=self.cfg.corridor_m)
        fire("unscheduled_stop", self._stopped_away(lon, lat, speed_kmh, ctx),
             value=self.cfg.unscheduled_stop_s)
        return out

    def _stopped_away(self, lon: float, lat: float, speed_kmh: float, ctx: FixContext) -> bool:
        # Standing is judged by staying near where the bus stopped, not by speed alone:
        # GPS jitter at a standstill moves the fix a few metres and fakes small speeds.
        if not ctx.on_trip or ctx.near_stop or speed_kmh > self.cfg.stop_speed_kmh:
            self.stop_anchor = None
            return False
        if self.stop_anchor is None:
            self.stop_anchor = (lon, lat)
        kx = M_PER_DEG_LAT * math.cos(math.radians(lat))
        drift = math.hypot((lon - self.stop_anchor[0]) * kx,
                           (lat - self.stop_anchor[1]) * M_PER_DEG_LAT)
        if drift > self.cfg.stop_drift_m:
            self.stop_anchor = (lon, lat)
            self.episodes["unscheduled_stop"].since = None
        return True

    def on_tick(self, now: datetime, on_trip: bool) -> list[Alert]:
        """Clock-driven rule: no fix for `signal_lost_s` while on a trip."""
        if self.last_fix is None:
            return []
        last_at, lon, lat = self.last_fix
        silent = on_trip and (as_utc(now) - last_at).total_seconds() >= self.cfg.signal_lost_s
        ep = self.episodes["signal_lost"]
        if not silent:
            return []
        ep.since = ep.since or last_at  # the silence began with the last fix
        start = ep.step(True, as_utc(now))
        if start is None:
            return []
        return [Alert("signal_lost", self.plate, start, lon, lat,
                      value=(as_utc(now) - last_at).total_seconds(),
                      limit=self.cfg.signal_lost_s)]

    def check_departure(self, trip: str, departure: datetime, now: datetime, departed: bool,
                        lon: float, lat: float) -> list[Alert]:
        """Late departure: once per trip, when the bus has not left `late_departure_s` after."""
        late = (as_utc(now) - as_utc(departure)).total_seconds()
        once = f"{trip}@{int(as_utc(departure).timestamp())}"
        if departed or once in self.late_trips or late < self.cfg.late_departure_s:
            return []
        self.late_trips.add(once)
        return [Alert("late_departure", self.plate, as_utc(departure), lon, lat,
                      value=late, limit=self.cfg.late_departure_s, trip=trip)]



def alert_text(alert: Alert, lang: str = "zh") -> tuple[str, str]:
    """(title, description) of an alert in `lang`, from its kind and numbers, with the local
    (Asia/Shanghai) time: one language per text, never an English half with a UTC time."""
    kind = t(f"ba_{alert.kind}", lang)
    measure = ""
    if alert.kind == "overspeed" and alert.value is not None:
        key = "ba_m_overspeed_zone" if alert.zone else "ba_m_overspeed"
        measure = t(key, lang).format(v=f"{alert.value:.0f}", limit=f"{alert.limit:.0f}",
                                      zone=alert.zone or "")
    elif alert.kind == "off_route" and alert.value is not None:
        measure = t("ba_m_off_route", lang).format(v=f"{alert.value:.0f}")
    elif alert.kind == "late_departure" and alert.value is not None:
        measure = t("ba_m_late_departure", lang).format(v=f"{alert.value // 60:.0f}")
    trip = t("ba_trip", lang).format(trip=alert.trip) if alert.trip else ""
    title = t("ba_title", lang).format(kind=kind, plate=alert.plate, measure=measure)
    desc = t("ba_desc", lang).format(kind=kind, trip=trip, at=hhmm(alert.started_at))
    return title[:100], desc
