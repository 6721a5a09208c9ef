"""HTTP door of the daily brief (printable HTML per day, the list of kept days, Word and PDF)
and of the quarterly analysis 分析研判 (Word and PDF). Role-checked by the gate
(dashboard/roles.py ROUTES); each Word or PDF file handed out is a row of the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dashboard.i18n.errors import error_text
from dashboard.incidents.errors import BadInput
from dashboard.inputs import echo, parse_day
from dashboard.screens import analysis, brief, wall
from dashboard.screens.document import Document
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.doors.documents import MEDIA, render


def refusal(exc: BadInput, lang: str) -> JSONResponse:
    """A coded refusal in the requester's language."""
    return JSONResponse({"error": exc.code, "message": error_text(exc, lang)},
                        status_code=exc.http_status)


def _kind(kind: str) -> str:
    """'docx' or 'pdf'; BadInput('bad_format') for anything else."""
    if kind not in MEDIA:
        raise BadInput("bad_format", value=echo(kind))
    return kind


async def _file(services: Any, doc: Document, kind: str, action: str,
                target: str) -> Response:
    """The report as a download, written off the event loop, and its audit row."""
    data = await asyncio.to_thread(render, doc, kind)
    await asyncio.to_thread(services.audit.record, action, target,
                            f"{kind} {doc.lang} {len(data)} bytes")
    return Response(data, media_type=MEDIA[kind], headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}.{kind}"'})


def build_brief_router(services: Any) -> APIRouter:
    """Routes under /api/brief (services is the app's Services, opened by the lifespan)."""
    router = APIRouter(prefix="/api/brief", tags=["daily brief"])

    @router.get("")
    async def kept_briefs() -> JSONResponse:
        """Days with a kept brief, newest first, with their headline counts."""
        return JSONResponse(await asyncio.to_thread(services.briefs.days))

    @router.get("/{day}.html", response_class=HTMLResponse)
    async def brief_html(day: str, lang: str = "zh", download: str = "") -> Any:
        """The brief of one local day (YYYY-MM-DD) as a printable page; ?download=1 saves it."""
        lang = "en" if lang == "en" else "zh"
        try:
            # A day outside the accepted years (0001, 9999) overflowed to a 500 before.
            day = parse_day(day, "day", not_after=utcnow().astimezone(LOCAL_TZ).date()) \
                .isoformat()
        except BadInput as exc:
            return refusal(exc, lang)
        buses = wall.punctuality(services.hub.state, lang) if services.hub else None
        try:
            page = await asyncio.to_thread(services.briefs.get, day, None, lang, buses)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        headers = {"Content-Disposition": f'attachment; filename="brief-{day}.html"'} \
            if download not in ("", "0") else {}
        return HTMLResponse(page, headers=headers)

    @router.get("/{day}.{kind}")
    async def brief_file(day: str, kind: str, lang: str = "zh") -> Any:
        """The brief of one local day as Word (.docx) or PDF (.pdf), laid out for filing."""
        lang = "en" if lang == "en" else "zh"
        try:
            kind = _kind(kind)
            day = parse_day(day, "day", not_after=utcnow().astimezone(LOCAL_TZ).date()) \
                .isoformat()
        except BadInput as exc:
            return refusal(exc, lang)
        now = utcnow()
        today = now.astimezone(LOCAL_TZ).date().isoformat()
        buses = wall.punctuality(services.hub.state, lang) \
            if services.hub and day == today else None
        rec = await asyncio.to_thread(services.briefs.record, day, now, lang, buses)
        return await _file(services, brief.document(rec, lang), kind, "brief.download", day)

    return router


def build_analysis_router(services: Any) -> APIRouter:
    """/api/analysis.docx and .pdf: the analysis of a quarter or from/to range."""
    router = APIRouter(prefix="/api", tags=["analysis"])

    @router.get("/analysis.{kind}")
    async def analysis_file(kind: str, quarter: str = "", lang: str = "zh",
                            from_day: str = Query("", alias="from"),
                            to_day: str = Query("", alias="to")) -> Any:
        """The analysis (分析研判) of ?quarter=2026Q4 or ?from=…&to=… as Word or PDF."""
        lang = "en" if lang == "en" else "zh"
        try:
            kind = _kind(kind)
            ps = analysis.periods(quarter or None, from_day or None, to_day or None)
            rec = await asyncio.to_thread(services.analysis.record, ps)
        except BadInput as exc:  # bad_quarter, bad_date, range_*, day_ahead
            return refusal(exc, lang)
        return await _file(services, analysis.document(rec, lang), kind,
                           "analysis.download", ps.label)

    return router
