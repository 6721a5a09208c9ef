"""Drills (应急演练) in SQL: the town's drill types, drills planned and recorded, and their
follow-ups (each linked to the work order the desk raised for it). Rules are
dashboard/resources/drills.py; the desk (datasources/flows/drill_desk.py) checks and announces.

A drill is recorded once: a conditional UPDATE on (state 'planned', version) settles two
officers recording the same drill at the same moment.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.incidents.errors import BadInput, NotFound
from dashboard.resources.drills import DrillTimes, DrillType, parse_types
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.engine import rows_changed
from datasources.sql.incidents import Store, row_by_id

DRILLS_FILE = "drills.json"


def _day(at: datetime | None) -> str | None:
    return as_utc(at).astimezone(LOCAL_TZ).date().isoformat() if at else None


def drill_types(s: Session) -> list[DrillType]:
    """The town's drill types in their order (the defaults until a town's table is loaded)."""
    rows = list(s.scalars(select(m.DrillType).order_by(m.DrillType.position, m.DrillType.code)))
    if not rows:
        return list(parse_types(None))
    return [DrillType(r.code, r.name, r.name_en, r.window_days) for r in rows]


def last_drills(s: Session, codes: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Per station, per type: the local day of its last held drill."""
    q = (select(m.Drill.station_code, m.Drill.type, func.max(m.Drill.started_at))
         .where(m.Drill.state == "done").group_by(m.Drill.station_code, m.Drill.type))
    if codes is not None:
        q = q.where(m.Drill.station_code.in_(codes))
    out: dict[str, dict[str, str]] = {}
    for station, kind, at in s.execute(q):
        day = _day(at)
        if day:
            out.setdefault(station, {})[kind] = day
    return out


