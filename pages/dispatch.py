"""The duty console (值班调度台): queue, details, nearest resources, one-click dispatch.

The queue is live: a no-input persistent callback waits on the hub and pushes plain rows
into a Store that assets/zn_dispatch.js draws (textContent only). The selected incident's
details are Dash components (small, and they change only when the incident does); their
builders, the component ids and the constants are in pages/_dispatch_parts.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import dash
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    ctx,
    dcc,
    html,
    no_update,
    set_props,
)
from dash.exceptions import PreventUpdate, WebsocketDisconnected

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import BadInput, LoopError, NotFound
from dashboard.incidents.lifecycle import ACTIONS, is_overdue
from dashboard.incidents.rules import OrderFacts, may_act, may_see, offered
from dashboard.incidents.tiers import receivers
from dashboard.inputs import MAX_ID, parse_id, text_param, whole_number
from dashboard.resources.recommend import recommend
from dashboard.roles import CALLUP, CONSOLE_ACT, HANDLER, UNIT_ROLES, current
from dashboard.screens import views
from dashboard.settings import split_keys
from dashboard.timeutil import utcnow
from datasources.flows.desk import desk_step, dispatch_to
from datasources.threads import for_screens
from pages._callup_parts import callup_panel, register_callup_callbacks
from pages._cap_parts import cap_panel, open_button, register_cap_callbacks
from pages._cast import cast_button, register_cast_callback
from pages._components import CLOCK, page_lang, page_title, services, site_header, town_map
from pages._dispatch_parts import (
    PATH,
    action_buttons,
    action_label,
    detail_card,
    filters,
    history_table,
    ids,
    queue_payload,
    rec_cards,
    toast,
    unit_cards,
)
from pages._resource_parts import register_callbacks, resource_section, rids
from pages._smart_parts import (
    callers_section,
    duplicate_banner,
    new_report_form,
    offer_suggestion,
    register_smart_callbacks,
    suggestion_card,
)

dash.register_page(__name__, path=PATH, title=page_title("nav_dispatch"))
register_callbacks()  # the resource section's (issue 5), once per app
register_cast_callback()
register_cap_callbacks()  # 预警发布 (issue 15)
register_smart_callbacks()  # 智能派单 (issue 18): the hotline form, 回访 per caller
register_callup_callbacks()  # 应急抽调 (issue 16): call up off-duty workers, who answered

log = logging.getLogger(__name__)
WAIT_S = 2.0
MIN_PUSH_GAP_S = 0.25
ASK_S = 3.0  # the page answers a question in milliseconds; silence means a lost connection


# ---------------------------------------------------------------------------- layout
def layout(lang: str | None = None, incident: str | None = None, **_query: Any) -> Any:
    """The console: header, queue (left), details and history (centre), map and
    recommendations (right). `?incident=ID` opens that incident (links from elsewhere)."""
    svc = services()
    me = current()
    # A unit's handler and a village officer work the same console, narrowed by the
    # server to their unit or village (rules.scope_of); the town's resources are not theirs.
    unit_role = me.role in UNIT_ROLES
    issues = me.role in CONSOLE_ACT  # 预警发布: the officers' and admins' (issue 15)
    try:
        selected: int | None = parse_id(incident, "incident") if incident else None
    except BadInput:  # ?incident=abc or a 20-digit one opens nothing
        selected = None
    lang = lang if lang in LANGS else svc.settings.lang
    other = "en" if lang == "zh" else "zh"
    meta = svc.town_meta
    town_name = meta.get("name_en") if lang == "en" else meta.get("name")
    header = html.Header([
        html.Div([html.Span(town_name or "", className="disp-town"),
                  html.H1(t("disp_title", lang), className="disp-h1")], className="disp-brand"),
        html.Div([
            html.Label(t("disp_officer", lang), htmlFor=ids.OFFICER_INPUT),
            # The signed-in user acts; the box only shows who that is.
            dcc.Input(id=ids.OFFICER_INPUT, type="text", debounce=0.4, maxLength=32,
                      placeholder=t("disp_officer_ph", lang), autoComplete="off",
                      className="disp-officer-input", value=me.name, readOnly=True),
            html.Span(t("disp_officer_hint", lang), id=ids.OFFICER_HINT,
                      className="disp-officer-hint"),
        ], className="disp-officer"),
        html.Div([
            html.Span(t("status_connecting", lang), id=ids.STATUS, className="status warn"),
            html.Span("", id=ids.GAP, className="gap", role="status"),
            html.Span("", id=CLOCK, className="clock"),
            dcc.Link(t("disp_back_wall", lang), href=f"/?lang={lang}", refresh=True,
                     className="disp-link") if not unit_role else None,
            dcc.Link(t("res_link", lang), href=f"/resources?lang={lang}", refresh=True,
                     className="disp-link") if not unit_role else None,
            open_button(lang) if issues else None,
            dcc.Link(t("lang_switch", lang), href=f"{PATH}?lang={other}", refresh=True,
                     className="lang-switch"),
        ], className="disp-header-right"),
    ], className="disp-header")

    queue = html.Section([
        html.Div([html.H2(t("disp_queue", lang)), html.Span("", id=ids.COUNT,
                                                             className="disp-count")],
                 className="disp-panel-head"),
        # The hotline operator's new report, with the category and unit suggested (issue 18).
        new_report_form(lang) if not unit_role else None,
        html.Div(filters(lang), className="disp-filters"),
        html.Div(id=ids.LIST, className="disp-list", tabIndex="0"),
        html.Div(t("disp_keys", lang), className="disp-keys"),
    ], className="disp-panel disp-queue-panel")

    centre = html.Section([
        html.Div(html.Div(t("disp_pick", lang), className="disp-empty"), id=ids.DETAIL,
                 className="disp-detail"),
        html.Div([
            html.Div(id=ids.ACTIONS, className="disp-action-buttons"),
            html.Div([
                dcc.Input(id=ids.NOTE, type="text", placeholder=t("disp_note_ph", lang),
                          maxLength=200, className="disp-note", debounce=False),
                html.Div([html.Span(t("disp_satisfaction", lang)),
                          dcc.RadioItems(id=ids.SATISFACTION, options=[
                              {"label": str(n), "value": n} for n in range(1, 6)],
                              value=None, inline=True, className="disp-sat")],
                         id=ids.SAT_WRAP, className="disp-sat-wrap", hidden=True),
            ], className="disp-action-inputs"),
            html.Div("", id=ids.TOAST, className="disp-toast", role="status"),
            cast_button(lang) if not unit_role else None,  # the hall's wall is the centre's
        ], id=ids.ACTION_BAR, className="disp-action-bar"),
        # issue 5: teams and supplies to this incident (the town centre's)
        resource_section(lang) if not unit_role else None,
        html.Div([html.H2(t("disp_history", lang)),
                  html.Div(id=ids.HISTORY, className="disp-history")],
                 className="disp-history-wrap"),
    ], className="disp-panel disp-centre")

    town = town_map(ids.MAP, meta, svc.settings.tile_url)
    # Without a `center` prop dash-leaflet's viewport tracking throws on every map move
    # ("reading 'equals'"); this map's view is set by the focus, nothing needs tracking.
    town.trackViewport = False
    right = html.Section([
        html.Div(town, className="disp-map-box"),
        html.Div([html.H2(t("disp_recs", lang))], className="disp-panel-head"),
        html.Div(id=ids.RECS, className="disp-recs"),
        callup_panel(lang) if me.role in CALLUP else None,
    ], className="disp-panel disp-right")

    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.OFFICER, data=me.name),
        dcc.Store(id=ids.FILTERS, data=None),
        dcc.Store(id=ids.QUEUE, data=None),
        dcc.Store(id=ids.QUEUE_ACK, data=0),
        dcc.Store(id=ids.SELECTED, data=selected),
        dcc.Store(id=ids.TICK, data=0),
        dcc.Store(id=ids.CTX, data=None),
        dcc.Store(id=ids.FOCUS, data=None),
        dcc.Store(id=ids.FOCUS_ACK, data=0),
        dcc.Store(id=ids.RESTART, data=0),
        dcc.Store(id=ids.PANELS, data=None),
        dcc.Store(id=ids.PANELS_ACK, data=0),
        site_header(PATH, lang),
        header,
        # The wall's KPI strip, drawn by the same clientside renderer (assets/zn_panels.js).
        html.Div(id=ids.KPIS, className="kpis disp-kpis"),
        html.Div([queue, centre, right], className="disp-main"),
        cap_panel(lang) if issues else None,
    ], className="disp-root", id=ids.ROOT, **{"data-lang": lang})


dash.clientside_callback(ClientsideFunction("zn", "renderPanels"),
                         Output(ids.PANELS_ACK, "data"), Input(ids.PANELS, "data"))
dash.clientside_callback(ClientsideFunction("znDisp", "collectFilters"),
                         Output(ids.FILTERS, "data"),
                         Input(ids.F_STATE, "value"), Input(ids.F_CATEGORY, "value"),
                         Input(ids.F_GRID, "value"), Input(ids.F_SOURCE, "value"),
                         Input(ids.F_OVERDUE, "value"))
dash.clientside_callback(ClientsideFunction("znDisp", "renderQueue"),
                         Output(ids.QUEUE_ACK, "data"),
                         Input(ids.QUEUE, "data"), Input(ids.SORT, "value"),
                         Input(ids.SELECTED, "data"), State(ids.FILTERS, "data"))
dash.clientside_callback(ClientsideFunction("znDisp", "syncOfficer"),
                         Output(ids.OFFICER_INPUT, "value"), Output(ids.OFFICER, "data"),
                         Output(ids.OFFICER_HINT, "hidden"),
                         Input(ids.OFFICER_INPUT, "value"), Input(ids.OFFICER, "data"))
dash.clientside_callback(ClientsideFunction("znDisp", "focusMap"),
                         Output(ids.FOCUS_ACK, "data"), Input(ids.FOCUS, "data"))


@dash.callback(Output(ids.QUEUE, "data"), Input(ids.FILTERS, "data"), State(ids.LANG, "data"),
               prevent_initial_call=True)
def filter_queue(filters: dict[str, Any] | None, lang: str | None) -> dict[str, Any]:
    """A filter changed: answer at once (the live stream keeps it current afterwards)."""
    return queue_payload(filters, lang or "zh")


# ---------------------------------------------------------------------------- live stream
# No inputs on purpose (see pages/home.py): re-run on every websocket (re)connect.
@dash.callback(persistent=True)
async def stream_queue() -> None:
    """Keep this console's queue and the selected incident current until it disconnects."""
    await _serve()


