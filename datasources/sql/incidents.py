"""The durable record: incident intake and transitions, stock movements, and snapshot queries."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dashboard.geo.lookup import GridHit, haversine_m
from dashboard.incidents import hotline
from dashboard.incidents import kpis as kpi_rules
from dashboard.incidents.deadlines import DEFAULT_TABLE, deadline_for
from dashboard.incidents.errors import BadInput, Conflict, NotFound, TransitionError
from dashboard.incidents.kpis import KpiBoard
from dashboard.incidents.lifecycle import (
    ACTIONS,
    OPEN_STATES,
    action_to,
    work_order_ref,
)
from dashboard.incidents.rules import (
    SYSTEM,
    TASK_STATES,
    TEAM_PREFIX,
    Actor,
    Assignee,
    OrderFacts,
    assignee_key,
    check_inputs,
    effects,
    handover_plan,
    is_annotation,
    unit_assignee_id,
)
from dashboard.incidents.textsim import report_text, similarity
from dashboard.incidents.tiers import default_receiver
from dashboard.inputs import MAX_ID
from dashboard.messages import IncidentReport, IncidentView, StockView
from dashboard.resources.errors import StockError  # noqa: F401  (raised here)
from dashboard.roles import Principal, mask_name
from dashboard.timeutil import (
    LOCAL_TZ,
    as_utc,
    hhmm,
    utcnow,
)
from dashboard.town import Camera, GridCell, Unit
from datasources.sql import models as m
from datasources.sql.audit import entry_values as audit_values
from datasources.sql.engine import insert_new_only, rows_changed, session_factory
from datasources.sql.grid_versions import Versions
from datasources.sql.kpis import LiveFacts, read_facts

log = logging.getLogger(__name__)

__all__ = ["Created", "DedupRule", "Pending", "Store", "incident_view"]


def _report_values(incident_id: int, report: IncidentReport, reported_at: datetime,
                   merged: bool, photo_id: str | None = None) -> dict[str, Any]:
    """An incident_reports row's columns (a batch inserts them through Core)."""
    return {"incident_id": incident_id, "source": report.source,
            "source_ref": report.source_ref, "category": report.category,
            "priority": report.priority, "title": report.title,
            "description": report.description, "lon": report.lon, "lat": report.lat,
            "reporter_name": report.reporter_name, "reporter_phone": report.reporter_phone,
            "photo_url": report.photo_url, "photo_id": photo_id, "reported_at": reported_at,
            "merged": merged, "clip_url": report.clip_url}


def _take_photo(s: Any, photo_id: str | None, incident_id: int) -> str | None:
    """Attach a kept photo (photos.id) to a work order, once: a photo already shown by one,
    or an id the product never kept, attaches nothing (None)."""
    if not photo_id:
        return None
    return photo_id if rows_changed(s.execute(update(m.Photo).where(
        m.Photo.id == photo_id, m.Photo.incident_id.is_(None)).values(
        incident_id=incident_id))) == 1 else None


def incident_view(row: m.Incident) -> IncidentView:
    """The screen-facing view of an incident row."""
    return IncidentView(
        id=row.id, ref=row.ref, source=row.source, category=row.category,
        priority=row.priority, title=row.title, state=row.state, lon=row.lon, lat=row.lat,
        grid=row.grid_code, village=row.village_code, created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        deadline_at=as_utc(row.deadline_at) if row.deadline_at else None,
        closed_at=as_utc(row.closed_at) if row.closed_at else None,
        level=row.level or "grid", assignee=row.assignee, assignee_id=row.assignee_id,
        unit_id=row.unit_id, prev_unit_id=row.prev_unit_id,
        satisfaction=row.satisfaction,
        urge_count=row.urge_count or 0, supervised=bool(row.supervised),
        version=row.version or 0, report_count=row.report_count or 1,
        grid_worker=row.grid_worker, rework_count=row.rework_count or 0,
        extend_count=row.extend_count or 0, extend_request=row.extend_request,
        camera_id=row.camera_id, photo_url=row.photo_url if row.camera_id else None,
        photo=row.photo_id,
        dup_of=row.dup_of,
    )


@dataclass(frozen=True)
class Created:
    """Result of an intake: the work order, whether it is new, and whether the report was
    merged into an existing one (new=False, merged=False means a retried source_ref)."""

    incident: IncidentView
    new: bool
    merged: bool = False


@dataclass(frozen=True)
class DedupRule:
    """Same category, within `meters` and `minutes` of an open work order, and words alike
    (textsim.similarity ≥ `text`; 0: not compared): merge. Near but not alike: a work order
    of its own, flagged as a possible duplicate of the most alike one."""

    meters: int = 200
    minutes: int = 30
    text: float = 0.0



def _settle_satisfaction(s: Session, incident_id: int, reps: list[m.IncidentReport]) -> None:
    """The work order's satisfaction: the rounded mean of its callers' own (回访)."""
    scores = [r.satisfaction for r in reps if r.satisfaction is not None]
    if scores:
        s.execute(update(m.Incident).where(m.Incident.id == incident_id).values(
            satisfaction=round(sum(scores) / len(scores))))


def _decide_suggestion(s: Session, incident_id: int, assignee_id: str, now: datetime) -> None:
    """At the first dispatch of a work order with a suggestion (issue 18): record whether
    the officer took the suggested unit (accepted) or another assignee (changed), in the
    dispatch's transaction, so the decision and the dispatch stand or fall together."""
    row = s.get(m.IncidentSuggestion, incident_id)
    if row is None or row.decided_at is not None:
        return
    row.decided_at = now
    row.chosen_unit_id = assignee_id[:40]
    row.accepted = row.unit_id is not None and assignee_id == unit_assignee_id(row.unit_id)


def row_by_id(s: Session, model: Any, row_id: Any) -> Any:
    """The row of `model` with this id, or None; an id that no row can have (0, negative, a
    20-digit one the driver cannot even bind) is none such instead of a driver error."""
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
        return None
    return s.get(model, row_id)


def unit_of(row: m.Unit) -> Unit:
    """The core's Unit of a units row."""
    return Unit(row.id, row.name, row.name_en, row.tier, frozenset(row.categories or ()),
                row.village_code, tuple(row.people or ()))


def _unit(s: Session, unit_id: str | None) -> Unit | None:
    row = s.get(m.Unit, unit_id) if unit_id else None
    return unit_of(row) if row is not None else None


def _registered(s: Session, assignee_id: object) -> Assignee:
    """The register's grid worker, team or unit an id names, or BadInput
    ("unknown_assignee")."""
    kind, key = assignee_key(assignee_id)
    if kind == "unit":
        unit = _unit(s, key)
        if unit is None:
            raise BadInput("unknown_assignee", id=str(assignee_id))
        return Assignee(str(assignee_id), unit.name[:40], unit)
    found = s.get(m.Team, key) if kind == "team" else s.get(m.GridWorker, key)
    if found is None:
        raise BadInput("unknown_assignee", id=str(assignee_id))
    return Assignee(str(assignee_id), found.name[:40])


@dataclass(frozen=True)
class Pending:
    """A report for Store.create_incidents, placed (its grid hit), with who sent it: its
    audit row is written in the same transaction (None: no audit row)."""

    report: IncidentReport
    hit: GridHit
    who: Principal | None = None
    received: float = 0.0  # time.monotonic() when intake took it
    # The ingest key that sent it: the work order it files or joins is one that key may read
    # back (key_filings), written in the same transaction as the report.
    filed_by: int | None = None


