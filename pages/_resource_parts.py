"""The duty console's resource section (应急资源调派): pick a station, its teams and supplies
for the selected incident, dispatch, then record departure and return.

Its callbacks live here (not in pages/dispatch.py) so the console needs only small hooks:
`register_callbacks()`, the section in its layout, `rids.TICK` pushed by its live stream when
the hub's "stations" topic moves, and `route` for the recommendations. Every step goes
through the resource desk, which commits, then announces the station to every screen.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import name, t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.inputs import parse_id
from dashboard.resources.errors import StockError, says
from dashboard.resources.stock import available, parse_quantity
from dashboard.roles import current
from datasources.sql.resources import ResourceError
from pages._components import services

CONSOLE_CTX = "disp-ctx"  # the console's selected incident (pages/_dispatch_parts.ids.CTX)
CONSOLE_LANG = "disp-lang"
CONSOLE_TICK = "disp-tick"  # re-reads the incident, so its history shows the new step


class rids:  # noqa: N801 - a namespace of constants
    """Component ids of the resource section."""

    SECTION = "res-section"
    STATION = "res-station"
    RANK = "res-rank"
    TEAMS = "res-teams"
    SUPPLIES = "res-supplies"
    GO = "res-go"
    LIST = "res-list"
    TOAST = "res-toast"
    TICK = "res-tick"  # pushed by the console's stream when stations change
    REFRESH = "res-refresh"  # set by this section's own steps
    OPENED_FOR = "res-opened-for"  # the incident the section was last opened/folded for
    LIST_SIG = "res-list-sig"  # what the dispatch cards show, to skip identical redraws
    QTY = "res-qty"  # pattern: {"type": QTY, "sku": sku}
    STEP = "res-step"  # pattern: {"type": STEP, "dispatch": id, "step": name}
    USED = "res-used"  # pattern: {"type": USED, "dispatch": id, "sku": sku}


def resource_section(lang: str) -> Any:
    """The section's frame; its contents follow the selected incident."""
    # A <details> box: open by itself for incident types with a kit (floods, fires, ...),
    # folded for the rest so the history below stays in view.
    return html.Details([
        html.Summary(t("res_section", lang), className="res-summary"),
        dcc.Store(id=rids.TICK, data=0),
        dcc.Store(id=rids.REFRESH, data=0),
        dcc.Store(id=rids.OPENED_FOR, data=None),
        dcc.Store(id=rids.LIST_SIG, data=None),
        html.Div([
            html.Label(t("res_station", lang), htmlFor=rids.STATION),
            dcc.Dropdown(id=rids.STATION, options=[], value=None, clearable=False,
                         searchable=False, className="disp-dd res-station-dd"),
        ], className="res-row"),
        html.Div("", id=rids.RANK, className="res-hint"),
        html.Div([html.Span(t("res_teams", lang)),
                  dcc.Checklist(id=rids.TEAMS, options=[], value=[], inline=True,
                                className="res-teams")], className="res-row"),
        html.Div([html.Span(t("res_supplies", lang)),
                  html.Span(t("res_kit_hint", lang), className="res-hint")],
                 className="res-row"),
        html.Div(id=rids.SUPPLIES, className="res-row"),
        html.Div([html.Button(t("res_dispatch_btn", lang), id=rids.GO, n_clicks=0,
                              className="disp-btn primary")], className="res-row"),
        html.Div("", id=rids.TOAST, className="disp-toast", role="status"),
        html.Div(id=rids.LIST, className="res-list"),
    ], id=rids.SECTION, className="res-section", hidden=True, open=False)


def _plan_label(p: dict[str, Any], lang: str) -> str:
    text = t("res_rank", lang).format(min=f"{p['eta_min']:.0f}",
                                      share=round(p["kit_share"] * 100),
                                      teams=len(p["free_teams"]))
    return f"{name(p, lang)} · {text}"


