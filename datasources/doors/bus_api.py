"""HTTP doors for vehicle positions: a JSON batch and GTFS-Realtime push; bus reads for screens.

Both doors end in `Publisher.publish_positions`, like the simulator and the JT/T 808 gateway, so
every fix reaches the latest-state hash, the hub, the tracker and the screens the same way.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dashboard.buses.fixtime import BAD_TIME, FixWindow
from dashboard.buses.pupils import Viewer, manifest_view
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import t
from dashboard.incidents.errors import BadInput, LoopError
from dashboard.inputs import bounded_number, load_json, parse_instant
from dashboard.messages import MAX_MESSAGE_BYTES, MessageError, parse_vehicle_message
from dashboard.roles import current, personal
from dashboard.timeutil import utcnow
from datasources.doors.http_api import language, read_body
from datasources.feeds import gtfs_rt
from datasources.sql.buses import BusStore
from datasources.sql.pupils import PupilStore

if TYPE_CHECKING:  # the composition root wires the doors; they never import it
    from datasources.services import Services

PROTOBUF = "application/x-protobuf"
MAX_TRACK_HOURS = 31 * 24  # a month of replay at most per request


def bad_time_text(window: FixWindow, lang: str) -> str:
    """Why a fix was refused as bad_time, in the requester's language."""
    return t("err_bad_time", lang).format(future_min=f"{window.future_s / 60:g}",
                                          replay_min=f"{window.replay_s / 60:g}")


