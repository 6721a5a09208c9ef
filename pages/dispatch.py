"""The duty console (值班调度台): queue, details, nearest resources, one-click dispatch.

The queue is live: a no-input persistent callback waits on the hub and pushes plain rows
into a Store that assets/zn_dispatch.js draws (textContent only). The selected incident's
details are Dash components (small, and they change only when the incident does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
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

from dashboard import views
from dashboard.dispatch import Candidate, recommend
from dashboard.i18n import (
    LANGS,
    category_label,
    name,
    priority_label,
    source_label,
    state_label,
    t,
)
from dashboard.incidents import (
    ACTIONS,
    CATEGORIES,
    LEVELS,
    OPEN_STATES,
    SOURCES,
    STATES,
    TransitionError,
    is_overdue,
)
from dashboard.timeutil import LOCAL_TZ, as_utc, hhmm, utcnow
from datasources.store import Conflict, NotFound
from pages._components import services, town_map

PATH = "/dispatch"
dash.register_page(__name__, path=PATH, title="值班调度台")

log = logging.getLogger(__name__)
QUEUE_LIMIT = 300
WAIT_S = 2.0
MIN_PUSH_GAP_S = 0.25
# Officer actions offered as buttons (dispatch and reassign are the recommendations' buttons;
# start and resolve are the field's, but an officer may record them from a phone call).
ACTION_BUTTONS = ("accept", "start", "resolve", "close", "reopen", "return", "escalate",
                  "urge", "supervise")
REASSIGN_STATES = ACTIONS["reassign"].sources
DISPATCH_STATES = frozenset({"reported", "returned", "accepted"})


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "disp-lang"  # also the marker the live stream looks for
    OFFICER = "disp-officer"
    OFFICER_INPUT = "disp-officer-input"
    OFFICER_HINT = "disp-officer-hint"
    STATUS = "disp-status"
    F_STATE = "disp-f-state"
    F_CATEGORY = "disp-f-category"
    F_GRID = "disp-f-grid"
    F_SOURCE = "disp-f-source"
    F_OVERDUE = "disp-f-overdue"
    SORT = "disp-sort"
    FILTERS = "disp-filters"
    QUEUE = "disp-queue"
    QUEUE_ACK = "disp-queue-ack"
    LIST = "disp-list"
    COUNT = "disp-count"
    SELECTED = "disp-selected"
    TICK = "disp-tick"
    CTX = "disp-ctx"
    DETAIL = "disp-detail"
    ACTIONS = "disp-actions"
    ACTION_BAR = "disp-action-bar"
    NOTE = "disp-note"
    SATISFACTION = "disp-satisfaction"
    SAT_WRAP = "disp-sat-wrap"
    TOAST = "disp-toast"
    HISTORY = "disp-history"
    RECS = "disp-recs"
    MAP = "disp-map"
    FOCUS = "disp-focus"
    FOCUS_ACK = "disp-focus-ack"
    REC = "disp-rec"  # pattern: {"type": REC, "index": n}
    ACT = "disp-act"  # pattern: {"type": ACT, "action": name}


# ---------------------------------------------------------------------------- layout
def layout(lang: str | None = None, incident: str | None = None, **_query: Any) -> Any:
    """The console: header, queue (left), details and history (centre), map and
    recommendations (right). `?incident=ID` opens that incident (links from elsewhere)."""
    svc = services()
    selected = int(incident) if incident and incident.isdigit() else None
    lang = lang if lang in LANGS else svc.settings.lang
    other = "en" if lang == "zh" else "zh"
    meta = svc.town_meta
    town_name = meta.get("name_en") if lang == "en" else meta.get("name")
    header = html.Header([
        html.Div([html.Span(town_name or "", className="disp-town"),
                  html.H1(t("disp_title", lang), className="disp-h1")], className="disp-brand"),
        html.Div([
            html.Label(t("disp_officer", lang), htmlFor=ids.OFFICER_INPUT),
            dcc.Input(id=ids.OFFICER_INPUT, type="text", debounce=0.4, maxLength=32,
                      placeholder=t("disp_officer_ph", lang), autoComplete="off",
                      className="disp-officer-input"),
            html.Span(t("disp_officer_hint", lang), id=ids.OFFICER_HINT,
                      className="disp-officer-hint"),
        ], className="disp-officer"),
        html.Div([
            html.Span(t("status_connecting", lang), id=ids.STATUS, className="status warn"),
            html.Span("", id="zn-clock", className="clock"),
            dcc.Link(t("disp_back_wall", lang), href=f"/?lang={lang}", refresh=True,
                     className="disp-link"),
            dcc.Link(t("lang_switch", lang), href=f"{PATH}?lang={other}", refresh=True,
                     className="lang-switch"),
        ], className="disp-header-right"),
    ], className="disp-header")

    queue = html.Section([
        html.Div([html.H2(t("disp_queue", lang)), html.Span("", id=ids.COUNT,
                                                             className="disp-count")],
                 className="disp-panel-head"),
        html.Div(_filters(lang), className="disp-filters"),
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
        ], id=ids.ACTION_BAR, className="disp-action-bar"),
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
    ], className="disp-panel disp-right")

    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.OFFICER, storage_type="local"),
        dcc.Store(id=ids.FILTERS, data=None),
        dcc.Store(id=ids.QUEUE, data=None),
        dcc.Store(id=ids.QUEUE_ACK, data=0),
        dcc.Store(id=ids.SELECTED, data=selected),
        dcc.Store(id=ids.TICK, data=0),
        dcc.Store(id=ids.CTX, data=None),
        dcc.Store(id=ids.FOCUS, data=None),
        dcc.Store(id=ids.FOCUS_ACK, data=0),
        header,
        html.Div([queue, centre, right], className="disp-main"),
    ], className="disp-root", id="disp-root", **{"data-lang": lang})


def _filters(lang: str) -> list[Any]:
    states = [{"label": t("disp_open_states", lang), "value": "open"}]
    states += [{"label": state_label(s, lang), "value": s} for s in STATES if s in OPEN_STATES]
    states.append({"label": t("disp_resolved_wait", lang), "value": "resolved"})
    cats = [{"label": category_label(c.code, lang), "value": c.code} for c in CATEGORIES]
    srcs = [{"label": source_label(s, lang), "value": s} for s in SOURCES]
    sorts = [{"label": t(f"disp_sort_{k}", lang), "value": k}
             for k in ("deadline", "newest", "priority")]
    return [
        html.Div([
            dcc.Dropdown(id=ids.F_STATE, options=states, value="open", clearable=False,
                         searchable=False, className="disp-dd"),
            dcc.Dropdown(id=ids.F_CATEGORY, options=cats, value=None,
                         placeholder=t("disp_all_categories", lang), className="disp-dd"),
            dcc.Dropdown(id=ids.F_SOURCE, options=srcs, value=None,
                         placeholder=t("disp_all_sources", lang), className="disp-dd"),
        ], className="disp-filter-row"),
        html.Div([
            dcc.Dropdown(id=ids.F_GRID, options=_grid_options(lang), value=None,
                         placeholder=t("disp_all_grids", lang), className="disp-dd disp-dd-grid"),
            dcc.Checklist(id=ids.F_OVERDUE, options=[{"label": t("disp_overdue_only", lang),
                                                       "value": "overdue"}],
                          value=[], className="disp-overdue"),
        ], className="disp-filter-row"),
        html.Div([
            html.Span(t("disp_sort", lang), className="disp-sort-label"),
            dcc.RadioItems(id=ids.SORT, options=sorts, value="deadline", inline=True,
                           className="disp-sort"),
        ], className="disp-filter-row disp-sort-row"),
    ]


def _grid_options(lang: str) -> list[dict[str, str]]:
    """Villages (level-2 grids) each followed by its level-3 grids."""
    cells = _grids()
    out = []
    for g2 in sorted((g for g in cells.values() if g.level == 2), key=lambda g: g.code):
        if g2.village:
            out.append({"label": name({"name": g2.name, "name_en": g2.name_en}, lang),
                        "value": f"V:{g2.village}"})
        for g3 in sorted((g for g in cells.values() if g.level == 3 and g.parent == g2.code),
                         key=lambda g: g.code):
            out.append({"label": "\u3000" + name({"name": g3.name, "name_en": g3.name_en}, lang),
                        "value": f"G:{g3.code}"})
    return out


def _grids() -> dict[str, Any]:
    svc = services()
    cells = getattr(svc, "_disp_grids", None)
    if cells is None:
        cells = {g.code: g for g in svc.store.grid_cells()}
        svc._disp_grids = cells  # type: ignore[attr-defined]
    return cells


def _grid_name(code: str | None, lang: str) -> str:
    g = _grids().get(code or "")
    return name({"name": g.name, "name_en": g.name_en}, lang) if g else "—"


def _village_name(code: str | None, lang: str) -> str:
    for g in _grids().values():
        if g.level == 2 and g.village == code:
            return name({"name": g.name, "name_en": g.name_en}, lang)
    return code or "—"


# ---------------------------------------------------------------------------- queue rows
def queue_payload(filters: dict[str, Any] | None, lang: str,
                  now: datetime | None = None) -> dict[str, Any]:
    """Plain rows of the queue for the filters (drawn by assets/zn_dispatch.js)."""
    now = now or utcnow()
    f = filters or {}
    state = f.get("state") or "open"
    states = tuple(OPEN_STATES) if state == "open" else (state,)
    grid = f.get("grid") or ""
    village = grid[2:] if grid.startswith("V:") else None
    prefix = grid[2:] if grid.startswith("G:") else None
    found = services().store.queue(
        states=states, category=f.get("category") or None, grid_prefix=prefix,
        source=f.get("source") or None, overdue_only=bool(f.get("overdue")), now=now,
        limit=QUEUE_LIMIT * 8 if village else QUEUE_LIMIT)
    if village:
        # Grid codes are not hierarchical (G3-48 lies in village V13): filter villages here.
        found = [v for v in found if v.village == village][:QUEUE_LIMIT]
    rows = [{
        "id": v.id, "ref": v.ref, "title": v.title, "cat": category_label(v.category, lang),
        "grid": _grid_name(v.grid, lang), "src": source_label(v.source, lang),
        "state": state_label(v.state, lang), "sc": views.STATE_CLASS.get(v.state, ""),
        "st": v.state, "pri": v.priority, "urge": v.urge_count, "sup": v.supervised,
        "level": v.level if v.level != "grid" else "",
        "dl": int(as_utc(v.deadline_at).timestamp() * 1000) if v.deadline_at else None,
        "cr": int(as_utc(v.created_at).timestamp() * 1000),
        "lon": round(v.lon, 6), "lat": round(v.lat, 6),
        "od": is_overdue(v.state, v.deadline_at, now), "ver": v.version,
    } for v in found]
    return {"filters": f, "rows": rows, "at": time.time(), "full": len(found) >= QUEUE_LIMIT,
            "text": _queue_text(lang)}


def _queue_text(lang: str) -> dict[str, str]:
    zh = lang != "en"
    return {"empty": t("disp_queue_empty", lang), "count": t("disp_count", lang),
            "left": t("left", lang), "overdue": t("overdue", lang),
            "d": "天" if zh else " d", "h": "小时" if zh else " h", "m": "分钟" if zh else " min",
            "urge": "催" if zh else "Urged ", "sup": "督" if zh else "Supervised",
            "urgent": "急" if zh else "!", **{f"lv_{k}": v[1 if not zh else 0]
                                              for k, v in LEVELS.items()}}


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
    ws = ctx.websocket
    if ws is None:
        return
    try:
        lang = await _page_lang(ws)
        if lang is None:
            return
        await _stream(ws, lang)
    except WebsocketDisconnected:
        return
    except Exception:
        log.exception("duty console stream failed")
        raise


async def _page_lang(ws: Any) -> str | None:
    """The console's language in this browser, or None at once when another page is shown."""
    for _ in range(40):
        if ws.is_shutdown:
            return None
        path = await ws.get_prop("_pages_location", "pathname", timeout=5)
        if path is not None and path.rstrip("/") != PATH:
            return None
        lang = await ws.get_prop(ids.LANG, "data", timeout=5)
        if lang is not None:
            return lang if lang in LANGS else "zh"
        await asyncio.sleep(0.15)
    return None


