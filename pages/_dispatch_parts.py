"""Pure builders of the duty console (/dispatch): component ids, constants, the filter and
panel components, the plain queue rows, the incident details, reports, history and
recommendations, and the text of refused actions. No callbacks live here (pages/dispatch.py).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from dash import dcc, html

from dashboard.i18n.codes import actor_label, level_label, quantity_text
from dashboard.i18n.text import (
    category_label,
    name,
    priority_label,
    source_label,
    state_label,
    t,
)
from dashboard.incidents.deadlines import STAGES
from dashboard.incidents.evaluation import CaseFact, fold_history, stage_marks
from dashboard.incidents.lifecycle import (
    ACTIONS,
    CATEGORIES,
    COUNTDOWN_UNITS,
    LEVELS,
    OPEN_STATES,
    SOURCES,
    STATES,
    due_at,
    is_overdue,
)
from dashboard.incidents.rules import dispatch_plan, scope_of
from dashboard.incidents.video import event_label, image_allowed
from dashboard.resources.recommend import Candidate
from dashboard.roles import Principal, current, personal
from dashboard.screens import views
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from dashboard.town import Unit
from pages._components import services, village_name
from pages._fleet_parts import manifest_block, staff_block

PATH = "/dispatch"
QUEUE_LIMIT = 300
# Officer actions offered as buttons: every action of the loop's table (start, resolve and
# extend are the field's, but an officer may record them from a phone call) except dispatch
# and reassign, which are the recommendations' buttons, and 接单, the assignee's own.
ACTION_BUTTONS = tuple(a for a in ACTIONS if a not in ("dispatch", "reassign", "ack"))


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of the duty console (the page scripts read them: pages/_script_ids.py)."""

    ROOT = "disp-root"
    LANG = "disp-lang"  # also the marker the live stream looks for
    SNAPSHOT = "disp-snapshot"  # a video alert's snapshot (issue 15)
    OFFICER = "disp-officer"
    OFFICER_INPUT = "disp-officer-input"
    OFFICER_HINT = "disp-officer-hint"
    STATUS = "disp-status"
    GAP = "disp-gap"  # a gap in the live feed (a Redis failover), then how the log filled it
    KPIS = "disp-kpis"
    PANELS = "disp-panels"
    PANELS_ACK = "disp-panels-ack"
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
    DETAIL_STATE = "disp-detail-state"
    PHOTO = "disp-photo"  # the work order's photo (随手拍, issue 15)
    REPORTS = "disp-reports"
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
    RESTART = "disp-restart"  # the live stream asks to be started again
    REC = "disp-rec"  # pattern: {"type": REC, "index": n}
    ACT = "disp-act"  # pattern: {"type": ACT, "action": name}
    SPLIT = "disp-split"  # pattern: {"type": SPLIT, "report": report id}


