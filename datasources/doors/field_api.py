"""The assignee's side of the loop over HTTP: task list, acknowledge, arrive, note, resolve."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashboard.incidents.lifecycle import ACTIONS, FIELD_ACTIONS, TransitionError
from dashboard.messages import MessageError, clean_text
from dashboard.roles import ADMIN, current
from datasources.sql.incidents import Conflict, NotFound

MESSAGES = {
    "invalid": ("请求内容不正确", "The request is not valid"),
    "not_found": ("工单不存在", "No such work order"),
    "not_allowed": ("当前状态不能执行此操作", "This step is not allowed now"),
    "conflict": ("工单已被他人处理", "Someone else changed the work order first"),
    "not_assignee": ("该工单未派给您", "This work order is not assigned to you"),
}


class FieldStep(BaseModel):
    """One step reported by the assignee."""

    model_config = ConfigDict(extra="forbid")
    # Optional: the signed-in user is the actor; a different name here is refused.
    actor: str | None = Field(default=None, min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)
    photo_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")

    @field_validator("actor", "note")
    @classmethod
    def _safe(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value) or ""


def _lang(request: Request) -> int:
    return 1 if request.headers.get("accept-language", "").lower().startswith("en") else 0


def _error(request: Request, status: int, reason: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": reason, "message": MESSAGES[reason][_lang(request)],
                         "detail": detail}, status_code=status)


def build_field_router(services: Any) -> APIRouter:
    """Routes under /api/v1/field for the person a work order is assigned to."""
    router = APIRouter(prefix="/api/v1/field", tags=["field"])

    @router.get("/tasks")
    async def tasks(assignee: str | None = None) -> JSONResponse:
        """Open work orders assigned to the signed-in grid worker (an admin may name
        `assignee`), earliest deadline first."""
        me = current()
        who = (assignee or me.name) if me.role == ADMIN else me.name
        views = await asyncio.to_thread(services.store.assigned_to, who)
        return JSONResponse([v.model_dump(mode="json") for v in views])

    @router.post("/incidents/{incident_id}/{action}")
    async def step(incident_id: int, action: str, request: Request) -> JSONResponse:
        """ack | start (arrived) | note | resolve, by the assignee."""
        if action not in FIELD_ACTIONS:
            return _error(request, 404, "not_allowed", f"unknown field action {action!r}")
        try:
            body = FieldStep.model_validate_json(await request.body())
        except (ValidationError, MessageError, ValueError) as exc:
            services.intake.reject("invalid", str(exc)[:300])
            return _error(request, 400, "invalid", str(exc)[:300])
        me = current()
        actor = me.name if me.role != ADMIN else (body.actor or me.name)
        if body.actor and body.actor != actor:
            return _error(request, 403, "not_assignee",
                          f"signed in as {actor}, not {body.actor}")
        try:
            order = await asyncio.to_thread(services.store.incident, incident_id)
            if order.get("assignee") != actor:
                return _error(request, 403, "not_assignee",
                              f"{order['ref']} is assigned to {order.get('assignee')}")
            note = " ".join(x for x in (body.note, body.photo_url or "") if x)
            event = await asyncio.to_thread(services.intake.act, incident_id, action,
                                            actor, note=note)
        except NotFound as exc:
            return _error(request, 404, "not_found", str(exc))
        except TransitionError as exc:
            return _error(request, 409, "not_allowed", str(exc))
        except Conflict as exc:
            return _error(request, 409, "conflict", str(exc))
        view = event.incident
        assert view is not None
        return JSONResponse({"id": view.id, "ref": view.ref, "state": view.state,
                             "action": ACTIONS[action].zh, "seq": event.seq})

    return router
