"""Who may do what: roles, the policy registry of every route, page and callback, masking.

Default DENY: a route, page or server callback that is not declared here is refused for
everybody, and tests/test_auth_matrix.py fails naming it. A new area adds its rows here:
an HTTP route to ROUTES (method, the template exactly as the router declares it; a
source's door gets INGEST_DOOR so ingest keys work), a Dash page to PAGES, each server
callback to CALLBACKS as "module.function".
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

ADMIN, OFFICER, LEADER = "admin", "officer", "leader"
GRID_WORKER, DISPLAY = "grid_worker", "display"
# Issue 13: the staff on board a school bus (随车照管员/跟车教师) and a school's staff; each
# account names what it looks after (user_posts: a trip or vehicle, a school).
ESCORT, SCHOOL_STAFF = "escort", "school_staff"
# Issue 14: a unit's handler (a town office or county department) and a village officer
# (村/社区, the village small brain); both accounts name their unit by id.
HANDLER, VILLAGE = "handler", "village"
ROLES: tuple[str, ...] = (ADMIN, OFFICER, LEADER, GRID_WORKER, DISPLAY, ESCORT, SCHOOL_STAFF,
                          HANDLER, VILLAGE)
UNIT_ROLES: frozenset[str] = frozenset({HANDLER, VILLAGE})
# Not people: an ingest API key (a source) and nobody at all.
INGEST, ANON = "ingest", "anon"
# Issue 13: a child's guardian (监护人) holding the link the school sent (a revocable token,
# exchanged for a cookie). Not staff: not in ROLES, so no door "for anyone signed in" opens
# to them; they reach /parent, its callbacks and the page plumbing only.
GUARDIAN = "guardian"
ROLE_LABELS: dict[str, tuple[str, str]] = {
    ADMIN: ("管理员", "Administrator"), OFFICER: ("值班员", "Duty officer"),
    LEADER: ("领导", "Leader"), GRID_WORKER: ("网格员", "Grid worker"),
    DISPLAY: ("大屏", "Wall display"),
    ESCORT: ("随车照管员", "Bus escort"), SCHOOL_STAFF: ("学校工作人员", "School staff"),
    GUARDIAN: ("监护人", "Guardian"), HANDLER: ("承办单位", "Unit handler"),
    VILLAGE: ("村(社区)干部", "Village officer"),
}

Roles = frozenset[str]
PUBLIC: Roles = frozenset({ANON, INGEST, GUARDIAN, *ROLES})  # everybody
PEOPLE: Roles = frozenset(ROLES)  # anyone signed in, the wall's kiosk token included
WALL: Roles = frozenset({ADMIN, OFFICER, LEADER, DISPLAY})
CONSOLE_READ: Roles = frozenset({ADMIN, OFFICER, LEADER})
CONSOLE_ACT: Roles = frozenset({ADMIN, OFFICER})
# The console as a unit's handler or a village officer works it: narrowed by the server to
# their unit or village (dashboard/incidents/rules.scope_of, may_see, may_act).
DESK: Roles = CONSOLE_READ | UNIT_ROLES
VILLAGE_PAGE: Roles = frozenset({ADMIN, VILLAGE})
FIELD: Roles = frozenset({ADMIN, GRID_WORKER})
AUDIT: Roles = frozenset({ADMIN, LEADER})
INGEST_DOOR: Roles = frozenset({INGEST, ADMIN, OFFICER})
# What Dash needs to draw any page (the shell, layout, dependencies, callbacks): each page
# and callback is then checked on its own, so a guardian gets no further than /parent.
PAGE_SHELL: Roles = frozenset({*PEOPLE, GUARDIAN})
PARENTS: Roles = frozenset({GUARDIAN})
ADMINS: Roles = frozenset({ADMIN})  # the administrator's page (/admin) and its callbacks
# 应急抽调 (issue 16): calling up off-duty grid workers for an incident is the duty
# officer's step, and only theirs (the panel, its callbacks and the flow all read this).
CALLUP: Roles = frozenset({OFFICER})
# Issue 16: who plans and records a station's drills (应急演练): the duty officers and the
# administrator, as for every other step on /resources; everyone of the console reads them.
DRILL_ACT: Roles = CONSOLE_ACT


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, a kiosk token, an ingest key, or nobody."""

    role: str = ANON
    name: str = ""
    kind: str = "anon"  # user | kiosk | key | guardian | anon
    source: str = ""  # the ingest key's source (for keys)
    ip: str = ""
    session: str = ""  # hash of the session token, to re-check a long-lived websocket
    user_id: int | None = None  # the account (users.id) of a signed-in user
    # The person a grid worker is (grid_workers.id); a guardian's recipient id
    # (dashboard.buses.notify.guardian_recipient: "guardian:PUPIL/SEQ").
    person_id: str | None = None
    key_id: int | None = None  # the ingest key (api_keys.id) a source holds
    scopes: frozenset[str] = frozenset()  # what that key may do (see KEY_SCOPES)
    unit_id: str | None = None  # the unit a handler or village officer works for
    village: str | None = None  # a village officer's village (villages.csv code)
    grid: str | None = None  # a grid worker's level-3 grid (grid_workers.grid_code): 核查

    @property
    def signed_in(self) -> bool:
        """True for anyone but nobody."""
        return self.role != ANON