# ---------------------------------------------------------------------------- filters
def filters(lang: str) -> list[Any]:
    """The queue's filter and sort controls."""
    states = [{"label": t("disp_open_states", lang), "value": "open"}]
    states += [{"label": state_label(s, lang), "value": s} for s in STATES if s in OPEN_STATES]
    states.append({"label": t("disp_resolved_wait", lang), "value": "resolved"})
    # The side states an officer comes back to: checked and waiting for 结案, on hold.
    states += [{"label": state_label(s, lang), "value": s} for s in ("verified", "suspended")]
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
            dcc.Dropdown(id=ids.F_GRID, options=grid_options(lang), value=None,
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


def grid_options(lang: str) -> list[dict[str, str]]:
    """Villages (level-2 grids) each followed by its level-3 grids."""
    cells = services().grids
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


def grid_name(code: str | None, lang: str) -> str:
    g = services().grids.get(code or "")
    return name({"name": g.name, "name_en": g.name_en}, lang) if g else "—"


# ---------------------------------------------------------------------------- queue rows
def queue_payload(filters: dict[str, Any] | None, lang: str,
                  now: datetime | None = None, who: Principal | None = None) -> dict[str, Any]:
    """Plain rows of the queue for the filters (drawn by assets/zn_dispatch.js), narrowed
    by the server to what `who` (default: the caller) may see (rules.scope_of)."""
    now = now or utcnow()
    scope = scope_of(who or current())
    # The filters come back from the browser: anything but text is no filter (a number
    # or a list here was a 500).
    f = {k: v for k, v in filters.items() if isinstance(v, str | bool)} \
        if isinstance(filters, dict) else {}
    state = f.get("state") or "open"
    states = tuple(OPEN_STATES) if state == "open" else (str(state),)
    grid = str(f.get("grid") or "")
    village = grid[2:] if grid.startswith("V:") else None
    prefix = grid[2:] if grid.startswith("G:") else None
    found = [] if village and scope.get("village") not in (None, village) else \
        services().store.queue(  # (another village than one's own: nothing)
            states=states, category=f.get("category") or None, grid_prefix=prefix,
            source=f.get("source") or None, overdue_only=bool(f.get("overdue")), now=now,
            limit=QUEUE_LIMIT, **{"village": village, **scope})
    rows = [{
        "id": v.id, "ref": v.ref, "title": v.title, "cat": category_label(v.category, lang),
        "grid": grid_name(v.grid, lang), "src": source_label(v.source, lang),
        "state": state_label(v.state, lang), "sc": views.STATE_CLASS.get(v.state, ""),
        "st": v.state, "pri": v.priority, "urge": v.urge_count, "sup": v.supervised,
        "level": v.level if v.level != "grid" else "", "rc": v.report_count,
        # When the row turns overdue (None once it is done): the JS compares the clock with
        # it and keeps no rule of its own (dashboard/incidents/lifecycle.due_at).
        "dl": _ms(due_at(v.state, v.deadline_at)), "op": v.state in OPEN_STATES,
        "cr": int(as_utc(v.created_at).timestamp() * 1000),
        "lon": round(v.lon, 6), "lat": round(v.lat, 6),
        "od": is_overdue(v.state, v.deadline_at, now), "ver": v.version,
    } for v in found]
    return {"filters": f, "rows": rows, "at": time.time(), "full": len(found) >= QUEUE_LIMIT,
            "text": _queue_text(lang)}


def _ms(at: datetime | None) -> int | None:
    return int(as_utc(at).timestamp() * 1000) if at is not None else None


def _queue_text(lang: str) -> dict[str, Any]:
    zh = lang != "en"
    return {"empty": t("disp_queue_empty", lang), "count": t("disp_count", lang),
            "left": t("left", lang), "overdue": t("overdue", lang),
            # The countdown's units, largest first, from dashboard/incidents/lifecycle.
            "units": [[unit, size * 1000] for unit, size in COUNTDOWN_UNITS],
            "d": "天" if zh else " d", "h": "小时" if zh else " h", "m": "分钟" if zh else " min",
            "urge": "催" if zh else "Urged ", "sup": "督" if zh else "Supervised",
            "reports": t("disp_reports_badge", lang),
            "urgent": "急" if zh else "!", **{f"lv_{k}": v[1 if not zh else 0]
                                              for k, v in LEVELS.items()}}


# ---------------------------------------------------------------------------- details
def local(value: datetime | None) -> str:
    if value is None:
        return "—"
    return as_utc(value).astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")


def stage_line(inc: dict[str, Any], history: list[dict[str, Any]], lang: str,
               now: datetime) -> Any:
    """立案 · 派遣 · 处置 · 核查, each marked on time, late or pending (the standard's stage
    limits, dashboard/incidents/deadlines; the times from the history)."""
    fact = CaseFact(id=inc["id"], state=inc["state"], priority=inc["priority"],
                    created_at=inc["created_at"], deadline_at=inc["deadline_at"],
                    **fold_history((h["action"], h["at"]) for h in history))
    marks = stage_marks(fact, now, services().store.deadlines)
    words = {True: ("ok", "stage_ok"), False: ("late", "stage_late"), None: ("wait", "stage_wait")}
    return html.Span([html.Span(f"{STAGES[k][1 if lang == 'en' else 0]} {t(words[v][1], lang)}",
                                className=f"disp-stage {words[v][0]}",
                                **{"data-stage": k, "data-on-time": str(v).lower()})
                      for k, v in marks.items()], className="disp-stages")


def snapshot_block(inc: dict[str, Any], lang: str, origins: tuple[str, ...]) -> Any:
    """A video alert's snapshot (or a report's photo) as an image when its origin is one
    the town allows (ZN_IMAGE_ORIGINS, the same list the Content-Security-Policy allows),
    else as a link that opens it outside; the clip as a link. None without either."""
    url, clip = inc.get("photo_url"), inc.get("clip_url")
    if not url and not clip:
        return None
    video_alert = bool(inc.get("camera_id"))
    caption = t("disp_snapshot" if video_alert else "disp_photo", lang)
    parts: list[Any] = []
    if url and image_allowed(url, origins):
        parts.append(html.A(html.Img(src=url, alt=caption, className="disp-snapshot-img",
                                     referrerPolicy="no-referrer"),
                            href=url, target="_blank", rel="noopener noreferrer"))
    elif url:
        parts.append(html.A(t("disp_open_snapshot" if video_alert else "disp_open_photo",
                              lang), href=url, target="_blank", rel="noopener noreferrer",
                            className="disp-snapshot-link"))
    words = [caption]
    if inc.get("event_type"):
        words.append(event_label(inc["event_type"], lang))
    cap: list[Any] = [" · ".join(words)]
    if clip:
        cap += [" · ", html.A(t("disp_clip", lang), href=clip, target="_blank",
                              rel="noopener noreferrer", className="disp-clip-link")]
    parts.append(html.Figcaption(cap))
    return html.Figure(parts, id=ids.SNAPSHOT, className="disp-snapshot")


def detail_card(inc: dict[str, Any], reports: list[dict[str, Any]], lang: str,
                can_act: bool, history: list[dict[str, Any]] | None = None,
                image_origins: tuple[str, ...] = (),
                first_view: bool = False) -> list[Any]:
    """The selected incident's head, title, fields, stage limits, snapshot, description,
    reports and (a school bus's) whom to call."""
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
        ("disp_f_village", village_name(inc["village"], lang)),
        ("disp_f_grid", grid_name(inc["grid"], lang)),
        ("disp_f_created", local(inc["created_at"])),
        ("disp_f_deadline", local(inc["deadline_at"])),
        ("disp_f_grid_worker", inc.get("grid_worker") or "—"),
        ("disp_f_assignee", inc["assignee"] or "—"),
        # Personal data: whole for officers and admins, masked for everyone else.
        ("disp_f_reporter", personal(inc.get("reporter_name"), "name") or "—"),
        ("disp_f_phone", personal(inc.get("reporter_phone"), "phone") or "—"),
        ("disp_f_coords", f"{inc['lon']:.5f}, {inc['lat']:.5f}"),
        ("disp_f_urge", str(inc["urge_count"])),
        ("disp_f_supervised", t("disp_yes", lang) if inc["supervised"] else "—"),
        ("disp_f_satisfaction", f"{inc['satisfaction']}/5" if inc["satisfaction"] else "—"),
    ]
    count = inc.get("report_count", 1)
    if count > 1:
        fields.append(("disp_f_reports", str(count)))
    if inc.get("camera_id"):
        names = inc.get("camera") or (inc["camera_id"], inc["camera_id"])
        fields.append(("disp_f_camera", f"{names[1] or names[0] if lang == 'en' else names[0]}"
                                        f"（{inc['camera_id']}）"))
        fields.append(("disp_f_event", event_label(inc.get("event_type"), lang)))
    if inc.get("source") == "hotline" and inc.get("source_ref"):
        fields.append(("disp_f_hotline", inc["source_ref"]))
    if inc.get("rework_count"):
        fields.append(("disp_f_rework", f"×{inc['rework_count']}"))
    if inc.get("extend_request") or inc.get("extend_count"):
        fields.append(("disp_f_extend", "；".join(x for x in (
            t("disp_extend_asked", lang).format(duration=inc["extend_request"])
            if inc.get("extend_request") else "",
            t("disp_extend_count", lang).format(n=inc["extend_count"])
            if inc.get("extend_count") else "") if x)))
    head = html.Div([
        html.Span(inc["ref"], className="disp-ref"),
        html.Span(state_label(state, lang), id=ids.DETAIL_STATE,
                  className=f"disp-state {views.STATE_CLASS.get(state, '')}"),
        html.Span(t("disp_f_urge", lang) + f" ×{inc['urge_count']}", className="disp-mark urge")
        if inc["urge_count"] else None,
        html.Span(t("disp_f_supervised", lang), className="disp-mark sup")
        if inc["supervised"] else None,
        html.Span(t("disp_reports_badge", lang).format(n=count), className="disp-mark reports")
        if count > 1 else None,
        html.Span(countdown, className="disp-countdown" + (" overdue" if overdue else "")),
    ], className="disp-detail-head")
    snapshot = snapshot_block(inc, lang, image_origins)
    return [
        head,
        html.H3(inc["title"], className="disp-title" + (" urgent" if inc["priority"] == "urgent"
                                                          else "")),
        snapshot,  # floats beside the fields, which then take two columns
        html.Dl([x for key, value in fields
                 for x in (html.Dt(t(key, lang)), html.Dd(value))]
                + [html.Dt(t("disp_f_stages", lang)),
                   html.Dd(stage_line(inc, history or [], lang, now))],
                className="disp-fields" + (" beside-snapshot" if snapshot is not None else "")),
        html.P(inc.get("description") or "", className="disp-desc")
        if inc.get("description") else None,
        photo_block(inc.get("photo"), lang),
        reports_section(reports, lang, can_act),
        bus_people(inc, lang, first_view),
    ]


