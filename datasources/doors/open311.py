"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the same intake path.

Citizen apps and city platforms that speak GeoReport file 随手拍 reports and follow them by
their work-order ref (`service_request_id`). Every call answers JSON or XML by its suffix;
every refusal, an unknown path's included, is the spec's error list in that format.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import func, select

from dashboard.geo.gazetteer import Place
from dashboard.i18n.errors import action_text, error_text
from dashboard.i18n.text import t
from dashboard.idempotency import IDEM_KEY, IDEM_KEY_RULE
from dashboard.incidents.errors import BadInput
from dashboard.incidents.georeport import attribute_lines, check_attributes, definition
from dashboard.incidents.lifecycle import (
    ACTIONS,
    CATEGORIES,
    CATEGORY_BY_CODE,
    DONE_STATES,
    STATES,
    VOID_STATES,
)
from dashboard.incidents.rules import scope_of
from dashboard.inputs import parse_instant
from dashboard.messages import IncidentReport
from dashboard.roles import Principal, current
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.doors.http_api import (
    MAX_MESSAGE_BYTES,
    Submitted,
    describe,
    language,
    message,
    read_body,
    submit_as,
)
from datasources.doors.open311_wire import FORMATS, BadForm, Posted, answer, errors, read_form
from datasources.redis.ratelimit import ingest_wait
from datasources.sql import models as m
from datasources.sql.open311 import Sent, record_request, ref_of_token, sent_for

if TYPE_CHECKING:  # the composition root wires the doors; they never import it
    from datasources.services import Services

# Until the settings table has a row for it (dashboard/settings.py is not this module's).
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
# A multipart POST may carry a photo: read it whole (the gate's 8 MiB bound holds) to
# answer "send media_url" rather than "too large".
MAX_MULTIPART_BYTES = 8 * 1024 * 1024
PREFIX = "/open311/v2"
_CJK = re.compile(r"[\u3400-\u9fff]")
# The history notes a citizen may read in status_notes: the reason a request was closed,
# put on hold or voided. Desk notes, urges and hand-overs stay inside.
PUBLIC_NOTES = frozenset({"resolve", "verify", "close", "suspend", "void"})
FINISHED = DONE_STATES | VOID_STATES

GROUPS: dict[str, tuple[str, str]] = {
    "public_security": ("平安建设", "Safety"), "fire": ("平安建设", "Safety"),
    "work_safety": ("平安建设", "Safety"), "disputes": ("平安建设", "Safety"),
    "city_management": ("城乡治理", "Town management"),
    "traffic": ("城乡治理", "Town management"), "planning": ("城乡治理", "Town management"),
    "estate": ("城乡治理", "Town management"),
    "environment": ("生态环境", "Environment"), "water": ("生态环境", "Environment"),
    "market": ("民生服务", "Public services"), "labour": ("民生服务", "Public services"),
    "culture": ("民生服务", "Public services"), "education": ("民生服务", "Public services"),
    "venues": ("民生服务", "Public services"),
}


def services_list(lang: str) -> list[dict[str, Any]]:
    """GET services: the 15 duty categories as realtime services, each with a definition."""
    en = lang == "en"
    return [{
        "service_code": c.code,
        "service_name": c.en if en else c.zh,
        "description": (f"{c.en} issues, dispatched by the duty list to whoever handles them."
                        if en else f"{c.zh}类事件，按职责清单派给责任单位处置。"),
        "metadata": True,  # every service has attributes (dashboard/incidents/georeport.py)
        "type": "realtime",
        "keywords": f"{c.code},{c.zh},{c.en}",
        "group": GROUPS.get(c.code, ("其他", "Other"))[1 if en else 0],
    } for c in CATEGORIES]


def reporter_name(first: str, last: str) -> str | None:
    """One name from first/last: Chinese names surname first without a space."""
    first, last = first.strip(), last.strip()
    if _CJK.search(first + last):
        return (last + first) or None
    return " ".join(p for p in (first, last) if p) or None


def jurisdiction(services: Services) -> str:
    """The one jurisdiction this server serves: the town's code (town.json)."""
    return str(services.town_meta.get("code") or "")


def check_jurisdiction(services: Services, given: str | None) -> None:
    """BadInput (404 by the spec) when a jurisdiction_id names another jurisdiction."""
    ours = jurisdiction(services)
    if given and given.strip() and given.strip() != ours:
        raise BadInput("o311_jurisdiction", given=given.strip()[:64], ours=ours)