# The same stream, started again when the running one asks for it (see _stream).
@dash.callback(Input(ids.RESTART, "data"), persistent=True, prevent_initial_call=True)
async def restart_stream(_asked: Any) -> None:
    """Serve the queue again over the connection the page now uses."""
    await _serve()


async def _serve() -> None:
    ws = ctx.websocket
    if ws is None:
        return
    try:
        lang = await page_lang(ws, PATH, ids.LANG)
        if lang is None:
            return
        await _stream(ws, lang)
    except WebsocketDisconnected:
        return
    except Exception:
        log.exception("duty console stream failed")
        raise


async def _stream(ws: Any, lang: str) -> None:
    hub = services().hub
    me = current()  # the stream's principal: its queue is narrowed to what it may see
    seen = -1
    sent_incidents = None
    sent_status = None
    sent_kpis = None
    sent_stations = None
    sent_rota: tuple[int, int] | None = None
    while not ws.is_shutdown:
        seen = await hub.wait_change(seen, timeout=WAIT_S)
        state = hub.state
        rota_key = (state.versions["rota"], state.versions["callup"])
        if rota_key != sent_rota:  # 换班 or leave on /admin, a call-up answered
            if sent_rota is not None:
                set_props(ids.TICK, {"data": time.time()})
            sent_rota = rota_key
        if state.versions["stations"] != sent_stations:  # the resource section follows
            if sent_stations is not None:
                set_props(rids.TICK, {"data": time.time()})
            sent_stations = state.versions["stations"]
        kpi_key = (state.versions["kpis"], state.versions["incidents"], state.versions["status"])
        if kpi_key != sent_kpis:
            set_props(ids.PANELS, {"data": {
                "kpis": views.kpi_cards(state, lang, utcnow()), "seq": state.seq,
                "target": {"kpis": ids.KPIS}}})
            sent_kpis = kpi_key
        if state.versions["status"] != sent_status:
            status = views.status_line(state, lang)
            set_props(ids.STATUS, {"children": status["text"],
                                   "className": f"status {status['tone']}"})
            # The same badge as the wall's (views.gap_line): an officer dispatching during
            # a failover sees that the list may lack the last moments, and when it is whole.
            gap = views.gap_line(state, lang)
            set_props(ids.GAP, {"children": gap["text"], "className": gap["tone"]})
            sent_status = state.versions["status"]
        version = state.versions["incidents"]
        if version == sent_incidents:
            continue
        sent_incidents = version
        try:
            filters = await ws.get_prop(ids.FILTERS, "data", timeout=ASK_S)
            selected = await ws.get_prop(ids.CTX, "data", timeout=ASK_S)
        except TimeoutError:
            # The page's answers no longer come back on this connection: Dash's shared
            # worker may swap its websocket during a page load, leaving the old one
            # send-only. Ask the page to start this stream again, over the one it uses now.
            log.info("duty console stream got no answer; restarting it")
            set_props(ids.RESTART, {"data": time.time()})
            return
        payload = await for_screens(queue_payload, filters, lang, who=me)
        set_props(ids.QUEUE, {"data": payload})
        if selected and selected.get("id") in state.incidents:
            latest = state.incidents[selected["id"]]
            if latest.version != selected.get("version"):
                set_props(ids.TICK, {"data": time.time()})
        await asyncio.sleep(MIN_PUSH_GAP_S)


