"""Pupils in SQL: the schools' registers (一校一册), the manifest of a trip, the posts of
escorts and school staff. A register is written whole or not at all (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.orm import Session

from dashboard.buses.pupils import (
    POST_KINDS,
    GuardianRecord,
    Manifest,
    PupilRecord,
    StopDuty,
    build_manifest,
)
from dashboard.buses.register import SchoolRegister, TownStops
from dashboard.town import Route, Stop, Trip
from datasources.sql import models as m
from datasources.sql.engine import session_factory


def town_stops(session: Session) -> TownStops:
    """The stops and trips of the loaded town, as the register's checks need them."""
    stops = {code: route for code, route in
             session.execute(select(m.BusStop.code, m.BusStop.route_code))}
    trips = {code: (route, direction) for code, route, direction in session.execute(
        select(m.Trip.code, m.Trip.route_code, m.Trip.direction))}
    return TownStops(stops, trips)


def write_registers(session: Session, registers: Sequence[SchoolRegister]) -> dict[str, int]:
    """Replace each school's register (classes, pupils, trips, guardians, stop staff) with
    the checked one, inside the caller's transaction. A pupil who moved school is
    re-registered under the new one. Boarding events stay (they are history)."""
    codes = [r.code for r in registers]
    ids = [p.id for r in registers for p in r.pupils]
    old = list(session.scalars(select(m.Pupil.id).where(
        or_(m.Pupil.school_code.in_(codes), m.Pupil.id.in_(ids)))))
    session.execute(delete(m.StopStaff).where(m.StopStaff.school_code.in_(codes)))
    for table in (m.Guardian, m.PupilTrip):
        session.execute(delete(table).where(table.pupil_id.in_(old)))
    session.execute(delete(m.Pupil).where(m.Pupil.id.in_(old)))
    session.execute(delete(m.SchoolClass).where(m.SchoolClass.school_code.in_(codes)))
    counts = {"schools": 0, "classes": 0, "pupils": 0, "guardians": 0, "stop_staff": 0}
    for r in registers:
        school = session.get(m.School, r.code)
        if school is None:
            session.add(m.School(code=r.code, name=r.name, name_en=r.name_en))
        else:
            school.name, school.name_en = r.name, r.name_en
        classes = {name: m.SchoolClass(school_code=r.code, name=name, teacher=teacher,
                                       teacher_phone=phone)
                   for name, (teacher, phone) in r.classes.items()}
        session.add_all(classes.values())
        session.flush()
        for p in r.pupils:
            session.add(m.Pupil(id=p.id, school_code=r.code, class_id=classes[p.klass].id,
                                name=p.name, home_stop=p.home_stop))
        session.flush()
        for p in r.pupils:
            session.add_all(m.PupilTrip(pupil_id=p.id, trip_code=t) for t in p.trips)
            session.add_all(m.Guardian(pupil_id=p.id, seq=i, name=g.name, relation=g.relation,
                                       phone=g.phone) for i, g in enumerate(p.guardians, 1))
            counts["guardians"] += len(p.guardians)
        session.add_all(m.StopStaff(school_code=r.code, stop_code=d.stop, duty=d.duty,
                                    name=d.name, phone=d.phone, pupil_id=d.pupil_id)
                        for d in r.staff)
        counts["schools"] += 1
        counts["classes"] += len(classes)
        counts["pupils"] += len(r.pupils)
        counts["stop_staff"] += len(r.staff)
    session.flush()
    return counts


