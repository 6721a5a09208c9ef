"""Pieces of the leaders' view: ids, KPI cards, plotly figures, bus and readiness lists."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from dashboard.i18n.text import category_label, name, t
from dashboard.incidents.kpis import Figures
from dashboard.screens.evaluation import label as ev_label
from dashboard.town import GridCell

PATH = "/leader"
FONT = "Noto Sans CJK SC, Microsoft YaHei, sans-serif"


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the leaders' view."""

    LANG = "ld-lang"
    TICK = "ld-tick"
    TODAY = "ld-today"
    MONTH = "ld-month"
    TREND = "ld-trend"
    CATS = "ld-cats"
    GRIDS = "ld-grids"
    DEPTS = "ld-depts"
    BUSES = "ld-buses"
    READY = "ld-ready"
    BRIEF_MAKE = "ld-brief-make"
    BRIEF_MSG = "ld-brief-msg"
    BRIEF_LIST = "ld-brief-list"
    EVAL = "ld-eval"
    TIERS = "ld-tiers"


def cards(rows: list[dict[str, Any]]) -> list[Any]:
    """KPI cards with the change against the previous period; each value element carries
    data-kpi, data-window and the raw data-value, so tests read the figure, not its text."""
    return [html.Div([
        html.Div(r["label"], className="ld-card-label"),
        html.Div(r["value"], className="ld-card-value", id=f"ld-{r['key']}",
                 **{"data-kpi": r["kpi"], "data-window": r["window"],
                    "data-value": r["raw"]}),
        html.Div(r["change"], className=f"ld-card-change {r['dir']} {r['tone']}"),
    ], className="ld-card") for r in rows]


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(template="plotly_dark", height=height, margin={"l": 8, "r": 8, "t": 8,
                                                                     "b": 8},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      font={"family": FONT, "size": 14},
                      legend={"orientation": "h", "y": 1.12, "x": 0})
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def graph(graph_id: str, fig: go.Figure) -> Any:
    """A plotly graph that follows its box's width (tablets rotate)."""
    # `responsive` fills the box, so the box carries the figure's height.
    return dcc.Graph(id=graph_id, figure=fig, responsive=True,
                     config={"displayModeBar": False, "scrollZoom": False},
                     className="ld-graph", style={"height": f"{fig.layout.height}px"})


def trend_figure(days: list[date], daily: dict[str, list[int]], lang: str) -> go.Figure:
    """Daily received (bars) and resolved that day (line) over the last 30 days."""
    x = [d.isoformat()[5:] for d in days]
    fig = go.Figure([go.Bar(x=x, y=daily["received"], name=t("ld_received", lang),
                            marker_color="#39a0ff"),
                     go.Scatter(x=x, y=daily["closed_in"], name=t("ld_closed", lang),
                                mode="lines+markers", line={"color": "#2ec4b6", "width": 3})])
    fig.update_xaxes(type="category")  # "11-25" is a day label, not a date to parse
    return _layout(fig, 280)


def category_figure(mix: list[tuple[str, int]], lang: str) -> go.Figure:
    """This month's work orders by category, largest on top."""
    mix = sorted(mix, key=lambda cv: cv[1])
    fig = go.Figure(go.Bar(x=[n for _, n in mix], y=[category_label(c, lang) for c, _ in mix],
                           orientation="h", marker_color="#ffb020"))
    return _layout(fig, max(220, 26 * len(mix) + 40))


def grid_figure(figures: dict[str, Figures], cells: dict[str, GridCell],
                lang: str) -> go.Figure:
    """Level-2 grids by close rate over 30 days (received shown in the hover)."""
    rows = [(name({"name": cells[c].name, "name_en": cells[c].name_en}, lang),
             f.close_rate, f.received) for c, f in figures.items()
            if c in cells and f.close_rate is not None]
    rows.sort(key=lambda r: r[1])
    fig = go.Figure(go.Bar(x=[r[1] for r in rows], y=[r[0] for r in rows], orientation="h",
                           customdata=[r[2] for r in rows], marker_color="#2ec4b6",
                           # The figure on its bar: a leader reads it without hovering.
                           text=[f"{r[1]:.1f}%" for r in rows], textposition="inside",
                           insidetextanchor="end", textfont={"size": 13, "color": "#0b1220"},
                           hovertemplate="%{y}: %{x:.1f}% · n=%{customdata}<extra></extra>"))
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    fig = _layout(fig, max(220, 26 * len(rows) + 40))
    fig.update_layout(uniformtext={"minsize": 12, "mode": "show"})
    return fig


def unit_ranking(table: list[dict[str, Any]], red: list[dict[str, Any]],
                 lang: str) -> list[Any]:
    """部门排名: the receiving units (village offices, town offices, county departments)
    ranked by their evaluation score, the score and grade on each bar; under it the red
    list (红灯): each unit's work orders overdue and not handled."""
    units = [r for r in table if r["code"] != "*" and r["score"] is not None]
    if units:
        parts: list[Any] = [score_graph("ld-depts-graph", units)]
    else:
        parts = [html.P(t("ld_eval_none", lang), className="ld-muted")]
    parts.append(html.H4(t("ld_red_list", lang), className="ld-red-head"))
    parts.append(html.Ul([html.Li([html.Span("●", className="ld-dot red"),
                                   html.Span(r["unit"], className="ld-red-unit"),
                                   html.Span(t("ld_red_n", lang).format(n=r["n"]),
                                             className="ld-red-n")],
                                  className="ld-red", **{"data-unit": r["code"]})
                          for r in red], className="ld-red-list")
                 if red else html.P(t("ld_red_none", lang), className="ld-muted"))
    return parts


