"""The grid worker's phone page: 随手拍 (a report with a photo and a position, kept on the
phone while offline: assets/zn_field.js), and my work orders: acknowledge, arrive, add a note,
resolve."""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.geo.lookup import inside_point
from dashboard.i18n.errors import action_text, error_text
from dashboard.i18n.photo_text import PHOTO_TEXT
from dashboard.i18n.text import LANGS, category_label, state_label, t
from dashboard.incidents.errors import LoopError
from dashboard.incidents.lifecycle import CATEGORIES
from dashboard.incidents.rules import CHECK_STEPS, TASK_STATES, field_steps_in, may_check
from dashboard.inputs import parse_id
from dashboard.roles import ADMIN, Principal, current
from dashboard.screens.views import countdown_text
from dashboard.timeutil import utcnow
from datasources.flows.field import field_step, whose_tasks, worker_grid
from pages._callup_parts import field_callup_section, register_field_callup_callbacks
from pages._components import TOWN_API, js, page_title, services, site_header
from pages._ticks import tick_on_change

dash.register_page(__name__, path="/field", title=page_title("nav_field"))
register_field_callup_callbacks()  # 应急抽调: the worker's answer (pages/_callup_parts.py)



class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "field-lang"
    NAME = "field-name"
    NAME_STORE = "field-name-store"
    TASKS = "field-tasks"
    TICK = "field-tick"
    LIVE = "field-live"  # bumped by the push stream when work orders change
    SHOWN = "field-shown"  # what the cards show now: a redraw that changes nothing is skipped
    RESULT = "field-result"
    NOTE = "field-note"
    PHOTO = "field-photo"
    ACT = "field-act"
    # 随手拍 (issue 15): the form is drawn by assets/zn_field.js from SNAP_CFG
    SNAP_CFG = "field-snap-config"
    SNAP_FORM = "field-snap-form"
    SNAP_MAP = "field-snap-map"
    SNAP_SEND = "field-snap-send"
    SNAP_DRAWN = "field-snap-drawn"


def snap_config(lang: str) -> dict[str, Any]:
    """What the report form needs as plain data: its words, the categories, the photo
    limit, and the map's id."""
    limit = services().settings.photo_max_bytes
    return {"lang": lang, "map": ids.SNAP_MAP, "max_bytes": limit,
            "max_mb": f"{limit / 1024 / 1024:g}",
            "labels": {k: t(k, lang) for k in PHOTO_TEXT if k.startswith("snap_")},
            "categories": [[c.code, category_label(c.code, lang)] for c in CATEGORIES]}


def snap_map(person: str | None) -> Any:
    """A small map of the town opened on the worker's own grid; a tap there is the report's
    position (assets/zn_field.js)."""
    svc = services()
    lon, lat = svc.town_meta.get("center") or [104.45, 30.55]
    zoom = 13
    cell = svc.grids.get(worker_grid(svc.store, person) or "") if svc.store else None
    if cell is not None:
        (lon, lat), zoom = inside_point(cell), 15
    base = [dl.TileLayer(url=svc.settings.tile_url, maxZoom=18)] if svc.settings.tile_url \
        else [dl.GeoJSON(url=f"{TOWN_API}/basemap.geojson", id=f"{ids.SNAP_MAP}-base",
                         interactive=False, style=js("baseStyle"), pointToLayer=js("basePoint"))]
    return dl.MapContainer([
        *base,
        dl.GeoJSON(url=f"{TOWN_API}/grids-3.geojson", id=f"{ids.SNAP_MAP}-grid3",
                   style=js("grid3Style"), interactive=False),
    ], id=ids.SNAP_MAP, center=[lat, lon], zoom=zoom, zoomSnap=0.5, attributionControl=False,
        className="snap-map", trackViewport=False)


def layout(lang: str | None = None, **_query: Any) -> Any:
    """A single column for phones: name, task cards with big buttons, note box."""
    lang = lang if lang in LANGS else services().settings.lang
    me = current()
    admin = me.role == ADMIN
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.NAME_STORE, data=me.person_id),
        # Pushed when a work order changes (a dispatch reaches the phone at once); the
        # slow interval only catches up after a lost connection.
        dcc.Store(id=ids.LIVE),
        dcc.Store(id=ids.SHOWN),
        dcc.Interval(id=ids.TICK, interval=15000),
        site_header("/field", lang),
        field_callup_section(lang),  # 应急抽调 first: a call-up is answered at once (issue 16)
        dcc.Store(id=ids.SNAP_CFG, data=snap_config(lang)),
        html.Section([
            html.H2(t("snap_title", lang), className="snap-h2"),
            html.Div(id=ids.SNAP_FORM, className="snap-form"),
            snap_map(me.person_id),
            html.Div(id=ids.SNAP_SEND, className="snap-send"),
            html.Div(id=ids.SNAP_DRAWN, hidden=True),
        ], className="snap-card"),
        html.H1(t("field_title", lang), className="field-h1"),
        # A grid worker sees only their own work orders (by person id); an admin may type
        # anyone's id.
        dcc.Input(id=ids.NAME, placeholder=t("field_person", lang), debounce=True,
                  className="field-name", value=me.person_id or "", readOnly=not admin,
                  style=None if admin else {"display": "none"}),
        html.Div(id=ids.RESULT, className="field-result", role="status"),
        dcc.Textarea(id=ids.NOTE, placeholder=t("field_note", lang), className="field-note"),
        dcc.Input(id=ids.PHOTO, placeholder=t("field_photo", lang), className="field-photo",
                  type="url"),
        html.Div(id=ids.TASKS, className="field-tasks"),
    ], className="field-page")