# ------------------------------------------------------------------ POST requests
@dataclass(frozen=True)
class Filed:
    """What became of one GeoReport POST: the work order filed or joined, or a refusal
    (this door's i18n key, or the intake's own refusal)."""

    status: int
    incident: dict[str, Any] | None = None
    token: str | None = None
    key: str = ""
    values: tuple[tuple[str, str], ...] = ()
    refused: Submitted | None = None

    def text(self, lang: str) -> str:
        """The refusal's description in `lang`."""
        if self.refused is not None:
            r = self.refused
            return message(r.reason or "invalid", lang, detail=r.detail, ref=r.ref,
                           **dict(r.values))
        return t(self.key, lang).format(**dict(self.values))


def refuse311(services: Services, status: int, key: str, reason: str = "invalid",
              **values: Any) -> Filed:
    """Count a refusal at this door (by the intake's reasons) and describe it."""
    assert services.intake is not None
    services.intake.reject(reason, f"open311 {key} {values}"[:200])
    return Filed(status, key=key, values=tuple((k, str(v)) for k, v in values.items()))


def bad(services: Services, exc: BadInput, status: int = 400) -> Filed:
    """A coded refusal of the core (an attribute, the jurisdiction) as a Filed."""
    status = 404 if exc.code in ("o311_service", "o311_jurisdiction") else status
    return refuse311(services, status, f"err_{exc.code}", **exc.params)


def place_of(services: Services, form: dict[str, str]) -> tuple[float, float, Place | None] | Filed:
    """(lat, lon, the gazetteer's place) of a POST: its lat/long, else the address point its
    address_id names, else the one its address_string names."""
    if form.get("lat", "").strip() or form.get("long", "").strip():
        try:
            return float(form["lat"]), float(form["long"]), None
        except (KeyError, ValueError):
            return refuse311(services, 400, "err_o311_latlong")
    address_id = form.get("address_id", "").strip()
    if address_id:
        place = services.gazetteer.by_id(address_id)
        if place is None:
            return refuse311(services, 400, "err_o311_address_id", address_id=address_id[:32])
        return place.lat, place.lon, place
    address = form.get("address_string", "").strip()
    if address:
        place = services.gazetteer.find(address)
        if place is None:
            return refuse311(services, 400, "err_o311_address", address=address[:100])
        return place.lat, place.lon, place
    return refuse311(services, 400, "err_o311_where")


def form_report(services: Services, posted: Posted) -> tuple[IncidentReport, Sent] | Filed:
    """The IncidentReport of a GeoReport POST and what to keep beside it, or the counted
    refusal."""
    form = posted.fields
    code = form.get("service_code", "").strip()
    if not code and services.suggester is not None:
        # No service_code: the category the town's model reads in the words (issue 18; a
        # few ms, the same suggestion the console then shows); none without a model.
        found = services.suggester.suggest(form.get("description", "")[:2000])
        code = found.category if found is not None else ""
    if not code:
        return refuse311(services, 400, "err_o311_service_missing")
    if code not in CATEGORY_BY_CODE:
        return refuse311(services, 404, "err_o311_service", service=code[:40])
    try:
        check_jurisdiction(services, form.get("jurisdiction_id"))
        answers = check_attributes(code, posted.attributes)
    except BadInput as exc:
        return bad(services, exc)
    where = place_of(services, form)
    if isinstance(where, Filed):
        return where
    lat, lon, place = where
    category = CATEGORY_BY_CODE[code]
    sent_text = form.get("description", "").strip()
    address = form.get("address_string", "").strip() or None
    address_id = form.get("address_id", "").strip() or None
    # The work order has no address column: the console reads the address and the
    # attributes' answers under the citizen's words (the record is Chinese first).
    lines = [sent_text] if sent_text else []
    if address or place is not None:
        lines.append(f"地址：{address or (place.name if place else '')}")
    lines += attribute_lines(code, answers)
    data = {"source": "citizen", "category": code,
            "title": " ".join(sent_text.split())[:40] or category.zh,
            "description": "\n".join(lines), "lon": lon, "lat": lat,
            "reporter_name": reporter_name(form.get("first_name", ""), form.get("last_name", "")),
            "reporter_phone": form.get("phone") or None,
            "photo_url": form.get("media_url") or None}
    try:
        report = IncidentReport.model_validate(data)
    except ValidationError as exc:
        assert services.intake is not None
        detail = describe(exc)
        services.intake.reject("invalid", detail)
        return Filed(400, refused=Submitted(400, reason="invalid", detail=detail))
    sent = Sent(description=sent_text, address_string=(address or "")[:250] or None,
                address_id=(address_id or "")[:32] or None,
                jurisdiction_id=(form.get("jurisdiction_id") or "").strip()[:64] or None,
                attributes=dict(answers))
    return report, sent


