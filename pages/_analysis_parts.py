"""Pieces of /analysis (分析研判): ids, the plotly figures and the tables, drawn from the
analysis record's labelled rows (dashboard/screens/analysis.py); nothing is counted here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import html

from dashboard.i18n.text import category_label, source_label, t
from dashboard.screens import analysis as an
from pages._leader_parts import GRADE_COLOURS, _layout, graph

PATH = "/analysis"
PERIOD_COLOURS = {"current": "#39a0ff", "previous": "#8d99ae", "last_year": "#ffb020"}


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of /analysis."""

    LANG = "an-lang"
    MODE = "an-mode"
    QUARTER = "an-quarter"
    FROM = "an-from"
    TO = "an-to"
    SHOW = "an-show"
    ERROR = "an-error"
    BODY = "an-body"
    LABEL = "an-label"
    DOCX = "an-docx"
    PDF = "an-pdf"


def download_href(kind: str, query: dict[str, str], lang: str) -> str:
    """The address of the analysis as a Word or PDF file for the same range."""
    return f"/api/analysis.{kind}?" + urlencode({**query, "lang": lang})


def _table(head: list[str], rows: list[list[str]], lang: str, table_id: str,
           cls: str = "") -> Any:
    if not rows:
        return html.P(t("an_none", lang), className="ld-muted", id=table_id)
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                                html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
                               className=f"ld-table an-table {cls}", id=table_id),
                    className="an-wrap")


def cards(rec: dict[str, Any], lang: str) -> list[Any]:
    """One card per KPI measure: this period's figure, the change on the previous period
    and on last year; data-kpi and the raw data-value as on the other screens."""
    out = []
    for (key, _label), row in zip(an.OVERVIEW, an.overview_rows(rec, lang), strict=True):
        raw = rec["figures"]["current"].get(key)
        out.append(html.Div([
            html.Div(row[0], className="ld-card-label"),
            html.Div(row[1], className="ld-card-value", id=f"an-card-{key}",
                     **{"data-kpi": key, "data-window": "current",
                        "data-value": "" if raw is None else format(raw, "g")}),
            html.Div(f"{t('an_change_prev', lang)} {row[4]} · "
                     f"{t('an_change_year', lang)} {row[5]}", className="ld-card-change"),
        ], className="ld-card"))
    return out


def volume_figure(rec: dict[str, Any], what: str, lang: str) -> go.Figure:
    """Received per category (or source): this period, the previous and last year's."""
    vol = rec[what]
    keys = list(vol["current"]) or sorted({k for p in an.PERIOD_KEYS for k in vol[p]})
    label = category_label if what == "categories" else source_label
    names = [label(k, lang) for k in keys]
    fig = go.Figure([go.Bar(x=names, y=[vol[p].get(k, 0) for k in keys],
                            name=t(f"an_{p}", lang), marker_color=PERIOD_COLOURS[p],
                            text=[vol[p].get(k, 0) for k in keys], textposition="outside")
                     for p in an.PERIOD_KEYS])
    fig.update_layout(barmode="group")
    return _layout(fig, 300)


def weekly_figure(rec: dict[str, Any], lang: str) -> go.Figure:
    """Received per week of this period (bars) and of the previous one (line), resolved
    this period (line)."""
    cur, prev = rec["weekly"]["current"], rec["weekly"]["previous"]
    x = [w["week"][5:] for w in cur]
    fig = go.Figure([
        go.Bar(x=x, y=[w["received"] for w in cur], name=t("ld_received", lang),
               marker_color=PERIOD_COLOURS["current"]),
        go.Scatter(x=x, y=[w["closed_in"] for w in cur], name=t("ld_closed", lang),
                   mode="lines+markers", line={"color": "#2ec4b6", "width": 3}),
        go.Scatter(x=x[:len(prev)], y=[w["received"] for w in prev][:len(x)],
                   name=f"{t('an_previous', lang)} · {t('ld_received', lang)}",
                   mode="lines", line={"color": PERIOD_COLOURS["previous"], "dash": "dot"}),
    ])
    fig.update_xaxes(type="category")
    return _layout(fig, 280)


