"""The village small brain (村级小脑, issue 14): a village officer's console of its own
village, narrowed by the server (rules.village_scope): its figures (kpis.py, through the
leaders' overview), its tier shares, its open work orders, its grids on the map and its
grid workers. The work orders themselves are worked in the duty console, which the server
narrows to the village in the same way."""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, dcc, html
from shapely.geometry import shape
from shapely.ops import unary_union

from dashboard.i18n.text import LANGS, category_label, state_label, t
from dashboard.incidents.lifecycle import OPEN_STATES, is_overdue
from dashboard.incidents.rules import village_scope
from dashboard.roles import current
from dashboard.screens import leader
from dashboard.screens.views import countdown_text
from dashboard.timeutil import utcnow
from pages._components import page_title, services, site_header, town_map
from pages._leader_parts import cards, tier_panel
from pages._ticks import tick_on_change

PATH = "/village"
dash.register_page(__name__, path=PATH, title=page_title("nav_village"))
MIN_TICK_GAP_S = 5.0
QUEUE_SHOWN = 50


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the village page."""

    LANG = "vg-lang"
    TICK = "vg-tick"
    ASKED = "vg-asked"  # the village an admin asked for (?village=V03); ignored for officers
    TITLE = "vg-title"
    TODAY = "vg-today"
    MONTH = "vg-month"
    TIERS = "vg-tiers"
    QUEUE = "vg-queue"
    WORKERS = "vg-workers"
    MAP = "vg-map"
    GRIDS = "vg-grids"


def layout(lang: str | None = None, village: str | None = None, **_query: Any) -> Any:
    """Title, figures, tier shares, the queue and the village's grids and workers."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    town = town_map(ids.MAP, svc.town_meta, svc.settings.tile_url)
    town.children = [*town.children, dl.GeoJSON(id=ids.GRIDS, data=None,
                                                style={"color": "#ffd166", "weight": 2,
                                                       "fillOpacity": 0.08})]
    # The map opens on the village's grids (the bounds are no secret; the data is served
    # by the callback, for the village the server allows).
    code = village_scope(current(), village)
    cells = [c for c in svc.grids.values() if c.village == code and c.level == 3]
    if cells:
        box = unary_union([shape(c.geometry) for c in cells]).bounds
        town.bounds = [[box[1], box[0]], [box[3], box[2]]]
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.TICK, data=0),
        dcc.Store(id=ids.ASKED, data=village),
        site_header(PATH, lang),
        html.Header(html.H1(id=ids.TITLE), className="ld-header"),
        html.H2(t("ld_today", lang), className="ld-h2"),
        html.Div(id=ids.TODAY, className="ld-cards"),
        html.H2(t("ld_month", lang), className="ld-h2"),
        html.Div(id=ids.MONTH, className="ld-cards"),
        html.Div([
            html.Section([html.H2(t("vg_queue", lang)),
                          html.Div(id=ids.QUEUE, className="ld-box-body")],
                         className="ld-box wide"),
            html.Section([html.H2(t("vg_map", lang)), html.Div(town, className="vg-map-box")],
                         className="ld-box"),
            html.Section([html.H2(t("vg_workers", lang)),
                          html.Div(id=ids.WORKERS, className="ld-box-body")],
                         className="ld-box"),
            html.Section([html.H2(t("ld_tiers", lang)),
                          html.Div(id=ids.TIERS, className="ld-box-body")],
                         className="ld-box wide"),
        ], className="ld-grid"),
    ], className="ld-page vg-page", **{"data-lang": lang})


@dash.callback(
    Output(ids.TITLE, "children"), Output(ids.TODAY, "children"),
    Output(ids.MONTH, "children"), Output(ids.TIERS, "children"),
    Output(ids.QUEUE, "children"), Output(ids.WORKERS, "children"),
    Output(ids.GRIDS, "data"),
    Input(ids.TICK, "data"), State(ids.ASKED, "data"), State(ids.LANG, "data"),
)
def update_village_view(_tick: Any, asked: Any, lang: str | None) -> tuple[Any, ...]:
    """Everything of one village, read for the village the server allows (never the
    browser's word for a village officer)."""
    lang = lang if lang in LANGS else "zh"
    svc = services()
    names = svc.store.villages()
    code = village_scope(current(), asked)
    if code not in names:
        return (t("vg_none", lang), [], [], [], [], [], None)
    assert code is not None and svc.leader is not None
    now = utcnow()
    o = svc.leader.overview(now, village=code)
    name = names[code][1 if lang == "en" and names[code][1] else 0]
    orders = svc.store.queue(states=tuple(OPEN_STATES), village=code, now=now,
                             limit=QUEUE_SHOWN)
    queue = html.Table([
        html.Thead(html.Tr([html.Th(t(k, lang)) for k in
                            ("vg_ref", "vg_title_col", "ld_category", "vg_state", "vg_with",
                             "vg_due")])),
        html.Tbody([html.Tr([
            html.Td(html.A(v.ref, href=f"/dispatch?incident={v.id}&lang={lang}")),
            html.Td(v.title), html.Td(category_label(v.category, lang)),
            html.Td(state_label(v.state, lang)),
            html.Td(v.assignee or "—"),
            html.Td(countdown_text(v.deadline_at, now, lang),
                    className="od" if is_overdue(v.state, v.deadline_at, now) else ""),
        ], **{"data-incident": str(v.id)}) for v in orders]),
    ], className="ld-table") if orders else html.P(t("disp_queue_empty", lang),
                                                   className="ld-muted")
    cells = [c for c in svc.grids.values() if c.village == code and c.level == 3]
    workers = html.Ul([html.Li(f"{w['name']} · {c.name}", **{"data-worker": w["id"]})
                       for c in cells for w in c.workers], className="vg-workers")
    grids = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": c.geometry,
         "properties": {"code": c.code, "name": c.name}} for c in cells]}
    return (f"{name} · {t('vg_title', lang)}",
            cards(leader.kpi_cards(o.today, o.yesterday, "today", lang)),
            cards(leader.kpi_cards(o.month, o.prev_month, "month", lang)),
            tier_panel(leader.tier_rows(o.tiers, o.tiers_prev, lang), lang),
            queue, workers, grids)


@dash.callback(persistent=True)
async def stream_village_ticks() -> None:
    """Refresh the village's figures when the record changes (at most every 5 s)."""
    await tick_on_change(PATH, ids.LANG, ids.TICK, MIN_TICK_GAP_S)
