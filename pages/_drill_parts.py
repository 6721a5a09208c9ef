"""Drills (应急演练) on /resources and the leaders' view: this year's drills per station and
type with the mean assembly time, a plan form and a record form (issue 16).

Callbacks are thin: they unpack the form, call the drill desk (datasources/flows/drill_desk)
and show its refusal in the officer's language; who may plan or record is the role table's
(dashboard/roles.DRILL_ACT, checked by the gate for each callback).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import name, t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.roles import current
from datasources.sql import models as m
from pages._components import services


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the drills section and the leaders' drills box."""

    FIGURES = "dr-figures"
    RECENT = "dr-recent"
    TOAST = "dr-toast"
    # plan
    P_STATION = "dr-p-station"
    P_TYPE = "dr-p-type"
    P_DAY = "dr-p-day"
    P_TITLE = "dr-p-title"
    P_TEAMS = "dr-p-teams"
    P_WORKERS = "dr-p-workers"
    P_VILLAGERS = "dr-p-villagers"
    P_GO = "dr-p-go"
    # record
    R_DRILL = "dr-r-drill"
    R_STARTED = "dr-r-started"
    R_ASSEMBLED = "dr-r-assembled"
    R_ARRIVED = "dr-r-arrived"
    R_TEAMS = "dr-r-teams"
    R_WORKERS = "dr-r-workers"
    R_VILLAGERS = "dr-r-villagers"
    R_FINDINGS = "dr-r-findings"
    R_FOLLOWUPS = "dr-r-followups"
    R_GO = "dr-r-go"
    LANG = "rs-lang"  # the page's language store (pages/resources.py)
    LEADER_BOX = "ld-drills"


# ---------------------------------------------------------------------------- views
def figures_view(fig: dict[str, Any], stations: list[dict[str, Any]],
                 types: list[Any], lang: str) -> Any:
    """A table: one row per station, one column per type ("n · m min"), the year's total
    and the mean assembly time under it."""
    cells = fig["cells"]

    def cell(code: str, kind: str) -> Any:
        c = cells.get((code, kind))
        if not c:
            return html.Td("0", className="num dr-zero", **{"data-n": "0"})
        text = (t("dr_cell", lang).format(n=c["count"], m=f"{c['mean_assembly']:g}")
                if c["mean_assembly"] is not None else t("dr_cell_n", lang).format(n=c["count"]))
        return html.Td(text, className="num", **{"data-n": str(c["count"])})

    head = [t("dr_station", lang), *(name({"name": d.name, "name_en": d.name_en}, lang)
                                     for d in types)]
    rows = [html.Tr([html.Td(name(st, lang)), *(cell(st["code"], d.code) for d in types)],
                    id=f"dr-row-{st['code']}") for st in stations]
    mean = fig["mean_assembly"]
    return html.Div([
        html.Div(t("dr_year", lang).format(year=fig["year"]), className="dr-caption"),
        html.Table([html.Thead(html.Tr([html.Th(h, className="num" if i else None)
                                        for i, h in enumerate(head)])), html.Tbody(rows)],
                   className="res-table dr-table"),
        html.Div([html.Span(f"{t('dr_count', lang)} "),
                  html.B(str(fig["count"]), id="dr-count"),
                  html.Span(f" · {t('dr_mean', lang)} "),
                  html.B(t("dr_mean_value", lang).format(m=f"{mean:g}") if mean is not None
                         else "—",
                         id="dr-mean", **{"data-value": "" if mean is None else str(mean)})],
                 className="dr-summary"),
    ])


def leader_panel(fig: dict[str, Any], stations: list[dict[str, Any]], types: list[Any],
                 lang: str) -> Any:
    """The leaders' drills box: the same figures as /resources, read from the same desk."""
    return figures_view(fig, stations, types, lang)


def recent_view(drills: list[dict[str, Any]], stations: dict[str, str],
                types: dict[str, str], lang: str) -> Any:
    """The latest drills: day, station, type, name, state, assembly/arrival, follow-ups."""
    rows = [html.Tr([
        html.Td(d["day"]), html.Td(stations.get(d["station"], d["station"])),
        html.Td(types.get(d["type"], d["type"])), html.Td(d["title"]),
        html.Td(t(f"dr_state_{d['state']}", lang), className=f"dr-state {d['state']}"),
        html.Td("" if d["assembly_min"] is None else d["assembly_min"], className="num"),
        html.Td("" if d["arrival_min"] is None else d["arrival_min"], className="num"),
        html.Td(str(len(d["followups"])) if d["followups"] else "", className="num"),
    ], id=f"dr-drill-{d['id']}") for d in drills]
    head = [t(k, lang) for k in ("dr_col_day", "dr_station", "dr_type", "dr_title_in",
                                 "dr_col_state", "dr_col_assembly", "dr_col_arrival",
                                 "dr_col_followups")]
    return html.Table([html.Thead(html.Tr([html.Th(h, className="num" if i >= 5 else None)
                                           for i, h in enumerate(head)])), html.Tbody(rows)],
                      className="res-table dr-table")


