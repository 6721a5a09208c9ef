"""One subscriber per server process: Redis pub/sub in, in-memory live state out to screens."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from redis.exceptions import RedisError

from dashboard.buses.fixtime import BAD_TIME, screen_fixes
from dashboard.buses.sos import has_sos, rescued_sos
from dashboard.channels import Channels
from dashboard.messages import (
    IncidentProgress,
    IncidentReport,
    MessageError,
    StockMovement,
    VehiclePosition,
    parse_event,
    parse_vehicle_message,
)
from dashboard.screens.cast import parse_cast
from dashboard.screens.live import LiveState
from dashboard.timeutil import utcnow
from datasources.flows.bus_tracker import BusTracker
from datasources.flows.intake import Intake
from datasources.redis import connect
from datasources.redis.lease import Lease
from datasources.redis.publisher import Publisher
from datasources.sql.event_log import EventLog
from datasources.sql.incidents import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

KPI_DEBOUNCE_S = 0.25
# New reports of the ingest channel handled at once (each waits for its group commit).
INGEST_REPORTS = 32
# Lanes of the ingest channel's other messages: one work order's steps (one station's item's
# movements) go down one lane in order; other orders' steps and the reports do not wait.
INGEST_LANES = 4
INGEST_STEPS = 64  # steps waiting in the lanes at once: the next ones wait their turn
KPI_PERIOD_S = 30.0
DB_PING_S = 5.0
GAP_NOTE_S = 10.0  # how long screens say how many missed steps a catch-up filled


class Hub:
    """Subscribes to the ingest, events and vehicles channels and keeps `state` current.

    Intake runs here too (claimed per message, so with several processes each report is
    committed once). Screens wait on `wait_change` and render from `state`.

    The once-only work (the sweep round, the tracker's alerts and history, the daily
    tasks) runs only in the process holding the leader `lease`; every hub keeps trying
    to take it, so another takes over within the lease's TTL when the leader dies.
    """

    def __init__(self, redis_url: str, channels: Channels, store: Store, bus: Publisher,
                 intake: Intake, feed_size: int = 30):
        self.redis_url = redis_url
        self.ch = channels
        self.store = store
        self.bus = bus
        self.intake = intake
        self.state = LiveState()
        self.version = 0
        self.feed_size = feed_size
        self._cond: asyncio.Condition | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ingest: asyncio.Queue[bytes] | None = None
        self._kpi_due: asyncio.Event | None = None
        self._resync_needed = False
        self._catch_up_needed = False
        self._buses: asyncio.Task[None] | None = None  # the vehicles message being applied
        # Where a subscriber that missed messages catches up (datasources/sql/event_log.py):
        # `log_id` is the newest history row this hub has read.
        self.log = EventLog(store)
        self.log_id = 0
        # The newest history row one check ago (`_advance_log`): what the live events have
        # surely delivered by the next check, unless a gap opened meanwhile.
        self._log_mark: int | None = None
        # gaps: sequence numbers skipped; lost: subscriptions lost (Redis gone, failover);
        # catch_ups / caught_up: gaps filled from the SQL log and the history rows read.
        self.stats = {"vehicle_msgs": 0, "events": 0, "ingest": 0, "gaps": 0, "lost": 0,
                      "catch_ups": 0, "caught_up": 0, "resyncs": 0}
        self.last_catch_up_ms = 0.0
        self.primary: str | None = None  # behind sentinels: the primary last connected to
        self.tracker: BusTracker | None = None  # set by Services; follows bus trips
        # Periodic checks run beside the overdue sweep (issue 5: stock alerts).
        self.sweeps: list[Callable[[], object]] = []
        self.lease: Lease | None = None  # set by Services; None: a lone hub leads
        # The lease's Redis calls run on a thread of their own: with Redis frozen each waits
        # its 3 s timeout, and must not take the shared pool's threads from the requests.
        self._lease_pool: ThreadPoolExecutor | None = None
        self.sweep_s = KPI_PERIOD_S
        # The live boards' facts (datasources/sql/kpis.LiveFacts): after events only the
        # work orders they name are read again (`_kpi_ids`); None: the whole span next time.
        self.facts = store.live_facts(full_every=KPI_PERIOD_S)
        self._kpi_ids: set[int] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start listening (called once per process, from the server's lifespan)."""
        self._cond = asyncio.Condition()
        self._ingest = asyncio.Queue(maxsize=10_000)
        self._kpi_due = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(), name="hub-listen"),
            asyncio.create_task(self._intake_worker(), name="hub-intake"),
            asyncio.create_task(self._kpi_worker(), name="hub-kpis"),
            asyncio.create_task(self._db_watch(), name="hub-db-watch"),
        ]
        if self.lease is not None:
            self._lease_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-lease")
            self._tasks.append(asyncio.create_task(self._lease_worker(), name="hub-lease"))
        if self.tracker is not None:
            self._tasks.append(asyncio.create_task(self.tracker.run(self.notify),
                                                   name="hub-buses"))

    async def stop(self) -> None:
        """Cancel the background tasks."""
        if self._buses is not None:
            self._buses.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=5)
        self._tasks = []
        if self.lease is not None:  # a clean stop hands the once-only work on at once
            await self._on_lease_thread(self.lease.release)
        if self._lease_pool is not None:
            self._lease_pool.shutdown(wait=False)
            self._lease_pool = None

    async def _on_lease_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Run a lease or sweep-count call on the hub's own thread (the shared pool before
        start)."""
        return await asyncio.get_running_loop().run_in_executor(self._lease_pool, fn, *args)

    async def lead_now_async(self) -> bool:
        """`lead_now` off the event loop, on the lease's own thread."""
        return await self._on_lease_thread(self.lead_now)

    def leads(self) -> bool:
        """True while this process holds the leader lease (a hub without one leads)."""
        return self.lease is None or self.lease.held

    def lead_now(self) -> bool:
        """Renew or take the lease now and say whether this process leads."""
        return self.lease is None or self.lease.keep()

    async def _lease_worker(self) -> None:
        """Keep the lease: renew it while held, try to take it otherwise. A process that
        becomes leader runs the sweep round at once (the period may not have run yet)."""
        assert self.lease is not None
        while True:
            was = self.lease.held
            try:
                now = await self._on_lease_thread(self.lease.keep)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leader lease not kept")
                now = False
            if now and not was and self._kpi_due is not None:
                self._kpi_due.set()
            if was != now:
                self.state.touch("status")
            await asyncio.sleep(self.lease.renew_s)

    # ------------------------------------------------------------------ screens
    async def notify(self) -> None:
        """Wake every waiting screen."""
        assert self._cond is not None
        async with self._cond:
            self.version += 1
            self._cond.notify_all()

    async def wait_change(self, seen: int, timeout: float) -> int:
        """Wait until the hub's version differs from `seen` (or timeout); returns it."""
        if self._cond is None:
            await asyncio.sleep(timeout)
            return self.version
        async with self._cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cond.wait_for(lambda: self.version != seen), timeout)
            return self.version

    # ------------------------------------------------------------------ listening
    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            client = connect.async_client(self.redis_url, connect_timeout=5,
                                          health_check_interval=15)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                # Every await on Redis is bounded: a half-dead connection must not park the
                # subscriber forever (the screens would freeze on stale data).
                await asyncio.wait_for(
                    pubsub.subscribe(self.ch.ingest, self.ch.events, self.ch.vehicles,
                                     self.ch.cast), 10)
                if connect.is_sentinel(self.redis_url):
                    self.primary = await asyncio.to_thread(connect.primary, self.redis_url)
                    log.warning("subscribed on the Redis primary %s", self.primary)
                # Back after a loss: what was committed meanwhile comes from the SQL log.
                if self.state.resyncs:
                    await asyncio.wait_for(self._catch_up(), 30)
                else:
                    await asyncio.wait_for(self._resync(), 30)
                self.state.connected = True
                self.state.touch("status")
                await self.notify()
                backoff = 0.2
                while True:
                    if self._resync_needed or self._catch_up_needed:
                        await self._buses_done()  # a resync replaces what they would touch
                    if self._resync_needed:
                        await self._resync()
                    elif self._catch_up_needed:
                        await self._catch_up()
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        channel = message["channel"].decode()
                        if channel == self.ch.vehicles:
                            # A fleet's message (500 fixes) takes tens of ms to apply: on a
                            # task of its own, one at a time and in order, so the work-order
                            # event behind it is not held up by it.
                            await self._buses_done()
                            self._buses = asyncio.create_task(
                                self._dispatch(channel, message["data"]), name="hub-fixes")
                        else:
                            await self._dispatch(channel, message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("redis unreachable (%r); reconnecting in %.1f s", exc, backoff)
            except Exception:  # a bug must not end the subscriber: log, resync, go on
                log.exception("hub loop error; resyncing")
            finally:
                await self._buses_done()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 2)
                    await asyncio.wait_for(client.aclose(), 2)
            if self.state.connected:
                self.state.connected = False
                self.stats["lost"] += 1
                # What is published from now until the new subscription is not heard.
                self.state.open_gap(utcnow())
                self.state.touch("status")
                await self.notify()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _buses_done(self) -> None:
        """Wait for the vehicles message being applied, if any (its errors are logged)."""
        task, self._buses = self._buses, None
        if task is None:
            return
        try:
            await task
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one message's fixes must not end the subscriber
            log.exception("vehicle fixes not applied")

    async def _dispatch(self, channel: str, data: bytes) -> None:
        if channel == self.ch.vehicles:
            self.stats["vehicle_msgs"] += 1
            try:
                message = parse_vehicle_message(data)
            except MessageError as exc:
                await asyncio.to_thread(self.intake.reject_unparsable, data, exc)
                return
            # Anyone who can publish here bypasses the doors: the same time rule applies.
            vehicles = self.state.vehicles
            screened = screen_fixes(
                message.positions, utcnow(),
                {p.plate: vehicles[p.plate].at for p in message.positions if p.plate in vehicles},
                self.bus.window)
            if screened.refused:
                refused = [message.positions[i] for i in screened.refused]
                await asyncio.to_thread(self._refuse_fixes, data, refused)
            if not screened.kept:
                return
            self.state.apply_positions(screened.kept)
            if self.tracker is not None:
                await self.tracker.on_positions(screened.kept)
            await self.notify()
        elif channel == self.ch.events:
            self.stats["events"] += 1
            try:
                event = parse_event(data)
            except MessageError as exc:
                log.error("unreadable event on %s: %s", channel, exc)
                self._resync_needed = True
                return
            outcome = self.state.apply_event(event)
            if outcome == "gap":
                self.stats["gaps"] += 1
                log.warning("event sequence gap before %s; catching up from the log",
                            event.seq)
                self.state.open_gap(utcnow())
                self._catch_up_needed = True
            if event.incident is not None and self._kpi_due is not None:
                if self._kpi_ids is not None:
                    self._kpi_ids.add(event.incident.id)
                self._kpi_due.set()
            await self.notify()
        elif channel == self.ch.cast:
            # 投屏 from a console: the walls focus that incident (read as state.cast).
            try:
                cast = parse_cast(data)
            except MessageError as exc:
                await asyncio.to_thread(self.intake.reject_unparsable, data, exc)
                return
            self.state.cast = cast.model_dump()  # type: ignore[attr-defined]
            self.state.touch("cast")
            await self.notify()
        elif channel == self.ch.ingest:
            self.stats["ingest"] += 1
            assert self._ingest is not None
            await self._ingest.put(data)

    def _refuse_fixes(self, data: bytes, refused: list[VehiclePosition]) -> None:
        """Count fixes refused by the time rule, once across every process that heard them;
        an SOS among them still becomes a work order."""
        try:
            if self.bus.claim(hashlib.sha1(data).hexdigest() + ":" + BAD_TIME, ttl_s=60):
                self.bus.count_rejected(BAD_TIME, len(refused))
                now = utcnow()
                self.bus.rescue_sos([rescued_sos(p.plate, p.lon, p.lat, now, BAD_TIME,
                                                 p.at.isoformat())
                                     for p in refused if has_sos(p.alarm)])
        except RedisError as exc:
            log.warning("refused fixes not counted (Redis: %s)", exc)

    async def _resync(self) -> None:
        """Take a consistent snapshot: sequence first, then SQL and Redis state."""
        self._resync_needed = False
        self._catch_up_needed = False
        started = time.perf_counter()
        # The log position first: rows committed while the snapshot is read are read again
        # by the next catch-up (harmless), none is skipped.
        self.log_id = await asyncio.to_thread(self.log.last_id)
        # The rejection counts are read with the sequence: a `rejected` event after it adds
        # to them, one before it is in them.
        seq, rejected = await asyncio.to_thread(self.bus.seq_and_rejected)
        incidents = await asyncio.to_thread(self.store.live_incidents)
        stations = await asyncio.to_thread(self.store.stations)
        self._kpi_ids = set()  # the whole span is read now; what changes meanwhile, next time
        kpis = await asyncio.to_thread(self.facts.refresh, utcnow())
        vehicles = await asyncio.to_thread(self.bus.latest_positions)
        # A latest fix dated in the future (stored before the time rule) is not shown.
        kept = screen_fixes(vehicles.values(), utcnow(), {}, self.bus.window).kept
        vehicles = {p.plate: p for p in kept}
        self.state.load_snapshot(seq=seq, incidents=incidents, vehicles=vehicles,
                                 stations=stations, kpis=kpis, rejected=rejected)
        self.stats["resyncs"] += 1
        log.info("snapshot at seq %s: %s incidents, %s vehicles (%.0f ms)", seq, len(incidents),
                 len(vehicles), (time.perf_counter() - started) * 1000)
        await self.notify()

    async def _catch_up(self) -> None:
        """Fill a gap from the SQL log: the sequence (and the rejection counts) as Redis
        has them now, then the history rows committed after the last one this hub read,
        and the current view of the work orders they changed. Every fact that took a
        sequence number at or before the one read here was committed before it, so it is
        in the rows read after it. Stations and the latest vehicle fixes, which have no
        log, are read again; a gap too long for the log takes a full snapshot."""
        self._catch_up_needed = False
        started = time.perf_counter()
        seq, rejected = await asyncio.to_thread(self.bus.seq_and_rejected)
        found = await asyncio.to_thread(self.log.since, self.log_id)
        if not found.complete:
            log.warning("%s history rows missed; taking a full snapshot", found.rows)
            await self._resync()
            return
        stations = await asyncio.to_thread(self.store.stations)
        vehicles = await asyncio.to_thread(self.bus.latest_positions)
        kept = screen_fixes(vehicles.values(), utcnow(), {}, self.bus.window).kept
        self.state.stations = stations
        self.state.apply_positions(kept)
        self.state.apply_catch_up(seq=seq, incidents=found.incidents, rows=found.rows,
                                  rejected=rejected)
        self.state.touch("stations")
        self.log_id = found.last_id
        self.stats["catch_ups"] += 1
        self.stats["caught_up"] += found.rows
        self.last_catch_up_ms = (time.perf_counter() - started) * 1000
        log.warning("caught up %s history rows (%s work orders) from the log at seq %s "
                    "(%.0f ms)", found.rows, len(found.incidents), seq, self.last_catch_up_ms)
        if self._kpi_due is not None:
            self._kpi_ids = None  # what changed in the gap: the whole span again
            self._kpi_due.set()
        asyncio.get_running_loop().call_later(GAP_NOTE_S, self._forget_catch_up,
                                              self.stats["catch_ups"])
        await self.notify()

    def _forget_catch_up(self, number: int) -> None:
        """The screens stop saying what the catch-up `number` filled (unless another
        came since)."""
        if self.stats["catch_ups"] == number and self.state.caught_up is not None:
            self.state.caught_up = None
            self.state.touch("status")
            asyncio.ensure_future(self.notify())

    # ------------------------------------------------------------------ workers
    async def _intake_worker(self) -> None:
        """The ingest channel's messages in the order they came, none waiting behind another
        work order's. A new report is only checked, placed and queued for the group commit
        here, and waits for its commit on a thread of its own (INGEST_REPORTS at once), so a
        burst of reports shares the commit's transactions (in the order they came) instead
        of committing one by one; a report needs nothing before it (a step names a work
        order only once its report's event was heard). A step goes down its work order's
        lane (a stock movement its station's item's), so one order's steps keep their order
        while a report or another order's step sent after them is not held behind them
        (the soak's reports waited out the handling steps sent just before: 7 Dec). A
        message that does not parse is refused and counted here."""
        assert self._ingest is not None
        pool = ThreadPoolExecutor(max_workers=INGEST_REPORTS, thread_name_prefix="hub-reports")
        slots = threading.BoundedSemaphore(INGEST_REPORTS)
        lanes = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hub-steps-{n}")
                 for n in range(INGEST_LANES)]
        steps = threading.BoundedSemaphore(INGEST_STEPS)

        def finish(wait: Callable[[], object]) -> None:
            try:
                wait()
            except Exception:  # one bad message never stops intake
                log.exception("intake failed for one report")
            finally:
                slots.release()

        def step(data: bytes, message: IncidentProgress | StockMovement) -> None:
            try:
                self.intake.handle_raw(data, message)
            except Exception:  # one bad message never stops intake
                log.exception("intake failed for one message")
            finally:
                steps.release()

        def take(data: bytes) -> None:
            message = self.intake.parse(data)
            if isinstance(message, IncidentReport):
                slots.acquire()  # INGEST_REPORTS waiting at once: the next ones wait their turn
                try:
                    pool.submit(finish, self.intake.start_raw(data, message))
                except BaseException:
                    slots.release()
                    raise
                return
            if isinstance(message, MessageError):
                self.intake.handle_raw(data, message)
                return
            key = (message.incident_id if isinstance(message, IncidentProgress)
                   else hash((message.station, message.sku)))
            steps.acquire()
            try:
                lanes[key % INGEST_LANES].submit(step, data, message)
            except BaseException:
                steps.release()
                raise

        try:
            while True:
                data = await self._ingest.get()
                try:
                    await asyncio.to_thread(take, data)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad message never stops intake
                    log.exception("intake failed for one message")
        finally:
            pool.shutdown(wait=False)
            for lane in lanes:
                lane.shutdown(wait=False)

    async def _db_watch(self) -> None:
        """Screens keep their last state when the database is gone, marked stale."""
        while True:
            try:
                await asyncio.wait_for(asyncio.to_thread(self.store.ping), DB_PING_S)
                ok = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.state.db_ok:
                    log.error("database unreachable: %s", exc)
                ok = False
            if ok:
                await self._advance_log()
            if ok != self.state.db_ok:
                self.state.db_ok = ok
                self.state.touch("status")
                if ok:  # what was committed elsewhere meanwhile
                    self._resync_needed = True
                await self.notify()
            await asyncio.sleep(DB_PING_S)

    async def _advance_log(self) -> None:
        """Move `log_id` up to the history as the live events delivered it, so a catch-up
        reads (and the screens count) only what a gap missed, not everything since the
        last snapshot. Rows committed before the previous check have had their events
        delivered by now unless a gap opened since, in which case the position stays
        where it was and the gap's catch-up reads from there."""
        if self.state.gap_since is not None or self._resync_needed or self._catch_up_needed:
            self._log_mark = None
            return
        if self._log_mark is not None:
            self.log_id = max(self.log_id, self._log_mark)
        try:
            self._log_mark = await asyncio.to_thread(self.log.last_id)
        except Exception as exc:  # the database is checked again at the next round
            log.warning("history position not read: %s", exc)
            self._log_mark = None

    async def _kpi_worker(self) -> None:
        """KPIs after each work-order event and once per sweep period, in every process;
        the sweep round (overdue work orders and `sweeps`) only in the leader, at least
        once per period: the first round in a period is counted in Redis."""
        assert self._kpi_due is not None
        failed = False
        while True:
            wait = self.sweep_s - time.time() % self.sweep_s + 0.05  # the next period
            if failed:  # Redis or the database was away (a failover): again in a second,
                wait = min(wait, 1.0)  # not a whole period later
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kpi_due.wait(), wait)
            self._kpi_due.clear()
            await asyncio.sleep(KPI_DEBOUNCE_S)
            try:
                if self.leads():
                    await self._sweep_round()
                # The work orders named since the last refresh (None: all of the span's).
                ids, self._kpi_ids = self._kpi_ids, set()
                try:
                    board = await asyncio.to_thread(self.facts.refresh, utcnow(), ids)
                except BaseException:
                    self._kpi_ids = None  # not read: the whole span next time
                    raise
                self.state.kpis = board
                # The figures changed, not the work orders: a console sends its queue (up
                # to 300 rows, read and drawn anew) only when an order changed.
                self.state.touch("kpis")
                await self.notify()
                failed = False
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("KPI refresh failed")
                failed = True

    async def _sweep_round(self) -> None:
        """The once-only checks; the period's first round is recorded (sweep_runs)."""
        period = int(time.time() // self.sweep_s)
        first = not await self._on_lease_thread(self.bus.swept, period)
        await asyncio.to_thread(self.intake.sweep_overdue)
        for sweep in self.sweeps:
            try:
                await asyncio.to_thread(sweep)
            except asyncio.CancelledError:
                raise
            except Exception:  # one failing check never stops the others
                log.exception("sweep %r failed", sweep)
        if first:
            await self._on_lease_thread(self.bus.count_sweep, period)
