"""The per-process hub over real Redis: snapshot, sequenced deltas, gaps and bad input."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import pytest

from dashboard.messages import IncidentProgress, IncidentReport, VehiclePosition
from tests.browser import wait_until_async


@pytest.fixture
def run(services):
    """Run a coroutine with the hub started (and stopped after)."""

    def runner(body):
        async def main():
            await services.hub.start()
            try:
                await wait_until_async(lambda: services.hub.state.connected)
                await body(services.hub)
            finally:
                await services.hub.stop()

        asyncio.run(main())

    return runner


def _report(title: str) -> str:
    return json.dumps({"type": "incident.report", "source": "grid_worker",
                       "category": "disputes", "title": title, "lon": 104.45, "lat": 30.55},
                      ensure_ascii=False)


def test_reports_published_on_ingest_reach_the_live_state_in_order(services, run):
    async def body(hub):
        for n in range(5):
            services.bus.publish_raw(services.bus.ch.ingest, _report(f"纠纷{n}"))
        await wait_until_async(lambda: len(hub.state.incidents) == 5)
        assert [i.title for i in hub.state.feed(5)] == [f"纠纷{n}" for n in range(4, -1, -1)]
        assert hub.state.seq == services.bus.current_seq()
        assert hub.stats["gaps"] == 0
        await wait_until_async(lambda: hub.state.kpis is not None
                                 and hub.state.kpis.today.received == 5)
        # The figures after the reports came from reading those work orders, not the whole
        # month again (issue 17), and match what a read of the month gives.
        assert hub.facts.partial_reads >= 1
        assert hub.state.kpis == services.store.kpis(hub.state.kpis.at)

    run(body)


def test_a_burst_on_ingest_shares_transactions_keeps_its_order_and_steps_wait_for_nothing(
        services, run):
    """A burst of video alerts or a hotline backlog comes on the ingest channel: the reports
    share the group commit's transactions (they were committed one by one, ~150 a second)
    and keep the order they came in; a work order's steps sent meanwhile still apply in
    their order."""
    n = 60

    async def body(hub):
        view = services.intake.handle(IncidentReport.model_validate_json(
            _report("先到的工单"))).event.incident
        await wait_until_async(lambda: view.id in hub.state.incidents)
        batches = services.intake.commits.batches
        for i in range(n):
            services.bus.publish_raw(services.bus.ch.ingest, _report(f"视频告警{i:03d}"))
            if i in (10, 20, 30, 40):
                step = ("accepted", "dispatched", "in_progress", "resolved")[i // 10 - 1]
                services.bus.publish_raw(services.bus.ch.ingest, json.dumps({
                    "type": "incident.progress", "incident_id": view.id, "to_state": step,
                    "actor": "值班员", "note": "突发中处理",
                    **({"assignee_id": "W001"} if step == "dispatched" else {})},
                    ensure_ascii=False))
        await wait_until_async(lambda: sum(i.title.startswith("视频告警")
                                           for i in hub.state.incidents.values()) == n, 30)
        await wait_until_async(lambda: hub.state.incidents[view.id].state == "resolved", 10)
        assert services.intake.commits.batches - batches < n / 2  # transactions shared
        burst = sorted((i for i in hub.state.incidents.values()
                        if i.title.startswith("视频告警")), key=lambda i: i.id)
        assert [i.title for i in burst] == [f"视频告警{i:03d}" for i in range(n)]

    run(body)


def test_a_report_or_another_orders_step_is_not_held_behind_a_slow_step(services, run,
                                                                         monkeypatch):
    """Steps of three work orders are stuck (the database slow for them); a new report and
    a step of a fourth order sent after them still land; once the steps go on, each order's
    steps apply in the order they were sent. Before, the ingest channel took every message
    after the one before it: the report waited out every step sent ahead of it."""
    gate = threading.Event()
    stuck: set[int] = set()
    handle_raw = services.intake.handle_raw

    def slow(raw, parsed=None):
        if isinstance(parsed, IncidentProgress) and parsed.incident_id in stuck:
            gate.wait(30)
        return handle_raw(raw, parsed)

    monkeypatch.setattr(services.intake, "handle_raw", slow)

    def step(order: int, to_state: str) -> None:
        services.bus.publish_raw(services.bus.ch.ingest, json.dumps({
            "type": "incident.progress", "incident_id": order, "to_state": to_state,
            "actor": "值班员", **({"assignee_id": "W001"} if to_state == "dispatched" else {})},
            ensure_ascii=False))

    async def body(hub):
        orders = [services.intake.handle(IncidentReport.model_validate_json(
            _report(f"在办工单{n}"))).event.incident.id for n in range(4)]
        *slow_ones, free = orders
        stuck.update(slow_ones)
        await wait_until_async(lambda: all(o in hub.state.incidents for o in orders))
        for order in slow_ones:
            for to_state in ("accepted", "dispatched", "in_progress"):
                step(order, to_state)
        step(free, "accepted")
        services.bus.publish_raw(services.bus.ch.ingest, _report("随后的上报"))
        await wait_until_async(lambda: any(i.title == "随后的上报"
                                           for i in hub.state.incidents.values()), 10,
                               what="the report sent after the stuck steps")
        await wait_until_async(lambda: hub.state.incidents[free].state == "accepted", 10,
                               what="the free order's step")
        assert all(hub.state.incidents[o].state == "reported" for o in slow_ones)
        gate.set()
        await wait_until_async(lambda: all(hub.state.incidents[o].state == "in_progress"
                                           for o in slow_ones), 10)
        for order in slow_ones:
            assert [h["to"] for h in services.store.history(order)][-3:] == [
                "accepted", "dispatched", "in_progress"]

    try:
        run(body)
    finally:
        gate.set()


def test_a_kpi_refresh_changes_the_figures_not_the_work_orders(services, run):
    """Each report brings a KPI refresh a moment after its event: it must not mark the work
    orders changed too, or every duty console reads and redraws its whole queue (up to 300
    rows) twice a report."""
    async def body(hub):
        services.bus.publish_raw(services.bus.ch.ingest, _report("刷新指标"))
        await wait_until_async(lambda: hub.state.kpis is not None
                               and hub.state.kpis.today.received == 1)
        kpis, orders = hub.state.versions["kpis"], hub.state.versions["incidents"]
        hub._kpi_due.set()  # a refresh with no event (the sweep period's)
        await wait_until_async(lambda: hub.state.versions["kpis"] > kpis)
        assert hub.state.versions["incidents"] == orders

    run(body)


def test_a_sequence_gap_is_filled_from_the_sql_log(services, run):
    async def body(hub):
        resyncs, catch_ups = hub.state.resyncs, hub.stats["catch_ups"]
        # An event lost in transit: the sequence advances but nobody hears the event; the
        # step it announced is in the history, where the hub catches up from.
        # (committed as intake commits, its event lost: its number taken, never heard)
        report = IncidentReport.model_validate_json(_report("没听到的"))
        lost = services.store.create_incident(report, services.intake.index.locate(
            report.lon, report.lat))
        services.bus.next_seq()
        services.intake.handle_raw(_report("断号之后"))
        await wait_until_async(lambda: hub.stats["catch_ups"] > catch_ups)
        titles = {i.title for i in hub.state.incidents.values()}
        assert {"没听到的", "断号之后"} <= titles
        assert hub.state.incidents[lost.incident.id].title == "没听到的"
        assert hub.stats["gaps"] >= 1 and hub.stats["caught_up"] >= 1
        assert hub.state.gap_since is None and hub.state.caught_up is not None
        assert hub.state.resyncs == resyncs  # filled from the log, not a whole snapshot

    run(body)


def test_a_catch_up_counts_only_what_the_gap_missed(services, run):
    """After hours live, a failover's badge says how many steps the gap missed (here one),
    not every history row since the wall opened."""
    async def body(hub):
        for n in range(30):
            services.intake.handle_raw(_report(f"直播{n}"))
        await wait_until_async(lambda: len(hub.state.incidents) == 30)
        await hub._advance_log()  # two database checks (every DB_PING_S) pass
        await hub._advance_log()
        catch_ups = hub.stats["catch_ups"]
        report = IncidentReport.model_validate_json(_report("断档中"))
        services.store.create_incident(report, services.intake.index.locate(
            report.lon, report.lat))
        services.bus.next_seq()  # its announcement lost
        services.intake.handle_raw(_report("断档之后"))
        await wait_until_async(lambda: hub.stats["catch_ups"] > catch_ups)
        assert hub.state.caught_up is not None and hub.state.caught_up <= 2, \
            hub.state.caught_up

    run(body)


def test_bad_vehicle_messages_are_counted_and_good_fixes_still_apply(services, run):
    async def body(hub):
        ch = services.bus.ch
        services.bus.publish_raw(ch.vehicles, b"\x00garbage")
        good = VehiclePosition(plate="川F·D00001", lon=104.44, lat=30.54, speed_kmh=31,
                               at=datetime.now(UTC))
        services.bus.publish_positions([good])
        await wait_until_async(lambda: "川F·D00001" in hub.state.vehicles)
        await wait_until_async(lambda: hub.state.rejected.get("bad_json") == 1)
        assert services.bus.rejected_counts()["bad_json"] == 1

    run(body)


def test_the_hub_reconnects_after_its_redis_connection_is_killed(services, run):
    async def body(hub):
        services.bus.r.client_kill_filter(_type="pubsub")
        await wait_until_async(lambda: hub.stats["lost"] >= 1)
        await wait_until_async(lambda: hub.state.connected, timeout=10)
        services.bus.publish_raw(services.bus.ch.ingest, _report("重连之后"))
        await wait_until_async(
            lambda: any(i.title == "重连之后" for i in hub.state.incidents.values()))

    run(body)


def test_a_future_fix_on_the_vehicles_channel_never_freezes_the_bus(services, run):
    from datetime import timedelta

    async def body(hub):
        ch = services.bus.ch
        now = datetime.now(UTC).replace(microsecond=0)

        def message(at: str) -> str:
            return json.dumps({"type": "vehicle.positions", "v": 1, "positions": [
                {"plate": "川F·D00002", "lon": 104.44, "lat": 30.54, "at": at}]})

        services.bus.publish_raw(ch.vehicles, message(now.isoformat()))
        await wait_until_async(lambda: "川F·D00002" in hub.state.vehicles)
        services.bus.publish_raw(ch.vehicles, message("2068-01-01T00:00:00+00:00"))
        services.bus.publish_raw(ch.vehicles, message((now - timedelta(hours=3)).isoformat()))
        later = now + timedelta(seconds=1)
        services.bus.publish_raw(ch.vehicles, message(later.isoformat()))
        await wait_until_async(lambda: hub.state.vehicles["川F·D00002"].at == later)
        await wait_until_async(lambda: hub.state.rejected.get("bad_time") == 2)
        assert services.bus.rejected_counts()["bad_time"] == 2
        assert hub.tracker is not None
        assert hub.tracker.fleet.track("川F·D00002").at == later

    run(body)
