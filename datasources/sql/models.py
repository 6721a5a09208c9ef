"""SQLAlchemy 2 models: the durable record (town, incidents and their history, stock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false as sa_false


class Base(DeclarativeBase):
    """Declarative base; naming convention keeps Alembic migrations stable."""

    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


# ------------------------------------------------------------------ town
class TownMeta(Base):
    """Key/value facts of the loaded town (name, centre, bbox, boundary)."""

    __tablename__ = "town_meta"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Grid(Base):
    """One polygon of the three-level grid (网格)."""

    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    village_code: Mapped[str | None] = mapped_column(String(16))
    geometry: Mapped[Any] = mapped_column(JSON)
    leader_name: Mapped[str] = mapped_column(String(40), default="")
    leader_phone: Mapped[str] = mapped_column(String(20), default="")
    households: Mapped[int] = mapped_column(Integer, default=0)
    # Issue 16: a grid a redraw removed stays (its work orders keep it) but is drawn no more.
    retired_from: Mapped[datetime | None] = mapped_column(nullable=True)
    workers: Mapped[list[GridWorker]] = relationship(back_populates="grid")
    __table_args__ = (CheckConstraint("level in (1, 2, 3)", name="grid_level"),)


class GridWorker(Base):
    """A grid worker (网格员) of a level-3 grid."""

    __tablename__ = "grid_workers"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20), default="")
    # The eight duties (dashboard/grids/roster.DUTIES codes) from the roster; None: not given.
    duties: Mapped[Any] = mapped_column(JSON, nullable=True)
    grid: Mapped[Grid] = relationship(back_populates="workers")


class Village(Base):
    """A village or community (村/社区)."""

    __tablename__ = "villages"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(16))
    population: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"))


class Unit(Base):
    """An office that receives work orders (issue 14): a village's 村(社区) office, a town
    office or a county department, its tier, the categories it handles and its people."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    tier: Mapped[str] = mapped_column(String(8), index=True)
    village_code: Mapped[str | None] = mapped_column(String(16))
    categories: Mapped[Any] = mapped_column(JSON)  # ["*"]: everything
    people: Mapped[Any] = mapped_column(JSON)  # [{"id", "name", "phone"}]
    __table_args__ = (CheckConstraint("tier in ('village', 'town', 'county')",
                                      name="unit_tier"),)


class Camera(Base):
    """A camera of 雪亮工程 (cameras.csv, issue 15): where it stands and its level-3 grid."""

    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(16))


class GridVersionRow(Base):
    """One drawing of a grid, in force from `valid_from` (issue 16): an import that redraws
    a grid adds a version; `retired` marks the version that ends a code."""

    __tablename__ = "grid_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    village_code: Mapped[str | None] = mapped_column(String(16))
    geometry: Mapped[Any] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(index=True)
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("code", "version", name="uq_grid_version"),)


