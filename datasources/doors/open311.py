"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the same intake path.

Citizen apps and city platforms that speak GeoReport can file 随手拍 reports and follow them
by their work-order ref (`service_request_id`). Only the JSON format is served.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import select

from dashboard.i18n.errors import error_text
from dashboard.incidents.errors import BadInput
from dashboard.incidents.lifecycle import (
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
from dashboard.settings import split_keys
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.doors.http_api import (
    IDEM_KEY,
    Submitted,
    describe,
    language,
    message,
    read_body,
    refuse,
    submit_as,
)
from datasources.redis.ratelimit import ingest_wait, too_many
from datasources.sql import models as m

if TYPE_CHECKING:  # the composition root wires the doors; they never import it
    from datasources.services import Services

# Until the settings table has a row for it (dashboard/settings.py is not this module's).
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
_CJK = re.compile(r"[\u3400-\u9fff]")

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


def key_ok(given: str, raw: str) -> bool:
    """True for a configured api_key (constant-time comparison)."""
    return any(hmac.compare_digest(given.encode(), k.encode()) for k in split_keys(raw))


def services_list(lang: str) -> list[dict[str, Any]]:
    """GET services.json: the 15 duty categories as realtime services."""
    en = lang == "en"
    return [{
        "service_code": c.code,
        "service_name": c.en if en else c.zh,
        "description": (f"{c.en} issues, dispatched by the duty list to whoever handles them."
                        if en else f"{c.zh}类事件，按职责清单派给责任单位处置。"),
        "metadata": False,
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


def form_report(services: Services, form: dict[str, str]) -> IncidentReport | Submitted:
    """The IncidentReport of a GeoReport POST, or the counted rejection."""
    code = form.get("service_code", "")
    if not code and services.suggester is not None:
        # No service_code: the category the town's model reads in the words (issue 18; a
        # few ms, the same suggestion the console then shows); none without a model.
        found = services.suggester.suggest(form.get("description", "")[:2000])
        code = found.category if found is not None else ""
    category = CATEGORY_BY_CODE.get(code)
    if category is None:
        return refuse(services, "invalid", f"service_code: unknown service_code {code!r}")
    try:
        lat, lon = float(form["lat"]), float(form["long"])
    except KeyError:
        # An address_string alone cannot be placed in a grid (no geocoder here).
        return refuse(services, "invalid", "lat and long are required")
    except ValueError:
        return refuse(services, "invalid", "lat/long must be decimal degrees (WGS-84)")
    description = form.get("description", "").strip()
    address = form.get("address_string", "").strip()
    if address:
        # The record has no address column; keep what the citizen wrote with the text.
        description = f"{description}\n地址：{address}".strip()
    title = " ".join(form.get("description", "").split())[:40] or category.zh
    data = {"source": "citizen", "category": code, "title": title, "description": description,
            "lon": lon, "lat": lat,
            "reporter_name": reporter_name(form.get("first_name", ""), form.get("last_name", "")),
            "reporter_phone": form.get("phone") or None,
            "photo_url": form.get("media_url") or None}
    try:
        return IncidentReport.model_validate(data)
    except ValidationError as exc:
        return refuse(services, "invalid", describe(exc))


def post_request(services: Services, body: bytes | None, content_type: str,
                 key: str | None) -> Submitted:
    """The blocking part of POST requests.json (run in a worker thread)."""
    if body is None:
        return refuse(services, "too_large", "body larger than 256 KiB")
    if content_type and "x-www-form-urlencoded" not in content_type:
        return refuse(services, "invalid", "send application/x-www-form-urlencoded")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return refuse(services, "invalid", "the form is not UTF-8")
    form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    # Keys are ingest keys (zhongnao key add; ZN_OPEN311_KEYS seeds them), revocable.
    assert services.accounts is not None
    who = services.accounts.key_principal(form.get("api_key", ""), "ingest")
    if who is None:
        return refuse(services, "unauthorized", "missing or unknown api_key")
    if key is not None and not IDEM_KEY.match(key):
        return refuse(services, "invalid", "Idempotency-Key: 8-128 of A-Z a-z 0-9 _ . : -")
    report = form_report(services, form)
    if isinstance(report, Submitted):
        return report
    return submit_as(services, who, report, key)


def local_iso(value: datetime | None) -> str | None:
    """W3C datetime in the town's time zone (e.g. 2026-11-22T10:15:00+08:00)."""
    return as_utc(value).astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None


def find_requests(services: Services, lang: str, *, refs: list[str] | None = None,
                  service_code: str | None = None, status: str | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  limit: int = MAX_RESULTS, who: Principal | None = None) -> list[dict[str, Any]]:
    """Incidents as GeoReport service requests, newest first. A village officer or a
    unit's handler who asks reads its village's or unit's only (rules.scope_of): the
    same scope at this door as at every other (the public reads no names either way)."""
    assert services.store is not None
    q = (select(m.Incident, m.Grid.name, m.Grid.name_en, m.Unit.name, m.Unit.name_en)
         .outerjoin(m.Grid, m.Grid.code == m.Incident.grid_code)
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
        if service_code:
            q = q.where(m.Incident.category == service_code)
        if status:
            # Open311 knows open and closed: a 作废 request is closed, a 缓办 one still open.
            finished = DONE_STATES | VOID_STATES
            q = q.where(m.Incident.state.in_(finished) if status == "closed"
                        else m.Incident.state.not_in(finished))
    q = q.order_by(m.Incident.created_at.desc(), m.Incident.id.desc()).limit(limit)
    en = lang == "en"
    with services.store.session() as s:
        out = []
        for row, grid_name, grid_en, unit_name, unit_en in s.execute(q):
            cat = CATEGORY_BY_CODE.get(row.category)
            out.append({
                "service_request_id": row.ref,
                "status": "closed" if row.state in DONE_STATES | VOID_STATES else "open",
                "status_notes": STATES.get(row.state, (row.state, row.state))[1 if en else 0],
                "service_name": (cat.en if en else cat.zh) if cat else row.category,
                "service_code": row.category,
                "description": row.description,
                # The receiving unit it is with (issue 14); None while the town centre's.
                "agency_responsible": (unit_en if en and unit_en else unit_name),
                "service_notice": None,
                "requested_datetime": local_iso(row.created_at),
                "updated_datetime": local_iso(row.updated_at),
                "expected_datetime": local_iso(row.deadline_at),
                "address": (grid_en if en and grid_en else grid_name),
                "address_id": row.grid_code,
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


def errors(status: int, description: str) -> JSONResponse:
    """A GeoReport error: a list of {code, description} with the HTTP status."""
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def build_open311_router(services: Services) -> APIRouter:
    """The GeoReport v2 routes under /open311/v2."""
    router = APIRouter(prefix="/open311/v2")

    @router.get("/services.json")
    async def list_services(request: Request, locale: str | None = None) -> JSONResponse:
        """The service list: one realtime service per duty category."""
        return JSONResponse(services_list(language(request, locale)))

    @router.post("/requests.json")
    async def create_request(request: Request, locale: str | None = None) -> JSONResponse:
        """File a service request (form-encoded); answers its work-order ref."""
        lang = language(request, locale)
        wait = await ingest_wait(services, current())
        if wait:
            return too_many(wait, lang)
        body = await read_body(request)
        try:
            result = await asyncio.to_thread(post_request, services, body,
                                             request.headers.get("content-type", ""),
                                             request.headers.get("idempotency-key"))
        except RedisError:
            result = Submitted(503, reason="unavailable")
        if result.incident is None:
            return errors(result.status, message(result.reason or "invalid", lang,
                                                 detail=result.detail, ref=result.ref,
                                                 **dict(result.values)))
        inc = result.incident
        due = local_iso(datetime.fromisoformat(inc["deadline_at"])) if inc["deadline_at"] else ""
        if inc.get("merged"):
            notice = (f"Joined work order {inc['ref']}, already open for the same problem."
                      if lang == "en" else f"同一问题已有工单 {inc['ref']}，您的反映已并入该工单。")
        else:
            notice = (f"Registered as work order {inc['ref']}; due by {due}." if lang == "en"
                      else f"已登记为工单 {inc['ref']}，将于 {due} 前办结。")
        return JSONResponse([{"service_request_id": inc["ref"], "service_notice": notice,
                              "account_id": None}])

    @router.get("/requests.json")
    async def list_requests(request: Request, service_request_id: str | None = None,
                            service_code: str | None = None, status: str | None = None,
                            start_date: str | None = None, end_date: str | None = None,
                            locale: str | None = None) -> JSONResponse:
        """Service requests by id list, or by code/status/date (last 90 days, at most 1000)."""
        lang = language(request, locale)
        try:
            start, end = parse_when(start_date, "start_date"), parse_when(end_date, "end_date")
        except BadInput as exc:
            return errors(400, error_text(exc, lang))
        if status not in (None, "", "open", "closed"):
            return errors(400, "status must be open or closed")
        refs = ([r.strip() for r in service_request_id.split(",") if r.strip()][:MAX_RESULTS]
                if service_request_id else None)
        found = await asyncio.to_thread(find_requests, services, lang, refs=refs,
                                        service_code=service_code or None, status=status or None,
                                        start=start, end=end, who=current())
        return JSONResponse(found)

    @router.get("/requests/{service_request_id}.json")
    async def get_request(service_request_id: str, request: Request,
                          locale: str | None = None) -> JSONResponse:
        """One service request by its work-order ref (a list of one, per spec)."""
        lang = language(request, locale)
        found = await asyncio.to_thread(find_requests, services, lang,
                                        refs=[service_request_id], who=current())
        if not found:
            return errors(404, message("not_found", lang, id=service_request_id))
        return JSONResponse(found)

    return router
