"""The parts of /admin (系统管理): element ids, the forms and the tables drawn from the rows
of datasources/sql/admin.py. No I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import dcc, html

from dashboard.buses.register import describe as describe
from dashboard.i18n.codes import role_label
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import TEXT, t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import text_param
from dashboard.roles import KEY_SCOPES, KEY_SOURCES, ROLES
from dashboard.timeutil import LOCAL_TZ, as_utc

PATH = "/admin"


class ids:  # noqa: N801 - a namespace of element ids
    LANG = "adm-lang"
    TICK = "adm-tick"
    LOC = "adm-loc"
    MSG = "adm-msg"
    SECRET = "adm-secret"
    TABS = "adm-tabs"
    # new account
    NAME = "adm-name"
    DISPLAY = "adm-display"
    ROLE = "adm-role"
    UNIT = "adm-unit"
    PERSON = "adm-person"
    PASSWORD = "adm-password"
    ADD = "adm-add"
    # edit an account
    PICK = "adm-pick"
    EROLE = "adm-erole"
    EDISPLAY = "adm-edisplay"
    EUNIT = "adm-eunit"
    EPERSON = "adm-eperson"
    SAVE = "adm-save"
    DISABLE = "adm-disable"
    ENABLE = "adm-enable"
    RESET = "adm-reset"
    SIGNOUT = "adm-signout"
    USERS = "adm-users"
    SESSIONS = "adm-sessions"
    END = "adm-end"  # pattern: {"type": END, "index": session id}
    # keys
    KIND = "adm-kind"
    KNAME = "adm-kname"
    SOURCE = "adm-source"
    SCOPES = "adm-scopes"
    KADD = "adm-kadd"
    KEYS = "adm-keys"
    REVOKE = "adm-revoke"  # pattern: {"type": REVOKE, "index": key id}
    # rota
    SWAP = "adm-swap"
    REASON = "adm-reason"
    ROTA = "adm-rota"
    # grid staff roster
    UPLOAD = "adm-upload"
    RPREVIEW = "adm-rpreview"
    RAPPLY = "adm-rapply"
    RTEMPLATE = "adm-rtemplate"
    RDOWNLOAD = "adm-rdownload"


def refused(exc: ValueError | BadInput, lang: str) -> str:
    """A refused account change (AccountError, or BadInput for a forged field) in the
    reader's language: its code's text, else its message."""
    if isinstance(exc, BadInput):
        return error_text(exc, lang)
    code = str(getattr(exc, "code", "") or "")
    key = f"err_{code}"
    return t(key, lang) if code and key in TEXT else str(exc)


def only_text(*values: Any) -> None:
    """The form's fields as the page sends them (text or nothing): a forged list or number
    is refused with BadInput("bad_text"), not a 500 deep in the account rules."""
    for value in values:
        text_param(value, "form")


def when(value: datetime | None) -> str:
    """A stored UTC time as Asia/Shanghai minutes."""
    return as_utc(value).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def role_options(lang: str) -> list[dict[str, str]]:
    return [{"label": role_label(r, lang), "value": r} for r in ROLES]


def choice_options(choices: list[Any], lang: str) -> list[dict[str, str]]:
    """Units or workers as dropdown options: 'id · name'."""
    return [{"label": f"{c.id} · {c.name_en if lang == 'en' else c.name}", "value": c.id}
            for c in choices]


def field(label: str, control: Any) -> Any:
    return html.Label([html.Span(label, className="adm-label"), control], className="adm-field")


def users_tab(lang: str, units: list[dict[str, str]], workers: list[dict[str, str]]) -> Any:
    """The new-account form, the edit form and the list of accounts."""
    roles = role_options(lang)
    return html.Div([
        html.Section([
            html.H2(t("adm_new_user", lang)),
            html.Div([
                field(t("adm_name", lang), dcc.Input(id=ids.NAME, maxLength=40, value="")),
                field(t("adm_display", lang), dcc.Input(id=ids.DISPLAY, maxLength=40,
                                                        value="")),
                field(t("adm_role", lang), dcc.Dropdown(id=ids.ROLE, options=roles,
                                                        value="officer", clearable=False)),
                field(t("adm_unit", lang), dcc.Dropdown(id=ids.UNIT, options=units)),
                field(t("adm_person", lang), dcc.Dropdown(id=ids.PERSON, options=workers)),
                field(t("adm_password", lang), dcc.Input(id=ids.PASSWORD, type="password",
                                                         maxLength=200, value="",
                                                         autoComplete="new-password")),
            ], className="adm-form"),
            html.Button(t("adm_add", lang), id=ids.ADD, n_clicks=0, className="adm-button"),
        ], className="adm-card"),
        html.Section([
            html.H2(t("adm_edit_user", lang)),
            html.Div([
                field(t("adm_pick_user", lang), dcc.Dropdown(id=ids.PICK)),
                field(t("adm_role", lang), dcc.Dropdown(id=ids.EROLE, options=roles,
                                                        clearable=False)),
                field(t("adm_display", lang), dcc.Input(id=ids.EDISPLAY, maxLength=40,
                                                        value="")),
                field(t("adm_unit", lang), dcc.Dropdown(id=ids.EUNIT, options=units)),
                field(t("adm_person", lang), dcc.Dropdown(id=ids.EPERSON, options=workers)),
            ], className="adm-form"),
            html.Div([
                html.Button(t("adm_save", lang), id=ids.SAVE, n_clicks=0,
                            className="adm-button"),
                html.Button(t("adm_reset", lang), id=ids.RESET, n_clicks=0,
                            className="adm-button"),
                html.Button(t("adm_signout", lang), id=ids.SIGNOUT, n_clicks=0,
                            className="adm-button"),
                html.Button(t("adm_disable", lang), id=ids.DISABLE, n_clicks=0,
                            className="adm-button danger"),
                html.Button(t("adm_enable", lang), id=ids.ENABLE, n_clicks=0,
                            className="adm-button"),
            ], className="adm-actions"),
        ], className="adm-card"),
        html.Div(id=ids.USERS, className="adm-table-wrap"),
    ])


def sessions_tab() -> Any:
    return html.Div(id=ids.SESSIONS, className="adm-table-wrap")


def keys_tab(lang: str) -> Any:
    """The new key / kiosk token form and the list."""
    return html.Div([
        html.Section([
            html.H2(t("adm_new_key", lang)),
            html.Div([
                field(t("adm_kind", lang), dcc.RadioItems(
                    id=ids.KIND, value="kiosk", inline=True,
                    options=[{"label": t("adm_kind_kiosk", lang), "value": "kiosk"},
                             {"label": t("adm_kind_ingest", lang), "value": "ingest"}])),
                field(t("adm_key_name", lang), dcc.Input(id=ids.KNAME, maxLength=60, value="")),
                field(t("adm_source", lang), dcc.Dropdown(
                    id=ids.SOURCE, options=[{"label": s, "value": s} for s in KEY_SOURCES])),
                field(t("adm_scopes", lang), dcc.Checklist(
                    id=ids.SCOPES, value=[], inline=True,
                    options=[{"label": v[1] if lang == "en" else v[0], "value": k}
                             for k, v in KEY_SCOPES.items()])),
            ], className="adm-form"),
            html.Button(t("adm_add", lang), id=ids.KADD, n_clicks=0, className="adm-button"),
        ], className="adm-card"),
        html.Div(id=ids.KEYS, className="adm-table-wrap"),
    ])


def table(heads: list[str], rows: list[list[Any]], row_ids: list[str] | None = None) -> Any:
    return html.Table([
        html.Thead(html.Tr([html.Th(h) for h in heads])),
        html.Tbody([html.Tr([html.Td(c) for c in row],
                            **({"id": row_ids[i]} if row_ids else {}))
                    for i, row in enumerate(rows)]),
    ], className="adm-table")


def users_table(users: list[Any], lang: str) -> Any:
    heads = [t(k, lang) for k in ("adm_col_name", "adm_col_display", "adm_col_role",
                                  "adm_col_scope", "adm_col_state", "adm_col_created")]
    rows = [[u.name, u.display_name, role_label(u.role, lang),
             " ".join(x for x in (u.unit_id, u.person_id) if x) or "—",
             html.Span(t("adm_disabled" if u.disabled else "adm_active", lang),
                       className="adm-state " + ("off" if u.disabled else "on")),
             when(u.created_at)] for u in users]
    return table(heads, rows, [f"adm-user-{u.id}" for u in users])


def sessions_table(sessions: list[dict[str, Any]], lang: str) -> Any:
    if not sessions:
        return html.P(t("adm_no_sessions", lang), className="adm-empty")
    heads = [t(k, lang) for k in ("adm_col_user", "adm_col_role", "adm_col_since",
                                  "adm_col_expires", "adm_col_ip")] + [""]
    rows = [[s["user"], role_label(s["role"], lang), when(s["created_at"]),
             when(s["expires_at"]), s["ip"] or "—",
             html.Button(t("adm_end", lang), id={"type": ids.END, "index": s["id"]},
                         n_clicks=0, className="adm-button small")] for s in sessions]
    return table(heads, rows)


def keys_table(keys: list[dict[str, Any]], lang: str) -> Any:
    heads = [t(k, lang) for k in ("adm_col_kind", "adm_key_name", "adm_col_source",
                                  "adm_col_scopes", "adm_col_prefix", "adm_col_created",
                                  "adm_col_state")]
    rows = []
    for k in reversed(keys):  # newest first
        kind = t("adm_kind_kiosk" if k["kind"] == "kiosk" else "adm_kind_ingest", lang)
        state: Any = t("adm_revoked", lang).format(at=when(k["revoked_at"])) \
            if k["revoked_at"] else html.Button(
                t("adm_revoke", lang), id={"type": ids.REVOKE, "index": k["id"]},
                n_clicks=0, className="adm-button small danger")
        rows.append([kind, k["name"], k["source"] or "—",
                     ", ".join(KEY_SCOPES[s][1 if lang == "en" else 0] for s in k["scopes"])
                     or "—", k["prefix"] + "…", when(k["created_at"]), state])
    return table(heads, rows, [f"adm-key-{k['id']}" for k in reversed(keys)])


def secret_box(label: str, secret: str, lang: str) -> Any:
    """A secret shown once, selectable whole, with the copy hint."""
    return html.Div([
        html.Div(label, className="adm-secret-label"),
        html.Code(secret, className="adm-secret-value", id="adm-secret-value"),
        html.Div(t("adm_secret_once", lang), className="adm-secret-hint"),
    ], className="adm-secret-box")


def roster_tab(lang: str) -> Any:
    """The roster's upload, its template, the check's outcome and the import button."""
    return html.Div([
        html.Section([
            html.P(t("adm_roster_help", lang), className="adm-help"),
            html.Button(t("adm_roster_template", lang), id=ids.RTEMPLATE, n_clicks=0,
                        className="adm-button"),
            dcc.Download(id=ids.RDOWNLOAD),
            dcc.Upload(html.Div(t("adm_roster_drop", lang)), id=ids.UPLOAD,
                       accept=".xlsx", max_size=20 * 1024 * 1024, className="adm-upload"),
            html.Div(id=ids.RPREVIEW, className="adm-rpreview"),
            html.Button(t("adm_roster_apply", lang), id=ids.RAPPLY, n_clicks=0,
                        disabled=True, className="adm-button"),
        ], className="adm-card"),
    ])


def roster_preview(checked: Any, lang: str) -> Any:
    """Every error (nothing will be imported), or what the import would change and the rows."""
    from dashboard.grids.roster import duty_label

    if checked.errors:
        return html.Div([
            html.P(t("adm_roster_errors", lang).format(n=len(checked.errors)),
                   className="adm-msg bad"),
            html.Ul([html.Li(describe(e, lang), className="adm-rerror")
                     for e in checked.errors[:200]], className="adm-rerrors"),
        ])
    heads = [t(k, lang) for k in ("adm_col_grid", "adm_col_post", "adm_col_prefix",
                                  "adm_col_name", "adm_col_phone", "adm_col_duties")]
    heads[2] = "ID"
    rows = [[e.grid, t(f"adm_post_{e.post}", lang), e.id or "—", e.name, e.phone,
             "、".join(duty_label(d, lang) for d in e.duties) if lang != "en"
             else ", ".join(duty_label(d, lang) for d in e.duties)]
            for e in checked.entries[:500]]
    return html.Div([
        html.P(t("adm_roster_preview", lang).format(added=checked.added,
                                                    updated=checked.updated,
                                                    leaders=checked.leaders),
               className="adm-msg ok"),
        table(heads, rows),
    ])


def _shift_fields(prefix: str, lang: str) -> list[Any]:
    shifts = [{"label": t("adm_shift_day", lang), "value": "day"},
              {"label": t("adm_shift_night", lang), "value": "night"}]
    return [field(t("adm_grid_code", lang), dcc.Input(id=f"{prefix}-grid", maxLength=16,
                                                      value="")),
            field(t("adm_day", lang), dcc.Input(id=f"{prefix}-day", type="date", value="")),
            field(t("adm_shift", lang), dcc.Dropdown(id=f"{prefix}-shift", options=shifts,
                                                     value="day", clearable=False))]


def rota_tab(lang: str) -> Any:
    """换班: two shifts (grid, day, shift each) and the reason."""
    return html.Section([
        html.H2(t("adm_swap_title", lang)),
        html.H3(t("adm_swap_a", lang), className="adm-h3"),
        html.Div(_shift_fields(f"{ids.SWAP}-a", lang), className="adm-form"),
        html.H3(t("adm_swap_b", lang), className="adm-h3"),
        html.Div(_shift_fields(f"{ids.SWAP}-b", lang), className="adm-form"),
        field(t("adm_reason", lang), dcc.Input(id=ids.REASON, maxLength=200, value="")),
        html.Button(t("adm_swap", lang), id=ids.SWAP, n_clicks=0, className="adm-button"),
    ], className="adm-card")
