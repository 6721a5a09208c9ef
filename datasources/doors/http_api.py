"""HTTP doors of intake: the JSON API under /api/v1 (and, via open311.py, GeoReport v2).

Every door ends in `Intake.handle`, the same path as a report published on Redis, so the
rules, the rejection counters and the `incident.created` event are the same whichever door a
report came through.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard.i18n.text import requested_lang
from dashboard.idempotency import IDEM_KEY, IDEM_KEY_RULE
from dashboard.incidents import hotline, video
from dashboard.incidents.errors import BadInput
from dashboard.incidents.rules import may_see
from dashboard.inputs import MAX_YEAR, MIN_YEAR, load_json, parse_id
from dashboard.messages import (
    BAD_DATE,
    BAD_URL,
    MAX_MESSAGE_BYTES,
    IncidentReport,
    IncidentView,
)
from dashboard.roles import Principal, current, may_report_as
from datasources.redis.ratelimit import ingest_wait, too_many
from datasources.sql import models as m
from datasources.sql import suggestions
from datasources.sql.incidents import incident_view

if TYPE_CHECKING:  # the composition root wires the doors; they never import it
    from datasources.services import Services

log = logging.getLogger(__name__)
IDEM_TTL_S = 86_400
# A claimed key whose request died mid-way frees itself after this long.
IDEM_PENDING_TTL_S = 60
IDEM_WAIT_S = 5.0
# Bodies over the limit are still read (and thrown away) up to this size, so that a client
# that sends the whole body before reading gets the 413 instead of a reset connection.
DRAIN_LIMIT = 16 * 1024 * 1024

STATUS: dict[str, int] = {
    "too_large": 413, "too_long": 413, "bad_json": 400, "bad_shape": 400, "bad_version": 400,
    "invalid": 400, "outside_town": 422, "duplicate": 409, "store_error": 503,
    "unauthorized": 403, "not_found": 404, "unavailable": 503,
    "wrong_source": 403, "unknown_camera": 422, "no_hotline_order": 404,
}

MESSAGES: dict[str, tuple[str, str]] = {
    "too_large": ("请求体超过 256 KiB。", "The request body is larger than 256 KiB."),
    "too_long": ("描述过长：{detail}", "The description is too long: {detail}"),
    "bad_json": ("请求体不是有效的 UTF-8 JSON。", "The body is not valid UTF-8 JSON."),
    "bad_shape": ("请求体必须是一个 JSON 对象。", "The body must be a JSON object."),
    "bad_version": ("不支持的消息版本（v 必须为 1）。",
                    "Unsupported schema version (v must be 1)."),
    "invalid": ("上报内容不符合要求：{detail}", "The report is not valid: {detail}"),
    "outside_town": ("上报位置不在本镇任何网格内，请核对经纬度（WGS-84）。",
                     "The location is outside every grid of the town; check lon/lat (WGS-84)."),
    "duplicate": ("该来源编号已上报过，工单号 {ref}。",
                  "This source reference was already reported as work order {ref}."),
    "store_error": ("数据库暂时无法写入，请稍后重试。",
                    "The database could not store the report; retry later."),
    "unavailable": ("服务暂时不可用，请稍后重试。", "The service is unavailable; retry later."),
    "unauthorized": ("api_key 无效。", "The api_key is not valid."),
    # Source codes as the sender writes them in "source".
    "wrong_source": ("此密钥属于来源“{own}”，只能以该来源上报，不能以“{given}”上报。",
                     "This key belongs to source “{own}” and reports only as it, not as "
                     "“{given}”."),
    "not_found": ("没有编号为 {id} 的事件。", "There is no incident {id}."),
    # Issue 15: the video and hotline doors.
    "unknown_camera": ("摄像头“{camera}”不在本镇摄像头清单中（cameras.csv）。",
                       "Camera “{camera}” is not one of the town's cameras (cameras.csv)."),
    "no_hotline_order": ("没有 12345 编号为“{number}”的工单。",
                         "There is no work order with 12345 number “{number}”."),
}


def language(request: Request, override: str | None = None) -> str:
    """'en' when asked for (override or an Accept-Language starting with en), else 'zh'."""
    return requested_lang(override or request.headers.get("accept-language"))


# The commonest validation texts in Chinese; the rest stay as pydantic words them.
_DETAIL_ZH: tuple[tuple[str, str], ...] = (
    ("markup (HTML/script) is not allowed in text", "不能含有 HTML 或脚本标记"),
    ("control characters are not allowed", "不能含有控制字符"),
    ("Field required", "必填"),
    ("Extra inputs are not permitted", "不是可接受的字段"),
    ("String should have at least 1 character", "不能为空"),
    ("String should have at most", "长度不能超过"),
    ("characters", "个字符"),
    ("String should match pattern", "格式不正确，应符合"),
    (BAD_DATE, f"不是有效日期（须为 {MIN_YEAR}–{MAX_YEAR} 年）"),
    (BAD_URL, "照片链接须为 http(s) 网址，且不含空格、引号或 HTML 标记"),
    (video.BAD_LINK, "链接须为 http(s) 网址，且不含空格、引号或 HTML 标记"),
    (video.NO_OFFSET, "时间须带时区偏移（如 2026-12-05T09:30:00+08:00）"),
    (video.UNKNOWN_TYPE, "未知的事件类型"),
    (hotline.NO_RESULT, "须给出 score（1–5）或 satisfied（true/false）"),
    ("Input should be a valid string", "须为文字"),
    ("Input should be a valid integer", "须为整数"),
    ("Input should be a finite number", "须为有限的数"),
    ("Input should be less than or equal to", "不能大于"),
    ("Input should be greater than or equal to", "不能小于"),
)


def _detail(detail: str, lang: str) -> str:
    detail = detail.replace("Value error, ", "")
    if lang == "zh":
        for en, zh in _DETAIL_ZH:
            detail = detail.replace(en, zh)
    return detail


def message(reason: str, lang: str, **values: Any) -> str:
    """The human text of a rejection in `lang`."""
    zh, en = MESSAGES.get(reason, ("请求被拒绝：{detail}", "Request refused: {detail}"))
    values["detail"] = _detail(str(values.get("detail") or reason), lang)
    for name in ("ref", "id", "own", "given"):
        values.setdefault(name, "?")
    return (en if lang == "en" else zh).format(**values)


def idem_key(prefix: str, key: str) -> str:
    """Redis key holding the outcome of one Idempotency-Key."""
    return f"{prefix}:idem:{key}"


async def read_body(request: Request, limit: int = MAX_MESSAGE_BYTES) -> bytes | None:
    """The raw body, or None when it is larger than `limit` (never held in memory whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            break
    return b"".join(chunks) if size <= limit else None


@dataclass(frozen=True)
class Submitted:
    """What became of one report sent over HTTP: a created incident or a refusal."""

    status: int
    incident: dict[str, Any] | None = None
    reason: str | None = None
    detail: str = ""
    ref: str | None = None  # the first work order, for duplicates
    values: tuple[tuple[str, str], ...] = ()  # more words of the refusal's text
    source: str = ""  # the report's source, as sent (a 201's is its new order's)


def summary(view: IncidentView) -> dict[str, Any]:
    """The 201 body: what a source needs to follow its report."""
    return {"id": view.id, "ref": view.ref, "state": view.state, "grid": view.grid,
            "village": view.village,
            "deadline_at": view.deadline_at.isoformat() if view.deadline_at else None}


def refuse(services: Services, reason: str, detail: str) -> Submitted:
    """Count a rejection found at the door (before Intake) and describe it."""
    assert services.intake is not None
    services.intake.reject(reason, detail)
    return Submitted(STATUS.get(reason, 400), reason=reason, detail=detail)


IDEM_REF = "idem:"


def submit(services: Services, report: IncidentReport, key: str | None = None) -> Submitted:
    """Hand one validated report to Intake, once per idempotency key (blocking).

    Redis answers retries fast (and holds a second request while the first runs); the
    database is the guard that survives Redis: a report without a source_ref keeps its
    key as source_ref `idem:KEY`, so a retry after Redis lost its memory, or while Redis
    is down, finds the work order already stored instead of making a second one.
    """
    if key and not report.source_ref:
        report = report.model_copy(update={"source_ref": (IDEM_REF + key)[:64]})
    try:
        result = _submit_claimed(services, report, key)
    except RedisError as exc:
        log.warning("idempotency store unavailable (%s); the database guards retries", exc)
        result = _outcome(services, report, services.intake.handle(report))  # type: ignore
    return result


def _outcome(services: Services, report: IncidentReport, outcome: Any) -> Submitted:
    """The answer to one handled report; a retried idempotency key gets the first answer."""
    if outcome.event is not None and outcome.event.incident is not None:
        body = summary(outcome.event.incident)
        if outcome.merged:
            body["merged"] = True
        return Submitted(200 if outcome.merged else 201, incident=body)
    reason = outcome.rejected or "invalid"
    if reason == "duplicate" and (report.source_ref or "").startswith(IDEM_REF):
        found = existing(services, report.source, report.source_ref)
        if found is not None:
            return Submitted(201, incident=found)
    ref = first_ref(services, report.source, report.source_ref) if reason == "duplicate" else None
    return Submitted(STATUS.get(reason, 400), reason=reason, detail=outcome.detail, ref=ref)


def existing(services: Services, source: str, source_ref: str | None) -> dict[str, Any] | None:
    """The 201 body of the work order stored under source + source_ref, or None."""
    assert services.store is not None
    with services.store.session() as s:
        row = s.scalar(select(m.Incident).where(m.Incident.source == source,
                                                m.Incident.source_ref == source_ref))
        return summary(incident_view(row)) if row is not None else None


def report_digest(report: IncidentReport) -> str:
    """What an Idempotency-Key is bound to: the report as submitted (its transport id aside)."""
    return hashlib.sha256(report.model_dump_json(exclude={"msg_id"}).encode()).hexdigest()


def _submit_claimed(services: Services, report: IncidentReport, key: str | None) -> Submitted:
    assert services.intake is not None and services.bus is not None
    r = services.bus.r
    rkey = idem_key(services.bus.ch.prefix, key) if key else ""
    digest = report_digest(report)
    taken_over = False
    if key:
        deadline = time.monotonic() + IDEM_WAIT_S
        while not r.set(rkey, json.dumps({"hash": digest}), nx=True, ex=IDEM_PENDING_TTL_S):
            raw = r.get(rkey)
            stored = json.loads(raw) if raw else None
            if stored and stored["hash"] != digest:
                return refuse(services, "invalid",
                              f"Idempotency-Key {key} was already used for a different report")
            if stored and "incident" in stored:
                return Submitted(stored.get("status", 201), incident=stored["incident"])
            if time.monotonic() > deadline:
                # The first request is still running, or its server died after claiming
                # the key (kill -9 behind nginx): handle it here rather than answer "still
                # being handled" until the claim expires. The database's unique source_ref
                # keeps it once either way; a lost race is answered with the stored order.
                found = existing(services, report.source, report.source_ref)
                if found is not None:  # it had committed: its answer, not a duplicate
                    r.set(rkey, json.dumps({"hash": digest, "status": 201,
                                            "incident": found}), ex=IDEM_TTL_S)
                    return Submitted(201, incident=found)
                taken_over = True
                break
            time.sleep(0.05)
    # A near-duplicate joins an open work order: nothing new is created, so 200.
    result = _outcome(services, report, services.intake.handle(report))
    if taken_over and result.reason == "duplicate":
        found = existing(services, report.source, report.source_ref)
        if found is not None:
            result = Submitted(201, incident=found)
    if key and result.incident is not None:
        r.set(rkey, json.dumps({"hash": digest, "status": result.status,
                                "incident": result.incident}), ex=IDEM_TTL_S)
    elif key:
        r.delete(rkey)  # a refused request may be corrected and retried under the same key
    return result


def first_ref(services: Services, source: str, source_ref: str | None) -> str | None:
    """Work-order ref of the report already stored under source + source_ref."""
    assert services.store is not None
    with services.store.session() as s:
        return s.scalar(select(m.Incident.ref).where(m.Incident.source == source,
                                                     m.Incident.source_ref == source_ref))


def describe(exc: ValidationError) -> str:
    """Short 'field: problem' text of a pydantic error."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                     for e in exc.errors()[:5])


def parse_report(services: Services, body: bytes) -> IncidentReport | Submitted:
    """The report in a JSON body, or the counted rejection."""
    try:
        data = load_json(body)  # 100k-deep nesting and 5,000-digit integers are bad_json too
    except BadInput as exc:
        return refuse(services, "bad_json", str(exc.params.get("detail", "")))
    if not isinstance(data, dict):
        return refuse(services, "bad_shape", "a report must be a JSON object")
    if data.get("v", 1) != 1:
        return refuse(services, "bad_version", f"unsupported schema version {data['v']!r}")
    try:
        return IncidentReport.model_validate(data)
    except ValidationError as exc:
        return refuse(services, "invalid", describe(exc))


def post_report(services: Services, body: bytes | None, key: str | None) -> Submitted:
    """The whole blocking part of POST /api/v1/incidents (run in a worker thread)."""
    if body is None:
        return refuse(services, "too_large", f"body larger than {MAX_MESSAGE_BYTES} bytes")
    if key is not None and not IDEM_KEY.match(key):
        return refuse(services, "invalid", IDEM_KEY_RULE)
    report = parse_report(services, body)
    if isinstance(report, Submitted):
        return report
    return replace(submit_as(services, current(), report, key or report.msg_id),
                   source=report.source)


def submit_as(services: Services, who: Principal, report: IncidentReport,
              key: str | None) -> Submitted:
    """Submit a report for `who`: a key only as its own source. The work order it filed
    or joined is remembered with the report, in its transaction (key_filings, written by
    Store._create_batch), so the key may read it back (and nothing else)."""
    if not may_report_as(who, report.source):
        refused = refuse(services, "wrong_source", f"key of {who.source} sent {report.source}")
        return replace(refused, values=(("own", who.source), ("given", report.source)))
    return submit(services, report, key)


def load_incident(services: Services, incident_id: int) -> dict[str, Any] | None:
    """The incident's view with its description and history, or None."""
    assert services.store is not None
    with services.store.session() as s:
        row = s.get(m.Incident, incident_id)
        if row is None:
            return None
        view = incident_view(row).model_dump(mode="json")
        # Reporter name and phone are personal data and stay inside the command centre.
        view.update(description=row.description, photo_url=row.photo_url)
    return {"incident": view, "history": jsonable_encoder(services.store.history(incident_id)),
            "suggestion": jsonable_encoder(suggestions.of(services.store, incident_id))}


def read_incident(services: Services, who: Principal, incident_id: int,
                  lang: str) -> dict[str, Any] | list[dict[str, Any]] | None:
    """What `who` may read of one work order: the whole record for the command centre; for
    a source's key, only a work order it filed, in the public GeoReport (Open311) shape with
    no history and no names; None (404) otherwise, so a key learns nothing of the rest. A
    village officer or a unit's handler reads its village's or unit's only (None, 404,
    for the rest: rules.may_see, the same rule as the console's)."""
    if who.kind != "key":
        found = load_incident(services, incident_id)
        return found if found is not None and may_see(who, found["incident"]) else None
    assert services.accounts is not None and services.store is not None
    if not services.accounts.filed_by(who, incident_id):
        return None
    with services.store.session() as s:
        ref = s.scalar(select(m.Incident.ref).where(m.Incident.id == incident_id))
    from datasources.doors.open311 import find_requests  # open311 builds on this module

    return find_requests(services, lang, refs=[ref]) if ref else None


SUGGESTION_WAIT_S = 0.5


async def with_suggestion(services: Services, source: str, body: dict[str, Any]) -> None:
    """The hotline's answer (issue 18): the category and unit suggested for its report when
    ready within SUGGESTION_WAIT_S (the report is stored already; the worker follows), and
    where to read it later (GET /api/v1/incidents/{id} carries it). The report is stored
    already (a 201: a new order, whose source is the report's): a database that fails the
    suggestion's read costs the answer its suggestion, not its 201."""
    assert services.store is not None
    if source != "hotline":
        return
    incident_id = int(body["id"])
    deadline = time.monotonic() + SUGGESTION_WAIT_S
    found = None
    while found is None and services.suggester is not None and services.suggester.model:
        try:
            found = await asyncio.to_thread(suggestions.of, services.store, incident_id)
        except SQLAlchemyError as exc:
            log.warning("suggestion of %s not read: %s", body.get("ref"), exc)
            break
        if found is not None or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    body["suggestion"] = jsonable_encoder(found)
    body["suggestion_url"] = f"/api/v1/incidents/{incident_id}"


def error_response(result: Submitted, lang: str) -> JSONResponse:
    """The JSON refusal {error, message} of the v1 API."""
    body: dict[str, Any] = {"error": result.reason,
                            "message": message(result.reason or "invalid", lang,
                                               detail=result.detail, ref=result.ref,
                                               **dict(result.values))}
    if result.ref:
        body["ref"] = result.ref
    headers = {"Retry-After": "5"} if result.status == 503 else None
    return JSONResponse(body, status_code=result.status, headers=headers)


# A database that fails under a request: gone, cut, or every pooled connection busy.
DATABASE_DOWN: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Any route's answer when the database fails under it (app.py registers it for
    DATABASE_DOWN): 503 with Retry-After, in the requester's language, never a 500. A
    report's door answers its own way first (store_error); this is the net under the rest."""
    log.warning("%s %s answered 503, the database failed: %s", request.method,
                request.url.path, exc)
    lang = language(request)
    return JSONResponse({"error": "unavailable", "message": message("unavailable", lang)},
                        status_code=503, headers={"Retry-After": "5"})


