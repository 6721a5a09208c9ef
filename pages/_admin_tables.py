"""The tables a town overrides, on /admin (issue 16): deadlines per category, priority and
level, kits per category, evaluation weights, speed zones. The admin writes only the rows
to change, as JSON; the built-in (with the town's files) is shown beside, and what is in
force below it. Checked on save by the table's own rule (dashboard/town_tables.py), kept in
`town_tables` (datasources/sql/tables.py), audited; every rule reads it from there.

pages/admin.py calls register_table_callbacks() at import (once per app)."""

from __future__ import annotations

import json
import time
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.buses.alerts import SpeedLimits
from dashboard.i18n.text import TEXT, t
from dashboard.town_tables import EXAMPLES, TABLES, TableError
from datasources.sql.tables import TownTables
from pages._admin_parts import field, ids
from pages._components import services

NOTHING = dash.no_update


class tids:  # noqa: N801 - a namespace of element ids
    PICK = "adm-table-pick"
    TEXT = "adm-table-text"
    DEFAULT = "adm-table-default"
    EFFECTIVE = "adm-table-effective"
    VERSION = "adm-table-version"
    SAVE = "adm-table-save"
    CLEAR = "adm-table-clear"
    TICK = "adm-table-tick"


def _dump(value: Any) -> str:
    if isinstance(value, SpeedLimits):
        value = [{"name": z.name, "limit_kmh": z.limit_kmh, "radius_m": z.radius_m,
                  "line": [list(p) for p in z.line]} for z in value.zones]
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)


def table_refused(exc: TableError, lang: str) -> str:
    """A refused table in the reader's language, with the rule's words."""
    key = f"err_{exc.code}"
    params = {"detail": "", **exc.params}
    name = str(params.get("table", ""))
    if f"tbl_{name}" in TEXT:
        params["table"] = t(f"tbl_{name}", lang)
    return t(key, lang).format(**params) if key in TEXT else str(exc)


def tables_tab(lang: str) -> Any:
    """The table picker, the override's editor and the built-in beside it."""
    return html.Section([
        dcc.Store(id=tids.TICK, data=0),
        html.H2(t("tbl_title", lang)),
        field(t("tbl_pick", lang), dcc.Dropdown(
            id=tids.PICK, value=TABLES[0], clearable=False,
            options=[{"label": t(f"tbl_{n}", lang), "value": n} for n in TABLES])),
        html.Div([
            html.Div([
                html.H3(t("tbl_override", lang), className="adm-h3"),
                dcc.Textarea(id=tids.TEXT, value="", className="adm-table-text",
                             spellCheck=False),
                html.Div(id=tids.VERSION, className="adm-note"),
                html.Button(t("tbl_save", lang), id=tids.SAVE, n_clicks=0,
                            className="adm-button"),
                html.Button(t("tbl_clear", lang), id=tids.CLEAR, n_clicks=0,
                            className="adm-button"),
            ], className="adm-table-edit"),
            html.Div([
                html.H3(t("tbl_default", lang), className="adm-h3"),
                html.Pre(id=tids.DEFAULT, className="adm-table-json"),
                html.H3(t("tbl_effective", lang), className="adm-h3"),
                html.Pre(id=tids.EFFECTIVE, className="adm-table-json"),
            ], className="adm-table-side"),
        ], className="adm-table-cols"),
    ], className="adm-card")


def _tables() -> TownTables:
    tables = services().tables
    assert tables is not None
    return tables


def show_table(name: Any, _tick: Any, lang: str | None) -> tuple[Any, ...]:
    """The picked table: the override to edit, the built-in and what is in force."""
    lang = lang or "zh"
    if name not in TABLES:
        return "", "", "", "", ""
    tables = _tables()
    data = tables.override(name)
    version = tables.version(name)
    note = t("tbl_version", lang).format(version=version) if data is not None \
        else t("tbl_none", lang)
    return ("" if data is None else _dump(data), _dump(tables.base.shown(name)),
            _dump(tables.table(name)), note, EXAMPLES[name])


def save_table(save: int | None, clear: int | None, name: Any, text: Any,
               lang: str | None) -> tuple[Any, ...]:
    """Check and save the override (or remove it), audited."""
    lang = lang or "zh"
    button = dash.ctx.triggered_id
    if button is None or not (save or clear):
        return NOTHING, NOTHING, NOTHING
    svc = services()
    try:
        version = _tables().save(name, "" if button == tids.CLEAR else text)
    except TableError as exc:
        return table_refused(exc, lang), "adm-msg bad", NOTHING
    label = t(f"tbl_{name}", lang)
    assert svc.audit is not None
    if version:
        svc.audit.record("tables.save", str(name), f"version {version}")
        text_out = t("tbl_done_save", lang).format(table=label, version=version)
    else:
        svc.audit.record("tables.clear", str(name))
        text_out = t("tbl_done_clear", lang).format(table=label)
    return text_out, "adm-msg ok", time.time()


def register_table_callbacks() -> None:
    """Register the tables section's callbacks with the app being built."""
    dash.callback(
        Output(tids.TEXT, "value"), Output(tids.DEFAULT, "children"),
        Output(tids.EFFECTIVE, "children"), Output(tids.VERSION, "children"),
        Output(tids.TEXT, "placeholder"),
        Input(tids.PICK, "value"), Input(tids.TICK, "data"), State(ids.LANG, "data"),
    )(show_table)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Output(tids.TICK, "data", allow_duplicate=True),
        Input(tids.SAVE, "n_clicks"), Input(tids.CLEAR, "n_clicks"),
        State(tids.PICK, "value"), State(tids.TEXT, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(save_table)
