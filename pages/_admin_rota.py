"""The rota's edits on /admin (issue 16): set who is on one shift, mark a worker's leave
(their shifts handed to colleagues), the grid's coming week and the leaves in force. The
checks are the rota's (dashboard/grids/rota.py), the changes datasources/sql/admin.py's
(audited); after each, the open consoles hear it on the hub (datasources/flows/rota_desk.py).

pages/admin.py calls register_rota_callbacks() at import: Dash runs a page module once per
app, this helper is imported once per process."""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.grids.rota import RotaError
from dashboard.i18n.text import TEXT, t
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.flows.rota_desk import announce_rota
from datasources.sql.admin import AdminDesk
from pages._admin_parts import field, ids, table
from pages._components import services

NOTHING = dash.no_update


class rids:  # noqa: N801 - a namespace of element ids
    GRID = "adm-rota-grid"
    DAY = "adm-rota-day"
    SHIFT = "adm-rota-shift"
    WORKER = "adm-rota-worker"
    REASON = "adm-rota-reason"
    SET = "adm-rota-set"
    WEEK = "adm-rota-week"
    LWORKER = "adm-leave-worker"
    LFIRST = "adm-leave-first"
    LLAST = "adm-leave-last"
    LREASON = "adm-leave-reason"
    LEAVE = "adm-leave-mark"
    LEAVES = "adm-leaves"
    TICK = "adm-rota-tick"


def rota_refused(exc: RotaError, lang: str) -> str:
    """A refused rota edit in the reader's language, with what it named."""
    key = f"err_{exc.code}"
    if key not in TEXT:
        return str(exc)
    try:
        return t(key, lang).format(**exc.params)
    except (KeyError, IndexError):
        return t(key, lang)


def _shifts(lang: str) -> list[dict[str, str]]:
    return [{"label": t("adm_shift_day", lang), "value": "day"},
            {"label": t("adm_shift_night", lang), "value": "night"}]


def rota_edit_sections(lang: str, workers: list[dict[str, str]]) -> Any:
    """The set-a-shift form with the grid's week, and the leave form with the leaves."""
    return html.Div([
        dcc.Store(id=rids.TICK, data=0),
        html.Section([
            html.H2(t("rota_edit_title", lang)),
            html.Div([
                field(t("adm_grid_code", lang), dcc.Input(id=rids.GRID, maxLength=16,
                                                          value="")),
                field(t("adm_day", lang), dcc.Input(id=rids.DAY, type="date", value="")),
                field(t("adm_shift", lang), dcc.Dropdown(id=rids.SHIFT, options=_shifts(lang),
                                                         value="day", clearable=False)),
                field(t("rota_worker", lang), dcc.Dropdown(id=rids.WORKER, options=workers)),
                field(t("adm_reason", lang), dcc.Input(id=rids.REASON, maxLength=200,
                                                       value="")),
            ], className="adm-form"),
            html.Button(t("rota_set", lang), id=rids.SET, n_clicks=0, className="adm-button"),
            html.H3(t("rota_grid_week", lang), className="adm-h3"),
            html.Div(id=rids.WEEK, className="adm-rota-week"),
        ], className="adm-card"),
        html.Section([
            html.H2(t("rota_leave_title", lang)),
            html.Div([
                field(t("rota_worker", lang), dcc.Dropdown(id=rids.LWORKER, options=workers)),
                field(t("rota_first", lang), dcc.Input(id=rids.LFIRST, type="date", value="")),
                field(t("rota_last", lang), dcc.Input(id=rids.LLAST, type="date", value="")),
                field(t("adm_reason", lang), dcc.Input(id=rids.LREASON, maxLength=200,
                                                       value="")),
            ], className="adm-form"),
            html.Button(t("rota_mark_leave", lang), id=rids.LEAVE, n_clicks=0,
                        className="adm-button"),
            html.H3(t("rota_leaves", lang), className="adm-h3"),
            html.Div(id=rids.LEAVES),
        ], className="adm-card"),
    ])


