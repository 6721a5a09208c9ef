"""Shared Dash building blocks and the one accessor through which pages reach the services."""

from __future__ import annotations

import asyncio
from typing import Any

import dash
import dash_leaflet as dl
from dash_extensions.javascript import Namespace

from dashboard.i18n.text import LANGS
from datasources.services import Services

js = Namespace("zn", "map")
TOWN_API = "/api/town"


def services() -> Services:
    """The wired services of the running app (store, bus, hub)."""
    return dash.get_app().zn_services  # type: ignore[attr-defined]


async def page_lang(ws: Any, path: str, lang_id: str, tries: int = 40) -> str | None:
    """The language of page `path` in this browser, or None at once when another is shown.

    Every page's no-input persistent stream starts on every page load (Dash runs them all),
    so each stream first checks that its own page is the one displayed.
    """
    want = path.rstrip("/") or "/"
    for _ in range(tries):
        if ws.is_shutdown:
            return None
        shown = await ws.get_prop("_pages_location", "pathname", timeout=5)
        if shown is not None and (shown.rstrip("/") or "/") != want:
            return None
        lang = await ws.get_prop(lang_id, "data", timeout=5)
        if lang is not None:
            return lang if lang in LANGS else "zh"
        await asyncio.sleep(0.15)
    return None


def user_badge(lang: str) -> Any:
    """Who is signed in, and a sign-out button (assets/zn_auth.js posts /logout)."""
    from dash import html

    from dashboard.i18n.text import t
    from dashboard.roles import ROLE_LABELS, current

    who = current()
    role = ROLE_LABELS.get(who.role, (who.role, who.role))[1 if lang == "en" else 0]
    return html.Span([html.Span(f"{who.name} · {role}", className="zn-user-name"),
                      html.Button(t("auth_logout", lang), className="zn-logout",
                                  id="zn-logout", n_clicks=0)],
                     className="zn-user", id="zn-user")


def town_map(map_id: str, meta: dict[str, Any], tile_url: str) -> Any:
    """The situation map: offline vector basemap (or tiles), grids, stations, incidents.

    Static layers load by URL (app.py serves them): data kept inside the layout is crawled
    by the Dash renderer on every children update, which made each push cost a whole core.
    """
    lon, lat = meta.get("center") or [104.45, 30.55]
    bbox = meta.get("bbox")
    layers: list[Any] = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, maxZoom=18))
    else:
        layers.append(dl.GeoJSON(url=f"{TOWN_API}/basemap.geojson", id=f"{map_id}-base",
                                 interactive=False, style=js("baseStyle"),
                                 pointToLayer=js("basePoint")))
    layers += [
        dl.GeoJSON(url=f"{TOWN_API}/grids-3.geojson", id=f"{map_id}-grid3",
                   style=js("grid3Style"), interactive=False),
        dl.GeoJSON(url=f"{TOWN_API}/grids-1.geojson", id=f"{map_id}-grid1",
                   style=js("grid1Style"), interactive=False),
        dl.GeoJSON(url=f"{TOWN_API}/stations.geojson", id=f"{map_id}-stations",
                   pointToLayer=js("stationPoint")),
    ]  # incidents and buses are updated in place by assets/zn_map.js
    view: dict[str, Any] = {"center": [lat, lon], "zoom": 13}
    if bbox:
        view = {"bounds": [[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
                "boundsOptions": {"padding": [12, 12]}}
    # No viewport tracking: with `bounds` and no `center` it threw on every map move.
    return dl.MapContainer(layers, id=map_id, zoomControl=False, attributionControl=False,
                           zoomSnap=0.1, className="zn-map", trackViewport=False, **view)
