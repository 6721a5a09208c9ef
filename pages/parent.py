"""/parent, a guardian's phone (issue 13, the seeds' 微信群): each of their children's trips
today, the bus live on a small map until the child is off it, the ETA at the home stop, what
happened (上车 07:12 白鹤村站 · 到校 07:41 · 下车 16:58), a switch for the text messages and
the centre's phone.

Opened from the link the school sends (/parent?link=TOKEN, swapped for a cookie by the gate).
Which children are shown is decided on the server from the link alone
(datasources/flows/parents.py); nothing the browser sends names a child.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard.geo.gcj02 import display
from dashboard.i18n.text import LANGS, t
from dashboard.roles import current
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.flows.parents import (
    ChildTrip,
    ChildView,
    ParentReads,
    children_today,
    family,
)
from pages._components import TOWN_API, js, page_title, services

dash.register_page(__name__, path="/parent", title=page_title("nav_parent"))

SMS_ON = "sms"


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "parent-lang"
    TICK = "parent-tick"
    CHILDREN = "parent-children"
    MAP = "parent-map"
    BUS = "parent-bus"
    SMS = "parent-sms"
    SMS_STATE = "parent-sms-state"


def _crs() -> str:
    s = services().settings
    return s.tile_crs if s.tile_url else "wgs84"


def _latlng(lon: float, lat: float) -> list[float]:
    x, y = display(lon, lat, _crs())
    return [y, x]


def _reads() -> ParentReads:
    reads = services().parents
    assert reads is not None
    return reads


def _route_lines(trips: list[str]) -> tuple[dict[str, Any], list[list[float]] | None]:
    """The children's routes as lines (GeoJSON) and the bounds that hold them."""
    tracker = services().hub.tracker if services().hub is not None else None
    plans = tracker.fleet.plans if tracker is not None else {}
    features, lats, lons, seen = [], [], [], set()
    for code in trips:
        plan = plans.get(code)
        if plan is None or plan.route in seen:
            continue
        seen.add(plan.route)
        n = max(2, int(plan.line.length_m // 60) + 1)
        coords = [list(display(*plan.line.lonlat(plan.line.length_m * i / (n - 1)), _crs()))
                  for i in range(n)]
        lons += [c[0] for c in coords]
        lats += [c[1] for c in coords]
        features.append({"type": "Feature", "properties": {"route": plan.route},
                         "geometry": {"type": "LineString", "coordinates": coords}})
    bounds = [[min(lats), min(lons)], [max(lats), max(lons)]] if lats else None
    return {"type": "FeatureCollection", "features": features}, bounds


def layout(lang: str | None = None, **_query: Any) -> Any:
    """One column for a phone (390×844 first): the children's trips, the map, the switch."""
    lang = lang if lang in LANGS else services().settings.lang
    svc = services()
    pupils = _reads()
    fam = family(pupils, current())
    kids = pupils.pupils(sorted(fam.children))
    lines, bounds = _route_lines(sorted({c for p in kids for c in p.trips}))
    homes = []  # each child's home stop, where the bus is awaited
    for kid in kids:
        found = pupils.trip_route(kid.trips[0]) if kid.trips else None
        stop = next((x for x in found[0].stops if x.code == kid.home_stop), None) \
            if found else None
        if stop is not None:
            homes.append(dl.CircleMarker(
                center=_latlng(stop.lon, stop.lat), radius=7, color="#2ec4b6", weight=3,
                fillColor="#ffffff", fillOpacity=1, className="par-home-marker",
                children=dl.Tooltip(stop.name if lang == "zh" else stop.name_en or stop.name,
                                    permanent=True, direction="top")))
    view: dict[str, Any] = {"bounds": bounds, "boundsOptions": {"padding": [40, 28]}} \
        if bounds else {"center": [(svc.town_meta.get("center") or [104.45, 30.55])[1],
                                   (svc.town_meta.get("center") or [104.45, 30.55])[0]],
                        "zoom": 13}
    base = [dl.TileLayer(url=svc.settings.tile_url, maxZoom=18)] if svc.settings.tile_url \
        else [dl.GeoJSON(url=f"{TOWN_API}/basemap.geojson", id=f"{ids.MAP}-base",
                         interactive=False, style=js("baseStyle"),
                         pointToLayer=js("basePoint"))]
    the_map = dl.MapContainer([
        *base,
        dl.GeoJSON(data=lines, interactive=False,
                   style={"color": "#2ec4b6", "weight": 4, "opacity": 0.85}),
        dl.LayerGroup(homes),
        dl.Pane(dl.LayerGroup(id=ids.BUS), name="par-bus-pane", style={"zIndex": 650}),
    ], id=ids.MAP, zoomControl=False, attributionControl=False, zoomSnap=0.1,
        className="par-map", trackViewport=False, **view)
    muted = svc.outbox is not None and bool(fam.recipients) and \
        all(svc.outbox.muted(r) for r in fam.recipients)
    other = "en" if lang == "zh" else "zh"
    phone = svc.notify.centre_phone or "12345"
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Interval(id=ids.TICK, interval=5000),
        html.Div([html.H1(t("par_title", lang), className="par-h1"),
                  html.A(t("par_other_lang", lang), href=f"/parent?lang={other}",
                         className="par-lang")], className="par-head"),
        html.Div(id=ids.CHILDREN, className="par-children",
                 children=t("par_no_children", lang) if not fam.children else None),
        the_map,
        dcc.Checklist(id=ids.SMS, options=[{"label": t("par_sms", lang), "value": SMS_ON}],
                      value=[] if muted else [SMS_ON], className="par-sms",
                      inputClassName="par-sms-box"),
        html.Div(t("par_sms_off", lang) if muted else "", id=ids.SMS_STATE,
                 className="par-sms-state"),
        html.P([t("par_centre", lang), " ",
                html.A(phone, href=f"tel:{phone}", className="par-phone")],
               className="par-centre"),
    ], className="par-page")