def _new_ids(s: Session, wanted: dict[str, int]) -> dict[str, list[int | None]]:
    """So many ids of each table taken from its sequence in one read (PostgreSQL), so a
    batch's rows go in with their ids (and the new orders with their refs); Nones where the
    database numbers rows as they are inserted (SQLite: INSERT … RETURNING does)."""
    if s.get_bind().dialect.name != "postgresql" or not any(wanted.values()):
        return {table: [None] * n for table, n in wanted.items()}
    tables = list(wanted)
    query = " UNION ALL ".join(
        f"SELECT {i} AS t, nextval(pg_get_serial_sequence(:t{i}, 'id')) AS id "
        f"FROM generate_series(1, :n{i})" for i in range(len(tables)))
    params = {**{f"t{i}": t for i, t in enumerate(tables)},
              **{f"n{i}": wanted[t] for i, t in enumerate(tables)}}
    out: dict[str, list[int | None]] = {table: [] for table in tables}
    for i, row_id in s.execute(text(query), params):
        out[tables[i]].append(int(row_id))
    return out


@contextmanager
def _one_round(s: Session) -> Iterator[None]:
    """The statements run inside go to PostgreSQL in one round trip (psycopg's pipeline
    mode: each executemany rides it, the block's end syncs them all); elsewhere each as
    usual. Only for statements whose results are not read inside. A refusal is raised at
    the end, as the SQLAlchemy error its statement would have raised (IntegrityError…)."""
    driver = s.connection().connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    dialect = s.get_bind().dialect
    if dialect.name != "postgresql" or pipeline is None:
        yield
        return
    try:
        with pipeline():
            yield
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from exc


# Names the rota's worker on duty in each hit's grid, reading in the session given.
Roster = Callable[[Sequence[GridHit], Session], list[GridHit]]


class _Raced(Exception):
    """A work order the batch merges into changed under it: the batch is done again."""


@functools.cache
def _near_orders(boxes: int) -> Select[m.Incident]:
    """The open orders created since `since` of a category within a box around a report, for
    so many boxes (bound as c<i>, y<i>..Y<i>, x<i>..X<i>)."""
    t = cast("Table", m.Incident.__table__)
    return select(m.Incident).where(
        t.c.state.in_(sorted(OPEN_STATES)), t.c.created_at >= bindparam("since"),
        or_(*(and_(t.c.category == bindparam(f"c{i}"),
                   t.c.lat.between(bindparam(f"y{i}"), bindparam(f"Y{i}")),
                   t.c.lon.between(bindparam(f"x{i}"), bindparam(f"X{i}")))
              for i in range(boxes)))).order_by(t.c.id)


class _Pool:
    """The open work orders a batch's reports may join, read once for the batch (those near
    one of its reports), and the orders the batch makes as it goes: the merge rule decided in
    memory, report after report, as if each were stored alone.

    A video alert (camera and event type) joins its camera's open order of the same type
    whose last alert is within the burst window (ZN_VIDEO_BURST_MINUTES); any other report
    the nearest open order of its category within ZN_DEDUP_METERS and ZN_DEDUP_MINUTES whose
    words are alike (ZN_DEDUP_TEXT, issue 18); near but unlike, it is flagged "possible
    duplicate of" the most alike, not merged."""

    def __init__(self, s: Session, store: Store, reports: Sequence[IncidentReport],
                 at: Sequence[datetime]):
        self.burst = store.burst_minutes
        self.rule = store.dedup
        # Per category (dedup) and per camera and type (video): (rank, row, lon, lat, since)
        # with rank the id order (a new order ranks after every stored one).
        self.near: dict[str, list[tuple[int, m.Incident, float, float, datetime]]] = {}
        self.cams: dict[tuple[str, str], list[tuple[int, m.Incident]]] = {}
        self.last: dict[int, datetime] = {}  # a video order's last alert, by Python identity
        self.made = 0
        video = [r for r in reports if r.camera_id and r.event_type]
        if video and self.burst > 0:
            edge = min(at) - timedelta(minutes=self.burst)
            last = func.max(m.IncidentReport.reported_at)
            for row, when in s.execute(
                    select(m.Incident, last)
                    .join(m.IncidentReport, m.IncidentReport.incident_id == m.Incident.id)
                    .where(m.Incident.camera_id.in_({r.camera_id for r in video}),
                           m.Incident.state.in_(OPEN_STATES))
                    .group_by(m.Incident.id).having(last >= edge)):
                self.add(row, as_utc(when), near=False)
        others = [r for r in reports if not (r.camera_id and r.event_type)]
        if others and self.rule is not None and self.rule.meters > 0:
            since = min(at) - timedelta(minutes=self.rule.minutes)
            dlat = self.rule.meters / 111_000 * 1.05  # a box around each report holds its circle
            # The boxes padded to a power of two (the last repeated), so a few statements,
            # each built and compiled once, serve every batch.
            others += [others[-1]] * ((1 << (len(others) - 1).bit_length()) - len(others))
            params: dict[str, Any] = {"since": since}
            for i, r in enumerate(others):
                dlon = dlat / max(0.01, math.cos(math.radians(abs(r.lat) + 0.5)))
                params.update({f"c{i}": r.category, f"y{i}": r.lat - dlat,
                               f"Y{i}": r.lat + dlat, f"x{i}": r.lon - dlon,
                               f"X{i}": r.lon + dlon})
            for row in s.scalars(_near_orders(len(others)), params):
                self.add(row)

    def add(self, row: m.Incident, last: datetime | None = None, near: bool = True) -> None:
        """An open order reports may join: a video order by its camera when `last` (its last
        alert) is given, any by its place when `near`."""
        if row.id is None:
            self.made += 1
        rank = row.id if row.id is not None else (1 << 62) + self.made
        if last is not None and row.camera_id and row.event_type:
            self.cams.setdefault((row.camera_id, row.event_type), []).append((rank, row))
            self.last[id(row)] = last
        if near:
            self.near.setdefault(row.category, []).append(
                (rank, row, row.lon, row.lat, as_utc(row.created_at)))

    def joined(self, row: m.Incident, when: datetime) -> None:
        """A report made at `when` joined `row`: its last report moves on."""
        key = id(row)
        if key in self.last:
            self.last[key] = max(self.last[key], when)

    def target(self, report: IncidentReport, when: datetime
               ) -> tuple[m.Incident | None, str, m.Incident | None]:
        """The order the report joins and the history's words for it, or (None, "", the
        near order flagged as what it may duplicate, or None)."""
        if report.camera_id and report.event_type:
            if self.burst <= 0:
                return None, "", None
            edge = when - timedelta(minutes=self.burst)
            same = [(rank, r) for rank, r in self.cams.get((report.camera_id,
                                                            report.event_type), ())
                    if r.state in OPEN_STATES and self.last[id(r)] >= edge]
            if not same:
                return None, "", None
            row = max(same, key=lambda c: c[0])[1]
            return row, f"合并同一摄像头{self.burst}分钟内同类告警：{report.title}", None
        if self.rule is None or self.rule.meters <= 0:
            return None, "", None
        since = when - timedelta(minutes=self.rule.minutes)
        near = sorted((c for c in ((haversine_m(report.lon, report.lat, lon, lat), rank, r)
                                   for rank, r, lon, lat, created in
                                   self.near.get(report.category, ()) if created >= since)
                       if c[0] <= self.rule.meters), key=lambda c: c[:2])
        if not near:
            return None, "", None
        said = report_text(report.title, report.description)
        scored = [(similarity(said, report_text(r.title, r.description))
                   if self.rule.text > 0 else 1.0, metres, r) for metres, _, r in near]
        alike = [c for c in scored if c[0] >= self.rule.text]
        if not alike:  # near, but another problem: its own order, flagged
            return None, "", max(scored, key=lambda c: (c[0], -c[1]))[2]
        score, metres, row = alike[0]
        alike_note = f"，文字相似度{score:.2f}" if self.rule.text > 0 else ""
        return row, f"合并{metres:.0f}米内同类上报{alike_note}：{report.title}", None