def check_unit_account(role: str, unit_id: str | None, tier: str | None) -> None:
    """Raise ValueError unless the account's unit fits its role: a handler works for a
    town office or county department, a village officer for a village office, and no
    other role names a unit. `tier` is the named unit's (None: no such unit)."""
    if role not in UNIT_ROLES:
        if unit_id:
            raise ValueError(f"role {role} names no unit")
        return
    want = ("village",) if role == VILLAGE else ("town", "county")
    if not unit_id or tier not in want:
        raise ValueError(f"role {role} needs the id of a unit of tier {'/'.join(want)}; "
                         f"{unit_id!r} is not one")


def check_person_account(role: str, person_id: str | None) -> None:
    """Raise ValueError unless a grid worker's account names its person (grid_workers.id:
    work orders reach a phone by person id) and no other account names one."""
    if role == GRID_WORKER and not (person_id or "").strip():
        raise ValueError("a grid worker's account needs the worker's id")
    if role != GRID_WORKER and (person_id or "").strip():
        raise ValueError(f"role {role} names no grid worker")


NOBODY = Principal()
CURRENT: ContextVar[Principal] = ContextVar("zn_principal", default=NOBODY)


def current() -> Principal:
    """The principal of the request, websocket message or callback being served."""
    return CURRENT.get()