# ------------------------------------------------------------------ incidents
class Incident(Base):
    """A work order (事件/工单) and its current state in the closed loop."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(24), index=True)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    # The version of that grid in force when the report was placed (grid_versions.version):
    # a redraw later changes neither (issue 16, dashboard/geo/versions.py).
    grid_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    village_code: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(40))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    # The photo the product keeps (photos.id, issue 15): the first report's that had one.
    photo_id: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(40))  # display name only
    # Who it is assigned to: grid_workers.id for a person, 'team:CODE' for a team.
    assignee_id: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(8), default="grid", server_default="grid")
    # The receiving unit (units.id) it was handed to, and the one it came from, to which a
    # 退回 hands it back (issue 14); None: with the town centre and the grid.
    unit_id: Mapped[str | None] = mapped_column(String(16), index=True)
    prev_unit_id: Mapped[str | None] = mapped_column(String(16))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    supervised: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    report_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The standard's side steps (issue 14): 返工 and approved 延期 counted per work order, a
    # pending 延期 request (the duration asked for), and when a 缓办 began.
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extend_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extend_request: Mapped[str | None] = mapped_column(String(8))
    suspended_at: Mapped[datetime | None]
    # The grid worker on duty in its grid when it was reported (网格员, responsible on site).
    grid_worker: Mapped[str | None] = mapped_column(String(40))
    # 雪亮工程 (issue 15): the camera and AI event type of a video alert (one camera's burst
    # of one type merges into the open work order) and the platform's clip.
    camera_id: Mapped[str | None] = mapped_column(String(24), index=True)
    event_type: Mapped[str | None] = mapped_column(String(24))
    clip_url: Mapped[str | None] = mapped_column(String(500))
    # Issue 18: reported near an open work order of its category but in other words: kept
    # apart, flagged "possible duplicate of" that one (incidents.id) for a one-click 合并.
    dup_of: Mapped[int | None] = mapped_column(Integer)
    # Bumped by every change; a conditional UPDATE on it makes concurrent dispatches safe.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    deadline_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", order_by="IncidentEvent.id"
    )
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_incident_source_ref"),
        Index("ix_incidents_state_deadline", "state", "deadline_at"),
    )


class IncidentReport(Base):
    """One report as a source sent it; near-duplicates are merged into one work order."""

    __tablename__ = "incident_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    reporter_name: Mapped[str | None] = mapped_column(String(40))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    photo_id: Mapped[str | None] = mapped_column(String(32))  # photos.id (issue 15)
    reported_at: Mapped[datetime]
    merged: Mapped[bool] = mapped_column(default=False)
    clip_url: Mapped[str | None] = mapped_column(String(500))  # a video alert's clip
    # Issue 18: this caller's own satisfaction at the follow-up (回访), 1–5.
    satisfaction: Mapped[int | None] = mapped_column(Integer)


class Photo(Base):
    """A photo a report carried (随手拍, issue 15): kept by the product without EXIF, under a
    random id (never a guessable URL); the bytes are in the photo storage."""

    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The work order it shows; None until its report is stored (a refused report leaves it).
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # the account that sent it
    person_id: Mapped[str | None] = mapped_column(String(40))  # grid_workers.id, if one
    storage: Mapped[str] = mapped_column(String(8))  # local | s3
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)  # bytes of the kept picture
    source_format: Mapped[str] = mapped_column(String(8))  # what the phone sent
    created_at: Mapped[datetime]


class IncidentSuggestion(Base):
    """The category and receiving unit suggested for a work order (issue 18, 智能派单), by
    which model version, and what the officer then did: dispatched to the suggested unit
    (accepted) or elsewhere (changed)."""

    __tablename__ = "incident_suggestions"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(24))
    confidence: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[str | None] = mapped_column(String(16))
    unit_confidence: Mapped[float | None] = mapped_column(Float)
    ranked: Mapped[Any] = mapped_column(JSON)  # Suggestion.as_dict()
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    chosen_unit_id: Mapped[str | None] = mapped_column(String(40))  # the assignee id
    accepted: Mapped[bool | None]


class IncidentEvent(Base):
    """One step of an incident's history; rows are only ever added (全程记录)."""

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(40))
    # The account that took the step; None for the system (sweeps) and sources.
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16), default="report", server_default="report")
    note: Mapped[str] = mapped_column(String(500), default="")
    incident: Mapped[Incident] = relationship(back_populates="events")


class Open311Request(Base):
    """One GeoReport POST as the client sent it (issue 15): its token, the work order it
    filed or joined, and the fields the work order has no column for, echoed back by the
    Open311 door (address as typed, address_id, attributes, jurisdiction)."""

    __tablename__ = "open311_requests"
    token: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    merged: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    address_string: Mapped[str | None] = mapped_column(String(250))
    address_id: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[Any] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


# ------------------------------------------------------------------ emergency resources
class Station(Base):
    """The emergency centre or an area emergency station (应急中心 / 片区应急保障服务站)."""

    __tablename__ = "stations"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    covers: Mapped[Any] = mapped_column(JSON, default=list)
    vehicles: Mapped[int] = mapped_column(Integer, default=0)
    rooms: Mapped[list[Room]] = relationship(order_by="Room.id")
    items: Mapped[list[InventoryItem]] = relationship(order_by="InventoryItem.id")
    teams: Mapped[list[Team]] = relationship(order_by="Team.code")


