"""The bus tracker over real Redis and a real database: alerts enter the incident loop once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dashboard.buses.tracking import build_plans
from dashboard.messages import VehiclePosition
from dashboard.screens.live import LiveState
from datasources.flows.bus_tracker import BusTracker
from datasources.sql.buses import BusStore
from tests.browser import wait_until_async as _until

PLATE = "川F·D72692"


def tracker_of(services) -> BusTracker:  # type: ignore[no-untyped-def]
    """A second tracker on the same Redis and database: another server process."""
    return BusTracker.from_settings(services.settings, LiveState(), services.intake,
                                    services.bus, BusStore(services.store))


def school_morning() -> datetime:
    return datetime(2026, 11, 24, 22, 35, tzinfo=UTC)  # Wed 25 Nov, 06:35 in Shanghai


def overspeed_fixes(services, n: int = 8, kmh: float = 75.0) -> list[VehiclePosition]:
    line = build_plans(BusStore(services.store).routes())["R01-AM1"].line
    t0 = school_morning()
    out = []
    for i in range(n):
        lon, lat = line.lonlat(200 + i * kmh / 3.6)
        out.append(VehiclePosition(plate=PLATE, lon=lon, lat=lat, speed_kmh=kmh, heading=90,
                                   at=t0 + timedelta(seconds=i), onboard=15))
    return out


def test_an_overspeed_episode_becomes_one_incident_across_two_processes(services) -> None:
    a, b = tracker_of(services), tracker_of(services)
    fixes = overspeed_fixes(services)
    outcomes = []
    for tr in (a, b):
        outcomes += tr.raise_all(tr.observe(fixes))
    assert len(outcomes) == 1 and outcomes[0].event is not None
    view = outcomes[0].event.incident
    assert view.source == "bus" and view.category == "traffic" and view.priority == "high"
    assert view.title.startswith("校车超速：川F·D72692 75 km/h")
    assert a.stats["alerts"] + b.stats["alerts"] == 1
    assert a.stats["alerts_skipped"] + b.stats["alerts_skipped"] == 1
    assert a.state.trips[PLATE]["trip"] == "R01-AM1"
    assert a.state.trips[PLATE]["load"] == round(15 / 19, 2)
    # It is a work order like any other: dispatched, handled, closed.
    for action in ("accept", "dispatch", "start", "resolve", "close"):
        done = services.intake.act(view.id, action, "值班员", assignee="交警中队",
                                   satisfaction=5)
    assert done.incident.state == "closed"


def test_history_is_sampled_once_per_period_and_replays_in_order(services) -> None:
    a, b = tracker_of(services), tracker_of(services)
    fixes = overspeed_fixes(services, n=4, kmh=30)
    bucket = int(fixes[-1].at.timestamp() // a.sample_s)
    for tr in (a, b):
        tr.observe(fixes)
    assert a.flush_history(bucket) + b.flush_history(bucket) == 1  # the latest fix, once
    a.observe([fixes[-1].model_copy(update={"at": fixes[-1].at + timedelta(seconds=12)})])
    assert a.flush_history(bucket + 1) == 1
    track = BusStore(services.store).track(PLATE, fixes[0].at, fixes[0].at + timedelta(hours=1))
    assert len(track) == 2 and track[0]["at"] < track[1]["at"]
    runs = BusStore(services.store).history_runs(fixes[0].at - timedelta(hours=1),
                                                 fixes[0].at + timedelta(hours=1))
    assert [(r["plate"], r["trip"], r["fixes"]) for r in runs] == [(PLATE, "R01-AM1", 2)]


def test_positions_through_the_hub_fill_trips_and_the_alert_reaches_every_screen(
        services) -> None:
    hub = services.hub

    async def main() -> None:
        await hub.start()
        try:
            await _until(lambda: hub.state.connected)
            v = hub.state.versions["trips"]
            services.bus.publish_positions(overspeed_fixes(services))
            await _until(lambda: PLATE in hub.state.trips
                         and hub.state.versions["trips"] > v)
            await _until(lambda: any(i.source == "bus" for i in hub.state.incidents.values()))
            bus_incidents = [i for i in hub.state.incidents.values() if i.source == "bus"]
            assert len(bus_incidents) == 1
            assert hub.state.trips[PLATE]["route"] == "R01"
        finally:
            await hub.stop()

    asyncio.run(main())


def test_two_server_processes_raise_one_work_order_per_episode(services, settings) -> None:
    from sqlalchemy import func, select

    from datasources.services import Services
    from datasources.sql import models as m

    other = Services(settings).open()  # a second server process: same Redis, same database
    hubs = [services.hub, other.hub]

    async def main() -> None:
        for hub in hubs:
            await hub.start()
        try:
            for hub in hubs:
                await _until(lambda h=hub: h.state.connected)
            await _until(lambda: any(h.leads() for h in hubs))  # the leader lease
            services.bus.publish_positions(overspeed_fixes(services, n=12))
            for hub in hubs:
                await _until(lambda h=hub: any(i.source == "bus"
                                               for i in h.state.incidents.values()))
            await asyncio.sleep(0.5)  # time for a second, wrong, work order to show up
        finally:
            for hub in hubs:
                await hub.stop()

    try:
        asyncio.run(main())
    finally:
        other.close()
    with services.store.session() as s:
        n = s.scalar(select(func.count()).select_from(m.Incident).where(m.Incident.source == "bus"))
    assert n == 1
    assert sum(h.tracker.stats["alerts"] for h in hubs) == 1
    # The leader raised it; the other process keeps it in case it must take over.
    assert [len(h.tracker.deferred) for h in hubs if h.tracker.stats["alerts"] == 0] == [1]


def test_an_sos_outside_the_town_is_an_urgent_work_order_at_the_town_centre(services) -> None:
    tracker = tracker_of(services)
    sos = VehiclePosition(plate=PLATE, lon=105.61, lat=31.2, speed_kmh=0, heading=0,
                          at=school_morning(), alarm=1)
    outcomes = tracker.raise_all(tracker.observe([sos]))
    assert len(outcomes) == 1 and outcomes[0].event is not None, outcomes
    view = outcomes[0].event.incident
    assert (view.source, view.priority) == ("bus", "urgent")
    assert [view.lon, view.lat] == services.town_meta["center"]
    assert view.title.startswith("【位置待核实】校车紧急报警")
    assert "105.61" in services.store.incident(view.id)["description"]


def test_a_report_is_stored_between_the_chunks_of_a_fleets_history_sample(services) -> None:
    """A county fleet's position sample (2,000 buses every 10 s) is written in chunks: a
    work order reported meanwhile is stored between two of them. Written as one
    transaction it held SQLite's one write lock, and the report waited out the whole
    sample: the tail of the wall's publish->screen latency (bench/latency.py)."""
    import json
    import threading
    import time

    from sqlalchemy import func, select

    from datasources.sql import models as m

    def stored() -> int:
        with services.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(m.BusPosition)) or 0)

    at = datetime.now(UTC)
    fixes = [VehiclePosition(plate=f"川F·H{n:05d}", lon=104.45, lat=30.55, at=at)
             for n in range(20_000)]
    writer = threading.Thread(target=BusStore(services.store).save_positions, args=(fixes,))
    writer.start()
    deadline = time.monotonic() + 60
    while stored() == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    outcome = services.intake.handle_raw(json.dumps({
        "type": "incident.report", "source": "hotline", "category": "fire",
        "title": "取样时的报告", "lon": 104.45, "lat": 30.55, "msg_id": "during-sample"},
        ensure_ascii=False))
    when_stored = stored()
    writer.join(60)
    assert outcome.event is not None and outcome.rejected is None
    assert when_stored < len(fixes), "the report waited for the whole fleet's sample"
    assert stored() == len(fixes)
