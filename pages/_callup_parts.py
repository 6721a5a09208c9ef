"""应急抽调 on the screens (issue 16): the console's panel, where a duty officer ticks
off-duty workers from the rota's call-up list and calls them up for the open work order,
then sees who answered; and the called-up worker's card on /field, to answer 到岗 or
无法到岗. The steps are datasources/flows/callup_desk.py's; the role step is CALLUP.

pages/dispatch.py and pages/field.py call the register_* functions at import (Dash runs a
page module once per app; this helper is imported once per process)."""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from dashboard.grids.callup import CallupError, tally
from dashboard.i18n.text import TEXT, t
from dashboard.incidents.errors import BadInput
from dashboard.inputs import parse_id
from dashboard.roles import current
from datasources.flows.callup_desk import CallupDesk
from pages._components import services

NOTHING = dash.no_update
CONSOLE_CTX, CONSOLE_LANG = "disp-ctx", "disp-lang"  # pages/_dispatch_parts.py ids
FIELD_TICK, FIELD_LIVE, FIELD_LANG = "field-tick", "field-live", "field-lang"  # pages/field.py


class cids:  # noqa: N801 - a namespace of element ids
    PANEL = "cu-panel"
    PICK = "cu-pick"
    GO = "cu-go"
    MSG = "cu-msg"
    TALLY = "cu-tally"
    LIST = "cu-list"
    TICK = "cu-tick"
    MINE = "cu-mine"
    ANSWER = "cu-answer"  # pattern: {"type": ANSWER, "callup": id, "answer": coming|cannot}
    FMSG = "cu-fmsg"
    FTICK = "cu-ftick"


def callup_refused(exc: CallupError, lang: str) -> str:
    """A refused call-up or answer in the reader's language."""
    key = f"err_{exc.code}"
    return t(key, lang).format(**exc.params) if key in TEXT else str(exc)


def _desk() -> CallupDesk:
    desk = services().callups
    assert desk is not None
    return desk


# ------------------------------------------------------------------ the console
def callup_panel(lang: str) -> Any:
    """The call-up panel under the recommendations (hidden until a work order is open;
    folded, so the recommendations keep their room, until the order has a call-up)."""
    return html.Details([
        dcc.Store(id=cids.TICK, data=0),
        html.Summary([html.Span(t("cu_title", lang), className="cu-title"),
                      html.Span(id=cids.TALLY, className="cu-tally")]),
        html.Div(id=cids.LIST, className="cu-list"),
        html.P(t("cu_pick", lang), className="cu-hint"),
        dcc.Checklist(id=cids.PICK, options=[], value=[], className="cu-pick",
                      labelClassName="cu-pick-item"),
        html.Button(t("cu_go", lang), id=cids.GO, n_clicks=0, className="cu-go"),
        html.Div(id=cids.MSG, className="cu-msg", role="status"),
    ], id=cids.PANEL, className="cu-panel", hidden=True, open=False)


def _answer_text(answer: str | None, lang: str) -> str:
    return t(f"cu_answer_{answer or 'none'}", lang)


def show_callup(seen: Any, _tick: Any, lang: str | None) -> tuple[Any, ...]:
    """The open work order's call-up list to tick, and who was called up and answered."""
    lang = lang or "zh"
    incident = seen.get("id") if isinstance(seen, dict) else None
    try:
        incident_id = parse_id(incident, "incident")
        offered = _desk().offered(incident_id)
    except (BadInput, CallupError):
        return True, False, [], [], None, None
    called = _desk().callups.for_incident(incident_id)
    options = [{"label": f"{w['name']} · {w['grid_name_en' if lang == 'en' else 'grid_name']}"
                         f" · {t('cu_open_orders', lang).format(n=w['open'])}",
                "value": w["id"]} for w in offered]
    rows = [html.Li([html.Span(c["name"], className="cu-name"),
                     html.Span(_answer_text(c["answer"], lang),
                               className=f"cu-answer {c['answer'] or 'none'}"),
                     html.Span(t(f"cu_told_{c['told'] or 'none'}", lang)
                               if f"cu_told_{c['told'] or 'none'}" in TEXT else c["told"],
                               className="cu-told")],
                    className="cu-row", id=f"cu-row-{c['worker_id']}") for c in called]
    count = tally(c["answer"] for c in called)
    summary = t("cu_tally", lang).format(called=count.called, coming=count.coming,
                                         cannot=count.cannot, waiting=count.waiting) \
        if called else None
    listed = html.Ul(rows, className="cu-called") if rows else None
    if not options and not rows:
        listed = html.P(t("cu_none_offered", lang), className="cu-none")
    return False, bool(rows) or NOTHING, options, [], listed, summary