# ---------------------------------------------------------------- HTTP routes
# (method, path template as the router declares it) -> roles. HEAD follows GET.
ROUTES: dict[tuple[str, str], Roles] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PEOPLE,
    ("GET", "/logout"): PEOPLE,
    ("GET", "/api/health"): PUBLIC,  # load balancers and monitors; no personal data
    ("GET", "/api/openapi.json"): PEOPLE,
    ("GET", "/api/docs"): PEOPLE,  # Swagger UI, served offline (doors/api_docs.py)
    ("GET", "/api/docs/static/{name}"): PEOPLE,
    ("POST", "/api/v1/incidents"): INGEST_DOOR,
    # Handlers and village officers read their unit's or village's only (rules.may_see).
    ("GET", "/api/v1/incidents/{incident_id}"): frozenset({INGEST, *DESK}),
    # Open311 reads are public by the GeoReport standard (no personal data in them); every
    # call in JSON or XML by its suffix (the door refuses other formats in the spec's shape).
    ("GET", "/open311/v2/services.{format}"): PUBLIC,
    ("GET", "/open311/v2/services/{service_code}.{format}"): PUBLIC,
    ("GET", "/open311/v2/requests.{format}"): PUBLIC,
    ("GET", "/open311/v2/requests/{service_request_id}.{format}"): PUBLIC,
    ("GET", "/open311/v2/tokens/{token}.{format}"): PUBLIC,
    # The api_key in the form is the credential (checked by the door itself).
    ("POST", "/open311/v2/requests.{format}"): PUBLIC,
    # Any other path or method under /open311: the door's 404 (or 405) in the spec's error
    # format, not the gate's 401 (after the Open311 rows: the first template that fits wins).
    ("GET", "/open311{rest:path}"): PUBLIC,
    ("POST", "/open311{rest:path}"): PUBLIC,
    ("PUT", "/open311{rest:path}"): PUBLIC,
    ("PATCH", "/open311{rest:path}"): PUBLIC,
    ("DELETE", "/open311{rest:path}"): PUBLIC,
    ("GET", "/api/v1/field/tasks"): FIELD,
    ("GET", "/api/v1/field/checks"): FIELD,  # 核查 by the grid's worker (issue 14)
    ("POST", "/api/v1/field/incidents/{incident_id}/{action}"): FIELD,
    # 随手拍 (issue 15): a grid worker's report with a photo; the kept photos, each checked
    # again inside (rules.may_see_photo: the centre and the wall all, a worker their own,
    # a village or unit the photos of work orders they may read).
    ("POST", "/api/v1/field/reports"): FIELD,
    ("GET", "/api/v1/photos/{photo_id}/{size}"): frozenset({*WALL, *DESK, GRID_WORKER}),
    # Static town geography (basemap, grids, stations): the parent's map draws the basemap.
    ("GET", "/api/town/{name}"): PAGE_SHELL,
    ("GET", "/assets"): PUBLIC,  # the login page's CSS; no data in assets
    ("GET", "/_dash-component-suites/{package_name}/{fingerprinted_path:path}"): PUBLIC,
    ("GET", "/_favicon.ico"): PUBLIC,
    ("GET", "/_dash-layout"): PAGE_SHELL,
    ("GET", "/_dash-dependencies"): PAGE_SHELL,
    ("POST", "/_dash-update-component"): PAGE_SHELL,  # each callback is checked on its own
    ("GET", "/_reload-hash"): PAGE_SHELL,
    ("WS", "/_dash-ws-callback"): PAGE_SHELL,  # each callback is checked on its own
    ("GET", "/"): PAGE_SHELL,  # the page shell; the page itself is checked below
    ("GET", "/{path:path}"): PAGE_SHELL,
    ("GET", "/api/whoami"): PUBLIC,
    ("GET", "/audit"): AUDIT,
    ("GET", "/audit.csv"): AUDIT,
    # Buses (issue 4): positions are a source's door; the trips and a bus's track (where
    # the children are) are for the hall and the console.
    ("POST", "/api/v1/vehicles/positions"): INGEST_DOOR,
    ("POST", "/api/v1/vehicles/gtfs-rt"): INGEST_DOOR,
    ("GET", "/api/v1/vehicles/gtfs-rt"): frozenset({INGEST, *WALL}),
    ("GET", "/api/v1/buses/trips"): frozenset({INGEST, *WALL}),
    ("GET", "/api/v1/buses/{plate}/track"): CONSOLE_READ,
    # Issue 13: who rides a trip (minors' personal data; each read is audited).
    ("GET", "/api/v1/buses/trips/{trip}/manifest"): CONSOLE_READ,
    # 一车一档: a bus's papers, drivers and today's checks (phones by the one phone rule).
    ("GET", "/api/v1/buses/vehicles/{plate}/record"): CONSOLE_READ,
    # On and off: escorts' phones (their queue posts here) and card/face terminals' keys.
    ("POST", "/api/v1/buses/boarding"): frozenset({INGEST, ESCORT, ADMIN, OFFICER}),
    # The daily brief (issue 6): officers write it, leaders read it.
    ("GET", "/api/brief"): CONSOLE_READ,
    ("GET", "/api/brief/{day}.html"): CONSOLE_READ,
    # Word and PDF files of the brief and of the quarterly analysis (issue 14), audited.
    ("GET", "/api/brief/{day}.{kind}"): CONSOLE_READ,
    ("GET", "/api/analysis.{kind}"): CONSOLE_READ,
    # Issue 15: warnings to the public (CAP 1.2): the feed and each message are for everybody,
    # as any public warning is; issuing and cancelling are the console's (CALLBACKS).
    ("GET", "/api/v1/cap/feed.atom"): PUBLIC,
    ("GET", "/api/v1/cap/{identifier}.xml"): PUBLIC,
    # Issue 15: the 12345 platform reads its orders by its own number and sends its 回访
    # (a hotline key; the door refuses other sources' keys); the camera platform's events.
    ("GET", "/api/v1/hotline/orders/{number}"): frozenset({INGEST, *CONSOLE_READ}),
    ("POST", "/api/v1/hotline/orders/{number}/visit"): INGEST_DOOR,
    ("POST", "/api/v1/video/events"): INGEST_DOOR,
}

