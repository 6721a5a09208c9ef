"""The emergency resources page (/resources): readiness of every station, one station's
stock with receive / issue / adjust, its ledger, CSV and Excel import/export, and coverage.

Readiness and stock follow the hub's live state (the process's in-memory copy, fed by the
events every step publishes): a 2 s interval redraws only when the "stations" topic moved,
so the page adds no database polling. Ledger and coverage are read when asked for.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import dash
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, name, t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.inputs import plain_text, text_param
from dashboard.resources.errors import StockError, says
from dashboard.resources.stock import parse_quantity
from dashboard.roles import current
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.doors.resources_io import (
    StocktakeError,
    apply_stocktake,
    export_rows,
    parse_stocktake,
    to_csv,
    to_xlsx,
)
from datasources.sql.resources import TEAM_STATUSES, ResourceError
from pages._components import page_title, services, site_header
from pages._drill_parts import register_drill_callbacks
from pages._drill_parts import section as drill_section
from pages._resources_tables import (
    coverage_map,
    coverage_table,
    ledger_table,
    readiness_table,
    stock_table,
    teams_table,
)

PATH = "/resources"
dash.register_page(__name__, path=PATH, title=page_title("nav_resources"))
register_drill_callbacks()  # the drills part (issue 16), once per app

KINDS = ("receive", "issue", "adjust")
UPLOAD_MAX_BYTES = 2_000_000  # a stock-take of a few thousand rows is far smaller


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the resources page."""

    LANG = "rs-lang"
    POLL = "rs-poll"
    SEEN = "rs-seen"
    READINESS = "rs-readiness"
    STATION = "rs-station"
    STOCK = "rs-stock"
    LEDGER = "rs-ledger"
    LEDGER_ITEM = "rs-ledger-item"
    ITEM = "rs-item"
    KIND = "rs-kind"
    QTY = "rs-qty"
    REASON = "rs-reason"
    BATCH = "rs-batch"
    APPLY = "rs-apply"
    TOAST = "rs-toast"
    CSV = "rs-csv"
    XLSX = "rs-xlsx"
    DOWNLOAD = "rs-download"
    UPLOAD = "rs-upload"
    COVERAGE = "rs-coverage"
    TEAMS = "rs-teams"
    TEAM = "rs-team"
    STATUS = "rs-status"
    SET_STATUS = "rs-set-status"
    SHELTER = "rs-shelter"
    SHELTER_GO = "rs-shelter-go"