async def _stream(ws: Any, lang: str) -> None:
    hub = services().hub
    seen = -1
    sent_incidents = None
    sent_status = None
    while not ws.is_shutdown:
        seen = await hub.wait_change(seen, timeout=WAIT_S)
        state = hub.state
        if state.versions["status"] != sent_status:
            status = views.status_line(state, lang)
            set_props(ids.STATUS, {"children": status["text"],
                                   "className": f"status {status['tone']}"})
            sent_status = state.versions["status"]
        version = state.versions["incidents"]
        if version == sent_incidents:
            continue
        sent_incidents = version
        try:
            filters = await ws.get_prop(ids.FILTERS, "data", timeout=5)
            selected = await ws.get_prop(ids.CTX, "data", timeout=5)
        except TimeoutError:
            sent_incidents = None
            continue
        payload = await asyncio.to_thread(queue_payload, filters, lang)
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
    """The selected incident: fields, actions, history, position and recommendations."""
    lang = lang or "zh"
    if not incident_id:
        return (html.Div(t("disp_pick", lang), className="disp-empty"), [], True, [], [],
                None, None, True)
    store = services().store
    try:
        inc = store.incident(int(incident_id))
    except NotFound:
        return (html.Div(t("disp_err_gone", lang), className="disp-empty"), [], True, [], [],
                None, None, True)
    history = store.history(inc["id"])
    recs = recommend(inc, store.grid_workers(inc["grid"]), store.stations())
    can_act = bool((officer or "").strip())
    state = inc["state"]
    context = {"id": inc["id"], "ref": inc["ref"], "version": inc["version"], "state": state,
               "recs": [c.assignee for c in recs]}
    focus = {"id": inc["id"], "lon": inc["lon"], "lat": inc["lat"], "state": state,
             "overdue": is_overdue(state, inc["deadline_at"], utcnow()),
             "tip": f"{inc['ref']} {inc['title']}"}
    return (_detail_card(inc, lang), _action_buttons(state, lang, can_act),
            state != "resolved", _history_table(history, lang),
            _rec_cards(recs, state, lang, can_act), context, focus, False)


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    return as_utc(value).astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")


