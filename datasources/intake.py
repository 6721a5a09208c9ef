"""Intake: validate an inbound message, place it, commit it, then publish the committed fact."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from dashboard.geo import GridIndex
from dashboard.incidents import TransitionError
from dashboard.messages import (
    Event,
    IncidentProgress,
    IncidentReport,
    MessageError,
    StockMovement,
    parse_inbound,
)
from dashboard.timeutil import utcnow
from datasources.bus import Bus
from datasources.store import NotFound, StockError, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: an event published, a rejection, or a skip."""

    event: Event | None = None
    rejected: str | None = None
    detail: str = ""
    skipped: bool = False
    merged: bool = False


class Intake:
    """The one path by which reports, progress and stock movements enter the record."""

    def __init__(self, store: Store, bus: Bus, index: GridIndex, max_text: int = 2000):
        self.store = store
        self.bus = bus
        self.index = index
        self.max_text = max_text

    def handle_raw(self, raw: bytes | str) -> Outcome:
        """Handle one message from the ingest channel (claimed so one process handles it)."""
        data = raw.encode() if isinstance(raw, str) else raw
        try:
            message = parse_inbound(data)
        except MessageError as exc:
            if not self.bus.claim(hashlib.sha1(data).hexdigest(), ttl_s=60):
                return Outcome(skipped=True)
            return self.reject(exc.reason, exc.detail)
        key = f"id:{message.msg_id}" if message.msg_id else hashlib.sha1(data).hexdigest()
        if not self.bus.claim(key, ttl_s=3600 if message.msg_id else 60):
            return Outcome(skipped=True)
        return self.handle(message)

    def handle(self, message: IncidentReport | IncidentProgress | StockMovement) -> Outcome:
        """Apply one validated message and publish its event."""
        try:
            if isinstance(message, IncidentReport):
                return self._report(message)
            if isinstance(message, IncidentProgress):
                view = self.store.transition(message.incident_id, message.to_state,
                                             message.actor, message.note,
                                             assignee=message.assignee)
                return self._publish(Event(type="incident.updated", seq=self.bus.next_seq(),
                                           at=utcnow(), incident=view, sent_at=time.time()))
            view = self.store.move_stock(message.station, message.sku, message.delta,
                                         message.reason, message.actor)
            return self._publish(Event(type="stock.changed", seq=self.bus.next_seq(),
                                       at=utcnow(), stock=view, sent_at=time.time()))
        except NotFound as exc:
            return self.reject("unknown_id", str(exc))
        except TransitionError as exc:
            return self.reject("bad_transition", str(exc))
        except StockError as exc:
            return self.reject("stock_negative", str(exc))
        except SQLAlchemyError as exc:
            log.error("store error while handling %s: %s", message.type, exc)
            return self.reject("store_error", type(exc).__name__)

    def act(self, incident_id: int, action: str, actor: str, **kw: object) -> Event:
        """An officer's or field worker's action: commit it, then tell every screen."""
        view = self.store.act(incident_id, action, actor, **kw)  # type: ignore[arg-type]
        event = Event(type="incident.updated", seq=self.bus.next_seq(), at=utcnow(),
                      incident=view, sent_at=time.time())
        self.bus.publish_event(event)
        return event

    def split_report(self, report_id: int, actor: str) -> tuple[Event, Event]:
        """Undo a merge (officer's decision) and announce both work orders."""
        old, new = self.store.split_report(report_id, actor, self.index.locate)
        events = []
        for kind, view in (("incident.updated", old), ("incident.created", new)):
            event = Event(type=kind, seq=self.bus.next_seq(), at=utcnow(), incident=view,
                          sent_at=time.time())
            self.bus.publish_event(event)
            events.append(event)
        return events[0], events[1]

    def sweep_overdue(self) -> int:
        """Raise 督办 on newly overdue incidents and announce them; returns how many."""
        changed = self.store.supervise_overdue()
        for view in changed:
            self.bus.publish_event(Event(type="incident.updated", seq=self.bus.next_seq(),
                                         at=utcnow(), incident=view, sent_at=time.time()))
        return len(changed)

    def _report(self, report: IncidentReport) -> Outcome:
        if len(report.description) > self.max_text:
            return self.reject("too_long", f"description longer than {self.max_text} characters")
        hit = self.index.locate(report.lon, report.lat)
        if hit is None:
            return self.reject("outside_town",
                               f"({report.lon:.5f}, {report.lat:.5f}) is outside the town")
        created = self.store.create_incident(report, hit)
        if created.merged:
            return self._publish(Event(type="incident.updated", seq=self.bus.next_seq(),
                                       at=utcnow(), incident=created.incident,
                                       sent_at=time.time()), merged=True)
        if not created.new:
            return self.reject("duplicate",
                               f"{report.source}/{report.source_ref} is {created.incident.ref}")
        return self._publish(Event(type="incident.created", seq=self.bus.next_seq(),
                                   at=utcnow(), incident=created.incident, sent_at=time.time()))

    def _publish(self, event: Event, merged: bool = False) -> Outcome:
        self.bus.publish_event(event)
        return Outcome(event=event, merged=merged)

    def reject(self, reason: str, detail: str) -> Outcome:
        """Count, log and announce one rejected message; the caller's loop goes on."""
        log.warning("rejected inbound message (%s): %s", reason, detail[:300])
        self.bus.count_rejected(reason)
        self.bus.publish_event(Event(type="rejected", seq=self.bus.next_seq(), at=utcnow(),
                                     reason=reason))
        return Outcome(rejected=reason, detail=detail)