def layout(lang: str | None = None, station: str | None = None, **_query: Any) -> Any:
    """Header, readiness, stock and its form, ledger, import/export, coverage."""
    svc = services()
    lang = lang if lang in LANGS else svc.settings.lang
    stations = svc.resources.res.stations()
    codes = [st["code"] for st in stations]
    station = station if station in codes else (codes[1] if len(codes) > 1 else codes[0])
    meta = svc.town_meta
    coverage = svc.resources.coverage(svc.settings.response_target_min)
    header = html.Header([
        html.Span(meta.get("name_en") if lang == "en" else meta.get("name"),
                  className="disp-town"),
        html.H1(t("res_title", lang)),
    ], className="res-header")
    options = [{"label": name(st, lang), "value": st["code"]} for st in stations]
    form = html.Div([
        html.Div(dcc.Dropdown(id=ids.ITEM, options=[], value=None, clearable=False,
                              placeholder=t("res_item", lang)), className="res-w-item"),
        dcc.RadioItems(id=ids.KIND, value="receive", inline=True, options=[
            {"label": t(f"res_kind_{k}", lang), "value": k} for k in KINDS]),
        html.Div(dcc.Input(id=ids.QTY, type="number", step=1,
                           placeholder=t("res_qty", lang)), className="res-w-qty"),
        html.Div(dcc.Input(id=ids.REASON, type="text", maxLength=200,
                           placeholder=t("res_reason", lang)), className="res-w-reason"),
        html.Div(dcc.Input(id=ids.BATCH, type="text", maxLength=32,
                           placeholder=t("res_batch", lang)), className="res-w-batch"),
        html.Button(t("res_apply", lang), id=ids.APPLY, n_clicks=0,
                    className="disp-btn primary"),
    ], className="res-form")
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.SEEN, data=None),
        dcc.Interval(id=ids.POLL, interval=2000),
        dcc.Download(id=ids.DOWNLOAD),
        site_header(PATH, lang),
        header,
        html.H2(t("res_readiness", lang)),
        html.Div(readiness_table(stations, lang), id=ids.READINESS),
        drill_section(stations, lang),  # issue 16: 应急演练 (pages/_drill_parts.py)
        html.Div([
            html.Div([
                html.H2(t("res_stock", lang)),
                dcc.Dropdown(id=ids.STATION, options=options, value=station, clearable=False),
                html.Div(id=ids.STOCK),
                html.H2(t("res_teams_title", lang)),
                html.Div(id=ids.TEAMS),
                html.Div([
                    html.Div(dcc.Dropdown(id=ids.TEAM, options=[], value=None,
                                          placeholder=t("res_team_pick", lang)),
                             className="res-w-item"),
                    dcc.RadioItems(id=ids.STATUS, value="resting", inline=True, options=[
                        {"label": t(f"team_{k}", lang), "value": k} for k in TEAM_STATUSES]),
                    html.Button(t("res_set_status", lang), id=ids.SET_STATUS, n_clicks=0,
                                className="disp-btn"),
                ], className="res-form"),
                html.Div([
                    html.Span(t("res_shelter", lang)),
                    html.Div(dcc.Input(id=ids.SHELTER, type="number", step=1),
                             className="res-w-qty"),
                    html.Button(t("res_shelter_btn", lang), id=ids.SHELTER_GO, n_clicks=0,
                                className="disp-btn"),
                ], className="res-form"),
                html.H2(t("res_edit", lang)), form,
                html.Div("", id=ids.TOAST, className="res-toast", role="status"),
                html.Div([
                    html.Button(t("res_export_csv", lang), id=ids.CSV, n_clicks=0,
                                className="disp-btn"),
                    html.Button(t("res_export_xlsx", lang), id=ids.XLSX, n_clicks=0,
                                className="disp-btn"),
                    dcc.Upload(html.Div(t("res_import", lang)), id=ids.UPLOAD,
                               className="res-upload", multiple=False,
                               max_size=UPLOAD_MAX_BYTES),
                ], className="res-form"),
            ]),
            html.Div([
                html.H2(t("res_ledger", lang)),
                dcc.Dropdown(id=ids.LEDGER_ITEM, options=[], value=None,
                             placeholder=t("res_item", lang)),
                html.Div(id=ids.LEDGER),
            ]),
        ], className="res-grid"),
        html.H2(t("res_coverage", lang)),
        html.Div([html.Div(coverage_table(coverage, lang), id=ids.COVERAGE),
                  html.Div(coverage_map(stations, coverage, meta, lang), className="res-map")],
                 className="res-grid"),
    ], className="res-root", **{"data-lang": lang})