def bus_people(inc: dict[str, Any], lang: str, first_view: bool) -> Any:
    """A school-bus work order (SOS, overspeed, 遗留儿童 …): whom the officer can call, the
    bus's staff with phones and the children on board with their guardians' phones, read now
    from the register (the description, public through Open311, names nobody)."""
    ref = (inc.get("source_ref") or "").split(":")
    if inc.get("source") != "bus" or len(ref) < 3 or ref[0] != "bus":
        return None
    plate, tracker = ref[1], services().hub.tracker
    if tracker is None:
        return None
    detail = tracker.fleet.detail(plate, utcnow())
    # A child alert names its trip (bus:PLATE:kind:TRIP:DAY); a bus alert, the trip running.
    trip = ref[3] if len(ref) >= 5 else (detail or {}).get("trip")
    parts = staff_block(plate, (detail or {}).get("route"), lang)
    if trip:
        parts += manifest_block(trip, plate, lang, where=f"/dispatch {inc['ref']}",
                                first_view=first_view, only="on_board")
    if not parts:
        return None
    return html.Section([html.H3(t("disp_bus_people", lang), className="disp-bus-head"),
                         *parts], className="disp-bus-people")


def photo_block(photo: str | None, lang: str) -> Any:
    """The work order's photo (随手拍, issue 15): its thumbnail, a tap opens the whole
    picture; served by the product to those who may see it, never by a guessable URL."""
    if not photo:
        return None
    return html.A(html.Img(src=f"/api/v1/photos/{photo}/thumb", alt=t("disp_f_photo", lang),
                           className="disp-photo", id=ids.PHOTO),
                  href=f"/api/v1/photos/{photo}/full", target="_blank", rel="noopener",
                  className="disp-photo-link", title=t("disp_f_photo", lang))


