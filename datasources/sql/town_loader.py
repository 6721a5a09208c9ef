"""`load-town`: put a town's data files into the database (idempotent)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from dashboard.buses.register import check_workbook, describe
from dashboard.geo.lookup import GridIndex
from dashboard.geo.versions import GridChange, plan
from dashboard.town import Town
from datasources.sql import models as m
from datasources.sql.engine import upgrade
from datasources.sql.grid_versions import FIRST, forget_grids, read_versions, write_grids
from datasources.sql.pupils import town_stops, write_registers
from datasources.towns.files import load_town as read_town

log = logging.getLogger(__name__)

_TOWN_TABLES = (
    # Issue 13: the registers hang off stops and trips (boarding events are history: kept).
    m.StopStaff, m.Guardian, m.PupilTrip, m.Pupil, m.SchoolClass, m.School,
    # Issue 5: dispatches, members and alerts hang off the town's stations and items.
    m.DispatchLine, m.ResourceDispatch, m.StockAlert, m.TeamMember,
    # Issue 16: a station's drills and the town's drill types (work orders stay).
    m.DrillFollowup, m.Drill, m.DrillType,
    m.StockMovement, m.InventoryItem, m.Room, m.Team, m.Station,
    # The vehicle record: drivers hang off the buses (daily checks and alerts are history).
    m.Driver, m.Vehicle,
    m.Trip, m.BusStop, m.Route, m.GridRota, m.GridWorker, m.Unit, m.Village, m.TownMeta,
    m.Camera,
)


def town_loaded(session: Session) -> bool:
    """True when a town is already in the database."""
    return bool(session.scalar(select(func.count()).select_from(m.Grid)))


def load_town(session: Session, town: Town, *, replace: bool = False,
              valid_from: datetime | None = None) -> dict[str, int]:
    """Insert the town; with replace, first remove the previous town (incidents stay).
    With `valid_from` (issue 16: an import of the same town's data) the grids are not
    removed but versioned: a redrawn grid is a new version in force from then, and the
    work orders keep the grids they were placed in; without, a replaced town's grids go."""
    if town_loaded(session):
        if not replace:
            log.info("town already loaded; keeping it (use --replace to reload)")
            return {}
        for table in _TOWN_TABLES:
            session.execute(delete(table))
        if valid_from is None:
            forget_grids(session)
    for key in ("code", "name", "name_en", "demo", "note", "timezone", "center", "bbox",
                "area_km2", "population", "boundary"):
        if key in town.meta:
            session.add(m.TownMeta(key=key, value=town.meta[key]))
    changes = write_grids(session, town.grids, valid_from or FIRST)
    for v in town.villages:
        session.add(m.Village(code=v.code, name=v.name, name_en=v.name_en, kind=v.kind,
                              population=v.population, households=v.households,
                              lon=v.lon, lat=v.lat, grid_code=v.grid))
    load_cameras(session, town)
    for u in town.units:
        session.add(m.Unit(id=u.id, name=u.name, name_en=u.name_en, tier=u.tier,
                           village_code=u.village, categories=sorted(u.categories),
                           people=list(u.people)))
    members: list[m.TeamMember] = []  # added once their teams are flushed (foreign key)
    for s in town.stations:
        session.add(m.Station(code=s["code"], kind=s["kind"], name=s["name"],
                              name_en=s.get("name_en", ""), lon=s["lon"], lat=s["lat"],
                              covers=s.get("covers", []), vehicles=int(s.get("vehicles", 0))))
        for r in s["rooms"]:
            session.add(m.Room(station_code=s["code"], kind=r["kind"], name=r["name"],
                               name_en=r.get("name_en", ""), capacity=int(r.get("capacity", 0)),
                               occupancy=int(r.get("occupancy", 0))))
        for i in s["inventory"]:
            session.add(m.InventoryItem(
                station_code=s["code"], sku=i["sku"], name=i["name"],
                name_en=i.get("name_en", ""), category=i["category"], unit=i["unit"],
                quantity=int(i["quantity"]), min_level=int(i["min_level"]),
                expiry=i.get("expiry"), batch=i.get("batch")))
        for t in s["teams"]:
            session.add(m.Team(code=t["code"], station_code=s["code"], name=t["name"],
                               name_en=t.get("name_en", ""), kind=t["kind"],
                               members=int(t["members"]), on_duty=int(t["on_duty"]),
                               leader=t.get("leader", ""), phone=t.get("phone", ""),
                               skills=t.get("skills", []), vehicles=int(t.get("vehicles", 0))))
            for p in t.get("roster", []):
                members.append(m.TeamMember(team_code=t["code"], name=p["name"],
                                         role=p.get("role", "member"), phone=p.get("phone", ""),
                                         skills=p.get("skills", []),
                                         on_duty=bool(p.get("on_duty", False))))
    session.flush()
    session.add_all(members)
    for r in town.routes:
        session.add(m.Route(code=r.code, name=r.name, name_en=r.name_en, school=r.school,
                            path=r.path, length_m=r.length_m, staff=r.staff))
        for seq, stop in enumerate(r.stops):
            session.add(m.BusStop(code=stop.code, route_code=r.code, seq=seq, name=stop.name,
                                  name_en=stop.name_en, lon=stop.lon, lat=stop.lat))
        for t in r.trips:
            session.add(m.Trip(code=t.code, route_code=r.code, period=t.period,
                               direction=t.direction, days=t.days, stop_times=t.stop_times))
    for bus in town.vehicles:
        session.add(m.Vehicle(plate=bus.plate, route_code=bus.route, seats=bus.seats,
                              driver=bus.driver, phone=bus.phone, escort=bus.escort,
                              model=bus.model, year=bus.year))
    session.flush()
    for rec in town.records.values():  # 一车一档 (checked by the town's reader)
        row = session.get(m.Vehicle, rec.plate)
        if row is None:
            continue
        row.licence_expiry, row.inspection_due = rec.licence_expiry, rec.inspection_due
        row.insurance_expiry = rec.insurance_expiry
        row.speed_limiter, row.recorder = rec.speed_limiter, rec.recorder
        session.add_all(m.Driver(id=d.id, plate=d.plate, name=d.name, phone=d.phone,
                                 licence_class=d.licence_class, licence_expiry=d.licence_expiry,
                                 trained_on=d.trained_on, health_checked_on=d.health_checked_on)
                        for d in rec.drivers)
    session.flush()
    counts = {
        "grids": len(town.grids), "villages": len(town.villages),
        "stations": len(town.stations), "routes": len(town.routes),
        "vehicles": len(town.vehicles), "units": len(town.units),
        "grids_changed": len(changes),
    }
    if town.pupil_sheets:  # the same checks as `zhongnao pupils import`
        registers, errors = check_workbook(town.pupil_sheets, town_stops(session))
        if errors:
            raise ValueError("pupils.json: " + "; ".join(describe(e, "en") for e in errors[:5]))
        counts["pupils"] = write_registers(session, registers)["pupils"]
    log.info("town %s loaded: %s", town.meta.get("name"), counts)
    return counts


def load_cameras(session: Session, town: Town) -> int:
    """The town's cameras (cameras.csv), each in the level-3 grid its point falls in (the
    grid lookup of intake); a camera outside every grid keeps none."""
    index = GridIndex(town.grids)
    for c in town.cameras:
        hit = index.locate(c.lon, c.lat)
        session.add(m.Camera(id=c.id, name=c.name, name_en=c.name_en, lon=c.lon, lat=c.lat,
                             grid_code=hit.code if hit else None))
    return len(town.cameras)


def _same_folder(session: Session, town_dir: Path) -> None:
    """A database holding one town started with another town's folder (ZN_TOWN_DIR) would
    mix them (the simulator, the rota and the gazetteer read the folder): refuse, saying
    what to do."""
    row = session.get(m.TownMeta, "code")
    head = town_dir / "town.json"
    if row is None or not head.exists():
        return
    try:
        code = json.loads(head.read_text("utf-8")).get("code")
    except (OSError, ValueError, AttributeError):
        return
    if code and code != row.value:
        raise RuntimeError(
            f"the database holds town {row.value}, but ZN_TOWN_DIR {town_dir} is town {code}: "
            f"use another ZN_DATA_DIR (or DATABASE_URL) for it, or move the database to it "
            f"with `zhongnao import-town {town_dir}`")


def prepare_database(engine: Engine, town_dir: Path | str) -> None:
    """Migrate the schema and load the town when none is loaded yet (a town loaded before
    cameras.csv existed gets its cameras now)."""
    upgrade(engine)
    with Session(engine) as session, session.begin():
        _same_folder(session, Path(town_dir))
        if not town_loaded(session):
            load_town(session, read_town(town_dir))
        elif not session.scalar(select(func.count()).select_from(m.Camera)):
            town = read_town(town_dir)
            if town.cameras:
                load_cameras(session, town)


def same_town(session: Session, town: Town) -> bool:
    """True when the town loaded is the one imported (town.json's code): its grids are then
    versioned, not replaced."""
    row = session.get(m.TownMeta, "code")
    return row is not None and row.value == town.meta.get("code")


def preview_import(session: Session, town: Town, valid_from: datetime) -> list[GridChange]:
    """What an import would do to the grids (nothing written): added, redrawn, retired."""
    current = read_versions(session) if same_town(session, town) else []
    return plan(current, town.grids, valid_from)[0]


def import_town(session: Session, town: Town, valid_from: datetime) -> dict[str, int]:
    """Issue 16: a town's own data, checked before, applied in the caller's one
    transaction. The same town: its grids versioned (a redrawn grid is a new version in
    force from `valid_from`), the rest replaced; another town (or none yet): loaded anew."""
    if not town_loaded(session):
        return load_town(session, town)
    return load_town(session, town, replace=True,
                     valid_from=valid_from if same_town(session, town) else None)
