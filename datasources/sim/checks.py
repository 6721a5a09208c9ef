"""The demo escorts' daily checks (一车一档, issue 13): each simulated bus gets its 出车前检查
and 消毒 before its route's first run of the day (the rule checks every bus of a route by
then: fleet.pretrip_overdue), as an escort taps them on /escort, except one bus whose escort
forgets, so the demo shows an overdue check."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from dashboard.buses.fleet import CHECK_KINDS
from dashboard.buses.timetable import local_date
from dashboard.incidents.errors import LoopError
from datasources.sim.schedule import PREP_S, ScheduledBus
from datasources.sql.fleet import Fleet

log = logging.getLogger(__name__)
ESCORT = "演示照管员"
FORGETFUL = "川F·D60259"  # the demo's bus whose pre-trip check is missed


class CheckSim:
    """Records each bus's checks of the day once its first run's preparation has begun."""

    def __init__(self, fleet: Fleet, scheduled: list[ScheduledBus],
                 holidays: frozenset[date] = frozenset(), forgetful: str = FORGETFUL):
        self.fleet = fleet
        self.scheduled = scheduled
        self.holidays = holidays
        self.forgetful = forgetful
        self.done: set[tuple[str, date]] = set()

    def tick(self, now: datetime) -> int:
        """Record the checks due by `now`; returns how many buses were checked."""
        day = local_date(now)
        first: dict[str, float] = {}  # each route's first departure today
        for bus in self.scheduled:
            for r in bus.runs_on(day, self.holidays):
                first[r.plan.route] = min(first.get(r.plan.route, r.depart), r.depart)
        n = 0
        for bus in self.scheduled:
            if bus.route not in first or (bus.plate, day) in self.done or \
                    bus.plate == self.forgetful:
                continue
            at = first[bus.route] - PREP_S
            if at > now.timestamp():
                continue
            self.done.add((bus.plate, day))
            when = datetime.fromtimestamp(at, UTC)
            try:
                for kind in CHECK_KINDS:
                    self.fleet.check(bus.plate, kind, ESCORT, when)
                n += 1
            except LoopError as exc:  # a bus the register does not hold
                log.info("simulator: no checks for %s: %s", bus.plate, exc)
        if len(self.done) > 10_000:
            self.done.clear()
        return n
