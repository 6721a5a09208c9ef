"""The 中脑 wall screen: map, live incident feed, stations, KPIs; updated by push."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, ctx, dcc, html, set_props
from dash.exceptions import WebsocketDisconnected

from dashboard.grids.stats import ancestors
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.rules import village_scope
from dashboard.resources.readiness import readiness_rows
from dashboard.roles import DISPLAY, current
from dashboard.screens import views, wall
from dashboard.screens.live import for_village
from dashboard.settings import split_keys
from dashboard.timeutil import utcnow
from pages._components import (
    known_village,
    page_lang,
    page_title,
    services,
    site_header,
    town_map,
)

dash.register_page(__name__, path="/", title=page_title("nav_wall"))

log = logging.getLogger(__name__)
HEARTBEAT_S = 2.0
RESEND_FULL_S = 5.0
UNANSWERED_RESTART = 3


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "home-lang"
    MAP = "home-map"
    PANELS = "home-panels"
    PANELS_ACK = "home-panels-ack"
    BUS_FRAME = "home-bus-frame"
    BUS_ACK = "home-bus-ack"
    FEED = "home-feed"
    KPIS = "home-kpis"
    STATIONS = "home-stations"
    STATUS = "home-status"
    SEQ = "home-seq"
    GAP = "home-gap"  # a gap in the live feed, then how the log filled it
    HEARTBEAT = "home-heartbeat"
    RESTART = "home-restart"  # the live stream asks to be started again
    PUNCT = "home-punct"
    TICKER = "home-ticker"
    FOCUS = "home-focus"
    VILLAGE = "home-village"  # one village's wall (?village=V03; a village officer's own)


def wall_village(who: Any, asked: object) -> str | None:
    """The village this wall shows (rules.village_scope: a village officer's own whatever
    is asked; others the village asked for, when the town has it), or None for the town."""
    village = village_scope(who, asked)
    return village if known_village(village) else None


def layout(lang: str | None = None, sound: str | None = None, village: str | None = None,
           **_query: Any) -> Any:
    """The wall canvas: a fixed 1920×1080 stage scaled to the screen.

    A wall opened with its kiosk token (`/?kiosk=TOKEN`, the display role) is read-only, with
    no controls; `?sound=1` lets alerts beep (off by default); `?village=V03` shows one
    village's work orders and figures (a village officer's wall is always their own).
    """
    svc = services()
    who = current()
    kiosk_on = who.role == DISPLAY
    lang = lang if lang in LANGS else svc.settings.lang
    meta = svc.town_meta
    town = meta.get("name_en") if lang == "en" else meta.get("name")
    scope = wall_village(who, village)
    # One village's wall says so: the village, and the small brain's name for the title.
    zh, en = svc.store.villages().get(scope, (scope, scope)) if scope else ("", "")
    header = html.Header([
        html.Div([html.Span(town or "", className="town"),
                  html.Span(en or zh if lang == "en" else zh, className="village-badge")
                  if scope else None,
                  html.Span(t("nav_village" if scope else "app_title", lang),
                            className="app-title"),
                  html.Span(t("demo", lang), className="demo-badge") if meta.get("demo") else None],
                 className="title"),
        html.Div([
            html.Span(t("status_connecting", lang), id=ids.STATUS, className="status warn",
                      **{"data-stale": t("status_reconnecting", lang)}),
            html.Span("", id=ids.GAP, className="gap"),
            html.Span("", id=ids.SEQ, className="seq"),
            html.Span("", id="zn-clock", className="clock"),
            site_header("/", lang, compact=True),  # None for the kiosk: no controls
        ], className="header-right"),
    ], className="header")
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.VILLAGE, data=scope),
        # Server time of the last push; assets/zn_stage.js marks the screen stale when it ages.
        html.Span("", id=ids.HEARTBEAT, hidden=True),
        dcc.Store(id=ids.PANELS, data=None),
        dcc.Store(id=ids.PANELS_ACK, data=0),
        dcc.Store(id=ids.RESTART, data=0),
        dcc.Store(id=ids.BUS_FRAME, data=None),
        dcc.Store(id=ids.BUS_ACK, data=0),
        html.Div([
            header,
            html.Div(id=ids.KPIS, className="kpis"),
            html.Div([
                html.Section([html.H2(t("feed_title", lang)),
                              html.Div(id=ids.FEED, className="feed")], className="panel left"),
                html.Section([town_map(ids.MAP, meta, svc.settings.tile_url),
                              html.Div(id=ids.FOCUS, className="wall-focus", hidden=True)],
                             className="panel centre"),
                html.Div([
                    html.Section([html.H2(t("wall_punctuality", lang)),
                                  html.Div(id=ids.PUNCT, className="punct")],
                                 className="panel punct-panel"),
                    html.Section([html.H2(t("wall_stations_title", lang)),
                                  html.Div(id=ids.STATIONS, className="stations")],
                                 className="panel stations-panel"),
                ], className="right-col"),
            ], className="main"),
            html.Div([html.Span(t("wall_alerts", lang), className="ticker-label"),
                      html.Div(html.Div(t("wall_no_alerts", lang), className="ticker-track"),
                               id=ids.TICKER, className="ticker-window")],
                     className="ticker"),
        ], className="stage" + (" kiosk" if kiosk_on else ""), id="zn-stage",
            **{"data-lang": lang, "data-kiosk": "1" if kiosk_on else "0",
               "data-sound": "1" if sound == "1" else "0",
               "data-no-alerts": t("wall_no_alerts", lang),
               "data-cast-label": t("wall_cast", lang)}),
    ], className="viewport")


dash.clientside_callback(ClientsideFunction("zn", "renderPanels"),
                         Output(ids.PANELS_ACK, "data"), Input(ids.PANELS, "data"))
dash.clientside_callback(ClientsideFunction("zn", "applyBuses"),
                         Output(ids.BUS_ACK, "data"), Input(ids.BUS_FRAME, "data"))


# No inputs on purpose: Dash re-runs exactly the no-input persistent callbacks when the
# websocket reconnects, which is what gives every reconnecting screen a fresh snapshot.
@dash.callback(persistent=True)
async def stream_live_updates() -> None:
    """Push the snapshot, then every change, to this screen until it disconnects."""
    await _serve()


# The same stream, started again when the running one asks for it (see _push_buses).
@dash.callback(Input(ids.RESTART, "data"), persistent=True, prevent_initial_call=True)
async def restart_live_updates(_asked: Any) -> None:
    """Serve this screen again over the connection the page now uses."""
    await _serve()


class _Restart(Exception):
    """The page stopped answering on this connection; a fresh stream takes over."""


async def _serve() -> None:
    ws = ctx.websocket
    if ws is None:
        return
    lang = await page_lang(ws, "/", ids.LANG)
    if lang is None:
        return
    try:
        await _stream(ws, lang)
    except* (WebsocketDisconnected, _Restart):
        pass  # the screen went away, or a fresh stream serves it now
    except* Exception:
        log.exception("live stream of one screen failed")
        raise


async def _stream(ws: Any, lang: str) -> None:
    # Two loops, so a slow map never holds back an incident: panels go out as soon as
    # anything changes; bus frames go out at most once per push interval, acknowledged.
    # The village is the server's rule again (the page's store is the browser's to forge).
    village = wall_village(current(), await ws.get_prop(ids.VILLAGE, "data", timeout=5))
    async with asyncio.TaskGroup() as group:
        group.create_task(_push_panels(ws, lang, village))
        group.create_task(_push_buses(ws, lang))


async def _push_panels(ws: Any, lang: str, village: str | None = None) -> None:
    svc = services()
    hub = svc.hub
    feed_size = svc.settings.feed_size
    grids = services().grids
    chain = ancestors(grids.values())
    sent: dict[str, Any] = {}
    targets = {"feed": ids.FEED, "kpis": ids.KPIS, "stations": ids.STATIONS, "map": ids.MAP,
               "punct": ids.PUNCT, "ticker": ids.TICKER, "focus": ids.FOCUS}
    panels = 0
    last_beat = 0.0
    seen = -1
    while not ws.is_shutdown:
        seen = await hub.wait_change(seen, timeout=HEARTBEAT_S)
        state = hub.state
        now = utcnow()
        v = state.versions
        if village is not None:  # one village's wall: its work orders and its figures
            if v["kpis"] != sent.get("village_kpis"):
                sent["village_kpis"] = v["kpis"]
                sent["village_board"] = await asyncio.to_thread(svc.store.kpis, now, village)
            state = for_village(state, village, sent["village_board"])
        frame: dict[str, Any] = {}
        if v["incidents"] != sent.get("incidents") or v["kpis"] != sent.get("kpis"):
            frame["feed"] = views.feed_rows(state, grids, lang, now, feed_size)
            frame["markers"] = views.incident_rows(state, lang, now)
            frame["heat"] = wall.grid_heat(state, grids, chain, lang)
            sent["incidents"] = v["incidents"]
        frame.update(_wall_panels(state, grids, lang, now, sent))
        kpi_key = hash((v["kpis"], v["status"], v["incidents"], v["vehicles"] // 10))
        if kpi_key != sent.get("kpi_key"):
            frame["kpis"] = views.kpi_cards(state, lang, now)
            sent["kpi_key"] = kpi_key
        if v["stations"] != sent.get("stations"):
            frame["stations"] = views.station_cards(state, lang)
            frame["readiness"] = readiness_rows(state.stations, lang, now)
            sent["stations"] = v["stations"]
        if frame:
            panels += 1
            set_props(ids.PANELS, {"data": {**frame, "seq": panels, "target": targets,
                                            "empty": t("feed_empty", lang)}})
        if v["status"] != sent.get("status"):
            status = views.status_line(state, lang)
            set_props(ids.STATUS, {"children": status["text"],
                                   "className": f"status {status['tone']}"})
            gap = views.gap_line(state, lang)
            set_props(ids.GAP, {"children": gap["text"], "className": gap["tone"]})
            sent["status"] = v["status"]
        if time.monotonic() - last_beat >= HEARTBEAT_S:
            set_props(ids.HEARTBEAT, {"children": f"{time.time():.3f}"})
            last_beat = time.monotonic()
        if state.seq != sent.get("seq"):
            set_props(ids.SEQ, {"children": f"#{state.seq}"})
            sent["seq"] = state.seq
        await asyncio.sleep(0.02)


def image_origins() -> tuple[str, ...]:
    """The origins whose images a screen may show (ZN_IMAGE_ORIGINS; the CSP allows them)."""
    return tuple(split_keys(services().settings.image_origins))


def _wall_panels(state: Any, grids: Any, lang: str, now: Any,
                 sent: dict[str, Any]) -> dict[str, Any]:
    """Bus punctuality, alerts and 投屏, each only when its inputs changed."""
    v = state.versions
    out: dict[str, Any] = {}
    # Positions change every second; punctuality and speeding are re-read every few.
    watch = services().fleet_watch
    punct_key = (v["trips"], v["vehicles"] // 10, watch.marks if watch is not None else None)
    if punct_key != sent.get("punct"):
        watch = services().fleet_watch  # its marks are in memory: nothing blocks the loop
        out["punct"] = wall.punctuality(state, lang,
                                        unfit=watch.marks if watch is not None else ())
        sent["punct"] = punct_key
    alert_key = (v["incidents"], v["kpis"], v["vehicles"] // 3)
    if alert_key != sent.get("alerts"):
        out["alerts"] = wall.alerts(state, grids, lang, now, image_origins())
        sent["alerts"] = alert_key
    if v["cast"] != sent.get("cast"):
        out["cast"] = wall.cast_focus(state, now, image_origins())
        sent["cast"] = v["cast"]
    return out


async def _push_buses(ws: Any, lang: str) -> None:
    svc = services()
    hub = svc.hub
    interval = svc.settings.push_interval_ms / 1000.0
    frame = 0
    sent_rev = -1  # -1: the next frame is a full one
    sent_at = 0.0
    unanswered = 0
    while not ws.is_shutdown:
        await asyncio.sleep(interval)
        if frame:
            try:
                acked = await ws.get_prop(ids.BUS_ACK, "data", timeout=interval * 2)
                unanswered = 0
            except TimeoutError:
                acked = None
                unanswered += 1
            if unanswered >= UNANSWERED_RESTART:
                # Dash's shared worker can swap the page's websocket during a page load and
                # leave this one send-only: pushes arrive, answers never do. Ask the page to
                # start a fresh stream over the connection it uses now, and end this one.
                log.info("wall stream got no answer %s times; restarting it", unanswered)
                set_props(ids.RESTART, {"data": time.time()})
                raise _Restart
            if acked != frame:
                if time.monotonic() - sent_at < RESEND_FULL_S:
                    continue  # the screen is still drawing the last frame: skip, never queue
                sent_rev = -1
        state = hub.state
        moved = list(state.vehicles.values()) if sent_rev < 0 else state.vehicles_since(sent_rev)
        if not moved and sent_rev >= 0:
            continue
        frame += 1
        set_props(ids.BUS_FRAME, {"data": {"seq": frame, "full": sent_rev < 0, "map": ids.MAP,
                                           "lang": lang, "rows": views.bus_rows(moved)}})
        sent_rev = state.rev
        sent_at = time.monotonic()
