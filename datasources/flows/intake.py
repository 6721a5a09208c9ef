"""Intake: validate an inbound message, place it, commit it, then publish the committed fact."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dashboard.buses.sos import must_place, placed_at_centre
from dashboard.geo.lookup import GridIndex
from dashboard.incidents.errors import BadInput, Conflict, NotFound, TransitionError
from dashboard.incidents.rules import Actor, Assignee
from dashboard.messages import (
    Event,
    EventType,
    IncidentProgress,
    IncidentReport,
    IncidentView,
    MessageError,
    StockMovement,
    parse_inbound,
)
from dashboard.resources.errors import StockError
from dashboard.roles import current
from dashboard.timeutil import utcnow
from datasources.flows.group_commit import GroupCommit
from datasources.redis.publisher import Publisher
from datasources.sql.incidents import Created, Pending, Store

log = logging.getLogger(__name__)

# Deliveries this process remembers (by msg_id, or the bytes' digest): a repeat waits for
# the first one's outcome and is answered with it. A repeat comes with its first delivery or
# seconds after it (a source's retry); older ones are the Redis claim's to refuse, in every
# process. Each kept outcome holds its event and work order (~4 KB): 20,000 of them grew the
# server by ~85 MB in the hour's soak (bench/soak.py), a tracemalloc diff found.
KEPT_DELIVERIES = 2_000

# What the ingest channel carries.
Inbound = IncidentReport | IncidentProgress | StockMovement
# A delivery's claim: its key and how long the claim holds (s).
Claim = tuple[str, int]
# What the committer hands back for one report: its Created (or what kept it out, or
# NOT_CLAIMED: another process claimed the delivery first) and the event announcing it.
NOT_CLAIMED = object()
Committed = tuple[Created | Exception | object, Event | None]


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: an event published, a rejection, or a skip."""

    event: Event | None = None
    rejected: str | None = None
    detail: str = ""
    skipped: bool = False
    merged: bool = False


def _done(outcome: Outcome) -> Callable[[], Outcome]:
    """An outcome already known, as `start_raw` returns one."""
    return lambda: outcome


