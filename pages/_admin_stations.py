"""/admin's stations tab (issue 16): a station's 一部三室 with their state (command post,
supplies store, medical room with beds and the medics on duty, shelter with capacity and
occupancy), its teams' members with skills and phones, its vehicles. Every edit goes through
the station desk (checked, audited, announced); the callbacks are the administrator's only
(dashboard/roles.ADMINS, checked by the gate for each callback)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import name, t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.resources.stations import MEMBER_ROLES, ROOM_KINDS, ROOM_STATES
from dashboard.roles import current
from pages._components import services


class ids:  # noqa: N801 - a namespace of element ids
    """Element ids of the stations tab."""

    LANG = "adm-lang"  # the page's language store (pages/admin.py)
    STATION = "ast-station"
    ROOMS = "ast-rooms"
    ROOM = "ast-room"
    CAPACITY = "ast-capacity"
    OCCUPANCY = "ast-occupancy"
    STATE = "ast-state"
    NOTE = "ast-note"
    SAVE_ROOM = "ast-save-room"
    VEHICLES = "ast-vehicles"
    SAVE_VEHICLES = "ast-save-vehicles"
    TEAM = "ast-team"
    MEMBERS = "ast-members"
    M_NAME = "ast-m-name"
    M_ROLE = "ast-m-role"
    M_PHONE = "ast-m-phone"
    M_SKILLS = "ast-m-skills"
    M_DUTY = "ast-m-duty"
    M_ADD = "ast-m-add"
    M_PICK = "ast-m-pick"
    M_TOGGLE = "ast-m-toggle"
    M_REMOVE = "ast-m-remove"
    MSG = "ast-msg"


def _field(label: str, control: Any) -> Any:
    return html.Label([html.Span(label, className="adm-label"), control], className="adm-field")


def stations_tab(lang: str) -> Any:
    """Pick a station: its rooms and vehicles, then a team and its members."""
    stations = services().resources.res.stations()  # type: ignore[union-attr]
    opts = [{"label": name(st, lang), "value": st["code"]} for st in stations]
    first = stations[0]["code"] if stations else None
    return html.Section([
        html.Div(id=ids.MSG, className="adm-msg", role="status"),
        _field(t("st_station", lang), dcc.Dropdown(id=ids.STATION, options=opts, value=first,
                                                   clearable=False)),
        html.H2(t("st_rooms", lang)),
        html.Div(id=ids.ROOMS),
        html.Div([
            _field(t("st_room", lang), dcc.Dropdown(id=ids.ROOM, clearable=False, value="shelter",
                                                    options=[])),
            _field(t("st_capacity", lang), dcc.Input(id=ids.CAPACITY, type="text",
                                                     maxLength=12)),
            _field(t("st_occupancy", lang), dcc.Input(id=ids.OCCUPANCY, type="text",
                                                      maxLength=12)),
            _field(t("st_state", lang), dcc.RadioItems(id=ids.STATE, value="ready", inline=True,
                                                       options=[{"label": t(f"st_state_{s}",
                                                                            lang), "value": s}
                                                                for s in ROOM_STATES])),
            _field(t("st_note", lang), dcc.Input(id=ids.NOTE, type="text", maxLength=200)),
        ], className="adm-form"),
        html.Button(t("st_save_room", lang), id=ids.SAVE_ROOM, n_clicks=0,
                    className="adm-button"),
        html.Div([
            _field(t("st_vehicles", lang), dcc.Input(id=ids.VEHICLES, type="text",
                                                     maxLength=6)),
            html.Button(t("st_save_vehicles", lang), id=ids.SAVE_VEHICLES, n_clicks=0,
                        className="adm-button"),
        ], className="adm-actions"),
        html.H2(t("st_members", lang)),
        _field(t("st_team", lang), dcc.Dropdown(id=ids.TEAM, options=[], clearable=False)),
        html.Div(id=ids.MEMBERS, className="ast-members"),
        html.Div([
            _field(t("st_pick_member", lang), dcc.Dropdown(id=ids.M_PICK, options=[])),
            html.Button(t("st_toggle_duty", lang), id=ids.M_TOGGLE, n_clicks=0,
                        className="adm-button"),
            html.Button(t("st_remove_member", lang), id=ids.M_REMOVE, n_clicks=0,
                        className="adm-button danger"),
        ], className="adm-actions"),
        html.H3(t("st_add_member", lang), className="adm-h3"),
        html.Div([
            _field(t("st_member_name", lang), dcc.Input(id=ids.M_NAME, type="text",
                                                        maxLength=40)),
            _field(t("st_member_role", lang), dcc.Dropdown(
                id=ids.M_ROLE, value="member", clearable=False,
                options=[{"label": t(f"st_role_{r}", lang), "value": r} for r in MEMBER_ROLES])),
            _field(t("st_phone", lang), dcc.Input(id=ids.M_PHONE, type="text", maxLength=20)),
            _field(t("st_skills", lang), dcc.Input(id=ids.M_SKILLS, type="text",
                                                   maxLength=200)),
            dcc.Checklist(id=ids.M_DUTY, options=[{"label": t("st_on_duty", lang),
                                                   "value": "on"}], value=[]),
        ], className="adm-form"),
        html.Button(t("st_add_member", lang), id=ids.M_ADD, n_clicks=0, className="adm-button"),
    ], className="adm-card ast-card")


def _rooms_table(rooms: list[dict[str, Any]], medics: int, lang: str) -> Any:
    head = [t(k, lang) for k in ("st_room", "st_capacity_col", "st_occupancy_col",
                                 "st_state", "st_note")]
    rows = []
    for r in rooms:
        extra = f" · {t('st_medics', lang)} {medics}" if r["kind"] == "medical" else ""
        rows.append(html.Tr([html.Td(name(r, lang) + extra), html.Td(r["capacity"]),
                             html.Td(r["occupancy"] if r["kind"] == "shelter" else "—"),
                             html.Td(t(f"st_state_{r['state']}", lang),
                                     className=f"ast-state {r['state']}"),
                             html.Td(r["note"])], id=f"ast-room-{r['kind']}"))
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                                html.Tbody(rows)], className="adm-table"),
                    className="ast-scroll")


def _members_table(members: list[dict[str, Any]], lang: str) -> Any:
    head = [t(k, lang) for k in ("st_member_name", "st_member_role", "st_phone",
                                 "st_skills_col", "st_on_duty")]
    rows = [html.Tr([html.Td(p["name"]), html.Td(t(f"st_role_{p['role']}", lang)
                                                 if p["role"] in MEMBER_ROLES else p["role"]),
                     html.Td(p["phone"]), html.Td("、".join(p["skills"])),
                     html.Td(t("st_yes" if p["on_duty"] else "st_no", lang))],
                    id=f"ast-member-{p['id']}") for p in members]
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                                html.Tbody(rows)], className="adm-table"),
                    className="ast-scroll")


# ---------------------------------------------------------------------------- callbacks
def show_station_records(station: Any, _msg: Any, team: Any,
                         lang: str | None) -> tuple[Any, ...]:
    """The station's rooms (medics on duty beside the medical room), vehicles and teams."""
    lang = lang or "zh"
    svc = services()
    if not isinstance(station, str):
        raise dash.exceptions.PreventUpdate
    try:
        st = svc.resources.res.station(station)  # type: ignore[union-attr]
    except NotFound as exc:
        raise dash.exceptions.PreventUpdate from exc
    rooms = svc.stations.records.rooms(station)  # type: ignore[union-attr]
    medics = sum(int(tm.get("medics", 0)) for tm in st["teams"])
    kinds = [{"label": name(r, lang), "value": r["kind"]} for r in rooms
             if r["kind"] in ROOM_KINDS]
    teams = [{"label": name(tm, lang), "value": tm["code"]} for tm in st["teams"]]
    codes = [tm["code"] for tm in st["teams"]]
    return (_rooms_table(rooms, medics, lang), kinds, str(st["vehicles"]), teams,
            team if team in codes else (codes[0] if codes else None))