@dash.callback(Output(ids.NAME_STORE, "data"), Input(ids.NAME, "value"),
               prevent_initial_call=True)
def remember_worker_name(name: str | None) -> str | None:
    """Keep the person id an admin typed on this phone."""
    return name.strip() or None if isinstance(name, str) else None  # the browser's word


@dash.callback(Output(ids.NAME, "value"), Input(ids.NAME_STORE, "modified_timestamp"),
               State(ids.NAME_STORE, "data"), State(ids.NAME, "value"))
def restore_worker_name(_ts: Any, stored: str | None, current: str | None) -> Any:
    """Fill the person box from this phone's memory."""
    return stored if stored and not current else no_update


@dash.callback(Output(ids.TASKS, "children"), Output(ids.SHOWN, "data"),
               Input(ids.TICK, "n_intervals"), Input(ids.LIVE, "data"),
               Input(ids.NAME_STORE, "data"), State(ids.LANG, "data"), State(ids.SHOWN, "data"))
def show_my_work_orders(_n: int, _live: Any, name: str | None, lang: str,
                        shown: Any) -> Any:
    """Task cards from the live state in memory (no database query per phone). Cards that
    would come out the same are left in place: a redraw replaces the buttons, and a tap that
    lands just then would be lost."""
    cards = my_cards(whose_tasks(current(), name), lang, current())
    if cards == shown:
        return no_update, no_update
    return render_cards(cards, lang), cards


def my_cards(person: str | None, lang: str, who: Principal | None = None) -> Any:
    """What the phone shows of each of the person's open work orders, then the grid's orders
    awaiting the worker's 核查 (rules.may_check), as plain data; a string when there is
    nothing to list."""
    if not person:
        return t("field_no_person", lang)
    now = utcnow()
    live = services().hub.state.incidents.values()
    mine = sorted((v for v in live if v.assignee_id == person and v.state in TASK_STATES),
                  key=lambda v: (v.deadline_at or now))
    checks = sorted((v for v in live if who is not None and v.grid == who.grid and may_check(
        who, {"grid": v.grid, "state": v.state, "assignee_id": v.assignee_id})),
        key=lambda v: v.id) if who is not None and who.grid else []
    if not mine and not checks:
        return t("field_none", lang)
    return [{"id": v.id, "ref": v.ref, "state": state_label(v.state, lang), "title": v.title,
             "meta": f"{category_label(v.category, lang)} · "
                     f"{countdown_text(v.deadline_at, now, lang)}",
             "steps": list(field_steps_in(v.state))} for v in mine] + [
        {"id": v.id, "ref": v.ref, "state": t("field_to_check", lang), "title": v.title,
         "meta": f"{category_label(v.category, lang)} · {v.assignee or ''}",
         "steps": list(CHECK_STEPS), "check": True} for v in checks]


def render_cards(cards: Any, lang: str) -> Any:
    """The task cards with one big button per step the worker may take."""
    if isinstance(cards, str):
        return html.P(cards, className="field-hint")
    return [html.Div([
        html.Div([html.Span(c["ref"], className="field-ref"),
                  html.Span(c["state"], className="field-state")]),
        html.Div(c["title"], className="field-title"),
        html.Div(c["meta"], className="field-meta"),
        html.Div([html.Button(action_text(a, lang),
                              id={"type": ids.ACT, "incident": c["id"], "action": a},
                              className=f"field-btn field-{a}")
                  for a in c["steps"]], className="field-buttons"),
    ], className="field-card" + (" field-check" if c.get("check") else ""),
        id=f"task-{c['id']}") for c in cards]


@dash.callback(Output(ids.RESULT, "children"), Output(ids.NOTE, "value"),
               Input({"type": ids.ACT, "incident": ALL, "action": ALL}, "n_clicks"),
               State(ids.NAME_STORE, "data"), State(ids.NOTE, "value"),
               State(ids.PHOTO, "value"), State(ids.LANG, "data"), prevent_initial_call=True)
def report_field_step(clicks: list[int | None], name: str | None, note: str | None,
                      photo: str | None, lang: str) -> Any:
    """Send one step of the worker's own work order through the field flow."""
    trigger = ctx.triggered_id
    if not trigger or not any(clicks):
        return no_update, no_update
    try:
        # The flow checks the note and the link (http(s), no markup) as for the field API.
        event = field_step(services().intake, current(),
                           parse_id(str(trigger["incident"]), "incident"),
                           str(trigger["action"]), note, photo)
    except LoopError as exc:
        return html.Span(error_text(exc, lang), className="field-error"), no_update
    ref = event.incident.ref if event.incident else ""
    return html.Span(f"{ref} · {action_text(trigger['action'], lang)} ✓",
                     className="field-ok"), ""


dash.clientside_callback(
    dash.ClientsideFunction(namespace="zn_field", function_name="render"),
    Output(ids.SNAP_DRAWN, "children"), Input(ids.SNAP_CFG, "data"))


@dash.callback(persistent=True)
async def stream_field_ticks() -> None:
    """Redraw this phone's task list as soon as any work order changes (no polling)."""
    await tick_on_change("/field", ids.LANG, ids.LIVE, 0.0)