# ---------------------------------------------------------------------------- callbacks
@dash.callback(
    Output(ids.READINESS, "children"), Output(ids.STOCK, "children"),
    Output(ids.ITEM, "options"), Output(ids.LEDGER_ITEM, "options"),
    Output(ids.LEDGER, "children"), Output(ids.SEEN, "data"),
    Output(ids.TEAMS, "children"), Output(ids.TEAM, "options"),
    Input(ids.POLL, "n_intervals"), Input(ids.STATION, "value"),
    Input(ids.LEDGER_ITEM, "value"), Input(ids.TOAST, "children"),
    State(ids.SEEN, "data"), State(ids.LANG, "data"),
)
def update_station_views(_n: Any, station: str | None, item: str | None, _toast: Any,
                         seen: dict[str, Any] | None, lang: str | None) -> tuple[Any, ...]:
    """Redraw readiness, stock and ledger when the stations topic moved or a choice changed."""
    lang = lang or "zh"
    svc = services()
    version = svc.hub.state.versions["stations"]
    key = {"v": version, "station": station, "item": item}
    if seen == key and dash.ctx.triggered_id == ids.POLL:
        raise PreventUpdate
    stations = svc.hub.state.stations or svc.resources.res.stations()
    st = next((s for s in stations if s["code"] == station), None)
    if st is None:
        raise PreventUpdate
    items = [{"label": f"{name(i, lang)} ({i['sku']})", "value": i["sku"]} for i in st["items"]]
    ledger = svc.resources.res.ledger(st["code"], item or None, limit=200)
    teams = [{"label": name(tm, lang), "value": tm["code"]} for tm in st["teams"]]
    return (readiness_table(stations, lang), stock_table(st, lang), items, items,
            ledger_table(ledger, lang), key, teams_table(st, lang), teams)


