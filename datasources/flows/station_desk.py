"""The station desk (/admin, issue 16): a station's 一部三室, its teams' members and its
vehicles edited by the administrator. Each edit is checked (dashboard/resources/stations.py),
saved, audited and then announced (the resources' "stations" topic), so the wall, /resources
and the console's recommendation show it at once."""

from __future__ import annotations

from typing import Any

from dashboard.inputs import parse_id, text_param
from dashboard.resources.stations import check_member, check_room, check_vehicles
from datasources.flows.resource_desk import ResourceDesk
from datasources.sql.stations import StationRecords


class StationDesk:
    """Rooms, members and vehicles: check, save, audit, announce."""

    def __init__(self, resources: ResourceDesk):
        self.resources = resources
        self.records = StationRecords(resources.store)

    def _done(self, action: str, target: str, detail: str, actor: str, station: str) -> None:
        self.resources.intake.audit_step(action, target, detail, actor)
        if station:
            self.resources.announce(station)

    def save_room(self, station: Any, kind: Any, capacity: Any, occupancy: Any, state: Any,
                  note: Any, actor: str) -> dict[str, Any]:
        """One room's capacity, occupancy, state and note."""
        code = text_param(station, "station") or ""
        edit = check_room(kind, capacity, occupancy, state, note)
        out = self.records.save_room(code, edit)
        self._done("station.room", f"{code}/{edit.kind}",
                   f"{edit.occupancy}/{edit.capacity} {edit.state} {edit.note}".strip(),
                   actor, code)
        return out

    def add_member(self, team: Any, name: Any, role: Any, phone: Any, skills: Any,
                   on_duty: Any, actor: str) -> int:
        """A new member of a team; returns the member's id."""
        code = text_param(team, "team") or ""
        edit = check_member(name, role, phone, skills, on_duty)
        station, member_id = self.records.add_member(code, edit)
        self._done("station.member.add", code, f"#{member_id} {edit.name} {edit.role}",
                   actor, station)
        return member_id

    def toggle_duty(self, member: Any, actor: str) -> bool:
        """A member on or off duty."""
        station, who, on = self.records.toggle_duty(parse_id(member, "member"))
        self._done("station.member.duty", f"member {member}", f"{who} on_duty={on}", actor,
                   station)
        return on

    def remove_member(self, member: Any, actor: str) -> None:
        """A member leaves the team."""
        station, who = self.records.remove_member(parse_id(member, "member"))
        self._done("station.member.remove", f"member {member}", who, actor, station)

    def set_vehicles(self, station: Any, value: Any, actor: str) -> int:
        """The station's vehicle count."""
        code = text_param(station, "station") or ""
        n = check_vehicles(value)
        self.records.set_vehicles(code, n)
        self._done("station.vehicles", code, str(n), actor, code)
        return n