def hot_figure(rec: dict[str, Any], outlines: list[tuple[list[float], list[float]]],
               lang: str) -> go.Figure:
    """The hot spots on the town's level-2 grid outlines (no tiles: offline), the size by
    reports."""
    fig = go.Figure([go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                line={"color": "#2b3a55", "width": 1}) for xs, ys in outlines])
    spots = rec["hot_spots"]
    if spots:
        fig.add_trace(go.Scatter(
            x=[h["lon"] for h in spots], y=[h["lat"] for h in spots], mode="markers+text",
            text=[str(n + 1) for n in range(len(spots))], textposition="top center",
            marker={"size": [10 + 3 * min(h["count"], 10) for h in spots],
                    "color": ["#ff3b3b" if h["recurring"] else "#ffb020" for h in spots],
                    "line": {"color": "#fff", "width": 1}},
            customdata=[category_label(h["category"], lang) for h in spots],
            hovertemplate="%{customdata}<extra></extra>", showlegend=False))
    fig.update_yaxes(scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return _layout(fig, 320)


def hot_table(rec: dict[str, Any], lang: str) -> Any:
    """The hot spots, numbered as on the map."""
    rows = [[str(n + 1), *r] for n, r in enumerate(an.hot_rows(rec, lang))]
    return _table(["#", *an.hot_head(lang)], rows, lang, "an-hot-table")


def eval_table(rec: dict[str, Any], lang: str) -> Any:
    """The evaluation by village with the previous grade and an arrow of change."""
    rows = an.eval_rows(rec, lang)
    if not [r for r in rows if r["code"] != "*"]:
        return html.P(t("an_none", lang), className="ld-muted", id="an-eval-table")
    head = html.Tr([html.Th(h) for h in an.eval_head(lang)])
    body = [html.Tr([
        html.Td(str(r["rank"])), html.Td(r["unit"]),
        html.Td("—" if r["score"] is None else f"{r['score']:.1f}"),
        html.Td(r["grade"], className=f"ld-grade g{r['grade']}",
                style={"color": GRADE_COLOURS.get(r["grade"])}),
        html.Td(r["prev_grade"]),
        html.Td(r["arrow"], className=f"an-arrow {r['change']}",
                **{"data-change": r["change"]}),
        *(html.Td(r[c]) for c in an.EVAL_COLUMNS)],
        **{"data-unit": r["code"]}) for r in rows]
    return html.Div(html.Table([html.Thead(head), html.Tbody(body)],
                               className="ld-table an-table ld-eval", id="an-eval-table"),
                    className="an-wrap")


def body(rec: dict[str, Any], outlines: list[tuple[list[float], list[float]]],
         lang: str) -> list[Any]:
    """The whole analysis under the controls."""
    def box(title: str, children: Any, wide: bool = False, box_id: str = "") -> Any:
        return html.Section([html.H2(title), html.Div(children, className="ld-box-body")],
                            className="ld-box" + (" wide" if wide else ""),
                            **({"id": box_id} if box_id else {}))

    cmp = an.compare_head
    periods = " · ".join(f"{t(f'an_{p}', lang)} {an.period_text(rec, p)}"
                         for p in an.PERIOD_KEYS)
    stations = an.station_rows(rec, lang)
    return [
        html.P(periods, className="ld-muted", id="an-periods"),
        html.P(an.coverage_note(rec, lang), className="ld-muted", id="an-coverage"),
        html.Div(cards(rec, lang), className="ld-cards", id="an-cards"),
        html.Div([
            box(t("an_by_category", lang),
                [graph("an-cat-graph", volume_figure(rec, "categories", lang)),
                 _table(cmp(t("br_category", lang), lang),
                        an.volume_rows(rec, "categories", lang), lang, "an-cat-table")],
                wide=True),
            box(t("an_weekly", lang), graph("an-week-graph", weekly_figure(rec, lang))),
            box(t("an_by_source", lang),
                [graph("an-src-graph", volume_figure(rec, "sources", lang)),
                 _table(cmp(t("an_source", lang), lang), an.volume_rows(rec, "sources", lang),
                        lang, "an-src-table")]),
            box(t("an_hot_spots", lang),
                [graph("an-hot-graph", hot_figure(rec, outlines, lang)), hot_table(rec, lang)],
                wide=True, box_id="an-hot"),
            box(t("an_recurring", lang),
                _table(an.recurring_head(lang), an.recurring_rows(rec, lang), lang,
                       "an-recurring-table")),
            box(t("an_evaluation", lang), eval_table(rec, lang), wide=True),
            box(t("an_buses", lang),
                [_table(cmp(t("an_bus_kind", lang), lang), an.bus_rows(rec, lang), lang,
                        "an-bus-table"),
                 html.P(t("an_bus_note", lang), className="ld-muted")]),
            box(t("an_resources", lang),
                [_table(cmp(t("an_measure", lang), lang), an.resource_rows(rec, lang), lang,
                        "an-res-table"),
                 _table([t("br_station", lang), t("an_dispatch_station", lang)], stations,
                        lang, "an-station-table") if stations else None]),
        ], className="ld-grid"),
    ]
