"""The wall's frames, built once per audience and change for every screen that shares them.

An audience is what makes two walls' frames differ: the scope (the town, or one village: a
village officer's wall is always their own village's, rules.village_scope) and the language.
Every screen of one audience is sent the same frame; a screen's own work is only what
differs (which frame it already has). Pure: the live state in, rows out; pages/_wall_push.py
does the waiting, the encoding and the sending.

Panel frames are deltas: each key replaces one whole panel on the screen (feed, heat, kpis,
stations, readiness, punct, alerts, cast), so the latest value of every key is a full frame,
and any delta can be skipped by a screen that is then sent the full one. A panel built again
unchanged (the feed's ages are rebuilt every AGE_S) is not sent. The map's incident markers
are the exception, as they can be many (a county's backlog: hundreds of open work orders):
the full frame carries every marker (`markers`), a delta only the markers that changed and
the ids that left (`marker_changes`), which applies to the frame before it alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.i18n.text import t
from dashboard.resources.readiness import readiness_rows
from dashboard.screens import views, wall
from dashboard.screens.live import LiveState
from dashboard.town import GridCell

# The wall's component ids each panel is drawn into (assets/zn_panels.js reads `target`).
AGE_S = 10
TARGETS = {"feed": "home-feed", "kpis": "home-kpis", "stations": "home-stations",
           "map": "home-map", "punct": "home-punct", "ticker": "home-ticker",
           "focus": "home-focus"}


@dataclass(frozen=True)
class Audience:
    """Whose frame: the town's (`village` None) or one village's, in one language."""

    village: str | None
    lang: str


@dataclass(frozen=True)
class WallInputs:
    """What the panels read beside the live state (the same for every audience)."""

    grids: Mapping[str, GridCell]
    chain: Mapping[str, Mapping[int, int | str]]
    feed_size: int
    unfit: Iterable[str] | None = None  # the fleet watch's 不宜出车 marks (None: no watch)
    origins: tuple[str, ...] = ()


@dataclass
class PanelFrames:
    """One audience's panels: the latest value of each, what they were built from, and
    how many frames were built (a screen's count is not: they share these)."""

    audience: Audience
    seq: int = 0
    panels: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    builds: int = 0
    markers: dict[int, Any] = field(default_factory=dict)  # views.incident_rows' memo

    def update(self, state: LiveState, inputs: WallInputs, now: datetime) -> dict[str, Any]:
        """The panels that changed since the last update (empty: nothing to send); a
        non-empty delta is the next `seq`."""
        built = panel_delta(state, inputs, self.audience.lang, now, self.keys, self.markers)
        rows = built.pop("markers", None)
        delta = {k: v for k, v in built.items() if self.panels.get(k) != v}
        changes = None if rows is None else marker_changes(
            {row[0]: row for row in self.panels.get("markers", ())}, rows)
        if not delta and changes is None:
            return {}
        self.seq += 1
        self.builds += 1
        self.panels.update(delta)
        if changes is not None:
            self.panels["markers"] = rows
            delta["marker_changes"] = changes
        return delta

    def frame(self, delta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The frame a screen draws: `delta` (on the frame before it), or every panel, every
        marker included (a screen that is new or fell behind), with the frame's seq, targets
        and the empty feed's words."""
        body = dict(self.panels if delta is None else delta)
        if delta is None:  # a screen that drew markers before (a reconnect) drops the gone
            body.setdefault("markers", [])
        return {**body, "seq": self.seq, "target": TARGETS,
                "empty": t("feed_empty", self.audience.lang)}


def marker_changes(before: Mapping[int, list[Any]],
                   rows: list[list[Any]]) -> dict[str, list[Any]] | None:
    """The markers of `rows` that are new or differ from `before` (by id), and the ids of
    `before` that are not in `rows`; None when nothing changed."""
    now = {row[0] for row in rows}
    changed = [row for row in rows if before.get(row[0]) != row]
    gone = [i for i in before if i not in now]
    return {"rows": changed, "gone": gone} if changed or gone else None


def panel_delta(state: LiveState, inputs: WallInputs, lang: str, now: datetime,
                keys: dict[str, Any], markers: dict[int, Any] | None = None
                ) -> dict[str, Any]:
    """The wall's panels whose inputs changed since `keys` (updated in place; `markers`:
    the marker rows' memo, views.incident_rows)."""
    v = state.versions
    out: dict[str, Any] = {}
    # Ages and countdowns are in minutes: the feed is built again at least every AGE_S.
    feed_key = (v["incidents"], v["kpis"], int(now.timestamp() // AGE_S))
    if feed_key != keys.get("feed"):
        out["feed"] = views.feed_rows(state, inputs.grids, lang, now, inputs.feed_size)
        out["markers"] = views.incident_rows(state, lang, now, memo=markers)
        out["heat"] = wall.grid_heat(state, inputs.grids, inputs.chain, lang)
        keys["feed"] = feed_key
    # Positions change every second; punctuality and speeding are re-read every few.
    unfit = tuple(inputs.unfit) if inputs.unfit is not None else None
    punct_key = (v["trips"], v["vehicles"] // 10, unfit)
    if punct_key != keys.get("punct"):
        out["punct"] = wall.punctuality(state, lang, unfit=unfit or ())
        keys["punct"] = punct_key
    alert_key = (v["incidents"], v["kpis"], v["vehicles"] // 3)
    if alert_key != keys.get("alerts"):
        out["alerts"] = wall.alerts(state, inputs.grids, lang, now, inputs.origins)
        keys["alerts"] = alert_key
    if v["cast"] != keys.get("cast"):
        out["cast"] = wall.cast_focus(state, now, inputs.origins)
        keys["cast"] = v["cast"]
    kpi_key = (v["kpis"], v["status"], v["incidents"], v["vehicles"] // 10)
    if kpi_key != keys.get("kpi_key"):
        out["kpis"] = views.kpi_cards(state, lang, now)
        keys["kpi_key"] = kpi_key
    if v["stations"] != keys.get("stations"):
        out["stations"] = views.station_cards(state, lang)
        out["readiness"] = readiness_rows(state.stations, lang, now)
        keys["stations"] = v["stations"]
    return out


@dataclass
class BusFrames:
    """The map's bus frames of one language: each new frame carries the buses that moved
    since the one before (a delta) and, built only when a screen needs it, every bus (full:
    a screen that is new or skipped frames)."""

    lang: str
    seq: int = 0
    rev: int = -1
    rows: list[list[Any]] = field(default_factory=list)
    full_rows: list[list[Any]] | None = None
    builds: int = 0
    vehicles: Mapping[str, Any] = field(default_factory=dict)

    def advance(self, state: LiveState) -> bool:
        """Build the next frame if any bus moved since the last one; True if it did."""
        if self.rev >= 0 and state.rev == self.rev:
            return False
        moved = list(state.vehicles.values()) if self.rev < 0 \
            else state.vehicles_since(self.rev)
        if not moved and self.rev >= 0:
            self.rev = state.rev
            return False
        self.seq += 1
        self.builds += 1
        self.rows = views.bus_rows(moved)
        self.full_rows = None if self.rev >= 0 else self.rows
        self.rev = state.rev
        self.vehicles = state.vehicles
        return True

    def frame(self, full: bool, map_id: str = TARGETS["map"]) -> dict[str, Any]:
        """The current frame: the delta, or every bus."""
        if full and self.full_rows is None:
            self.full_rows = views.bus_rows(list(self.vehicles.values()))
        return {"seq": self.seq, "full": full, "map": map_id, "lang": self.lang,
                "rows": self.full_rows if full else self.rows}