def _desk() -> AdminDesk:
    svc = services()
    assert svc.accounts is not None and svc.audit is not None
    return AdminDesk(svc.accounts, svc.audit, svc.rota)


def _today() -> str:
    return utcnow().astimezone(LOCAL_TZ).date().isoformat()


def show_rota(grid: Any, _tick: Any, lang: str | None) -> tuple[Any, Any]:
    """The picked grid's coming week and the leaves in force, read afresh after a change."""
    lang = lang or "zh"
    rota = services().rota
    if rota is None:
        return None, None
    today = _today()
    code = grid.strip() if isinstance(grid, str) else ""
    week = None
    if code:
        rows = rota.table(code[:16], today, 7)
        week = table([t("rota_col_day", lang), t("adm_shift_day", lang),
                      t("adm_shift_night", lang)],
                     [[r["date"], r.get("day", "—"), r.get("night", "—")] for r in rows])
    leaves = rota.leave_rows(today)
    heads = [t("rota_worker", lang), t("rota_first", lang), t("rota_last", lang),
             t("rota_col_reason", lang)]
    return week, table(heads, [[f"{r['worker']} ({r['worker_id']})", r["first"], r["last"],
                                r["reason"]] for r in leaves])


def set_one_shift(clicks: int | None, grid: Any, day: Any, shift: Any, worker: Any,
                  reason: Any, lang: str | None) -> tuple[Any, ...]:
    """Put the chosen worker on one shift, with the reason; the consoles hear of it."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING, NOTHING
    svc = services()
    try:
        row, before = _desk().set_shift(grid, day, shift, worker, reason)
    except RotaError as exc:
        return rota_refused(exc, lang), "adm-msg bad", NOTHING
    announce_rota(svc.bus)
    text = t("rota_done_set", lang).format(
        grid=row.grid, day=row.day, shift=t(f"adm_shift_{row.shift}", lang),
        before=before or "—", worker=row.worker_name)
    return text, "adm-msg ok", time.time()


def mark_one_leave(clicks: int | None, worker: Any, first: Any, last: Any, reason: Any,
                   lang: str | None) -> tuple[Any, ...]:
    """Mark a worker's leave; their shifts in it go to colleagues; the consoles hear of it."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING, NOTHING
    svc = services()
    try:
        done = _desk().mark_leave(worker, first, last, reason)
    except RotaError as exc:
        return rota_refused(exc, lang), "adm-msg bad", NOTHING
    announce_rota(svc.bus)
    text = t("rota_done_leave", lang).format(worker=done["worker"], first=done["first"],
                                             last=done["last"], covered=len(done["covered"]))
    if done["open"]:
        text += t("rota_done_leave_open", lang).format(open=len(done["open"]))
    return text, "adm-msg ok" if not done["open"] else "adm-msg bad", time.time()


def register_rota_callbacks() -> None:
    """Register the rota section's callbacks with the app being built."""
    dash.callback(
        Output(rids.WEEK, "children"), Output(rids.LEAVES, "children"),
        Input(rids.GRID, "value"), Input(rids.TICK, "data"), State(ids.LANG, "data"),
    )(show_rota)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Output(rids.TICK, "data", allow_duplicate=True),
        Input(rids.SET, "n_clicks"),
        State(rids.GRID, "value"), State(rids.DAY, "value"), State(rids.SHIFT, "value"),
        State(rids.WORKER, "value"), State(rids.REASON, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(set_one_shift)
    dash.callback(
        Output(ids.MSG, "children", allow_duplicate=True),
        Output(ids.MSG, "className", allow_duplicate=True),
        Output(rids.TICK, "data", allow_duplicate=True),
        Input(rids.LEAVE, "n_clicks"),
        State(rids.LWORKER, "value"), State(rids.LFIRST, "value"),
        State(rids.LLAST, "value"), State(rids.LREASON, "value"), State(ids.LANG, "data"),
        prevent_initial_call=True,
    )(mark_one_leave)
