"""Issuing and cancelling warnings (预警发布, issue 15): check the draft, build the CAP 1.2
message, validate it against the schema, keep it, queue it for every configured endpoint
(the durable outbox, retried on its schedule) and audit it. One path for the console and
for anything else that issues."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dashboard.alerts.cap import (
    CHANNEL,
    MAX_SERIAL,
    Area,
    Draft,
    Issuer,
    Message,
    alert_tree,
    build_alert,
    build_cancel,
    check_draft,
    check_reason,
    geometry_polygons,
    is_current,
    make_identifier,
    parse_identifier,
)
from dashboard.i18n.text import t
from dashboard.incidents.errors import BadInput, NotFound
from dashboard.roles import Principal
from dashboard.timeutil import as_utc, utcnow
from dashboard.town import GridCell
from datasources.flows.cap_xml import valid_xml
from datasources.sql.audit import Audit
from datasources.sql.cap import CapStore, Stored, Taken
from datasources.sql.notify import Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    """What an issue or cancel did: the message's identifier, its XML and the endpoints it
    was queued for."""

    identifier: str
    xml: str
    pushed: int


def issuer_for(town: Mapping[str, Any], unit: str, name: str) -> Issuer:
    """The town's issuing unit: ZN_CAP_UNIT_CODE, else the six leading digits of the town's
    code (its GB/T 2260 area) with organisation 000; the centre's name, else the town's."""
    if not unit:
        digits = str(town.get("code", ""))[:6]
        unit = (digits if digits.isdigit() and len(digits) == 6 else "000000") + "00000000"
    return Issuer(unit=unit, sender=unit, name=name or f"{town.get('name', '')}综合指挥中心")


class WarningDesk:
    """Issues and cancels warnings; every step stored, queued for push and audited."""

    def __init__(self, store: CapStore, outbox: Outbox, audit: Audit, issuer: Issuer,
                 grids: Mapping[str, GridCell], push_urls: tuple[str, ...] = ()):
        self.store = store
        self.outbox = outbox
        self.audit = audit
        self.issuer = issuer
        self.grids = grids
        self.push_urls = push_urls

    # ------------------------------------------------------------------ building
    def areas(self, codes: tuple[str, ...], lang: str) -> list[Area]:
        """The affected grids as CAP areas: name, outer rings, grid code and area code."""
        out = []
        for code in codes:
            g = self.grids[code]
            out.append(Area(g.name_en if lang == "en" and g.name_en else g.name,
                            geometry_polygons(g.geometry),
                            (("GB/T 2260", self.issuer.area), ("zhongnao-grid", g.code))))
        return out

    def alert(self, draft: Draft, identifier: str, sent: datetime) -> Message:
        """The Alert message of a draft."""
        return build_alert(draft, self.issuer, identifier, sent,
                           self.areas(draft.grids, draft.lang),
                           t(f"cap_ev_{draft.event}", draft.lang))

    def check(self, raw: Mapping[str, Any]) -> Draft:
        """The form's values as a draft (BadInput naming what is wrong)."""
        return check_draft(raw, self.grids)

    def preview(self, raw: Mapping[str, Any], now: datetime | None = None) -> tuple[str, int]:
        """The XML the draft would be issued as, validated, and how many areas it has;
        nothing is kept."""
        draft = self.check(raw)
        now = now or utcnow()
        msg = self.alert(draft, make_identifier(self.issuer.unit, now, 0), now)
        return valid_xml(alert_tree(msg)).decode(), len(msg.infos[0].areas)

    # ------------------------------------------------------------------ steps
    def _keep(self, make: Any, now: datetime, who: Principal,
              fields: Mapping[str, Any]) -> tuple[str, str]:
        """Store the message built by `make(identifier)` under the first free serial of
        this second; (identifier, xml)."""
        for serial in range(MAX_SERIAL + 1):
            identifier = make_identifier(self.issuer.unit, now, serial)
            msg: Message = make(identifier)
            xml = valid_xml(alert_tree(msg)).decode()
            info = msg.infos[0]
            try:
                self.store.add(Stored(identifier, msg.sender, msg.sent, msg.status,
                                      msg.msg_type, msg.references,
                                      fields.get("ref_identifier"), fields["event"],
                                      info.severity, info.headline, info.expires,
                                      dict(fields["draft"]), xml, who.name or "-"),
                               user_id=who.user_id)
            except Taken:
                if fields.get("ref_identifier") and self._cancelled(fields["ref_identifier"]):
                    raise BadInput("cap_not_cancellable",
                                   id=fields["ref_identifier"]) from None
                continue
            return identifier, xml
        raise BadInput("cap_serial", value=MAX_SERIAL + 1)

    def _cancelled(self, identifier: str) -> bool:
        got = self.store.get(identifier)
        return got is not None and got.cancelled_by is not None

    def _push(self, identifier: str, xml: str) -> int:
        queued = 0
        for n, url in enumerate(self.push_urls, start=1):
            done = self.outbox.enqueue(CHANNEL, f"cap:{n}", url, CHANNEL, xml,
                                       dedup=f"cap:{identifier}:{n}", rate_limited=False)
            queued += done is not None
        return queued

    def issue(self, raw: Mapping[str, Any], who: Principal,
              now: datetime | None = None) -> Issued:
        """Issue a warning (msgType Alert): BadInput for a draft that is not right."""
        draft = self.check(raw)
        now = as_utc(now or utcnow()).replace(microsecond=0)
        identifier, xml = self._keep(lambda ident: self.alert(draft, ident, now), now, who,
                                     {"event": draft.event, "draft": draft.as_dict()})
        pushed = self._push(identifier, xml)
        self.audit.record("cap.issue", identifier,
                          f"{draft.status} {draft.event} {draft.severity} {draft.urgency} "
                          f"{draft.certainty} grids={','.join(draft.grids)} "
                          f"expires+{draft.hours}h endpoints={pushed}: {draft.headline}",
                          who=who)
        log.info("warning %s issued by %s (%s endpoints)", identifier, who.name, pushed)
        return Issued(identifier, xml, pushed)

    def cancel(self, identifier: Any, reason: Any, who: Principal,
               now: datetime | None = None) -> Issued:
        """Cancel a warning in force: a new message, msgType Cancel, referencing it."""
        ident = str(parse_identifier(identifier))
        why = check_reason(reason)
        original = self.store.get(ident)
        if original is None or original.msg_type != "Alert":
            raise NotFound("cap_no_warning", id=ident)
        now = as_utc(now or utcnow()).replace(microsecond=0)
        if not is_current(original.expires, original.cancelled_by is not None, now):
            raise BadInput("cap_not_cancellable", id=ident)
        draft = Draft(**{**original.draft, "grids": tuple(original.draft["grids"])})
        alert = self.alert(draft, ident, original.sent)
        prefix = t("cap_cancel_prefix", draft.lang)
        identifier_new, xml = self._keep(
            lambda new: build_cancel(alert, new, now, why, prefix), now, who,
            {"event": draft.event, "draft": {**draft.as_dict(), "reason": why},
             "ref_identifier": ident})
        pushed = self._push(identifier_new, xml)
        self.audit.record("cap.cancel", ident,
                          f"by {identifier_new} endpoints={pushed}: {why}", who=who)
        return Issued(identifier_new, xml, pushed)

    # ------------------------------------------------------------------ reads
    def recent(self, limit: int = 50) -> list[Stored]:
        """The newest messages, newest first."""
        return self.store.recent(limit)

    def get(self, identifier: Any) -> Stored:
        """One message by identifier: BadInput for a malformed one, NotFound for none."""
        ident = str(parse_identifier(identifier))
        got = self.store.get(ident)
        if got is None:
            raise NotFound("cap_no_warning", id=ident)
        return got
