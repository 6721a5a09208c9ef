"""The escort's phone page (随车照管员 / 跟车教师): today's trip, the manifest by stop, one tap
per pupil for 上车 / 下车 / 未到, and the counts.

The bus's daily checks (出车前检查, 消毒) are one tap each, answered by the server (not
queued): the check is stored once per bus and local day with its time and the account.

The server only hands over the trip (manifest and tally, as plain data in a Store). The taps
are the phone's own (assets/zn_escort.js): each becomes an event with an idempotency key in a
queue kept in localStorage, shown at once, and sent to POST /api/v1/buses/boarding when the
connection allows; a flaky connection loses nothing and counts nothing twice.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.buses.boarding import escort_trip
from dashboard.buses.fleet import CHECK_KINDS
from dashboard.buses.pupils import (
    POST_TRIP,
    POST_VEHICLE,
    VOLUNTEER,
    Viewer,
    guardian_phone,
    pupil_view,
)
from dashboard.i18n.text import LANGS, t
from dashboard.roles import current
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql.fleet import Fleet
from datasources.sql.pupils import PupilStore
from pages._components import page_title, services, site_header

dash.register_page(__name__, path="/escort", title=page_title("nav_escort"))

LABELS = ("esc_board", "esc_alight", "esc_absent", "esc_expected", "esc_on_board",
          "esc_alighted", "esc_absent_n", "esc_queue", "esc_synced", "esc_offline",
          "esc_board_here", "esc_alight_here", "esc_volunteer", "esc_line_leader",
          "esc_refused", "esc_colon")


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page (assets/zn_escort.js reads the same)."""

    LANG = "escort-lang"
    TRIP = "escort-trip"  # ?trip= (admins), else the escort's posts decide
    DATA = "escort-data"  # the trip as plain data, drawn by assets/zn_escort.js
    TICK = "escort-tick"
    LIST = "escort-list"
    DRAWN = "escort-drawn"
    CHECKS = "escort-checks"  # the bus's daily checks of today
    PRETRIP = "escort-check-pretrip"
    DISINFECT = "escort-check-disinfect"


CHECK_BUTTONS = {ids.PRETRIP: "pretrip", ids.DISINFECT: "disinfect"}


def layout(lang: str | None = None, trip: str | None = None, **_query: Any) -> Any:
    """One column for a phone (390×844 first): the trip, counts, queue, stops and pupils."""
    lang = lang if lang in LANGS else services().settings.lang
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Store(id=ids.TRIP, data=trip if isinstance(trip, str) else None),
        dcc.Store(id=ids.DATA),
        dcc.Interval(id=ids.TICK, interval=15000),
        site_header("/escort", lang),
        html.H1(t("esc_title", lang), className="esc-h1"),
        html.Div([
            html.Div(id=ids.CHECKS, className="esc-checks-state"),
            html.Div([html.Button(t(f"fleet.check.{kind}", lang), id=bid, n_clicks=0,
                                  className="esc-check", **{"data-check": kind})
                      for bid, kind in CHECK_BUTTONS.items()], className="esc-check-row"),
        ], className="esc-checks"),
        # Filled by assets/zn_escort.js (textContent only): trip, counts, queue, stops.
        html.Div(id=ids.LIST, className="esc-list", **{"data-lang": lang}),
        html.Div(id=ids.DRAWN, style={"display": "none"}),
    ], className="esc-page")


def trip_data(who: Any, asked: str | None, lang: str) -> dict[str, Any]:
    """What the phone shows: the escort's trip now (or the admin's ?trip=), its manifest by
    stop with each child's state, the counts and the page's words."""
    svc = services()
    assert svc.store is not None and svc.boarding is not None
    store = PupilStore(svc.store.engine)
    posts = store.posts(who.user_id)
    now = utcnow()
    labels = {k: t(k, lang) for k in LABELS}
    plates = sorted(ref for kind, ref in posts if kind == POST_VEHICLE)
    tracker = svc.hub.tracker if svc.hub is not None else None
    plans = tracker.fleet.plans if tracker is not None else {}
    routes = {p: (tracker.vehicle_records.get(p) or {}).get("route") for p in plates} \
        if tracker is not None else {}
    # The account's trips, and every trip of the route its bus serves.
    mine = {ref for kind, ref in posts if kind == POST_TRIP} | {
        code for code, plan in plans.items() if plan.route in routes.values()}
    if who.role == "admin" and asked:
        mine = {asked[:24]}
    times = {}
    for code in mine:
        found = store.trip_route(code)
        if found is not None:
            times[code] = found[1].stop_times
    # A bus the tracker has on a trip now settles it: the escort rides that bus.
    state = svc.hub.state.trips if svc.hub is not None else {}
    on_now = [row["trip"] for p in plates if (row := state.get(p)) and row.get("trip")]
    trip = on_now[0] if on_now and not (who.role == "admin" and asked) else \
        escort_trip(times, now)
    if trip is None:
        return {"trip": None, "plate": plates[0] if plates else None,
                "message": t("esc_no_trip", lang), "labels": labels}
    day = now.astimezone(LOCAL_TZ).date().isoformat()
    found_tally = svc.boarding.trip_tally(trip, day)
    assert found_tally is not None
    manifest, tally = found_tally
    plate = plates[0] if plates else running_plate(trip)
    viewer = Viewer(who.role, posts)
    stops = []
    for s in manifest.stops:
        pupils = []
        for p in s.pupils:
            seen = pupil_view(p, viewer, trip, plate)
            st = tally.pupils.get(p.id)
            last = st.last if st is not None else None
            pupils.append({"id": p.id, "name": seen["name"], "class": p.klass,
                           "state": st.state if st is not None else "expected",
                           "at": as_utc(last.at).astimezone(LOCAL_TZ).strftime("%H:%M")
                           if last is not None else ""})
        stops.append({"code": s.code, "name": s.name if lang == "zh" else s.name_en or s.name,
                      "time": s.time, "action": s.action, "pupils": pupils,
                      "staff": [{"duty": labels["esc_volunteer" if d.duty == VOLUNTEER
                                                else "esc_line_leader"], "name": d.name,
                                 # a volunteer is a guardian: the one phone rule
                                 "phone": guardian_phone(d.phone, viewer) if d.phone else ""}
                                for d in s.staff]})
    return {"trip": trip, "plate": plate, "day": day, "route": manifest.route,
            "counts": tally.counts(), "stops": stops, "labels": labels}


