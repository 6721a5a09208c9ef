"""HTTP door of the warnings the centre issued (issue 15): the Atom feed of the newest CAP
messages and each message's CAP 1.2 XML, as published. Public (dashboard/roles.py): a
warning is for everybody. A malformed identifier is a coded 400 in the requester's
language, counted as `cap_identifier`; an unknown one is 404."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dashboard.alerts.cap import CAP_MEDIA
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import name, requested_lang, t
from dashboard.incidents.errors import LoopError
from dashboard.timeutil import utcnow
from datasources.flows.cap_xml import FeedEntry, atom_feed

ATOM_MEDIA = "application/atom+xml"
FEED_SIZE = 50


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    return requested_lang(asked or request.headers.get("accept-language"))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def build_cap_router(services: Any) -> APIRouter:
    """Routes under /api/v1/cap (services is the app's Services, opened by the lifespan)."""
    router = APIRouter(prefix="/api/v1/cap", tags=["warnings (CAP 1.2)"])

    @router.get("/feed.atom")
    async def cap_feed(request: Request) -> Response:
        """The newest warnings and cancels (50), newest first, as Atom; each entry links
        its CAP XML."""
        lang = _lang(request)
        rows = await asyncio.to_thread(services.warnings.recent, FEED_SIZE)
        # A cancel's headline carries 【撤销】 already; the entry's category is the msgType.
        entries = [FeedEntry(r.identifier, r.headline,
                             f"{t('cap_ev_' + r.event, lang)} · "
                             f"{t('cap_sev_' + r.severity, lang)}"
                             + (f" · {t('cap_cancelled', lang)}" if r.cancelled_by else ""),
                             r.sent, r.msg_type) for r in rows]
        town = name(services.town_meta, lang)
        body = atom_feed(t("cap_feed_title", lang).format(town=town), _base(request),
                         entries, services.warnings.issuer.name,
                         rows[0].sent if rows else utcnow())
        return Response(body, media_type=ATOM_MEDIA, headers={"Cache-Control": "no-cache"})

    @router.get("/{identifier}.xml")
    async def cap_message(identifier: str, request: Request) -> Response:
        """One message's CAP 1.2 XML, exactly as issued and pushed."""
        try:
            got = await asyncio.to_thread(services.warnings.get, identifier)
        except LoopError as exc:
            if exc.http_status == 400:
                await asyncio.to_thread(services.bus.count_rejected, exc.code)
            return JSONResponse({"error": exc.code,
                                 "message": error_text(exc, _lang(request))},
                                status_code=exc.http_status)
        return Response(got.xml.encode("utf-8"), media_type=CAP_MEDIA)

    return router