class Intake:
    """The one path by which reports, progress and stock movements enter the record."""

    def __init__(self, store: Store, bus: Publisher, index: GridIndex, max_text: int = 2000,
                 centre: tuple[float, float] | None = None, batch: int = 1,
                 linger_ms: int = 0):
        self.store = store
        self.bus = bus
        self.index = index
        self.max_text = max_text
        # The town's centre: where an SOS from outside the town (or without a usable point)
        # is placed, flagged, instead of being refused as outside_town.
        self.centre = centre
        # Called with (station, sku) after a stock movement commits (issue 5: stock alerts).
        self.stock_hooks: list[Callable[[str, str], object]] = []
        # Called with (incident id, action, the work order after it, actor, note) after an
        # officer's or field worker's action commits (issue 15: a 督办 goes to the operator).
        self.action_hooks: list[Callable[[int, str, IncidentView, str, str], object]] = []
        # Set by Services: appends to the audit log (action, target, detail, actor=).
        self.audit: Any = None
        self.unannounced = 0  # committed facts Redis could not take (resync shows them)
        # Called with (work order, description) after a new report is stored and announced
        # (issue 18: the suggestion worker); a hook never delays nor undoes the report.
        self.report_hooks: list[Callable[[IncidentView, str], object]] = []
        # Group commit (issue 17): concurrent reports share one transaction and one publish
        # round trip (ZN_INTAKE_BATCH, ZN_INTAKE_LINGER_MS); each is answered once committed.
        self.commits: GroupCommit[tuple[Pending, Claim | None], Committed] = GroupCommit(
            self._commit_reports, batch, linger_ms, name="intake-commit")
        self._deliveries: OrderedDict[str, Future[Outcome]] = OrderedDict()
        self._deliveries_lock = threading.Lock()
        # When Redis last failed to take an announcement: a batch all of whose reports came
        # before it is not announced (each would have waited out that failure alone; the
        # one committer must not wait a frozen Redis's timeout once per batch). Their
        # commits stand, committed before the failure was seen, so a hub's resync after
        # Redis returns shows them.
        self._redis_failed_at = 0.0

    def close(self) -> None:
        """Stop the committer thread (after the batches already taken)."""
        self.commits.close()

    def parse(self, raw: bytes | str) -> Inbound | MessageError:
        """One message of the ingest channel, validated (or why it is not)."""
        try:
            return parse_inbound(raw.encode() if isinstance(raw, str) else raw)
        except MessageError as exc:
            return exc

    def handle_raw(self, raw: bytes | str, parsed: Inbound | MessageError | None = None
                   ) -> Outcome:
        """Handle one message from the ingest channel (claimed so one process handles it);
        `parsed`: what `parse` made of it already."""
        return self.start_raw(raw, parsed)()

    def start_raw(self, raw: bytes | str, parsed: Inbound | MessageError | None = None
                  ) -> Callable[[], Outcome]:
        """`handle_raw` up to a report's wait for its group commit, in this thread; the call
        returned waits for it and gives the outcome (from any thread). Reports started one
        after another from one thread are committed in that order; any other message is
        handled here and now."""
        data = raw.encode() if isinstance(raw, str) else raw
        message = self.parse(data) if parsed is None else parsed
        if isinstance(message, MessageError):
            return _done(self.reject_unparsable(data, message))
        key = f"id:{message.msg_id}" if message.msg_id else hashlib.sha1(data).hexdigest()
        mine: Future[Outcome] = Future()
        with self._deliveries_lock:
            first = self._deliveries.get(key)
            if first is None:
                self._deliveries[key] = mine
                while len(self._deliveries) > KEPT_DELIVERIES:
                    self._deliveries.popitem(last=False)
        if first is not None:  # a repeat this process handles or handled: the same answer
            held = first
            return lambda: dataclasses.replace(held.result(), skipped=True)
        claim = (key, 3600 if message.msg_id else 60)
        try:
            if isinstance(message, IncidentReport):  # claimed with its batch (_commit_reports)
                wait = self._report_start(message, claim)
            elif not self.bus.claim(*claim):
                wait = _done(Outcome(skipped=True))  # another process has it
            else:
                wait = _done(self.handle(message))
        except BaseException as exc:
            mine.set_exception(exc)
            raise

        def finish() -> Outcome:
            try:
                outcome = wait()
            except BaseException as exc:
                mine.set_exception(exc)
                raise
            mine.set_result(outcome)
            return outcome

        return finish

    def handle(self, message: Inbound) -> Outcome:
        """Apply one validated message and publish its event."""
        try:
            if isinstance(message, IncidentReport):
                return self._report(message)
            if isinstance(message, IncidentProgress):
                assignee, assignee_id = message.assignee, message.assignee_id
                if assignee or assignee_id:  # only a person or team of the town's register
                    named = self.store.registered(assignee_id, assignee)
                    assignee, assignee_id = named.name, named.id
                view = self.store.transition(message.incident_id, message.to_state,
                                             message.actor, message.note,
                                             assignee=assignee, assignee_id=assignee_id)
                self.audit_step(f"incident.{message.to_state}", view.ref, message.note,
                            message.actor)
                return Outcome(event=self._announce("incident.updated", incident=view))
            stock = self.store.move_stock(message.station, message.sku, message.delta,
                                          message.reason, message.actor)
            self.audit_step("stock.move", f"{message.station}/{message.sku}",
                        f"{message.delta:+d} {message.reason}", message.actor)
            outcome = Outcome(event=self._announce("stock.changed", stock=stock))
            for hook in self.stock_hooks:
                try:
                    hook(message.station, message.sku)
                except Exception:  # a follow-up check never undoes a committed movement
                    log.exception("stock hook failed for %s/%s", message.station, message.sku)
            return outcome
        except NotFound as exc:
            return self.reject("unknown_id", str(exc))
        except BadInput as exc:  # an assignee the register does not hold, a missing note
            return self.reject(exc.code, str(exc))
        except TransitionError as exc:
            return self.reject("bad_transition", str(exc))
        except Conflict as exc:  # another step won the race for this work order
            return self.reject("conflict", str(exc))
        except StockError as exc:
            return self.reject("stock_negative", str(exc))
        except SQLAlchemyError as exc:
            log.error("store error while handling %s: %s", message.type, exc)
            return self.reject("store_error", type(exc).__name__)

    def act(self, incident_id: int, action: str, actor: str | Actor, **kw: Any) -> Event:
        """An officer's or field worker's action: commit it, then tell every screen.

        Who may take it is checked before (datasources/flows/field.py, pages.dispatch.act);
        what it needs and changes is checked inside (dashboard/incidents/rules.py)."""
        view = self.store.act(incident_id, action, actor, **kw)
        detail = " · ".join(str(kw[k]) for k in ("assignee", "note") if kw.get(k))
        name = actor.name if isinstance(actor, Actor) else actor
        self.audit_step(f"incident.{action}", view.ref, detail, name)
        event = self._announce("incident.updated", incident=view)
        if action == "merge" and view.dup_of:  # the work order it joined changed too
            self._announce("incident.updated", incident=self.store.view(view.dup_of))
        for hook in self.action_hooks:
            try:
                hook(incident_id, action, view, name, str(kw.get("note") or ""))
            except Exception:  # a follow-up never undoes a committed step
                log.exception("action hook failed for %s %s", action, view.ref)
        return event

    def rate_caller(self, report_id: int, satisfaction: int, actor: Actor) -> Event:
        """回访 of one caller (their own satisfaction), committed, then told to every screen."""
        view = self.store.rate_caller(report_id, satisfaction, actor)
        self.audit_step("incident.rate_caller", view.ref, f"report {report_id}: {satisfaction}",
                        actor.name)
        return self._announce("incident.updated", incident=view)

    def dispatch(self, incident_id: int, plan: tuple[str, ...], actor: Actor,
                 assignee_id: object, *, note: str = "",
                 expect_version: int | None = None, seen_event: int | None = None,
                 check: Callable[[Assignee, str | None], None] | None = None) -> Event:
        """One click on a recommendation (the plan's steps, one transaction, to an assignee
        of the town's register: Store.dispatch), then one event for every screen."""
        view = self.store.dispatch(incident_id, plan, actor, assignee_id, note=note,
                                   expect_version=expect_version, seen_event=seen_event,
                                   check=check)
        for action in plan:
            detail = " · ".join(x for x in (view.assignee, note) if x) \
                if action == plan[-1] else ""
            self.audit_step(f"incident.{action}", view.ref, detail, actor.name)
        return self._announce("incident.updated", incident=view)

    def split_report(self, report_id: int, actor: str) -> tuple[Event, Event]:
        """Undo a merge (officer's decision) and announce both work orders."""
        old, new = self.store.split_report(report_id, actor, self.index.locate)
        self.audit_step("incident.split", old.ref, f"report {report_id} -> {new.ref}", actor)
        return (self._announce("incident.updated", incident=old),
                self._announce("incident.created", incident=new))

    def sweep_overdue(self) -> int:
        """Raise 督办 on newly overdue incidents and announce them; returns how many."""
        changed = self.store.supervise_overdue()
        for view in changed:
            self._announce("incident.updated", incident=view)
        return len(changed)

    def _report(self, report: IncidentReport, claim: Claim | None = None) -> Outcome:
        """Store one report (with the reports arriving meanwhile) and announce it."""
        return self._report_start(report, claim)()

    def _report_start(self, report: IncidentReport, claim: Claim | None
                      ) -> Callable[[], Outcome]:
        """Check and place a report, and queue it for the group commit (or refuse it); the
        call returned waits for the commit and gives the outcome. `claim`: the (key, ttl) of
        a delivery every process may have received (the ingest channel); the first process
        to claim it handles it, the others skip it."""
        hit, refused = None, None
        if len(report.description) > self.max_text:
            refused = "too_long", f"description longer than {self.max_text} characters"
        else:
            hit = self.index.place(report.lon, report.lat)  # the rota: once per batch
            if hit is None and self.centre is not None and must_place(report):
                report = placed_at_centre(report, self.centre)
                hit = self.index.place(report.lon, report.lat)
            if hit is None:
                refused = ("outside_town",
                           f"({report.lon:.5f}, {report.lat:.5f}) is outside the town")
        if refused is not None or hit is None:  # claimed alone: refused once, in one process
            if claim is not None and not self.bus.claim(*claim):
                return _done(Outcome(skipped=True))
            return _done(self.reject(*(refused or ("outside_town", ""))))
        # Committed with the reports arriving meanwhile; its audit row in the same
        # transaction, under the principal serving this caller; claimed in the batch's one
        # round trip to Redis.
        who = current()
        committed = self.commits.enqueue((Pending(
            report, hit, who if self.audit is not None else None, received=time.monotonic(),
            filed_by=who.key_id if who.kind == "key" else None), claim))
        placed = report
        return lambda: self._report_end(placed, *committed.result())

    def _report_end(self, report: IncidentReport, created: Created | Exception | object,
                    event: Event | None) -> Outcome:
        """A report's outcome once its batch is committed (and its hooks run)."""
        if not isinstance(created, Created | Exception):  # NOT_CLAIMED
            return Outcome(skipped=True)  # another process has it
        if isinstance(created, SQLAlchemyError):
            log.error("store error while storing a report of %s: %s", report.source, created)
            first = str(getattr(created, "orig", None) or created)
            return self.reject("store_error",
                               f"{type(created).__name__}: {first.splitlines()[0][:200]}")
        if isinstance(created, Exception):
            raise created
        if created.merged:
            return Outcome(event=event, merged=True)
        if not created.new:
            return self.reject("duplicate",
                               f"{report.source}/{report.source_ref} is {created.incident.ref}")
        outcome = Outcome(event=event)
        for hook in self.report_hooks:
            try:
                hook(created.incident, report.description)
            except Exception:
                log.exception("report hook failed for %s", created.incident.ref)
        return outcome

    def _commit_reports(self, items: Sequence[tuple[Pending, Claim | None]]
                        ) -> list[Committed]:
        """The committer's work for one batch: claim the deliveries in one round trip, store
        the claimed reports in one transaction, then announce the stored ones in one."""
        claims = [claim for _, claim in items if claim is not None]
        try:
            won: list[bool | Exception] = list(self.bus.claim_all(claims)) if claims else []
        except RedisError as exc:  # those that needed a claim fail as a claim alone did;
            won = [exc] * len(claims)  # the batch's other reports are still stored
        claimed = iter(won)
        mine = [True if claim is None else next(claimed) for _, claim in items]
        kept = [p for (p, _), ok in zip(items, mine, strict=True) if ok is True]
        done = iter(self.store.create_incidents(kept, roster=self.index.roster)
                    if kept else [])
        stored = [next(done) if ok is True else ok if isinstance(ok, Exception)
                  else NOT_CLAIMED for ok in mine]
        told = [d for d in stored if isinstance(d, Created) and (d.new or d.merged)]
        events = iter(self._announce_all([
            ("incident.updated" if d.merged else "incident.created", {"incident": d.incident})
            for d in told], received=max(p.received for p, _ in items)))
        return [(d, next(events) if isinstance(d, Created) and (d.new or d.merged) else None)
                for d in stored]

    def announce_update(self, view: IncidentView) -> Event:
        """Tell every screen a work order changed (a change committed elsewhere)."""
        return self._announce("incident.updated", incident=view)

    def audit_step(self, action: str, target: str, detail: str, actor: str) -> None:
        """Append a committed step to the audit log (when Services gave one)."""
        if self.audit is not None:
            self.audit(action, target, detail, actor=actor)

    def _announce(self, kind: EventType, **facts: Any) -> Event:
        """Publish one committed fact with the next number of the shared sequence."""
        return self._announce_all([(kind, facts)])[0]

    def _announce_all(self, facts: Sequence[tuple[EventType, dict[str, Any]]],
                      received: float | None = None) -> list[Event]:
        """Publish committed facts, in order, with the next numbers of the shared sequence
        (two round trips however many). `received`: when the newest of the facts' reports
        came (a batch wholly older than Redis's last failure is not announced).

        The facts are already committed: when Redis cannot take the events, the commits stand
        (seq 0 marks them unpublished) and every hub's resync after Redis returns shows them.
        """
        if not facts:
            return []
        at, sent_at = utcnow(), time.time()
        unsent = [Event(type=kind, seq=0, at=at, sent_at=sent_at, **f) for kind, f in facts]
        if received is not None and received < self._redis_failed_at:
            self.unannounced += len(facts)  # they came while Redis was failing
            return unsent
        try:
            first = self.bus.next_seqs(len(facts))
        except RedisError as exc:
            log.warning("%s facts committed but not announced (Redis: %s); resync will show "
                        "them", len(facts), exc)
            self._redis_failed_at = time.monotonic()
            self.unannounced += len(facts)
            return unsent
        events = [Event(type=kind, seq=first + i, at=at, sent_at=sent_at, **f)
                  for i, (kind, f) in enumerate(facts)]
        try:
            self.bus.publish_events(events)
        except RedisError as exc:
            # The sequence moved on without these events: the hubs see a gap and resync.
            log.warning("%s events from %s committed but not published (Redis: %s)",
                        len(events), first, exc)
            self._redis_failed_at = time.monotonic()
            self.unannounced += len(events)
        return events

    def reject_unparsable(self, data: bytes, exc: MessageError) -> Outcome:
        """Reject bytes that did not parse, once across every process that received them."""
        if not self.bus.claim(hashlib.sha1(data).hexdigest(), ttl_s=60):
            return Outcome(skipped=True)
        return self.reject(exc.reason, exc.detail)

    def reject(self, reason: str, detail: str) -> Outcome:
        """Count, log and announce one rejected message; the caller's loop goes on."""
        log.warning("rejected inbound message (%s): %s", reason, detail[:300])
        try:
            self.bus.count_rejected(reason)  # counted and announced in one step
        except RedisError as exc:
            log.warning("rejection not counted (Redis: %s)", exc)
        return Outcome(rejected=reason, detail=detail)
