"""Shared Dash building blocks and the one accessor through which pages reach the services."""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import html
from dash_extensions.javascript import Namespace

from dashboard.i18n import t
from datasources.services import Services

js = Namespace("zn", "map")


def services() -> Services:
    """The wired services of the running app (store, bus, hub)."""
    return dash.get_app().zn_services  # type: ignore[attr-defined]


def kpi_strip(cards: list[dict[str, Any]]) -> list[Any]:
    """The KPI cards."""
    return [
        html.Div([html.Div(c["label"], className="kpi-label"),
                  html.Div(str(c["value"]), className="kpi-value", id=f"kpi-{c['key']}")],
                 className=f"kpi {c.get('tone', '')}")
        for c in cards
    ]


def feed_items(rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """The live incident feed."""
    if not rows:
        return [html.Div(t("feed_empty", lang), className="feed-empty")]
    return [
        html.Div([
            html.Div([html.Span(r["time"], className="feed-time"),
                      html.Span(r["category"], className="feed-cat"),
                      html.Span(r["state"], className=f"feed-state {r['state_class']}")],
                     className="feed-top"),
            html.Div(r["title"], className="feed-title"),
            html.Div([html.Span(r["grid"]), html.Span(r["source"]), html.Span(r["age"]),
                      html.Span(r["countdown"], className="feed-countdown")],
                     className="feed-meta"),
        ], className="feed-item" + (" overdue" if r["overdue"] else "")
           + (" urgent" if r["priority"] == "urgent" else ""),
           id=f"inc-{r['id']}", **{"data-ref": r["ref"]})
        for r in rows
    ]


def station_panel(cards: list[dict[str, Any]], lang: str) -> list[Any]:
    """One compact card per station: key stock, teams on duty, shelter places."""
    out = []
    for c in cards:
        stock = [html.Div([html.Span(i["name"], className="stk-name"),
                           html.Span(f"{i['quantity']}{i['unit']}", className="stk-qty")],
                          className="stk" + (" low" if i["low"] else ""),
                          id=f"stk-{c['code']}-{i['sku']}")
                 for i in c["items"]]
        out.append(html.Div([
            html.Div([html.Span(c["name"], className="st-name"),
                      html.Span(c["kind"], className="st-kind")], className="st-head"),
            html.Div(stock, className="st-stock"),
            html.Div([
                html.Span(f"{t('teams_on_duty', lang)} {c['on_duty']}/{c['members']}"),
                html.Span(f"{t('shelter_free', lang)} {c['shelter']}"),
                html.Span(f"{t('low_stock', lang)} {c['low_count']}" if c["low_count"]
                          else t("stock_ok", lang),
                          className="st-alert" if c["low_count"] else "st-ok"),
            ], className="st-foot"),
        ], className="station", id=f"station-{c['code']}"))
    return out


def town_map(map_id: str, incidents_id: str, buses_id: str, meta: dict[str, Any],
             basemap: dict[str, Any], grids: dict[int, dict[str, Any]],
             stations: dict[str, Any], tile_url: str) -> Any:
    """The situation map: offline vector basemap (or tiles), grids, stations, incidents, buses."""
    lon, lat = meta.get("center") or [104.45, 30.55]
    bbox = meta.get("bbox")
    layers: list[Any] = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, maxZoom=18))
    if basemap:
        layers.append(dl.GeoJSON(data=basemap, id=f"{map_id}-base", interactive=False,
                                 style=js("baseStyle"), pointToLayer=js("basePoint")))
    layers += [
        dl.GeoJSON(data=grids.get(3), id=f"{map_id}-grid3", style=js("grid3Style"),
                   interactive=False),
        dl.GeoJSON(data=grids.get(1), id=f"{map_id}-grid1", style=js("grid1Style"),
                   interactive=False),
        dl.GeoJSON(data=stations, id=f"{map_id}-stations", pointToLayer=js("stationPoint")),
        dl.GeoJSON(data=None, id=incidents_id, pointToLayer=js("incidentPoint")),
        dl.GeoJSON(data=None, id=buses_id, pointToLayer=js("busPoint")),
    ]
    view: dict[str, Any] = {"center": [lat, lon], "zoom": 13}
    if bbox:
        view = {"bounds": [[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
                "boundsOptions": {"padding": [12, 12]}}
    return dl.MapContainer(layers, id=map_id, zoomControl=False, attributionControl=False,
                           zoomSnap=0.1, className="zn-map", **view)
