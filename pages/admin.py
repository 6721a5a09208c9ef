"""系统管理 (/admin, issue 16): what a town's administrator maintains without the command
line — accounts (add, role and scope, disable, reset password), the sessions in force, the
ingest keys and the walls' kiosk tokens. Every change goes through datasources/sql/admin.py
(the rules of the command line, audited); a secret is shown once, here, after creation."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import parse_id
from datasources.flows.rota_desk import announce_rota
from datasources.sql.accounts import AccountError
from datasources.sql.admin import AdminDesk
from datasources.sql.roster import RosterStore, roster_template
from pages._admin_parts import (
    PATH,
    choice_options,
    ids,
    keys_tab,
    keys_table,
    only_text,
    refused,
    roster_preview,
    roster_tab,
    rota_tab,
    secret_box,
    sessions_tab,
    sessions_table,
    users_tab,
    users_table,
)
from pages._admin_rota import register_rota_callbacks, rota_edit_sections
from pages._admin_stations import register_station_callbacks, stations_tab
from pages._admin_tables import register_table_callbacks, tables_tab
from pages._admin_town import register_callbacks as register_town_callbacks
from pages._admin_town import town_tab
from pages._components import page_title, services, site_header, upload_bytes

dash.register_page(__name__, path=PATH, title=page_title("nav_admin"))
register_rota_callbacks()  # set a shift, mark leave (pages/_admin_rota.py)
register_table_callbacks()  # the tables a town overrides (pages/_admin_tables.py)
register_town_callbacks()  # 镇数据导入's (pages/_admin_town.py)
register_station_callbacks()  # 一部三室, teams, vehicles (pages/_admin_stations.py)

NOTHING = dash.no_update


def desk() -> AdminDesk:
    svc = services()
    assert svc.accounts is not None and svc.audit is not None
    return AdminDesk(svc.accounts, svc.audit, svc.rota)


TABS = ("users", "sessions", "keys", "rota", "roster", "tables", "town", "stations")


def layout(lang: str | None = None, tab: str | None = None, **_query: Any) -> Any:
    """Tabs: accounts, sessions, keys and kiosk tokens (`?tab=keys` opens one)."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    d = desk()
    units = choice_options(d.units(), lang)
    workers = choice_options(d.workers(), lang)
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.TICK, data=0),
        dcc.Location(id=ids.LOC, refresh=False),
        site_header(PATH, lang),
        html.H1(t("adm_title", lang), className="adm-h1"),
        html.Div(id=ids.MSG, className="adm-msg", role="status"),
        html.Div(id=ids.SECRET, className="adm-secret"),
        dcc.Tabs(id=ids.TABS, value=tab if tab in TABS else "users", className="adm-tabs",
                 children=[
            dcc.Tab(label=t("adm_tab_users", lang), value="users",
                    children=users_tab(lang, units, workers)),
            dcc.Tab(label=t("adm_tab_sessions", lang), value="sessions",
                    children=sessions_tab()),
            dcc.Tab(label=t("adm_tab_keys", lang), value="keys", children=keys_tab(lang)),
            dcc.Tab(label=t("adm_tab_rota", lang), value="rota",
                    children=[rota_tab(lang), rota_edit_sections(lang, workers)]),
            dcc.Tab(label=t("adm_tab_roster", lang), value="roster",
                    children=roster_tab(lang)),
            dcc.Tab(label=t("adm_tab_tables", lang), value="tables", children=tables_tab(lang)),
            dcc.Tab(label=t("adm_tab_town", lang), value="town", children=town_tab(lang)),
            dcc.Tab(label=t("adm_tab_stations", lang), value="stations",  # issue 16
                    children=stations_tab(lang)),
        ]),
    ], className="adm-page", **{"data-lang": lang})


def told(text: str, ok: bool = True) -> tuple[str, str]:
    return text, "adm-msg " + ("ok" if ok else "bad")


OUT = (Output(ids.MSG, "children", allow_duplicate=True),
       Output(ids.MSG, "className", allow_duplicate=True),
       Output(ids.SECRET, "children", allow_duplicate=True),
       Output(ids.TICK, "data", allow_duplicate=True))