def build_bus_router(services: Services) -> APIRouter:
    """Routes under /api/v1/vehicles and /api/v1/buses."""
    router = APIRouter(prefix="/api/v1")

    def refuse(status: int, reason: str, detail: str) -> JSONResponse:
        assert services.intake is not None
        services.intake.reject(reason, detail)  # counted, logged, on every screen's counter
        return JSONResponse({"error": reason, "detail": detail}, status_code=status)

    @router.post("/vehicles/positions")
    async def post_positions(request: Request) -> JSONResponse:
        """A batch of fixes as JSON {"positions": [VehiclePosition, ...]}: 202 or 4xx."""
        body = await read_body(request)
        if body is None:
            return await asyncio.to_thread(
                refuse, 413, "too_large", f"body over {MAX_MESSAGE_BYTES} bytes")
        try:
            message = parse_vehicle_message(body)
        except MessageError as exc:
            return await asyncio.to_thread(refuse, 400, exc.reason, exc.detail)
        assert services.bus is not None
        # The time rule refuses (and counts) fixes dated far ahead or far behind the bus.
        done = await asyncio.to_thread(services.bus.publish_positions, message.positions)
        if not done.refused:
            return JSONResponse({"accepted": done.accepted}, status_code=202)
        answer = {"accepted": done.accepted, "refused": done.refused,
                "message": bad_time_text(services.bus.window, language(request))}
        if done.accepted:
            return JSONResponse(answer, status_code=202)
        return JSONResponse({"error": BAD_TIME, **answer}, status_code=400)

    @router.post("/vehicles/gtfs-rt")
    async def post_gtfs_rt(request: Request) -> JSONResponse:
        """A pushed GTFS-Realtime FeedMessage (protobuf); bad entities are skipped, counted."""
        body = await read_body(request, gtfs_rt.MAX_FEED_BYTES)
        if body is None:
            return await asyncio.to_thread(refuse, 413, "too_large", "feed over 8 MiB")
        assert services.bus is not None
        try:
            result = await asyncio.to_thread(gtfs_rt.ingest, services.bus, body)
        except gtfs_rt.FeedError as exc:
            return await asyncio.to_thread(refuse, 400, "gtfs_rt_" + exc.reason, exc.detail)
        return JSONResponse({"accepted": len(result.positions),
                             "skipped": [{"entity": e, "reason": r} for e, r in result.skipped]},
                            status_code=202)

    @router.get("/vehicles/gtfs-rt")
    async def get_gtfs_rt() -> Response:
        """The latest fix of every vehicle as a GTFS-Realtime VehiclePositions feed."""
        assert services.bus is not None
        latest = await asyncio.to_thread(services.bus.latest_positions)
        return Response(gtfs_rt.vehicle_feed(list(latest.values())), media_type=PROTOBUF)

    @router.get("/buses/trips")
    async def get_trips() -> JSONResponse:
        """Every tracked bus's trip row (route, trip, next stop, ETA, status, load)."""
        assert services.hub is not None
        return JSONResponse({"trips": list(services.hub.state.trips.values())})

    @router.get("/buses/{plate}/track")
    async def get_track(request: Request, plate: str, start: str | None = None,
                        hours: str | None = None, trip: str | None = None) -> JSONResponse:
        """A bus's recorded fixes (history replay), from `start` (ISO 8601; UTC without an
        offset) for `hours` (default 24, at most a month)."""
        try:
            # Year 1 or 9999, or 1e308 / inf hours, overflowed the date arithmetic (a 500).
            span = bounded_number(hours, "hours", 0, MAX_TRACK_HOURS) if hours else 24.0
            begin = parse_instant(start, "start") if start else \
                utcnow() - timedelta(hours=span)
        except BadInput as exc:
            return JSONResponse({"error": exc.code, "message": error_text(
                exc, language(request)), "detail": str(exc)}, status_code=exc.http_status)
        assert services.store is not None
        fixes = await asyncio.to_thread(BusStore(services.store).track, plate, begin,
                                        begin + timedelta(hours=span), trip)
        return JSONResponse({"plate": plate, "fixes": fixes})

    @router.post("/buses/boarding")
    async def post_boarding(request: Request) -> JSONResponse:
        """One boarding event {pupil, event: board|alight|absent, at, vehicle, key}: 201 when
        stored, 200 when its key was stored before (the first event's answer), 4xx counted."""
        lang = language(request)
        body = await read_body(request)
        desk = services.boarding
        assert desk is not None
        who = current()

        def run() -> JSONResponse:
            try:
                if body is None:
                    raise BadInput("too_large", mb=f"{MAX_MESSAGE_BYTES / 1048576:g}")
                done = desk.record(who, load_json(body))
            except LoopError as exc:
                refuse_quietly(exc.code, str(exc))
                return JSONResponse({"error": exc.code, "message": error_text(exc, lang)},
                                    status_code=exc.http_status)
            e = done.event
            return JSONResponse({"stored": done.new, "id": e.seq, "pupil": e.pupil,
                                 "trip": e.trip, "day": e.day, "event": e.event,
                                 "at": e.at.isoformat(), "stop": e.stop, "key": e.key,
                                 "counts": done.tally.counts()},
                                status_code=201 if done.new else 200)

        return await asyncio.to_thread(run)

    def refuse_quietly(reason: str, detail: str) -> None:
        assert services.intake is not None
        services.intake.reject(reason, detail)

    @router.get("/buses/trips/{trip}/manifest")
    async def get_manifest(request: Request, trip: str) -> JSONResponse:
        """Who is expected at each stop of a trip (issue 13): names as the reader may see
        them (dashboard/buses/pupils.manifest_view); every read is audited."""
        lang = language(request)
        who = current()
        assert services.store is not None and services.audit is not None
        pupils = PupilStore(services.store.engine)

        def read() -> dict | None:
            manifest = pupils.manifest(trip[:24])
            if manifest is None:
                return None
            viewer = Viewer(who.role, pupils.posts(who.user_id))
            services.audit.record("pupils.manifest", trip[:24],  # type: ignore[union-attr]
                                  f"{manifest.expected} pupils", who=who)
            return manifest_view(manifest, viewer)

        found = await asyncio.to_thread(read)
        if found is None:
            return JSONResponse({"error": "unknown_trip", "message": t(
                "err_unknown_trip", lang).format(trip=trip[:40])}, status_code=404)
        return JSONResponse(found)

    @router.get("/buses/vehicles/{plate}/record")
    async def get_vehicle_record(request: Request, plate: str) -> JSONResponse:
        """一车一档 of one bus: its dated items and their states, equipment, drivers (phones
        by the one phone rule), today's checks and whether it is fit (dashboard/buses/fleet)."""
        lang = language(request)
        who = current()
        watch = services.fleet_watch
        assert watch is not None

        def read() -> dict:
            return watch.view(plate[:20], lambda n: personal(n, "phone", who))

        try:
            found = await asyncio.to_thread(read)
        except LoopError as exc:
            return JSONResponse({"error": exc.code, "message": error_text(exc, lang)},
                                status_code=exc.http_status)
        checks = {k: ({"at": c["at"].isoformat(), "actor": c["actor"]} if c else None)
                  for k, c in found["checks"].items()}
        return JSONResponse({**found, "checks": checks})

    return router
