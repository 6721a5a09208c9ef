"""The assignee's phone page: my work orders, acknowledge, arrive, add a note, resolve."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.i18n.text import LANGS, category_label, state_label, t
from dashboard.incidents.lifecycle import ACTIONS
from dashboard.roles import ADMIN, current
from dashboard.screens.views import countdown_text
from dashboard.timeutil import utcnow
from datasources.sql.incidents import Conflict, NotFound
from pages._components import page_title, services, site_header, user_badge

dash.register_page(__name__, path="/field", title=page_title("nav_field"))

# Which field step each state offers, in the order a worker meets them.
STEPS = {"dispatched": ("ack", "start"), "in_progress": ("note", "resolve")}


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "field-lang"
    NAME = "field-name"
    NAME_STORE = "field-name-store"
    TASKS = "field-tasks"
    TICK = "field-tick"
    RESULT = "field-result"
    NOTE = "field-note"
    PHOTO = "field-photo"
    ACT = "field-act"


def layout(lang: str | None = None, **_query: Any) -> Any:
    """A single column for phones: name, task cards with big buttons, note box."""
    lang = lang if lang in LANGS else services().settings.lang
    me = current()
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.NAME_STORE, data=me.name),
        dcc.Interval(id=ids.TICK, interval=3000),
        site_header("/field", lang),
        html.H1(t("field_title", lang), className="field-h1"),
        user_badge(lang),
        # A grid worker sees only their own work orders; an admin may look at anyone's.
        dcc.Input(id=ids.NAME, placeholder=t("field_name", lang), debounce=True,
                  className="field-name", value=me.name, readOnly=me.role != ADMIN),
        html.Div(id=ids.RESULT, className="field-result", role="status"),
        dcc.Textarea(id=ids.NOTE, placeholder=t("field_note", lang), className="field-note"),
        dcc.Input(id=ids.PHOTO, placeholder=t("field_photo", lang), className="field-photo",
                  type="url"),
        html.Div(id=ids.TASKS, className="field-tasks"),
    ], className="field-page")


def worker_name(typed: str | None) -> str:
    """Whose work orders: the signed-in grid worker's own, whatever the browser says."""
    me = current()
    return (typed or "").strip() if me.role == ADMIN else me.name


@dash.callback(Output(ids.NAME_STORE, "data"), Input(ids.NAME, "value"),
               prevent_initial_call=True)
def remember_worker_name(name: str | None) -> str | None:
    """Keep the worker's name on this phone."""
    return (name or "").strip() or None


@dash.callback(Output(ids.NAME, "value"), Input(ids.NAME_STORE, "modified_timestamp"),
               State(ids.NAME_STORE, "data"), State(ids.NAME, "value"))
def restore_worker_name(_ts: Any, stored: str | None, current: str | None) -> Any:
    """Fill the name box from this phone's memory."""
    return stored if stored and not current else no_update


@dash.callback(Output(ids.TASKS, "children"), Input(ids.TICK, "n_intervals"),
               Input(ids.NAME_STORE, "data"), State(ids.LANG, "data"))
def show_my_work_orders(_n: int, name: str | None, lang: str) -> Any:
    """Task cards from the live state in memory (no database query per phone)."""
    name = worker_name(name)
    if not name:
        return html.P(t("field_need_name", lang), className="field-hint")
    now = utcnow()
    mine = sorted((v for v in services().hub.state.incidents.values()
                   if v.assignee == name and v.state in STEPS),
                  key=lambda v: (v.deadline_at or now))
    if not mine:
        return html.P(t("field_none", lang), className="field-hint")
    return [html.Div([
        html.Div([html.Span(v.ref, className="field-ref"),
                  html.Span(state_label(v.state, lang), className="field-state")]),
        html.Div(v.title, className="field-title"),
        html.Div(f"{category_label(v.category, lang)} · "
                 f"{countdown_text(v.deadline_at, now, lang)}", className="field-meta"),
        html.Div([html.Button(ACTIONS[a].en if lang == "en" else ACTIONS[a].zh,
                              id={"type": ids.ACT, "incident": v.id, "action": a},
                              className=f"field-btn field-{a}")
                  for a in STEPS[v.state]], className="field-buttons"),
    ], className="field-card", id=f"task-{v.id}") for v in mine]


@dash.callback(Output(ids.RESULT, "children"), Output(ids.NOTE, "value"),
               Input({"type": ids.ACT, "incident": ALL, "action": ALL}, "n_clicks"),
               State(ids.NAME_STORE, "data"), State(ids.NOTE, "value"),
               State(ids.PHOTO, "value"), State(ids.LANG, "data"), prevent_initial_call=True)
def report_field_step(clicks: list[int | None], name: str | None, note: str | None,
                      photo: str | None, lang: str) -> Any:
    """Send one step of the worker's own work order through the loop."""
    trigger = ctx.triggered_id
    name = worker_name(name)
    if not trigger or not any(clicks) or not name:
        return no_update, no_update
    svc = services()
    incident_id, action = trigger["incident"], trigger["action"]
    text = " ".join(x.strip() for x in (note or "", photo or "") if x and x.strip())
    try:
        current = svc.store.incident(incident_id)
        if current.get("assignee") != name:
            return html.Span(t("field_not_yours", lang), className="field-error"), no_update
        svc.intake.act(incident_id, action, name, note=text[:500])
    except (NotFound, Conflict, ValueError) as exc:
        return html.Span(str(exc), className="field-error"), no_update
    label = ACTIONS[action].en if lang == "en" else ACTIONS[action].zh
    return html.Span(f"{current['ref']} · {label} ✓", className="field-ok"), ""
