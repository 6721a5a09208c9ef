"""The demo's children on the simulated buses (issue 13): a morning of taps through the same
desk as the boarding door, every child on and off (or absent), sent once across restarts, and
no child alert from a normal morning."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from dashboard.buses.tracking import build_plans
from dashboard.timeutil import LOCAL_TZ
from datasources.sim.schedule import build_scheduled
from datasources.sim.taps import TapSim
from datasources.sql import models as m
from datasources.sql.buses import BusStore


def school_day():
    day = datetime.now(LOCAL_TZ).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def stored(services) -> int:
    with services.store.session() as s:
        return s.scalar(select(func.count()).select_from(m.BoardingEvent))


def test_a_simulated_morning_puts_every_child_on_and_off_once(services):
    store = BusStore(services.store)
    vehicles = [(p, v["route"], v["seats"]) for p, v in store.vehicles().items()
                if v["route"] == "R01"]
    scheduled = build_scheduled(build_plans(store.routes()), vehicles, "demo")
    taps = TapSim(services.boarding, scheduled, seed=7)
    day = school_day()
    at = datetime(day.year, day.month, day.day, 6, 38, tzinfo=LOCAL_TZ)
    assert taps.tick(at) > 0  # the first trip is on its way: children boarding
    first = services.boarding.trip_tally("R01-AM1", day.isoformat())[1]
    assert first.on_board > 0 and first.alighted == 0
    taps.tick(at.replace(hour=8, minute=30))  # both morning trips done
    for trip in ("R01-AM1", "R01-AM2"):
        t = services.boarding.trip_tally(trip, day.isoformat())[1]
        assert t.on_board == 0 and t.alighted + t.absent == t.expected > 0
    n = stored(services)
    again = TapSim(services.boarding, scheduled, seed=7)  # a restarted simulator
    again.tick(at.replace(hour=8, minute=30))
    assert stored(services) == n  # sent again, stored once
    with services.store.session() as s:  # a normal morning raises no child alert
        assert not s.scalar(select(func.count()).select_from(m.Incident)
                            .where(m.Incident.source == "bus"))