class Room(Base):
    """One of the "一部三室": command post, supplies store, medical room, shelter."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    occupancy: Mapped[int] = mapped_column(Integer, default=0)
    # Issue 16: the room's state as the administrator records it (dashboard/resources/
    # stations.ROOM_STATES) and a note (what is broken, since when).
    state: Mapped[str] = mapped_column(String(12), default="ready", server_default="ready")
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")


class InventoryItem(Base):
    """A supply held at a station; its quantity only changes through StockMovement rows."""

    __tablename__ = "inventory_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    category: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    min_level: Mapped[int] = mapped_column(Integer, default=0)
    expiry: Mapped[str | None] = mapped_column(String(10))
    # Issue 5: batch of the stock on hand; `reserved` is held for a resource dispatch that
    # has not left yet (part of `quantity`); `out_quantity` has left with a team.
    batch: Mapped[str | None] = mapped_column(String(32))
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    out_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (
        UniqueConstraint("station_code", "sku", name="uq_item_station_sku"),
        CheckConstraint("quantity >= 0", name="item_quantity_nonnegative"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="item_reserved_in_stock"),
        CheckConstraint("out_quantity >= 0", name="item_out_nonnegative"),
    )


class StockMovement(Base):
    """One audited change of stock (receive, issue, adjust)."""

    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inventory_items.id"), index=True)
    at: Mapped[datetime]
    delta: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # Issue 5: receive/issue/adjust/reserve/release/depart/return/consume, and the
    # reserved and out figures after it, so the ledger alone replays every number.
    kind: Mapped[str] = mapped_column(String(12), default="adjust", server_default="adjust")
    reserved_after: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    out_after: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Team(Base):
    """A rescue team (应急救援队伍) based at a station."""

    __tablename__ = "teams"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(12))
    members: Mapped[int] = mapped_column(Integer, default=0)
    on_duty: Mapped[int] = mapped_column(Integer, default=0)
    leader: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    skills: Mapped[Any] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="standby")
    # Issue 5: vehicles the team takes when it goes out (counted against the station's).
    vehicles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# ------------------------------------------------------------------ issue 5: resources
class TeamMember(Base):
    """One rescuer or medic of a team, with skills (medics: role 'medic')."""

    __tablename__ = "team_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_code: Mapped[str] = mapped_column(ForeignKey("teams.code"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(12), default="member")
    phone: Mapped[str] = mapped_column(String(20), default="")
    skills: Mapped[Any] = mapped_column(JSON, default=list)
    on_duty: Mapped[bool] = mapped_column(default=False)


class ResourceDispatch(Base):
    """Teams and supplies sent from one station to an incident: reserved, departed, returned."""

    __tablename__ = "resource_dispatches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    teams: Mapped[Any] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(12), index=True)
    actor: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lines: Mapped[list[DispatchLine]] = relationship(order_by="DispatchLine.id")


class DispatchLine(Base):
    """One supply of a resource dispatch and what came back."""

    __tablename__ = "resource_dispatch_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("resource_dispatches.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inventory_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    consumed: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (CheckConstraint("quantity > 0", name="line_quantity_positive"),)


class StockAlert(Base):
    """One episode of low stock or near expiry of one item; raised into the incident loop once.

    `open_key` is unique while the episode is open and NULL once it ends (NULLs never
    collide), so several processes racing to raise it insert one row.
    """

    __tablename__ = "stock_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


# ------------------------------------------------------------------ drills (issue 16)
class DrillType(Base):
    """A kind of drill the town holds and how often (dashboard/resources/drills.DrillType)."""

    __tablename__ = "drill_types"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    window_days: Mapped[int] = mapped_column(Integer, default=365)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Drill(Base):
    """A drill (应急演练) of one station and type: planned, then held (its times, who took
    part, findings) or cancelled. Participants by id: teams' codes, grid workers' ids."""

    __tablename__ = "drills"
    __table_args__ = (Index("ix_drills_station_type", "station_code", "type", "state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default="planned")
    title: Mapped[str] = mapped_column(String(100), default="")
    planned_for: Mapped[str] = mapped_column(String(10))  # local day YYYY-MM-DD
    teams: Mapped[Any] = mapped_column(JSON, default=list)
    workers: Mapped[Any] = mapped_column(JSON, default=list)
    villagers: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    assembled_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    findings: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(40), default="")
    recorded_by: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime]
    recorded_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=0)


class DrillFollowup(Base):
    """A follow-up a drill found (整改事项); each is a work order in the loop."""

    __tablename__ = "drill_followups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


# ------------------------------------------------------------------ student buses
class Route(Base):
    """A student shuttle route with its road geometry and staff (定线、定人)."""

    __tablename__ = "routes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    school: Mapped[str] = mapped_column(String(60))
    path: Mapped[Any] = mapped_column(JSON)
    length_m: Mapped[int] = mapped_column(Integer, default=0)
    staff: Mapped[Any] = mapped_column(JSON, default=dict)
    stops: Mapped[list[BusStop]] = relationship(order_by="BusStop.seq")
    trips: Mapped[list[Trip]] = relationship(order_by="Trip.code")


class BusStop(Base):
    """A stop of a route, in driving order (定点)."""

    __tablename__ = "bus_stops"
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    route_code: Mapped[str] = mapped_column(ForeignKey("routes.code"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Trip(Base):
    """A timetabled run (班次, 定时)."""

    __tablename__ = "trips"
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    route_code: Mapped[str] = mapped_column(ForeignKey("routes.code"), index=True)
    period: Mapped[str] = mapped_column(String(4))
    direction: Mapped[str] = mapped_column(String(16))
    days: Mapped[str] = mapped_column(String(16))
    stop_times: Mapped[Any] = mapped_column(JSON)


class Vehicle(Base):
    """A shuttle bus and its record (一车一档, 定车)."""

    __tablename__ = "vehicles"
    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    route_code: Mapped[str | None] = mapped_column(ForeignKey("routes.code"))
    seats: Mapped[int] = mapped_column(Integer)
    driver: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    escort: Mapped[str] = mapped_column(String(40), default="")
    model: Mapped[str] = mapped_column(String(40), default="")
    year: Mapped[int] = mapped_column(Integer, default=0)
    # The record's papers (ISO days, "" when the town gave none) and equipment (None: unknown).
    licence_expiry: Mapped[str] = mapped_column(String(10), default="", server_default="")
    inspection_due: Mapped[str] = mapped_column(String(10), default="", server_default="")
    insurance_expiry: Mapped[str] = mapped_column(String(10), default="", server_default="")
    speed_limiter: Mapped[bool | None]
    recorder: Mapped[bool | None]


class Driver(Base):
    """A driver of a bus, by id (drivers.csv): licence class and dates (一车一档)."""

    __tablename__ = "drivers"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    plate: Mapped[str] = mapped_column(ForeignKey("vehicles.plate"), index=True)
    name: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    licence_class: Mapped[str] = mapped_column(String(16), default="")
    licence_expiry: Mapped[str] = mapped_column(String(10), default="")
    trained_on: Mapped[str] = mapped_column(String(10), default="")
    health_checked_on: Mapped[str] = mapped_column(String(10), default="")


class VehicleCheck(Base):
    """A daily check of a bus (出车前检查, 消毒), once per bus, local day and kind."""

    __tablename__ = "vehicle_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plate: Mapped[str] = mapped_column(String(16))
    day: Mapped[str] = mapped_column(String(10))  # local date, YYYY-MM-DD
    kind: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (UniqueConstraint("plate", "day", "kind", name="uq_vehicle_check"),
                      Index("ix_vehicle_checks_day", "day"))


class VehicleAlert(Base):
    """One episode of a record item due, expired or a daily check overdue; raised once.

    Like StockAlert: `open_key` is unique while open and NULL once the episode ends, so
    processes racing to raise it insert one row.
    """

    __tablename__ = "vehicle_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plate: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # warning | expired | overdue
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


# ------------------------------------------------------------------ bus tracking (issue 4)
class BusPosition(Base):
    """A sampled GPS fix of a bus, kept for history replay (轨迹回放)."""

    __tablename__ = "bus_positions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plate: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float, default=0.0)
    heading: Mapped[float] = mapped_column(Float, default=0.0)
    route: Mapped[str | None] = mapped_column(String(16))
    trip: Mapped[str | None] = mapped_column(String(24))
    onboard: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_bus_positions_plate_at", "plate", "at"),
        Index("ix_bus_positions_trip_at", "trip", "at"),
    )


# ------------------------------------------------------------------ grids: rota, daily brief
class GridRota(Base):
    """Who of a grid's workers is on duty in one shift of one local day (轮班)."""

    __tablename__ = "grid_rota"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # local date, YYYY-MM-DD
    shift: Mapped[str] = mapped_column(String(8))  # day | night
    worker_id: Mapped[str] = mapped_column(String(24))
    worker_name: Mapped[str] = mapped_column(String(40))
    __table_args__ = (UniqueConstraint("grid_code", "day", "shift", name="uq_rota_shift"),
                      CheckConstraint("shift in ('day', 'night')", name="rota_shift"))