def reports_section(reports: list[dict[str, Any]], lang: str, can_act: bool) -> Any:
    """Every report of the work order; a merged one can be split off into its own."""
    rows = [html.Li([
        html.Span(local(r["reported_at"]), className="rep-time"),
        html.Span(source_label(r["source"], lang), className="rep-src"),
        html.Span(r["title"], className="rep-title"),
        html.Span(t("disp_merged", lang), className="rep-merged") if r["merged"] else None,
        html.Button(t("disp_split", lang), id={"type": ids.SPLIT, "report": r["id"]},
                    className="disp-btn disp-split", disabled=not can_act, n_clicks=0)
        if r["merged"] else None,
    ], className="rep-row" + (" merged" if r["merged"] else ""), **{"data-id": str(r["id"])})
        for r in reports]
    return html.Div([html.H4(t("disp_reports", lang).format(n=len(reports)),
                             className="disp-reports-head"),
                     html.Ul(rows, className="disp-reports-list")],
                    id=ids.REPORTS, className="disp-reports")


def action_label(action: str | None, lang: str) -> str:
    act = ACTIONS.get(action or "")
    if act is None:
        if action in ("merge", "split", "res_dispatch", "res_depart", "res_return",
                      "res_cancel"):
            return t(f"disp_h_{action}", lang)
        return t("disp_h_report", lang) if action in ("", None, "report") else str(action)
    return act.en if lang == "en" else act.zh