def _detail_card(inc: dict[str, Any], lang: str) -> list[Any]:
    now = utcnow()
    state = inc["state"]
    overdue = is_overdue(state, inc["deadline_at"], now)
    countdown = views.countdown_text(inc["deadline_at"], now, lang) if state in OPEN_STATES \
        else ""
    level = LEVELS.get(inc["level"], (inc["level"], inc["level"]))
    fields = [
        ("disp_f_category", category_label(inc["category"], lang)),
        ("disp_f_priority", priority_label(inc["priority"], lang)),
        ("disp_f_source", source_label(inc["source"], lang)),
        ("disp_f_level", level[1] if lang == "en" else level[0]),
        ("disp_f_village", _village_name(inc["village"], lang)),
        ("disp_f_grid", _grid_name(inc["grid"], lang)),
        ("disp_f_created", _local(inc["created_at"])),
        ("disp_f_deadline", _local(inc["deadline_at"])),
        ("disp_f_assignee", inc["assignee"] or "—"),
        ("disp_f_reporter", inc.get("reporter_name") or "—"),
        ("disp_f_phone", inc.get("reporter_phone") or "—"),
        ("disp_f_coords", f"{inc['lon']:.5f}, {inc['lat']:.5f}"),
        ("disp_f_urge", str(inc["urge_count"])),
        ("disp_f_supervised", t("disp_yes", lang) if inc["supervised"] else "—"),
        ("disp_f_satisfaction", f"{inc['satisfaction']}/5" if inc["satisfaction"] else "—"),
    ]
    if inc.get("report_count", 1) > 1:
        fields.append(("disp_f_reports", str(inc["report_count"])))
    head = html.Div([
        html.Span(inc["ref"], className="disp-ref"),
        html.Span(state_label(state, lang), id="disp-detail-state",
                  className=f"disp-state {views.STATE_CLASS.get(state, '')}"),
        html.Span(t("disp_f_urge", lang) + f" ×{inc['urge_count']}", className="disp-mark urge")
        if inc["urge_count"] else None,
        html.Span(t("disp_f_supervised", lang), className="disp-mark sup")
        if inc["supervised"] else None,
        html.Span(countdown, className="disp-countdown" + (" overdue" if overdue else "")),
    ], className="disp-detail-head")
    return [
        head,
        html.H3(inc["title"], className="disp-title" + (" urgent" if inc["priority"] == "urgent"
                                                          else "")),
        html.Dl([x for key, value in fields
                 for x in (html.Dt(t(key, lang)), html.Dd(value))], className="disp-fields"),
        html.P(inc.get("description") or "", className="disp-desc")
        if inc.get("description") else None,
    ]