def dispatch_cards(rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """This incident's resource dispatches with the buttons of their next steps."""
    if not rows:
        return [html.Div(t("res_none", lang), className="res-hint")]
    stations = {st["code"]: st for st in services().resources.res.stations()}
    cards = []
    for d in rows:
        st = stations.get(d["station"], {"name": d["station"], "teams": []})
        teams = {tm["code"]: tm for tm in st["teams"]}
        who = "、".join(
            f"{name(teams[c], lang)}({t('team_' + teams[c]['status'], lang)})"
            if c in teams else c for c in d["teams"])
        goods = "、".join(f"{name(ln, lang)}{ln['quantity']}{ln['unit']}" for ln in d["lines"])
        step = {"type": rids.STEP, "dispatch": d["id"]}
        buttons: list[Any] = []
        if d["state"] == "reserved":
            buttons = [html.Button(t("res_depart_btn", lang), id={**step, "step": "depart"},
                                   n_clicks=0, className="disp-btn res-depart"),
                       html.Button(t("res_cancel_btn", lang), id={**step, "step": "return"},
                                   n_clicks=0, className="disp-btn res-cancel")]
        elif d["state"] == "departed":
            used = [html.Label([f"{name(ln, lang)}{t('res_consumed', lang)}",
                                dcc.Input(id={"type": rids.USED, "dispatch": d["id"],
                                              "sku": ln["sku"]}, type="number", min=0,
                                          max=ln["quantity"], step=1, value=0,
                                          className="res-used")])
                    for ln in d["lines"]]
            buttons = [*used,
                       html.Button(t("res_on_scene_btn", lang),
                                   id={**step, "step": "on_scene"}, n_clicks=0,
                                   className="disp-btn res-on-scene"),
                       html.Button(t("res_return_btn", lang), id={**step, "step": "return"},
                                   n_clicks=0, className="disp-btn res-return")]
        cards.append(html.Div([
            html.Div([html.Span(t(f"res_state_{d['state']}", lang), className="res-state"),
                      html.Span(f"{name(st, lang)} · {who}" if who else name(st, lang))]),
            html.Div(goods, className="res-goods") if goods else None,
            html.Div(buttons, className="res-row") if buttons else None,
        ], className=f"res-dispatch {d['state']}", id=f"res-d-{d['id']}"))
    return cards


def fold_resources(seen: dict[str, Any] | None, opened_for: Any) -> tuple[bool, Any]:
    """On a newly selected incident: open for a type with a kit, fold otherwise (the
    officer's own opening or folding is kept while the incident stays selected)."""
    incident_id = seen.get("id") if isinstance(seen, dict) else None
    if incident_id == opened_for:
        raise PreventUpdate
    if not incident_id:
        return False, None
    try:
        inc = services().store.incident(parse_id(incident_id, "incident"))
    except (BadInput, NotFound):  # no id of ours (it came back from the browser)
        return False, None
    return bool(services().resources.kits.get(inc["category"])), incident_id


def show_resources(seen: dict[str, Any] | None, _tick: Any, _refresh: Any,
                   station: str | None, shown: Any, lang: str | None) -> tuple[Any, ...]:
    """The selected incident's ranked stations and its resource dispatches."""
    lang = lang or "zh"
    if not isinstance(seen, dict) or not seen.get("id"):
        return True, [], None, [], None
    svc = services()
    try:
        inc = svc.store.incident(parse_id(seen.get("id"), "incident"))
    except (BadInput, NotFound):
        return True, [], None, [], None
    plan = svc.resources.plan(inc)
    options = [{"label": _plan_label(p, lang), "value": p["station"]} for p in plan]
    codes = [p["station"] for p in plan]
    keep = station if station in codes else (codes[0] if codes else None)
    rows = svc.resources.res.dispatches(inc["id"])
    status = {tm["code"]: tm["status"] for st in svc.resources.res.stations()
              for tm in st["teams"]}
    sig = [lang, inc["id"], *[[d["id"], d["state"], *[status.get(c) for c in d["teams"]]]
                              for d in rows]]
    # Setting the value, even to the same station, would redraw the supply boxes, and
    # redrawing unchanged cards would empty the 消耗 boxes: either would wipe what the
    # officer is typing each time any station's stock moves.
    return (False, options, no_update if keep == station else keep,
            no_update if sig == shown else dispatch_cards(rows, lang), sig)


def show_station(station: str | None, _refresh: Any, seen: dict[str, Any] | None,
                 lang: str | None) -> tuple[Any, ...]:
    """The chosen station's standby teams and its supplies, the incident's kit prefilled."""
    lang = lang or "zh"
    if not station or not isinstance(station, str) or not isinstance(seen, dict):
        return [], [], [], ""  # a list or a dict here reached the SQL (a 500)
    svc = services()
    try:
        inc = svc.store.incident(parse_id(seen.get("id"), "incident"))
        st = svc.resources.res.station(station)
    except (BadInput, NotFound):
        return [], [], [], ""
    kit = svc.resources.kits.get(inc["category"], {})
    teams = [{"label": f"{name(tm, lang)} ({tm['on_duty']}/{tm['members']})",
              "value": tm["code"]}
             for tm in st["teams"] if tm["status"] == "standby"]
    items = sorted(st["items"], key=lambda i: (i["sku"] not in kit, i["sku"]))
    supplies = [html.Label([
        f"{name(i, lang)} ({available(i)}{i['unit']})",
        dcc.Input(id={"type": rids.QTY, "sku": i["sku"]}, type="number", min=0, step=1,
                  max=available(i), debounce=False,
                  value=min(kit[i["sku"]], max(available(i), 0)) if i["sku"] in kit else None),
    ], className="res-supply") for i in items]
    plan = next((p for p in svc.resources.plan(inc) if p["station"] == station), None)
    short = [f"{name(ln, lang)} {ln['have']}/{ln['want']}{ln['unit']}"
             for ln in (plan or {}).get("kit", []) if ln["have"] < ln["want"]]
    return teams, [], supplies, (t("res_short", lang) + "、".join(short)) if short else ""


def _shaped_ids(ids: Any, values: Any, *keys: str) -> bool:
    """True when a pattern's ids came back as this page drew them: one dict per value, with
    text or a number at each key (a list of anything else was a 500)."""
    return (isinstance(ids, list) and isinstance(values, list) and len(ids) == len(values)
            and all(isinstance(i, dict) and all(isinstance(i.get(k), str | int) for k in keys)
                    for i in ids))


def _counts(values: list[Any]) -> list[int]:
    """Quantity boxes as counts: empty is 0, the rest 0..MAX_QUANTITY (BadInput else)."""
    return [0 if v is None or v == "" else parse_quantity(v, zero=True) for v in values]


def dispatch_resources(clicks: int, station: str | None, teams: list[str] | None,
                       qty: list[Any], qty_ids: list[dict[str, str]],
                       seen: dict[str, Any] | None,
                       lang: str | None) -> tuple[Any, ...]:
    """Reserve the picked teams and supplies for the incident at once."""
    if not clicks or not seen or not station:
        raise PreventUpdate
    seen = seen if isinstance(seen, dict) else {}
    lang = lang or "zh"
    officer = current().name  # the signed-in user, never the browser's word
    # The teams and the boxes came back from the browser: as drawn, or no pick.
    if not _shaped_ids(qty_ids, qty, "sku") or not (
            teams is None or isinstance(teams, list) and all(isinstance(c, str) for c in teams)):
        return (t("disp_err", lang) + t("res_err_pick", lang), "disp-toast err", no_update,
                no_update)
    try:
        incident_id = parse_id(seen.get("id"), "incident")
        amounts = _counts(qty)
    except BadInput as exc:  # inf sandbags gave a 500, and so did an id of "abc"
        return (t("disp_err", lang) + error_text(exc, lang), "disp-toast err", no_update,
                no_update)
    supplies = {i["sku"]: n for i, n in zip(qty_ids, amounts, strict=True) if n > 0}
    if not teams and not supplies:
        return (t("disp_err", lang) + t("res_err_pick", lang), "disp-toast err", no_update,
                no_update)
    try:
        services().resources.dispatch(incident_id, station, list(teams or []), supplies,
                                      officer)
    except (BadInput, NotFound) as exc:
        return (t("disp_err", lang) + error_text(exc, lang), "disp-toast err", time.time(),
                no_update)
    except (ResourceError, StockError) as exc:
        return t("disp_err", lang) + says(exc, lang), "disp-toast err", time.time(), no_update
    row = services().resources.res.station(station)
    names = {x["code"]: name(x, lang) for x in row["teams"]}
    units = {x["sku"]: (name(x, lang), x["unit"]) for x in row["items"]}
    what = "、".join([*(names.get(c, c) for c in teams or []),
                     *(f"{units[k][0]}{v}{units[k][1]}" for k, v in supplies.items())])
    now = time.time()
    return "✓ " + t("res_ok_dispatch", lang).format(what=what), "disp-toast ok", now, now


def resource_step(_clicks: list[Any], used: list[Any], used_ids: list[dict[str, Any]],
                  lang: str | None) -> tuple[Any, ...]:
    """Departed, on scene, returned (with what was consumed) or cancelled."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or \
            not ctx.triggered[0].get("value"):
        raise PreventUpdate
    lang = lang or "zh"
    officer = current().name  # the signed-in user, never the browser's word
    desk = services().resources
    try:
        dispatch_id, step = parse_id(trigger.get("dispatch"), "dispatch"), trigger.get("step")
        if step == "depart":
            desk.depart(dispatch_id, officer)
            label = t("res_depart_btn", lang)
        elif step == "on_scene":
            row = next(d for d in desk.res.dispatches() if d["id"] == dispatch_id)
            for team in row["teams"]:
                desk.set_team_status(team, "on_scene", officer)
            label = t("res_on_scene_btn", lang)
        else:
            if not _shaped_ids(used_ids, used, "dispatch", "sku"):
                raise BadInput("invalid")  # not the boxes this page drew
            amounts = _counts(used)
            consumed = {i["sku"]: n for i, n in zip(used_ids, amounts, strict=True)
                        if i["dispatch"] == dispatch_id and n > 0}
            desk.give_back(dispatch_id, officer, consumed)
            label = t("res_return_btn", lang)
    except (BadInput, NotFound) as exc:
        return (t("disp_err", lang) + error_text(exc, lang), "disp-toast err", time.time(),
                no_update)
    except (ResourceError, StockError) as exc:
        return t("disp_err", lang) + says(exc, lang), "disp-toast err", time.time(), no_update
    now = time.time()
    return "✓ " + t("res_ok_step", lang).format(step=label), "disp-toast ok", now, now


def register_callbacks() -> None:
    """Register this section's callbacks with the app being built.

    pages/dispatch.py calls it at import: Dash executes page modules once per app, but this
    helper module is imported once per process, so decorators here would reach only the
    first app (a second app in the same process, as in the tests, had none)."""
    dash.callback(
        Output(rids.SECTION, "open"), Output(rids.OPENED_FOR, "data"),
        Input(CONSOLE_CTX, "data"), State(rids.OPENED_FOR, "data"),
    )(fold_resources)
    dash.callback(
        Output(rids.SECTION, "hidden"), Output(rids.STATION, "options"),
        Output(rids.STATION, "value"), Output(rids.LIST, "children"),
        Output(rids.LIST_SIG, "data"),
        Input(CONSOLE_CTX, "data"), Input(rids.TICK, "data"), Input(rids.REFRESH, "data"),
        State(rids.STATION, "value"), State(rids.LIST_SIG, "data"), State(CONSOLE_LANG, "data"),
    )(show_resources)
    dash.callback(
        Output(rids.TEAMS, "options"), Output(rids.TEAMS, "value"),
        Output(rids.SUPPLIES, "children"), Output(rids.RANK, "children"),
        Input(rids.STATION, "value"), Input(rids.REFRESH, "data"),
        State(CONSOLE_CTX, "data"), State(CONSOLE_LANG, "data"),
    )(show_station)
    dash.callback(
        Output(rids.TOAST, "children"), Output(rids.TOAST, "className"),
        Output(rids.REFRESH, "data"), Output(CONSOLE_TICK, "data", allow_duplicate=True),
        Input(rids.GO, "n_clicks"),
        State(rids.STATION, "value"), State(rids.TEAMS, "value"),
        State({"type": rids.QTY, "sku": ALL}, "value"),
        State({"type": rids.QTY, "sku": ALL}, "id"),
        State(CONSOLE_CTX, "data"), State(CONSOLE_LANG, "data"),
        prevent_initial_call=True,
    )(dispatch_resources)
    dash.callback(
        Output(rids.TOAST, "children", allow_duplicate=True),
        Output(rids.TOAST, "className", allow_duplicate=True),
        Output(rids.REFRESH, "data", allow_duplicate=True),
        Output(CONSOLE_TICK, "data", allow_duplicate=True),
        Input({"type": rids.STEP, "dispatch": ALL, "step": ALL}, "n_clicks"),
        State({"type": rids.USED, "dispatch": ALL, "sku": ALL}, "value"),
        State({"type": rids.USED, "dispatch": ALL, "sku": ALL}, "id"),
        State(CONSOLE_LANG, "data"),
        prevent_initial_call=True,
    )(resource_step)
