"""Wiring: the one place that opens Redis and the database and builds store, bus, intake and hub."""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.buses.alerts import Alert
from dashboard.buses.fixtime import FixWindow
from dashboard.buses.notify import (
    Note,
    NotifyConfig,
    guardian_notice,
    guardian_recipient,
    parent_notice,
)
from dashboard.channels import Channels
from dashboard.geo.gazetteer import Gazetteer
from dashboard.geo.lookup import GridIndex
from dashboard.incidents import textsim
from dashboard.settings import Settings, split_keys
from dashboard.town import GridCell
from datasources.flows.boarding import BoardingDesk, Recorded
from datasources.flows.bus_tracker import BusTracker, holidays
from datasources.flows.callup_desk import CallupDesk
from datasources.flows.child_watch import ChildWatch
from datasources.flows.drill_desk import DrillDesk
from datasources.flows.fleet_watch import FleetWatch
from datasources.flows.hub import Hub
from datasources.flows.intake import Intake
from datasources.flows.jt809_desk import Jt809Desk
from datasources.flows.parents import ParentReads
from datasources.flows.photos import Photos
from datasources.flows.resource_desk import ResourceDesk
from datasources.flows.station_desk import StationDesk
from datasources.flows.suggestions import Suggester
from datasources.flows.warnings import WarningDesk, issuer_for
from datasources.photos.images import PhotoLimits
from datasources.photos.storage import open_storage
from datasources.redis.embedded import EmbeddedRedis
from datasources.redis.lease import Lease
from datasources.redis.publisher import Publisher
from datasources.sql.accounts import Accounts
from datasources.sql.analysis import AnalysisStore
from datasources.sql.audit import Audit
from datasources.sql.boarding import BoardingStore
from datasources.sql.briefs import BriefStore
from datasources.sql.buses import BusStore
from datasources.sql.callups import CallupStore
from datasources.sql.cap import CapStore
from datasources.sql.engine import has_schema, make_engine
from datasources.sql.evaluation import EvaluationStore
from datasources.sql.grids import GridStore
from datasources.sql.incidents import DedupRule, Store
from datasources.sql.leader import LeaderStore
from datasources.sql.notify import Outbox
from datasources.sql.photos import PhotoRows
from datasources.sql.pupils import PupilStore
from datasources.sql.rota import RotaIndex, RotaStore
from datasources.sql.tables import TownTables
from datasources.sql.town_loader import prepare_database
from datasources.towns.files import (
    load_basemap,
    load_gazetteer,
    load_kits,
    load_notify,
    load_table,
    town_base,
)

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Put what a serving process built at startup out of the cyclic collector's reach, once
    its services are open: the town, the grid index, the text matcher's dictionary and the
    imported modules, millions of objects that live as long as the process. Every full
    collection walked them all, a pause of 100 ms and more in which the process answered
    nothing (intake at 700 reports/s: p99 145-196 ms before, 45-62 ms after). What is
    garbage now is collected first; what is frozen is never collected, so only a process
    that opens its services once (`zhongnao serve`, a bench's server) calls this."""
    gc.collect()
    gc.freeze()


@dataclass
class Services:
    """Everything a server process needs, opened by `open()` and released by `close()`."""

    settings: Settings
    store: Store | None = None
    bus: Publisher | None = None
    intake: Intake | None = None
    hub: Hub | None = None
    embedded: EmbeddedRedis | None = None
    redis_url: str = ""
    town_meta: dict = field(default_factory=dict)
    basemap: dict = field(default_factory=dict)
    # The town's address points (gazetteer.csv): Open311 places a request without lat/long
    # by its address_id or address_string.
    gazetteer: Gazetteer = field(default_factory=Gazetteer)
    layers: dict[str, dict] = field(default_factory=dict)
    grids: dict[str, GridCell] = field(default_factory=dict)
    resources: ResourceDesk | None = None  # issue 5
    drills: DrillDesk | None = None  # issue 16: 应急演练
    stations: StationDesk | None = None  # issue 16: 一部三室, members, vehicles (/admin)
    fleet_watch: FleetWatch | None = None  # issue 13: 一车一档 alerts
    jt809: Jt809Desk | None = None  # issue 15: 督办 of operators' alarms, and their replies
    grid_store: GridStore | None = None
    rota: RotaStore | None = None
    tables: TownTables | None = None  # the tables a town overrides on /admin
    callups: CallupDesk | None = None  # 应急抽调 from the console, answered on /field
    leader: LeaderStore | None = None
    briefs: BriefStore | None = None
    evaluation: EvaluationStore | None = None
    analysis: AnalysisStore | None = None
    suggester: Suggester | None = None
    accounts: Accounts | None = None
    audit: Audit | None = None
    outbox: Outbox | None = None  # issue 13: what guardians are told
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    warnings: WarningDesk | None = None  # issue 15: CAP 1.2 warnings to the public
    photos: Photos | None = None  # issue 15: 随手拍's photos

    def tell_parents_of_alert(self, alert: Alert) -> None:
        """A bus alert parents should hear of goes to its route's parent group, once."""
        assert self.outbox is not None and self.hub is not None and self.hub.tracker
        record = self.hub.tracker.vehicle_records.get(alert.plate, {})
        note = parent_notice(alert.kind, alert.plate, str(record.get("route", "")),
                             alert.started_at, alert.value, self.notify.centre_phone)
        if note is not None:
            self.outbox.tell_route(self.notify, note, self.settings.lang, dedup=alert.key)
    boarding: BoardingDesk | None = None  # issue 13: pupils on and off
    parents: ParentReads | None = None  # issue 13: what guardians' phones read

    def tell_guardians(self, done: Recorded) -> None:
        """A child boarded or got off: each of the child's guardians gets an SMS, once per
        event (the event's idempotency key), muted guardians none."""
        assert self.outbox is not None
        b = done.event
        kind = guardian_notice(b.event, done.manifest.direction)
        if kind is None or self.notify.sms is None:
            return
        stop_names = {st.code: st.name for st in done.manifest.stops}
        pupil = next((p for st in done.manifest.stops for p in st.pupils if p.id == b.pupil),
                     None)
        if pupil is None:
            return
        note = Note(kind, b.at, child=pupil.name, stop=stop_names.get(b.stop or "", ""),
                    plate=b.plate or "", route=done.manifest.route,
                    centre_phone=self.notify.centre_phone)
        event_id = hashlib.sha256(b.key.encode()).hexdigest()[:24]
        for seq, guardian in enumerate(pupil.guardians, start=1):
            self.outbox.tell_guardian(self.notify, guardian_recipient(pupil.id, seq),
                                      guardian.phone, note, self.settings.lang,
                                      dedup=f"board:{event_id}:{seq}")

    def open(self, *, prepare_db: bool = True) -> Services:
        """Start embedded Redis if no REDIS_URL, connect the database, build the pieces."""
        s = self.settings
        self.redis_url = s.redis_target  # REDIS_URL, or the sentinels' primary
        if not self.redis_url:
            self.embedded = EmbeddedRedis(Path(s.data_dir)).start().supervise()
            self.redis_url = self.embedded.url
        engine = make_engine(s.db_url)
        if prepare_db:
            prepare_database(engine, s.town_dir)
        elif not has_schema(engine):
            raise RuntimeError(f"database {s.db_url} has no schema: run `zhongnao init-db`")
        dedup = DedupRule(s.dedup_meters, s.dedup_minutes, s.dedup_text) \
            if s.dedup_meters > 0 else None
        self.store = Store(engine, deadlines=load_table(s.deadlines_file or None), dedup=dedup,
                           verify_before_close=s.verify_before_close,
                           burst_minutes=s.video_burst_minutes)
        # The one accessor of the tables a town overrides on /admin (issue 16).
        self.tables = TownTables(engine, town_base(s.deadlines_file, s.kits_file, s.town_dir),
                                 s.bus_speed_limit_kmh)
        self.store.tables = self.tables
        channels = Channels(s.redis_prefix)
        self.bus = Publisher.from_url(self.redis_url, s.redis_prefix, FixWindow.from_settings(s))
        self.bus.r.ping()
        self.accounts = Accounts(engine, session_hours=s.session_hours)
        self.audit = Audit(engine)
        seed_open311_keys(self.accounts, s.open311_keys)
        self.grids = {g.code: g for g in self.store.grid_cells()}
        # Grids issue: measures shared by screens, and the duty rota naming who is on duty.
        self.grid_store = GridStore(self.store, list(self.grids.values()))
        self.rota = RotaStore(self.store, list(self.grids.values()))
        self.rota.ensure(s.town_dir)
        self.leader = LeaderStore(self.store, self.grid_store)
        self.briefs = BriefStore(self.store)
        self.evaluation = EvaluationStore(self.store)
        self.evaluation.tables = self.tables
        self.analysis = AnalysisStore(self.store, self.evaluation)
        index = RotaIndex(GridIndex(self.grids.values()), self.rota)
        centre = self.store.town_meta().get("center")
        self.intake = Intake(self.store, self.bus, index, max_text=s.max_text,  # type: ignore[arg-type]
                             centre=(float(centre[0]), float(centre[1])) if centre else None,
                             batch=s.intake_batch, linger_ms=s.intake_linger_ms)
        self.intake.audit = self.audit.record
        self.photos = Photos(open_storage(s), PhotoRows(self.store),
                             PhotoLimits(s.photo_max_bytes, s.photo_max_pixels))
        self.hub = Hub(self.redis_url, channels, self.store, self.bus, self.intake,
                       feed_size=s.feed_size)
        # One leader among the server processes runs the once-only work (the sweep round,
        # bus alerts and history, daily tasks): docs/architecture.md.
        self.hub.lease = Lease(self.bus.r, channels.leader, s.leader_ttl_s)
        self.hub.sweep_s = s.sweep_s
        self.hub.tracker = BusTracker.from_settings(s, self.hub.state, self.intake, self.bus,
                                                    BusStore(self.store))
        self.hub.tracker.leads = self.hub.leads
        self.hub.tracker.defer_s = max(30.0, 3 * s.leader_ttl_s)
        self.resources = ResourceDesk(self.store, self.bus, self.intake,
                                      sweep_s=s.stock_alert_sweep_s,
                                      kits=load_kits(s.kits_file or None))
        self.resources.tables = self.tables
        self.hub.tracker.limits_source = self.tables.speed_limits
        self.hub.sweeps.append(self.resources.sweep)
        self.drills = DrillDesk(self.store, self.intake, self.resources)
        self.drills.drills.ensure(s.town_dir)  # the town's drill types (and the demo's past)
        self.stations = StationDesk(self.resources)
        self.fleet_watch = FleetWatch(self.store, self.intake, sweep_s=s.vehicle_alert_sweep_s,
                                      holidays=holidays(s))
        self.fleet_watch.marks = frozenset(self.fleet_watch.unfit())  # the wall's first frame
        self.hub.sweeps.append(self.fleet_watch.sweep)
        self.boarding = BoardingDesk(BoardingStore(engine), PupilStore(engine), self.bus,
                                     FixWindow.from_settings(s))
        self.parents = ParentReads(self.boarding.pupils, self.boarding.events)
        # The children's rules: after each new tap, and when a tracked trip ends.
        watch = ChildWatch(self.boarding, self.intake, self.bus,
                           {p: int(v["seats"]) for p, v in
                            self.hub.tracker.vehicle_records.items()},
                           lang=s.lang, alerts_on=s.bus_alerts)
        self.boarding.after.append(watch.on_event)
        self.boarding.after.append(self.tell_guardians)
        self.hub.tracker.trip_end_hooks.append(watch.on_trip_end)
        # The safety net: trips whose window closed, checked from the record (issue 13).
        watch.plans, watch.holidays = self.hub.tracker.fleet.plans, holidays(s)
        buses_of = {v.get("route"): p for p, v in self.hub.tracker.vehicle_records.items()}
        watch.route_bus = buses_of.get
        self.hub.sweeps.append(watch.sweep)
        self.hub.tracker.alert_notes.append(watch.note)
        self.hub.tracker.stop_hooks.append(watch.on_stop_reached)
        self.intake.stock_hooks.append(self.resources.check)
        self.jt809 = Jt809Desk(self.intake)
        self.intake.action_hooks.append(self.jt809.on_action)
        # Issue 18: category and unit suggested after each new report, off the intake path.
        self.suggester = Suggester(self.store, s.data_dir, enabled=s.suggest)
        self.suggester.announce = self.intake.announce_update
        self.intake.report_hooks.append(self.suggester.after_report)
        if s.suggest or s.dedup_text > 0:
            # jieba's dictionary (~1 s, once per process) before the first report: here,
            # not in a thread, as a thread loading it beside a test's random draws was seen
            # to disturb hypothesis' check of the global random state (the fuzz of doors).
            textsim.warm()
        if s.suggest:
            self.suggester.warm()  # the model, in the suggestion worker
        self.outbox = Outbox(engine)
        self.notify = load_notify(s.notify_file or None)
        # 应急抽调 (issue 16): workers called up are texted through the same outbox.
        self.callups = CallupDesk(self.store, self.rota, CallupStore(engine), self.audit,
                                  self.bus, self.outbox, self.notify)
        if s.hotline_webhook:  # issue 15: each step of a hotline order goes back to it
            self.store.tell_hotline(s.hotline_webhook, on_queued=self.outbox.wake.set)
        self.hub.tracker.alert_hooks.append(self.tell_parents_of_alert)
        self.town_meta = self.store.town_meta()
        self.warnings = WarningDesk(CapStore(engine), self.outbox, self.audit,
                                    issuer_for(self.town_meta, s.cap_unit_code,
                                               s.cap_sender_name),
                                    self.grids, tuple(split_keys(s.cap_push_urls)))
        self.basemap = load_basemap(s.town_dir)
        self.resources.set_network(self.basemap)
        self.gazetteer = load_gazetteer(s.town_dir)
        self.layers = map_layers(self.store, self.grids.values(), self.basemap)
        log.info("services open: db=%s redis=%s town=%s", self.store.engine.url,
                 self.redis_url, self.town_meta.get("name"))
        return self

    def close(self) -> None:
        """Release connections and stop the embedded Redis, if this process started it."""
        if self.intake is not None:
            self.intake.close()
        if self.suggester is not None:
            self.suggester.close()
        if self.bus is not None:
            self.bus.r.close()
        if self.store is not None:
            self.store.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def seed_open311_keys(accounts: Accounts, raw: str) -> None:
    """ZN_OPEN311_KEYS become ingest keys (stored hashed), so old configurations keep working."""
    from datasources.sql.accounts import AccountError

    for key in split_keys(raw):
        if accounts.key_principal(key, "ingest") is None:
            # Another process may have seeded it a moment ago.
            with suppress(AccountError):
                accounts.add_key("ingest", f"ZN_OPEN311_KEYS {key[:4]}…", "citizen", token=key)


def map_layers(store: Store, cells: Iterable[GridCell], basemap: dict) -> dict[str, dict]:
    """The static map layers as GeoJSON, by file name (served under /api/town/)."""
    def collection(features: list[dict]) -> dict:
        return {"type": "FeatureCollection", "features": features}

    grids: dict[int, list[dict]] = {1: [], 2: [], 3: []}
    for g in cells:
        grids[g.level].append({"type": "Feature", "geometry": g.geometry,
                               "properties": {"code": g.code, "name": g.name,
                                              "name_en": g.name_en, "parent": g.parent}})
    stations = [{"type": "Feature",
                 "geometry": {"type": "Point", "coordinates": [st["lon"], st["lat"]]},
                 "properties": {"code": st["code"], "kind": st["kind"], "tooltip": st["name"]}}
                for st in store.stations()]
    layers = {f"grids-{level}.geojson": collection(f) for level, f in grids.items()}
    layers["stations.geojson"] = collection(stations)
    layers["basemap.geojson"] = basemap or collection([])
    return layers
