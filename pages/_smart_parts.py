"""智能派单 in the duty console (issue 18): the hotline operator's new-report form with the
category and unit suggested as they type, the suggestion card of a work order (dispatch to
the suggested unit in one click), the "possible duplicate of" banner, and every caller with
their own 回访. Builders and this section's callbacks; the console's own are pages/dispatch.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import LANGS, category_label, name, source_label, t
from dashboard.incidents.errors import BadInput, LoopError
from dashboard.incidents.lifecycle import CATEGORIES
from dashboard.incidents.rules import (
    actor_of,
    check_may_act,
    dispatch_plan,
    unit_assignee_id,
)
from dashboard.inputs import parse_id, text_param, whole_number
from dashboard.messages import IncidentReport
from dashboard.roles import current, personal
from datasources.sql import suggestions
from pages._components import services

MAX_FORM_TEXT = 500


class sids:  # noqa: N801 - a namespace of constants
    """Component ids of the console's smart-intake parts."""

    FORM = "disp-new"
    TEXT = "disp-new-text"
    PLACE = "disp-new-place"
    CATEGORY = "disp-new-category"
    PHONE = "disp-new-phone"
    CALLER = "disp-new-caller"
    SUGGEST = "disp-new-suggest"
    SUBMIT = "disp-new-submit"
    MSG = "disp-new-msg"
    RATE = "disp-rate"  # pattern: {"type": RATE, "report": report id}


# ---------------------------------------------------------------------------- builders
def place_options(lang: str) -> list[dict[str, str]]:
    """The level-3 grids (where a caller says it is), by code."""
    cells = services().grids
    return [{"label": name({"name": g.name, "name_en": g.name_en}, lang), "value": g.code}
            for g in sorted(cells.values(), key=lambda g: g.code) if g.level == 3]


def new_report_form(lang: str) -> Any:
    """The hotline operator's form: free text, where, caller; category pre-set from the
    suggestion (the operator may change it)."""
    cats = [{"label": category_label(c.code, lang), "value": c.code} for c in CATEGORIES]
    return html.Details([
        html.Summary(t("smart_new", lang), className="disp-new-summary"),
        dcc.Textarea(id=sids.TEXT, placeholder=t("smart_text_ph", lang), maxLength=MAX_FORM_TEXT,
                     className="disp-new-text"),
        html.Div([
            dcc.Dropdown(id=sids.PLACE, options=place_options(lang), value=None,
                         placeholder=t("smart_place_ph", lang), className="disp-dd"),
            dcc.Input(id=sids.CALLER, type="text", maxLength=40, autoComplete="off",
                      placeholder=t("smart_caller_ph", lang), className="disp-new-input"),
            dcc.Input(id=sids.PHONE, type="text", maxLength=20, autoComplete="off",
                      placeholder=t("smart_phone_ph", lang), className="disp-new-input"),
        ], className="disp-new-row"),
        html.Div(t("smart_wait", lang), id=sids.SUGGEST, className="disp-new-suggest"),
        html.Div([
            dcc.Dropdown(id=sids.CATEGORY, options=cats, value=None, clearable=False,
                         placeholder=t("smart_category_ph", lang), className="disp-dd"),
            html.Button(t("smart_submit", lang), id=sids.SUBMIT, n_clicks=0,
                        className="disp-btn primary disp-new-submit"),
        ], className="disp-new-row"),
        html.Div("", id=sids.MSG, className="disp-new-msg", role="status"),
    ], id=sids.FORM, className="disp-new", open=False)


def _unit_name(unit_id: str | None, lang: str) -> str:
    unit = services().store.unit(unit_id) if unit_id else None
    if unit is None:
        return unit_id or "—"
    return unit.name_en if lang == "en" and unit.name_en else unit.name


def _pct(p: float | None) -> str:
    return f"{round((p or 0) * 100)}%"


def suggestion_chips(found: dict[str, Any], lang: str) -> list[Any]:
    """The suggested category and unit with their confidences, the runners-up after."""
    others = ("、" if lang == "zh" else ", ").join(
        category_label(c, lang) for c, _ in found["categories"][1:])
    return [
        html.Span(t("smart_suggested", lang), className="sg-label"),
        html.Span([category_label(found["category"], lang),
                   html.Small(_pct(found["confidence"]))], className="sg-chip sg-category"),
        html.Span([_unit_name(found.get("unit_id"), lang),
                   html.Small(_pct(found.get("unit_confidence")))], className="sg-chip sg-unit")
        if found.get("unit_id") else None,
        html.Span(t("smart_others", lang).format(others=others), className="sg-others")
        if others else None,
    ]


