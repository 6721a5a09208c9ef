"""Builders of the /resources page's tables and coverage map (pure layout, no callbacks)."""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import html

from dashboard.i18n.codes import skill_label, stock_category_label, unit_label
from dashboard.i18n.text import name, t
from dashboard.resources.coverage import RADIUS_M
from dashboard.resources.readiness import readiness_rows
from dashboard.resources.stock import Stock
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from pages._components import services, town_map

MAP_ID = "rs-map"


# ---------------------------------------------------------------------------- tables
def _table(head: list[str], rows: list[Any], cls: str = "res-table") -> Any:
    # A figure's header sits over its figure: numeric columns are right-aligned, so their
    # headers are too (left-aligned headers put each number under its neighbour's name).
    first = list(getattr(rows[0], "children", None) or []) if rows else []
    nums = {i for i, cell in enumerate(first) if "num" in (getattr(cell, "className", "") or "")}
    return html.Table([html.Thead(html.Tr([html.Th(h, className="num" if i in nums else None)
                                           for i, h in enumerate(head)])),
                       html.Tbody(rows)], className=cls)


def readiness_table(stations: list[dict[str, Any]], lang: str) -> Any:
    """One row per station: level, reasons and the figures behind them."""
    rows = [html.Tr([
        html.Td(r["name"]),
        html.Td(t(f"rd_{r['level']}", lang), className=f"res-lvl {r['level']}"),
        html.Td("；".join(r["reasons"]) or "—"),
        *[html.Td(r[k], className="num")
          for k in ("low", "expiring", "shelter_free", "on_duty", "vehicles")],
    ], id=f"rd-{r['code']}") for r in readiness_rows(stations, lang, utcnow())]
    return _table([t(k, lang) for k in ("res_station", "res_col_level", "res_col_reasons",
                                        "res_col_low", "res_col_expiring", "res_col_shelter",
                                        "res_col_on_duty", "res_col_vehicles")], rows)


def stock_table(station: dict[str, Any], lang: str) -> Any:
    """The station's items with on hand, reserved, out, available and minimum."""
    rows = [html.Tr([
        html.Td(i["sku"]), html.Td(name(i, lang)),
        html.Td(stock_category_label(i["category"], lang)),
        html.Td(unit_label(i["unit"], lang)),
        html.Td(i.get("batch") or ""), html.Td(i.get("expiry") or ""),
        *[html.Td(v, className="num") for v in (i["quantity"], i.get("reserved", 0),
                                                 i.get("out", 0), Stock.of(i).available,
                                                 i["min_level"])],
    ], className="low" if Stock.of(i).low else "",
        id=f"rs-row-{i['sku']}") for i in station["items"]]
    return _table([t(k, lang) for k in (
        "res_col_sku", "res_item", "res_col_category", "res_col_unit", "res_col_batch",
        "res_col_expiry", "res_col_qty", "res_col_reserved", "res_col_out",
        "res_col_available", "res_col_min")], rows)


def ledger_table(rows: list[dict[str, Any]], lang: str) -> Any:
    """Movements newest first: time, item, kind, change, after, reason, who."""
    body = [html.Tr([
        html.Td(as_utc(r["at"]).astimezone(LOCAL_TZ).strftime("%m-%d %H:%M:%S")),
        html.Td(name(r, lang)), html.Td(t(f"mv_{r['kind']}", lang)),
        html.Td(f"{r['delta']:+d}", className="num"), html.Td(r["after"], className="num"),
        html.Td(r["reason"]), html.Td(r["actor"]),
    ], className="rs-mv") for r in rows]
    return _table([t(k, lang) for k in ("res_col_time", "res_item", "res_col_kind",
                                        "res_col_delta", "res_col_after", "res_reason",
                                        "res_col_actor")], body)


def coverage_table(rows: list[dict[str, Any]], lang: str) -> Any:
    """Per village: its station, straight and road distance, drive time, within target."""
    body = []
    for r in rows:
        flag = (t("res_flag_far", lang) if r["outside_radius"] else
                t("res_flag_late", lang) if r["late"] else t("res_flag_ok", lang))
        body.append(html.Tr([
            html.Td(name(r, lang)),
            html.Td(r["station_name_en"] if lang == "en" else r["station_name"]),
            html.Td(f"{r['line_m'] / 1000:.1f} km", className="num"),
            html.Td(f"{r['road_m'] / 1000:.1f} km", className="num"),
            html.Td(f"{r['minutes']:.0f} {t('disp_minutes', lang)}", className="num"),
            html.Td(flag),
        ], className="flagged" if r["flagged"] else "", id=f"cov-{r['village']}"))
    return _table([t(k, lang) for k in ("res_col_village", "res_col_station", "res_col_line",
                                        "res_col_road", "res_col_minutes", "res_col_flag")],
                  body)


def coverage_map(stations: list[dict[str, Any]], coverage: list[dict[str, Any]],
                 meta: dict[str, Any], lang: str) -> Any:
    """The town map with each area station's 5 km response radius and every village
    coloured by whether its station reaches it in time."""
    town = town_map(MAP_ID, meta, services().settings.tile_url)
    shapes: list[Any] = [
        dl.Circle(center=[st["lat"], st["lon"]], radius=RADIUS_M, interactive=False,
                  color="#39a0ff", weight=1, fillOpacity=0.05, dashArray="6 6")
        for st in stations if st["kind"] != "centre"]
    for r in coverage:
        colour = "#ffb020" if r["flagged"] else "#2ec4b6"
        station = r["station_name_en"] if lang == "en" else r["station_name"]
        shapes.append(dl.CircleMarker(
            center=[r["lat"], r["lon"]], radius=7, color=colour, fillColor=colour,
            fillOpacity=0.9, weight=1, id=f"cov-pt-{r['village']}",
            children=dl.Tooltip(f"{name(r, lang)} · {station} · "
                                f"{r['minutes']:.0f} {t('disp_minutes', lang)}")))
    # Their own pane above the grid polygons, which load later and would cover them.
    town.children = [*town.children, dl.Pane(shapes, name="coverage", style={"zIndex": 630})]
    return town


def teams_table(station: dict[str, Any], lang: str) -> Any:
    """The station's teams: duty status, people on duty, medics, vehicles, skills."""
    rows = [html.Tr([
        html.Td(name(tm, lang)), html.Td(t(f"team_{tm['status']}", lang)),
        html.Td(f"{tm['on_duty']}/{tm['members']}", className="num"),
        html.Td(tm.get("medics", 0), className="num"),
        html.Td(tm.get("vehicles", 0), className="num"),
        html.Td(("、" if lang != "en" else ", ").join(
            skill_label(s, lang) for s in tm.get("skills") or [])),
    ], id=f"rs-team-{tm['code']}") for tm in station["teams"]]
    return _table([t(k, lang) for k in ("disp_team", "res_col_status", "res_col_on_duty",
                                        "res_col_medics", "res_col_vehicles",
                                        "res_col_skills")], rows)
