"""督办 of the operators' alarms (issue 15): a 催办 or 督办 of a work order that came from a
JT/T 809 alarm goes down to the operator's platform as 0x9401, and its 0x1401 answer comes
back into the work order's history.

The gateway is another process: between the two is Redis (dashboard/channels.py). The
gateway keeps each alarm's facts under the work order's source_ref; an officer's step here
queues a 督办 job for that operator (sent while its platform is logged in, kept until then);
the gateway queues each reply, and every server process drains them (one takes each) into
the history as a 补充说明 of the operator.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import cast

from dashboard.buses.operators import REF_PREFIX, URGE_ACTIONS, reply_note
from dashboard.incidents.errors import Conflict, NotFound, TransitionError
from dashboard.messages import IncidentView
from dashboard.timeutil import as_utc, utcnow
from datasources.flows.intake import Intake

log = logging.getLogger(__name__)
SUPERVISION_TTL_S = 30 * 24 * 3600  # a reply later than this finds no work order
REPLIES_PER_DRAIN = 100


def deadline_for(deadline: datetime | None, now: datetime) -> datetime:
    """SUPERVISION_ENDTIME of a 督办: the work order's deadline, or an hour from now when it
    has none or it is past."""
    if deadline is not None and as_utc(deadline) > now:
        return as_utc(deadline)
    return now + timedelta(hours=1)


class Jt809Desk:
    """Sends the 督办 of 809 alarms' work orders down and records the operators' replies."""

    def __init__(self, intake: Intake):
        self.intake = intake
        self.bus = intake.bus
        self.sent = 0
        self.recorded = 0

    def on_action(self, incident_id: int, action: str, view: IncidentView, actor: str,
                  note: str) -> int | None:
        """After a step commits (Intake.action_hooks): a 催办/督办 of an alarm's work order
        is queued for the operator's platform; returns the 督办's SUPERVISION_ID."""
        if action not in URGE_ACTIONS or view.source != "bus":
            return None
        refs = [r["source_ref"] for r in self.intake.store.reports(incident_id)
                if (r["source_ref"] or "").startswith(REF_PREFIX)]
        if not refs:
            return None
        raw = self.bus.r.get(self.bus.ch.jt809_alarm(refs[0]))
        if raw is None:
            log.warning("督办 of %s: the alarm's facts are gone (older than %s days)", view.ref,
                        SUPERVISION_TTL_S // 86400)
            return None
        alarm = json.loads(raw)
        sid = int(self.bus.r.incr(self.bus.ch.jt809_supervision_seq)) & 0xFFFFFFFF
        now = utcnow()
        access = int(alarm["access_code"])
        self.bus.r.set(self.bus.ch.jt809_supervision(sid),
                       json.dumps({"incident_id": incident_id, "access_code": access,
                                   "ref": view.ref}), ex=SUPERVISION_TTL_S)
        job = {"supervision_id": sid, "plate": alarm["plate"], "colour": alarm.get("colour", 0),
               "warn_type": alarm["warn_type"], "warn_src": alarm.get("warn_src", 2),
               "warn_at": alarm["at"], "deadline": deadline_for(view.deadline_at, now).isoformat(),
               # SUPERVISION_LEVEL: 0 urgent, 1 normal.
               "level": 0 if view.priority == "urgent" or action == "supervise" else 1,
               "supervisor": actor[:16], "action": action, "note": note[:100]}
        self.bus.r.rpush(self.bus.ch.jt809_urges(access), json.dumps(job, ensure_ascii=False))
        self.sent += 1
        log.info("督办 %s of %s queued for 接入码 %s", sid, view.ref, access)
        return sid

    def drain(self) -> int:
        """Put the operators' replies waiting in Redis into the histories; returns how many
        were recorded. A reply for a 督办 not sent to that operator is refused and counted."""
        done = 0
        popped = self.bus.r.lpop(self.bus.ch.jt809_replies, REPLIES_PER_DRAIN)
        for raw in cast(list[bytes], popped or []):
            try:
                reply = json.loads(raw)
                sid, access = int(reply["supervision_id"]), int(reply["access_code"])
            except (ValueError, KeyError, TypeError):
                log.error("an unreadable 督办 reply dropped: %r", raw[:200])
                continue
            sent = self.bus.r.get(self.bus.ch.jt809_supervision(sid))
            facts = json.loads(sent) if sent else None
            if facts is None or int(facts["access_code"]) != access:
                self.bus.count_rejected("jt809_unknown_supervision")
                log.warning("接入码 %s answered 督办 %s, which it was not sent", access, sid)
                continue
            note = reply_note(sid, int(reply.get("result", -1)))
            try:
                self.intake.act(int(facts["incident_id"]), "note",
                                str(reply.get("operator") or access)[:40], note=note)
            except (NotFound, TransitionError, Conflict) as exc:
                # Closed (or voided) meanwhile: the answer is logged, the history is not.
                log.warning("督办 %s reply not recorded on %s: %s", sid, facts.get("ref"), exc)
                continue
            done += 1
        self.recorded += done
        return done

    async def run(self, period_s: float = 1.0) -> None:
        """Drain the replies every `period_s` until cancelled; a failure is logged."""
        # Its own thread: with Redis frozen a drain blocks on its socket, and the shared
        # pool's few threads (cores + 4) are the requests' (test_faults' frozen Redis).
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jt809-replies")
        loop = asyncio.get_running_loop()
        try:
            await self._drain_loop(loop, pool, period_s)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    async def _drain_loop(self, loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor,
                          period_s: float) -> None:
        while True:
            try:
                await loop.run_in_executor(pool, self.drain)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("JT/T 809 督办 replies not drained; again in %.0f s", period_s)
            await asyncio.sleep(period_s)
