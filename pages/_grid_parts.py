"""Pieces of the grid heatmap page: ids, controls, map, legend, breadcrumb, side panel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard.grids.rota import shift_at
from dashboard.grids.stats import MEASURES, WINDOWS
from dashboard.grids.views import measure_label
from dashboard.i18n.text import category_label, name, t
from dashboard.incidents.lifecycle import CATEGORIES
from pages._components import TOWN_API, js, services

PATH = "/grids"


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the grid heatmap page."""

    LANG = "gs-lang"
    MAP = "gs-map"
    DRILL = "gs-drill"  # {"level": 1..3, "path": [codes clicked]}
    SELECT = "gs-select"  # the grid clicked last
    MEASURE = "gs-measure"
    WINDOW = "gs-window"
    CATEGORY = "gs-category"
    HEAT = "gs-heat"
    FRAME = "gs-frame"
    FRAME_ACK = "gs-frame-ack"
    HEAT_FRAME = "gs-heat-frame"
    HEAT_ACK = "gs-heat-ack"
    TICK = "gs-tick"  # bumped by the live stream when incidents change
    LEGEND = "gs-legend"
    CRUMBS = "gs-crumbs"
    RANK = "gs-rank"
    TOTALS = "gs-totals"
    SIDE = "gs-side"
    CRUMB = "gs-crumb"  # pattern: {"type": CRUMB, "index": n}


def controls(lang: str, measure: str, window: str, heat: bool = False) -> Any:
    """Measure, window and category selectors and the heat toggle."""
    cats = [{"label": category_label(c.code, lang), "value": c.code} for c in CATEGORIES]
    return html.Div([
        dcc.RadioItems(id=ids.MEASURE, value=measure, inline=True, className="gs-radio",
                       options=[{"label": measure_label(m, lang), "value": m} for m in MEASURES]),
        dcc.RadioItems(id=ids.WINDOW, value=window, inline=True, className="gs-radio",
                       options=[{"label": t(f"gs_w_{w}", lang), "value": w} for w in WINDOWS]),
        dcc.Dropdown(id=ids.CATEGORY, options=cats, value=None, className="gs-dd",
                     placeholder=t("gs_all_categories", lang)),
        dcc.Checklist(id=ids.HEAT, options=[{"label": t("gs_heat", lang), "value": "on"}],
                      value=["on"] if heat else [], className="gs-heat-toggle"),
    ], className="gs-controls")


def grid_map(meta: dict[str, Any], tile_url: str) -> Any:
    """The basemap alone: the choropleth and heat are drawn by assets/zn_grids.js."""
    bbox = meta.get("bbox") or [104.40, 30.50, 104.50, 30.60]
    base = (dl.TileLayer(url=tile_url, maxZoom=18) if tile_url else
            dl.GeoJSON(url=f"{TOWN_API}/basemap.geojson", id=f"{ids.MAP}-base",
                       interactive=False, style=js("baseStyle"), pointToLayer=js("basePoint")))
    return dl.MapContainer([base], id=ids.MAP, zoomControl=True, attributionControl=False,
                           zoomSnap=0.1, className="zn-map gs-map", trackViewport=False,
                           bounds=[[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
                           boundsOptions={"padding": [12, 12]})


def legend(rows: list[dict[str, Any]], measure: str, level: int, lang: str) -> list[Any]:
    """The colour legend with the numbers of each class and how many grids fall in it."""
    head = html.Div(f"{t('gs_legend', lang)} · {measure_label(measure, lang)} · "
                    f"{t('gs_level', lang).format(n=level)}", className="gs-legend-head")
    return [head] + [html.Div([
        html.Span(className="gs-swatch", style={"background": r["colour"]}),
        html.Span(r["label"], className="gs-legend-range"),
        html.Span(t("gs_grids_1" if r["grids"] == 1 else "gs_grids_n", lang).format(
            n=r["grids"]), className="gs-legend-n"),
    ], className="gs-legend-row") for r in rows]


def breadcrumb(items: list[dict[str, Any]]) -> list[Any]:
    """Clickable path back up the drill-down; the last item is where we are."""
    out: list[Any] = []
    for n, item in enumerate(items):
        if n:
            out.append(html.Span("›", className="gs-crumb-sep"))
        last = n == len(items) - 1
        out.append(html.Button(item["label"], id={"type": ids.CRUMB, "index": n},
                               className="gs-crumb" + (" current" if last else ""),
                               disabled=last))
    return out


def totals(cards: list[dict[str, Any]]) -> list[Any]:
    """The figures of the grids in view (the town at level 1), with data-kpi/data-value."""
    return [html.Div([html.Span(c["label"], className="gs-total-label"),
                      html.Span(c["value"], className="gs-total-value",
                                id=f"gs-total-{c['kpi']}",
                                **{"data-kpi": c["kpi"], "data-window": c["window"],
                                   "data-value": c["raw"]})],
                     className="gs-total") for c in cards]


def ranking(rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """The grids in view ordered by the measure."""
    return [html.H3(t("gs_ranking", lang))] + [
        html.Div([html.Span(str(n + 1), className="gs-rank-n"),
                  html.Span(r["name"], className="gs-rank-name"),
                  html.Span(r["value"], className="gs-rank-v")], className="gs-rank-row")
        for n, r in enumerate(rows)]


def grid_detail(code: str | None, lang: str, now: datetime) -> list[Any]:
    """A level-3 grid: leader, workers with workload, the week's rota, the call-up list."""
    svc = services()
    cell = svc.grids.get(code) if isinstance(code, str) else None  # the browser's word
    if cell is None or cell.level != 3 or svc.rota is None:
        return [html.P(t("gs_pick_grid", lang), className="gs-hint")]
    rota = svc.rota
    day, _shift = shift_at(now)
    on_duty = rota.worker_on_duty(cell.code, now)
    load = rota.workload()
    workers = [html.Li([html.Span(w["name"], className="gs-w-name"
                                  + (" on-duty" if w["name"] == on_duty else "")),
                        html.Span(f"{load.get(w['name'], 0)} {t('gs_workload', lang)}",
                                  className="gs-w-load")])
               for w in cell.workers]
    week = rota.table(cell.code, day, 7)
    table = html.Table([html.Thead(html.Tr([html.Th(""), html.Th(t("gs_day_shift", lang)),
                                            html.Th(t("gs_night_shift", lang))]))] +
                       [html.Tr([html.Td(r["date"][5:]), html.Td(r.get("day", "—")),
                                 html.Td(r.get("night", "—"))]) for r in week],
                       className="gs-rota", id="gs-rota-table")
    calls = rota.callup(cell.code, now, limit=8)
    return [
        html.H3(name({"name": cell.name, "name_en": cell.name_en}, lang)),
        html.P(f"{t('gs_leader', lang)}: {cell.leader.get('name', '—')} "
               f"{cell.leader.get('phone', '')}"),
        html.P(f"{t('gs_on_duty', lang)}: {on_duty or '—'}", id="gs-on-duty"),
        html.H4(t("gs_workers", lang)), html.Ul(workers, className="gs-workers"),
        html.H4(t("gs_rota", lang)), table,
        html.H4(t("gs_callup", lang)),
        html.Ul([html.Li(f"{c['name']} · {_grid_name(c, lang)} · {c['open']} "
                         f"{t('gs_workload', lang)} · {c['phone']}")
                 for c in calls], className="gs-callup", id="gs-callup"),
    ]


def _grid_name(row: dict[str, Any], lang: str) -> str:
    return name({"name": row["grid_name"], "name_en": row["grid_name_en"]}, lang)