def fill_room(kind: Any, station: Any) -> tuple[Any, ...]:
    """The picked room's figures, to edit."""
    if not isinstance(station, str):
        raise dash.exceptions.PreventUpdate
    rooms = services().stations.records.rooms(station)  # type: ignore[union-attr]
    r = next((x for x in rooms if x["kind"] == kind), None)
    if r is None:
        raise dash.exceptions.PreventUpdate
    return str(r["capacity"]), str(r["occupancy"]), r["state"], r["note"]


def show_team_members(team: Any, _msg: Any, lang: str | None) -> tuple[Any, ...]:
    """A team's roster, and its members to pick for a change."""
    lang = lang or "zh"
    if not isinstance(team, str):
        return "", []
    members = services().stations.records.members(team)  # type: ignore[union-attr]
    return (_members_table(members, lang),
            [{"label": f"{p['name']} · {p['phone']}", "value": p["id"]} for p in members])


def _said(lang: str, what: str) -> str:
    return t("st_saved", lang).format(what=what)


def _refused(exc: BadInput | NotFound, lang: str) -> str:
    return "✗ " + error_text(exc, lang)


def save_station_room(clicks: Any, station: Any, kind: Any, capacity: Any, occupancy: Any,
                      state: Any, note: Any, lang: str | None) -> tuple[str, str]:
    """Save a room's capacity, occupancy, state and note (audited)."""
    lang = lang or "zh"
    if not clicks:
        raise dash.exceptions.PreventUpdate
    try:
        out = services().stations.save_room(  # type: ignore[union-attr]
            station, kind, capacity, occupancy, state, note, current().name)
    except (BadInput, NotFound) as exc:
        return _refused(exc, lang), "adm-msg bad"
    return _said(lang, out["name"]), "adm-msg ok"


