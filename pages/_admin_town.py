"""/admin tab 镇数据导入 (issue 16): the town's own data uploaded as a zip, checked file by
file and feature by feature, previewed (the grids drawn over the ones in force, the
differences listed) and applied in one transaction, audited. The checks and the apply are
the command line's (`zhongnao import-town`): datasources/towns/files.check_folder and
datasources/sql/town_loader.import_town."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, dcc, html

from dashboard.geo.checks import Finding
from dashboard.geo.versions import GridChange
from dashboard.i18n.text import t
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from dashboard.town import GridCell
from dashboard.town_import import Checked, describe
from datasources.sql.town_loader import import_town, preview_import
from datasources.towns.files import check_folder
from datasources.towns.sources import unpacked
from pages._admin_parts import table
from pages._components import services, upload_bytes

MAX_ZIP = 30 * 1024 * 1024


class tids:  # noqa: N801 - a namespace of element ids
    UPLOAD = "adm-town-upload"
    DATE = "adm-town-date"
    PREVIEW = "adm-town-preview"
    APPLY = "adm-town-apply"
    MSG = "adm-town-msg"
    LANG = "adm-lang"  # the page's


# Dashed: the grids in force; solid: the grids imported.
NOW_STYLE = {"color": "#9fb3c8", "weight": 1.5, "dashArray": "6 5", "fillOpacity": 0}
NEW_STYLE = {"color": "#f0a020", "weight": 2, "fillColor": "#f0a020", "fillOpacity": 0.08}
CHANGED_STYLE = {"color": "#f0a020", "weight": 2.5, "fillColor": "#f0a020", "fillOpacity": 0.45}


def town_tab(lang: str) -> Any:
    """The upload, the date new grids take effect, the check's outcome and the apply."""
    return html.Div([
        html.Section([
            html.P(t("imp_upload_hint", lang), className="adm-help"),
            dcc.Upload(html.Div(t("imp_upload", lang)), id=tids.UPLOAD, accept=".zip",
                       max_size=MAX_ZIP, className="adm-upload"),
            html.Label([t("imp_valid_from", lang),
                        dcc.Input(id=tids.DATE, type="text", placeholder="YYYY-MM-DD",
                                  value=utcnow().astimezone(LOCAL_TZ).date().isoformat(),
                                  className="adm-input", debounce=True)]),
            html.Div(id=tids.MSG, className="adm-msg", role="status"),
            html.Div(id=tids.PREVIEW, className="adm-town-preview"),
            html.Button(t("imp_apply", lang), id=tids.APPLY, n_clicks=0, disabled=True,
                        className="adm-button"),
        ], className="adm-card"),
    ])


def _check(data: bytes) -> Checked | None:
    """The upload checked (None: no zip, or a hostile one)."""
    try:
        with unpacked(data) as folder:
            return check_folder(folder)
    except ValueError:
        return None


def _since(text: str | None) -> datetime | None:
    """The local date typed, as its midnight in UTC; None when it is no date (or no text:
    a forged list)."""
    if not isinstance(text, str):
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return as_utc(datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ))


def _findings(found: list[Finding], lang: str) -> Any:
    errs = [f for f in found if f.severity == "error"]
    warns = [f for f in found if f.severity != "error"]
    out: list[Any] = []
    if errs:
        out += [html.P(t("imp_errors", lang).format(n=len(errs)), className="adm-msg bad"),
                html.Ul([html.Li(describe(f, lang), className="adm-town-error",
                                 **{"data-kind": f.kind, "data-feature": f.feature})
                         for f in errs[:300]], className="adm-rerrors")]
    if warns:
        out += [html.P(t("imp_warnings", lang).format(n=len(warns)), className="adm-help"),
                html.Ul([html.Li(describe(f, lang), className="adm-town-warning",
                                 **{"data-kind": f.kind, "data-feature": f.feature})
                         for f in warns[:300]])]
    return out


def _fc(cells: list[GridCell]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": c.geometry,
         "properties": {"code": c.code, "tooltip": f"{c.code} {c.name}"}} for c in cells]}