def action_buttons(allowed: tuple[str, ...], lang: str,
                   can_act: bool | frozenset[str], ack: bool = False) -> list[Any]:
    """The loop's buttons for the actions it allows now (rules.offered); enabled for all
    (True) or for the actions named. `ack`: offer 接单 too (a unit's handler takes what
    is handed to the unit at the console; a person does on the phone)."""
    shown = ("ack", *ACTION_BUTTONS) if ack else ACTION_BUTTONS
    return [html.Button(action_label(a, lang), id={"type": ids.ACT, "action": a},
                        className=f"disp-btn disp-act disp-act-{a}",
                        disabled=not (can_act is True or (
                            isinstance(can_act, frozenset) and a in can_act)),
                        n_clicks=0)
            for a in shown if a in allowed]


def history_table(history: list[dict[str, Any]], lang: str) -> Any:
    head = html.Tr([html.Th(t(k, lang)) for k in
                    ("disp_h_time", "disp_h_actor", "disp_h_action", "disp_h_state",
                     "disp_h_note")])
    rows = []
    for h in reversed(history):
        change = state_label(h["to"], lang) if not h["from"] else (
            f"{state_label(h['from'], lang)} → {state_label(h['to'], lang)}"
            if h["from"] != h["to"] else state_label(h["to"], lang))
        rows.append(html.Tr([
            html.Td(local(h["at"]), className="h-time"),
            html.Td(actor_label(source_label(h["actor"], lang), lang), className="h-actor"),
            html.Td(action_label(h["action"] or "", lang), className="h-action"),
            html.Td(change, className="h-state"), html.Td(h["note"] or "", className="h-note"),
        ], className="h-row"))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="disp-history-table")


def rec_cards(recs: list[Candidate], state: str, lang: str, can_act: bool) -> list[Any]:
    if not recs:
        return [html.Div(t("disp_no_recs", lang), className="disp-empty")]
    plan = dispatch_plan(state)
    verb = action_label(plan[-1], lang) if plan else None
    cards = []
    for n, c in enumerate(recs):
        worker = c.kind == "grid_worker"
        where = t("disp_same_grid", lang) if worker else (
            f"{c.distance_m / 1000:.1f} km · {c.eta_min:.0f} {t('disp_minutes', lang)}")
        supplies = [html.Span(f"{name(s, lang)} {quantity_text(s['quantity'], s['unit'], lang)}",
                              className="rec-supply") for s in c.supplies[:4]]
        shown, detail = c.label(lang)
        cards.append(html.Div([
            html.Div([
                html.Span(t("disp_grid_worker" if worker else "disp_team", lang),
                          className="rec-kind " + ("worker" if worker else "team")),
                html.Span(shown, className="rec-name"),
                html.Span(t("disp_available" if c.available else "disp_busy", lang),
                          className="rec-avail " + ("ok" if c.available else "busy")),
            ], className="rec-top"),
            html.Div([html.Span(detail if not worker else grid_name(c.detail, lang),
                                className="rec-detail"),
                      html.Span(where, className="rec-eta")], className="rec-meta"),
            html.Div(supplies, className="rec-supplies") if supplies else None,
            html.Button(verb, id={"type": ids.REC, "index": n},
                        className="disp-btn disp-rec-btn" + (" primary" if n == 0 else ""),
                        disabled=not can_act, n_clicks=0) if verb else None,
        ], className="rec-card" + ("" if c.available else " unavailable")))
    return cards


def unit_cards(units: list[Unit], first: int, state: str, lang: str) -> list[Any]:
    """One card per unit the order may be handed up to (升级/派遣 to a unit, issue 14); the
    buttons continue the recommendations' numbering, so one callback takes both."""
    if not units or not dispatch_plan(state):
        return []
    cards = [html.H3(t("disp_handover", lang), className="disp-handover-head")]
    for n, unit in enumerate(units, start=first):
        cards.append(html.Div([
            html.Div([
                html.Span(level_label(unit.tier, lang), className="rec-kind unit"),
                html.Span(unit.name_en if lang == "en" and unit.name_en else unit.name,
                          className="rec-name"),
            ], className="rec-top"),
            html.Button(t("disp_handover_btn", lang), id={"type": ids.REC, "index": n},
                        className="disp-btn disp-rec-btn", n_clicks=0),
        ], className="rec-card unit-card", **{"data-unit": unit.id}))
    return cards


# ---------------------------------------------------------------------------- messages
def toast(message: str) -> Any:
    # A fresh key remounts the text, so the fade-in runs again for a repeated message.
    return html.Span(message, key=f"{time.time():.6f}", className="disp-toast-text")