def _action_label(action: str | None, lang: str) -> str:
    act = ACTIONS.get(action or "")
    if act is None:
        if action in ("merge", "split"):
            return t(f"disp_h_{action}", lang)
        return t("disp_h_report", lang) if action in ("", None, "report") else str(action)
    return act.en if lang == "en" else act.zh


def _action_buttons(state: str, lang: str, can_act: bool) -> list[Any]:
    return [html.Button(_action_label(a, lang), id={"type": ids.ACT, "action": a},
                        className=f"disp-btn disp-act disp-act-{a}", disabled=not can_act,
                        n_clicks=0)
            for a in ACTION_BUTTONS if state in ACTIONS[a].sources]


def _history_table(history: list[dict[str, Any]], lang: str) -> Any:
    head = html.Tr([html.Th(t(k, lang)) for k in
                    ("disp_h_time", "disp_h_actor", "disp_h_action", "disp_h_state",
                     "disp_h_note")])
    rows = []
    for h in reversed(history):
        change = state_label(h["to"], lang) if not h["from"] else (
            f"{state_label(h['from'], lang)} → {state_label(h['to'], lang)}"
            if h["from"] != h["to"] else state_label(h["to"], lang))
        rows.append(html.Tr([
            html.Td(_local(h["at"]), className="h-time"),
            html.Td(source_label(h["actor"], lang), className="h-actor"),
            html.Td(_action_label(h["action"] or "", lang), className="h-action"),
            html.Td(change, className="h-state"), html.Td(h["note"] or "", className="h-note"),
        ], className="h-row"))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="disp-history-table")