def drill_facts(s: Session, codes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """What the readiness index needs of each station's drills: last day per type, the
    town's windows and the types' names (station_rows puts it in each row as "drills")."""
    types = drill_types(s)
    last = last_drills(s, codes)
    windows = {dt.code: dt.window_days for dt in types}
    names = {dt.code: {"name": dt.name, "name_en": dt.name_en} for dt in types}
    stations = codes if codes is not None else list(s.scalars(select(m.Station.code)))
    return {code: {"last": last.get(code, {}), "windows": windows, "names": names}
            for code in stations}


def _row(d: m.Drill, followups: list[m.DrillFollowup]) -> dict[str, Any]:
    assembly = ((as_utc(d.assembled_at) - as_utc(d.started_at)).total_seconds() / 60
                if d.started_at and d.assembled_at else None)
    arrival = ((as_utc(d.arrived_at) - as_utc(d.started_at)).total_seconds() / 60
               if d.started_at and d.arrived_at else None)
    return {"id": d.id, "station": d.station_code, "type": d.type, "state": d.state,
            "title": d.title, "planned_for": d.planned_for,
            "teams": list(d.teams or []), "workers": list(d.workers or []),
            "villagers": d.villagers,
            "started_at": as_utc(d.started_at) if d.started_at else None,
            "assembled_at": as_utc(d.assembled_at) if d.assembled_at else None,
            "arrived_at": as_utc(d.arrived_at) if d.arrived_at else None,
            "day": _day(d.started_at) or d.planned_for,
            "assembly_min": round(assembly, 1) if assembly is not None else None,
            "arrival_min": round(arrival, 1) if arrival is not None else None,
            "findings": d.findings, "created_by": d.created_by, "recorded_by": d.recorded_by,
            "version": d.version,
            "followups": [{"id": f.id, "text": f.text, "incident_id": f.incident_id}
                          for f in followups]}


class DrillStore:
    """Drill types, drills and follow-ups on the Store's engine."""

    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------------ types
    def types(self) -> list[DrillType]:
        """The town's drill types."""
        with self.store.session() as s:
            return drill_types(s)

    def save_types(self, types: tuple[DrillType, ...] | list[DrillType]) -> None:
        """Replace the town's table of drill types (types of held drills stay readable)."""
        with self.store.session() as s:
            s.query(m.DrillType).delete()
            for i, dt in enumerate(types):
                s.add(m.DrillType(code=dt.code, name=dt.name, name_en=dt.name_en,
                                  window_days=dt.window_days, position=i))

    def ensure(self, town_dir: str | Path | None, now: datetime | None = None) -> int:
        """Load the town's drills.json once: its types, and past drills (the demo's, given
        as days ago) when the record has none yet; returns the drills added."""
        path = Path(town_dir) / DRILLS_FILE if town_dir else None
        if path is None or not path.exists():
            return 0
        raw = json.loads(path.read_text(encoding="utf-8"))
        now = now or utcnow()
        try:
            with self.store.session() as s:
                if s.scalar(select(func.count()).select_from(m.DrillType)):
                    return 0
                for i, dt in enumerate(parse_types(raw.get("types"))):
                    s.add(m.DrillType(code=dt.code, name=dt.name, name_en=dt.name_en,
                                      window_days=dt.window_days, position=i))
                stations = set(s.scalars(select(m.Station.code)))
                added = 0
                for p in raw.get("past", []):
                    if p["station"] not in stations:
                        continue
                    start = now - timedelta(days=int(p["days_ago"]))
                    start = start.replace(minute=0, second=0, microsecond=0)
                    s.add(m.Drill(
                        station_code=p["station"], type=p["type"], state="done",
                        title=p.get("name", ""), planned_for=_day(start) or "",
                        teams=p.get("teams", []), workers=p.get("workers", []),
                        villagers=int(p.get("villagers", 0)), started_at=start,
                        assembled_at=start + timedelta(minutes=float(p["assembly_min"])),
                        arrived_at=start + timedelta(minutes=float(p["arrival_min"]))
                        if p.get("arrival_min") is not None else None,
                        findings=p.get("findings", ""), created_by="demo",
                        recorded_by="demo", created_at=start, recorded_at=start, version=1))
                    added += 1
                return added
        except IntegrityError:
            return 0  # another process loaded the same file at the same moment

    # ------------------------------------------------------------------ drills
    def plan(self, station: str, kind: str, planned_for: str, title: str, teams: list[str],
             workers: list[str], villagers: int, actor: str,
             now: datetime | None = None) -> dict[str, Any]:
        """A drill planned for a day (checked by the desk)."""
        now = now or utcnow()
        with self.store.session() as s:
            if s.get(m.Station, station) is None:
                raise NotFound("no_station", station=station)
            d = m.Drill(station_code=station, type=kind, state="planned", title=title[:100],
                        planned_for=planned_for, teams=teams, workers=workers,
                        villagers=villagers, findings="", created_by=actor[:40],
                        recorded_by="", created_at=now, version=0)
            s.add(d)
            s.flush()
            return _row(d, [])

    def record(self, drill_id: int, times: DrillTimes, teams: list[str], workers: list[str],
               villagers: int, findings: str, followups: list[str], actor: str,
               now: datetime | None = None) -> dict[str, Any]:
        """A planned drill held: its times, who took part, findings and follow-ups, once."""
        now = now or utcnow()
        with self.store.session() as s:
            d = row_by_id(s, m.Drill, drill_id)
            if d is None:
                raise NotFound("no_drill", id=drill_id)
            if d.state != "planned":
                raise BadInput("drill_not_planned", id=drill_id)
            changed = rows_changed(s.execute(update(m.Drill).where(
                m.Drill.id == d.id, m.Drill.state == "planned", m.Drill.version == d.version)
                .values(state="done", started_at=times.started, assembled_at=times.assembled,
                        arrived_at=times.arrived, teams=teams, workers=workers,
                        villagers=villagers, findings=findings, recorded_by=actor[:40],
                        recorded_at=now, version=d.version + 1)))
            if changed != 1:
                raise BadInput("drill_not_planned", id=drill_id)
            rows = [m.DrillFollowup(drill_id=d.id, text=text[:500]) for text in followups]
            s.add_all(rows)
            s.flush()
            s.refresh(d)
            return _row(d, rows)

    def cancel(self, drill_id: int) -> dict[str, Any]:
        """A planned drill called off."""
        with self.store.session() as s:
            d = row_by_id(s, m.Drill, drill_id)
            if d is None:
                raise NotFound("no_drill", id=drill_id)
            changed = rows_changed(s.execute(update(m.Drill).where(
                m.Drill.id == d.id, m.Drill.state == "planned")
                .values(state="cancelled", version=d.version + 1)))
            if changed != 1:
                raise BadInput("drill_not_planned", id=drill_id)
            s.refresh(d)
            return _row(d, [])

    def link_followup(self, followup_id: int, incident_id: int) -> None:
        """The work order raised for a follow-up."""
        with self.store.session() as s:
            s.execute(update(m.DrillFollowup).where(m.DrillFollowup.id == followup_id)
                      .values(incident_id=incident_id))

    def get(self, drill_id: int) -> dict[str, Any]:
        """One drill with its follow-ups."""
        with self.store.session() as s:
            d = row_by_id(s, m.Drill, drill_id)
            if d is None:
                raise NotFound("no_drill", id=drill_id)
            ups = list(s.scalars(select(m.DrillFollowup).where(
                m.DrillFollowup.drill_id == d.id).order_by(m.DrillFollowup.id)))
            return _row(d, ups)

    def drills(self, station: str | None = None, since: str | None = None,
               states: tuple[str, ...] | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Drills (of a station, planned for or held since a day), newest first."""
        q = select(m.Drill)
        if station:
            q = q.where(m.Drill.station_code == station)
        if since:
            q = q.where(m.Drill.planned_for >= since)
        if states:
            q = q.where(m.Drill.state.in_(states))
        with self.store.session() as s:
            rows = list(s.scalars(q.order_by(m.Drill.planned_for.desc(), m.Drill.id.desc())
                                  .limit(limit)))
            ups: dict[int, list[m.DrillFollowup]] = {}
            for f in s.scalars(select(m.DrillFollowup).where(
                    m.DrillFollowup.drill_id.in_([d.id for d in rows]))
                    .order_by(m.DrillFollowup.id)):
                ups.setdefault(f.drill_id, []).append(f)
            return [_row(d, ups.get(d.id, [])) for d in rows]

    def held_on(self, day: str) -> list[dict[str, Any]]:
        """Drills held on a local day YYYY-MM-DD (the daily brief's section), by start."""
        start = as_utc(datetime.fromisoformat(day).replace(tzinfo=LOCAL_TZ))
        with self.store.session() as s:
            ids = list(s.scalars(select(m.Drill.id).where(
                m.Drill.state == "done", m.Drill.started_at >= start,
                m.Drill.started_at < start + timedelta(days=1)).order_by(m.Drill.started_at)))
        return [self.get(i) for i in ids]

    def held_in(self, year: int) -> list[dict[str, Any]]:
        """Drills held in a local year (the figures per station and type)."""
        start = as_utc(datetime(year, 1, 1, tzinfo=LOCAL_TZ))
        end = as_utc(datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ))
        with self.store.session() as s:
            return [_row(d, []) for d in s.scalars(select(m.Drill).where(
                m.Drill.state == "done", m.Drill.started_at >= start,
                m.Drill.started_at < end))]