@dash.callback(
    Output(ids.USERS, "children"), Output(ids.SESSIONS, "children"),
    Output(ids.KEYS, "children"), Output(ids.PICK, "options"),
    Input(ids.TICK, "data"), State(ids.LANG, "data"),
)
def show_admin(_tick: Any, lang: str | None) -> tuple[Any, ...]:
    """The accounts, the sessions in force and the keys, read afresh after each change."""
    lang = lang or "zh"
    d = desk()
    users = d.accounts.users()
    return (users_table(users, lang), sessions_table(d.accounts.sessions(), lang),
            keys_table(d.list_keys(), lang),
            [{"label": f"{u.name} ({u.display_name})" if u.display_name != u.name else u.name,
              "value": u.name} for u in users])


@dash.callback(
    Output(ids.EROLE, "value"), Output(ids.EDISPLAY, "value"), Output(ids.EUNIT, "value"),
    Output(ids.EPERSON, "value"),
    Input(ids.PICK, "value"), prevent_initial_call=True,
)
def fill_account(name: str | None) -> tuple[Any, ...]:
    """The picked account's role, shown name and scope, to edit."""
    row = desk().accounts.user(name) if name else None
    if row is None:
        return NOTHING, NOTHING, NOTHING, NOTHING
    return row.role, row.display_name, row.unit_id, row.person_id


@dash.callback(
    *OUT,
    Output(ids.NAME, "value"), Output(ids.DISPLAY, "value"), Output(ids.PASSWORD, "value"),
    Input(ids.ADD, "n_clicks"),
    State(ids.NAME, "value"), State(ids.DISPLAY, "value"), State(ids.ROLE, "value"),
    State(ids.UNIT, "value"), State(ids.PERSON, "value"), State(ids.PASSWORD, "value"),
    State(ids.LANG, "data"), prevent_initial_call=True,
)
def add_account(clicks: int | None, name: str | None, display: str | None, role: str | None,
                unit: str | None, person: str | None, password: str | None,
                lang: str | None) -> tuple[Any, ...]:
    """A new account; a generated password is shown once, and the form empties."""
    lang = lang or "zh"
    if not clicks:
        return (NOTHING,) * 7
    try:
        only_text(name, display, role, unit, person, password)
        row, shown = desk().add_user(name or "", role or "", display or "", unit or "",
                                     person or "", password or "")
    except (AccountError, BadInput) as exc:
        return *told(refused(exc, lang), False), None, NOTHING, NOTHING, NOTHING, NOTHING
    secret = secret_box(t("adm_secret_password", lang).format(name=row.name), shown, lang) \
        if shown else None
    return (*told(t("adm_done_add", lang).format(name=row.name)), secret, time.time(),
            "", "", "")