def score_graph(graph_id: str, units: list[dict[str, Any]]) -> Any:
    """Units' scores as bars, the best on top, the score and grade written on each bar."""
    shown = list(reversed(units))
    fig = go.Figure(go.Bar(
        x=[r["score"] for r in shown], y=[r["unit"] for r in shown], orientation="h",
        text=[f"{r['score']:.1f} {r['grade']}" for r in shown], textposition="inside",
        insidetextanchor="end", textfont={"size": 14, "color": "#0b1220"},
        marker_color=[GRADE_COLOURS.get(r["grade"], "#8d99ae") for r in shown],
        hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
    fig.update_xaxes(range=[0, 100])
    fig = _layout(fig, max(220, 30 * len(units) + 40))
    fig.update_layout(uniformtext={"minsize": 13, "mode": "show"})  # legible on every bar
    return graph(graph_id, fig)


# The columns of the evaluation box beside the chart (all of them: `zhongnao evaluate`).
EVAL_COLUMNS = ("close_rate", "on_time_handle_rate", "rework_rate", "extend_rate",
                "on_time_dispatch_rate", "satisfied_rate")


def evaluation_panel(table: list[dict[str, Any]], lang: str) -> list[Any]:
    """Units ranked by score, the score and grade written on each bar, and the standard's
    main indicators beside them (rows from dashboard/screens/evaluation.rows)."""
    units = [r for r in table if r["code"] != "*" and r["score"] is not None]
    if not units:
        return [html.P(t("ld_eval_none", lang), className="ld-muted")]
    head = html.Tr([html.Th("#"), html.Th(ev_label("village", lang)),
                    html.Th(ev_label("score", lang)), html.Th(ev_label("grade", lang)),
                    *(html.Th(ev_label(c, lang)) for c in EVAL_COLUMNS)])
    body = [html.Tr([html.Td(str(r["rank"])), html.Td(r["unit"]),
                     html.Td(f"{r['score']:.1f}" if r["score"] is not None else "—",
                             **{"data-score": "" if r["score"] is None else str(r["score"])}),
                     html.Td(r["grade"], className=f"ld-grade g{r['grade']}"),
                     *(html.Td(r[c]) for c in EVAL_COLUMNS)],
                    **{"data-unit": r["code"]}) for r in table]
    return [score_graph("ld-eval-graph", units),
            html.Div(html.Table([html.Thead(head), html.Tbody(body)],
                                className="ld-table ld-eval"), className="ld-eval-wrap")]


GRADE_COLOURS = {"A": "#2ec4b6", "B": "#4cc9f0", "C": "#ffb020", "D": "#ff7f50", "E": "#ff3b3b"}


def bus_panel(p: dict[str, Any]) -> list[Any]:
    """Bus punctuality now (or what is known while trip data is missing)."""
    if not p.get("available"):
        return [html.P(p.get("text", ""), className="ld-muted")]
    rate = "—" if p["rate"] is None else f"{p['rate']}%"
    return [html.Div(rate, className="ld-big"),
            html.Div([html.Span(f"{c['label']} {c['n']}", className=f"ld-chip {c['key']}")
                      for c in p["counts"]], className="ld-chips"),
            html.Ul([html.Li(f"{r['plate']} · {r['route']} · +{r['delay']}′")
                     for r in p["late"]], className="ld-list")]


def readiness_panel(rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """One line per station: level, name, reasons."""
    return [html.Div([html.Span("●", className=f"ld-dot {r['level']}"),
                      html.Span(r["name"], className="ld-st-name"),
                      html.Span("；".join(r["reasons"]) or t(f"ready_{r['level']}", lang),
                                className="ld-st-why")], className="ld-st-row")
            for r in rows]


def tier_panel(rows: list[dict[str, Any]], lang: str,
               share: dict[str, Any] | None = None) -> list[Any]:
    """The tier shares (小事不出格率, 大事不出村率, 问题不上交率): this month and last over all
    categories as figures, then per category (rows from dashboard/screens/leader.tier_rows)."""
    from dashboard.incidents.kpis import TIER_SHARES

    heads = [r for r in rows if r["key"] in TIER_SHARES]
    cats = [r for r in rows if r["key"] not in TIER_SHARES]
    shown = [*heads, share] if share else heads  # 建议采纳率 beside them (issue 18)
    figures = [html.Div([html.Div(r["label"], className="ld-card-label"),
                         html.Div(r["value"], className="ld-card-value"),
                         html.Div(f"{t('ld_prev_month', lang)} {r['prev']}",
                                  className="ld-card-delta")],
                        className="ld-card", id=f"ld-tier-{r['key']}",
                        **{"data-value": r["value"]}) for r in shown]
    head = html.Tr([html.Th(t("ld_category", lang)), html.Th(t("ld_resolved", lang)),
                    *(html.Th(r["label"]) for r in heads)])
    body = [html.Tr([html.Td(r["label"]), html.Td(str(r["resolved"])),
                     *(html.Td(r[k]) for k in TIER_SHARES)], **{"data-category": r["key"]})
            for r in cats]
    return [html.Div(figures, className="ld-cards ld-tier-cards"),
            html.Table([html.Thead(head), html.Tbody(body)], className="ld-table")]
