"""应急抽调 as a step (issue 16): a duty officer calls up off-duty grid workers from the
rota's call-up list for an incident; each is told by SMS through the outbox (issue 10's
channels, sent by datasources/outbound/senders.py) and sees it on their /field page; their
answer is recorded, and the open consoles hear of each change on the hub."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError

from dashboard.buses.notify import NotifyConfig
from dashboard.grids.callup import CallupError, callup_text, pick_callees
from dashboard.incidents.errors import NotFound
from dashboard.incidents.lifecycle import OPEN_STATES
from dashboard.messages import Event
from dashboard.roles import CALLUP, Principal
from dashboard.timeutil import utcnow
from datasources.redis.publisher import Publisher
from datasources.sql.audit import Audit
from datasources.sql.callups import CallupStore
from datasources.sql.incidents import Store
from datasources.sql.notify import Outbox
from datasources.sql.rota import RotaStore

log = logging.getLogger(__name__)


class CallupDesk:
    """Call up, answer, and read a call-up; every change audited and announced."""

    def __init__(self, store: Store, rota: RotaStore, callups: CallupStore, audit: Audit,
                 bus: Publisher | None = None, outbox: Outbox | None = None,
                 notify: NotifyConfig | None = None):
        self.store = store
        self.rota = rota
        self.callups = callups
        self.audit = audit
        self.bus = bus
        self.outbox = outbox
        self.notify = notify or NotifyConfig()

    def _open_incident(self, incident_id: int) -> dict[str, Any]:
        try:
            inc = self.store.incident(incident_id)
        except NotFound:
            raise CallupError("no such work order", "callup_closed") from None
        if inc["state"] not in OPEN_STATES or not inc.get("grid"):
            raise CallupError("the work order is closed", "callup_closed")
        return inc

    def offered(self, incident_id: int) -> list[dict[str, Any]]:
        """The rota's call-up list for the incident's grid (off duty, not on leave)."""
        inc = self._open_incident(incident_id)
        return self.rota.callup(inc["grid"])

    def call_up(self, who: Principal, incident_id: int, chosen: object,
                lang: str = "zh") -> dict[str, Any]:
        """Call up the chosen workers (ids from the list offered now) for an incident:
        stored, each texted when the town has an SMS channel and a phone, audited,
        announced. {callup, members: [{id, name, told}], texted}."""
        if who.role not in CALLUP:
            raise CallupError("only a duty officer calls up", "callup_role")
        inc = self._open_incident(incident_id)
        picked = pick_callees(self.rota.callup(inc["grid"]), chosen)
        members = [{"id": w["id"], "name": w["name"], "told": "none"} for w in picked]
        callup_id = self.callups.create(inc["id"], who.name or "-", members)
        grid = next((str(w.get("grid_name") or inc["grid"]) for w in picked
                     if w.get("grid") == inc["grid"]), str(inc["grid"]))
        body = callup_text(inc["ref"], inc["title"], grid, lang)
        texted = 0
        for w, member in zip(picked, members, strict=True):
            phone = str(w.get("phone") or "")
            if self.outbox is None or self.notify.sms is None or not phone:
                continue
            queued = self.outbox.enqueue("sms", f"worker:{w['id']}", phone, "callup", body,
                                         dedup=f"callup:{callup_id}:{w['id']}")
            if queued is not None:
                member["told"] = queued[1]
                texted += queued[1] == "queued"
                self.callups.set_told(callup_id, w["id"], queued[1])
        self.audit.record("callup", inc["ref"],
                          ", ".join(f"{m['name']} ({m['id']})" for m in members), who=who)
        self.announce()
        return {"callup": callup_id, "members": members, "texted": texted}

    def answer(self, who: Principal, callup_id: object, answer: object) -> int:
        """A worker's answer to their own call-up (who they are is the server's word, never
        the page's); the incident's id."""
        incident_id = self.callups.answer(callup_id, who.person_id or "", answer)
        self.announce()
        return incident_id

    def announce(self) -> None:
        """Tell the open consoles that a call-up changed (committed already)."""
        if self.bus is None:
            return
        try:
            self.bus.publish_event(Event(type="callup.changed", seq=self.bus.next_seq(),
                                         at=utcnow(), sent_at=time.time()))
        except (RedisError, OSError) as exc:
            log.warning("call-up change not announced: %r", exc)