class RotaLeave(Base):
    """A grid worker's leave (请假), local days `start_day`..`end_day` inclusive: off the
    rota, the call-up list and the recommendations for those days (issue 16)."""

    __tablename__ = "rota_leave"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker_id: Mapped[str] = mapped_column(String(24), index=True)
    start_day: Mapped[str] = mapped_column(String(10))
    end_day: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    __table_args__ = (CheckConstraint("start_day <= end_day", name="leave_span"),)


class Callup(Base):
    """应急抽调: off-duty grid workers called up by a duty officer for one incident."""

    __tablename__ = "callups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    called_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]


class CallupMember(Base):
    """One worker called up: how they were told and what they answered (None: not yet)."""

    __tablename__ = "callup_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callup_id: Mapped[int] = mapped_column(ForeignKey("callups.id"), index=True)
    worker_id: Mapped[str] = mapped_column(String(24), index=True)
    worker_name: Mapped[str] = mapped_column(String(40))
    told: Mapped[str] = mapped_column(String(16), default="")  # queued | muted | none
    answer: Mapped[str | None] = mapped_column(String(8), nullable=True)  # coming | cannot
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    __table_args__ = (UniqueConstraint("callup_id", "worker_id", name="uq_callup_member"),
                      CheckConstraint("answer is null or answer in ('coming', 'cannot')",
                                      name="callup_answer"))