def _rec_cards(recs: list[Candidate], state: str, lang: str, can_act: bool) -> list[Any]:
    if not recs:
        return [html.Div(t("disp_no_recs", lang), className="disp-empty")]
    if state in REASSIGN_STATES:
        verb = _action_label("reassign", lang)
    elif state in DISPATCH_STATES:
        verb = _action_label("dispatch", lang)
    else:
        verb = None
    cards = []
    for n, c in enumerate(recs):
        worker = c.kind == "grid_worker"
        where = t("disp_same_grid", lang) if worker else (
            f"{c.distance_m / 1000:.1f} km · {c.eta_min:.0f} {t('disp_minutes', lang)}")
        supplies = [html.Span(f"{s['name']} {s['quantity']}{s['unit']}", className="rec-supply")
                    for s in c.supplies[:4]]
        cards.append(html.Div([
            html.Div([
                html.Span(t("disp_grid_worker" if worker else "disp_team", lang),
                          className="rec-kind " + ("worker" if worker else "team")),
                html.Span(c.name, className="rec-name"),
                html.Span(t("disp_available" if c.available else "disp_busy", lang),
                          className="rec-avail " + ("ok" if c.available else "busy")),
            ], className="rec-top"),
            html.Div([html.Span(c.detail if not worker else _grid_name(c.detail, lang),
                                className="rec-detail"),
                      html.Span(where, className="rec-eta")], className="rec-meta"),
            html.Div(supplies, className="rec-supplies") if supplies else None,
            html.Button(verb, id={"type": ids.REC, "index": n},
                        className="disp-btn disp-rec-btn" + (" primary" if n == 0 else ""),
                        disabled=not can_act, n_clicks=0) if verb else None,
        ], className="rec-card" + ("" if c.available else " unavailable")))
    return cards


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
    if not seen or not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    lang = lang or "zh"
    officer = (officer or "").strip()
    note = (note or "").strip()
    try:
        if not officer:
            raise TransitionError(t("disp_err_officer", lang))
        if trigger["type"] == ids.REC:
            who = seen["recs"][int(trigger["index"])]
            dispatch_to(seen, who, officer, note)
            message = t("disp_ok_dispatch", lang).format(ref=seen["ref"], who=who)
        else:
            action = trigger["action"]
            if action == "return" and not note:
                raise TransitionError(t("disp_err_note", lang))
            if action == "close" and satisfaction is None:
                raise TransitionError(t("disp_err_satisfaction", lang))
            services().intake.act(seen["id"], action, officer, note=note,
                                  satisfaction=satisfaction, expect_version=seen["version"])
            message = t("disp_ok_action", lang).format(action=_action_label(action, lang),
                                                       ref=seen["ref"])
    except (Conflict, TransitionError, NotFound) as exc:
        return (_toast(t("disp_err", lang) + explain(exc, seen, lang)), "disp-toast err",
                time.time(), no_update, no_update)
    return _toast("✓ " + message), "disp-toast ok", time.time(), "", None


