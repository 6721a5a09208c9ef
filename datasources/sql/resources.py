"""Emergency resources "1+4": stock arithmetic, reservations and resource dispatches (I/O).

Every number changes through a conditional UPDATE whose WHERE clause states the rule
(available >= asked, reserved >= leaving, ...) plus CHECK constraints in the schema, and
every change writes a ledger row (stock_movements) in the same transaction. So two
dispatches racing for the last tent cannot both win, on SQLite or PostgreSQL.

Figures of one item: `quantity` is on hand at the station (reserved included), `reserved`
is held for dispatches not yet gone, `out_quantity` has left with a team;
available = quantity - reserved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from dashboard.incidents.errors import NotFound
from dashboard.resources.errors import (
    DISPATCH_STATE_ZH,
    TEAM_STATUS_ZH,
    ResourceError,
    StockError,
    short_stock,
)
from dashboard.resources.stock import parse_quantity
from dashboard.timeutil import as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.drills import drill_facts
from datasources.sql.engine import rows_changed
from datasources.sql.incidents import Store, row_by_id

__all__ = ["ResourceError", "Resources", "station_rows"]

TEAM_STATUSES = ("standby", "en_route", "on_scene", "returning", "resting")
# A team that is out with a dispatch may move between these; returning ends the dispatch.
OUT_STATUSES = ("en_route", "on_scene", "returning")
MOVEMENT_KINDS = ("receive", "issue", "adjust", "reserve", "release", "depart", "return",
                  "consume")


def station_rows(s: Session, codes: list[str] | None = None) -> list[dict[str, Any]]:
    """Stations with rooms, stock (reserved/out), teams (status, members, vehicles)."""
    q = select(m.Station).options(selectinload(m.Station.items), selectinload(m.Station.teams),
                                  selectinload(m.Station.rooms)).order_by(m.Station.code)
    if codes is not None:
        q = q.where(m.Station.code.in_(codes))
    rows = s.scalars(q).all()
    team_codes = [t.code for st in rows for t in st.teams]
    medics: dict[str, int] = {}
    for code, role in s.execute(select(m.TeamMember.team_code, m.TeamMember.role).where(
            m.TeamMember.team_code.in_(team_codes), m.TeamMember.on_duty.is_(True))):
        if role == "medic":
            medics[code] = medics.get(code, 0) + 1
    item_ids = [i.id for st in rows for i in st.items]
    moved = {item_id: as_utc(at).isoformat() for item_id, at in s.execute(
        select(m.StockMovement.item_id, func.max(m.StockMovement.at))
        .where(m.StockMovement.item_id.in_(item_ids)).group_by(m.StockMovement.item_id))}
    drills = drill_facts(s, [st.code for st in rows])
    out = []
    for st in rows:
        shelters = [r for r in st.rooms if r.kind == "shelter"]
        out.append({
            "code": st.code, "kind": st.kind, "name": st.name, "name_en": st.name_en,
            "lon": st.lon, "lat": st.lat, "covers": st.covers, "vehicles": st.vehicles,
            "items": [{"sku": i.sku, "name": i.name, "name_en": i.name_en, "unit": i.unit,
                       "category": i.category, "quantity": i.quantity,
                       "reserved": i.reserved, "out": i.out_quantity,
                       "min_level": i.min_level, "expiry": i.expiry, "batch": i.batch,
                       "moved_at": moved.get(i.id)}
                      for i in st.items],
            "teams": [{"code": t.code, "name": t.name, "name_en": t.name_en, "kind": t.kind,
                       "members": t.members, "on_duty": t.on_duty, "status": t.status,
                       "leader": t.leader, "phone": t.phone, "skills": t.skills,
                       "vehicles": t.vehicles, "medics": medics.get(t.code, 0)}
                      for t in st.teams],
            "shelter": sum(r.capacity - r.occupancy for r in shelters),
            "shelter_capacity": sum(r.capacity for r in shelters),
            # Issue 16: the 一部三室 as the administrator records them, and the last drill
            # of each type with the town's windows (the readiness index reads both).
            "rooms": [{"kind": r.kind, "name": r.name, "name_en": r.name_en,
                       "capacity": r.capacity, "occupancy": r.occupancy, "state": r.state,
                       "note": r.note} for r in st.rooms],
            "drills": drills.get(st.code),
        })
    return out


class Resources:
    """Stock, teams and resource dispatches on the Store's engine."""

    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------------ reading
    def stations(self, codes: list[str] | None = None) -> list[dict[str, Any]]:
        """Station rows (all, or the given codes)."""
        with self.store.session() as s:
            return station_rows(s, codes)

    def station(self, code: str) -> dict[str, Any]:
        """One station's row."""
        rows = self.stations([code])
        if not rows:
            raise NotFound(f"station {code!r} does not exist")
        return rows[0]

    def ledger(self, station: str, sku: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
        """Movements of a station (or one item), newest first."""
        q = (select(m.StockMovement, m.InventoryItem.sku, m.InventoryItem.name,
                    m.InventoryItem.name_en, m.InventoryItem.unit)
             .join(m.InventoryItem).where(m.InventoryItem.station_code == station))
        if sku:
            q = q.where(m.InventoryItem.sku == sku)
        q = q.order_by(m.StockMovement.id.desc()).limit(limit)
        with self.store.session() as s:
            return [{"id": mv.id, "at": as_utc(mv.at), "sku": code, "name": nm,
                     "name_en": ne, "unit": unit, "kind": mv.kind, "delta": mv.delta,
                     "after": mv.quantity_after, "reserved": mv.reserved_after,
                     "out": mv.out_after, "reason": mv.reason, "actor": mv.actor,
                     "incident_id": mv.incident_id}
                    for mv, code, nm, ne, unit in s.execute(q)]

    def dispatches(self, incident_id: int | None = None,
                   open_only: bool = False) -> list[dict[str, Any]]:
        """Resource dispatches (of one incident), newest first, with their supplies."""
        q = select(m.ResourceDispatch).options(selectinload(m.ResourceDispatch.lines))
        if incident_id is not None:
            q = q.where(m.ResourceDispatch.incident_id == incident_id)
        if open_only:
            q = q.where(m.ResourceDispatch.state.in_(("reserved", "departed")))
        with self.store.session() as s:
            items = {i.id: i for i in s.scalars(select(m.InventoryItem))}
            return [{"id": d.id, "incident_id": d.incident_id, "station": d.station_code,
                     "teams": list(d.teams), "state": d.state, "actor": d.actor,
                     "created_at": as_utc(d.created_at), "updated_at": as_utc(d.updated_at),
                     "lines": [{"sku": items[ln.item_id].sku, "name": items[ln.item_id].name,
                                "name_en": items[ln.item_id].name_en,
                                "unit": items[ln.item_id].unit, "quantity": ln.quantity,
                                "returned": ln.returned, "consumed": ln.consumed}
                               for ln in d.lines]}
                    for d in s.scalars(q.order_by(m.ResourceDispatch.id.desc()))]

    # ------------------------------------------------------------------ stock edits
    def receive(self, station: str, sku: str, qty: int, actor: str, reason: str = "",
                batch: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Supplies received into the store (+qty, 1 to MAX_QUANTITY)."""
        qty = parse_quantity(qty)  # BadInput for 0, 1e18, ... (a receipt of 1e18 was stored)
        return self._edit(station, sku, "receive", qty, actor, reason or "入库", batch, now)

    def issue(self, station: str, sku: str, qty: int, actor: str, reason: str,
              now: datetime | None = None) -> dict[str, Any]:
        """Supplies issued from the store (-qty); reserved stock cannot be issued."""
        qty = parse_quantity(qty)
        return self._edit(station, sku, "issue", -qty, actor, reason or "出库", None, now)

    def adjust(self, station: str, sku: str, delta: int, actor: str, reason: str,
               now: datetime | None = None) -> dict[str, Any]:
        """A stock-take correction; the reason is required and kept in the ledger."""
        if not reason.strip():
            raise ResourceError("an adjustment needs a reason", "盘点调整须填写原因")
        delta = parse_quantity(delta, signed=True)
        return self._edit(station, sku, "adjust", delta, actor, reason.strip(), None, now)

    def _edit(self, station: str, sku: str, kind: str, delta: int, actor: str, reason: str,
              batch: str | None, now: datetime | None) -> dict[str, Any]:
        now = now or utcnow()
        with self.store.session() as s:
            item = self._item(s, station, sku)
            values: dict[str, Any] = {"quantity": m.InventoryItem.quantity + delta}
            if batch:
                values["batch"] = batch[:32]
            row = s.execute(
                update(m.InventoryItem)
                .where(m.InventoryItem.id == item.id,
                       m.InventoryItem.quantity - m.InventoryItem.reserved + delta >= 0)
                .values(**values)
                .returning(m.InventoryItem.quantity, m.InventoryItem.reserved,
                           m.InventoryItem.out_quantity)).first()
            if row is None:
                left = item.quantity - item.reserved
                raise short_stock(f"{sku} at {station}: only {left} available, cannot take "
                                  f"{-delta}", f"{item.name}可用仅{left}{item.unit}，"
                                  f"不能减少{-delta}{item.unit}")
            self._log(s, item.id, kind, delta, row, reason, actor, None, now)
            return {"station": station, "sku": sku, "quantity": int(row[0]),
                    "reserved": int(row[1]), "out": int(row[2]), "min_level": item.min_level}

    # ------------------------------------------------------------------ dispatches
    def dispatch(self, incident_id: int, station: str, teams: list[str],
                 supplies: dict[str, int], actor: str,
                 now: datetime | None = None) -> dict[str, Any]:
        """Reserve teams and supplies of one station for an incident, all or nothing."""
        now = now or utcnow()
        counted = {k: parse_quantity(v, zero=True) for k, v in supplies.items()}
        supplies = {k: v for k, v in counted.items() if v}
        if not teams and not supplies:
            raise ResourceError("pick a team or some supplies", "请选择队伍或填写物资数量")
        with self.store.session() as s:
            incident = row_by_id(s, m.Incident, incident_id)
            if incident is None:
                raise NotFound(f"incident {incident_id} does not exist")
            items = {sku: self._item(s, station, sku) for sku in supplies}
            for code in teams:
                taken = rows_changed(s.execute(update(m.Team).where(
                    m.Team.code == code, m.Team.station_code == station,
                    m.Team.status == "standby").values(status="en_route")))
                if taken != 1:
                    team = s.get(m.Team, code)
                    if team is None or team.station_code != station:
                        raise NotFound(f"no team {code!r} at station {station!r}")
                    raise ResourceError(
                        f"team {team.name} is {team.status}, not standby",
                        f"{team.name}当前{TEAM_STATUS_ZH.get(team.status, team.status)}，不在待命")
            d = m.ResourceDispatch(incident_id=incident_id, station_code=station,
                                   teams=list(teams), state="reserved", actor=actor,
                                   version=0, created_at=now, updated_at=now)
            s.add(d)
            s.flush()
            parts = []
            for sku, qty in supplies.items():
                item = items[sku]
                row = s.execute(
                    update(m.InventoryItem)
                    .where(m.InventoryItem.id == item.id,
                           m.InventoryItem.quantity - m.InventoryItem.reserved >= qty)
                    .values(reserved=m.InventoryItem.reserved + qty)
                    .returning(m.InventoryItem.quantity, m.InventoryItem.reserved,
                               m.InventoryItem.out_quantity)).first()
                if row is None:
                    current = s.get(m.InventoryItem, item.id)
                    left = (current.quantity - current.reserved) if current else 0
                    raise short_stock(f"{item.name} at {station}: only {left} available, "
                                      f"cannot reserve {qty}",
                                      f"{item.name}可用仅{left}{item.unit}，不能预留{qty}")
                s.add(m.DispatchLine(dispatch_id=d.id, item_id=item.id, quantity=qty))
                self._log(s, item.id, "reserve", 0, row, f"预留 事件{incident.ref}", actor,
                          incident_id, now)
                parts.append(f"{item.name}{qty}{item.unit}")
            names = [t.name for t in s.scalars(select(m.Team).where(m.Team.code.in_(teams)))]
            self._history(s, incident, actor, "res_dispatch", station, names, parts, now)
            return {"id": d.id, "incident_id": incident_id, "station": station,
                    "teams": list(teams), "state": "reserved"}

    def depart(self, dispatch_id: int, actor: str, now: datetime | None = None) -> dict[str, Any]:
        """The team leaves: reserved supplies go out of the store."""
        now = now or utcnow()
        with self.store.session() as s:
            d = self._take(s, dispatch_id, ("reserved",), "departed", now)
            incident = s.get(m.Incident, d.incident_id)
            parts = []
            for ln in d.lines:
                row = s.execute(
                    update(m.InventoryItem)
                    .where(m.InventoryItem.id == ln.item_id,
                           m.InventoryItem.reserved >= ln.quantity)
                    .values(quantity=m.InventoryItem.quantity - ln.quantity,
                            reserved=m.InventoryItem.reserved - ln.quantity,
                            out_quantity=m.InventoryItem.out_quantity + ln.quantity)
                    .returning(m.InventoryItem.quantity, m.InventoryItem.reserved,
                               m.InventoryItem.out_quantity)).first()
                if row is None:  # only a hand edit of the database gets here
                    raise StockError(f"dispatch {dispatch_id}: reservation of item "
                                     f"{ln.item_id} is gone")
                self._log(s, ln.item_id, "depart", -ln.quantity, row,
                          f"出库随队 事件{incident.ref if incident else ''}", actor,
                          d.incident_id, now)
                parts.append(self._line_text(s, ln.item_id, ln.quantity))
            self._history(s, incident, actor, "res_depart", d.station_code,
                          self._team_names(s, d.teams), parts, now)
            return {"id": d.id, "station": d.station_code, "state": d.state}

    def give_back(self, dispatch_id: int, actor: str, consumed: dict[str, int] | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
        """The team returns: what is not consumed goes back on the shelf, teams to standby.

        A dispatch that never left is cancelled instead: its reservation is released.
        """
        now = now or utcnow()
        consumed = {k: parse_quantity(v, zero=True) for k, v in (consumed or {}).items()}
        with self.store.session() as s:
            d = self._take(s, dispatch_id, ("reserved", "departed"), None, now)
            left = d.state == "departed"
            d.state = "returned" if left else "cancelled"
            incident = s.get(m.Incident, d.incident_id)
            ref = incident.ref if incident else ""
            parts = []
            for ln in d.lines:
                sku = s.get(m.InventoryItem, ln.item_id).sku  # type: ignore[union-attr]
                used = min(max(consumed.get(sku, 0), 0), ln.quantity) if left else 0
                back = ln.quantity - used
                if left:
                    values = {"quantity": m.InventoryItem.quantity + back,
                              "out_quantity": m.InventoryItem.out_quantity - ln.quantity}
                    rule = m.InventoryItem.out_quantity >= ln.quantity
                else:
                    values = {"reserved": m.InventoryItem.reserved - ln.quantity}
                    rule = m.InventoryItem.reserved >= ln.quantity
                row = s.execute(update(m.InventoryItem)
                                .where(m.InventoryItem.id == ln.item_id, rule).values(**values)
                                .returning(m.InventoryItem.quantity, m.InventoryItem.reserved,
                                           m.InventoryItem.out_quantity)).first()
                if row is None:
                    raise StockError(f"dispatch {dispatch_id}: item {ln.item_id} is not out")
                ln.returned, ln.consumed = back, used
                if not left:
                    self._log(s, ln.item_id, "release", 0, row, f"取消预留 事件{ref}", actor,
                              d.incident_id, now)
                    continue
                self._log(s, ln.item_id, "return", back, row, f"随队归还 事件{ref}", actor,
                          d.incident_id, now)
                if used:
                    self._log(s, ln.item_id, "consume", 0, row, f"现场消耗{used} 事件{ref}",
                              actor, d.incident_id, now)
                parts.append(self._line_text(s, ln.item_id, back)
                             + (f"(消耗{used})" if used else ""))
            s.execute(update(m.Team).where(m.Team.code.in_(list(d.teams)),
                                           m.Team.status.in_(OUT_STATUSES))
                      .values(status="standby"))
            self._history(s, incident, actor, "res_return" if left else "res_cancel",
                          d.station_code, self._team_names(s, d.teams), parts, now)
            return {"id": d.id, "station": d.station_code, "state": d.state}

    def set_team_status(self, team: str, status: str, actor: str) -> str:
        """Record a team's duty status (e.g. 到场 on scene, 休整 resting); returns its station."""
        if status not in TEAM_STATUSES:
            raise ResourceError(f"unknown team status {status!r}", "未知的队伍状态")
        with self.store.session() as s:
            row = s.get(m.Team, team)
            if row is None:
                raise NotFound(f"team {team!r} does not exist")
            row.status = status
            return row.station_code

    def shelter_move(self, station: str, delta: int) -> int:
        """People arriving (+) at or leaving (-) the station's shelter; returns free places.

        A conditional UPDATE keeps occupancy between 0 and the capacity."""
        delta = parse_quantity(delta, signed=True)
        with self.store.session() as s:
            changed = rows_changed(s.execute(update(m.Room).where(
                m.Room.station_code == station, m.Room.kind == "shelter",
                m.Room.occupancy + delta >= 0, m.Room.occupancy + delta <= m.Room.capacity)
                .values(occupancy=m.Room.occupancy + delta)))
            room = s.scalar(select(m.Room).where(m.Room.station_code == station,
                                                 m.Room.kind == "shelter"))
            if room is None:
                raise NotFound(f"station {station!r} has no shelter")
            if changed != 1:
                raise ResourceError(f"shelter of {station}: {room.occupancy}/{room.capacity} "
                                    f"taken, cannot change by {delta}",
                                    f"安置室已住{room.occupancy}/{room.capacity}人，"
                                    f"不能变动{delta:+d}")
            return room.capacity - room.occupancy

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _item(s: Session, station: str, sku: str) -> m.InventoryItem:
        item = s.scalar(select(m.InventoryItem).where(
            m.InventoryItem.station_code == station, m.InventoryItem.sku == sku))
        if item is None:
            raise NotFound(f"no item {sku!r} at station {station!r}")
        return item

    @staticmethod
    def _take(s: Session, dispatch_id: int, sources: tuple[str, ...], target: str | None,
              now: datetime) -> m.ResourceDispatch:
        """Move a dispatch on, exactly once: a conditional UPDATE on its version."""
        d = row_by_id(s, m.ResourceDispatch, dispatch_id)
        if d is None:
            raise NotFound(f"resource dispatch {dispatch_id} does not exist")
        if d.state not in sources:
            raise ResourceError(f"resource dispatch {dispatch_id} is {d.state}",
                                f"该调派{DISPATCH_STATE_ZH.get(d.state, d.state)}")
        values: dict[str, Any] = {"version": d.version + 1, "updated_at": now}
        if target:
            values["state"] = target
        changed = rows_changed(s.execute(update(m.ResourceDispatch).where(
            m.ResourceDispatch.id == d.id, m.ResourceDispatch.version == d.version)
            .values(**values)))
        if changed != 1:
            raise ResourceError(f"resource dispatch {dispatch_id} changed meanwhile",
                                "该调派刚被他人更新，请刷新后再试")
        s.refresh(d)
        return d

    @staticmethod
    def _log(s: Session, item_id: int, kind: str, delta: int, row: Any, reason: str,
             actor: str, incident_id: int | None, now: datetime) -> None:
        s.add(m.StockMovement(item_id=item_id, at=now, delta=delta, kind=kind,
                              quantity_after=int(row[0]), reserved_after=int(row[1]),
                              out_after=int(row[2]), reason=reason[:200], actor=actor[:40],
                              incident_id=incident_id))

    @staticmethod
    def _line_text(s: Session, item_id: int, qty: int) -> str:
        item = s.get(m.InventoryItem, item_id)
        return f"{item.name}{qty}{item.unit}" if item else str(qty)

    @staticmethod
    def _team_names(s: Session, codes: list[str]) -> list[str]:
        return [t.name for t in s.scalars(select(m.Team).where(m.Team.code.in_(list(codes))))]

    @staticmethod
    def _history(s: Session, incident: m.Incident | None, actor: str, action: str,
                 station: str, teams: list[str], parts: list[str], now: datetime) -> None:
        """One row in the incident's history for each resource step (全程记录)."""
        if incident is None:
            return
        note = " · ".join(x for x in (station, "、".join(teams), "、".join(parts)) if x)
        s.add(m.IncidentEvent(incident_id=incident.id, at=now, actor=actor[:40],
                              from_state=incident.state, to_state=incident.state,
                              action=action, note=note[:500]))