class TownTable(Base):
    """A table the town overrides on /admin (deadlines, kits, weights, speed zones), kept as
    the JSON the rule's own validator accepted; `version` moves on each save."""

    __tablename__ = "town_tables"
    name: Mapped[str] = mapped_column(String(24), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class DailyBrief(Base):
    """The duty daily brief (值班日报) of one local day, kept as generated."""

    __tablename__ = "daily_briefs"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    figures: Mapped[Any] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
# ------------------------------------------------------------------ accounts, keys, audit (issue 7)
class User(Base):
    """A person who signs in: name, role and an argon2 password hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(40), default="")
    # The person a grid worker's account is (grid_workers.id); work orders name it.
    person_id: Mapped[str | None] = mapped_column(String(24))
    # The unit (units.id) a handler's or a village officer's account works for (issue 14).
    unit_id: Mapped[str | None] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[datetime]


class UserSession(Base):
    """A signed-in browser: only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")


class ApiKey(Base):
    """An ingest key of one source, or a wall's kiosk token (kind 'kiosk'); stored hashed."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ingest | kiosk
    name: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(40), default="")
    # What the key may do, comma-separated (dashboard.roles.KEY_SCOPES); kiosk tokens: "".
    scopes: Mapped[str] = mapped_column(String(80), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class KeyFiling(Base):
    """A work order an ingest key filed (or joined): what that key may read back."""

    __tablename__ = "key_filings"
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    at: Mapped[datetime]


class AuditEntry(Base):
    """One state change or sign-in event; rows are only ever inserted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(60), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)  # None: system, CLI, source
    role: Mapped[str] = mapped_column(String(16), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


# ------------------------------------------------------------------ notifications (issue 13)
class Notification(Base):
    """One message to a guardian or a route's parent group, with its outcome: every send is
    kept (sent, failed after its tries, muted, over the rate), never deleted by the product."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_at"),
                      Index("ix_notifications_recipient", "recipient", "created_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | wecom
    recipient: Mapped[str] = mapped_column(String(40))  # guardian:17, route:R01
    address: Mapped[str] = mapped_column(String(400))  # a phone or a webhook URL
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    dedup: Mapped[str | None] = mapped_column(String(120), unique=True)


class NotifyMute(Base):
    """A recipient who asked for no more messages (a guardian can mute)."""

    __tablename__ = "notify_mutes"
    recipient: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime]


# ------------------------------------------------------------------ pupils (issue 13)
class School(Base):
    """A school whose pupils ride the shuttles (一校一册: its register is imported whole)."""

    __tablename__ = "schools"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80), default="")


class SchoolClass(Base):
    """A class of a school (三年级2班) and its head teacher."""

    __tablename__ = "school_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    teacher: Mapped[str] = mapped_column(String(40), default="")
    teacher_phone: Mapped[str] = mapped_column(String(20), default="")
    __table_args__ = (UniqueConstraint("school_code", "name", name="uq_class_name"),)


class Pupil(Base):
    """A child on the register (定人), known by the school's pupil id."""

    __tablename__ = "pupils"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_classes.id"))
    name: Mapped[str] = mapped_column(String(40))
    home_stop: Mapped[str] = mapped_column(ForeignKey("bus_stops.code"), index=True)


class PupilTrip(Base):
    """A trip a pupil rides: the morning trip to school, the afternoon trip home."""

    __tablename__ = "pupil_trips"
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id"), primary_key=True)
    trip_code: Mapped[str] = mapped_column(ForeignKey("trips.code"), primary_key=True,
                                           index=True)


class Guardian(Base):
    """A pupil's guardian (监护人): name, relation and phone, in the school's order."""

    __tablename__ = "guardians"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20))