def save_station_vehicles(clicks: Any, station: Any, value: Any,
                          lang: str | None) -> tuple[str, str]:
    """Save the station's vehicle count (audited)."""
    lang = lang or "zh"
    if not clicks:
        raise dash.exceptions.PreventUpdate
    try:
        n = services().stations.set_vehicles(station, value,  # type: ignore[union-attr]
                                             current().name)
    except (BadInput, NotFound) as exc:
        return _refused(exc, lang), "adm-msg bad"
    return _said(lang, f"{t('st_vehicles', lang)} {n}"), "adm-msg ok"


def add_team_member(clicks: Any, team: Any, who: Any, role: Any, phone: Any, skills: Any,
                    duty: Any, lang: str | None) -> tuple[Any, ...]:
    """A new member of the team, with phone and skills (audited)."""
    lang = lang or "zh"
    if not clicks:
        raise dash.exceptions.PreventUpdate
    keep = dash.no_update
    try:
        services().stations.add_member(  # type: ignore[union-attr]
            team, who, role, phone, skills, isinstance(duty, list) and "on" in duty,
            current().name)
    except (BadInput, NotFound) as exc:
        return _refused(exc, lang), "adm-msg bad", keep, keep, keep
    return _said(lang, str(who)), "adm-msg ok", "", "", ""


def change_team_member(toggle: Any, remove: Any, member: Any,
                       lang: str | None) -> tuple[str, str]:
    """A member on or off duty, or removed from the team (audited)."""
    lang = lang or "zh"
    if not (toggle or remove):
        raise dash.exceptions.PreventUpdate
    desk = services().stations
    assert desk is not None
    try:
        if dash.ctx.triggered_id == ids.M_REMOVE:
            desk.remove_member(member, current().name)
            return _said(lang, t("st_remove_member", lang)), "adm-msg ok"
        on = desk.toggle_duty(member, current().name)
    except (BadInput, NotFound) as exc:
        return _refused(exc, lang), "adm-msg bad"
    return _said(lang, t("st_on_duty", lang) + " " + t("st_yes" if on else "st_no", lang)), \
        "adm-msg ok"


def register_station_callbacks() -> None:
    """Register this part's callbacks with the app being built (pages/admin.py calls it
    at import): Dash executes page modules once per app, but a helper module is imported once per
    process, so decorators here would reach only the first app (a second app in the same
    process, as in the tests, had none)."""
    dash.callback(
        Output(ids.ROOMS, "children"), Output(ids.ROOM, "options"), Output(ids.VEHICLES, "value"),
        Output(ids.TEAM, "options"), Output(ids.TEAM, "value"),
        Input(ids.STATION, "value"), Input(ids.MSG, "children"),
        State(ids.TEAM, "value"), State(ids.LANG, "data"),
    )(show_station_records)
    dash.callback(
        Output(ids.CAPACITY, "value"), Output(ids.OCCUPANCY, "value"), Output(ids.STATE, "value"),
        Output(ids.NOTE, "value"),
        Input(ids.ROOM, "value"), State(ids.STATION, "value"),
    )(fill_room)
    dash.callback(
        Output(ids.MEMBERS, "children"), Output(ids.M_PICK, "options"),
        Input(ids.TEAM, "value"), Input(ids.MSG, "children"), State(ids.LANG, "data"),
    )(show_team_members)
    dash.callback(
        Output(ids.MSG, "children"), Output(ids.MSG, "className"),
        Input(ids.SAVE_ROOM, "n_clicks"),
        State(ids.STATION, "value"), State(ids.ROOM, "value"), State(ids.CAPACITY, "value"),
        State(ids.OCCUPANCY, "value"), State(ids.STATE, "value"), State(ids.NOTE, "value"),
        State(ids.LANG, "data"), prevent_initial_call=True,
    )(save_station_room)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Input(ids.SAVE_VEHICLES, "n_clicks"),
        State(ids.STATION, "value"), State(ids.VEHICLES, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(save_station_vehicles)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Output(ids.M_NAME, "value"), Output(ids.M_PHONE, "value"), Output(ids.M_SKILLS, "value"),
        Input(ids.M_ADD, "n_clicks"),
        State(ids.TEAM, "value"), State(ids.M_NAME, "value"), State(ids.M_ROLE, "value"),
        State(ids.M_PHONE, "value"), State(ids.M_SKILLS, "value"), State(ids.M_DUTY, "value"),
        State(ids.LANG, "data"), prevent_initial_call=True,
    )(add_team_member)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Input(ids.M_TOGGLE, "n_clicks"), Input(ids.M_REMOVE, "n_clicks"),
        State(ids.M_PICK, "value"), State(ids.LANG, "data"), prevent_initial_call=True,
    )(change_team_member)
