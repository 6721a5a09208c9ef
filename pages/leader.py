"""The leaders' view (领导驾驶舱) for tablets, 768-1366 px wide: KPIs with their change,
trends, rankings, bus punctuality, station readiness, and the daily brief (值班日报)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.i18n.text import LANGS, t
from dashboard.incidents.evaluation import period
from dashboard.resources.readiness import readiness_rows
from dashboard.screens import evaluation, leader, wall
from dashboard.timeutil import LOCAL_TZ, utcnow
from pages._components import page_title, services, site_header
from pages._drill_parts import ids as drill_ids
from pages._drill_parts import leader_panel as drills_panel
from pages._leader_parts import (
    PATH,
    bus_panel,
    cards,
    category_figure,
    evaluation_panel,
    graph,
    grid_figure,
    ids,
    readiness_panel,
    tier_panel,
    trend_figure,
    unit_ranking,
)
from pages._ticks import tick_on_change

dash.register_page(__name__, path=PATH, title=page_title("nav_leader"))

MIN_TICK_GAP_S = 10.0  # a leader's tablet needs minutes, not milliseconds


def _box(title: str, body_id: str, wide: bool = False) -> Any:
    return html.Section([html.H2(title), html.Div(id=body_id, className="ld-box-body")],
                        className="ld-box" + (" wide" if wide else ""))


def layout(lang: str | None = None, **_query: Any) -> Any:
    """Cards on top, then charts and lists in a grid that reflows from 1366 to 768 px."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    other = "en" if lang == "zh" else "zh"
    meta = svc.town_meta
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.TICK, data=0),
        site_header(PATH, lang),
        html.Header([
            html.H1([html.Span(meta.get("name_en" if lang == "en" else "name") or "",
                               className="ld-town"), t("ld_title", lang)]),
            html.Div([dcc.Link(t("gs_title", lang), href=f"/grids?lang={lang}",
                               className="ld-link"),
                      dcc.Link(t("nav_analysis", lang), href=f"/analysis?lang={lang}",
                               className="ld-link", id="ld-analysis-link"),
                      dcc.Link(t("lang_switch", lang), href=f"{PATH}?lang={other}",
                               refresh=True, className="lang-switch")], className="ld-nav"),
        ], className="ld-header"),
        html.H2(t("ld_today", lang), className="ld-h2"),
        html.Div(id=ids.TODAY, className="ld-cards"),
        html.H2(t("ld_month", lang), className="ld-h2"),
        html.Div(id=ids.MONTH, className="ld-cards"),
        html.Div([
            _box(t("ld_trend", lang), ids.TREND, wide=True),
            _box(t("ld_categories", lang), ids.CATS),
            _box(t("ld_grid_rank", lang), ids.GRIDS),
            _box(t("ld_dept_rank", lang), ids.DEPTS),
            _box(t("ld_eval", lang), ids.EVAL, wide=True),
            _box(t("ld_tiers", lang), ids.TIERS, wide=True),
            _box(t("wall_punctuality", lang), ids.BUSES),
            _box(t("wall_readiness", lang), ids.READY),
            _box(t("dr_title", lang), drill_ids.LEADER_BOX),  # issue 16: 应急演练
            html.Section([
                html.H2(t("ld_brief", lang)),
                html.Button(t("ld_brief_make", lang), id=ids.BRIEF_MAKE, n_clicks=0,
                            className="ld-button"),
                html.Div(id=ids.BRIEF_MSG, className="ld-muted"),
                html.Div(id=ids.BRIEF_LIST, className="ld-brief-list"),
            ], className="ld-box"),
        ], className="ld-grid"),
    ], className="ld-page", **{"data-lang": lang})


