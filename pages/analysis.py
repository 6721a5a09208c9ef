"""分析研判 for leaders' tablets (1024×768 first): a quarter or any range against the previous
period and the same period last year, with charts, hot spots, the evaluation's grade
changes, buses and resources, and the same analysis as Word and PDF."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput
from dashboard.screens import analysis as an
from dashboard.timeutil import LOCAL_TZ, utcnow
from pages._analysis_parts import PATH, body, download_href, ids
from pages._components import page_title, services, site_header

dash.register_page(__name__, path=PATH, title=page_title("nav_analysis"))

QUARTERS_LISTED = 8


def quarter_options(today: date) -> list[dict[str, str]]:
    """The current quarter and the seven before it, newest first."""
    out, day = [], today
    for _ in range(QUARTERS_LISTED):
        q = an.quarter_of(day)
        out.append({"label": q, "value": q})
        day = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1) - timedelta(days=1)
    return out


def _outlines() -> list[tuple[list[float], list[float]]]:
    """The level-2 grids' outlines (lon, lat rings) for the hot-spot map."""
    out = []
    for cell in services().grids.values():
        if cell.level != 2:
            continue
        geom = cell.geometry or {}
        polys = geom.get("coordinates", []) if geom.get("type") == "MultiPolygon" \
            else [geom.get("coordinates", [])]
        for poly in polys:
            if poly:
                ring = poly[0]
                out.append(([p[0] for p in ring], [p[1] for p in ring]))
    return out


def layout(lang: str | None = None, **query: Any) -> Any:
    """Controls (a quarter, or from/to dates), the download links, then the analysis."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    other = "en" if lang == "zh" else "zh"
    today = utcnow().astimezone(LOCAL_TZ).date()
    dates = bool(query.get("from") or query.get("to"))
    quarter = query.get("quarter") or an.quarter_of(today)
    options = quarter_options(today)
    if isinstance(quarter, str) and quarter not in [o["value"] for o in options]:
        options.append({"label": quarter, "value": quarter})
    meta = svc.town_meta
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        site_header(PATH, lang),
        html.Header([
            html.H1([html.Span(meta.get("name_en" if lang == "en" else "name") or "",
                               className="ld-town"), t("an_title", lang)]),
            html.Div([dcc.Link(t("nav_leader", lang), href=f"/leader?lang={lang}",
                               className="ld-link"),
                      html.A(t("lang_switch", lang), href=f"{PATH}?lang={other}",
                             className="lang-switch")], className="ld-nav"),
        ], className="ld-header"),
        html.Div([
            dcc.RadioItems(id=ids.MODE, value="dates" if dates else "quarter", inline=True,
                           options=[{"label": t("an_quarter", lang), "value": "quarter"},
                                    {"label": f"{t('an_from', lang)}/{t('an_to', lang)}",
                                     "value": "dates"}], className="an-mode"),
            dcc.Dropdown(id=ids.QUARTER, options=options, value=quarter, clearable=False,
                         searchable=False, className="an-quarter"),
            html.Label([t("an_from", lang), dcc.Input(id=ids.FROM, type="date",
                                                      value=query.get("from") or "",
                                                      className="an-date")]),
            html.Label([t("an_to", lang), dcc.Input(id=ids.TO, type="date",
                                                    value=query.get("to") or "",
                                                    className="an-date")]),
            html.Button(t("an_show", lang), id=ids.SHOW, n_clicks=0, className="ld-button"),
            html.A(t("an_download_docx", lang), id=ids.DOCX, className="ld-link an-dl"),
            html.A(t("an_download_pdf", lang), id=ids.PDF, className="ld-link an-dl"),
        ], className="an-controls"),
        html.Div(id=ids.ERROR, className="an-error", role="alert"),
        html.H2(id=ids.LABEL, className="ld-h2"),
        dcc.Loading(html.Div(id=ids.BODY), type="dot", color="#39a0ff"),
    ], className="ld-page an-page", **{"data-lang": lang})


@dash.callback(
    Output(ids.BODY, "children"), Output(ids.ERROR, "children"), Output(ids.LABEL, "children"),
    Output(ids.DOCX, "href"), Output(ids.PDF, "href"),
    Input(ids.SHOW, "n_clicks"), State(ids.MODE, "value"), State(ids.QUARTER, "value"),
    State(ids.FROM, "value"), State(ids.TO, "value"), State(ids.LANG, "data"),
)
def show_analysis(_clicks: int | None, mode: str | None, quarter: str | None,
                  from_day: str | None, to_day: str | None, lang: str | None) -> tuple[Any, ...]:
    """Read and draw the analysis of the range asked for; a bad range says why."""
    lang = lang or "zh"
    query = {"quarter": quarter or ""} if mode != "dates" else \
        {"from": from_day or "", "to": to_day or ""}
    try:
        ps = an.periods(query.get("quarter"), query.get("from"), query.get("to"))
        svc = services()
        assert svc.analysis is not None
        rec = svc.analysis.record(ps)
    except BadInput as exc:
        nothing = dash.no_update
        return nothing, error_text(exc, lang), nothing, nothing, nothing
    return (body(rec, _outlines(), lang), "",
            f"{t('an_period', lang)} {rec['label']}",
            download_href("docx", query, lang), download_href("pdf", query, lang))