def running_plate(trip: str) -> str | None:
    """The bus the tracker has on `trip` now, if any."""
    hub = services().hub
    rows = hub.state.trips.values() if hub is not None else []
    return next((r["plate"] for r in rows if r.get("trip") == trip), None)


@dash.callback(Output(ids.DATA, "data"), Input(ids.TICK, "n_intervals"),
               State(ids.TRIP, "data"), State(ids.LANG, "data"), State(ids.DATA, "data"))
def load_escort_trip(_n: Any, asked: Any, lang: Any, shown: Any) -> Any:
    """The escort's trip as plain data, every 15 s (the phone merges its unsent taps over
    it); the first read of a trip on this page is audited as `pupils.manifest`."""
    who = current()
    lang = lang if lang in LANGS else "zh"
    data = trip_data(who, asked if isinstance(asked, str) else None, lang)
    first = not isinstance(shown, dict) or shown.get("trip") != data.get("trip")
    svc = services()
    if data.get("trip") and first and svc.audit is not None:
        svc.audit.record("pupils.manifest", data["trip"],
                         f"/escort, {data['counts']['expected']} pupils", who=who)
    return data


dash.clientside_callback(
    dash.ClientsideFunction(namespace="zn_escort", function_name="render"),
    Output(ids.DRAWN, "children"), Input(ids.DATA, "data"))


def escort_plate(who: Any, asked: str | None, lang: str) -> str | None:
    """The bus whose checks this account records: the bus it looks after, else the bus of
    its trip now (worked out here, never taken from the page)."""
    svc = services()
    assert svc.store is not None
    plates = sorted(ref for kind, ref in PupilStore(svc.store.engine).posts(who.user_id)
                    if kind == POST_VEHICLE)
    if plates:
        return plates[0]
    plate = trip_data(who, asked, lang).get("plate")
    return plate if isinstance(plate, str) else None


def checks_view(plate: str | None, lang: str, now: Any) -> list[Any]:
    """Today's checks of the bus: each with its time and who did it, or not done."""
    if plate is None:
        return [html.Span(t("esc_no_trip", lang))]
    svc = services()
    assert svc.store is not None
    day = now.astimezone(LOCAL_TZ).date().isoformat()
    done = Fleet(svc.store).checks_on(day, plate)
    rows: list[Any] = [html.Div(plate, className="esc-check-plate")]
    for kind in CHECK_KINDS:
        c = done[kind]
        state = t("fleet.check.done", lang).format(
            time=as_utc(c["at"]).astimezone(LOCAL_TZ).strftime("%H:%M"), actor=c["actor"]) \
            if c else t("fleet.check.not_done", lang)
        rows.append(html.Div([html.Span(t(f"fleet.check.{kind}", lang)), " ",
                              html.B(state)],
                             className="esc-check-done" if c else "esc-check-todo",
                             **{"data-check": kind}))
    return rows


@dash.callback(Output(ids.CHECKS, "children"), Input(ids.PRETRIP, "n_clicks"),
               Input(ids.DISINFECT, "n_clicks"), Input(ids.TICK, "n_intervals"),
               State(ids.TRIP, "data"), State(ids.LANG, "data"))
def record_vehicle_check(_pre: Any, _dis: Any, _n: Any, asked: Any, lang: Any) -> Any:
    """One tap records the bus's 出车前检查 or 消毒 of today (a repeat changes nothing), then
    shows today's checks."""
    who = current()
    lang = lang if lang in LANGS else "zh"
    plate = escort_plate(who, asked if isinstance(asked, str) else None, lang)
    now = utcnow()
    kind = CHECK_BUTTONS.get(str(dash.ctx.triggered_id))
    svc = services()
    if kind is not None and plate is not None and svc.store is not None:
        done = Fleet(svc.store).check(plate, kind, who.name, now)
        if done["new"] and svc.audit is not None:
            svc.audit.record("vehicle.check", plate, kind, who=who)
    return checks_view(plate, lang, now)