@dash.callback(
    *OUT,
    Input(ids.SAVE, "n_clicks"), Input(ids.DISABLE, "n_clicks"),
    Input(ids.ENABLE, "n_clicks"), Input(ids.RESET, "n_clicks"),
    Input(ids.SIGNOUT, "n_clicks"),
    State(ids.PICK, "value"), State(ids.EROLE, "value"), State(ids.EDISPLAY, "value"),
    State(ids.EUNIT, "value"), State(ids.EPERSON, "value"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def change_account(_save: Any, _disable: Any, _enable: Any, _reset: Any, _signout: Any,
                   name: str | None, role: str | None, display: str | None,
                   unit: str | None, person: str | None, lang: str | None) -> tuple[Any, ...]:
    """Save role and scope, disable, enable, reset the password, or sign out everywhere."""
    lang = lang or "zh"
    button = ctx.triggered_id
    if button is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        return NOTHING, NOTHING, NOTHING, NOTHING
    if not name:
        return *told(t("adm_need_user", lang), False), None, NOTHING
    d = desk()
    secret = None
    try:
        only_text(name, role, display, unit, person)
        if button == ids.SAVE:
            before = d.accounts.user(name)
            row = d.edit_user(name, role or "", display or "", unit or "", person or "")
            same = before is not None and (before.role, before.unit_id, before.person_id) \
                == (row.role, row.unit_id, row.person_id)
            text = t("adm_done_edit_same" if same else "adm_done_edit", lang)
        elif button in (ids.DISABLE, ids.ENABLE):
            d.set_disabled(name, button == ids.DISABLE)
            text = t("adm_done_disable" if button == ids.DISABLE else "adm_done_enable", lang)
        elif button == ids.RESET:
            shown = d.reset_password(name)
            secret = secret_box(t("adm_secret_password", lang).format(name=name), shown, lang)
            text = t("adm_done_reset", lang)
        else:
            n = d.end_user_sessions(name)
            text = t("adm_done_signout", lang).format(name=name, n=n)
    except (AccountError, BadInput) as exc:
        return *told(refused(exc, lang), False), None, NOTHING
    return *told(text.format(name=name)), secret, time.time()


@dash.callback(
    Output(ids.MSG, "children", allow_duplicate=True),
    Output(ids.MSG, "className", allow_duplicate=True),
    Output(ids.TICK, "data", allow_duplicate=True),
    Input({"type": ids.END, "index": ALL}, "n_clicks"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def end_one_session(_clicks: Any, lang: str | None) -> tuple[Any, ...]:
    """Sign one browser out (a lost phone, a shared PC left signed in)."""
    lang = lang or "zh"
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return NOTHING, NOTHING, NOTHING
    name = desk().end_session(str(trigger.get("index", "")))
    return *told(t("adm_done_end", lang).format(name=name or "—")), time.time()


@dash.callback(
    *OUT,
    Input(ids.KADD, "n_clicks"),
    State(ids.KIND, "value"), State(ids.KNAME, "value"), State(ids.SOURCE, "value"),
    State(ids.SCOPES, "value"), State(ids.LANG, "data"), State(ids.LOC, "href"),
    prevent_initial_call=True,
)
def add_new_key(clicks: int | None, kind: str | None, name: str | None, source: str | None,
                scopes: list[str] | None, lang: str | None,
                href: str | None) -> tuple[Any, ...]:
    """A new ingest key, or a wall's kiosk token with the wall's address, shown once."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING, NOTHING, NOTHING
    try:
        only_text(kind, name, source)
        token = desk().add_key(kind or "", name or "", source or "", scopes or None)
    except (AccountError, BadInput) as exc:
        return *told(refused(exc, lang), False), None, NOTHING
    label = (name or "").strip()
    if kind == "kiosk":
        secret = secret_box(t("adm_secret_kiosk", lang).format(name=label),
                            f"{_origin(href)}/?kiosk={token}", lang)
    else:
        secret = secret_box(t("adm_secret_key", lang).format(name=label), token, lang)
    return *told(t("adm_done_key", lang).format(name=label)), secret, time.time()


@dash.callback(
    Output(ids.MSG, "children", allow_duplicate=True),
    Output(ids.MSG, "className", allow_duplicate=True),
    Output(ids.TICK, "data", allow_duplicate=True),
    Input({"type": ids.REVOKE, "index": ALL}, "n_clicks"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def revoke_one_key(_clicks: Any, lang: str | None) -> tuple[Any, ...]:
    """Revoke a key or kiosk token: refused at its next request; a wall closes in seconds."""
    lang = lang or "zh"
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return NOTHING, NOTHING, NOTHING
    try:
        found = desk().revoke_key(parse_id(trigger.get("index"), "key"))
    except (AccountError, BadInput) as exc:  # a forged index: not a key's id (a 20-digit one)
        return *told(refused(exc, lang), False), time.time()
    return *told(t("adm_done_revoke", lang).format(name=found["name"])), time.time()


@dash.callback(
    Output(ids.MSG, "children", allow_duplicate=True),
    Output(ids.MSG, "className", allow_duplicate=True),
    Input(ids.SWAP, "n_clicks"),
    State(f"{ids.SWAP}-a-grid", "value"), State(f"{ids.SWAP}-a-day", "value"),
    State(f"{ids.SWAP}-a-shift", "value"), State(f"{ids.SWAP}-b-grid", "value"),
    State(f"{ids.SWAP}-b-day", "value"), State(f"{ids.SWAP}-b-shift", "value"),
    State(ids.REASON, "value"), State(ids.LANG, "data"), prevent_initial_call=True,
)
def swap_two_shifts(clicks: int | None, a_grid: str | None, a_day: str | None,
                    a_shift: str | None, b_grid: str | None, b_day: str | None,
                    b_shift: str | None, reason: str | None, lang: str | None) -> tuple[str, str]:
    """换班: the two shifts' workers exchanged, with the reason, audited."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING
    fields = (a_grid, a_day, a_shift, b_grid, b_day, b_shift, reason)
    try:
        if not all(v is None or isinstance(v, str) for v in fields):  # a forged list: a 500
            raise AccountError("a shift is named by text", "rota_shift")
        a = ((a_grid or "").strip(), a_day or "", a_shift or "")
        b = ((b_grid or "").strip(), b_day or "", b_shift or "")
        before = desk().swap_shifts(a, b, reason or "")
    except AccountError as exc:
        return told(refused(exc, lang), False)
    announce_rota(services().bus)  # an open console's recommendation follows the rota
    return told(t("adm_done_swap", lang).format(a=f"{' '.join(a)} {before[1]}",
                                                b=f"{' '.join(b)} {before[0]}"))


def _roster_store() -> RosterStore:
    svc = services()
    assert svc.accounts is not None
    return RosterStore(svc.accounts.engine)


@dash.callback(
    Output(ids.RPREVIEW, "children"), Output(ids.RAPPLY, "disabled"),
    Input(ids.UPLOAD, "contents"), State(ids.LANG, "data"), prevent_initial_call=True,
)
def preview_roster(contents: str | None, lang: str | None) -> tuple[Any, bool]:
    """Check the uploaded roster: every row's problem, or what an import would change."""
    data = upload_bytes(contents)
    if data is None:
        return None, True
    checked = _roster_store().check(data)
    return roster_preview(checked, lang or "zh"), not checked.ok


@dash.callback(
    Output(ids.MSG, "children", allow_duplicate=True),
    Output(ids.MSG, "className", allow_duplicate=True),
    Output(ids.RPREVIEW, "children", allow_duplicate=True),
    Output(ids.RAPPLY, "disabled", allow_duplicate=True),
    Input(ids.RAPPLY, "n_clicks"), State(ids.UPLOAD, "contents"),
    State(ids.UPLOAD, "filename"), State(ids.LANG, "data"), prevent_initial_call=True,
)
def apply_roster(clicks: int | None, contents: str | None, filename: str | None,
                 lang: str | None) -> tuple[Any, ...]:
    """Import the roster as uploaded (checked again here): all rows in one transaction,
    or nothing when any row is wrong."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING, NOTHING, NOTHING
    data = upload_bytes(contents)
    if data is None:
        return *told(t("adm_roster_nothing", lang), False), NOTHING, True
    checked = _roster_store().apply(data)
    if not checked.ok:
        return *told(t("adm_roster_errors", lang).format(n=len(checked.errors)), False), \
            roster_preview(checked, lang), True
    figures = {"added": checked.added, "updated": checked.updated, "leaders": checked.leaders}
    desk().audit.record("roster.import", (filename or "")[:80],
                        ", ".join(f"{k} {v}" for k, v in figures.items()))
    return *told(t("adm_roster_done", lang).format(**figures)), None, True


@dash.callback(
    Output(ids.RDOWNLOAD, "data"), Input(ids.RTEMPLATE, "n_clicks"),
    prevent_initial_call=True,
)
def download_roster_template(clicks: int | None) -> Any:
    """docs/roster-template.xlsx, made by the code that reads it."""
    if not clicks:
        return NOTHING
    return dcc.send_bytes(roster_template(), "网格人员花名册模板.xlsx")


def _origin(href: str | None) -> str:
    """Scheme and host of the address the admin opened this page at (the wall's URL is
    on the same server); a placeholder when the browser sent none."""
    parts = urlsplit(href or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return "http://HOST:PORT"
