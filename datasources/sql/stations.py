"""A station's 一部三室, teams' members and vehicles as the administrator edits them (issue
16). Rules are dashboard/resources/stations.py; the station desk (datasources/flows/
station_desk.py) checks, audits and announces. Stock, dispatches and the readiness rows stay
datasources/sql/resources.py's.

A team's counts (members, on duty) follow its roster when it has one, so the readiness index
and the console's recommendation read the same people the roster lists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dashboard.incidents.errors import NotFound
from dashboard.resources.stations import MemberEdit, RoomEdit
from datasources.sql import models as m
from datasources.sql.incidents import Store, row_by_id


def _sync_team(s: Session, team: str) -> None:
    """The team's members and on-duty counts from its roster."""
    duty = list(s.scalars(select(m.TeamMember.on_duty).where(m.TeamMember.team_code == team)))
    s.execute(update(m.Team).where(m.Team.code == team)
              .values(members=len(duty), on_duty=sum(1 for d in duty if d)))


class StationRecords:
    """Rooms, members and vehicles of the stations on the Store's engine."""

    def __init__(self, store: Store):
        self.store = store

    def rooms(self, station: str) -> list[dict[str, Any]]:
        """The station's rooms in their order, with state and note."""
        with self.store.session() as s:
            return [{"id": r.id, "kind": r.kind, "name": r.name, "name_en": r.name_en,
                     "capacity": r.capacity, "occupancy": r.occupancy, "state": r.state,
                     "note": r.note} for r in s.scalars(select(m.Room).where(
                         m.Room.station_code == station).order_by(m.Room.id))]

    def save_room(self, station: str, edit: RoomEdit) -> dict[str, Any]:
        """Save one room of the station (by kind)."""
        with self.store.session() as s:
            room = s.scalar(select(m.Room).where(m.Room.station_code == station,
                                                 m.Room.kind == edit.kind))
            if room is None:
                raise NotFound("no_station", station=station)
            room.capacity, room.occupancy = edit.capacity, edit.occupancy
            room.state, room.note = edit.state, edit.note
            return {"station": station, "kind": edit.kind, "name": room.name}

    def teams(self, station: str) -> list[dict[str, Any]]:
        """The station's teams (code, names, counts)."""
        with self.store.session() as s:
            return [{"code": t.code, "name": t.name, "name_en": t.name_en, "members": t.members,
                     "on_duty": t.on_duty} for t in s.scalars(select(m.Team).where(
                         m.Team.station_code == station).order_by(m.Team.code))]

    def members(self, team: str) -> list[dict[str, Any]]:
        """A team's roster."""
        with self.store.session() as s:
            return [{"id": p.id, "name": p.name, "role": p.role, "phone": p.phone,
                     "skills": list(p.skills or []), "on_duty": p.on_duty}
                    for p in s.scalars(select(m.TeamMember).where(
                        m.TeamMember.team_code == team).order_by(m.TeamMember.id))]

    def add_member(self, team: str, edit: MemberEdit) -> tuple[str, int]:
        """A new member of a team; returns the team's station and the member's id."""
        with self.store.session() as s:
            row = s.get(m.Team, team)
            if row is None:
                raise NotFound("no_team", team=team)
            p = m.TeamMember(team_code=team, name=edit.name, role=edit.role, phone=edit.phone,
                             skills=edit.skills, on_duty=edit.on_duty)
            s.add(p)
            s.flush()
            _sync_team(s, team)
            return row.station_code, p.id

    def _member(self, s: Session, member_id: Any) -> m.TeamMember:
        p = row_by_id(s, m.TeamMember, member_id)
        if p is None:
            raise NotFound("no_member", id=str(member_id))
        return p

    def toggle_duty(self, member_id: int) -> tuple[str, str, bool]:
        """A member on or off duty; returns station, name and the new state."""
        with self.store.session() as s:
            p = self._member(s, member_id)
            p.on_duty = not p.on_duty
            s.flush()
            _sync_team(s, p.team_code)
            team = s.get(m.Team, p.team_code)
            return team.station_code if team else "", p.name, p.on_duty

    def remove_member(self, member_id: int) -> tuple[str, str]:
        """A member leaves the team; returns station and name."""
        with self.store.session() as s:
            p = self._member(s, member_id)
            team, who = p.team_code, p.name
            s.delete(p)
            s.flush()
            _sync_team(s, team)
            row = s.get(m.Team, team)
            return row.station_code if row else "", who

    def set_vehicles(self, station: str, n: int) -> None:
        """The station's vehicle count."""
        with self.store.session() as s:
            st = s.get(m.Station, station)
            if st is None:
                raise NotFound("no_station", station=station)
            st.vehicles = n
