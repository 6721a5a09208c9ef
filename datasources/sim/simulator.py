"""Demo feed simulator: bus GPS, incident reports, their progress and stock movements via Redis."""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import redis
import shapely
from shapely.geometry import shape

from dashboard.actors import SIM_ACTOR
from dashboard.buses.tracking import build_plans
from dashboard.incidents.lifecycle import TRANSITIONS
from dashboard.messages import (
    IncidentProgress,
    IncidentReport,
    MessageError,
    StockMovement,
    VehiclePosition,
    parse_event,
)
from dashboard.timeutil import LOCAL_TZ, utcnow
from dashboard.town import GridCell, Town
from datasources.redis.publisher import Publisher
from datasources.sim import texts as txt
from datasources.sim.motion import RoutePath, load_test_fleet, local_frame, positions_at
from datasources.sim.schedule import build_scheduled, fix_at

log = logging.getLogger(__name__)

SIM_SOURCES = {"grid_worker": 50, "hotline": 25, "citizen": 15, "video": 10}
STEPS = (("accepted", 10, 40), ("dispatched", 20, 60), ("in_progress", 30, 90),
         ("resolved", 60, 240))
HOT_GRIDS, HOT_SHARE, STALL_SHARE = 5, 0.40, 0.15
# Most handled orders are checked on site (核查) within about two hours (issue 14).
VERIFY_SHARE, VERIFY_AFTER = 0.7, (20, 150)
# A stock movement every 10 min at rate 1 (a store has a few dozen a day, not thousands).
STOCK_EVERY_S, LOG_EVERY_S = 600.0, 60.0


@dataclass
class TickResult:
    """What one tick published."""

    positions: int = 0
    reports: int = 0
    progress: int = 0
    stock: int = 0

    def add(self, other: TickResult) -> None:
        """Accumulate another tick's counts."""
        for name in ("positions", "reports", "progress", "stock"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth; lam is small here)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass
class _Tracked:
    """An incident the simulator plays through the loop."""

    state: str
    grid: str | None
    steps: list[tuple[str, float]]
    sent: set[str] = field(default_factory=set)


