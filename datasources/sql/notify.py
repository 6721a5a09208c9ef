"""The outbox of messages to guardians and parent groups (issue 13): what is queued, claimed
by one sender, sent or retried on the schedule of dashboard/buses/notify.py, and the log of
every outcome. Several server processes may send: a message is claimed by one conditional
UPDATE, and a claim left by a process that died is released after CLAIM_S."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.buses.notify import (
    BACKOFF_S,
    CHANNELS,
    KINDS,
    Note,
    NotifyConfig,
    compose,
    over_rate,
    retry_at,
)
from dashboard.incidents import hotline
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.engine import session_factory

CLAIM_S = 120.0  # a message claimed longer ago than this by a sender that died is free again
# Channels whose messages to one recipient go strictly in order: the next is not sent until
# the one before was delivered or given up (a retry waits, and so does everything after it).
# The 12345 hotline: the steps of one of its orders (issue 15).
ORDERED: frozenset[str] = frozenset({hotline.HOTLINE})
UNFINISHED = ("queued", "sending")


@dataclass(frozen=True)
class Queued:
    """A message claimed for sending."""

    id: int
    channel: str
    recipient: str
    address: str
    kind: str
    body: str
    tries: int


class Outbox:
    """Queue, claim, and record the outcome of each message."""

    def __init__(self, engine: Engine, backoff: tuple[float, ...] = BACKOFF_S,
                 hotline_backoff: tuple[float, ...] = hotline.BACKOFF_S):
        self.session = session_factory(engine)
        self.backoff = backoff
        # The hotline's steps are queued by the store in the step's own transaction
        # (Store.tell_hotline), retried on their own, longer schedule.
        self.backoffs = {hotline.HOTLINE: hotline_backoff}
        # Set when a message is queued in this process: its sender goes at once instead of
        # at its next round (another process's messages wait for that round, 1 s at most).
        self.wake = threading.Event()

    def enqueue(self, channel: str, recipient: str, address: str, kind: str, body: str, *,
                dedup: str | None = None, now: datetime | None = None,
                rate_limited: bool = True) -> tuple[int, str] | None:
        """Queue a message; returns (id, status) or None when `dedup` was queued before (a
        repeated event tells nobody twice). A muted recipient's message is kept as `muted`
        and one over the rate as `limited`: neither is sent. A warning to an endpoint is
        never held back by the rate (`rate_limited=False`)."""
        if channel not in CHANNELS or kind not in KINDS:
            raise ValueError(f"unknown channel or kind: {channel}/{kind}")
        now = now or utcnow()
        with self.session() as s:
            status = "queued"
            if s.get(m.NotifyMute, recipient) is not None:
                status = "muted"
            elif rate_limited:
                recent = s.scalars(select(m.Notification.created_at).where(
                    m.Notification.recipient == recipient,
                    m.Notification.status.in_(("queued", "sending", "sent")),
                    m.Notification.created_at > now - timedelta(hours=1)))
                if over_rate([as_utc(at) for at in recent], now):
                    status = "limited"
            row = m.Notification(channel=channel, recipient=recipient, address=address,
                                 kind=kind, body=body, status=status, tries=0,
                                 next_at=now if status == "queued" else None, last_error="",
                                 created_at=now, sent_at=None, dedup=dedup)
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return None
            if status == "queued":
                self.wake.set()
            return row.id, status

    def tell_guardian(self, config: NotifyConfig, recipient: str, phone: str, note: Note,
                      lang: str = "zh", dedup: str | None = None) -> tuple[int, str] | None:
        """Queue an SMS to one guardian (`recipient` names them by id, as
        dashboard/buses/notify.guardian_recipient does; the phone is where it goes). None when
        the town has no SMS provider or the event was told before."""
        if config.sms is None or not phone:
            return None
        return self.enqueue("sms", recipient, phone, note.kind,
                            compose(note, lang), dedup=dedup)

    def tell_route(self, config: NotifyConfig, note: Note, lang: str = "zh",
                   dedup: str | None = None) -> tuple[int, str] | None:
        """Queue a message to the parent group of `note.route`, if it has a robot. A group
        message never names a child."""
        if note.child:
            raise ValueError("a route's parent group is never told a child's name")
        url = config.wecom.get(note.route)
        if not url:
            return None
        return self.enqueue("wecom", f"route:{note.route}", url, note.kind,
                            compose(note, lang), dedup=dedup)

    def claim(self, now: datetime | None = None, limit: int = 20) -> list[Queued]:
        """Messages due now, each claimed by this sender alone, oldest first (so one
        recipient's messages go out in the order they were queued). On an ORDERED channel
        a message waits while an earlier one to its recipient is unfinished (queued for a
        retry, or being sent), and one round takes one message per recipient: a step is
        never sent before the step before it was delivered."""
        now = now or utcnow()
        out: list[Queued] = []
        with self.session() as s:
            s.execute(update(m.Notification)  # claims of a sender that died
                      .where(m.Notification.status == "sending",
                             m.Notification.next_at < now - timedelta(seconds=CLAIM_S))
                      .values(status="queued"))
            s.commit()
            due = list(s.scalars(select(m.Notification).where(
                m.Notification.status == "queued", m.Notification.next_at <= now)
                .order_by(m.Notification.id).limit(limit * 5)))
            taken: set[str] = set()
            for row in due:
                if len(out) >= limit:
                    break
                if row.channel in ORDERED:
                    if row.recipient in taken or s.scalar(
                            select(m.Notification.id).where(
                                m.Notification.recipient == row.recipient,
                                m.Notification.channel == row.channel,
                                m.Notification.id < row.id,
                                m.Notification.status.in_(UNFINISHED)).limit(1)) is not None:
                        taken.add(row.recipient)
                        continue
                    taken.add(row.recipient)
                got = s.execute(update(m.Notification)
                                .where(m.Notification.id == row.id,
                                       m.Notification.status == "queued")
                                .values(status="sending", next_at=now))
                s.commit()
                if got.rowcount == 1:  # type: ignore[attr-defined]
                    out.append(Queued(row.id, row.channel, row.recipient, row.address,
                                      row.kind, row.body, row.tries))
        return out

    def sent(self, msg_id: int, now: datetime | None = None) -> None:
        """Delivered: the provider said so."""
        with self.session() as s:
            s.execute(update(m.Notification).where(m.Notification.id == msg_id).values(
                status="sent", tries=m.Notification.tries + 1, sent_at=now or utcnow(),
                next_at=None, last_error=""))
            s.commit()

    def failed(self, msg_id: int, error: str, now: datetime | None = None) -> datetime | None:
        """Not delivered: queued again after the back-off, or `failed` for good after the
        last try. Returns when it will be tried again."""
        now = now or utcnow()
        with self.session() as s:
            row = s.get(m.Notification, msg_id)
            if row is None:
                return None
            row.tries += 1
            row.last_error = error[:200]
            again = retry_at(row.tries, now, self.backoffs.get(row.channel, self.backoff))
            row.status = "queued" if again else "failed"
            row.next_at = again
            s.commit()
            return again

    def mute(self, recipient: str, now: datetime | None = None) -> None:
        """No more messages to `recipient` (until unmuted); what is queued is not sent."""
        now = now or utcnow()
        with self.session() as s:
            if s.get(m.NotifyMute, recipient) is None:
                s.add(m.NotifyMute(recipient=recipient, at=now))
            s.execute(update(m.Notification).where(
                m.Notification.recipient == recipient, m.Notification.status == "queued")
                .values(status="muted", next_at=None))
            s.commit()

    def unmute(self, recipient: str) -> None:
        with self.session() as s:
            row = s.get(m.NotifyMute, recipient)
            if row is not None:
                s.delete(row)
                s.commit()

    def muted(self, recipient: str) -> bool:
        with self.session() as s:
            return s.get(m.NotifyMute, recipient) is not None

    def log(self, recipient: str | None = None, limit: int = 200) -> list[dict[str, object]]:
        """The newest messages and their outcomes (for a recipient, or all)."""
        with self.session() as s:
            q = select(m.Notification).order_by(m.Notification.id.desc()).limit(limit)
            if recipient is not None:
                q = q.where(m.Notification.recipient == recipient)
            return [{"id": r.id, "channel": r.channel, "recipient": r.recipient,
                     "kind": r.kind, "body": r.body, "status": r.status, "tries": r.tries,
                     "last_error": r.last_error, "created_at": as_utc(r.created_at),
                     "sent_at": as_utc(r.sent_at) if r.sent_at else None}
                    for r in s.scalars(q)]