def _trip_card(trip: ChildTrip, lang: str) -> Any:
    """One trip: where and when the child boards or gets off, state, ETA, timeline."""
    head = t("par_home" if trip.direction == "from_school" else "par_to_school", lang)
    parts: list[Any] = [
        html.Div([html.B(f"{head} {trip.trip}"),
                  html.Span(t(f"par_state_{trip.state}", lang),
                            className=f"par-state par-{trip.state}")],
                 className="par-trip-head"),
        html.Div(t("par_home_stop", lang).format(stop=trip.home_stop, time=trip.home_time),
                 className="par-stop"),
    ]
    if trip.plate is not None:
        key = "par_bus" if trip.bus is not None else "par_bus_unseen"
        parts.append(html.Div(t(key, lang).format(plate=trip.plate), className="par-bus"))
    if trip.eta is not None:
        minutes = max(0, round((trip.eta - utcnow()).total_seconds() / 60))
        parts.append(html.Div(t("par_eta", lang).format(
            time=trip.eta.astimezone(LOCAL_TZ).strftime("%H:%M"), stop=trip.home_stop,
            minutes=minutes), className="par-eta"))
    moments = [html.Span(" ".join(x for x in (t(m.word, lang), m.clock, m.stop) if x),
                         className="par-moment") for m in trip.moments]
    joined: list[Any] = []
    for i, m in enumerate(moments):
        joined += ([html.Span(" · ", className="par-dot")] if i else []) + [m]
    parts.append(html.Div(joined or t("par_nothing_yet", lang), className="par-timeline"))
    return html.Div(parts, className="par-trip", **{"data-trip": trip.trip})


def _child_card(child: ChildView, lang: str) -> Any:
    p = child.pupil
    trips = [_trip_card(x, lang) for x in child.trips] or \
        [html.Div(t("par_no_trips", lang), className="par-none")]
    return html.Section([html.H2(f"{p.name} · {p.klass}", className="par-name"), *trips],
                        className="par-child", **{"data-pupil": p.id})


@dash.callback(Output(ids.CHILDREN, "children"), Output(ids.BUS, "children"),
               Input(ids.TICK, "n_intervals"), State(ids.LANG, "data"))
def show_my_children(_n: Any, lang: Any) -> Any:
    """The guardian's own children today and the buses they are to follow, every 5 s."""
    lang = lang if lang in LANGS else "zh"
    svc = services()
    reads = _reads()
    fam = family(reads, current())
    if not fam.children:
        return t("par_no_children", lang), []
    kids = children_today(svc.hub, reads, fam, lang)
    markers = [dl.CircleMarker(center=_latlng(*trip.bus), radius=9, color="#ffffff",
                               weight=3, fillColor="#f4a261", fillOpacity=1,
                               className="par-bus-marker",
                               children=dl.Tooltip(trip.plate or ""))
               for kid in kids for trip in kid.trips if trip.bus is not None]
    return [_child_card(k, lang) for k in kids], markers


@dash.callback(Output(ids.SMS_STATE, "children"), Input(ids.SMS, "value"),
               State(ids.LANG, "data"), prevent_initial_call=True)
def set_sms_mute(value: Any, lang: Any) -> Any:
    """The switch: off mutes the guardian's text messages (for each of their children, what
    is queued included), on unmutes them."""
    lang = lang if lang in LANGS else "zh"
    svc = services()
    assert svc.outbox is not None
    who = current()
    fam = family(_reads(), who)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PreventUpdate  # not what the switch sends: nothing changes
    on = SMS_ON in value
    for recipient in fam.recipients:
        (svc.outbox.unmute if on else svc.outbox.mute)(recipient)
    if svc.audit is not None and fam.recipients:
        svc.audit.record("notify.unmute" if on else "notify.mute", ",".join(fam.recipients),
                         "/parent", who=who)
    return "" if on else t("par_sms_off", lang)
