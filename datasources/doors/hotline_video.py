"""12345 and video, both ways (issue 15): the hotline reads a work order by its own number and
sends its 回访 result; the camera platform (雪亮工程) sends AI camera events.

- GET  /api/v1/hotline/orders/{number}        status, steps and deadline (a hotline key)
- POST /api/v1/hotline/orders/{number}/visit  the 回访 result: closes (回访办结) with it
- POST /api/v1/video/events                   one AI camera event (a video key)

The steps go back to the hotline by the outbox (Store.tell_hotline, the sender in
datasources/outbound/senders.py). The 回访 is the loop's own 回访办结 (close) action, by
Intake.act, so its rules (dashboard/incidents/rules.py: the state, ZN_VERIFY_BEFORE_CLOSE,
a 1–5 score) are the console's. A video event becomes an incident.report handed to the
same intake as every report (http_api.submit_as); a burst merges by the store's merge rule.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import RedisError

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import state_label
from dashboard.idempotency import IDEM_KEY, IDEM_KEY_RULE
from dashboard.incidents import hotline
from dashboard.incidents.errors import BadInput, LoopError
from dashboard.incidents.lifecycle import is_overdue
from dashboard.incidents.rules import Actor
from dashboard.inputs import load_json
from dashboard.messages import HotlineVisit, VideoEvent, video_report
from dashboard.roles import Principal, current
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.doors.http_api import (
    Submitted,
    describe,
    error_response,
    language,
    read_body,
    refuse,
    submit_as,
)
from datasources.redis.ratelimit import ingest_wait, too_many

if TYPE_CHECKING:
    from datasources.services import Services

VISIT_BYTES = 8 * 1024  # a 回访 result is a score and a sentence
EVENT_BYTES = 16 * 1024  # an event is a few links and a note: no uploads here
_NUMBER = re.compile(r"^[^\x00-\x1f<>]{1,64}$")


def _local(value: Any) -> str | None:
    return as_utc(value).astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None


def order_status(found: dict[str, Any], number: str, lang: str) -> dict[str, Any]:
    """What the hotline reads of its order: our ref, the state, the deadline (and whether it
    is past), the satisfaction once closed, and every step told, oldest first."""
    view = found["view"]
    steps = []
    for n, step in enumerate(found["steps"], start=1):
        zh, en = hotline.step_names(step["step"])
        steps.append({"seq": n, "step": step["step"], "step_name": en if lang == "en" else zh,
                      "from_state": step["from_state"], "state": step["state"],
                      "at": _local(step["at"]), "note": step["note"]})
    return {"hotline_ref": number, "ref": view.ref, "state": view.state,
            "state_name": state_label(view.state, lang),
            "deadline_at": _local(view.deadline_at),
            "overdue": is_overdue(view.state, view.deadline_at, utcnow()),
            "closed_at": _local(view.closed_at), "satisfaction": view.satisfaction,
            "report_count": view.report_count, "steps": steps}


def _hotline_only(services: Services, who: Principal) -> Submitted | None:
    """A key of another source may not read or close hotline orders (people at the desk
    may: the route's roles say which)."""
    if who.kind == "key" and who.source != hotline.HOTLINE:
        refused = refuse(services, "wrong_source", f"key of {who.source} at the hotline door")
        return Submitted(refused.status, reason="wrong_source", detail=refused.detail,
                         values=(("own", who.source), ("given", hotline.HOTLINE)))
    return None


def read_order(services: Services, who: Principal, number: str,
               lang: str) -> dict[str, Any] | Submitted:
    """GET: the order's status, or the refusal."""
    wrong = _hotline_only(services, who)
    if wrong is not None:
        return wrong
    assert services.store is not None
    found = services.store.hotline_order(number) if _NUMBER.match(number) else None
    if found is None:
        return Submitted(404, reason="no_hotline_order", detail=number,
                         values=(("number", number[:64]),))
    return order_status(found, number, lang)


def visit(services: Services, who: Principal, number: str, body: bytes | None,
          lang: str) -> dict[str, Any] | Submitted | LoopError:
    """POST …/visit: close the order with the hotline's 回访 result (the loop's close)."""
    wrong = _hotline_only(services, who)
    if wrong is not None:
        return wrong
    if body is None:
        return refuse(services, "too_large", f"body larger than {VISIT_BYTES} bytes")
    try:
        data = load_json(body)
    except BadInput as exc:
        return refuse(services, "bad_json", str(exc.params.get("detail", "")))
    if not isinstance(data, dict):
        return refuse(services, "bad_shape", "a 回访 result is a JSON object")
    try:
        result = HotlineVisit.model_validate(data)
    except ValidationError as exc:
        return refuse(services, "invalid", describe(exc))
    assert services.store is not None and services.intake is not None
    found = services.store.hotline_order(number) if _NUMBER.match(number) else None
    if found is None:
        refuse(services, "unknown_id", f"hotline order {number[:64]}")
        return Submitted(404, reason="no_hotline_order", detail=number,
                         values=(("number", number[:64]),))
    view = found["view"]
    if view.state == "closed" and view.satisfaction == result.satisfaction:
        return order_status(found, number, lang)  # a retried 回访: already done, same answer
    try:
        services.intake.act(view.id, "close", Actor(hotline.ACTOR),
                            satisfaction=result.satisfaction, note=result.history_note())
    except LoopError as exc:
        services.intake.reject(exc.code, f"hotline visit {number[:64]}: {exc.code}")
        return exc
    again = services.store.hotline_order(number)
    assert again is not None
    return order_status(again, number, lang)


def video_event(services: Services, who: Principal, body: bytes | None,
                key: str | None) -> Submitted:
    """POST /api/v1/video/events: the event as a report of its camera, through intake."""
    if body is None:
        return refuse(services, "too_large", f"body larger than {EVENT_BYTES} bytes")
    try:
        data = load_json(body)
    except BadInput as exc:
        return refuse(services, "bad_json", str(exc.params.get("detail", "")))
    if not isinstance(data, dict):
        return refuse(services, "bad_shape", "an event is a JSON object")
    try:
        event = VideoEvent.model_validate(data)
    except ValidationError as exc:
        return refuse(services, "invalid", describe(exc))
    assert services.store is not None
    camera = services.store.camera(event.camera_id)
    if camera is None:
        refused = refuse(services, "unknown_camera", event.camera_id)
        return Submitted(refused.status, reason="unknown_camera", detail=event.camera_id,
                         values=(("camera", event.camera_id),))
    try:
        report = video_report(event, camera)
    except ValidationError as exc:  # a camera name the report's title cannot take
        return refuse(services, "invalid", describe(exc))
    # The platform's event id makes a retry safe, as an Idempotency-Key would.
    return submit_as(services, who, report, key or (f"video:{event.event_id}"
                                                    if event.event_id else None))


def build_hotline_video_router(services: Services) -> APIRouter:
    """The hotline's and the camera platform's doors, bound to the process's services."""
    router = APIRouter()

    def refusal(result: Submitted | LoopError, lang: str) -> JSONResponse:
        if isinstance(result, LoopError):
            return JSONResponse({"error": result.code, "message": error_text(result, lang)},
                                status_code=result.http_status)
        return error_response(result, lang)

    @router.get("/api/v1/hotline/orders/{number}")
    async def hotline_order(number: str, request: Request) -> JSONResponse:
        """A hotline order by the hotline's own number: state, deadline, steps."""
        lang = language(request)
        found = await asyncio.to_thread(read_order, services, current(), number, lang)
        if isinstance(found, Submitted):
            return refusal(found, lang)
        return JSONResponse(found)

    @router.post("/api/v1/hotline/orders/{number}/visit")
    async def hotline_visit(number: str, request: Request) -> JSONResponse:
        """The hotline's 回访 result: {"score": 1-5 | "satisfied": bool, "note"}."""
        lang = language(request)
        who = current()
        wait = await ingest_wait(services, who)
        if wait:
            return too_many(wait, lang)
        body = await read_body(request, VISIT_BYTES)
        try:
            done = await asyncio.to_thread(visit, services, who, number, body, lang)
        except RedisError as exc:
            done = Submitted(503, reason="unavailable", detail=type(exc).__name__)
        if isinstance(done, (Submitted, LoopError)):
            return refusal(done, lang)
        return JSONResponse(done)

    @router.post("/api/v1/video/events", status_code=201)
    async def video_events(request: Request) -> JSONResponse:
        """One AI camera event: 201 with the work order, 200 with "merged" for a burst."""
        lang = language(request)
        who = current()
        wait = await ingest_wait(services, who)
        if wait:
            return too_many(wait, lang)
        body = await read_body(request, EVENT_BYTES)
        key = request.headers.get("idempotency-key")
        if key is not None and not IDEM_KEY.match(key):
            result = await asyncio.to_thread(
                refuse, services, "invalid", IDEM_KEY_RULE)
            return error_response(result, lang)
        try:
            result = await asyncio.to_thread(video_event, services, who, body, key)
        except RedisError as exc:
            result = Submitted(503, reason="unavailable", detail=type(exc).__name__)
        if result.incident is None:
            return error_response(result, lang)
        return JSONResponse(result.incident, status_code=result.status,
                            headers={"Location": f"/api/v1/incidents/{result.incident['id']}"})

    return router