# ---------------------------------------------------------------- Dash pages
PAGES: dict[str, Roles] = {
    "/": WALL | {VILLAGE},  # a village officer's wall is their village's (issue 14)
    "/dispatch": DESK,
    "/village": VILLAGE_PAGE,  # the village small brain (村级小脑), issue 14
    "/field": FIELD,
    "/escort": frozenset({ESCORT, ADMIN}),  # issue 13: the staff on board's phone
    "/school": frozenset({SCHOOL_STAFF, ADMIN, OFFICER}),  # issue 13: a school's shuttles
    "/parent": PARENTS,  # issue 13: a guardian's phone, their own children only
    "/buses": WALL,
    "/resources": CONSOLE_READ,
    "/grids": CONSOLE_READ,
    "/leader": CONSOLE_READ,
    "/analysis": CONSOLE_READ,  # 分析研判 (issue 14)
    "/admin": ADMINS,  # 系统管理 (issue 16): accounts, sessions, keys, kiosk tokens
}

# ---------------------------------------------------------------- Dash callbacks
# "module.function" of the callback -> roles; clientside callbacks never reach the server.
CALLBACKS: dict[str, Roles] = {
    "pages.home.stream_live_updates": WALL | {VILLAGE},
    "pages.home.restart_live_updates": WALL | {VILLAGE},
    "pages.dispatch.filter_queue": DESK,
    "pages.dispatch.stream_queue": DESK,
    "pages.dispatch.restart_stream": DESK,
    "pages.dispatch.show_incident": DESK,
    "pages.dispatch.act": DESK,  # leaders may comment; each action checked inside
    "pages.dispatch.split": CONSOLE_ACT,
    # 智能派单 (issue 18): the hotline operator's form and the per-caller 回访.
    "pages._smart_parts.suggest_as_typed": CONSOLE_ACT,
    "pages._smart_parts.take_hotline_report": CONSOLE_ACT,
    "pages._smart_parts.rate_caller": DESK,  # checked inside as 结案 (rules.check_may_act)
    "pages.field.remember_worker_name": FIELD,
    "pages.field.restore_worker_name": FIELD,
    "pages.field.show_my_work_orders": FIELD,
    "pages.field.report_field_step": FIELD,
    "pages.field.stream_field_ticks": FIELD,
    "pages.escort.load_escort_trip": frozenset({ESCORT, ADMIN}),
    "pages.school.update_school_view": frozenset({SCHOOL_STAFF, ADMIN, OFFICER}),
    "pages.parent.show_my_children": PARENTS,
    "pages.parent.set_sms_mute": PARENTS,
    "pages.escort.record_vehicle_check": frozenset({ESCORT, ADMIN}),
    "pages._cast.send_to_wall": CONSOLE_ACT,
    "pages._resource_parts.fold_resources": CONSOLE_READ,
    "pages._resource_parts.show_resources": CONSOLE_READ,
    "pages._resource_parts.show_station": CONSOLE_READ,
    "pages._resource_parts.dispatch_resources": CONSOLE_ACT,
    "pages._resource_parts.resource_step": CONSOLE_ACT,
    "pages.resources.update_station_views": CONSOLE_READ,
    "pages.resources.export_stock": CONSOLE_READ,
    "pages.resources.record_movement": CONSOLE_ACT,
    "pages.resources.set_team_status": CONSOLE_ACT,
    "pages.resources.record_shelter": CONSOLE_ACT,
    "pages.resources.import_stocktake": CONSOLE_ACT,
    # 应急演练 (issue 16) on /resources: figures for the console, plan and record DRILL_ACT.
    "pages._drill_parts.show_drills": CONSOLE_READ,
    "pages._drill_parts.fill_drill_record": DRILL_ACT,
    "pages._drill_parts.plan_drill": DRILL_ACT,
    "pages._drill_parts.record_drill": DRILL_ACT,
    "pages.buses.refresh_bus_screen": WALL,
    "pages.buses.select_bus": WALL,
    "pages.buses.list_recorded_trips": WALL,
    "pages.buses.load_replay": WALL,
    "pages.buses.move_replay_marker": WALL,
    "pages.grids.update_grid_view": CONSOLE_READ,
    "pages.grids.update_heat_layer": CONSOLE_READ,
    "pages.grids.go_back_up": CONSOLE_READ,
    "pages.grids.show_grid_duty": CONSOLE_READ,
    "pages.grids.stream_grid_ticks": CONSOLE_READ,
    "pages.leader.update_leader_view": CONSOLE_READ,
    "pages.leader.make_daily_brief": CONSOLE_READ,
    "pages.leader.stream_leader_ticks": CONSOLE_READ,
    "pages.analysis.show_analysis": CONSOLE_READ,
    "pages.village.update_village_view": VILLAGE_PAGE,
    "pages.village.stream_village_ticks": VILLAGE_PAGE,
    # Issue 15: 预警发布 in the duty console, for the people who may act there.
    "pages._cap_parts.preview_warning": CONSOLE_ACT,
    "pages._cap_parts.issue_warning": CONSOLE_ACT,
    "pages._cap_parts.cancel_warning": CONSOLE_ACT,
    "pages._cap_parts.list_warnings": CONSOLE_ACT,
    # 系统管理 (issue 16): the administrator only; each change is audited.
    "pages.admin.show_admin": ADMINS,
    "pages.admin.add_account": ADMINS,
    "pages.admin.change_account": ADMINS,
    "pages.admin.fill_account": ADMINS,
    "pages.admin.end_one_session": ADMINS,
    "pages.admin.add_new_key": ADMINS,
    "pages.admin.revoke_one_key": ADMINS,
    "pages.admin.swap_two_shifts": ADMINS,
    "pages._admin_rota.show_rota": ADMINS,
    "pages._admin_rota.set_one_shift": ADMINS,
    "pages._admin_rota.mark_one_leave": ADMINS,
    "pages._admin_tables.show_table": ADMINS,
    "pages._admin_tables.save_table": ADMINS,
    "pages._callup_parts.show_callup": CALLUP,
    "pages._callup_parts.call_up_selected": CALLUP,
    "pages._callup_parts.show_my_callups": FIELD,
    "pages._callup_parts.answer_callup": FIELD,
    "pages.admin.preview_roster": ADMINS,
    "pages.admin.apply_roster": ADMINS,
    "pages.admin.download_roster_template": ADMINS,
    # 镇数据导入 (issue 16): the town's own data checked, previewed and applied
    "pages._admin_town.check_town_upload": ADMINS,
    "pages._admin_town.apply_town_upload": ADMINS,
    # The stations' 一部三室, members and vehicles (pages/_admin_stations.py).
    "pages._admin_stations.show_station_records": ADMINS,
    "pages._admin_stations.fill_room": ADMINS,
    "pages._admin_stations.show_team_members": ADMINS,
    "pages._admin_stations.save_station_room": ADMINS,
    "pages._admin_stations.save_station_vehicles": ADMINS,
    "pages._admin_stations.add_team_member": ADMINS,
    "pages._admin_stations.change_team_member": ADMINS,
    # Dash's own router of pages: every signed-in role; the page's roles are checked inside.
    "dash.dash.update": PAGE_SHELL,
}

