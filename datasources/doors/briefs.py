"""HTTP door of the daily brief: printable HTML per day, and the list of kept days."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from dashboard.i18n.errors import error_text
from dashboard.incidents.errors import BadInput
from dashboard.inputs import parse_day
from dashboard.screens import wall
from dashboard.timeutil import LOCAL_TZ, utcnow


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
            return JSONResponse({"error": exc.code, "message": error_text(exc, lang)},
                                status_code=exc.http_status)
        buses = wall.punctuality(services.hub.state, lang) if services.hub else None
        try:
            page = await asyncio.to_thread(services.briefs.get, day, None, lang, buses)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        headers = {"Content-Disposition": f'attachment; filename="brief-{day}.html"'} \
            if download not in ("", "0") else {}
        return HTMLResponse(page, headers=headers)

    return router