class Simulator:
    """Publishes demo feeds through Redis exactly as the real sources would."""

    def __init__(self, town: Town, bus: Publisher, *, seed: int = 20261122, rate: float = 1.0,
                 vehicles: int = 0, clock: Callable[[], datetime] = utcnow,
                 holidays: frozenset[date] = frozenset()):
        self.town, self.bus, self.seed, self.rate = town, bus, seed, max(rate, 1e-6)
        self.clock = clock
        self.holidays = holidays
        self._rng_inc = random.Random(f"{seed}:incidents")
        self._rng_stock = random.Random(f"{seed}:stock")
        lon0, lat0, kx = local_frame(town)
        self._paths: dict[str, RoutePath] = {}
        for route in town.routes:
            try:
                self._paths[route.code] = RoutePath(route, lon0, lat0, kx)
            except ValueError as exc:
                log.warning("simulator: %s; its buses stay parked out of the feed", exc)
        own = [(v.plate, v.route, v.seats) for v in town.vehicles]
        if 0 < vehicles < len(own):
            own = own[:vehicles]
        self.scheduled = build_scheduled(build_plans(town.routes), own, seed)
        self._salt = {b.plate: random.Random(f"{seed}:bus:{b.plate}").getrandbits(62)
                      for b in self.scheduled}
        self.buses = load_test_fleet(self._paths, seed, vehicles - len(own))
        self.yielded: set[str] = set()  # plates a real door reports: never driven again
        self._leaf = sorted((g for g in town.grids if g.level == 3), key=lambda g: g.code)
        self._grid_by_code: dict[str, GridCell] = {g.code: g for g in town.grids}
        self._shapes = {g.code: shape(g.geometry) for g in self._leaf}
        for geom in self._shapes.values():
            shapely.prepare(geom)
        pick = random.Random(f"{seed}:hot")
        self.hot_grids = [g.code for g in pick.sample(self._leaf, min(HOT_GRIDS, len(self._leaf)))]
        # The demo worker's grid is always a busy one: a visitor who signs in on /field as
        # that worker finds work orders on the phone, not an empty list.
        demo = town.demo_worker()
        if demo and self.hot_grids and demo[1] not in self.hot_grids:
            self.hot_grids[0] = demo[1]
        self.demo_worker = demo[0] if demo else None
        self._village_name = {v.code: v.name for v in town.villages}
        self.stock = {(st["code"], it["sku"]): int(it["quantity"])
                      for st in town.stations for it in st.get("inventory", [])}
        self._items = {st["code"]: st["inventory"] for st in town.stations if st.get("inventory")}
        self._moves = 0
        self._counter = 0
        self._outbox: deque[IncidentReport | IncidentProgress | StockMovement] = deque()
        self._pending: OrderedDict[tuple[str, float, float], None] = OrderedDict()
        self._tracked: dict[int, _Tracked] = {}
        self._due: list[tuple[float, int]] = []
        self._pubsub: Any = None
        self._last_now: datetime | None = None
        self._last_log: datetime | None = None
        self.totals = TickResult()
        # Issue 13: the children's taps on the simulated buses (cli wires it when the
        # database is at hand); a fault there never stops the buses.
        self.taps: Any = None
        # 一车一档: the escorts' daily checks (cli wires it when the database has the record).
        self.checks: Any = None

    def positions_at(self, now: datetime) -> list[VehiclePosition]:
        """Every vehicle's fix at `now` (pure: depends only on seed, town, calendar and `now`):
        the town's buses on their timetables, then any load-test buses."""
        own = [fix_at(b, now, self.holidays, self._salt[b.plate]) for b in self.scheduled]
        return own + positions_at(self.buses, now)

    def report_rate(self, now: datetime) -> float:
        """Reports per second at `now`: the demo history's daily profile times the rate."""
        local = now.astimezone(LOCAL_TZ)
        return txt.reports_per_hour(local.weekday(), local.hour) / 3600.0 * self.rate

    def reports_due(self, now: datetime, dt: float) -> int:
        """How many reports arrive in the `dt` seconds before `now` (a Poisson draw)."""
        return _poisson(self._rng_inc, dt * self.report_rate(now))

    # ------------------------------------------------------------------ incidents
    def _point_in(self, grid: GridCell, rng: random.Random) -> tuple[float, float]:
        geom = self._shapes[grid.code]
        x0, y0, x1, y1 = geom.bounds
        for _ in range(200):
            x, y = round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)
            if shapely.contains_xy(geom, x, y):
                return x, y
        p = geom.representative_point()
        return round(p.x, 6), round(p.y, 6)

    def _new_report(self, now: datetime) -> IncidentReport:
        rng = self._rng_inc
        self._counter += 1
        category = rng.choices(list(txt.CATEGORY_WEIGHTS), list(txt.CATEGORY_WEIGHTS.values()))[0]
        source = rng.choices(list(SIM_SOURCES), list(SIM_SOURCES.values()))[0]
        if rng.random() < HOT_SHARE:
            grid = self._grid_by_code[rng.choice(self.hot_grids)]
        else:
            grid = rng.choice(self._leaf)
        lon, lat = self._point_in(grid, rng)
        title, desc = rng.choice(txt.TEMPLATES[category])
        place = self._village_name.get(grid.village or "", grid.name)
        desc = desc.format(place=place)
        severe = category in ("fire", "work_safety", "water")
        priority = rng.choices(("normal", "high", "urgent"),
                               (60, 30, 10) if severe else (82, 16, 2))[0]
        name = phone = photo = None
        if source in ("hotline", "citizen"):
            name = rng.choice(txt.SURNAMES) + rng.choice(txt.HONORIFICS)
            phone = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
        if source == "citizen":
            photo = f"https://img.example.invalid/snap/{self._counter}.jpg"
        elif source == "video":
            desc = txt.VIDEO_PREFIX + desc
        elif source == "hotline":
            desc = txt.HOTLINE_PREFIX + desc
        self._pending[(title, round(lon, 5), round(lat, 5))] = None
        while len(self._pending) > 10_000:
            self._pending.popitem(last=False)
        return IncidentReport(
            source=source, source_ref=f"sim-{self.seed}-{self._counter}", category=category,
            priority=priority, title=title, description=desc, lon=lon, lat=lat,
            reporter_name=name, reporter_phone=phone, photo_url=photo, reported_at=now)

    def report_at(self, now: datetime) -> IncidentReport:
        """The next simulated report, stamped `now` (the demo history draws from this too)."""
        return self._new_report(now)

    def _on_event(self, raw: bytes | str, now_ts: float) -> None:
        """Learn ids of the incidents we reported; follow state changes made by people."""
        try:
            ev = parse_event(raw)
        except MessageError:
            return
        inc = ev.incident
        if inc is None:
            return
        if ev.type == "incident.created":
            key = (inc.title, round(inc.lon, 5), round(inc.lat, 5))
            if key not in self._pending or inc.id in self._tracked:
                return
            del self._pending[key]
            rng = random.Random(f"{self.seed}:incident:{inc.id}")
            steps = [(s, rng.uniform(lo, hi) / self.rate) for s, lo, hi in STEPS]
            if rng.random() < STALL_SHARE:
                steps = steps[: rng.randint(0, len(steps) - 1)]
            elif rng.random() < VERIFY_SHARE:
                steps.append(("verified", rng.uniform(*VERIFY_AFTER) / self.rate))
            if steps:
                self._tracked[inc.id] = _Tracked(inc.state, inc.grid, steps)
                heapq.heappush(self._due, (now_ts + steps[0][1], inc.id))
        elif ev.type == "incident.updated" and inc.id in self._tracked:
            tracked = self._tracked[inc.id]
            if inc.state not in tracked.sent:  # not our own echo: a person moved it
                tracked.state = inc.state

    def _due_progress(self, now_ts: float) -> list[IncidentProgress]:
        out = []
        while self._due and self._due[0][0] <= now_ts:
            _, iid = heapq.heappop(self._due)
            tr = self._tracked.get(iid)
            if tr is None or not tr.steps:
                continue
            to_state, _ = tr.steps.pop(0)
            if to_state not in TRANSITIONS.get(tr.state, ()):  # a person moved it meanwhile
                self._tracked.pop(iid, None)
                continue
            rng = random.Random(f"{self.seed}:note:{iid}:{to_state}")
            worker_id, worker = self._worker(tr.grid, iid)
            dispatch = to_state == "dispatched"
            out.append(IncidentProgress(incident_id=iid, to_state=to_state,
                                        msg_id=f"sim-{self.seed}-p{iid}-{to_state}",
                                        actor=SIM_ACTOR,
                                        assignee=worker if dispatch else None,
                                        assignee_id=worker_id if dispatch else None,
                                        note=rng.choice(txt.PROGRESS_NOTES[to_state])))
            tr.state = to_state
            tr.sent.add(to_state)
            if tr.steps:
                heapq.heappush(self._due, (now_ts + tr.steps[0][1], iid))
            else:
                self._tracked.pop(iid, None)
        return out

    def _worker(self, grid: str | None, iid: int) -> tuple[str | None, str]:
        """The grid worker (id, name) the simulator dispatches this incident to, so the order
        reaches that person's phone; the steps stay the simulator's own."""
        cell = self._grid_by_code.get(grid or "")
        if cell is None:
            return None, SIM_ACTOR
        people = [w for w in cell.workers if w.get("name")]
        if not people:
            return None, cell.leader.get("name") or SIM_ACTOR
        rng = random.Random(f"{self.seed}:worker:{iid}")
        pick = next((w for w in people if w.get("id") == self.demo_worker), None)
        if pick is None or rng.random() < 0.5:  # the demo worker takes half of their grid's
            pick = rng.choice(people)
        return pick.get("id"), pick["name"]

    # ------------------------------------------------------------------ stock
    def _new_movement(self) -> StockMovement | None:
        rng = self._rng_stock
        if not self._items:
            return None
        station = rng.choice(sorted(self._items))
        item = rng.choice(self._items[station])
        key = (station, item["sku"])
        qty = self.stock[key]
        if qty == 0 or rng.random() < (0.5 if qty < int(item.get("min_level") or 0) else 0.12):
            options = [(d, r) for d in range(10, 51) for r in txt.RECEIPT_REASONS]
        else:
            reasons = txt.ISSUE_REASONS if item.get("expiry") else txt.ISSUE_REASONS[:-1]
            options = [(-d, r) for d in range(1, min(5, qty) + 1) for r in reasons]
        delta, reason = rng.choice(options)
        self.stock[key] = qty + delta
        self._moves += 1
        return StockMovement(station=station, sku=item["sku"], delta=delta, reason=reason,
                             actor=SIM_ACTOR, msg_id=f"sim-{self.seed}-s{self._moves}")

    # ------------------------------------------------------------------ loop
    def tick(self, now: datetime) -> TickResult:
        """One simulated second: positions for every vehicle, maybe incidents/progress/stock."""
        dt = 1.0 if self._last_now is None else (now - self._last_now).total_seconds()
        dt = min(max(dt, 0.0), 5.0)
        self._last_now = now
        ts = now.timestamp()
        for _ in range(self.reports_due(now, dt)):
            self._outbox.append(self._new_report(now))
        for _ in range(_poisson(self._rng_stock, dt * self.rate / STOCK_EVERY_S)):
            move = self._new_movement()
            if move is not None:
                self._outbox.append(move)
        self._outbox.extend(self._due_progress(ts))
        while len(self._outbox) > 5_000:
            log.warning("simulator outbox full, dropping %s", type(self._outbox.popleft()).__name__)
        positions = [p for p in self.positions_at(now) if p.plate not in self.yielded]

        # I/O last: if Redis fails, unsent reports stay in the outbox with their source_ref.
        result = TickResult()
        self._subscribe()
        if positions:
            result.positions, real = self.bus.publish_sim_positions(positions)
            for plate in sorted(real - self.yielded):
                log.info("simulator: a real feed reports %s; no longer driving it", plate)
            self.yielded |= real
        if self.taps is not None:
            try:
                self.taps.tick(now)
            except Exception:  # the database away: positions and reports go on
                log.exception("simulator: taps not sent")
        if self.checks is not None:
            try:
                self.checks.tick(now)
            except Exception:  # the database away: positions and reports go on
                log.exception("simulator: daily checks not recorded")
        while self._outbox:
            msg = self._outbox[0]
            self.bus.report(msg)
            self._outbox.popleft()
            kind = {"incident.report": "reports", "incident.progress": "progress"}
            name = kind.get(msg.type, "stock")
            setattr(result, name, getattr(result, name) + 1)
        for _ in range(10_000):
            raw = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)
            if raw is None:
                break
            if raw.get("type") == "message":
                self._on_event(raw["data"], ts)
        self.totals.add(result)
        if self._last_log is None:
            self._last_log = now
        elif (now - self._last_log).total_seconds() >= LOG_EVERY_S:
            self._last_log, t = now, self.totals
            log.info("simulator: %d vehicles; totals positions=%d reports=%d progress=%d "
                     "stock=%d; tracking %d incidents",
                     len(self.scheduled) + len(self.buses) - len(self.yielded), t.positions,
                     t.reports, t.progress, t.stock, len(self._tracked))
        return result

    def _subscribe(self) -> None:
        if self._pubsub is None:
            ps = self.bus.r.pubsub(ignore_subscribe_messages=True)
            ps.subscribe(self.bus.ch.events)
            # redis-py only reads a subscription's messages once its confirmation was read.
            ps.get_message(timeout=1.0)
            self._pubsub = ps

    def close(self) -> None:
        """Drop the events subscription."""
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self._pubsub.close()
            self._pubsub = None

    def run(self, stop: threading.Event, hz: float = 1.0) -> None:
        """Tick at a steady `hz` until `stop` is set; Redis errors are logged and retried."""
        period = 1.0 / hz
        next_at = time.monotonic()
        backoff = 1.0
        log.info("simulator: %d timetabled buses, %d load-test buses on %d routes, rate %.2f, "
                 "seed %d", len(self.scheduled), len(self.buses), len(self._paths), self.rate,
                 self.seed)
        try:
            while not stop.is_set():
                try:
                    self.tick(self.clock())
                    backoff = 1.0
                except redis.RedisError as exc:
                    log.warning("simulator: redis error (%s); retrying in %.0f s", exc, backoff)
                    self.close()
                    if stop.wait(backoff):
                        break
                    backoff = min(backoff * 2, 30.0)
                    next_at = time.monotonic()
                    continue
                except Exception:  # a demo feed must keep going; the trace says what broke
                    log.exception("simulator: tick failed")
                next_at += period
                delay = next_at - time.monotonic()
                if delay < -period:  # fell behind (suspend, slow Redis): skip, don't burst
                    next_at, delay = time.monotonic(), 0.0
                stop.wait(max(delay, 0.0))
        finally:
            self.close()
