"""The 中脑 wall screen: map, live incident feed, stations, KPIs; updated by push."""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, ctx, dcc, html
from dash.exceptions import WebsocketDisconnected

from dashboard.i18n.text import LANGS, t
from dashboard.incidents.rules import village_scope
from dashboard.roles import DISPLAY, current
from dashboard.screens.frames import TARGETS, Audience
from pages._components import (
    CLOCK,
    known_village,
    page_lang,
    page_title,
    services,
    site_header,
    town_map,
)
from pages._wall_push import Restart, serve_wall
from pages._wall_push import ids as push

dash.register_page(__name__, path="/", title=page_title("nav_wall"))

log = logging.getLogger(__name__)


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "home-lang"
    MAP = TARGETS["map"]
    PANELS = push.PANELS
    PANELS_ACK = "home-panels-ack"
    BUS_FRAME = push.BUS_FRAME
    BUS_ACK = push.BUS_ACK
    FEED = TARGETS["feed"]
    KPIS = TARGETS["kpis"]
    STATIONS = TARGETS["stations"]
    STATUS = push.STATUS
    GAP = push.GAP  # a gap in the live feed, then how the log filled it
    SEQ = push.SEQ
    HEARTBEAT = push.HEARTBEAT
    RESTART = push.RESTART  # the live stream asks to be started again
    PUNCT = TARGETS["punct"]
    TICKER = TARGETS["ticker"]
    FOCUS = TARGETS["focus"]
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
            html.Span("", id=CLOCK, className="clock"),
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
                               id=ids.TICKER, className="ticker-window"),
                      html.Span(className="ticker-pages", hidden=True)],
                     className="ticker"),
        ], className="stage" + (" kiosk" if kiosk_on else ""), id=push.STAGE,
            **{"data-lang": lang, "data-kiosk": "1" if kiosk_on else "0",
               "data-sound": "1" if sound == "1" else "0",
               "data-no-alerts": t("wall_no_alerts", lang),
               "data-page-ms": str(svc.settings.wall_page_s * 1000),
               "data-cast-label": t("wall_cast", lang)}),
    ], className="viewport")


# The page's script applies the pushed panels and bus frames itself, past Dash's store
# (assets/zn_direct.js); these callbacks draw what it hands back to Dash (a value its
# handler declined or failed on).
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


# The same stream, started again when the running one asks for it (_wall_push.push_buses).
@dash.callback(Input(ids.RESTART, "data"), persistent=True, prevent_initial_call=True)
async def restart_live_updates(_asked: Any) -> None:
    """Serve this screen again over the connection the page now uses."""
    await _serve()


async def _serve() -> None:
    ws = ctx.websocket
    if ws is None:
        return
    lang = await page_lang(ws, "/", ids.LANG)
    if lang is None:
        return
    try:
        # The village is the server's rule again (the page's store is the browser's to
        # forge); with the language it names the audience whose frames this screen shares.
        village = wall_village(current(), await ws.get_prop(ids.VILLAGE, "data", timeout=5))
        await serve_wall(ws, Audience(village, lang))
    except (WebsocketDisconnected, Restart):
        pass  # the screen went away, or a fresh stream serves it now
    except Exception:
        log.exception("live stream of one screen failed")
        raise
