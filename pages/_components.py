"""Shared Dash building blocks and the one accessor through which pages reach the services."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any

import dash
import dash_leaflet as dl
from dash_extensions.javascript import Namespace

from dashboard.i18n.text import LANGS
from datasources.services import Services

js = Namespace("zn", "map")
TOWN_API = "/api/town"
CLOCK = "zn-clock"  # the header clock the page script ticks (assets/zn_stage.js)
log = logging.getLogger(__name__)


def services() -> Services:
    """The wired services of the running app (store, bus, hub)."""
    return dash.get_app().zn_services  # type: ignore[attr-defined]


async def page_lang(ws: Any, path: str, lang_id: str, tries: int = 40) -> str | None:
    """The language of page `path` in this browser, or None at once when another is shown.

    Every page's no-input persistent stream starts on every page load (Dash runs them all),
    so each stream first checks that its own page is the one displayed.
    """
    want = path.rstrip("/") or "/"
    late = 0
    for _ in range(tries):
        if ws.is_shutdown:
            return None
        try:
            shown = await ws.get_prop("_pages_location", "pathname", timeout=5)
            if shown is not None and (shown.rstrip("/") or "/") != want:
                return None
            lang = await ws.get_prop(lang_id, "data", timeout=5)
        except TimeoutError:
            # A busy browser (or box) answers late: ask again. A connection that stays
            # silent (Dash's shared worker can swap it during a page load) ends this
            # stream quietly instead of raising an error into the page's console.
            late += 1
            log.info("page %s: no answer from the browser in 5 s (%s)", path, late)
            if late >= 3:
                return None
            continue
        if lang is not None:
            return lang if lang in LANGS else "zh"
        await asyncio.sleep(0.15)
    return None


def current_lang() -> str:
    """The language asked for by the page being served (`?lang=`), else the town's default."""
    search = ""
    try:
        search = str(dash.ctx.inputs.get("_pages_location.search") or "")
    except Exception:  # not inside a callback: the index page's own request
        try:
            from dash.backends._fastapi import get_current_request

            request = get_current_request()
            search = "?" + str(request.url.query) if request is not None else ""
        except Exception:
            search = ""
    from urllib.parse import parse_qs

    wanted = parse_qs(search.lstrip("?")).get("lang", [""])[0]
    if wanted in LANGS:
        return wanted
    try:
        return services().settings.lang
    except Exception:  # no app yet (a page module imported by a tool)
        return "zh"


def page_title(key: str) -> Any:
    """A page's browser title in the user's language: "值班调度台 · 中脑"."""
    from dashboard.i18n.text import t

    def title(**_path: Any) -> str:
        lang = current_lang()
        return f"{t(key, lang)} · {t('brand', lang)}"
    return title


def site_header(path: str, lang: str, compact: bool = False) -> Any:
    """The one header of every page: the pages the role may open (dashboard/screens/nav.py
    reads the role policy), the language switch, who is signed in and sign-out.

    `compact` is the wall's: the same parts inside its own header row. A kiosk token (the
    hall's display PC) gets nothing: no one to sign out, no controls on a wall.
    """
    from dash import html

    from dashboard.i18n.codes import role_label
    from dashboard.i18n.text import t
    from dashboard.roles import current
    from dashboard.screens.nav import nav_links, shows_sign_out

    who = current()
    if who.kind == "kiosk":
        return None
    other = "en" if lang == "zh" else "zh"
    here = path.rstrip("/") or "/"
    # Plain links: every page is a full load (each page's live stream starts with it).
    links = [html.A(t(link.key, lang), href=f"{link.path}?lang={lang}",
                    className="zn-nav-link" + (" here" if link.path == here else ""),
                    **({"aria-current": "page"} if link.path == here else {}))
             for link in nav_links(who)]
    nav = html.Nav(links, className="zn-nav-links", **{"aria-label": t("nav_label", lang)})
    if compact:  # the wall's header row has room for its own title, not 13 links (admin)
        shown = next((link for link in nav_links(who) if link.path == here), None)
        nav = html.Details([html.Summary(
            f"☰ {t(shown.key, lang) if shown else t('nav_label', lang)}",
            className="zn-nav-summary"), nav], className="zn-nav-menu")
    parts: list[Any] = [
        None if compact else html.Span(t("brand", lang), className="zn-nav-brand"),
        nav,
        html.Span([
            html.A(t("lang_switch", lang), href=f"{here}?lang={other}",
                   className="lang-switch zn-nav-lang"),
            html.Span([html.Span(f"{who.name} · {role_label(who.role, lang)}",
                                 className="zn-user-name"),
                       html.Button(t("auth_logout", lang), className="zn-logout",
                                   id="zn-logout", n_clicks=0)
                       if shows_sign_out(who) else None],
                      className="zn-user", id="zn-user"),
        ], className="zn-nav-right"),
    ]
    return html.Div(parts, className="zn-nav" + (" compact" if compact else ""), id="zn-nav")


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


def village_name(code: str | None, lang: str) -> str:
    """A village's name (its level-2 grid's), or the code when the town has none such."""
    from dashboard.i18n.text import name

    for g in services().grids.values():
        if g.level == 2 and g.village == code:
            return name({"name": g.name, "name_en": g.name_en}, lang)
    return code or "—"


def known_village(code: object) -> bool:
    """Whether the town has the village `code` (a level-2 grid names it)."""
    return isinstance(code, str) and any(g.level == 2 and g.village == code
                                         for g in services().grids.values())


def upload_bytes(contents: Any) -> bytes | None:
    """An uploaded file's bytes (the data: URL dcc.Upload sends), None when there is none or
    the body is not one (a forged number or list); b"" when its base64 is broken."""
    if not isinstance(contents, str) or "," not in contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return b""