def _bounds(cells: list[GridCell]) -> list[list[float]]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for p in c:
                walk(p)
    for cell in cells:
        walk(cell.geometry.get("coordinates") or [])
    if not xs:
        return [[30.5, 104.4], [30.6, 104.5]]
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def preview(checked: Checked, changes: list[GridChange], lang: str) -> Any:
    """What the import would do: the counts, the grids drawn over the ones in force, and
    each grid added, redrawn or retired."""
    town = checked.town
    assert town is not None
    now = list(services().grids.values())
    new = [g for g in town.grids if g.level == 3] or town.grids
    heads = [t(k, lang) for k in ("imp_col_grid", "imp_col_change", "imp_col_version",
                                  "imp_col_fields")]
    sep = "、" if lang != "en" else ", "
    rows = [[c.code, t(f"imp_change_{c.change}", lang), f"v{c.version}",
             sep.join(t(f"imp_what_{f}", lang) for f in c.fields)] for c in changes[:500]]
    touched = {c.code for c in changes if c.change != "retired"}
    return html.Div([
        html.P(t("imp_ok", lang).format(grids=len(town.grids), villages=len(town.villages),
                                        stations=len(town.stations), routes=len(town.routes)),
               className="adm-msg ok"),
        *_findings(checked.findings, lang),
        html.P([html.Span(t("imp_legend_now", lang), className="adm-town-now"), " · ",
                html.Span(t("imp_legend_new", lang), className="adm-town-new"), " · ",
                html.Span(t("imp_legend_changed", lang), className="adm-town-changed")],
               className="adm-help"),
        dl.MapContainer([
            dl.GeoJSON(data=_fc([g for g in now if g.level == 3]), style=NOW_STYLE,
                       interactive=False, id="adm-town-now"),
            dl.GeoJSON(data=_fc([g for g in new if g.code not in touched]), style=NEW_STYLE,
                       id="adm-town-new"),
            dl.GeoJSON(data=_fc([g for g in town.grids if g.code in touched]),
                       style=CHANGED_STYLE, id="adm-town-changed"),
        ], bounds=_bounds(new + [g for g in now if g.level == 1]), zoomSnap=0.1,
            attributionControl=False, className="zn-map adm-town-map",
            style={"height": "420px", "background": "#0b1626"}),
        html.H3(t("imp_changes", lang).format(n=len(changes)) if changes
                else t("imp_no_changes", lang)),
        table(heads, rows, [f"adm-town-change-{c.code}" for c in changes[:500]]),
    ])


def register_callbacks() -> None:
    """The tab's callbacks, registered by pages/admin.py each time Dash loads that page
    (a module imported once would give a second app of the same process none)."""

    @dash.callback(
        Output(tids.PREVIEW, "children"), Output(tids.APPLY, "disabled"),
        Output(tids.MSG, "children"), Output(tids.MSG, "className"),
        Input(tids.UPLOAD, "contents"), State(tids.DATE, "value"), State(tids.LANG, "data"),
        prevent_initial_call=True,
    )
    def check_town_upload(contents: str | None, day: str | None, lang: str | None
                          ) -> tuple[Any, ...]:
        """Check the uploaded zip: every finding by feature (nothing can be applied while one
        is an error), else the preview over the grids in force."""
        lang = lang or "zh"
        data = upload_bytes(contents)
        if data is None:
            return None, True, "", "adm-msg"
        checked = _check(data)
        if checked is None:
            return None, True, t("imp_bad_zip", lang), "adm-msg bad"
        if not checked.ok:
            return _findings(checked.findings, lang), True, "", "adm-msg"
        since = _since(day) or utcnow()
        store = services().store
        assert store is not None and checked.town is not None
        with store.session() as s:
            changes = preview_import(s, checked.town, since)
        return preview(checked, changes, lang), False, "", "adm-msg"


    @dash.callback(
        Output(tids.MSG, "children", allow_duplicate=True),
        Output(tids.MSG, "className", allow_duplicate=True),
        Output(tids.APPLY, "disabled", allow_duplicate=True),
        Input(tids.APPLY, "n_clicks"), State(tids.UPLOAD, "contents"),
        State(tids.UPLOAD, "filename"), State(tids.DATE, "value"), State(tids.LANG, "data"),
        prevent_initial_call=True,
    )
    def apply_town_upload(clicks: int | None, contents: str | None, filename: str | None,
                          day: str | None, lang: str | None) -> tuple[Any, ...]:
        """Apply the upload, checked again here: all of it in one transaction, or nothing."""
        lang = lang or "zh"
        if not clicks:
            return dash.no_update, dash.no_update, dash.no_update
        since = _since(day)
        if since is None:
            return t("imp_bad_date", lang), "adm-msg bad", False
        data = upload_bytes(contents)
        checked = _check(data) if data else None
        if checked is None or not checked.ok or checked.town is None:
            return t("imp_not_checked", lang), "adm-msg bad", True
        svc = services()
        assert svc.store is not None and svc.audit is not None
        with svc.store.session() as s:
            counts = import_town(s, checked.town, since)
        svc.audit.record("town.import", (filename or str(checked.town.meta.get("code", "")))[:80],
                         json.dumps({**counts, "valid_from": since.isoformat()}))
        return (t("imp_applied", lang).format(grids=len(checked.town.grids),
                                              date=since.astimezone(LOCAL_TZ).date()),
                "adm-msg ok", True)