def _people_options(lang: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Teams and grid workers by id, labelled by name (names only for display)."""
    svc = services()
    with svc.store.session() as s:
        teams = [{"label": name({"name": tm.name, "name_en": tm.name_en}, lang),
                  "value": tm.code} for tm in s.scalars(select(m.Team).order_by(m.Team.code))]
        workers = [{"label": f"{w.name} ({w.grid_code})", "value": w.id}
                   for w in s.scalars(select(m.GridWorker).order_by(m.GridWorker.id))]
    return teams, workers


def section(stations: list[dict[str, Any]], lang: str) -> Any:
    """The drills part of /resources: figures, recent drills, plan and record forms."""
    types = services().drills.drills.types()  # type: ignore[union-attr]
    station_opts = [{"label": name(st, lang), "value": st["code"]} for st in stations]
    type_opts = [{"label": name({"name": d.name, "name_en": d.name_en}, lang), "value": d.code}
                 for d in types]
    teams, workers = _people_options(lang)

    def field(label: str, comp: Any, cls: str = "dr-field") -> Any:
        return html.Label([html.Span(label), comp], className=cls)

    plan = html.Div([
        html.H3(t("dr_plan", lang)),
        html.Div([
            field(t("dr_station", lang), dcc.Dropdown(id=ids.P_STATION, options=station_opts,
                                                      clearable=False)),
            field(t("dr_type", lang), dcc.Dropdown(id=ids.P_TYPE, options=type_opts,
                                                   clearable=False)),
            field(t("dr_day", lang), dcc.Input(id=ids.P_DAY, type="text", maxLength=10,
                                               placeholder="2026-05-01")),
            field(t("dr_title_in", lang), dcc.Input(id=ids.P_TITLE, type="text",
                                                    maxLength=100), "dr-field wide"),
            field(t("dr_teams", lang), dcc.Dropdown(id=ids.P_TEAMS, options=teams, multi=True),
                  "dr-field wide"),
            field(t("dr_workers", lang), dcc.Dropdown(id=ids.P_WORKERS, options=workers,
                                                      multi=True), "dr-field wide"),
            field(t("dr_villagers", lang), dcc.Input(id=ids.P_VILLAGERS, type="number",
                                                     min=0, step=1)),
        ], className="dr-form"),
        html.Button(t("dr_plan_btn", lang), id=ids.P_GO, n_clicks=0, className="disp-btn"),
    ], className="dr-box")
    record = html.Div([
        html.H3(t("dr_record", lang)),
        html.Div([
            field(t("dr_pick", lang), dcc.Dropdown(id=ids.R_DRILL, options=[]),
                  "dr-field wide"),
            field(t("dr_started", lang), dcc.Input(id=ids.R_STARTED, type="text",
                                                   maxLength=25,
                                                   placeholder="2026-05-01 09:30")),
            field(t("dr_assembled", lang), dcc.Input(id=ids.R_ASSEMBLED, type="text",
                                                     maxLength=25,
                                                     placeholder="2026-05-01 09:42")),
            field(t("dr_arrived", lang), dcc.Input(id=ids.R_ARRIVED, type="text",
                                                   maxLength=25,
                                                   placeholder="2026-05-01 10:05")),
            field(t("dr_teams", lang), dcc.Dropdown(id=ids.R_TEAMS, options=teams, multi=True),
                  "dr-field wide"),
            field(t("dr_workers", lang), dcc.Dropdown(id=ids.R_WORKERS, options=workers,
                                                      multi=True), "dr-field wide"),
            field(t("dr_villagers", lang), dcc.Input(id=ids.R_VILLAGERS, type="number",
                                                     min=0, step=1)),
            field(t("dr_findings", lang), dcc.Textarea(id=ids.R_FINDINGS, maxLength=2000),
                  "dr-field wide"),
            field(t("dr_followups", lang), dcc.Textarea(id=ids.R_FOLLOWUPS, maxLength=10000),
                  "dr-field wide"),
        ], className="dr-form"),
        html.Div(t("dr_time_hint", lang), className="dr-hint"),
        html.Button(t("dr_record_btn", lang), id=ids.R_GO, n_clicks=0,
                    className="disp-btn primary"),
    ], className="dr-box")
    return html.Section([
        html.H2(t("dr_title", lang)),
        html.Div(id=ids.FIGURES),
        html.Div("", id=ids.TOAST, className="res-toast", role="status"),
        html.Div([plan, record], className="dr-forms"),
        html.H3(t("dr_recent", lang)),
        html.Div(id=ids.RECENT),
    ], className="dr-section", id="dr-section")


# ---------------------------------------------------------------------------- callbacks
def show_drills(_toast: Any, lang: str | None) -> tuple[Any, ...]:
    """This year's figures, the recent drills and the planned ones to record."""
    lang = lang or "zh"
    svc = services()
    desk = svc.drills
    assert desk is not None
    stations = svc.resources.res.stations()  # type: ignore[union-attr]
    st_names = {st["code"]: name(st, lang) for st in stations}
    types = desk.drills.types()
    ty_names = {d.code: name({"name": d.name, "name_en": d.name_en}, lang) for d in types}
    recent = desk.drills.drills(limit=30)
    planned = [{"label": f"#{d['id']} {d['planned_for']} {st_names.get(d['station'], '')} "
                         f"{ty_names.get(d['type'], d['type'])} {d['title']}".strip(),
                "value": d["id"]} for d in desk.drills.drills(states=("planned",), limit=200)]
    return (figures_view(desk.figures(), stations, types, lang),
            recent_view(recent, st_names, ty_names, lang), planned)


def fill_drill_record(drill_id: Any) -> tuple[Any, ...]:
    """Picking a planned drill fills in its planned participants, to be corrected."""
    if not isinstance(drill_id, int) or isinstance(drill_id, bool):
        raise PreventUpdate
    try:
        d = services().drills.drills.get(drill_id)  # type: ignore[union-attr]
    except NotFound as exc:
        raise PreventUpdate from exc
    return d["teams"], d["workers"], d["villagers"] or None


def plan_drill(clicks: int, station: Any, kind: Any, day: Any, title: Any, teams: Any,
               workers: Any, villagers: Any, lang: str | None) -> tuple[Any, ...]:
    """Save a planned drill; a refusal says what is wrong in the officer's language."""
    if not clicks:
        raise PreventUpdate
    lang = lang or "zh"
    try:
        row = services().drills.plan(station, kind, day, title, teams,  # type: ignore[union-attr]
                                     workers, villagers, current().name)
    except (BadInput, NotFound) as exc:
        return t("disp_err", lang) + error_text(exc, lang), "res-toast err"
    return t("dr_planned_ok", lang).format(id=row["id"], day=row["planned_for"]), "res-toast ok"


def record_drill(clicks: int, drill_id: Any, started: Any, assembled: Any, arrived: Any,
                 teams: Any, workers: Any, villagers: Any, findings: Any, followups: Any,
                 lang: str | None) -> tuple[Any, ...]:
    """Record a held drill; its follow-ups become work orders; readiness follows."""
    if not clicks:
        raise PreventUpdate
    lang = lang or "zh"
    if drill_id in (None, ""):
        return t("dr_pick", lang) + "?", "res-toast err", no_update
    try:
        row = services().drills.record(  # type: ignore[union-attr]
            drill_id, started, assembled, arrived, teams, workers, villagers, findings,
            followups, current().name)
    except (BadInput, NotFound) as exc:
        return t("disp_err", lang) + error_text(exc, lang), "res-toast err", no_update
    refs = [f.get("ref") for f in row["followups"] if f.get("ref")]
    text = t("dr_recorded_ok", lang).format(id=row["id"], m=row["assembly_min"], n=len(refs),
                                            refs=(("：" if lang == "zh" else ": ")
                                                  + ", ".join(refs)) if refs else "")
    return text, "res-toast ok", ""


def register_drill_callbacks() -> None:
    """Register this part's callbacks with the app being built (pages/resources.py calls it
    at import): Dash executes page modules once per app, but a helper module is imported once per
    process, so decorators here would reach only the first app (a second app in the same
    process, as in the tests, had none)."""
    dash.callback(
        Output(ids.FIGURES, "children"), Output(ids.RECENT, "children"),
        Output(ids.R_DRILL, "options"),
        Input(ids.TOAST, "children"), State(ids.LANG, "data"),
    )(show_drills)
    dash.callback(
        Output(ids.R_TEAMS, "value"), Output(ids.R_WORKERS, "value"),
        Output(ids.R_VILLAGERS, "value"),
        Input(ids.R_DRILL, "value"),
        prevent_initial_call=True,
    )(fill_drill_record)
    dash.callback(
        Output(ids.TOAST, "children"), Output(ids.TOAST, "className"),
        Input(ids.P_GO, "n_clicks"),
        State(ids.P_STATION, "value"), State(ids.P_TYPE, "value"), State(ids.P_DAY, "value"),
        State(ids.P_TITLE, "value"), State(ids.P_TEAMS, "value"), State(ids.P_WORKERS, "value"),
        State(ids.P_VILLAGERS, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(plan_drill)
    dash.callback(
        Output(ids.TOAST, "children", allow_duplicate=True),
        Output(ids.TOAST, "className", allow_duplicate=True),
        Output(ids.R_FOLLOWUPS, "value"),
        Input(ids.R_GO, "n_clicks"),
        State(ids.R_DRILL, "value"), State(ids.R_STARTED, "value"),
        State(ids.R_ASSEMBLED, "value"), State(ids.R_ARRIVED, "value"),
        State(ids.R_TEAMS, "value"), State(ids.R_WORKERS, "value"),
        State(ids.R_VILLAGERS, "value"), State(ids.R_FINDINGS, "value"),
        State(ids.R_FOLLOWUPS, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(record_drill)
