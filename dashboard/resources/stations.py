"""A station's 一部三室, teams' members and vehicles as the administrator keeps them (issue
16), pure: what a room, a member or a vehicle count may be. The stations themselves (the
town centre and the four area stations) are the resources' (datasources/sql/resources.py);
their readiness reads the rooms' state (dashboard/resources/readiness.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.incidents.errors import BadInput
from dashboard.inputs import echo, phone_number, plain_text, whole_number

# 应急指挥部, 应急物资储备室, 临时医疗救助室 (capacity: beds), 受灾群众临时安置室.
ROOM_KINDS = ("command", "supplies", "medical", "shelter")
# A room in use, in use with limits (a broken pump, half the beds), or out of use.
ROOM_STATES = ("ready", "limited", "closed")
MEMBER_ROLES = ("leader", "member", "medic")
MAX_CAPACITY = 100_000
MAX_VEHICLES = 200
MAX_SKILLS = 10
MAX_NOTE = 200


@dataclass(frozen=True)
class RoomEdit:
    """A room's figures and state as saved."""

    kind: str
    capacity: int
    occupancy: int
    state: str
    note: str


def check_room(kind: Any, capacity: Any, occupancy: Any, state: Any, note: Any) -> RoomEdit:
    """A room's edit: a known kind and state, a capacity (beds of the medical room, places of
    the shelter) and an occupancy within it; the note plain text."""
    if kind not in ROOM_KINDS:
        raise BadInput("st_bad_room", value=echo(kind))
    if state not in ROOM_STATES:
        raise BadInput("st_bad_state", value=echo(state))
    cap = whole_number(0 if capacity in (None, "") else capacity, "capacity", 0, MAX_CAPACITY)
    occ = whole_number(0 if occupancy in (None, "") else occupancy, "occupancy", 0, MAX_CAPACITY)
    if occ > cap:
        raise BadInput("st_over_capacity", n=occ, cap=cap)
    text = plain_text(note, "note")
    if len(text) > MAX_NOTE:
        raise BadInput("drill_line_long", name="note", max=MAX_NOTE)
    return RoomEdit(kind, cap, occ, state, text)


@dataclass(frozen=True)
class MemberEdit:
    """A team member as saved: name for display, phone by the one phone rule, skills."""

    name: str
    role: str
    phone: str
    skills: list[str]
    on_duty: bool


def check_member(name: Any, role: Any, phone: Any, skills: Any, on_duty: Any) -> MemberEdit:
    """A new member: a name (1-40 plain characters), a known role, a phone (required:
    the station calls its people), up to 10 skills separated by commas or 、."""
    who = plain_text(name, "member_name")
    if not who or len(who) > 40:
        raise BadInput("st_bad_name", value=echo(who))
    if role not in MEMBER_ROLES:
        raise BadInput("st_bad_role", value=echo(role))
    tel = phone_number(phone, "phone", required=True)
    raw = plain_text(skills, "skills").replace("、", ",").replace("，", ",")
    listed = [s.strip() for s in raw.split(",") if s.strip()]
    if len(listed) > MAX_SKILLS or any(len(s) > 20 for s in listed):
        raise BadInput("st_bad_skills", max=MAX_SKILLS)
    return MemberEdit(who, str(role), tel, list(dict.fromkeys(listed)), bool(on_duty))


def check_vehicles(value: Any) -> int:
    """A station's vehicle count (0-200)."""
    return whole_number(value, "vehicles", 0, MAX_VEHICLES)


def rooms_closed(station: dict[str, Any]) -> list[dict[str, Any]]:
    """The station's rooms out of use (read by the readiness index)."""
    return [r for r in station.get("rooms") or [] if r.get("state") == "closed"]