def suggestion_card(found: dict[str, Any] | None, inc: dict[str, Any], index: int | None,
                    lang: str) -> list[Any]:
    """The work order's suggestion; `index`: the place of 'dispatch to the suggested unit'
    in the recommendations (None: not offered now)."""
    if found is None:
        return []
    decided = found.get("accepted")
    body: list[Any] = [html.Div(suggestion_chips(found, lang), className="sg-chips")]
    if found["category"] != inc["category"]:
        body.append(html.Div(t("smart_other_category", lang).format(
            category=category_label(inc["category"], lang)), className="sg-note"))
    if decided is not None:
        body.append(html.Div(t("smart_accepted" if decided else "smart_changed", lang),
                             className="sg-note"))
    if index is not None and found.get("unit_id"):
        body.append(html.Button(
            t("smart_dispatch", lang).format(unit=_unit_name(found["unit_id"], lang)),
            id={"type": "disp-rec", "index": index}, n_clicks=0,
            className="disp-btn primary disp-rec-btn sg-dispatch"))
    body.append(html.Div(t("smart_model", lang).format(version=found.get("version", "")),
                         className="sg-model"))
    return [html.Div([html.H3(t("smart_title", lang), className="sg-head"), *body],
                     className="rec-card sg-card", **{"data-unit": found.get("unit_id") or ""})]


def offer_suggestion(inc: dict[str, Any], context: dict[str, Any], centre: bool,
                     may_dispatch: bool) -> tuple[dict[str, Any] | None, int | None]:
    """The work order's suggestion (the town centre's console shows it) and, while it is
    undecided and the order can be dispatched, its unit as one more recommendation of the
    page's context; returns (suggestion, its place among the recommendations)."""
    found = suggestions.of(services().store, inc["id"]) if centre else None
    if not found or not found.get("unit_id") or found.get("accepted") is not None or \
            not may_dispatch or not dispatch_plan(inc["state"]):
        return found, None
    unit = services().store.unit(found["unit_id"])
    if unit is None or not unit.handles(inc["category"]):
        return found, None  # it does not take this order's category: no one-click offer
    context["recs"].append({"id": unit_assignee_id(found["unit_id"]), "name": found["unit_id"]})
    return found, len(context["recs"]) - 1


def duplicate_banner(inc: dict[str, Any], lang: str) -> Any:
    """'Possible duplicate of …' with a link; the 合并 button is the loop's (ACTIONS)."""
    if not inc.get("dup_of") or inc["state"] in ("void",):
        return None
    try:
        other = services().store.view(int(inc["dup_of"]))
    except LoopError:
        return None
    return html.Div([
        html.Span(t("smart_dup", lang), className="dup-label"),
        dcc.Link(f"{other.ref} {other.title}", href=f"/dispatch?incident={other.id}&lang={lang}",
                 refresh=True, className="dup-link"),
        html.Span(t("smart_dup_hint", lang), className="dup-hint"),
    ], className="disp-dup")


def callers_section(callers: list[dict[str, Any]], lang: str, can_rate: bool) -> Any:
    """Every caller of the work order, contacts as the viewer may see them (roles.personal),
    each with their own 回访 (the satisfaction picked in the action bar)."""
    rows = [html.Li([
        html.Span(source_label(c["source"], lang), className="caller-src"),
        html.Span(personal(c["name"], "name") or t("smart_anonymous", lang),
                  className="caller-name"),
        html.Span(personal(c["phone"], "phone") or "—", className="caller-phone"),
        html.Span(f"{c['satisfaction']}/5" if c["satisfaction"] else "—",
                  className="caller-sat"),
        html.Button(t("smart_rate", lang), id={"type": sids.RATE, "report": c["report_id"]},
                    n_clicks=0, className="disp-btn caller-rate") if can_rate else None,
    ], className="caller-row", **{"data-id": str(c["report_id"])}) for c in callers]
    return html.Div([html.H4(t("smart_callers", lang).format(n=len(callers)),
                             className="disp-reports-head"),
                     html.Ul(rows, className="disp-callers-list")], className="disp-callers")


# ---------------------------------------------------------------------------- callbacks
def _point(grid_code: str) -> tuple[float, float]:
    from shapely.geometry import shape  # noqa: PLC0415

    cell = services().grids.get(grid_code)
    if cell is None or cell.level != 3:
        raise BadInput("invalid", detail="place")
    p = shape(cell.geometry).representative_point()
    return float(p.x), float(p.y)