@dash.callback(
    Output(ids.TODAY, "children"), Output(ids.MONTH, "children"),
    Output(ids.TREND, "children"), Output(ids.CATS, "children"),
    Output(ids.GRIDS, "children"), Output(ids.DEPTS, "children"),
    Output(ids.BUSES, "children"), Output(ids.READY, "children"),
    Output(ids.EVAL, "children"), Output(ids.TIERS, "children"),
    Output(drill_ids.LEADER_BOX, "children"),
    Input(ids.TICK, "data"), State(ids.LANG, "data"),
)
def update_leader_view(_tick: Any, lang: str | None) -> tuple[Any, ...]:
    """Every figure of the page, from one read of the record and the live state."""
    lang = lang or "zh"
    svc = services()
    assert svc.leader is not None
    now = utcnow()
    o = svc.leader.overview(now)
    state = svc.hub.state if svc.hub else None
    buses = wall.punctuality(state, lang) if state else {"available": False, "text": ""}
    ready = readiness_rows(state.stations if state else [], lang, now)
    assert svc.evaluation is not None
    # The last 30 days to this minute: every tablet asking within it shares one read.
    minute = now.replace(second=0, microsecond=0)
    last30 = period(None, None, None, minute)
    ev, names = svc.evaluation.recent("village", *last30)
    units, unit_names = svc.evaluation.recent("unit", *last30)
    return (cards(leader.kpi_cards(o.today, o.yesterday, "today", lang)),
            cards(leader.kpi_cards(o.month, o.prev_month, "month", lang)),
            graph("ld-trend-graph", trend_figure(o.days, o.daily, lang)),
            graph("ld-cats-graph", category_figure(o.categories, lang)),
            graph("ld-grids-graph", grid_figure(o.grids, svc.grids, lang)),
            unit_ranking(evaluation.rows(units, unit_names, lang),
                         evaluation.red_list(units, unit_names, lang), lang),
            bus_panel(buses), readiness_panel(ready, lang),
            evaluation_panel(evaluation.rows(ev, names, lang), lang),
            tier_panel(leader.tier_rows(o.tiers, o.tiers_prev, lang), lang,
                       leader.suggestion_row(o.suggestions, o.suggestions_prev, lang)),
            drills_panel(svc.drills.figures(now), state.stations if state else [],
                         svc.drills.drills.types(), lang) if svc.drills else "")


@dash.callback(Output(ids.BRIEF_MSG, "children"), Output(ids.BRIEF_LIST, "children"),
               Input(ids.BRIEF_MAKE, "n_clicks"), State(ids.LANG, "data"))
def make_daily_brief(clicks: int | None, lang: str | None) -> tuple[Any, Any]:
    """Generate today's brief when asked; always list the kept ones with their links."""
    lang = lang or "zh"
    svc = services()
    assert svc.briefs is not None
    now = utcnow()
    today = now.astimezone(LOCAL_TZ).date().isoformat()
    msg: Any = ""
    if clicks:
        buses = wall.punctuality(svc.hub.state, lang) if svc.hub else None
        svc.briefs.generate(today, now, lang, buses)
        msg = t("ld_brief_done", lang).format(day=today)
    kept = svc.briefs.days()
    rows = [html.Div([
        html.Span(k["day"], className="ld-brief-day"),
        html.Span(f"{t('ld_received', lang)} {k['figures'].get('received', 0)} · "
                  f"{t('ld_closed', lang)} {k['figures'].get('closed', 0)}",
                  className="ld-muted"),
        html.A(t("ld_brief_open", lang), href=f"/api/brief/{k['day']}.html?lang={lang}",
               target="_blank", className="ld-link", id=f"ld-brief-open-{k['day']}"),
        html.A("⇩", href=f"/api/brief/{k['day']}.html?lang={lang}&download=1",
               className="ld-link", title="download"),
    ], className="ld-brief-row") for k in kept]
    return msg, rows


@dash.callback(persistent=True)
async def stream_leader_ticks() -> None:
    """Refresh this tablet's figures when the record changes (at most every 10 s)."""
    await tick_on_change(PATH, ids.LANG, ids.TICK, MIN_TICK_GAP_S)