# ---------------------------------------------------------------------------- details
@dash.callback(
    Output(ids.DETAIL, "children"), Output(ids.ACTIONS, "children"),
    Output(ids.SAT_WRAP, "hidden"), Output(ids.HISTORY, "children"),
    Output(ids.RECS, "children"), Output(ids.CTX, "data"), Output(ids.FOCUS, "data"),
    Output(ids.ACTION_BAR, "hidden"),
    Input(ids.SELECTED, "data"), Input(ids.TICK, "data"), Input(ids.OFFICER, "data"),
    State(ids.LANG, "data"),
)
def show_incident(incident_id: int | None, _tick: Any, officer: str | None,
                  lang: str | None) -> tuple[Any, ...]:
    """The selected incident: fields, reports, actions, history, position and
    recommendations."""
    lang = lang or "zh"
    if not incident_id:
        return (html.Div(t("disp_pick", lang), className="disp-empty"), [], True, [], [],
                None, None, True)
    store = services().store
    me = current()
    try:
        inc = store.incident(parse_id(incident_id, "incident"))
        if not may_see(me, inc):  # another village's or unit's: as if there were none
            raise NotFound("no_incident", id=incident_id)
    except (BadInput, NotFound):  # no id ("abc", 20 digits, a list) is none such, too
        return (html.Div(t("disp_err_gone", lang), className="disp-empty"), [], True, [], [],
                None, None, True)
    history = store.history(inc["id"])
    recs = recommend(inc, store.grid_workers(inc["grid"]), store.stations(),
                     route=services().resources.route, kits=services().resources.kits,
                     **(services().rota.live(inc["grid"]) if services().rota else {}))
    if me.role in UNIT_ROLES:  # within the village: its grid's workers, no town teams
        recs = [c for c in recs if c.kind == "grid_worker"]
    allowed = frozenset(a for a in ACTIONS if may_act(me, a, inc))
    can_act: bool | frozenset[str] = allowed == frozenset(ACTIONS) or allowed
    # Hand-over (issue 14): the units above the order's level that take its category.
    ups = receivers(store.units(), level=inc["level"], category=inc["category"],
                    village=inc["village"]) if "escalate" in allowed else []
    state = inc["state"]
    context = {"id": inc["id"], "ref": inc["ref"], "version": inc["version"], "state": state,
               "seen_event": history[-1]["id"] if history else 0,
               "recs": [{"id": c.assignee_id, "name": c.assignee} for c in recs]
               + [{"id": f"unit:{u.id}", "name": u.name} for u in ups]}
    found, sg_index = offer_suggestion(inc, context, me.role not in UNIT_ROLES,
                                       "dispatch" in allowed)
    focus = {"id": inc["id"], "lon": inc["lon"], "lat": inc["lat"], "state": state,
             "overdue": is_overdue(state, inc["deadline_at"], utcnow()),
             "tip": f"{inc['ref']} {inc['title']}"}
    detail = detail_card(inc, store.reports(inc["id"]), lang, can_act is True, history,
                         tuple(split_keys(services().settings.image_origins)),
                         first_view=ctx.triggered_id == ids.SELECTED)
    detail[1:1] = [duplicate_banner(inc, lang)]
    detail.append(callers_section(store.callers(inc["id"]), lang,
                                  "close" in allowed and state in ACTIONS["close"].sources))
    return (detail,
            action_buttons(offered(OrderFacts.of(inc), services().settings.verify_before_close),
                           lang, can_act, ack=me.role == HANDLER),
            state not in ACTIONS["close"].sources, history_table(history, lang),
            [*suggestion_card(found, inc, sg_index, lang),
             *rec_cards(recs, state, lang, "dispatch" in allowed),
             *unit_cards(ups, len(recs), state, lang)], context, focus, False)


