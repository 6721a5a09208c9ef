"""zhongnao app factory: `create_app(settings)` wires services into a Dash app on FastAPI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import dash
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dashboard.incidents.lifecycle import state_colour_css
from dashboard.settings import Settings, split_keys
from datasources.gate.callbacks import CallbackShape, guard_callbacks
from datasources.gate.limits import BodyLimit
from datasources.gate.web import AuthMiddleware, InlineScriptHashes, csp, redact_access_log
from datasources.redis.connect import is_sentinel
from datasources.services import Services, freeze_startup_heap
from pages._script_ids import script_ids_meta
from pages._wall_push import SocketSend

HERE = Path(__file__).resolve().parent
log = logging.getLogger("zhongnao")


def create_app(settings: Settings | None = None, *, own_process: bool = False) -> dash.Dash:
    """Build the Dash app; connections open when the server starts, not here. `own_process`:
    the app is the process's one (`zhongnao serve`), whose startup heap is then frozen
    (datasources.services.freeze_startup_heap); tests start many apps in one process."""
    settings = settings or Settings.from_env()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_server: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(services.open)
        # Dash registers callbacks lazily on the first HTTP request; after a server restart
        # the first message from a reconnecting screen arrives over the websocket instead,
        # and would find no callback. Register them now.
        app._setup_server()
        # Dash registers the pages router's callback in a before-request hook; run the
        # hooks now so that callback exists, then give every server callback its role
        # check (default deny), the pages router and the pages' layouts included.
        for hook in app.backend._before_request_funcs:
            done = hook()
            if asyncio.iscoroutine(done):
                await done
        guard_callbacks(app, services)
        assert services.hub is not None
        await services.hub.start()
        # Grids issue: extend the duty rota and keep yesterday's daily brief.
        from datasources.flows.housekeeping import run_daily_tasks

        daily = asyncio.create_task(run_daily_tasks(services), name="daily-tasks")
        # Issue 13: what the outbox holds for guardians and parent groups goes out.
        from datasources.outbound.senders import Notifier, senders_for

        assert services.outbox is not None
        # Issue 15: and the warnings for the endpoints of ZN_CAP_PUSH_URLS.
        notifier = asyncio.create_task(
            Notifier(services.outbox, senders_for(
                services.notify, cap=bool(settings.cap_push_urls),
                hotline_secret=settings.hotline_secret if settings.hotline_webhook else ""))
            .run(), name="notifier")
        # Issue 15: the operators' answers to a 督办 (JT/T 809 0x1401) into the histories.
        assert services.jt809 is not None
        jt809_replies = asyncio.create_task(services.jt809.run(), name="jt809-replies")
        if own_process:
            freeze_startup_heap()
        try:
            yield
        finally:
            jt809_replies.cancel()
            notifier.cancel()
            daily.cancel()
            await services.hub.stop()
            await asyncio.to_thread(services.close)

    # The documentation pages are the product's own (datasources/doors/api_docs.py): no CDN.
    server = FastAPI(lifespan=lifespan, title="zhongnao", docs_url=None, redoc_url=None,
                     openapi_url="/api/openapi.json")
    # A database gone under any route is a 503 to retry, in the requester's language.
    from datasources.doors.http_api import DATABASE_DOWN, database_unavailable
    for kind in DATABASE_DOWN:
        server.add_exception_handler(kind, database_unavailable)

    @server.get("/api/health")
    async def health() -> JSONResponse:
        """Liveness and the state of the live feed: 503 while Redis or the database is gone
        (the screens then show their last state, marked stale)."""
        hub = services.hub
        if hub is None:
            return JSONResponse({"ok": False, "reason": "starting"}, status_code=503)
        st = hub.state
        ok = st.connected and st.db_ok
        return JSONResponse({"ok": ok, "seq": st.seq, "incidents": len(st.incidents),
                             "vehicles": len(st.vehicles), "rejected": st.rejected,
                             "stats": hub.stats, "database": st.db_ok,
                             # this process runs the once-only work (the leader lease)
                             "leader": hub.leads(),
                             # committed while Redis could not announce them (resync shows)
                             "unannounced": services.intake.unannounced if services.intake
                             else 0,
                             # a gap in what this process heard, and how the SQL log filled
                             # it (datasources/sql/event_log.py); the Redis primary in use
                             "gap": {"open": st.gap_since is not None,
                                     "since": st.gap_since.isoformat() if st.gap_since
                                     else None,
                                     "gaps": hub.stats["gaps"], "lost": hub.stats["lost"],
                                     "catch_ups": hub.stats["catch_ups"],
                                     "caught_up": hub.stats["caught_up"],
                                     "last_ms": round(hub.last_catch_up_ms, 1),
                                     "log_id": hub.log_id},
                             "redis": {"sentinel": is_sentinel(services.redis_url),
                                       "primary": hub.primary}},
                            status_code=200 if ok else 503)

    # HTTP doors: intake's JSON API (/api/v1) and Open311 GeoReport v2 (/open311/v2), and
    # the assignee's field API (/api/v1/field).
    from datasources.doors.field_api import build_field_router
    from datasources.doors.http_api import build_router
    from datasources.doors.login import build_login_router

    server.include_router(build_router(services))
    server.include_router(build_field_router(services))
    from datasources.doors.photo_api import build_photo_router  # 随手拍 (issue 15)

    server.include_router(build_photo_router(services))
    from datasources.doors.bus_api import build_bus_router  # positions doors, bus reads (issue 4)
    from datasources.doors.hotline_video import build_hotline_video_router  # issue 15

    server.include_router(build_hotline_video_router(services))

    server.include_router(build_bus_router(services))
    from datasources.doors.briefs import build_analysis_router, build_brief_router

    server.include_router(build_brief_router(services))  # /api/brief: the daily brief
    server.include_router(build_analysis_router(services))  # /api/analysis.docx|pdf
    server.include_router(build_login_router(services, settings.secure_cookies))
    from datasources.doors.cap_api import build_cap_router  # warnings as CAP 1.2 (issue 15)

    server.include_router(build_cap_router(services))
    from datasources.doors.api_docs import build_docs_router

    server.include_router(build_docs_router("zhongnao", "/api/openapi.json"))

    @server.get("/api/town/{name}")
    async def town_layer(name: str) -> JSONResponse:
        """A static map layer of the town (basemap, grids of a level, stations) as GeoJSON."""
        layer = services.layers.get(name)
        if layer is None:
            return JSONResponse({"error": f"no layer {name!r}",
                                 "layers": sorted(services.layers)}, status_code=404)
        return JSONResponse(layer, headers={"Cache-Control": "public, max-age=300"})

    app = dash.Dash(
        __name__,
        server=server,
        backend="fastapi",
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        websocket_callbacks=True,
        title="中脑",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                   script_ids_meta()],
    )
    app.zn_services = services  # type: ignore[attr-defined]
    # The state colours, from the one table (dashboard/incidents/lifecycle.STATE_COLOURS), as
    # CSS custom properties and badge classes: the stylesheets and scripts keep no copy.
    app.index_string = app.index_string.replace(
        "{%css%}", f'{{%css%}}<style id="zn-state-colours">{state_colour_css()}</style>', 1)
    # Outermost middleware (added after Dash's own): every request and websocket passes
    # the gate before Dash or a route sees it.
    # Inside the gate: a callback call Dash's renderer never sends is a 400, not Dash's 500.
    server.add_middleware(CallbackShape, callback_map=lambda: app.callback_map)
    hashes = InlineScriptHashes(app)  # read per response: Dash adds scripts after this
    server.add_middleware(AuthMiddleware, services=services,
                          csp_header=lambda: csp(hashes(), settings.tile_url,
                                                 split_keys(settings.image_origins)),
                          secure=settings.secure_cookies, hsts_seconds=settings.hsts_seconds)
    redact_access_log()  # a wall's first URL carries its kiosk token
    # Outside the gate: an oversized body is refused before anything reads it.
    server.add_middleware(BodyLimit, count=lambda: services.bus.count_rejected("too_large"))
    # Outermost of all: the client's address (and scheme) from X-Forwarded-* only when the
    # peer is a proxy named in ZN_TRUSTED_PROXIES (none by default). The server runs with
    # uvicorn's own proxy handling off (cli.uvicorn_config), which trusts 127.0.0.1.
    server.add_middleware(ProxyHeadersMiddleware,
                          trusted_hosts=split_keys(settings.trusted_proxies))
    # Around everything: each websocket's own sender, for the wall's push to write to
    # (pages/_wall_push.py; uvicorn's, before any middleware wraps it).
    server.add_middleware(SocketSend)
    app.layout = dash.html.Div(dash.page_container, id="zn-root")
    return app