class PupilStore:
    """Reads and writes of the pupils' tables."""

    def __init__(self, engine: Engine):
        self.session = session_factory(engine)

    def stops(self) -> TownStops:
        """The town's stops and trips (for checking a register)."""
        with self.session() as s:
            return town_stops(s)

    def import_registers(self, registers: Sequence[SchoolRegister]) -> dict[str, int]:
        """Write checked registers in one transaction: all of them, or (on error) none."""
        with self.session.begin() as s:
            return write_registers(s, registers)

    def trip_route(self, trip: str) -> tuple[Route, Trip] | None:
        """The route and trip of a trip code, or None when the town has no such trip."""
        with self.session() as s:
            row = s.get(m.Trip, trip)
            if row is None:
                return None
            route = s.get(m.Route, row.route_code)
            assert route is not None
            stops = [Stop(x.code, x.name, x.name_en, x.lon, x.lat) for x in route.stops]
            t = Trip(row.code, row.period, row.direction, list(row.stop_times), row.days)
            return Route(route.code, route.name, route.name_en, route.school, stops,
                         [], route.length_m, [t], dict(route.staff or {})), t

    def pupils_of_trip(self, trip: str) -> list[PupilRecord]:
        """The pupils registered on a trip, with their guardians."""
        with self.session() as s:
            rows = s.execute(
                select(m.Pupil, m.SchoolClass.name)
                .join(m.PupilTrip, m.PupilTrip.pupil_id == m.Pupil.id)
                .join(m.SchoolClass, m.SchoolClass.id == m.Pupil.class_id)
                .where(m.PupilTrip.trip_code == trip)).all()
            ids = [p.id for p, _ in rows]
            trips: dict[str, list[str]] = {}
            for pid, code in s.execute(select(m.PupilTrip.pupil_id, m.PupilTrip.trip_code)
                                       .where(m.PupilTrip.pupil_id.in_(ids))):
                trips.setdefault(pid, []).append(code)
            guardians: dict[str, list[GuardianRecord]] = {}
            for g in s.scalars(select(m.Guardian).where(m.Guardian.pupil_id.in_(ids))
                               .order_by(m.Guardian.pupil_id, m.Guardian.seq)):
                guardians.setdefault(g.pupil_id, []).append(
                    GuardianRecord(g.name, g.relation, g.phone))
            return [PupilRecord(p.id, p.name, p.school_code, klass, p.home_stop,
                                tuple(sorted(trips.get(p.id, []))),
                                tuple(guardians.get(p.id, [])))
                    for p, klass in rows]

    def pupils(self, ids: Sequence[str]) -> list[PupilRecord]:
        """These pupils (unknown ids left out), with their trips and guardians."""
        with self.session() as s:
            rows = s.execute(select(m.Pupil, m.SchoolClass.name)
                             .join(m.SchoolClass, m.SchoolClass.id == m.Pupil.class_id)
                             .where(m.Pupil.id.in_(list(ids)))).all()
            trips: dict[str, list[str]] = {}
            for pid, code in s.execute(select(m.PupilTrip.pupil_id, m.PupilTrip.trip_code)
                                       .where(m.PupilTrip.pupil_id.in_(list(ids)))):
                trips.setdefault(pid, []).append(code)
            guardians: dict[str, list[GuardianRecord]] = {}
            for g in s.scalars(select(m.Guardian).where(m.Guardian.pupil_id.in_(list(ids)))
                               .order_by(m.Guardian.pupil_id, m.Guardian.seq)):
                guardians.setdefault(g.pupil_id, []).append(
                    GuardianRecord(g.name, g.relation, g.phone))
            return [PupilRecord(p.id, p.name, p.school_code, klass, p.home_stop,
                                tuple(sorted(trips.get(p.id, []))),
                                tuple(guardians.get(p.id, [])))
                    for p, klass in sorted(rows, key=lambda r: r[0].id)]

    def guardian(self, pupil: str, seq: int) -> GuardianRecord | None:
        """The guardian at `seq` in `pupil`'s register, None when there is none."""
        with self.session() as s:
            g = s.scalar(select(m.Guardian).where(m.Guardian.pupil_id == pupil,
                                                  m.Guardian.seq == seq))
            return None if g is None else GuardianRecord(g.name, g.relation, g.phone)

    def guardian_rows(self) -> list[tuple[str, int, str]]:
        """(pupil id, seq, phone) of every guardian in the register."""
        with self.session() as s:
            return [(p, q, ph) for p, q, ph in s.execute(
                select(m.Guardian.pupil_id, m.Guardian.seq, m.Guardian.phone))]

    def stop_staff(self, stops: Sequence[str]) -> list[StopDuty]:
        """The volunteers and line leaders of these stops."""
        with self.session() as s:
            return [StopDuty(d.stop_code, d.duty, d.name, d.phone, d.pupil_id, d.school_code)
                    for d in s.scalars(select(m.StopStaff)
                                       .where(m.StopStaff.stop_code.in_(list(stops))))]

    def manifest(self, trip: str) -> Manifest | None:
        """Who is expected at each stop of `trip`, or None for an unknown trip."""
        found = self.trip_route(trip)
        if found is None:
            return None
        route, t = found
        return build_manifest(route, t, self.pupils_of_trip(trip),
                              self.stop_staff([s.code for s in route.stops]))

    def schools(self) -> list[tuple[str, str, str]]:
        """Every school on the register: (code, name, English name), by code."""
        with self.session() as s:
            return [(c, n, e or "") for c, n, e in s.execute(
                select(m.School.code, m.School.name, m.School.name_en)
                .order_by(m.School.code))]

    def posts(self, user_id: int | None) -> frozenset[tuple[str, str]]:
        """What an account looks after: (kind, ref) pairs."""
        if user_id is None:
            return frozenset()
        with self.session() as s:
            return frozenset((kind, ref) for kind, ref in s.execute(
                select(m.UserPost.kind, m.UserPost.ref).where(m.UserPost.user_id == user_id)))

    def post_exists(self, kind: str, ref: str) -> bool:
        """Whether the trip, vehicle or school a post names is the town's."""
        table = {"trip": m.Trip, "vehicle": m.Vehicle, "school": m.School}.get(kind)
        if table is None:
            return False
        with self.session() as s:
            return s.get(table, ref) is not None

    def add_post(self, user_id: int, kind: str, ref: str) -> None:
        """Give an account something to look after (a trip, vehicle or school)."""
        if kind not in POST_KINDS:
            raise ValueError(f"post kind {kind!r}: one of {', '.join(POST_KINDS)}")
        with self.session.begin() as s:
            if s.get(m.UserPost, (user_id, kind, ref)) is None:
                s.add(m.UserPost(user_id=user_id, kind=kind, ref=ref))

    def counts(self) -> dict[str, Any]:
        """How many schools and pupils are registered."""
        with self.session() as s:
            return {"schools": len(s.scalars(select(m.School.code)).all()),
                    "pupils": len(s.scalars(select(m.Pupil.id)).all())}