# Which loop action a role may take is dashboard/incidents/rules.may_take (one rule).

# ---------------------------------------------------------------- ingest keys
# A key belongs to one source and holds scopes; the role INGEST lets it knock on a door
# (ROUTES), its scope lets it in (ROUTE_SCOPES), and it reports only as its own source.
REPORT, POSITIONS, READ_OWN, FEED = "report", "positions", "read-own", "feed"
BOARDING = "boarding"
KEY_SCOPES: dict[str, tuple[str, str]] = {
    REPORT: ("上报事件", "file reports"),
    POSITIONS: ("上传车辆位置", "send vehicle positions"),
    READ_OWN: ("查看本来源所报事件（公开字段）", "read its own reports (public fields)"),
    FEED: ("读取校车实时位置源", "read the bus positions feed"),
    BOARDING: ("上传学生上下车记录", "send pupils' boarding events"),
}
# The sources a key may be issued for (the internal ones, such as supply alerts, are not).
KEY_SOURCES: tuple[str, ...] = ("hotline", "citizen", "video", "grid_worker", "bus", "feed",
                                "terminal")
DEFAULT_SCOPES: dict[str, frozenset[str]] = {
    "bus": frozenset({REPORT, POSITIONS, READ_OWN}),  # the bus platform: alarms and fixes
    "feed": frozenset({FEED}),  # a consumer of the bus feed (a parents' app, the county)
    "terminal": frozenset({BOARDING}),  # a card/face terminal on a bus, or its bridge
}
REPORT_SCOPES: frozenset[str] = frozenset({REPORT, READ_OWN})  # every other source
ROUTE_SCOPES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/incidents"): REPORT,
    ("POST", "/open311/v2/requests.{format}"): REPORT,
    ("GET", "/api/v1/incidents/{incident_id}"): READ_OWN,
    ("POST", "/api/v1/vehicles/positions"): POSITIONS,
    ("POST", "/api/v1/vehicles/gtfs-rt"): POSITIONS,
    ("GET", "/api/v1/vehicles/gtfs-rt"): FEED,
    ("GET", "/api/v1/buses/trips"): FEED,
    ("POST", "/api/v1/buses/boarding"): BOARDING,
    ("GET", "/api/v1/hotline/orders/{number}"): READ_OWN,
    ("POST", "/api/v1/hotline/orders/{number}/visit"): REPORT,
    ("POST", "/api/v1/video/events"): REPORT,
}