@dash.callback(
    Output(ids.TOAST, "children"), Output(ids.TOAST, "className"), Output(ids.QTY, "value"),
    Output(ids.REASON, "value"),
    Input(ids.APPLY, "n_clicks"),
    State(ids.STATION, "value"), State(ids.ITEM, "value"), State(ids.KIND, "value"),
    State(ids.QTY, "value"), State(ids.REASON, "value"), State(ids.BATCH, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def record_movement(clicks: int, station: str | None, sku: str | None, kind: str,
                    qty: Any, reason: str | None, batch: str | None,
                    lang: str | None) -> tuple[Any, ...]:
    """Receive, issue or adjust one item; the reason is required except for receipts."""
    if not clicks:
        raise PreventUpdate
    lang = lang or "zh"
    officer = current().name  # the signed-in user, never the browser's word
    fail = "res-toast err"
    if not station or not sku:
        return t("res_item", lang) + "?", fail, no_update, no_update
    try:
        reason = (text_param(reason, "reason") or "").strip()
        batch = text_param(batch, "batch")
        # The Redis door's bound (messages.MAX_QUANTITY): a receipt of 1e18 was stored, and
        # inf or 1e308 gave a 500.
        n = parse_quantity(qty, signed=kind == "adjust")
    except BadInput as exc:
        return t("disp_err", lang) + error_text(exc, lang), fail, no_update, no_update
    if kind != "receive" and not reason:
        return t("res_err_reason", lang), fail, no_update, no_update
    desk = services().resources
    try:
        if kind == "receive":
            out = desk.receive(station, sku, n, officer, reason, batch or None)
        elif kind == "issue":
            out = desk.issue(station, sku, n, officer, reason)
        else:
            out = desk.adjust(station, sku, n, officer, reason)
    except (BadInput, NotFound) as exc:
        return t("disp_err", lang) + error_text(exc, lang), fail, no_update, no_update
    except (ResourceError, StockError) as exc:
        return t("disp_err", lang) + says(exc, lang), fail, no_update, no_update
    text = (f"✓ {t('res_kind_' + kind, lang)} {sku} → {out['quantity']} "
            f"({time.strftime('%H:%M:%S')})")
    return text, "res-toast ok", None, ""


@dash.callback(
    Output(ids.TOAST, "children", allow_duplicate=True),
    Output(ids.TOAST, "className", allow_duplicate=True),
    Input(ids.SET_STATUS, "n_clicks"),
    State(ids.TEAM, "value"), State(ids.STATUS, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def set_team_status(clicks: int, team: str | None, status: str | None,
                    lang: str | None) -> tuple[Any, ...]:
    """Record a team's duty status (e.g. 休整 after a long night); every screen follows."""
    if not clicks:
        raise PreventUpdate
    lang = lang or "zh"
    officer = current().name
    if not team or not status:
        return t("res_team_pick", lang) + "?", "res-toast err"
    try:
        services().resources.set_team_status(team, status, officer)
    except (ResourceError, NotFound) as exc:
        return t("disp_err", lang) + says(exc, lang), "res-toast err"
    return f"✓ {team} → {t('team_' + status, lang)}", "res-toast ok"


@dash.callback(
    Output(ids.TOAST, "children", allow_duplicate=True),
    Output(ids.TOAST, "className", allow_duplicate=True),
    Output(ids.SHELTER, "value"),
    Input(ids.SHELTER_GO, "n_clicks"),
    State(ids.STATION, "value"), State(ids.SHELTER, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def record_shelter(clicks: int, station: str | None, delta: Any,
                   lang: str | None) -> tuple[Any, ...]:
    """People arriving at or leaving the station's temporary shelter."""
    if not clicks or not station:
        raise PreventUpdate
    lang = lang or "zh"
    try:
        # The same bound as every other count (inf or 1e308 people gave a 500); the station
        # is the browser's word: text, or refused (a list reached the SQL, a 500).
        free = services().resources.shelter_move(text_param(station, "station") or "",
                                                 parse_quantity(delta, signed=True))
    except (BadInput, NotFound) as exc:
        return t("disp_err", lang) + error_text(exc, lang), "res-toast err", no_update
    except ResourceError as exc:
        return t("disp_err", lang) + says(exc, lang), "res-toast err", no_update
    return "✓ " + t("res_shelter_ok", lang).format(n=free), "res-toast ok", None


@dash.callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.CSV, "n_clicks"), Input(ids.XLSX, "n_clicks"),
    prevent_initial_call=True,
)
def export_stock(_csv: int, _xlsx: int) -> dict[str, Any]:
    """Every station's stock as CSV (with BOM, for Excel) or .xlsx."""
    rows = export_rows(services().resources.res.stations())
    stamp = utcnow().astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    if dash.ctx.triggered_id == ids.XLSX:
        return dcc.send_bytes(to_xlsx(rows), f"stock-{stamp}.xlsx")
    return {"content": "\ufeff" + to_csv(rows), "filename": f"stock-{stamp}.csv",
            "type": "text/csv"}


@dash.callback(
    Output(ids.TOAST, "children", allow_duplicate=True),
    Output(ids.TOAST, "className", allow_duplicate=True),
    Input(ids.UPLOAD, "contents"),
    State(ids.UPLOAD, "filename"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def import_stocktake(contents: str | None, filename: str | None,
                     lang: str | None) -> tuple[Any, ...]:
    """A counted stock file: each difference becomes an adjustment naming the file."""
    if not contents:
        raise PreventUpdate
    lang = lang or "zh"
    officer = current().name  # the signed-in user, never the browser's word
    try:
        # The file's name goes into every adjustment's reason: plain text only.
        filename = plain_text(filename, "filename") or "upload.csv"
    except BadInput as exc:
        return t("disp_err", lang) + error_text(exc, lang), "res-toast err"
    try:
        # A data URL from the upload box; anything else (a dict was a 500) is no file.
        data = base64.b64decode(str(text_param(contents, "file")).split(",", 1)[1])
        rows = parse_stocktake(filename, data)
    except BadInput as exc:
        return t("disp_err", lang) + error_text(exc, lang), "res-toast err"
    except (StocktakeError, IndexError, ValueError) as exc:
        return t("disp_err", lang) + says(exc, lang), "res-toast err"
    result = apply_stocktake(services().resources, rows, officer, filename, lang)
    text = t("res_import_done", lang).format(n=result["adjusted"], same=result["same"],
                                             bad=len(result["errors"]))
    if result["errors"]:
        text += "：" + "；".join(result["errors"][:5])
    return text, "res-toast " + ("err" if result["errors"] else "ok")

