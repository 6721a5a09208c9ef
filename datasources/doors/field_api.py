"""The assignee's side of the loop over HTTP: task list, acknowledge, arrive, note, ask for
more time (延期), resolve.

Every step goes through datasources/flows/field.py, the same path as the /field page; the
refusals carry codes whose text, in the requester's language, comes from the i18n table.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis.exceptions import RedisError

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import requested_lang, t
from dashboard.incidents.errors import BadInput, LoopError, Refused
from dashboard.incidents.lifecycle import ACTIONS
from dashboard.inputs import parse_id
from dashboard.messages import MessageError, clean_text
from dashboard.roles import current
from datasources.flows.field import field_step, my_checks, my_tasks


class FieldStep(BaseModel):
    """One step reported by the assignee."""

    model_config = ConfigDict(extra="forbid")
    # Optional: the signed-in user is the actor; a different name here is refused.
    actor: str | None = Field(default=None, min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)
    # Checked by the field flow (dashboard/inputs.photo_url): http(s), no markup, <= 500.
    photo_url: str | None = None

    @field_validator("actor", "note")
    @classmethod
    def _safe(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value) or ""


def _lang(request: Request) -> str:
    return requested_lang(request.headers.get("accept-language"))


def _refusal(request: Request, exc: LoopError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "message": error_text(exc, _lang(request)),
                         "detail": str(exc)}, status_code=exc.http_status)


def _count(services: Any, code: str) -> None:
    """Count a refused step (zn:stats:rejected, as every door's refusals)."""
    # A count lost to a Redis outage never turns a refusal into a 500.
    with contextlib.suppress(RedisError):
        services.bus.count_rejected(f"field_{code}")


def build_field_router(services: Any) -> APIRouter:
    """Routes under /api/v1/field for the person a work order is assigned to."""
    router = APIRouter(prefix="/api/v1/field", tags=["field"])

    @router.get("/tasks")
    async def tasks(person: str | None = None) -> JSONResponse:
        """Open work orders assigned to the signed-in grid worker (an admin may name a
        `person` id), earliest deadline first."""
        views = await asyncio.to_thread(my_tasks, services.store, current(), person)
        return JSONResponse([v.model_dump(mode="json") for v in views])

    @router.get("/checks")
    async def checks() -> JSONResponse:
        """Work orders of the signed-in grid worker's grid resolved by someone else, awaiting
        their 核查 (POST …/verify, or …/rework with the reason)."""
        views = await asyncio.to_thread(my_checks, services.store, current())
        return JSONResponse([v.model_dump(mode="json") for v in views])

    @router.post("/incidents/{incident_id}/{action}")
    async def step(incident_id: str, action: str, request: Request) -> JSONResponse:
        """ack | start (arrived) | note | extend (延期: note starts with a duration) | resolve,
        by the assignee; verify | rework (核查, the reason in the note) by the grid's worker."""
        me = current()
        try:
            # A 20-digit id overflowed the database driver (a 500) when taken as an int.
            order_id = parse_id(incident_id, "incident_id")
        except BadInput as exc:
            return _refusal(request, exc)
        if action not in ACTIONS:
            return JSONResponse({"error": "unknown_action", "message": error_text(
                LoopError("unknown_action", action=action), _lang(request))}, status_code=404)
        try:
            body = FieldStep.model_validate_json(await request.body())
        except (ValidationError, MessageError, ValueError) as exc:
            await asyncio.to_thread(services.intake.reject, "invalid", str(exc)[:300])
            return JSONResponse({"error": "invalid", "message": t("err_invalid", _lang(request)),
                                 "detail": str(exc)[:300]}, status_code=400)
        if body.actor and body.actor != me.name:
            return _refusal(request, Refused("not_assignee", action=action))
        try:
            event = await asyncio.to_thread(field_step, services.intake, me, order_id,
                                            action, body.note, body.photo_url)
        except LoopError as exc:
            await asyncio.to_thread(_count, services, exc.code)  # Redis, off the loop
            return _refusal(request, exc)
        view = event.incident
        assert view is not None
        return JSONResponse({"id": view.id, "ref": view.ref, "state": view.state,
                             "action": ACTIONS[action].zh, "seq": event.seq})

    return router