def default_scopes(source: str) -> frozenset[str]:
    """The scopes a new key of `source` gets unless told otherwise."""
    return DEFAULT_SCOPES.get(source, REPORT_SCOPES)


def parse_scopes(raw: str | None) -> frozenset[str]:
    """The scopes stored as 'report,read-own'; unknown words are dropped."""
    return frozenset(w for w in (raw or "").replace(" ", "").split(",") if w in KEY_SCOPES)


def key_may(principal: Principal, method: str, path: str) -> bool:
    """True unless `principal` is an ingest key without the scope this route needs.

    A route that takes keys but names no scope here is refused to keys (default deny)."""
    if principal.kind != "key" or ANON in (route_roles(method, path) or ()):
        return True  # not a key, or a door open to everybody (health, Open311 reads)
    needed = route_scope(method, path)
    return needed is not None and needed in principal.scopes


def route_scope(method: str, path: str) -> str | None:
    """The scope a key needs for `method path`, None when keys may not use it at all."""
    template = route_template(method, path)
    return ROUTE_SCOPES.get(("GET" if method == "HEAD" else method, template or ""))


def may_report_as(principal: Principal, source: str) -> bool:
    """A key reports only as its own source; people at the console may file for any."""
    return principal.kind != "key" or (REPORT in principal.scopes
                                       and principal.source == source)


_TEMPLATE_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(:path)?\}")


def template_regex(template: str) -> re.Pattern[str]:
    """A regex matching concrete paths of a route template ('{x}', '{x:path}')."""
    out, pos = "", 0
    for match in _TEMPLATE_PARAM.finditer(template):
        out += re.escape(template[pos:match.start()])
        out += ".*" if match.group(2) else "[^/]+"
        pos = match.end()
    return re.compile("^" + out + re.escape(template[pos:]) + "$")


_COMPILED: list[tuple[str, str, re.Pattern[str]]] = []


def route_template(method: str, path: str) -> str | None:
    """The ROUTES template that `method path` falls under, or None when none declares it.

    Exact templates win over the page catch-all; /assets and /_dash-component-suites are
    matched as prefixes (static files).
    """
    if len(_COMPILED) != len(ROUTES):
        _COMPILED[:] = [(m, t, template_regex(t)) for (m, t) in ROUTES]
    method = "GET" if method == "HEAD" else method
    if path.startswith("/assets/"):
        return "/assets" if method == "GET" else None
    catchall = None
    for m, template, rx in _COMPILED:
        if m != method or not rx.match(path):
            continue
        if template == "/{path:path}":
            catchall = template
            continue
        return template
    # Undeclared API paths and Dash internals never fall through to the page shell.
    first = path.split("/")[1] if path.count("/") else ""
    if catchall is not None and first not in ("api", "open311") and not first.startswith("_"):
        return catchall
    return None


def route_roles(method: str, path: str) -> Roles | None:
    """Roles allowed to call `method path`, or None when no rule declares it (deny)."""
    template = route_template(method, path)
    return None if template is None else ROUTES[("GET" if method == "HEAD" else method,
                                                  template)]


def page_roles(path: str) -> Roles | None:
    """Roles allowed to see the Dash page at `path`, None when it is not declared."""
    return PAGES.get(path.rstrip("/") or "/")


def allowed(roles: Roles | None, principal: Principal) -> bool:
    """True when the principal's role is in `roles` (None, undeclared, is never allowed)."""
    return roles is not None and principal.role in roles


# ---------------------------------------------------------------- personal data
SEES_PERSONAL: Roles = frozenset({ADMIN, OFFICER})


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to tell two callers apart, not to call them."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]


def mask_name(name: str | None) -> str:
    """张** / J*** : the first character only."""
    if not name:
        return ""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1)


def personal(value: str | None, kind: str, principal: Principal | None = None) -> str:
    """`value` as the principal may see it: whole for officers and admins, else masked."""
    who = principal or current()
    if who.role in SEES_PERSONAL:
        return value or ""
    return mask_phone(value) if kind == "phone" else mask_name(value)