def post_request(services: Services, body: bytes | None, content_type: str,
                 key: str | None, header_key: Principal | None) -> Filed:
    """The blocking part of POST requests (run in a worker thread)."""
    if body is None:
        return refuse311(services, 413, "err_o311_media" if "multipart" in content_type
                         else "err_o311_bad_form", reason="too_large")
    try:
        posted = read_form(body, content_type)
    except BadForm as exc:
        return refuse311(services, 400, f"err_{exc}")
    # Keys are ingest keys (zhongnao key add; ZN_OPEN311_KEYS seeds them), revocable; the
    # form's api_key, as the spec says, or the X-Api-Key the gate already resolved.
    assert services.accounts is not None
    given = posted.fields.get("api_key", "")
    who = services.accounts.key_principal(given, "ingest") if given else header_key
    if who is None:
        refused = Submitted(403, reason="unauthorized", detail="missing or unknown api_key")
        assert services.intake is not None
        services.intake.reject("unauthorized", "open311: missing or unknown api_key")
        return Filed(403, refused=refused)
    if key is not None and not IDEM_KEY.match(key):
        detail = IDEM_KEY_RULE
        assert services.intake is not None
        services.intake.reject("invalid", detail)
        return Filed(400, refused=Submitted(400, reason="invalid", detail=detail))
    if posted.files:
        # No part of the product keeps uploaded photos yet: say so rather than drop it.
        return refuse311(services, 400, "err_o311_media")
    made = form_report(services, posted)
    if isinstance(made, Filed):
        return made
    report, sent = made
    result = submit_as(services, who, report, key)
    if result.incident is None:
        return Filed(result.status, refused=result)
    assert services.store is not None
    token = record_request(services.store.engine, int(result.incident["id"]),
                           bool(result.incident.get("merged")), sent)
    return Filed(200, incident=result.incident, token=token)


# ------------------------------------------------------------------ GET requests
def local_iso(value: datetime | None) -> str | None:
    """W3C datetime in the town's time zone (e.g. 2026-11-22T10:15:00+08:00)."""
    return as_utc(value).astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None


def status_note(event: m.IncidentEvent | None, state: str, lang: str) -> str:
    """status_notes: the latest step of the history, when it was taken, and its note when
    it is the public reason of a close, hold or void."""
    en = lang == "en"
    if event is None:
        return STATES.get(state, (state, state))[1 if en else 0]
    label = (action_text(event.action, lang) if event.action in ACTIONS
             else STATES.get(event.to_state, (event.to_state,) * 2)[1 if en else 0])
    when = as_utc(event.at).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    text = f"{label} ({when})" if en else f"{label}（{when}）"
    if event.action in PUBLIC_NOTES and event.note.strip():
        text += (": " if en else "：") + event.note.strip()
    return text


