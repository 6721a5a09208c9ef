"""/buses: today's trips and punctuality, live buses, one bus's trip, replay (轨迹回放)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta
from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.buses.board import punctuality_text
from dashboard.buses.timetable import is_school_day
from dashboard.buses.views import bus_slug, day_trips, replay_at, stop_rows
from dashboard.geo.gcj02 import display
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.inputs import parse_instant, text_param
from dashboard.roles import current, personal
from dashboard.timeutil import LOCAL_TZ, hhmm, utcnow
from datasources.sql.buses import BusStore
from pages._components import page_title, services, site_header, town_map
from pages._fleet_parts import manifest_block, not_fit_mark, record_panel, staff_block

dash.register_page(__name__, path="/buses", title=page_title("nav_buses"))

REPLAY_DAYS = 7


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "bus-lang"
    TICK = "bus-tick"
    BOARD = "bus-board"
    MAP = "bus-map"
    ROUTES = "bus-routes"
    LIVE = "bus-live"
    SELECTED = "bus-selected"
    REV = "bus-drawn-rev"
    DETAIL = "bus-detail"
    PICK_ROW = "bus-pick-row"  # pattern: {"type": PICK_ROW, "plate": ..., "trip": ...}
    PICK_BUS = "bus-pick-bus"  # pattern: {"type": PICK_BUS, "plate": ...}
    REPLAY_RUN = "bus-replay-run"
    REPLAY_TRACK = "bus-replay-track"
    REPLAY_SLIDER = "bus-replay-slider"
    REPLAY_TIME = "bus-replay-time"
    REPLAY_LAYER = "bus-replay-layer"


def _crs() -> str:
    s = services().settings
    return s.tile_crs if s.tile_url else "wgs84"


def _latlng(lon: float, lat: float) -> list[float]:
    x, y = display(lon, lat, _crs())
    return [y, x]


def _route_lines() -> dict[str, Any]:
    tracker = services().hub.tracker
    seen, features = set(), []
    for plan in (tracker.fleet.plans.values() if tracker else []):
        if plan.route in seen:
            continue
        seen.add(plan.route)
        coords = [list(display(lon, lat, _crs())) for lon, lat in
                  (plan.line.lonlat(d) for d in _samples(plan.line.length_m))]
        features.append({"type": "Feature", "properties": {"route": plan.route},
                         "geometry": {"type": "LineString", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": features}


def _samples(length: float, step: float = 60.0) -> list[float]:
    n = max(2, int(length // step) + 1)
    return [length * i / (n - 1) for i in range(n)]


def layout(lang: str | None = None, bus: str | None = None, **_query: Any) -> Any:
    """Board on the left, map in the middle, the selected bus and the replay on the right;
    ?bus=<plate> opens with that bus picked (a link from a work order, a screenshot)."""
    lang = lang if lang in LANGS else services().settings.lang
    picked = bus.strip()[:20] if isinstance(bus, str) and bus.strip() else None
    svc = services()
    the_map = town_map(ids.MAP, svc.town_meta, svc.settings.tile_url)
    the_map.children = [*the_map.children,
                        dl.GeoJSON(data=_route_lines(), id=ids.ROUTES, interactive=False,
                                   style={"color": "#2ec4b6", "weight": 4, "opacity": 0.85}),
                        # Above the basemap's place labels, so a bus is always clickable.
                        dl.Pane([dl.LayerGroup(id=ids.REPLAY_LAYER), dl.LayerGroup(id=ids.LIVE)],
                                name="zn-bus-pane", style={"zIndex": 650})]
    other = "en" if lang == "zh" else "zh"
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.SELECTED, data=picked),
        dcc.Store(id=ids.REV),
        dcc.Store(id=ids.REPLAY_TRACK),
        dcc.Interval(id=ids.TICK, interval=1000),
        site_header("/buses", lang),
        html.Header([
            html.H1(t("bus_page_title", lang)),
            html.A(t("bus_lang_other", lang), href=f"/buses?lang={other}", className="bus-lang"),
        ], className="bus-head"),
        html.Section([html.H2(t("bus_board", lang)), html.Div(id=ids.BOARD)],
                     className="bus-board"),
        html.Section(the_map, className="bus-map"),
        html.Section([
            html.Div(t("bus_pick", lang), id=ids.DETAIL, className="bus-detail"),
            html.H2(t("bus_replay", lang)),
            dcc.Dropdown(id=ids.REPLAY_RUN, placeholder=t("bus_replay_pick", lang),
                         className="bus-replay-run"),
            dcc.Slider(id=ids.REPLAY_SLIDER, min=0, max=0, step=1, value=0, marks=None,
                       tooltip=None, updatemode="drag"),
            html.Div(id=ids.REPLAY_TIME, className="bus-replay-time"),
        ], className="bus-side"),
    ], className="bus-page", lang="zh-CN" if lang == "zh" else "en")


@dash.callback(Output(ids.BOARD, "children"), Output(ids.LIVE, "children"),
               Output(ids.DETAIL, "children"), Output(ids.REV, "data"),
               Input(ids.TICK, "n_intervals"), Input(ids.SELECTED, "data"),
               State(ids.LANG, "data"), State(ids.REV, "data"))
def refresh_bus_screen(_n: int, selected: str | None, lang: str, drawn: list | None) -> Any:
    """Board, markers and the selected bus, from the tracker in memory (no SQL per screen)."""
    svc = services()
    tracker, now, state = svc.hub.tracker, utcnow(), svc.hub.state
    if tracker is None:
        return "", [], "", None
    # Both stores come back from the browser: a plate is text, the drawn revision is the
    # list of three this callback wrote (a number, a dict or a short list was a 500).
    selected = selected if isinstance(selected, str) else None
    drawn = drawn if isinstance(drawn, list) and len(drawn) == 3 else None
    board = day_trips(tracker.fleet.plans, state.trips, tracker.fleet.finished, now, lang,
                      tracker.fleet.holidays)
    unfit = svc.fleet_watch.unfit() if svc.fleet_watch is not None else set()
    for r in board:
        r["not_fit"] = r["plate"] in unfit
    # Redraw only what changed: markers when a bus moved or the pick changed, the board
    # when a row did (a redraw also re-arms every click target on the page).
    digest = hashlib.sha1(json.dumps(board, sort_keys=True).encode()).hexdigest()
    rev = [state.rev, selected, digest]
    old = drawn or [None, None, None]
    markers = _markers(selected) if rev[:2] != old[:2] else no_update
    # A manifest read is audited once per pick of a bus, not at every redraw.
    first_view = selected is not None and selected != old[1]
    school = is_school_day(now.astimezone(LOCAL_TZ).date(), tracker.fleet.holidays)
    table = _board(board, lang, school) if digest != old[2] else no_update
    return table, markers, _detail(selected, lang, first_view), rev


def _board(board: list[dict[str, Any]], lang: str, school_day: bool = True) -> Any:
    head = html.Tr([html.Th(t(k, lang)) for k in ("bus_col_route", "bus_col_trip",
                    "bus_col_departs", "bus_col_arrives", "bus_col_plate", "bus_col_status")])
    body = [html.Tr([
        html.Td(r["route_name"]), html.Td(r["trip"]), html.Td(r["departs"]),
        html.Td(r["arrives"]),
        html.Td([r["plate"], not_fit_mark(lang)] if r.get("not_fit") else r["plate"]),
        html.Td(r["punctuality"], className=f"bus-status bus-{r['status']}",
                style={"color": r["colour"]}),
    ], id={"type": ids.PICK_ROW, "plate": r["plate"] or "", "trip": r["trip"]},
        n_clicks=0, className="bus-row" + (" bus-has-bus" if r["plate"] else ""))
        for r in board]
    if not body:  # a weekend or a holiday: say so, not an empty board
        body = [html.Tr(html.Td(t("bus_no_trips_today" if school_day else "bus_no_school",
                                  lang), colSpan=6, className="bus-empty"))]
    return html.Table([html.Thead(head), html.Tbody(body)], className="bus-table")


def _markers(selected: str | None) -> list[Any]:
    out = []
    for p in services().hub.state.vehicles.values():
        picked = " zn-bus-picked" if p.plate == selected else ""
        # An arrow pointing where the bus is heading (0 = north, clockwise).
        arrow = f'<div class="zn-bus-arrow" style="transform: rotate({p.heading:.0f}deg)"></div>'
        out.append(dl.DivMarker(
            position=_latlng(p.lon, p.lat), id={"type": ids.PICK_BUS, "plate": p.plate},
            n_clicks=0, title=f"{p.plate} · {p.speed_kmh:.0f} km/h",
            iconOptions={"className": f"zn-bus {bus_slug(p.plate)}{picked}", "html": arrow,
                         "iconSize": [22, 22], "iconAnchor": [11, 11]}))
    return out


def _detail(plate: str | None, lang: str, first_view: bool = False) -> Any:
    if not plate:
        return t("bus_pick", lang)
    svc = services()
    fleet = svc.hub.tracker.fleet
    fix = svc.hub.state.vehicles.get(plate)
    detail = fleet.detail(plate, utcnow())
    parts: list[Any] = [html.H2(plate, className="bus-plate")]
    if fix is not None:
        parts.append(html.P(f"{t('bus_last_fix', lang)}: {hhmm(fix.at)} · "
                            f"{fix.speed_kmh:.0f} km/h · {fix.lon:.5f}, {fix.lat:.5f}",
                            className="bus-fix"))
    tracker = svc.hub.tracker
    record = tracker.vehicle_records.get(plate) or {}
    route = detail["route"] if detail else record.get("route")
    who = current()
    phone = lambda number: personal(number, "phone", who)  # noqa: E731 - the one phone rule
    parts += staff_block(plate, route, lang)
    # A bus on the map that the town's register does not hold has no record to show.
    if svc.fleet_watch is not None:
        with contextlib.suppress(NotFound):
            parts.append(html.Div(record_panel(svc.fleet_watch.view(plate, phone), lang),
                                  className="fleet-record"))
    if detail is None:
        parts.append(html.P(t("bus_no_trip", lang), className="bus-no-trip"))
        return parts
    row = svc.hub.state.trips.get(plate, detail)
    plan = fleet.plans[detail["trip"]]
    parts.insert(2, html.P(f"{plan.route_name_en if lang == 'en' else plan.route_name} · "
                           f"{detail['trip']} · {_status(row, lang)}", className="bus-trip"))
    if row.get("load") is not None:
        parts.insert(3, html.P(f"{t('bus_load', lang)}: {round(row['load'] * 100)}%",
                               className="bus-load"))
    counts = svc.boarding.counts(detail["trip"], utcnow().astimezone(LOCAL_TZ).date()
                                 .isoformat()) if svc.boarding is not None else None
    if counts is not None:  # issue 13: the trip's children, counts only (the wall sees it)
        parts.insert(3, html.P(pupil_counts_text(counts, lang), className="bus-pupils"))
        parts += manifest_block(detail["trip"], plate, lang, where="/buses",
                                first_view=first_view)
    stops = stop_rows(detail, lang)
    parts += [html.H3(t("bus_stops", lang)), html.Table([
        html.Thead(html.Tr([html.Th(t(k, lang)) for k in
                            ("bus_col_stop", "bus_col_sched", "bus_col_eta")] + [html.Th("")])),
        html.Tbody([html.Tr([html.Td(s["name"]), html.Td(s["scheduled"]), html.Td(s["eta"]),
                             html.Td(s["passed"])], className="bus-stop") for s in stops]),
    ], className="bus-stops")]
    return parts


def pupil_counts_text(counts: dict[str, int], lang: str) -> str:
    """学生 应到 9 · 在车 3 · 已下车 0 · 未到 1"""
    words = [f"{t(key, lang)} {counts[name]}" for key, name in (
        ("esc_expected", "expected"), ("esc_on_board", "on_board"),
        ("esc_alighted", "alighted"), ("esc_absent_n", "absent"))]
    return t("bus_pupils", lang) + (" " if lang == "zh" else ": ") + " · ".join(words)


def _status(row: dict[str, Any], lang: str) -> str:
    return punctuality_text(row.get("status", ""), row.get("delay_min"), lang)


@dash.callback(Output(ids.SELECTED, "data"),
               Input({"type": ids.PICK_ROW, "plate": ALL, "trip": ALL}, "n_clicks"),
               Input({"type": ids.PICK_BUS, "plate": ALL}, "n_clicks"),
               prevent_initial_call=True)
def select_bus(_rows: list[int | None], _buses: list[int | None]) -> Any:
    """Remember the bus whose row or marker was clicked (ignore components just redrawn)."""
    # A redraw "triggers" every new component, each with no clicks yet; a click is the one
    # triggered component that has some.
    fired = {t["prop_id"].rsplit(".", 1)[0] for t in ctx.triggered}
    for group in ctx.inputs_list:
        for item in group:
            key = json.dumps(item["id"], sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False)
            if item.get("value") and key in fired and item["id"].get("plate"):
                return item["id"]["plate"]
    return no_update


@dash.callback(Output(ids.REPLAY_RUN, "options"), Input(ids.SELECTED, "data"),
               Input(ids.LANG, "data"))
def list_recorded_trips(_selected: str | None, lang: str) -> list[dict[str, str]]:
    """The recorded runs of the last days, newest first, as replay choices."""
    now = utcnow()
    runs = BusStore(services().store).history_runs(now - timedelta(days=REPLAY_DAYS), now)
    out = []
    for r in reversed(runs):
        label = (f"{r['start'].astimezone(LOCAL_TZ).strftime('%m-%d')} {hhmm(r['start'])}–"
                 f"{hhmm(r['end'])} {r['plate']} {r['trip'] or ''}")
        out.append({"label": label, "value": "|".join(
            [r["plate"], r["trip"] or "", r["start"].isoformat(), r["end"].isoformat()])})
    return out or [{"label": t("bus_replay_none", lang), "value": "", "disabled": True}]


@dash.callback(Output(ids.REPLAY_TRACK, "data"), Output(ids.REPLAY_SLIDER, "max"),
               Output(ids.REPLAY_SLIDER, "value"), Input(ids.REPLAY_RUN, "value"),
               prevent_initial_call=True)
def load_replay(choice: str | None) -> Any:
    """Load one recorded run for the slider."""
    if not choice:
        return None, 0, 0
    try:  # the choice comes back from the browser: parsed like any door's input
        plate, trip, start, end = (text_param(choice, "run") or "").split("|")
        begin, until = parse_instant(start, "start"), parse_instant(end, "end")
    except (BadInput, ValueError):  # not one of the runs listed (it was a 500)
        return None, 0, 0
    track = BusStore(services().store).track(plate, begin, until, trip or None)
    return {"plate": plate, "fixes": track}, max(0, len(track) - 1), 0


@dash.callback(Output(ids.REPLAY_LAYER, "children"), Output(ids.REPLAY_TIME, "children"),
               Input(ids.REPLAY_SLIDER, "value"), State(ids.REPLAY_TRACK, "data"))
def move_replay_marker(index: int | None, track: dict[str, Any] | None) -> Any:
    """The replayed run as a line and the bus where it was at the slider's time."""
    fixes = track.get("fixes") if isinstance(track, dict) else None
    if not isinstance(fixes, list) or not fixes:
        return [], ""
    try:  # the track came back from the browser: a copy not shaped as written is no track
        fix = replay_at(fixes, index if isinstance(index, int) else 0)
        assert fix is not None
        line = dl.Polyline(positions=[_latlng(f["lon"], f["lat"]) for f in fixes],
                           color="#ff8c3a", weight=4, dashArray="6 6")
        dot = dl.CircleMarker(center=_latlng(fix["lon"], fix["lat"]), radius=8,
                              color="#ffffff", fillColor="#ff8c3a", fillOpacity=1,
                              className="zn-replay-bus")
        return [line, dot], f"{track['plate']} · {fix['time']} · {fix['speed_kmh']:.0f} km/h"
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return [], ""
