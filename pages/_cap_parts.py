"""The duty console's 预警发布 panel (issue 15): an officer drafts a warning (event type,
severity, urgency, certainty, headline, description, instruction, affected grids, expiry),
previews its CAP 1.2 XML, issues it, and cancels an issued one with a reason.

A drawer over the console, opened by the header's 预警发布 button (clientside, no server
round trip). Every step goes through the warning desk (datasources/flows/warnings.py),
which validates, stores, queues the push and audits; a refusal is the desk's coded
BadInput shown in the page's language, never an exception.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.alerts.cap import (
    CERTAINTIES,
    EVENTS,
    EXPIRY_HOURS,
    ISSUABLE_STATUSES,
    SEVERITIES,
    SEVERITY_COLOURS,
    URGENCIES,
    is_current,
)
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, t
from dashboard.incidents.errors import LoopError
from dashboard.roles import current
from dashboard.timeutil import LOCAL_TZ, utcnow
from pages._components import services
from pages._dispatch_parts import toast

CONSOLE_LANG = "disp-lang"  # the console's language Store (pages/_dispatch_parts.ids.LANG)


class cids:  # noqa: N801 - a namespace of constants
    """Component ids of the warning panel."""

    OPEN = "cap-open"
    CLOSE = "cap-close"
    PANEL = "cap-panel"
    EVENT = "cap-event"
    SEVERITY = "cap-severity"
    URGENCY = "cap-urgency"
    CERTAINTY = "cap-certainty"
    STATUS = "cap-status"
    HOURS = "cap-hours"
    HEADLINE = "cap-headline"
    DESCRIPTION = "cap-description"
    INSTRUCTION = "cap-instruction"
    GRIDS = "cap-grids"
    PREVIEW = "cap-preview"
    ISSUE = "cap-issue"
    TOAST = "cap-toast"
    XML = "cap-xml"
    LIST = "cap-list"
    REASON = "cap-reason"
    LIST_TICK = "cap-list-tick"
    CANCEL = "cap-cancel"  # pattern: {"type": CANCEL, "id": identifier}


FORM = [State(cids.EVENT, "value"), State(cids.SEVERITY, "value"),
        State(cids.URGENCY, "value"), State(cids.CERTAINTY, "value"),
        State(cids.STATUS, "value"), State(cids.HOURS, "value"),
        State(cids.HEADLINE, "value"), State(cids.DESCRIPTION, "value"),
        State(cids.INSTRUCTION, "value"), State(cids.GRIDS, "value"),
        State(CONSOLE_LANG, "data")]


def open_button(lang: str) -> Any:
    """The header's 预警发布 button."""
    return html.Button(t("cap_open", lang), id=cids.OPEN, n_clicks=0,
                       className="disp-link cap-open-btn")


def _options(prefix: str, codes: tuple[str, ...] | list[str], lang: str) -> list[dict[str, str]]:
    return [{"label": t(f"{prefix}{c}", lang), "value": c} for c in codes]


def _field(label: str, control: Any, wide: bool = False) -> Any:
    return html.Label([html.Span(label, className="cap-label"), control],
                      className="cap-field wide" if wide else "cap-field")