def build_router(services: Services) -> APIRouter:
    """Routes of the JSON API and of Open311, bound to the process's services."""
    router = APIRouter()

    @router.post("/api/v1/incidents", status_code=201)
    async def create_incident(request: Request) -> JSONResponse:
        """Report an incident: an IncidentReport as JSON; 201 with its ref and deadline."""
        lang = language(request)
        wait = await ingest_wait(services, current())
        if wait:
            return too_many(wait, lang)
        body = await read_body(request)
        key = request.headers.get("idempotency-key")
        try:
            result = await asyncio.to_thread(post_report, services, body, key)
        except RedisError as exc:
            # The bus is needed to count, claim and announce; without it nothing is certain.
            result = Submitted(503, reason="unavailable", detail=type(exc).__name__)
        except SQLAlchemyError as exc:
            # The database went away around the report (reading a duplicate's first order,
            # a retry's stored answer): retried under its key, it is stored once.
            log.warning("report answered 503, the database failed: %s", exc)
            result = await asyncio.to_thread(refuse, services, "store_error",
                                             type(exc).__name__)
        if result.incident is None:
            return error_response(result, lang)
        if result.status == 201 and result.incident.get("id"):
            await with_suggestion(services, result.source, result.incident)
        return JSONResponse(result.incident, status_code=result.status,
                            headers={"Location": f"/api/v1/incidents/{result.incident['id']}"})

    @router.get("/api/v1/incidents/{incident_id}")
    async def get_incident(incident_id: str, request: Request) -> JSONResponse:
        """One incident: its current view and its history, oldest first."""
        lang = language(request)
        found = None
        with contextlib.suppress(BadInput):  # not an id of ours: none such
            found = await asyncio.to_thread(read_incident, services, current(),
                                            parse_id(incident_id), lang)
        if found is None:
            return JSONResponse({"error": "not_found",
                                 "message": message("not_found", lang, id=incident_id)},
                                status_code=404)
        return JSONResponse(found)

    # Imported here: open311 builds on the helpers of this module.
    from datasources.doors.open311 import build_open311_fallback, build_open311_router

    router.include_router(build_open311_router(services))
    router.include_router(build_open311_fallback(services))  # after every Open311 route
    return router
