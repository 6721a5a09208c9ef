"""随手拍 over HTTP (issue 15): a grid worker's report with a photo, and the photos read back.

POST /api/v1/field/reports takes multipart/form-data (category, text, lon, lat, key, photo),
the shape a phone's form sends; the photo is checked and kept by the photos flow, then the
report goes to Intake through the same `submit` as every report door (one work order per
idempotency key). GET /api/v1/photos/{photo_id}/{size} serves a kept photo to whoever may
see it (dashboard/incidents/rules.may_see_photo); any other asker hears 404.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.datastructures import UploadFile

from dashboard.i18n.errors import error_text
from dashboard.i18n.text import category_label
from dashboard.idempotency import check_key
from dashboard.incidents.errors import BadInput
from dashboard.messages import IncidentReport
from dashboard.roles import Principal, current
from datasources.doors.http_api import (
    IDEM_REF,
    Submitted,
    describe,
    error_response,
    existing,
    language,
    read_body,
    submit,
)
from datasources.photos.images import CONTENT_TYPE, check_size
from datasources.redis.ratelimit import ingest_wait, too_many

if TYPE_CHECKING:  # the composition root wires the doors; they never import it
    from datasources.services import Services

SOURCE = "grid_worker"
# The form's own fields beside the photo are small: more than this is not a phone's form.
FORM_SLACK = 64 * 1024
TITLE_MAX = 100
PHOTO_STATUS = {"photo_too_large": 413, "photo_dimensions": 413, "photo_type": 415,
                "photo_not_image": 415, "photo_empty": 400}


def _refusal(services: Services, exc: BadInput, lang: str, status: int | None = None) -> Any:
    """A counted 4xx in the API's {error, message} shape, in the requester's language."""
    assert services.intake is not None
    services.intake.reject(exc.code, str(exc))
    return JSONResponse({"error": exc.code, "message": error_text(exc, lang)},
                        status_code=status or PHOTO_STATUS.get(exc.code, 400))


def _number(value: Any, name: str) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise BadInput("bad_position", name=name) from None
    if not math.isfinite(number):
        raise BadInput("bad_position", name=name)
    return number


def field_report(who: Principal, form: dict[str, str]) -> IncidentReport:
    """The report a grid worker's form makes: source grid_worker, their name as reporter,
    the text as its title (the category's name when there is none). BadInput for a position
    that is not a number; ValidationError for the rest (an unknown category, markup, a
    point off the map)."""
    if not form.get("lon") or not form.get("lat"):
        raise BadInput("no_position")
    lon, lat = _number(form["lon"], "lon"), _number(form["lat"], "lat")
    text = " ".join(form.get("text", "").split())
    category = form.get("category", "")
    title = text[:TITLE_MAX] or f"{category_label(category, 'zh')}（随手拍）"
    return IncidentReport(source=SOURCE, category=category, title=title,
                          description=text if len(text) > TITLE_MAX else "",
                          lon=lon, lat=lat, reporter_name=(who.name or None))


def build_photo_router(services: Services) -> APIRouter:
    """Routes of 随手拍: the field report with its photo, and the photos."""
    router = APIRouter(tags=["field"])

    @router.post("/api/v1/field/reports", status_code=201)
    async def create_field_report(request: Request) -> Response:
        """A grid worker's report (multipart/form-data: category, text, lon, lat, key, photo
        file); 201 with the work order and its photo's id. A retried key gets the first
        answer and keeps no second photo."""
        lang = language(request)
        who = current()
        limits = services.photos.limits  # type: ignore[union-attr]
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes + FORM_SLACK:
            # Read and drop what a client sends before it reads the answer (up to 16 MiB),
            # so it hears the 413 rather than a reset connection.
            await read_body(request, 0)
            try:
                check_size(int(declared), limits)
            except BadInput as exc:
                return await asyncio.to_thread(_refusal, services, exc, lang)
        wait = await ingest_wait(services, who)
        if wait:
            return too_many(wait, lang)
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception as exc:  # not multipart, a broken body: the client's fault
            return await asyncio.to_thread(_refusal, services,
                                           BadInput("bad_form", detail=type(exc).__name__),
                                           lang, 400)
        upload = form.get("photo")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        key = fields.get("key") or request.headers.get("idempotency-key") or None
        try:
            if key is not None:
                check_key(key)
            report = field_report(who, fields)
        except BadInput as exc:
            return await asyncio.to_thread(_refusal, services, exc, lang, 400)
        except ValidationError as exc:
            result = await asyncio.to_thread(_invalid, services, describe(exc))
            return error_response(result, lang)
        if key:  # a retry whose first answer was lost: the work order, no second photo
            found = await asyncio.to_thread(existing, services, SOURCE, (IDEM_REF + key)[:64])
            if found is not None:
                return JSONResponse(found, status_code=201)
        data = b""
        if isinstance(upload, UploadFile):
            data = await upload.read(limits.max_bytes + 1)
        try:
            photo_id = None
            if isinstance(upload, UploadFile) and (data or upload.filename):
                photo_id, _kept = await asyncio.to_thread(services.photos.keep,  # type: ignore[union-attr]
                                                          data, who)
        except BadInput as exc:
            return await asyncio.to_thread(_refusal, services, exc, lang)
        report = report.model_copy(update={"photo": photo_id})
        try:
            result = await asyncio.to_thread(submit, services, report, key)
        except RedisError as exc:
            result = Submitted(503, reason="unavailable", detail=type(exc).__name__)
        if result.incident is None:
            return error_response(result, lang)
        body = {**result.incident, "photo": photo_id}
        return JSONResponse(body, status_code=result.status,
                            headers={"Location": f"/api/v1/incidents/{body['id']}"})

    @router.get("/api/v1/photos/{photo_id}/{size}")
    async def read_photo(photo_id: str, size: str, request: Request) -> Response:
        """One kept photo as JPEG (size: full | thumb) for whoever may see it; 404 for
        everyone else, as for a photo that does not exist."""
        data = await asyncio.to_thread(services.photos.read,  # type: ignore[union-attr]
                                       current(), photo_id, size)
        if data is None:
            lang = language(request)
            return JSONResponse({"error": "no_photo", "message": error_text(
                BadInput("no_photo"), lang)}, status_code=404)
        # Ids are random and a photo never changes: the browser may keep it, nobody else.
        return Response(data, media_type=CONTENT_TYPE,
                        headers={"Cache-Control": "private, max-age=86400, immutable"})

    return router


def _invalid(services: Services, detail: str) -> Submitted:
    assert services.intake is not None
    services.intake.reject("invalid", detail)
    return Submitted(400, reason="invalid", detail=detail)
