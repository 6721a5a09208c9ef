"""The 中脑 wall screen: map, live incident feed, stations, KPIs; updated by push."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import dash
from dash import ctx, dcc, html, set_props
from dash.exceptions import WebsocketDisconnected

from dashboard import views
from dashboard.i18n import LANGS, t
from dashboard.timeutil import utcnow
from pages._components import feed_items, kpi_strip, services, station_panel, town_map

dash.register_page(__name__, path="/", title="中脑 · 综合指挥调度")

log = logging.getLogger(__name__)
HEARTBEAT_S = 2.0


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "home-lang"
    MAP = "home-map"
    INCIDENTS = "home-incidents"
    BUSES = "home-buses"
    FEED = "home-feed"
    KPIS = "home-kpis"
    STATIONS = "home-stations"
    STATUS = "home-status"
    SEQ = "home-seq"
    HEARTBEAT = "home-heartbeat"


def _static_map_data(lang: str) -> tuple[dict, dict[int, dict], dict]:
    svc = services()
    cache = getattr(svc, "_map_cache", None)
    if cache is None:
        grids: dict[int, dict] = {1: {"type": "FeatureCollection", "features": []},
                                  3: {"type": "FeatureCollection", "features": []}}
        for g in svc.store.grid_cells():
            if g.level in grids:
                grids[g.level]["features"].append({
                    "type": "Feature", "geometry": g.geometry,
                    "properties": {"code": g.code}})
        stations = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
             "properties": {"code": s["code"], "kind": s["kind"], "tooltip": s["name"]}}
            for s in svc.store.stations()]}
        cache = svc._map_cache = (svc.basemap, grids, stations)  # type: ignore[attr-defined]
    return cache


def layout(lang: str | None = None, **_query: Any) -> Any:
    """The wall canvas: a fixed 1920×1080 stage scaled to the screen."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    meta = svc.town_meta
    basemap, grids, stations = _static_map_data(lang)
    town = meta.get("name_en") if lang == "en" else meta.get("name")
    other = "en" if lang == "zh" else "zh"
    header = html.Header([
        html.Div([html.Span(town or "", className="town"),
                  html.Span(t("app_title", lang), className="app-title"),
                  html.Span(t("demo", lang), className="demo-badge") if meta.get("demo") else None],
                 className="title"),
        html.Div([
            html.Span(t("status_connecting", lang), id=ids.STATUS, className="status warn",
                      **{"data-stale": t("status_reconnecting", lang)}),
            html.Span("", id=ids.SEQ, className="seq"),
            html.Span("", id="zn-clock", className="clock"),
            dcc.Link(t("lang_switch", lang), href=f"/?lang={other}", className="lang-switch",
                     refresh=True),
        ], className="header-right"),
    ], className="header")
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        # Server time of the last push; assets/zn_stage.js marks the screen stale when it ages.
        html.Span("", id=ids.HEARTBEAT, hidden=True),
        html.Div([
            header,
            html.Div(kpi_strip(views.kpi_cards(svc.hub.state, lang, utcnow())),
                     id=ids.KPIS, className="kpis"),
            html.Div([
                html.Section([html.H2(t("feed_title", lang)),
                              html.Div(id=ids.FEED, className="feed")], className="panel left"),
                html.Section([town_map(ids.MAP, ids.INCIDENTS, ids.BUSES, meta, basemap, grids,
                                       stations, svc.settings.tile_url)],
                             className="panel centre"),
                html.Section([html.H2(t("stations_title", lang)),
                              html.Div(id=ids.STATIONS, className="stations")],
                             className="panel right"),
            ], className="main"),
        ], className="stage", id="zn-stage", **{"data-lang": lang}),
    ], className="viewport")


# No inputs on purpose: Dash re-runs exactly the no-input persistent callbacks when the
# websocket reconnects, which is what gives every reconnecting screen a fresh snapshot.
@dash.callback(persistent=True)
async def stream_live_updates() -> None:
    """Push the snapshot, then every change, to this screen until it disconnects."""
    ws = ctx.websocket
    if ws is None:
        return
    lang = await _page_lang(ws)
    if lang is None:
        return
    try:
        await _stream(ws, lang)
    except WebsocketDisconnected:
        return
    except Exception:
        log.exception("live stream of one screen failed")
        raise


async def _page_lang(ws: Any) -> str | None:
    """The language of the wall page in this browser, or None when it is not shown."""
    for _ in range(50):
        if ws.is_shutdown:
            return None
        lang = await ws.get_prop(ids.LANG, "data", timeout=5)
        if lang is not None:
            return lang if lang in LANGS else "zh"
        await asyncio.sleep(0.2)
    return None


async def _stream(ws: Any, lang: str) -> None:
    svc = services()
    hub = svc.hub
    feed_size = svc.settings.feed_size
    bus_interval = svc.settings.push_interval_ms / 1000.0
    grid_names = _grid_names()
    sent: dict[str, int] = {}
    last_bus_push = last_beat = 0.0
    seen = -1
    while not ws.is_shutdown:
        seen = await hub.wait_change(seen, timeout=bus_interval)
        state = hub.state
        now = utcnow()
        v = state.versions
        if v["incidents"] != sent.get("incidents") or v["kpis"] != sent.get("kpis"):
            set_props(ids.FEED, {"children": feed_items(
                views.feed_rows(state, grid_names, lang, now, feed_size), lang)})
            set_props(ids.INCIDENTS, {"data": views.incidents_geojson(state, lang, now)})
            sent["incidents"] = v["incidents"]
        if v["kpis"] != sent.get("kpis") or v["status"] != sent.get("status") \
                or v["incidents"] != sent.get("kpi_inc"):
            set_props(ids.KPIS, {"children": kpi_strip(views.kpi_cards(state, lang, now))})
            sent["kpis"], sent["kpi_inc"] = v["kpis"], v["incidents"]
        if v["stations"] != sent.get("stations"):
            set_props(ids.STATIONS, {"children": station_panel(
                views.station_cards(state, lang), lang)})
            sent["stations"] = v["stations"]
        if v["status"] != sent.get("status"):
            status = views.status_line(state, lang)
            set_props(ids.STATUS, {"children": status["text"],
                                   "className": f"status {status['tone']}"})
            sent["status"] = v["status"]
        if v["vehicles"] != sent.get("vehicles") and \
                time.monotonic() - last_bus_push >= bus_interval * 0.9:
            set_props(ids.BUSES, {"data": views.buses_geojson(state, lang)})
            sent["vehicles"] = v["vehicles"]
            last_bus_push = time.monotonic()
        if time.monotonic() - last_beat >= HEARTBEAT_S:
            set_props(ids.HEARTBEAT, {"children": f"{time.time():.3f}"})
            last_beat = time.monotonic()
        if state.seq != sent.get("seq"):
            set_props(ids.SEQ, {"children": f"#{state.seq}"})
            sent["seq"] = state.seq
        await asyncio.sleep(0.02)


def _grid_names() -> dict[str, dict[str, str]]:
    svc = services()
    names = getattr(svc, "_grid_names", None)
    if names is None:
        names = {g.code: {"name": g.name, "name_en": g.name_en} for g in svc.store.grid_cells()}
        svc._grid_names = names  # type: ignore[attr-defined]
    return names