def register_smart_callbacks() -> None:
    """This section's callbacks, for the app being built: pages/dispatch.py calls it each
    time Dash loads the page (this helper module is imported once per process, and a second
    app in the same process, as in the tests, needs its own callbacks)."""

    @dash.callback(Output(sids.SUGGEST, "children"), Output(sids.CATEGORY, "value"),
                   Input(sids.TEXT, "value"), Input(sids.PLACE, "value"),
                   State(sids.CATEGORY, "value"), State("disp-lang", "data"),
                   prevent_initial_call=True)
    def suggest_as_typed(text: Any, place: Any, category: Any, lang: Any) -> tuple[Any, Any]:
        """The category and unit suggested for what the operator has typed so far."""
        lang = lang if lang in LANGS else "zh"
        try:
            said = (text_param(text, "text") or "").strip()[:MAX_FORM_TEXT]
            grid = services().grids.get(str(place)) if isinstance(place, str) else None
        except BadInput:
            raise PreventUpdate from None
        if len(said) < 4:
            return t("smart_wait", lang), no_update
        found = services().suggester.suggest(said, village=grid.village if grid else None)
        if found is None:
            return t("smart_no_model", lang), no_update
        # The suggestion pre-sets the category while the operator has not chosen one.
        keep = ctx.triggered_id == sids.PLACE and category
        return (suggestion_chips(found.as_dict(), lang),
                no_update if keep else found.category)

    @dash.callback(Output(sids.MSG, "children"), Output(sids.MSG, "className"),
                   Output("disp-selected", "data", allow_duplicate=True),
                   Output(sids.TEXT, "value"),
                   Input(sids.SUBMIT, "n_clicks"),
                   State(sids.TEXT, "value"), State(sids.PLACE, "value"),
                   State(sids.CATEGORY, "value"), State(sids.CALLER, "value"),
                   State(sids.PHONE, "value"), State("disp-lang", "data"),
                   prevent_initial_call=True)
    def take_hotline_report(clicks: Any, text: Any, place: Any, category: Any, caller: Any,
                            phone: Any, lang: Any) -> tuple[Any, ...]:
        """Store the operator's report (source 12345), then open it in the console."""
        if not clicks:
            raise PreventUpdate
        lang = lang if lang in LANGS else "zh"
        err = "disp-new-msg err"
        said = (text if isinstance(text, str) else "").strip()
        if not said or not isinstance(place, str) or not isinstance(category, str):
            return t("smart_missing", lang), err, no_update, no_update
        try:
            lon, lat = _point(place)
            title = said.splitlines()[0][:30]
            report = IncidentReport(
                source="hotline", category=category, title=title,
                description=said[:MAX_FORM_TEXT], lon=lon, lat=lat,
                reporter_name=(caller or "").strip()[:40] or None
                if isinstance(caller, str) else None,
                reporter_phone=(phone or "").strip() or None if isinstance(phone, str) else None)
        except (BadInput, ValueError):
            return t("smart_bad", lang), err, no_update, no_update
        out = services().intake.handle(report)
        if out.rejected or out.event is None or out.event.incident is None:
            return (t("smart_bad", lang) + (out.detail or "")[:120], err, no_update, no_update)
        view = out.event.incident
        key = "smart_merged" if out.merged else "smart_stored"
        return (t(key, lang).format(ref=view.ref), "disp-new-msg ok", view.id, "")

    @dash.callback(Output("disp-toast", "children", allow_duplicate=True),
                   Output("disp-toast", "className", allow_duplicate=True),
                   Output("disp-tick", "data", allow_duplicate=True),
                   Input({"type": sids.RATE, "report": ALL}, "n_clicks"),
                   State("disp-ctx", "data"), State("disp-satisfaction", "value"),
                   State("disp-lang", "data"), prevent_initial_call=True)
    def rate_caller(_clicks: Any, seen: Any, satisfaction: Any, lang: Any) -> tuple[Any, ...]:
        """回访 of one caller: their own satisfaction, picked in the action bar."""
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not ctx.triggered or \
                not ctx.triggered[0].get("value") or not isinstance(seen, dict):
            raise PreventUpdate
        lang = lang if lang in LANGS else "zh"
        me = current()
        try:
            order = services().store.incident(parse_id(seen.get("id"), "incident"))
            check_may_act(me, "close", order)
            score = whole_number(satisfaction, "satisfaction", 1, 5) \
                if satisfaction is not None else None
            if score is None:
                raise BadInput("satisfaction_required", action="close")
            services().intake.rate_caller(parse_id(trigger.get("report"), "report"), score,
                                          actor_of(me))
        except LoopError as exc:
            return (t("disp_err", lang) + error_text(exc, lang), "disp-toast err", no_update)
        return ("✓ " + t("smart_rated", lang).format(score=score), "disp-toast ok", time.time())
