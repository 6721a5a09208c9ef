"""`make run` with real feeds: the app's services and the simulator on one Redis; a JT/T 808
terminal and a GTFS-RT push for two demo plates win over the simulator, fix after fix.
And with the simulator off (ZN_SIM=off / --no-sim) nothing simulated appears at all."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from cli import _start_simulator
from dashboard.messages import VehiclePosition
from dashboard.settings import Settings
from datasources.feeds.gtfs_rt import vehicle_feed
from datasources.redis.publisher import Publisher
from datasources.sim.simulator import Simulator
from datasources.towns.files import load_town
from tests.browser import Terminal, running_gateway, serve, wait_until

JT_PLATE = "川F·D72692"  # R01
RT_PLATE = "川F·D32468"  # R02



def test_real_jt808_and_gtfs_rt_fixes_win_over_the_running_simulator(settings: Settings) -> None:
    bus = Publisher.from_url(settings.redis_url, settings.redis_prefix)
    sim = Simulator(load_town(settings.town_dir), bus, seed=9)
    stop = threading.Event()
    with serve(settings) as live, running_gateway(bus) as (_gw, port):
        worker = threading.Thread(target=sim.run, args=(stop,), kwargs={"hz": 10}, daemon=True)
        worker.start()
        try:
            hub = live.services.hub
            assert hub is not None
            wait_until(lambda: JT_PLATE in bus.latest_positions()
                       and JT_PLATE in hub.state.vehicles)
            term = Terminal(port)
            term.login(JT_PLATE)
            # The real fixes are dated a few seconds ahead: the simulator's last fix before it
            # yields the plate is dated when it was made, and on a busy machine that can be
            # later than a real fix dated now (the hub keeps the newer, as it should).
            t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
            for i in range(6):
                at = t0 + timedelta(seconds=i)
                lon, lat = 104.4700 + i * 1e-4, 30.5735
                assert term.report(at, lon, lat, 25) == 0
                feed = vehicle_feed([VehiclePosition(plate=RT_PLATE, lon=104.43 + i * 1e-4,
                                                     lat=30.57, speed_kmh=20, at=at)])
                status, _, _ = live.call("POST", "/api/v1/vehicles/gtfs-rt", feed,
                                         {"Content-Type": "application/x-protobuf"})
                assert status == 202
                wait_until(lambda lon=lon: bus.latest_positions()[JT_PLATE].lon == round(lon, 6))
                time.sleep(0.4)  # four simulator ticks in between
                latest = bus.latest_positions()
                assert (latest[JT_PLATE].lon, latest[JT_PLATE].at) == (round(lon, 6), at)
                assert abs(latest[RT_PLATE].lon - (104.43 + i * 1e-4)) < 1e-5  # float32
                assert latest[RT_PLATE].at == at
                # The screens' live state follows the real feed too.
                wait_until(lambda lon=lon: hub.state.vehicles[JT_PLATE].lon == round(lon, 6))
                assert hub.state.vehicles[RT_PLATE].at == at
            assert {JT_PLATE, RT_PLATE} <= sim.yielded
            # The other buses are still simulated.
            assert sim.totals.positions > 0 and len(sim.yielded) == 2
            term.close()
        finally:
            stop.set()
            worker.join(timeout=5)
            bus.r.close()


def test_with_the_simulator_off_nothing_is_simulated(settings: Settings) -> None:
    off = Settings.from_env(environ={"ZN_SIM": "off"}, **{
        k: getattr(settings, k) for k in ("data_dir", "database_url", "redis_url",
                                          "redis_prefix", "port")})
    assert off.sim is False
    bus = Publisher.from_url(settings.redis_url, settings.redis_prefix)
    try:
        with serve(off) as live:
            stop = threading.Event()
            assert _start_simulator(off, stop) is None
            time.sleep(2.5)
            assert bus.latest_positions() == {}
            assert live.incident_count() == 0
            hub = live.services.hub
            assert hub is not None and hub.state.vehicles == {}
    finally:
        bus.r.close()


def test_run_has_a_no_sim_flag() -> None:
    from click.testing import CliRunner

    from cli import main

    out = CliRunner().invoke(main, ["run", "--help"]).output
    assert "--no-sim" in out and "ZN_SIM=off" in out



def test_the_simulators_steps_are_the_system_actors_in_history_and_audit(
        settings: Settings) -> None:
    from dashboard.actors import SIM_ACTOR
    from datasources.doors.login import audit_html

    bus = Publisher.from_url(settings.redis_url, settings.redis_prefix)
    sim = Simulator(load_town(settings.town_dir), bus, seed=9, rate=3000)
    stop = threading.Event()
    steps = ("incident.accepted", "incident.dispatched", "incident.in_progress",
             "incident.resolved")
    with serve(settings) as live:
        worker = threading.Thread(target=sim.run, args=(stop,), kwargs={"hz": 10}, daemon=True)
        worker.start()
        try:
            audit, store = live.services.audit, live.services.store
            assert audit is not None and store is not None
            wait_until(lambda: audit.search(action="incident.dispatched"), timeout=60)
            rows = [r for step in steps for r in audit.search(action=step)]
        finally:
            stop.set()
            worker.join(timeout=5)
            bus.r.close()
        assert {r["actor"] for r in rows} == {SIM_ACTOR}
        moves = audit.search(action="stock.")
        assert moves and {r["actor"] for r in moves} == {SIM_ACTOR}
        page = audit_html(rows, {}, "zh")
        assert "系统模拟" in page and "值班员" not in page and ">simulator<" not in page
        assert "Simulator" in audit_html(rows, {}, "en")
        # Each work order's history: the report, then only the system's steps.
        later = [h for i in range(1, live.incident_count() + 1) for h in store.history(i)[1:]]
        assert later and {h["actor"] for h in later} == {SIM_ACTOR}
