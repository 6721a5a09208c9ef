"""/school: a school's staff (学校工作人员) reads today's shuttles of their school (issue 13:
"上车前学校负责"; 未到 is shown to the attendant and the school): per trip, the counts of the
school's own children, who is absent (call home), who is on a bus and who is not on yet.
The school's staff see their school's children by whole name; officers and admins pick a
school. Every opening is audited as a read of the manifests."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard.buses.pupils import POST_SCHOOL, Viewer
from dashboard.buses.school import GROUPS, school_trips
from dashboard.buses.timetable import local_date, runs_on, trip_window
from dashboard.i18n.text import LANGS, t
from dashboard.roles import SCHOOL_STAFF, current
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql.pupils import PupilStore
from pages._components import page_title, services, site_header

PATH = "/school"
dash.register_page(__name__, path=PATH, title=page_title("nav_school"))
REFRESH_MS = 15_000


class ids:  # noqa: N801 - a namespace of constants
    """Component ids of this page."""

    LANG = "sch-lang"
    PICK = "sch-pick"
    TICK = "sch-tick"
    BODY = "sch-body"


def _schools(who: Any) -> list[tuple[str, str, str]]:
    """The schools `who` may read: a school's staff their own (user posts), others all."""
    store = PupilStore(services().store.engine)
    every = store.schools()
    if who.role == SCHOOL_STAFF:
        mine = {ref for kind, ref in store.posts(who.user_id) if kind == POST_SCHOOL}
        return [s for s in every if s[0] in mine]
    return every


def layout(lang: str | None = None, school: str | None = None, **_query: Any) -> Any:
    """A phone-first column (a teacher at the gate) that widens on a desk."""
    lang = lang if lang in LANGS else services().settings.lang
    schools = _schools(current())
    codes = [s[0] for s in schools]
    picked = school if school in codes else (codes[0] if codes else None)
    return html.Div([
        dcc.Store(id=ids.LANG, data=lang),
        dcc.Interval(id=ids.TICK, interval=REFRESH_MS),
        site_header(PATH, lang),
        html.H1(t("sch_title", lang), className="sch-h1"),
        dcc.Dropdown(id=ids.PICK, value=picked, clearable=False, searchable=False,
                     options=[{"label": en if lang == "en" and en else name, "value": code}
                              for code, name, en in schools],
                     className="sch-pick", style={} if len(schools) > 1 else
                     {"display": "none"}),
        html.Div(id=ids.BODY, className="sch-body"),
    ], className="sch-page")


@dash.callback(Output(ids.BODY, "children"), Input(ids.PICK, "value"),
               Input(ids.TICK, "n_intervals"), State(ids.LANG, "data"))
def update_school_view(school: Any, ticks: Any, lang: Any) -> Any:
    """Today's trips of the school, read from the register and the taps."""
    lang = lang if lang in LANGS else "zh"
    who = current()
    svc = services()
    names = {code: (en if lang == "en" and en else name)
             for code, name, en in _schools(who)}
    if not isinstance(school, str) or school not in names:  # not theirs: as if none
        return html.P(t("sch_none", lang), className="sch-muted")
    store = PupilStore(svc.store.engine)
    assert svc.boarding is not None
    tracker = svc.hub.tracker if svc.hub is not None else None
    plans = tracker.fleet.plans if tracker is not None else {}
    now = utcnow()
    today = local_date(now)
    day = today.isoformat()
    hol = tracker.fleet.holidays if tracker is not None else frozenset()
    running = [code for code, plan in sorted(plans.items())
               if runs_on(plan.days, today, hol)]  # a Saturday has no school run
    found = [f for code in running if (f := svc.boarding.recent_tally(code, day))]
    over = frozenset(code for code in running
                     if trip_window(plans[code].times_on(today))[1] < now)
    on_trip = {row.get("trip"): plate for plate, row in svc.hub.state.trips.items()} \
        if svc.hub is not None else {}
    route_bus = {v.get("route"): p for p, v in tracker.vehicle_records.items()} \
        if tracker is not None else {}
    plates = {m.trip: on_trip.get(m.trip) or route_bus.get(m.route) for m, _ in found}
    viewer = Viewer(who.role, store.posts(who.user_id))
    rows = school_trips(school, found, viewer, plates, over)
    if not ticks and svc.audit is not None:  # an opening, not its refreshes
        svc.audit.record("pupils.manifest", school,
                         f"{PATH} · {sum(r['counts']['expected'] for r in rows)}",
                         who=who)
    if not rows:
        return html.P(t("sch_no_trips", lang), className="sch-muted")
    return [html.H2(names[school], className="sch-school"),
            *(_trip_card(r, lang) for r in rows)]


def _trip_card(r: dict[str, Any], lang: str) -> Any:
    way = t("par_home" if r["home"] else "par_to_school", lang) + (
        f" · {t('par_state_over', lang)}" if r["over"] else "")
    head = f"{way} · {r['departs']}–{r['arrives']} · {r['trip']}" + (
        f" · {r['plate']}" if r["plate"] else "")
    counts = html.Div([html.Div([html.B(str(r["counts"][k])), html.Span(t(label, lang))],
                                className=f"esc-count esc-count-{k}")
                       for k, label in (("expected", "esc_expected"),
                                        ("on_board", "esc_on_board"),
                                        ("alighted", "esc_alighted"),
                                        ("absent", "esc_absent_n"))], className="esc-counts")
    def key(g: str) -> str:  # after the trip, "not on yet" is "did not ride"
        return f"sch_group_{g}" + ("_over" if r["over"] and g == "expected" else "")

    groups = []
    for g in GROUPS:
        kids = r["groups"][g]
        if not kids:
            continue
        groups.append(html.Div([
            html.H3(f"{t(key(g), lang)} {len(kids)}", className=f"sch-g sch-g-{g}"),
            html.Ul([html.Li([
                html.Span(k["name"], className="sch-name"),
                html.Span(f"{k['class']} · {k['stop_en'] if lang == 'en' else k['stop']}",
                          className="sch-meta"),
                html.Span(as_utc(k["at"]).astimezone(LOCAL_TZ).strftime("%H:%M")
                          if k["at"] else "", className="sch-at"),
            ], className=f"sch-kid sch-kid-{g}", **{"data-pupil": k["id"]}) for k in kids],
                className="sch-kids"),
        ]))
    return html.Section([html.Div(head, className="sch-trip"), counts, *groups],
                        className="sch-card", **{"data-trip": r["trip"]})