def call_up_selected(clicks: int | None, chosen: Any, seen: Any,
                     lang: str | None) -> tuple[Any, ...]:
    """Call up the ticked workers for the open work order; they are texted and see it."""
    lang = lang or "zh"
    if not clicks:
        return NOTHING, NOTHING, NOTHING
    try:
        incident_id = parse_id(seen.get("id") if isinstance(seen, dict) else None, "incident")
        done = _desk().call_up(current(), incident_id, chosen, lang)
    except BadInput:
        return callup_refused(CallupError("gone", "callup_closed"), lang), "cu-msg bad", NOTHING
    except CallupError as exc:
        return callup_refused(exc, lang), "cu-msg bad", NOTHING
    return (t("cu_done", lang).format(n=len(done["members"]), sms=done["texted"]),
            "cu-msg ok", time.time())


def register_callup_callbacks() -> None:
    """The console panel's callbacks, with the app being built."""
    dash.callback(
        Output(cids.PANEL, "hidden"), Output(cids.PANEL, "open"),
        Output(cids.PICK, "options"), Output(cids.PICK, "value"),
        Output(cids.LIST, "children"), Output(cids.TALLY, "children"),
        Input(CONSOLE_CTX, "data"), Input(cids.TICK, "data"), State(CONSOLE_LANG, "data"),
    )(show_callup)
    dash.callback(
        Output(cids.MSG, "children"), Output(cids.MSG, "className"),
        Output(cids.TICK, "data", allow_duplicate=True),
        Input(cids.GO, "n_clicks"), State(cids.PICK, "value"), State(CONSOLE_CTX, "data"),
        State(CONSOLE_LANG, "data"), prevent_initial_call=True,
    )(call_up_selected)


# ------------------------------------------------------------------ the worker's phone
def field_callup_section(lang: str) -> Any:
    """The worker's call-ups to answer, on /field (empty when there are none)."""
    return html.Div([
        dcc.Store(id=cids.FTICK, data=0),
        html.Div(id=cids.MINE, className="cu-mine"),
        html.Div(id=cids.FMSG, className="cu-msg", role="status"),
    ])


def show_my_callups(_n: Any, _live: Any, _tick: Any, lang: str | None) -> Any:
    """The signed-in worker's call-ups of the last day, each with its two answers."""
    lang = lang or "zh"
    me = current()
    if not me.person_id:
        return None
    mine = _desk().callups.for_worker(me.person_id)
    if not mine:
        return None
    cards = []
    for c in mine:
        buttons = [html.Button(t(f"cu_i_{'come' if a == 'coming' else 'cannot'}", lang),
                               id={"type": cids.ANSWER, "callup": c["callup"], "answer": a},
                               n_clicks=0, className=f"cu-answer-btn {a}"
                               + (" chosen" if c["answer"] == a else ""))
                   for a in ("coming", "cannot")]
        cards.append(html.Div([
            html.Div(f"{c['ref']} {c['title']}", className="cu-card-title"),
            html.Div(t("cu_thanks", lang).format(answer=_answer_text(c["answer"], lang))
                     if c["answer"] else _answer_text(None, lang), className="cu-card-state"),
            html.Div(buttons, className="cu-card-buttons"),
        ], className="cu-card", id=f"cu-card-{c['callup']}"))
    return html.Section([html.H2(t("cu_mine", lang), className="cu-h2"), *cards],
                        className="cu-mine-card")


def answer_callup(_clicks: Any, lang: str | None) -> tuple[Any, ...]:
    """The worker's answer (who answers is the session's person, never the page's word)."""
    lang = lang or "zh"
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return NOTHING, NOTHING
    callup_id = trigger.get("callup")
    try:
        _desk().answer(current(), callup_id if isinstance(callup_id, int) else None,
                       trigger.get("answer"))
    except CallupError as exc:
        return callup_refused(exc, lang), NOTHING
    answer = str(trigger.get("answer"))
    return t("cu_thanks", lang).format(answer=_answer_text(answer, lang)), time.time()


def register_field_callup_callbacks() -> None:
    """The worker's call-up callbacks on /field, with the app being built."""
    dash.callback(
        Output(cids.MINE, "children"),
        Input(FIELD_TICK, "n_intervals"), Input(FIELD_LIVE, "data"), Input(cids.FTICK, "data"),
        State(FIELD_LANG, "data"),
    )(show_my_callups)
    dash.callback(
        Output(cids.FMSG, "children"), Output(cids.FTICK, "data", allow_duplicate=True),
        Input({"type": cids.ANSWER, "callup": ALL, "answer": ALL}, "n_clicks"),
        State(FIELD_LANG, "data"), prevent_initial_call=True,
    )(answer_callup)