def split_list(value: str | None) -> list[str]:
    """A comma list parameter (status=open,closed) as its items."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def find_requests(services: Services, lang: str, *, refs: list[str] | None = None,
                  service_codes: list[str] | None = None, statuses: list[str] | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  limit: int = MAX_RESULTS, who: Principal | None = None) -> list[dict[str, Any]]:
    """Incidents as GeoReport service requests, newest first. A village officer or a
    unit's handler who asks reads its village's or unit's only (rules.scope_of): the
    same scope at this door as at every other (the public reads no names either way)."""
    assert services.store is not None
    q = (select(m.Incident, m.Unit.name, m.Unit.name_en)
         .outerjoin(m.Unit, m.Unit.id == m.Incident.unit_id))
    scope = scope_of(who) if who is not None else {}
    if "village" in scope:
        q = q.where(m.Incident.village_code == scope["village"])
    if "unit_id" in scope:
        q = q.where(m.Incident.unit_id == scope["unit_id"])
    if refs is not None:
        q = q.where(m.Incident.ref.in_(refs))  # per spec, the other filters are then ignored
    else:
        end = end or utcnow()
        start = start or end - timedelta(days=DEFAULT_DAYS)
        q = q.where(m.Incident.created_at >= start, m.Incident.created_at <= end)
        if service_codes:
            q = q.where(m.Incident.category.in_(service_codes))
        if statuses and set(statuses) != {"open", "closed"}:
            # Open311 knows open and closed: a 作废 request is closed, a 缓办 one still open.
            q = q.where(m.Incident.state.in_(FINISHED) if statuses == ["closed"]
                        else m.Incident.state.not_in(FINISHED))
    q = q.order_by(m.Incident.created_at.desc(), m.Incident.id.desc()).limit(limit)
    en = lang == "en"
    town = services.town_meta.get("name_en" if en else "name") or services.town_meta.get("name")
    centre = t("o311_centre", lang).format(town=town or "")
    with services.store.session() as s:
        rows = s.execute(q).all()
        ids = [row.id for row, _, _ in rows]
        sent = sent_for(s, ids)
        latest = select(func.max(m.IncidentEvent.id)).where(
            m.IncidentEvent.incident_id.in_(ids)).group_by(m.IncidentEvent.incident_id)
        events = {e.incident_id: e for e in s.scalars(
            select(m.IncidentEvent).where(m.IncidentEvent.id.in_(latest)))} if ids else {}
        out = []
        for row, unit_name, unit_en in rows:
            cat = CATEGORY_BY_CODE.get(row.category)
            echo = sent.get(row.id)
            place = services.gazetteer.by_id(echo.address_id) if echo and echo.address_id \
                else None
            out.append({
                "service_request_id": row.ref,
                "status": "closed" if row.state in FINISHED else "open",
                "status_notes": status_note(events.get(row.id), row.state, lang),
                "service_name": (cat.en if en else cat.zh) if cat else row.category,
                "service_code": row.category,
                "description": echo.description if echo else row.description,
                # The receiving unit it is with (issue 14), else the town's centre.
                "agency_responsible": (unit_en if en and unit_en else unit_name) or centre,
                "service_notice": None,
                "requested_datetime": local_iso(row.created_at),
                "updated_datetime": local_iso(row.updated_at),
                "expected_datetime": local_iso(row.deadline_at),
                # As the citizen sent it: the address typed, or the named address point.
                "address": (echo.address_string if echo and echo.address_string
                            else place.label(lang) if place else None),
                "address_id": echo.address_id if echo else None,
                "zipcode": None,
                "lat": row.lat,
                "long": row.lon,
                "media_url": row.photo_url,
            })
        return out


def parse_when(value: str | None, name: str) -> datetime | None:
    """A W3C datetime query parameter as aware UTC (a '+' of the offset may arrive as a
    space); BadInput when malformed or outside the accepted years (dashboard/inputs.py)."""
    if not value:
        return None
    return parse_instant(value.replace(" ", "+"), name)


# ------------------------------------------------------------------ routes
def build_open311_router(services: Services) -> APIRouter:
    """The GeoReport v2 routes under /open311/v2, JSON or XML by the path's suffix."""
    router = APIRouter(prefix=PREFIX, tags=["Open311 GeoReport v2"])

    def unknown_format(fmt: str, lang: str) -> Response | None:
        if fmt.lower() in FORMATS:
            return None
        return errors(404, t("err_o311_format", lang).format(fmt=fmt[:20]))

    def refused(exc: BadInput, fmt: str, lang: str) -> Response:
        status = 404 if exc.code in ("o311_service", "o311_jurisdiction") else 400
        return errors(status, error_text(exc, lang), fmt)

    @router.get("/services.{format}")
    async def list_services(request: Request, format: str, locale: str | None = None,
                            jurisdiction_id: str | None = None) -> Response:
        """GET Service List: one realtime service per duty category."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        try:
            check_jurisdiction(services, jurisdiction_id)
        except BadInput as exc:
            return refused(exc, fmt, lang)
        return answer(services_list(lang), "services", fmt)

    @router.get("/services/{service_code}.{format}")
    async def service_definition(request: Request, service_code: str, format: str,
                                 locale: str | None = None,
                                 jurisdiction_id: str | None = None) -> Response:
        """GET Service Definition: the attributes a POST may answer for this service."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        try:
            check_jurisdiction(services, jurisdiction_id)
            if service_code not in CATEGORY_BY_CODE:
                raise BadInput("o311_service", service=service_code[:40])
        except BadInput as exc:
            return refused(exc, fmt, lang)
        return answer(definition(service_code, lang), "service_definition", fmt)

    @router.post("/requests.{format}")
    async def create_request(request: Request, format: str,
                             locale: str | None = None) -> Response:
        """POST Service Request (form-encoded or multipart): its work-order ref and token."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        wait = await ingest_wait(services, current())
        if wait:
            return errors(429, t("api_rate_limited", lang).format(wait=wait), fmt,
                          {"Retry-After": str(wait)})
        ctype = request.headers.get("content-type", "")
        limit = MAX_MULTIPART_BYTES if "multipart" in ctype.lower() else MAX_MESSAGE_BYTES
        body = await read_body(request, limit)
        who = current()
        try:
            filed = await asyncio.to_thread(post_request, services, body, ctype,
                                            request.headers.get("idempotency-key"),
                                            who if who.kind == "key" else None)
        except RedisError:
            filed = Filed(503, refused=Submitted(503, reason="unavailable"))
        if filed.incident is None:
            return errors(filed.status, filed.text(lang), fmt,
                          {"Retry-After": "5"} if filed.status == 503 else None)
        inc = filed.incident
        due = local_iso(datetime.fromisoformat(inc["deadline_at"])) if inc["deadline_at"] else ""
        notice = t("o311_notice_merged" if inc.get("merged") else "o311_notice_new",
                   lang).format(ref=inc["ref"], due=due)
        return answer([{"service_request_id": inc["ref"], "token": filed.token,
                        "service_notice": notice, "account_id": None}],
                      "service_requests", fmt)

    @router.get("/requests.{format}")
    async def list_requests(request: Request, format: str,
                            service_request_id: str | None = None,
                            service_code: str | None = None, status: str | None = None,
                            start_date: str | None = None, end_date: str | None = None,
                            locale: str | None = None,
                            jurisdiction_id: str | None = None) -> Response:
        """GET Service Requests: by id list, or by code/status lists and dates (the last 90
        days by default, at most 1000, newest first)."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        statuses, codes = split_list(status), split_list(service_code)
        try:
            check_jurisdiction(services, jurisdiction_id)
            start, end = parse_when(start_date, "start_date"), parse_when(end_date, "end_date")
            if any(s not in ("open", "closed") for s in statuses):
                raise BadInput("o311_status")
            for code in codes:
                if code not in CATEGORY_BY_CODE:
                    raise BadInput("o311_service", service=code[:40])
        except BadInput as exc:
            return refused(exc, fmt, lang)
        refs = split_list(service_request_id)[:MAX_RESULTS] if service_request_id else None
        found = await asyncio.to_thread(find_requests, services, lang, refs=refs,
                                        service_codes=codes, statuses=statuses,
                                        start=start, end=end, who=current())
        return answer(found, "service_requests", fmt)

    @router.get("/requests/{service_request_id}.{format}")
    async def get_request(request: Request, service_request_id: str, format: str,
                          locale: str | None = None,
                          jurisdiction_id: str | None = None) -> Response:
        """GET Service Request: one by its work-order ref (a list of one, per spec)."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        try:
            check_jurisdiction(services, jurisdiction_id)
        except BadInput as exc:
            return refused(exc, fmt, lang)
        found = await asyncio.to_thread(find_requests, services, lang,
                                        refs=[service_request_id], who=current())
        if not found:
            return errors(404, t("err_o311_request", lang).format(id=service_request_id[:40]),
                          fmt)
        return answer(found, "service_requests", fmt)

    @router.get("/tokens/{token}.{format}")
    async def token_request(request: Request, token: str, format: str,
                            locale: str | None = None,
                            jurisdiction_id: str | None = None) -> Response:
        """GET service_request_id from a token."""
        lang = language(request, locale)
        fmt = format.lower()
        if (wrong := unknown_format(format, lang)) is not None:
            return wrong
        try:
            check_jurisdiction(services, jurisdiction_id)
        except BadInput as exc:
            return refused(exc, fmt, lang)
        assert services.store is not None
        ref = await asyncio.to_thread(ref_of_token, services.store.engine, token[:64])
        if ref is None:
            return errors(404, t("err_o311_token", lang).format(token=token[:64]), fmt)
        return answer([{"service_request_id": ref, "token": token}], "service_requests", fmt)

    return router


KNOWN = re.compile(r"^/open311/v2/(services|requests|tokens)(/[^/]+)?\.[^/.]+$")


def build_open311_fallback(services: Services) -> APIRouter:
    """Everything else under /open311: the spec's error format with 404 (405 for a method
    a resource does not take), never the gate's or the framework's own shapes. Included
    after every other route."""
    router = APIRouter()

    @router.api_route("/open311{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)
    async def open311_unknown(request: Request, rest: str) -> Response:
        """A path or method the Open311 door does not serve."""
        lang = language(request, request.query_params.get("locale"))
        path = request.url.path
        suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
        fmt = "xml" if suffix.lower() == "xml" else "json"
        if KNOWN.match(path) and suffix.lower() in FORMATS:
            return errors(405, t("err_o311_method", lang).format(method=request.method), fmt)
        return errors(404, t("err_o311_path", lang).format(path=path[:120]), fmt)

    return router