# ---------------------------------------------------------------------------- actions
@dash.callback(
    Output(ids.TOAST, "children"), Output(ids.TOAST, "className"), Output(ids.TICK, "data"),
    Output(ids.NOTE, "value"), Output(ids.SATISFACTION, "value"),
    Input({"type": ids.REC, "index": ALL}, "n_clicks"),
    Input({"type": ids.ACT, "action": ALL}, "n_clicks"),
    State(ids.CTX, "data"), State(ids.OFFICER, "data"), State(ids.NOTE, "value"),
    State(ids.SATISFACTION, "value"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def act(_recs: list[Any], _acts: list[Any], seen: dict[str, Any] | None, officer: str | None,
        note: str | None, satisfaction: int | None, lang: str | None) -> tuple[Any, ...]:
    """One click: dispatch to a recommendation or take an action, as the officer saw it."""
    trigger = ctx.triggered_id
    if not seen or not isinstance(trigger, dict) or not ctx.triggered or \
            not ctx.triggered[0].get("value"):
        raise PreventUpdate
    lang = lang if lang in LANGS else "zh"
    me = current()  # never the browser's word for who acts
    try:
        # Everything below came back from the browser: parsed and bounded, never trusted.
        seen = seen if isinstance(seen, dict) else {}
        incident_id = parse_id(seen.get("id"), "incident")
        version = whole_number(seen.get("version"), "version", 0, MAX_ID)
        seen_event = whole_number(seen.get("seen_event", 0), "seen_event", 0, MAX_ID)
        note = (text_param(note, "note") or "").strip()  # a list here was a 500
        if trigger.get("type") == ids.REC:
            # The page names whom by id; the store checks the id against the town's
            # register and takes the name from there (a forged name is never stored).
            event = dispatch_to(services().intake, me, incident_id,
                                _recommended(seen, trigger.get("index")),
                                state=str(seen.get("state")), version=version, note=note,
                                seen_event=seen_event)
            who = event.incident.assignee if event.incident else ""
            message = t("disp_ok_dispatch", lang).format(ref=seen.get("ref", ""), who=who)
        else:
            action = str(trigger.get("action"))
            desk_step(services().intake, me, incident_id, action, note=note,
                      satisfaction=satisfaction, expect_version=version,
                      seen_event=seen_event)
            message = t("disp_ok_action", lang).format(action=action_label(action, lang),
                                                       ref=seen.get("ref", ""))
    except LoopError as exc:
        return (toast(t("disp_err", lang) + error_text(exc, lang)), "disp-toast err",
                time.time(), no_update, no_update)
    return toast("✓ " + message), "disp-toast ok", time.time(), "", None


def _recommended(seen: dict[str, Any], index: Any) -> object:
    """The assignee id of the recommendation clicked (its place in the list the page was
    sent); BadInput when the page sent no such place."""
    recs = seen.get("recs")
    recs = recs if isinstance(recs, list) else []
    if not recs:
        raise BadInput("unknown_assignee", id="")
    rec = recs[whole_number(index, "index", 0, len(recs) - 1)]
    return rec.get("id") if isinstance(rec, dict) else rec


@dash.callback(
    Output(ids.TOAST, "children", allow_duplicate=True),
    Output(ids.TOAST, "className", allow_duplicate=True),
    Output(ids.TICK, "data", allow_duplicate=True),
    Input({"type": ids.SPLIT, "report": ALL}, "n_clicks"),
    State(ids.CTX, "data"), State(ids.OFFICER, "data"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def split(_clicks: list[Any], seen: dict[str, Any] | None, officer: str | None,
          lang: str | None) -> tuple[Any, ...]:
    """Undo one merge: the report becomes its own work order, under the officer's name."""
    trigger = ctx.triggered_id
    if not seen or not isinstance(trigger, dict) or not ctx.triggered or \
            not ctx.triggered[0].get("value"):
        raise PreventUpdate
    lang = lang if lang in LANGS else "zh"
    seen = seen if isinstance(seen, dict) else {}
    officer = current().name
    if not officer:
        return (toast(t("disp_err", lang) + t("disp_err_officer", lang)), "disp-toast err",
                no_update)
    try:
        _, created = services().intake.split_report(parse_id(trigger.get("report"), "report"),
                                                    officer)
    except (BadInput, NotFound) as exc:
        return (toast(t("disp_err", lang) + error_text(exc, lang)), "disp-toast err",
                time.time())
    ref = created.incident.ref if created.incident else ""
    return (toast("✓ " + t("disp_ok_split", lang).format(ref=ref, old=seen.get("ref", ""))),
            "disp-toast ok", time.time())