class StopStaff(Base):
    """Who looks after a stop for a school: the parent volunteer (家长志愿者) and the pupil
    line leader (学生路队长)."""

    __tablename__ = "stop_staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), index=True)
    stop_code: Mapped[str] = mapped_column(ForeignKey("bus_stops.code"), index=True)
    duty: Mapped[str] = mapped_column(String(16))  # volunteer | line_leader
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20), default="")
    pupil_id: Mapped[str | None] = mapped_column(String(24))  # the leader, or whose guardian
    __table_args__ = (UniqueConstraint("school_code", "stop_code", "duty", name="uq_stop_duty"),
                      CheckConstraint("duty in ('volunteer', 'line_leader')",
                                      name="stop_staff_duty"))


class UserPost(Base):
    """What an account looks after: an escort's trip or vehicle, a school staff's school."""

    __tablename__ = "user_posts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # trip | vehicle | school
    ref: Mapped[str] = mapped_column(String(24), primary_key=True)


class BoardingEvent(Base):
    """A pupil boarding, alighting or absent (上车/下车/未到), from an escort's phone or a
    terminal. The pupil and trip are plain ids, not foreign keys: a re-imported register
    never rewrites what happened."""

    __tablename__ = "boarding_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(24))
    trip_code: Mapped[str] = mapped_column(String(24))
    day: Mapped[str] = mapped_column(String(10))  # the trip's local date, YYYY-MM-DD
    event: Mapped[str] = mapped_column(String(8))  # board | alight | absent
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    plate: Mapped[str | None] = mapped_column(String(16))
    stop_code: Mapped[str | None] = mapped_column(String(24))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))  # escort | terminal
    actor: Mapped[str] = mapped_column(String(60), default="")
    idem_key: Mapped[str] = mapped_column(String(128), unique=True)
    __table_args__ = (Index("ix_boarding_trip_day", "trip_code", "day"),
                      CheckConstraint("event in ('board', 'alight', 'absent')",
                                      name="boarding_event"),
                      CheckConstraint("source in ('escort', 'terminal')",
                                      name="boarding_source"))


# ------------------------------------------------------------------ warnings (issue 15)
class CapMessage(Base):
    """A warning message the centre issued as CAP 1.2 (an Alert, or the Cancel of one), with
    the very XML that was published and pushed. Rows are only added: a cancel is a new row
    whose `ref_identifier` names the alert (unique, so an alert is cancelled once)."""

    __tablename__ = "cap_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(31), unique=True)  # GB/T 35965.1
    sender: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # Actual | Exercise | Test
    msg_type: Mapped[str] = mapped_column(String(8))  # Alert | Update | Cancel
    refs: Mapped[str] = mapped_column(String(200), default="")  # <references>
    ref_identifier: Mapped[str | None] = mapped_column(String(31), unique=True)
    event: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(10))
    headline: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    draft: Mapped[Any] = mapped_column(JSON)  # what the officer filled in
    xml: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(60))
    issued_by_user_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_cap_messages_sent", "sent_at"),
                      CheckConstraint("msg_type in ('Alert', 'Update', 'Cancel')",
                                      name="cap_msg_type"))
