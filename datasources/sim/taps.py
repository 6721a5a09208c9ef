"""The demo's children on and off the simulated buses (issue 13), as a card reader sends them.

For each simulated run: in the morning each child boards at their home stop a few seconds
after the bus arrives and every child gets off at school soon after it arrives there; in
the afternoon all board at school before departure and each gets off at their home stop. A
few children are absent each day (the same ones all day). Each tap goes through the same
desk as the boarding door, with a key made of the day, trip, child and event, so a restarted
simulator sends what it sent before and the database stores it once.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta

from dashboard.buses.boarding import TERMINAL_SOURCE
from dashboard.buses.pupils import ABSENT, ALIGHT, BOARD, Manifest
from dashboard.buses.timetable import local_date
from dashboard.buses.tracking import drives_backwards
from dashboard.incidents.errors import LoopError
from dashboard.roles import INGEST, Principal
from datasources.flows.boarding import BoardingDesk
from datasources.sim.schedule import Run, ScheduledBus

log = logging.getLogger(__name__)
READER = Principal(role=INGEST, name="演示刷卡机 demo card reader", kind="key",
                   source=TERMINAL_SOURCE)
ABSENT_RATE = 0.04


class TapSim:
    """Sends the taps that are due by `now` and were not sent yet."""

    def __init__(self, desk: BoardingDesk, scheduled: list[ScheduledBus],
                 holidays: frozenset[date] = frozenset(), seed: int = 20261122):
        self.desk = desk
        self.scheduled = scheduled
        self.holidays = holidays
        self.seed = seed
        self.sent: set[str] = set()
        self.manifests: dict[str, Manifest | None] = {}
        self.stats = {"sent": 0, "refused": 0}

    def manifest(self, trip: str) -> Manifest | None:
        """A trip's manifest, read once per process."""
        if trip not in self.manifests:
            self.manifests[trip] = self.desk.pupils.manifest(trip)
        return self.manifests[trip]

    def absent(self, day: date, pupil: str) -> bool:
        """Whether a child stays home on `day` (the same answer all day)."""
        return random.Random(f"{self.seed}:{day}:{pupil}").random() < ABSENT_RATE

    def taps_of(self, bus: ScheduledBus, run: Run) -> list[tuple[float, str, str]]:
        """(epoch seconds, pupil, event) of one run, in time order."""
        manifest = self.manifest(run.plan.code)
        if manifest is None:
            return []
        moves = [g for g in run.legs if g.d0 != g.d1]
        arrive = [run.depart] + [g.t1 for g in moves]
        index = {s.code: i for i, s in enumerate(run.plan.stops)}
        out: list[tuple[float, str, str]] = []
        home = drives_backwards(run.plan.direction)
        riders = []
        for s in manifest.stops:
            i = index.get(s.code)
            if i is None or i >= len(arrive):
                continue
            for k, p in enumerate(s.pupils):
                if self.absent(run.day, p.id):
                    if not home:  # the escort marks them at their stop in the morning
                        out.append((arrive[i] + 2 + 4 * k, p.id, ABSENT))
                    continue
                riders.append(p.id)
                if home:
                    out.append((arrive[i] + 3 + 4 * k, p.id, ALIGHT))
                else:
                    out.append((arrive[i] + 3 + 4 * k, p.id, BOARD))
        for k, pid in enumerate(riders):
            if home:  # all board at school before the bus leaves
                out.append((run.depart - 90 + 3 * k, pid, BOARD))
            else:  # all get off at school, within a minute or two of arriving
                out.append((run.arrive + 15 + 3 * k, pid, ALIGHT))
        return sorted(out)

    def tick(self, now: datetime) -> int:
        """Send every tap due by `now` on today's runs; returns how many were sent."""
        ts = now.timestamp()
        day = local_date(now)
        n = 0
        for bus in self.scheduled:
            for run in bus.runs_on(day, self.holidays):
                if ts < run.depart - 120 or ts > run.window[1] + 3600:
                    continue
                for at, pupil, event in self.taps_of(bus, run):
                    key = f"sim:{run.day}:{run.plan.code}:{pupil}:{event}"
                    if at > ts or key in self.sent:
                        continue
                    self.sent.add(key)
                    n += self._send(bus.plate, pupil, event, at, key, now)
        if len(self.sent) > 20_000:  # yesterday's keys: the database remembers them
            self.sent.clear()
        return n

    def _send(self, plate: str, pupil: str, event: str, at: float, key: str,
              now: datetime) -> int:
        when = datetime.fromtimestamp(at, now.tzinfo).isoformat()
        try:
            self.desk.record(READER, {"pupil": pupil, "event": event, "at": when,
                                      "vehicle": plate, "key": key[:128]},
                             now=now + timedelta(seconds=1))
        except LoopError as exc:
            self.stats["refused"] += 1
            log.info("simulator: tap %s refused (%s)", key, exc)
            return 0
        self.stats["sent"] += 1
        return 1