def dispatch_to(seen: dict[str, Any], assignee: str, officer: str, note: str = "") -> None:
    """Dispatch (or reassign) as the officer saw the incident; a reported or returned one is
    accepted first, so both steps are in the history under the officer's name."""
    intake = services().intake
    version = seen["version"]
    state = seen["state"]
    if state in ACTIONS["accept"].sources:
        version = intake.act(seen["id"], "accept", officer, expect_version=version).incident.version
        state = "accepted"
    action = "reassign" if state in REASSIGN_STATES else "dispatch"
    intake.act(seen["id"], action, officer, assignee=assignee, note=note,
               expect_version=version)


def explain(exc: Exception, seen: dict[str, Any], lang: str) -> str:
    """A clear sentence for a refused action (the English text of the store, translated)."""
    text = str(exc)
    if isinstance(exc, NotFound):
        return t("disp_err_gone", lang)
    if isinstance(exc, Conflict):
        try:
            store = services().store
            last = store.history(seen["id"])[-1]
            now_state = store.incident(seen["id"])["state"]
        except (NotFound, IndexError):
            return text
        return t("disp_err_conflict", lang).format(
            ref=seen["ref"], actor=last["actor"], at=hhmm(last["at"]),
            action=_action_label(last["action"] or "", lang),
            state=state_label(now_state, lang))
    if lang == "en":
        return text
    if text.startswith("close needs a satisfaction"):
        return t("disp_err_satisfaction", lang)
    if text == "already at the county level":
        return t("disp_err_county", lang)
    if text.startswith("cannot ") and " an incident that is " in text:
        action, _, state = text.removeprefix("cannot ").partition(" an incident that is ")
        return t("disp_err_state", lang).format(state=state_label(state, lang),
                                                action=_action_label(action, lang))
    return text


def _toast(message: str) -> Any:
    # A fresh key remounts the text, so the fade-in runs again for a repeated message.
    return html.Span(message, key=f"{time.time():.6f}", className="disp-toast-text")
