"""Grid heatmaps (网格热力): choropleth by level with drill-down, heat layer, rota and call-up.

Polygons are drawn and restyled in place by assets/zn_grids.js from a plain frame (colour
and tooltip per grid code). A no-input persistent callback bumps a tick when incidents
change; the frame callback then recolours the grids in view without rebuilding the layer.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard.grids import views as grid_views
from dashboard.grids.stats import MEASURES, WINDOWS, choropleth, values_of
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import whole_number
from dashboard.timeutil import utcnow
from pages._components import TOWN_API, page_title, services, site_header
from pages._grid_parts import (
    PATH,
    breadcrumb,
    controls,
    grid_detail,
    grid_map,
    ids,
    legend,
    ranking,
    totals,
)
from pages._ticks import tick_on_change

dash.register_page(__name__, path=PATH, title=page_title("nav_grids"))
MAX_LEVEL = 3  # town (1), villages (2), grids (3)
MIN_TICK_GAP_S = 1.0  # at most one recolour a second, however fast incidents arrive


def _drill_of(drill: Any, cells: dict[str, Any]) -> tuple[int, list[str]]:
    """The level (1..3) and the grid codes clicked, as the browser sent them back; anything
    else (a level of "abc" or 20 digits, a path that is no list of our grid codes) stops
    the update here (no_update) instead of a 500."""
    drill = {} if drill is None else drill  # none yet: the whole town
    if not isinstance(drill, dict):
        raise PreventUpdate
    try:
        level = whole_number(drill.get("level", 1), "level", 1, MAX_LEVEL)
    except BadInput:
        raise PreventUpdate from None
    path = drill.get("path") or []
    if not isinstance(path, list) or not all(isinstance(p, str) and p in cells for p in path):
        raise PreventUpdate
    return level, path


def _drill_to(code: str | None, cells: dict[str, Any]) -> dict[str, Any]:
    """The drill state that shows grid `code` among its siblings (for ?grid= links)."""
    path: list[str] = []
    cell = cells.get(code or "")
    level = cell.level if cell else 1
    while cell is not None and cell.parent:
        path.insert(0, cell.parent)
        cell = cells.get(cell.parent)
    return {"level": level, "path": path}


def layout(lang: str | None = None, measure: str | None = None, window: str | None = None,
           grid: str | None = None, heat: str | None = None, **_query: Any) -> Any:
    """Header with breadcrumb, selectors, the map, legend and the side panel.

    `?grid=G3-03` opens on that grid (its siblings drawn, its rota shown); `?heat=1` turns
    the density layer on.
    """
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    measure = measure if measure in MEASURES else "open"
    window = window if window in WINDOWS else "30d"
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.DRILL, data=_drill_to(grid, svc.grids)),
        dcc.Store(id=ids.SELECT, data=grid if grid in svc.grids else None),
        dcc.Store(id=ids.TICK, data=0),
        dcc.Store(id=ids.FRAME, data=None),
        dcc.Store(id=ids.FRAME_ACK, data=0),
        dcc.Store(id=ids.HEAT_FRAME, data=None),
        dcc.Store(id=ids.HEAT_ACK, data=0),
        site_header(PATH, lang),
        html.Header([
            html.H1(t("gs_title", lang)),
            html.Nav(id=ids.CRUMBS, className="gs-crumbs"),
        ], className="gs-header"),
        controls(lang, measure, window, heat == "1"),
        html.Div([
            html.Div([grid_map(svc.town_meta, svc.settings.tile_url),
                      html.Div(id=ids.LEGEND, className="gs-legend")], className="gs-map-box"),
            html.Aside([html.P(t("gs_hint", lang), className="gs-hint"),
                        html.Div(id=ids.TOTALS, className="gs-totals"),
                        html.Div(id=ids.RANK, className="gs-rank"),
                        html.Div(id=ids.SIDE, className="gs-side")], className="gs-aside"),
        ], className="gs-main"),
    ], className="gs-page", **{"data-lang": lang})


dash.clientside_callback(ClientsideFunction("zn", "renderGrids"),
                         Output(ids.FRAME_ACK, "data"), Input(ids.FRAME, "data"))
dash.clientside_callback(ClientsideFunction("zn", "renderHeat"),
                         Output(ids.HEAT_ACK, "data"), Input(ids.HEAT_FRAME, "data"))


@dash.callback(
    Output(ids.FRAME, "data"), Output(ids.LEGEND, "children"), Output(ids.CRUMBS, "children"),
    Output(ids.RANK, "children"), Output(ids.TOTALS, "children"),
    Input(ids.DRILL, "data"), Input(ids.MEASURE, "value"), Input(ids.WINDOW, "value"),
    Input(ids.CATEGORY, "value"), Input(ids.TICK, "data"), State(ids.LANG, "data"),
)
def update_grid_view(drill: dict[str, Any] | None, measure: str, window: str,
                     category: str | None, _tick: Any, lang: str | None) -> tuple[Any, ...]:
    """Recolour the grids in view for the chosen measure, window and category."""
    svc = services()
    lang = lang or "zh"
    if measure not in MEASURES or window not in WINDOWS:
        raise PreventUpdate
    level, path = _drill_of(drill, svc.grids)
    path = path[: level - 1]
    parent = path[-1] if path else None
    state = svc.hub.state if svc.hub else None
    version = hash((state.versions["incidents"], state.versions["kpis"])) if state else None
    now = utcnow()
    assert svc.grid_store is not None and svc.rota is not None
    figures = svc.grid_store.measures(level, window, category, parent, now=now, version=version)
    sums = svc.grid_store.totals(window, category, parent, now=now, version=version)
    result = choropleth(values_of(figures, measure), measure)
    tips = grid_views.grid_tips(figures, svc.grids, svc.rota.on_duty(now), lang)
    frame = {"map": ids.MAP, "level": level, "parent": parent, "path": path,
             "url": f"{TOWN_API}/grids-{level}.geojson", "colours": result["colours"],
             "tips": tips, "drill": ids.DRILL, "select": ids.SELECT,
             "seq": time.time()}
    return (frame, legend(grid_views.legend_rows(result["legend"], measure, lang), measure,
                          level, lang),
            breadcrumb(grid_views.crumbs(path, svc.grids, lang)),
            ranking(grid_views.ranking(figures, svc.grids, measure, lang), lang),
            totals(grid_views.total_cards(sums, window, lang)))


@dash.callback(Output(ids.HEAT_FRAME, "data"), Input(ids.HEAT, "value"),
               Input(ids.WINDOW, "value"), Input(ids.CATEGORY, "value"), Input(ids.TICK, "data"))
def update_heat_layer(heat: list[str] | None, window: str, category: str | None,
                      _tick: Any) -> dict[str, Any]:
    """Raw incident locations of the window for the density layer (or switch it off)."""
    on = isinstance(heat, list) and "on" in heat  # a checklist's value: a list
    svc = services()
    assert svc.grid_store is not None
    points = svc.grid_store.points(window, category) if on else []
    return {"map": ids.MAP, "on": on, "points": points, "seq": time.time()}


@dash.callback(Output(ids.DRILL, "data"), Output(ids.SELECT, "data"),
               Input({"type": ids.CRUMB, "index": ALL}, "n_clicks"), State(ids.DRILL, "data"),
               prevent_initial_call=True)
def go_back_up(clicks: list[int | None], drill: dict[str, Any] | None) -> tuple[Any, Any]:
    """A breadcrumb item was clicked: show that level again."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    try:
        n = whole_number(trigger.get("index"), "index", 0, MAX_LEVEL - 1)
    except BadInput:  # no crumb the page drew: stay where it is
        raise PreventUpdate from None
    _, path = _drill_of(drill, services().grids)
    return {"level": n + 1, "path": path[:n]}, None


@dash.callback(Output(ids.SIDE, "children"), Input(ids.SELECT, "data"), Input(ids.TICK, "data"),
               State(ids.LANG, "data"))
def show_grid_duty(code: str | None, _tick: Any, lang: str | None) -> list[Any]:
    """The selected level-3 grid's workers, rota and emergency call-up list."""
    return grid_detail(code, lang or "zh", utcnow())


@dash.callback(persistent=True)
async def stream_grid_ticks() -> None:
    """Tell this page to recolour its grids whenever incidents arrive or change."""
    await tick_on_change(PATH, ids.LANG, ids.TICK, MIN_TICK_GAP_S)