class Store:
    """Repository over one engine; every write is one transaction."""

    def __init__(self, engine: Engine, deadlines: dict[str, Any] | None = None,
                 dedup: DedupRule | None = None, verify_before_close: bool = False,
                 burst_minutes: int = 10):
        self.engine = engine
        self._deadlines = deadlines or DEFAULT_TABLE
        # The tables a town overrides on /admin (datasources/sql/tables.py TownTables): when
        # set, the deadlines are read from there, the one accessor.
        self.tables: Any = None
        self.dedup = dedup
        self.verify_before_close = verify_before_close  # ZN_VERIFY_BEFORE_CLOSE
        # 雪亮工程 (issue 15): one camera's alerts of one type within this many minutes of
        # its last one join the open work order (ZN_VIDEO_BURST_MINUTES; 0: never).
        self.burst_minutes = burst_minutes
        self._sessions = session_factory(engine)
        # Issue 16: the grid versions kept, read once per change (a report's grid of its time).
        self.versions = Versions()
        # 12345 (issue 15): the hotline's webhook; each step of a hotline work order is
        # queued for it in the step's own transaction (tell_hotline).
        self.hotline_url = ""
        self.on_hotline_queued: Callable[[], None] | None = None

    # ------------------------------------------------------------------ 12345 both ways
    def tell_hotline(self, url: str, on_queued: Callable[[], None] | None = None) -> None:
        """From now on every history row of a work order that holds a hotline report (its
        number is the report's source_ref) queues one message for the hotline's webhook at
        `url`, in the same transaction as the row: a step that commits is told, one that
        rolls back is not, whichever code path wrote it. `on_queued` runs after the commit
        (the sender's wake-up)."""
        self.hotline_url = url
        self.on_hotline_queued = on_queued
        if not event.contains(self._sessions, "after_flush", self._queue_hotline_steps):
            event.listen(self._sessions, "after_flush", self._queue_hotline_steps)
            event.listen(self._sessions, "after_commit", self._hotline_committed)

    def _queue_hotline_steps(self, session: Session, _context: Any) -> None:
        steps = [o for o in session.new if isinstance(o, m.IncidentEvent)]
        if steps and self.hotline_url:
            self._queue_hotline(session, steps)

    def _queue_hotline(self, session: Session, steps: Sequence[Any]) -> None:
        """Queue the hotline's message of each history row given (an IncidentEvent the ORM
        flushed, or one a batch inserted through Core: anything with its attributes)."""
        conn = session.connection()
        for ev in sorted(steps, key=lambda o: o.id):
            if (ev.action or "report") not in hotline.TOLD_STEPS:
                continue
            numbers = [n for n in conn.execute(select(m.IncidentReport.source_ref).where(
                m.IncidentReport.incident_id == ev.incident_id,
                m.IncidentReport.source == hotline.HOTLINE,
                m.IncidentReport.source_ref.is_not(None)).order_by(m.IncidentReport.id))
                .scalars() if n and not n.startswith("idem:")]
            if not numbers:
                continue
            order = conn.execute(select(m.Incident.ref, m.Incident.deadline_at,
                                        m.Incident.satisfaction, m.Incident.state)
                                 .where(m.Incident.id == ev.incident_id)).one()
            now = utcnow()
            for number in numbers:
                to = hotline.recipient(number)
                told = conn.execute(select(func.count()).select_from(m.Notification).where(
                    m.Notification.channel == hotline.HOTLINE,
                    m.Notification.recipient == to)).scalar_one()
                body = hotline.step_body(
                    number=number, ref=order.ref, seq=int(told) + 1,
                    step=ev.action or "report", from_state=ev.from_state, state=ev.to_state,
                    at=as_utc(ev.at), note=ev.note or "",
                    deadline_at=as_utc(order.deadline_at) if order.deadline_at else None,
                    satisfaction=order.satisfaction if ev.action == "close" else None)
                conn.execute(insert(m.Notification).values(
                    channel=hotline.HOTLINE, recipient=to, address=self.hotline_url,
                    kind=(ev.action or "report")[:16], body=body, status="queued", tries=0,
                    next_at=now, last_error="", created_at=now, sent_at=None,
                    dedup=f"hotline:{ev.id}:{number}"[:120]))
                session.info["zn_hotline_queued"] = True

    def _hotline_committed(self, session: Session) -> None:
        if session.info.pop("zn_hotline_queued", False) and self.on_hotline_queued:
            self.on_hotline_queued()

    def hotline_order(self, number: str) -> dict[str, Any] | None:
        """The work order a hotline number names (its report's source_ref), with the steps
        told of it (the history the hotline may read) and its deadline; None when unknown."""
        with self.session() as s:
            row = s.scalar(select(m.Incident).join(
                m.IncidentReport, m.IncidentReport.incident_id == m.Incident.id).where(
                m.IncidentReport.source == hotline.HOTLINE,
                m.IncidentReport.source_ref == number).limit(1))
            if row is None:
                return None
            view = incident_view(row)
            steps = [e for e in s.scalars(select(m.IncidentEvent).where(
                m.IncidentEvent.incident_id == row.id).order_by(m.IncidentEvent.id))
                if (e.action or "report") in hotline.TOLD_STEPS]
            return {"view": view, "steps": [
                {"step": e.action or "report", "from_state": e.from_state,
                 "state": e.to_state, "at": as_utc(e.at), "note": e.note or ""}
                for e in steps]}

    # ------------------------------------------------------------------ cameras
    def camera(self, camera_id: str) -> Camera | None:
        """A camera of the town by id (cameras.csv), or None."""
        with self.session() as s:
            row = s.get(m.Camera, camera_id) if isinstance(camera_id, str) else None
            return None if row is None else Camera(row.id, row.name, row.name_en, row.lon,
                                                   row.lat, row.grid_code)

    def cameras(self) -> list[Camera]:
        """Every camera of the town, by id."""
        with self.session() as s:
            return [Camera(r.id, r.name, r.name_en, r.lon, r.lat, r.grid_code)
                    for r in s.scalars(select(m.Camera).order_by(m.Camera.id))]

    @property
    def deadlines(self) -> dict[str, Any]:
        """The deadline table a new work order gets: the town's tables (with /admin's
        override) when wired, else the one given."""
        return self.tables.deadlines() if self.tables is not None else self._deadlines

    @deadlines.setter
    def deadlines(self, table: dict[str, Any]) -> None:
        self._deadlines = table

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    # ------------------------------------------------------------------ incidents
    def create_incident(self, report: IncidentReport, hit: GridHit,
                        now: datetime | None = None) -> Created:
        """Store a report with its first history row; a repeated source_ref gives the first."""
        done = self.create_incidents([Pending(report, hit)], now)[0]
        if isinstance(done, Exception):
            raise done
        return done

    def create_incidents(self, items: Sequence[Pending], now: datetime | None = None,
                         roster: Roster | None = None) -> list[Created | Exception]:
        """Store a batch of reports in one transaction (intake's group commit), each as it
        would be alone and in order: a repeated source_ref gives the first work order, a
        report joins the open order the merge rule names (one stored earlier, or one of this
        batch), else it is a new order. Each item's result is its Created, or the exception
        that kept it out: when the batch fails, each report is tried alone, so one bad row
        costs only itself. `roster` names who is on duty in the reports' grids (the rota,
        read in the batch's transaction)."""
        now = now or utcnow()
        for attempt in range(3):
            try:
                with self.session() as s:
                    if roster is not None:
                        items = [dataclasses.replace(p, hit=hit) for p, hit in zip(
                            items, roster([p.hit for p in items], s), strict=True)]
                    return list(self._create_batch(s, items, now, merging=attempt < 2))
            except _Raced:  # an order it merged into changed meanwhile: read them again
                continue
            except Exception as exc:
                if len(items) > 1:
                    log.warning("a batch of %s reports failed (%s: %s); storing each alone",
                                len(items), type(exc).__name__, str(exc).splitlines()[0][:200])
                    break
                if isinstance(exc, IntegrityError) and items[0].report.source_ref:
                    # Another process stored the same source_ref between our check and insert.
                    existing = self._by_source_ref(items[0].report.source,
                                                   items[0].report.source_ref)
                    if existing is not None:
                        return [Created(existing, False)]
                return [exc]
        return [self.create_incidents([item], now, roster)[0] for item in items]

    def _create_batch(self, s: Session, items: Sequence[Pending], now: datetime,
                      merging: bool) -> list[Created]:
        """create_incidents' one transaction (`merging`: False makes every report not retried
        its own order, after an order it joined changed twice under it)."""
        at = [min(as_utc(p.report.reported_at), now) if p.report.reported_at else now
              for p in items]
        # Every report is kept (merged ones too), so a retry is found whatever became of it.
        refs = {p.report.source_ref for p in items if p.report.source_ref}
        known: dict[tuple[str, str | None], m.Incident] = {}
        if refs:
            for source, ref, row in s.execute(
                    select(m.IncidentReport.source, m.IncidentReport.source_ref, m.Incident)
                    .join(m.Incident, m.Incident.id == m.IncidentReport.incident_id)
                    .where(m.IncidentReport.source_ref.in_(refs))):
                known.setdefault((source, ref), row)
        pool = _Pool(s, self, [p.report for p in items], at) if merging else None
        versions = self.versions.rows(s)
        deadlines = self.deadlines
        done: list[tuple[str, m.Incident, str]] = []  # (new | merged | known, order, words)
        fresh: list[tuple[m.Incident, Pending, datetime, m.Incident | None]] = []
        bumped: dict[int, tuple[m.Incident, int, int]] = {}  # id: (row, version, reports)
        for p, when in zip(items, at, strict=True):
            report = p.report
            key = (report.source, report.source_ref)
            if report.source_ref and key in known:
                done.append(("known", known[key], ""))
                continue
            target, words, dup = pool.target(report, when) if pool else (None, "", None)
            if target is not None:
                assert pool is not None
                pool.joined(target, when)
                if target.id is None:  # an order of this batch
                    target.report_count += 1
                    target.version += 1
                else:
                    row0, version, count = bumped.get(target.id,
                                                      (target, target.version, 0))
                    bumped[target.id] = (row0, version, count + 1)
                done.append(("merged", target, words))
            else:
                hit, grid_version = self.versions.place(s, p.hit, report.lon, report.lat,
                                                        when, versions)
                target = m.Incident(  # ref: unique until the id names it, below
                    ref=f"~{uuid.uuid4().hex[:22]}", source=report.source,
                    source_ref=report.source_ref,
                    category=report.category, priority=report.priority, title=report.title,
                    description=report.description, lon=report.lon, lat=report.lat,
                    grid_code=hit.code, grid_version=grid_version, village_code=hit.village,
                    state="reported",
                    grid_worker=hit.on_duty(as_utc(when).astimezone(LOCAL_TZ).date()),
                    reporter_name=report.reporter_name, reporter_phone=report.reporter_phone,
                    photo_url=report.photo_url, created_at=when, updated_at=now,
                    deadline_at=deadline_for(report.priority, when, report.category,
                                             deadlines),
                    camera_id=report.camera_id, event_type=report.event_type,
                    clip_url=report.clip_url, report_count=1, version=0)
                fresh.append((target, p, when, dup))
                if pool is not None:
                    pool.add(target, when)
                done.append(("new", target, ""))
            if report.source_ref:
                known[key] = target
        # The new orders' ids: taken from the sequence first where there is one, so their
        # refs go in with them (one prepared INSERT for them all); else as they are inserted.
        stored = sum(how != "known" for how, _, _ in done)
        ids = _new_ids(s, {m.Incident.__tablename__: len(fresh),
                           m.IncidentEvent.__tablename__: stored,
                           m.IncidentReport.__tablename__: stored,
                           m.AuditEntry.__tablename__: sum(p.who is not None
                                                           for _, p, _, _ in fresh)})
        for (row, _, when, _), row_id in zip(fresh, ids[m.Incident.__tablename__],
                                            strict=True):
            if row_id is not None:
                row.id, row.ref = row_id, work_order_ref(when, row_id)
        for row, *_, dup in fresh:
            if dup is not None and dup.id is not None:
                row.dup_of = dup.id
        if bumped:  # the stored orders joined, each only if unchanged since read (one round)
            t = cast("Table", m.Incident.__table__)
            joined = s.connection().execute(
                update(t).where(t.c.id == bindparam("b_id"),
                                t.c.version == bindparam("b_version"),
                                or_(*(t.c.state == st for st in sorted(OPEN_STATES))))
                .values(report_count=t.c.report_count + bindparam("b_count"),
                        version=bindparam("b_new"), updated_at=now),
                [{"b_id": row_id, "b_version": version, "b_count": count,
                  "b_new": version + count} for row_id, (_, version, count) in bumped.items()])
            if rows_changed(joined) != len(bumped):
                raise _Raced(list(bumped))
        for row, version, count in bumped.values():
            set_committed_value(row, "report_count", (row.report_count or 1) + count)
            set_committed_value(row, "version", version + count)
            set_committed_value(row, "updated_at", now)
        # From the new orders on, what is written and not read back goes to PostgreSQL in one
        # round trip (bench/intake.py); a photo taken counts its row, so a batch with photos
        # sends only its history, report and audit rows so.
        photos = any(p.report.photo for p in items)
        with ExitStack() as rounds:
            if not photos:
                rounds.enter_context(_one_round(s))
            s.add_all([row for row, *_ in fresh])
            s.flush()
            for row, p, when, dup in fresh:
                if row.ref.startswith("~"):
                    row.ref = work_order_ref(when, row.id)
                if dup is not None and row.dup_of is None:
                    row.dup_of = dup.id
                if p.report.photo:
                    row.photo_id = _take_photo(s, p.report.photo, row.id)
            # The history, the reports and the audit rows: plain rows, inserted through Core
            # (one executemany a table; the ORM's unit of work cost a third of the committer).
            added: dict[type[m.Base], list[dict[str, Any]]] = {
                m.IncidentEvent: [], m.IncidentReport: [], m.AuditEntry: []}
            for p, when, (how, row, words) in zip(items, at, done, strict=True):
                report = p.report
                if how == "new":
                    added[m.IncidentEvent].append({
                        "incident_id": row.id, "at": now, "actor": report.source,
                        "from_state": None, "to_state": "reported", "action": "report",
                        "note": report.title})
                    added[m.IncidentReport].append(_report_values(
                        row.id, report, when, merged=False, photo_id=row.photo_id))
                    if p.who is not None:
                        added[m.AuditEntry].append(audit_values(
                            "incident.report", row.ref, report.source, actor=report.source,
                            who=p.who))
                elif how == "merged":
                    photo = _take_photo(s, report.photo, row.id)
                    if photo and not row.photo_id:  # the work order shows its first photo
                        row.photo_id = photo
                    added[m.IncidentReport].append(_report_values(row.id, report, when,
                                                                  merged=True, photo_id=photo))
                    added[m.IncidentEvent].append({
                        "incident_id": row.id, "at": now, "actor": report.source,
                        "from_state": row.state, "to_state": row.state, "action": "merge",
                        "note": words[:500]})
            # The new orders' refs (named after their ids once inserted, on SQLite) and a merged
            # report's photo, written before the hotline's queue reads the orders back.
            s.flush()
            if photos:
                rounds.enter_context(_one_round(s))
            for model, values in added.items():
                for one, row_id in zip(values, ids[model.__tablename__], strict=True):
                    if row_id is not None:
                        one["id"] = row_id
                if not values:
                    continue
                table = cast("Table", model.__table__)
                if model is m.IncidentEvent and self.hotline_url and "id" not in values[0]:
                    # The hotline's messages name their history rows: numbered as inserted.
                    numbered = s.connection().execute(
                        insert(table).returning(table.c.id, sort_by_parameter_order=True),
                        values)
                    for one, (row_id,) in zip(values, numbered, strict=True):
                        one["id"] = row_id
                else:
                    s.connection().execute(insert(table), values)
            # What each ingest key filed or joined, so it may read it back (a key's report may
            # join an order it filed before: that row is kept).
            filings = sorted({(p.filed_by, row.id) for p, (how, row, _) in zip(
                items, done, strict=True) if p.filed_by is not None and how != "known"})
            if filings:
                s.connection().execute(
                    insert_new_only(s, cast("Table", m.KeyFiling.__table__)),
                    [{"key_id": key, "incident_id": order, "at": now}
                     for key, order in filings])
        if self.hotline_url and added[m.IncidentEvent]:  # as the ORM's flush would queue them
            self._queue_hotline(s, [SimpleNamespace(**v) for v in added[m.IncidentEvent]])
        return [Created(incident_view(row), how == "new", merged=how == "merged")
                for how, row, _ in done]

    def reports(self, incident_id: int) -> list[dict[str, Any]]:
        """Every report a work order lists, first one first."""
        with self.session() as s:
            rows = s.scalars(select(m.IncidentReport).where(
                m.IncidentReport.incident_id == incident_id).order_by(m.IncidentReport.id))
            return [{"id": r.id, "source": r.source, "source_ref": r.source_ref,
                     "title": r.title, "lon": r.lon, "lat": r.lat, "merged": r.merged,
                     "reported_at": as_utc(r.reported_at)} for r in rows]

    def callers(self, incident_id: int) -> list[dict[str, Any]]:
        """Every caller of a work order (one per report, merged ones too), first first, with
        their contacts as stored; who may read them whole is dashboard.roles.personal's."""
        with self.session() as s:
            rows = s.scalars(select(m.IncidentReport).where(
                m.IncidentReport.incident_id == incident_id).order_by(m.IncidentReport.id))
            return [{"report_id": r.id, "source": r.source, "title": r.title,
                     "name": r.reporter_name, "phone": r.reporter_phone,
                     "satisfaction": r.satisfaction, "merged": r.merged,
                     "reported_at": as_utc(r.reported_at)} for r in rows]

    def rate_caller(self, report_id: int, satisfaction: int, actor: str | Actor,
                    now: datetime | None = None) -> IncidentView:
        """回访 of one caller: their own satisfaction (1–5); the work order's becomes the
        mean of its callers' (rounded), and its history says who was called back."""
        now = now or utcnow()
        who = actor if isinstance(actor, Actor) else Actor(actor)
        check_inputs("close", satisfaction=satisfaction)
        with self.session() as s:
            rep = row_by_id(s, m.IncidentReport, report_id)
            if rep is None:
                raise NotFound("no_report", id=report_id)
            row = s.get(m.Incident, rep.incident_id)
            assert row is not None
            if row.state not in ACTIONS["close"].sources and row.state != "closed":
                raise TransitionError("bad_state", action="close", state=row.state)
            rep.satisfaction = satisfaction
            reps = list(s.scalars(select(m.IncidentReport).where(
                m.IncidentReport.incident_id == row.id).order_by(m.IncidentReport.id)))
            _settle_satisfaction(s, row.id, reps)
            row.version += 1
            row.updated_at = now
            s.add(m.IncidentEvent(incident_id=row.id, at=now, actor=who.name[:40],
                                  actor_user_id=who.user_id, from_state=row.state,
                                  to_state=row.state, action="note",
                                  note=f"回访来电人 {mask_name(rep.reporter_name) or rep.id}："
                                       f"满意度 {satisfaction}"))
            s.flush()
            s.refresh(row)
            return incident_view(row)

    def split_report(self, report_id: int, actor: str,
                     locate: Callable[[float, float], GridHit | None],
                     now: datetime | None = None) -> tuple[IncidentView, IncidentView]:
        """Undo a merge: the report becomes its own work order; both histories say so."""
        now = now or utcnow()
        with self.session() as s:
            rep = row_by_id(s, m.IncidentReport, report_id)
            if rep is None or not rep.merged:
                raise NotFound("no_merged_report", id=report_id)
            old = s.get(m.Incident, rep.incident_id)
            assert old is not None
            hit = locate(rep.lon, rep.lat) or GridHit(old.grid_code or "", old.village_code)
            hit, grid_version = self.versions.place(s, hit, rep.lon, rep.lat,
                                                    as_utc(rep.reported_at))
            new = m.Incident(
                ref="pending", source=rep.source, source_ref=None, category=rep.category,
                priority=rep.priority, title=rep.title, description=rep.description,
                lon=rep.lon, lat=rep.lat, grid_code=hit.code, grid_version=grid_version,
                village_code=hit.village,
                grid_worker=hit.on_duty(as_utc(rep.reported_at).astimezone(LOCAL_TZ).date()),
                state="reported", reporter_name=rep.reporter_name,
                reporter_phone=rep.reporter_phone, photo_url=rep.photo_url,
                created_at=rep.reported_at, updated_at=now,
                deadline_at=deadline_for(rep.priority, as_utc(rep.reported_at), rep.category,
                                         self.deadlines))
            s.add(new)
            s.flush()
            new.ref = work_order_ref(rep.reported_at, new.id)
            rep.incident_id, rep.merged = new.id, False
            if rep.photo_id:  # the report's photo goes with it
                new.photo_id = rep.photo_id
                if old.photo_id == rep.photo_id:
                    old.photo_id = None
                s.execute(update(m.Photo).where(m.Photo.id == rep.photo_id)
                          .values(incident_id=new.id))
            old.report_count = max(1, old.report_count - 1)
            old.version += 1
            old.updated_at = now
            s.add(m.IncidentEvent(incident_id=old.id, at=now, actor=actor, from_state=old.state,
                                  to_state=old.state, action="split",
                                  note=f"拆分为独立工单 {new.ref}"))
            s.add(m.IncidentEvent(incident_id=new.id, at=now, actor=actor, from_state=None,
                                  to_state="reported", action="split",
                                  note=f"由 {old.ref} 拆分"))
            s.flush()
            return incident_view(old), incident_view(new)

    def _by_source_ref(self, source: str, source_ref: str) -> IncidentView | None:
        # Every report is kept (merged ones too), so a retry is found whatever became of it.
        with self.session() as s:
            row = s.scalar(select(m.Incident).join(
                m.IncidentReport, m.IncidentReport.incident_id == m.Incident.id).where(
                m.IncidentReport.source == source, m.IncidentReport.source_ref == source_ref)
                .limit(1))
            return incident_view(row) if row else None

    def transition(self, incident_id: int, to_state: str, actor: str | Actor, note: str = "",
                   now: datetime | None = None, assignee: str | None = None,
                   assignee_id: str | None = None) -> IncidentView:
        """Move an incident to `to_state` by the one action that leads there."""
        with self.session() as s:
            row = row_by_id(s, m.Incident, incident_id)
            if row is None:
                raise NotFound("no_incident", id=incident_id)
            action = action_to(row.state, to_state)
        # Without a named assignee, whoever reports the dispatch takes it on.
        if action in ("dispatch", "reassign") and not assignee:
            who = actor if isinstance(actor, Actor) else Actor(actor)
            assignee, assignee_id = who.name, who.person_id
        return self.act(incident_id, action, actor, note=note, assignee=assignee,
                        assignee_id=assignee_id, now=now)

    def act(self, incident_id: int, action: str, actor: str | Actor, *, note: str = "",
            assignee: str | None = None, assignee_id: str | None = None,
            satisfaction: int | None = None, expect_version: int | None = None,
            seen_event: int | None = None, now: datetime | None = None) -> IncidentView:
        """Take one action of the loop; the history row is written in the same transaction.

        What the action changes comes from dashboard/incidents/rules.effects. The change is
        a conditional UPDATE on the incident's version, so of two officers dispatching at
        the same moment exactly one succeeds; the other gets Conflict naming who was first.
        Only a person's step or a change of state since (`seen_event`, the last history row
        the requester saw) is a conflict: the system's 督办 or suggestion is not.
        """
        now = now or utcnow()
        who = actor if isinstance(actor, Actor) else Actor(actor)
        to = Assignee(assignee_id, assignee) if assignee else None
        with self.session() as s:
            row = self._as_seen(s, incident_id, expect_version, seen_event)
            self._step(s, row, action, who, now, note=note, satisfaction=satisfaction,
                       assignee=to)
            s.refresh(row)
            return incident_view(row)

    def dispatch(self, incident_id: int, plan: tuple[str, ...], actor: str | Actor,
                 assignee_id: object, *, note: str = "", expect_version: int | None = None,
                 seen_event: int | None = None, now: datetime | None = None,
                 check: Callable[[Assignee, str | None], None] | None = None) -> IncidentView:
        """One click on a recommendation: the plan's steps (rules.dispatch_plan: accept then
        dispatch, dispatch, or reassign) to whom the town's register names `assignee_id`,
        in one transaction, so both steps are in the history or neither is (an accept that
        committed before a failed dispatch left work orders half-dispatched).

        The assignee is looked up in the register (grid workers by person id, teams as
        'team:CODE') and named as the register names it, never as the requester does; an id
        the register does not hold is BadInput("unknown_assignee")."""
        now = now or utcnow()
        who = actor if isinstance(actor, Actor) else Actor(actor)
        if not plan:
            raise BadInput("unknown_assignee", id=str(assignee_id))
        with self.session() as s:
            to = _registered(s, assignee_id)
            row = self._as_seen(s, incident_id, expect_version, seen_event)
            if check is not None:  # e.g. a village officer dispatches within the village
                check(to, self._village_of(s, to))
            if to.unit is not None:  # a hand-over: 升级 first when the unit sits higher
                plan = handover_plan(row.state, row.level or "grid", to.unit)
            for n, action in enumerate(plan):
                last = n == len(plan) - 1
                self._step(s, row, action, who, now, note=note if last else "",
                           assignee=to if action in ("dispatch", "reassign") else None,
                           unit=to.unit if action == "escalate" else None)
            if to.id:
                _decide_suggestion(s, row.id, to.id, now)
            s.refresh(row)
            return incident_view(row)

    def registered(self, assignee_id: object, name: str | None = None) -> Assignee:
        """The assignee a source names, as the town's register has them: by id (a grid
        worker's id or 'team:CODE'), else by a name that exactly one worker or team bears.
        Anyone else is BadInput("unknown_assignee"): a message on the bus cannot hand a
        work order to a person the town does not have."""
        with self.session() as s:
            if assignee_id is None and name:
                ids = [w for w in s.scalars(select(m.GridWorker.id)
                                            .where(m.GridWorker.name == name))]
                ids += [TEAM_PREFIX + c for c in s.scalars(select(m.Team.code)
                                                           .where(m.Team.name == name))]
                if len(ids) != 1:
                    raise BadInput("unknown_assignee", id=name[:40])
                assignee_id = ids[0]
            return _registered(s, assignee_id)

    @staticmethod
    def _village_of(s: Session, to: Assignee) -> str | None:
        """The village an assignee belongs to: a unit's village, a grid worker's grid's."""
        if to.unit is not None:
            return to.unit.village
        kind, key = assignee_key(to.id)
        if kind != "person":
            return None
        return s.scalar(select(m.Grid.village_code).join(
            m.GridWorker, m.GridWorker.grid_code == m.Grid.code).where(m.GridWorker.id == key))

    def villages(self) -> dict[str, tuple[str, str]]:
        """The town's villages: code -> (name, English name), by code."""
        with self.session() as s:
            return {v.code: (v.name, v.name_en) for v in
                    s.scalars(select(m.Village).order_by(m.Village.code))}

    def units(self) -> list[Unit]:
        """The town's receiving units (units.json), by id."""
        with self.session() as s:
            return [unit_of(r) for r in s.scalars(select(m.Unit).order_by(m.Unit.id))]

    def unit(self, unit_id: str | None) -> Unit | None:
        """One unit by id, or None."""
        with self.session() as s:
            return _unit(s, unit_id)

    def _as_seen(self, s: Session, incident_id: int, expect_version: int | None,
                 seen_event: int | None = None) -> m.Incident:
        """The work order, as the requester saw it (`expect_version`) or Conflict. When
        they also name the last history row they saw, newer rows that are all the system's
        annotations (rules.is_annotation: 督办, a report merged in) and a suggestion (no
        row) leave their view valid; anything else since is a Conflict naming who."""
        row = row_by_id(s, m.Incident, incident_id)
        if row is None:
            raise NotFound("no_incident", id=incident_id)
        if expect_version is None or row.version == expect_version:
            return row
        if seen_event is not None and row.version > expect_version:
            since = s.scalars(select(m.IncidentEvent).where(
                m.IncidentEvent.incident_id == row.id, m.IncidentEvent.id > seen_event))
            if all(is_annotation(e.action or "", e.from_state, e.to_state,
                                 e.actor_user_id is not None) for e in since):
                return row
        raise self._who_was_first(s, row)

    def _step(self, s: Session, row: m.Incident, action: str, who: Actor, now: datetime, *,
              note: str = "", satisfaction: int | None = None,
              assignee: Assignee | None = None, unit: Unit | None = None) -> None:
        """One step inside the caller's transaction: the conditional UPDATE on the version
        and its history row. A 升级 without a unit goes to the next tier's first receiver
        (tiers.default_receiver); a unit's 退回 goes back to the unit it came from."""
        facts = OrderFacts(
            row.state, row.level or "grid", row.urge_count or 0, row.closed_at,
            deadline_at=as_utc(row.deadline_at) if row.deadline_at else None,
            rework_count=row.rework_count or 0, extend_count=row.extend_count or 0,
            extend_request=row.extend_request,
            suspended_at=as_utc(row.suspended_at) if row.suspended_at else None,
            category=row.category, priority=row.priority, village=row.village_code,
            unit_id=row.unit_id, prev_unit_id=row.prev_unit_id, assignee_id=row.assignee_id,
            dup_of=row.dup_of)
        if action == "escalate" and unit is None:
            unit = default_receiver([unit_of(u) for u in s.scalars(select(m.Unit))],
                                    level=facts.level, category=facts.category,
                                    village=facts.village)
        if action == "return" and row.unit_id and \
                row.assignee_id == unit_assignee_id(row.unit_id):
            unit = _unit(s, row.prev_unit_id)
        values = effects(action, facts, as_utc(now), note=note, satisfaction=satisfaction,
                         assignee=assignee, verify_before_close=self.verify_before_close,
                         unit=unit, deadlines=self.deadlines)
        into = self._dup_target(s, row) if action == "merge" else None
        # The ORM UPDATE below refreshes `row` in place, so keep what it was.
        before = row.state
        values["version"] = row.version + 1
        changed = rows_changed(s.execute(
            update(m.Incident)
            .where(m.Incident.id == row.id, m.Incident.version == row.version)
            .values(**values)))
        if changed != 1:
            row_id = row.id  # read before the rollback expires the row
            s.rollback()
            with self.session() as fresh:
                raise self._who_was_first(fresh, fresh.get(m.Incident, row_id))
        # Every hand-over names its receiver in the history (全程记录).
        handed = unit.name if unit is not None and "unit_id" in values else None
        if action == "return" and "unit_id" in values:
            handed = "退回" + (unit.name if unit is not None else "网格层级")
        if into is not None:
            self._move_reports(s, row, into, who, now)
        if action == "close":
            self._rate_first_caller(s, row.id, satisfaction)
        extra = {"dispatch": assignee.name if assignee else None,
                 "reassign": assignee.name if assignee else None,
                 "escalate": handed or values.get("level"),
                 "return": handed,
                 "merge": f"合并至 {into.ref}" if into is not None else None}.get(action)
        s.add(m.IncidentEvent(
            incident_id=row.id, at=now, actor=who.name[:40], actor_user_id=who.user_id,
            from_state=before, to_state=values.get("state", before), action=action,
            note=" · ".join(x for x in (extra, note) if x)[:500]))
        s.flush()

    @staticmethod
    def _dup_target(s: Session, row: m.Incident) -> m.Incident:
        """The open work order a flagged one is merged into (TransitionError if closed)."""
        into = s.get(m.Incident, row.dup_of) if row.dup_of else None
        if into is None or into.state not in OPEN_STATES or into.id == row.id:
            raise TransitionError("merge_target", ref=into.ref if into else str(row.dup_of))
        return into

    @staticmethod
    def _move_reports(s: Session, row: m.Incident, into: m.Incident, who: Actor,
                      now: datetime) -> None:
        """A 合并: every report (caller) of `row` moves to `into`, kept as merged."""
        moved = list(s.scalars(select(m.IncidentReport).where(
            m.IncidentReport.incident_id == row.id)))
        for rep in moved:
            rep.incident_id, rep.merged = into.id, True
        changed = rows_changed(s.execute(update(m.Incident).where(
            m.Incident.id == into.id, m.Incident.version == into.version).values(
            report_count=(into.report_count or 1) + len(moved), version=into.version + 1,
            updated_at=now)))
        if changed != 1:
            raise Conflict("changed", ref=into.ref, state=into.state)
        s.add(m.IncidentEvent(incident_id=into.id, at=now, actor=who.name[:40],
                              actor_user_id=who.user_id, from_state=into.state,
                              to_state=into.state, action="merge",
                              note=f"合并疑似重复工单 {row.ref}：{row.title}"[:500]))

    @staticmethod
    def _rate_first_caller(s: Session, incident_id: int, satisfaction: int | None) -> None:
        """At 结案 the score given is the first caller's unless they were called back on
        their own; the work order's satisfaction is then the mean of its callers'."""
        reps = list(s.scalars(select(m.IncidentReport).where(
            m.IncidentReport.incident_id == incident_id).order_by(m.IncidentReport.id)))
        if reps and reps[0].satisfaction is None and satisfaction is not None:
            reps[0].satisfaction = satisfaction
        _settle_satisfaction(s, incident_id, reps)

    @staticmethod
    def _who_was_first(s: Session, row: m.Incident | None) -> Conflict:
        if row is None:
            return Conflict("gone")
        last = s.scalar(select(m.IncidentEvent).where(m.IncidentEvent.incident_id == row.id)
                        .order_by(m.IncidentEvent.id.desc()).limit(1))
        if last is None:
            return Conflict("changed", ref=row.ref, state=row.state)
        return Conflict("conflict", ref=row.ref, action=last.action or "report",
                        actor=last.actor, at=hhmm(as_utc(last.at)), state=row.state)

    def supervise_overdue(self, now: datetime | None = None) -> list[IncidentView]:
        """Raise a 督办 on every open incident past its deadline that has none yet."""
        now = now or utcnow()
        with self.session() as s:
            ids = list(s.scalars(select(m.Incident.id).where(
                m.Incident.state.in_(OPEN_STATES), m.Incident.deadline_at < now,
                m.Incident.supervised.is_(False))))
        out = []
        for incident_id in ids:
            try:
                out.append(self.act(incident_id, "supervise", SYSTEM, note="超时自动督办",
                                    now=now))
            except (Conflict, TransitionError):
                continue  # another process got there first, or it just closed
        return out

    def history(self, incident_id: int) -> list[dict[str, Any]]:
        """The incident's history rows, oldest first."""
        with self.session() as s:
            rows = s.scalars(select(m.IncidentEvent).where(
                m.IncidentEvent.incident_id == incident_id).order_by(m.IncidentEvent.id))
            return [{"id": r.id, "at": as_utc(r.at), "actor": r.actor,
                     "actor_user_id": r.actor_user_id, "from": r.from_state,
                     "to": r.to_state, "action": r.action, "note": r.note} for r in rows]

    def live_incidents(self, recent: int = 200, now: datetime | None = None) -> list[IncidentView]:
        """Every open incident plus the most recent ones (the screen's incident snapshot).
        No cap on the open ones: each is somebody's to act on (a worker's phone lists them
        from here); lists that show a part say how many more there are."""
        now = now or utcnow()
        with self.session() as s:
            open_rows = s.scalars(select(m.Incident).where(m.Incident.state.in_(OPEN_STATES))
                                  .order_by(m.Incident.id.desc())).all()
            recent_rows = s.scalars(select(m.Incident).order_by(m.Incident.id.desc())
                                    .limit(recent)).all()
            rows = {r.id: r for r in [*open_rows, *recent_rows]}
            return [incident_view(r) for r in sorted(rows.values(), key=lambda r: r.id)]

    def kpis(self, now: datetime | None = None, village: str | None = None) -> KpiBoard:
        """Today's and this month's figures (dashboard/incidents/kpis.py defines them), of
        the town or of one village's work orders."""
        now = now or utcnow()
        with self.session() as s:
            # A village's board reads only its own orders (filtered in SQL). The live screens
            # read the hub's held facts instead (`live_facts`); this reads the span anew.
            facts = read_facts(s, kpi_rules.live_span(now), village=village)
        return kpi_rules.board(facts, now)

    def live_facts(self, full_every: float) -> LiveFacts:
        """The live boards' facts, kept current by work order (one per hub)."""
        return LiveFacts(self.session, full_every)

    # ------------------------------------------------------------------ stock
    def move_stock(self, station: str, sku: str, delta: int, reason: str, actor: str,
                   incident_id: int | None = None, now: datetime | None = None) -> StockView:
        """Apply one audited movement; the conditional UPDATE makes negative stock impossible."""
        now = now or utcnow()
        with self.session() as s:
            item = s.scalar(select(m.InventoryItem).where(
                m.InventoryItem.station_code == station, m.InventoryItem.sku == sku))
            if item is None:
                raise NotFound("no_item", sku=sku, station=station)
            result = s.execute(
                update(m.InventoryItem)
                # Stock reserved for a resource dispatch (issue 5) is not available.
                .where(m.InventoryItem.id == item.id,
                       m.InventoryItem.quantity - m.InventoryItem.reserved + delta >= 0)
                .values(quantity=m.InventoryItem.quantity + delta)
                .returning(m.InventoryItem.quantity, m.InventoryItem.reserved,
                           m.InventoryItem.out_quantity)
            ).first()
            if result is None:
                raise StockError(f"{sku} at {station}: only {item.quantity} left, cannot issue "
                                 f"{-delta}")
            quantity = int(result[0])
            s.add(m.StockMovement(item_id=item.id, at=now, delta=delta, quantity_after=quantity,
                                  reason=reason, actor=actor, incident_id=incident_id,
                                  kind="receive" if delta > 0 else "issue",
                                  reserved_after=int(result[1]), out_after=int(result[2])))
            return StockView(station=station, sku=sku, quantity=quantity,
                             min_level=item.min_level)

    def stations(self) -> list[dict[str, Any]]:
        """Stations with rooms, stock and teams (the station panel's snapshot)."""
        from datasources.sql.resources import station_rows  # it imports this module

        with self.session() as s:
            return station_rows(s)

    def movements(self, station: str, sku: str) -> list[dict[str, Any]]:
        """The ledger of one item, oldest first."""
        with self.session() as s:
            rows = s.execute(select(m.StockMovement).join(m.InventoryItem).where(
                m.InventoryItem.station_code == station, m.InventoryItem.sku == sku)
                .order_by(m.StockMovement.id)).scalars().all()
            return [{"delta": r.delta, "after": r.quantity_after, "reason": r.reason,
                     "actor": r.actor} for r in rows]

    # ------------------------------------------------------------------ town
    def town_meta(self) -> dict[str, Any]:
        """The loaded town's facts (name, centre, bbox, ...)."""
        with self.session() as s:
            return {r.key: r.value for r in s.scalars(select(m.TownMeta))}

    def view(self, incident_id: int) -> IncidentView:
        """One work order as every screen sees it (NotFound if there is none)."""
        with self.session() as s:
            row = row_by_id(s, m.Incident, incident_id)
            if row is None:
                raise NotFound("no_incident", id=incident_id)
            return incident_view(row)

    def incident(self, incident_id: int) -> dict[str, Any]:
        """One incident with everything the console shows (reporter included)."""
        with self.session() as s:
            row = row_by_id(s, m.Incident, incident_id)
            if row is None:
                raise NotFound("no_incident", id=incident_id)
            view = incident_view(row).model_dump()
            view.update(description=row.description, reporter_name=row.reporter_name,
                        reporter_phone=row.reporter_phone, photo_url=row.photo_url,
                        camera_id=row.camera_id, event_type=row.event_type,
                        clip_url=row.clip_url, source_ref=row.source_ref)
            if row.camera_id:
                cam = s.get(m.Camera, row.camera_id)
                view["camera"] = (cam.name, cam.name_en) if cam is not None else None
            return view

    def queue(self, *, states: tuple[str, ...] = tuple(OPEN_STATES), category: str | None = None,
              grid_prefix: str | None = None, source: str | None = None,
              overdue_only: bool = False, now: datetime | None = None,
              limit: int = 300, village: str | None = None,
              unit_id: str | None = None) -> list[IncidentView]:
        """The duty officer's queue: most urgent first (overdue, then by deadline);
        `village`, `unit_id`: only one village's or one unit's (rules.scope_of)."""
        now = now or utcnow()
        q = select(m.Incident).where(m.Incident.state.in_(states))
        if village:
            q = q.where(m.Incident.village_code == village)
        if unit_id:
            q = q.where(m.Incident.unit_id == unit_id)
        if category:
            q = q.where(m.Incident.category == category)
        if source:
            q = q.where(m.Incident.source == source)
        if grid_prefix:
            q = q.where(m.Incident.grid_code.startswith(grid_prefix))
        if overdue_only:
            q = q.where(m.Incident.deadline_at < now)
        q = q.order_by(m.Incident.deadline_at.asc(), m.Incident.id.asc()).limit(limit)
        with self.session() as s:
            return [incident_view(r) for r in s.scalars(q)]

    def assigned_to(self, assignee_id: str, limit: int = 50) -> list[IncidentView]:
        """Open work orders of one assignee by person id (the field worker's task list)."""
        q = (select(m.Incident).where(m.Incident.assignee_id == assignee_id,
                                      m.Incident.state.in_(TASK_STATES))
             .order_by(m.Incident.deadline_at.asc()).limit(limit))
        with self.session() as s:
            return [incident_view(r) for r in s.scalars(q)]

    def grid_workers(self, grid_code: str | None) -> list[dict[str, str]]:
        """The workers of a level-3 grid (on duty: the rota comes with issue 6)."""
        if not grid_code:
            return []
        with self.session() as s:
            rows = s.scalars(select(m.GridWorker).where(m.GridWorker.grid_code == grid_code))
            return [{"id": w.id, "name": w.name, "phone": w.phone, "grid": grid_code}
                    for w in rows]

    def grid_cells(self) -> list[GridCell]:
        """Every grid polygon, for the point-in-polygon index."""
        with self.session() as s:
            workers: dict[str, list[dict[str, str]]] = {}
            for w in s.scalars(select(m.GridWorker).order_by(m.GridWorker.id)):
                workers.setdefault(w.grid_code, []).append(
                    {"id": w.id, "name": w.name, "phone": w.phone})
            return [GridCell(code=g.code, level=g.level, parent=g.parent_code, name=g.name,
                             name_en=g.name_en, village=g.village_code, geometry=g.geometry,
                             leader={"name": g.leader_name, "phone": g.leader_phone},
                             workers=workers.get(g.code, []), households=g.households)
                    for g in s.scalars(select(m.Grid).where(m.Grid.retired_from.is_(None))
                                       .order_by(m.Grid.code))]

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

