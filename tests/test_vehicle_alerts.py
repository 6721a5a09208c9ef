"""一车一档's alerts on a real database and Redis: each item due within 30 days, each item past
and each bus whose first trip left without its 出车前检查 is ONE work order per item and
episode, never two, even from processes sweeping at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select

from datasources.flows.fleet_watch import FleetWatch
from datasources.sql import models as m
from datasources.sql.fleet import Fleet

# Friday 2026-12-04, 10:00 in Shanghai: a school day, every first trip has left.
SCHOOL_MORNING = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
# Saturday 2026-12-05, 10:00: no school trips.
SATURDAY = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _titles(services, refs: list[str]) -> list[str]:
    with services.store.session() as s:
        return sorted(s.scalars(select(m.Incident.title).where(m.Incident.ref.in_(refs))))


def test_each_due_or_expired_item_is_one_work_order_and_a_second_sweep_adds_none(services):
    watch = FleetWatch(services.store, services.intake)
    refs = watch.sweep(SATURDAY, force=True)
    assert _titles(services, refs) == [
        "校车体检已过期：川F·D32468驾驶员杨长青",
        "校车年检即将到期：川F·D77141",
        "校车行驶证已过期：川F·D74743",
    ]
    assert watch.sweep(SATURDAY, force=True) == []
    assert len(watch.open_alerts()) == 3


def test_an_item_that_turns_from_due_to_expired_is_a_new_episode_and_renewal_ends_it(services):
    watch = FleetWatch(services.store, services.intake)
    watch.sweep(SATURDAY, force=True)
    later = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)  # a Monday: the inspection has passed
    with services.store.session() as s:  # everyone did their pre-trip check that day
        for plate in s.scalars(select(m.Vehicle.plate)):
            s.add(m.VehicleCheck(plate=plate, day="2026-12-21", kind="pretrip", at=later,
                                 actor="x"))
    titles = _titles(services, watch.sweep(later, force=True))
    assert "校车年检已过期：川F·D77141" in titles  # (January's dates are now due too)
    assert not any("D77141" in t and "即将到期" in t for t in titles)
    with services.store.session() as s:
        s.get(m.Vehicle, "川F·D77141").inspection_due = "2027-12-20"  # inspected
    assert watch.sweep(later, force=True) == []
    still = {(a["plate"], a["item"]) for a in watch.open_alerts()}
    assert ("川F·D77141", "inspection") not in still


def test_a_bus_whose_first_trip_left_without_the_pre_trip_check_is_flagged_once(services):
    watch = FleetWatch(services.store, services.intake)
    fleet = Fleet(services.store)
    with services.store.session() as s:
        plates = sorted(s.scalars(select(m.Vehicle.plate)))
    for plate in plates[1:]:
        fleet.check(plate, "pretrip", "照管员", SCHOOL_MORNING)
    assert watch.overdue(SCHOOL_MORNING) == plates[:1]
    early = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)  # 05:00: no trip has left yet
    assert watch.overdue(early) == []
    assert watch.overdue(SATURDAY) == []  # no school trips at the weekend
    refs = watch.sweep(SCHOOL_MORNING, force=True)
    assert f"校车未做出车前检查：{plates[0]}" in _titles(services, refs)
    fleet.check(plates[0], "pretrip", "照管员", SCHOOL_MORNING)
    watch.sweep(SCHOOL_MORNING, force=True)
    assert "pretrip" not in {a["item"] for a in watch.open_alerts()}


def test_processes_sweeping_at_once_raise_each_episode_once(services):
    watches = [FleetWatch(services.store, services.intake) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        refs = [r for out in pool.map(lambda w: w.sweep(SATURDAY, force=True), watches)
                for r in out]
    assert len(refs) == 3
    with services.store.session() as s:
        assert len(list(s.scalars(select(m.VehicleAlert)))) == 3


def test_a_fresh_server_waits_one_period_before_its_first_sweep(services):
    watch = FleetWatch(services.store, services.intake, sweep_s=300)
    assert watch.sweep(SATURDAY) == []
    assert services.fleet_watch is not None and services.fleet_watch in [
        getattr(f, "__self__", None) for f in services.hub.sweeps]


def test_the_demo_escorts_check_their_buses_before_the_first_run_but_one(services):
    from dashboard.buses.tracking import build_plans
    from datasources.sim.checks import FORGETFUL, CheckSim
    from datasources.sim.schedule import build_scheduled
    from datasources.sql.buses import BusStore

    store = BusStore(services.store)
    vehicles = [(p, v["route"], v["seats"]) for p, v in store.vehicles().items()]
    sim = CheckSim(Fleet(services.store),
                   build_scheduled(build_plans(store.routes()), vehicles, "demo"))
    night = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # 04:00 on Friday the 4th
    assert sim.tick(night) == 0
    assert sim.tick(SCHOOL_MORNING) == len(vehicles) - 1
    assert sim.tick(SCHOOL_MORNING) == 0  # once a day
    watch = FleetWatch(services.store, services.intake)
    assert watch.overdue(SCHOOL_MORNING) == [FORGETFUL]
    checks = Fleet(services.store).checks_of_day("2026-12-04")
    first = checks["川F·D72692"]["pretrip"]
    assert first["actor"] == "演示照管员" and first["at"].astimezone(UTC) < SCHOOL_MORNING