def cap_panel(lang: str) -> Any:
    """The drawer: the form, the preview, the issued warnings."""
    grids = sorted(services().grids.values(), key=lambda g: (g.level, g.code))
    grid_options = [{"label": f"{g.code} {g.name_en if lang == 'en' else g.name}",
                     "value": g.code} for g in grids]
    dd = {"clearable": False, "searchable": False, "className": "disp-dd cap-dd"}
    return html.Aside([
        dcc.Store(id=cids.LIST_TICK, data=0),
        html.Div([html.H2(t("cap_title", lang)),
                  html.A(t("cap_feed_link", lang), href="/api/v1/cap/feed.atom",
                         target="_blank", className="cap-feed-link"),
                  html.Button("×", id=cids.CLOSE, n_clicks=0, className="cap-close",
                              title=t("cap_close", lang))], className="cap-head"),
        html.Div([
            _field(t("cap_event", lang), dcc.Dropdown(
                id=cids.EVENT, options=_options("cap_ev_", list(EVENTS), lang),
                value="flood", **dd)),
            _field(t("cap_severity", lang), dcc.Dropdown(
                id=cids.SEVERITY, options=_options("cap_sev_", SEVERITIES, lang),
                value="Moderate", **dd)),
            _field(t("cap_urgency", lang), dcc.Dropdown(
                id=cids.URGENCY, options=_options("cap_urg_", URGENCIES, lang),
                value="Expected", **dd)),
            _field(t("cap_certainty", lang), dcc.Dropdown(
                id=cids.CERTAINTY, options=_options("cap_cer_", CERTAINTIES, lang),
                value="Likely", **dd)),
            _field(t("cap_status", lang), dcc.Dropdown(
                id=cids.STATUS, options=_options("cap_st_", ISSUABLE_STATUSES, lang),
                value="Actual", **dd)),
            _field(t("cap_hours", lang), dcc.Dropdown(
                id=cids.HOURS, options=[{"label": t("cap_hours_n", lang).format(n=h),
                                         "value": h} for h in EXPIRY_HOURS],
                value=12, **dd)),
            _field(t("cap_headline", lang), dcc.Input(
                id=cids.HEADLINE, type="text", maxLength=120, className="cap-input",
                placeholder=t("cap_headline_ph", lang), debounce=False), wide=True),
            _field(t("cap_description", lang), dcc.Textarea(
                id=cids.DESCRIPTION, maxLength=2000, className="cap-text"), wide=True),
            _field(t("cap_instruction", lang), dcc.Textarea(
                id=cids.INSTRUCTION, maxLength=1000, className="cap-text"), wide=True),
            _field(t("cap_grids", lang), dcc.Dropdown(
                id=cids.GRIDS, options=grid_options, value=[], multi=True,
                placeholder=t("cap_grids_ph", lang), className="disp-dd cap-dd"), wide=True),
        ], className="cap-form"),
        html.Div([html.Button(t("cap_preview", lang), id=cids.PREVIEW, n_clicks=0,
                              className="disp-btn"),
                  html.Button(t("cap_issue", lang), id=cids.ISSUE, n_clicks=0,
                              className="disp-btn primary"),
                  html.Div("", id=cids.TOAST, className="disp-toast cap-toast",
                           role="status")], className="cap-actions"),
        html.Pre("", id=cids.XML, className="cap-xml", hidden=True),
        html.Div([html.H2(t("cap_issued", lang)),
                  dcc.Input(id=cids.REASON, type="text", maxLength=200, debounce=False,
                            placeholder=t("cap_reason_ph", lang), className="cap-input")],
                 className="cap-list-head"),
        html.Div(id=cids.LIST, className="cap-list"),
    ], id=cids.PANEL, className="cap-panel", hidden=True)


def _form(values: tuple[Any, ...]) -> tuple[dict[str, Any], str]:
    (event, severity, urgency, certainty, status, hours, headline, description,
     instruction, grids, lang) = values
    lang = lang if lang in LANGS else "zh"
    return ({"event": event, "severity": severity, "urgency": urgency,
             "certainty": certainty, "status": status, "hours": hours, "headline": headline,
             "description": description, "instruction": instruction, "grids": grids,
             "lang": lang}, lang)


def _refused(exc: LoopError, lang: str) -> tuple[Any, str]:
    return toast(t("disp_err", lang) + error_text(exc, lang)), "disp-toast cap-toast err"


def issued_rows(lang: str) -> list[Any]:
    """The issued messages, newest first: alerts in force with their 撤销 button."""
    rows = services().warnings.recent(30)
    if not rows:
        return [html.Div(t("cap_none", lang), className="cap-empty")]
    now = utcnow()
    out = []
    for r in rows:
        live = r.msg_type == "Alert" and is_current(r.expires, r.cancelled_by is not None, now)
        state = ("cap_in_force" if live else "cap_cancelled" if r.cancelled_by
                 else "cap_expired") if r.msg_type == "Alert" else "cap_cancel_notice"
        until = t("cap_until", lang).format(
            at=r.expires.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M"))
        out.append(html.Div([
            html.Div([html.Span("", className=f"cap-dot "
                                f"{SEVERITY_COLOURS.get(r.severity, 'blue')}"),
                      html.Span(t(f"cap_ev_{r.event}", lang), className="cap-ev"),
                      html.Span(r.headline, className="cap-hl"),
                      html.Span(t(state, lang), className=f"cap-state {state}")],
                     className="cap-row-top"),
            html.Div([html.A(r.identifier, href=f"/api/v1/cap/{r.identifier}.xml",
                             target="_blank", className="cap-id"),
                      html.Span(until if r.msg_type == "Alert" else "", className="cap-until"),
                      html.Button(t("cap_cancel", lang),
                                  id={"type": cids.CANCEL, "id": r.identifier}, n_clicks=0,
                                  className="disp-btn cap-cancel-btn") if live else None],
                     className="cap-row-bottom"),
        ], className=f"cap-row {r.msg_type.lower()}", id=f"cap-row-{r.identifier}"))
    return out


def register_cap_callbacks() -> None:
    """Register the panel's callbacks; called by pages/dispatch.py each time Dash loads it."""
    dash.clientside_callback(
        """function(open, close, hidden) {
            const id = window.dash_clientside.callback_context.triggered_id;
            if (id === 'cap-open') { return !hidden; }
            return true;
        }""",
        Output(cids.PANEL, "hidden"), Input(cids.OPEN, "n_clicks"),
        Input(cids.CLOSE, "n_clicks"), State(cids.PANEL, "hidden"), prevent_initial_call=True)

    @dash.callback(Output(cids.LIST, "children"), Input(cids.LIST_TICK, "data"),
                   State(CONSOLE_LANG, "data"))
    def list_warnings(_tick: Any, lang: str | None) -> list[Any]:
        """The issued warnings, redrawn after each issue or cancel."""
        return issued_rows(lang if lang in LANGS else "zh")

    @dash.callback(Output(cids.XML, "children"), Output(cids.XML, "hidden"),
                   Output(cids.TOAST, "children"), Output(cids.TOAST, "className"),
                   Input(cids.PREVIEW, "n_clicks"), *FORM, prevent_initial_call=True)
    def preview_warning(clicks: int | None, *values: Any) -> tuple[Any, ...]:
        """The CAP XML the draft would be issued as (validated), without issuing it."""
        if not clicks:
            raise PreventUpdate
        raw, lang = _form(values)
        try:
            xml, areas = services().warnings.preview(raw)
        except LoopError as exc:
            return ("", True, *_refused(exc, lang))
        return (xml, False, toast(t("cap_preview_ok", lang).format(n=areas)),
                "disp-toast cap-toast ok")

    @dash.callback(Output(cids.TOAST, "children", allow_duplicate=True),
                   Output(cids.TOAST, "className", allow_duplicate=True),
                   Output(cids.LIST_TICK, "data"),
                   Output(cids.XML, "children", allow_duplicate=True),
                   Output(cids.XML, "hidden", allow_duplicate=True),
                   Input(cids.ISSUE, "n_clicks"), *FORM, prevent_initial_call=True)
    def issue_warning(clicks: int | None, *values: Any) -> tuple[Any, ...]:
        """发布: issue the warning as the signed-in officer (stored, pushed, audited)."""
        if not clicks:
            raise PreventUpdate
        raw, lang = _form(values)
        try:
            done = services().warnings.issue(raw, current())
        except LoopError as exc:
            return (*_refused(exc, lang), no_update, no_update, no_update)
        message = t("cap_ok_issue", lang).format(id=done.identifier)
        if done.pushed:
            message += " · " + t("cap_pushed", lang).format(n=done.pushed)
        return toast(message), "disp-toast cap-toast ok", time.time(), done.xml, False

    @dash.callback(Output(cids.TOAST, "children", allow_duplicate=True),
                   Output(cids.TOAST, "className", allow_duplicate=True),
                   Output(cids.LIST_TICK, "data", allow_duplicate=True),
                   Output(cids.REASON, "value"),
                   Input({"type": cids.CANCEL, "id": ALL}, "n_clicks"),
                   State(cids.REASON, "value"), State(CONSOLE_LANG, "data"),
                   prevent_initial_call=True)
    def cancel_warning(_clicks: list[Any], reason: Any, lang: str | None) -> tuple[Any, ...]:
        """撤销: cancel the warning clicked, with the reason typed above the list."""
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not ctx.triggered or \
                not ctx.triggered[0].get("value"):
            raise PreventUpdate
        lang = lang if lang in LANGS else "zh"
        try:
            done = services().warnings.cancel(trigger.get("id"), reason, current())
        except LoopError as exc:
            return (*_refused(exc, lang), no_update, no_update)
        return (toast(t("cap_ok_cancel", lang).format(id=trigger.get("id"))
                      + " → " + done.identifier),
                "disp-toast cap-toast ok", time.time(), "")
