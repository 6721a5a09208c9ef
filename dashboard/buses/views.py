"""View models of the /buses page: the day's trips, a bus's stops and staff, replay frames."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dashboard.buses.board import delay_text, punctuality_text, status_colour, status_label
from dashboard.buses.timetable import local_date, runs_on, trip_window
from dashboard.buses.tracking import TripPlan
from dashboard.timeutil import LOCAL_TZ, as_utc, hhmm

STAFF_ROLES: tuple[tuple[str, str, str], ...] = (
    ("driver", "驾驶员", "Driver"), ("escort", "随车照管员", "Escort"),
    ("teacher", "跟车教师", "Teacher"), ("police", "护学民警", "Police officer"),
    ("warden", "交通劝导员", "Traffic warden"),
)


def bus_slug(plate: str) -> str:
    """An ASCII class name for a bus marker (plates hold Chinese characters and dots)."""
    return "zn-bus-" + hashlib.sha1(plate.encode()).hexdigest()[:8]


def day_trips(plans: dict[str, TripPlan], rows: dict[str, dict[str, Any]],
              finished: dict[str, dict[str, Any]], now: datetime, lang: str,
              holidays: frozenset = frozenset()) -> list[dict[str, Any]]:
    """Every trip running today with its bus and punctuality, in departure order.

    A trip a bus is on shows that bus; one not left by its time is not_started (never
    late); a finished trip keeps the lateness it arrived with.
    """
    day = local_date(now)
    live = {r["trip"]: r for r in rows.values() if r.get("trip")}
    out = []
    for plan in plans.values():
        if not runs_on(plan.days, day, holidays):
            continue
        times = plan.times_on(day)
        done = finished.get(f"{day}:{plan.code}")
        row = live.get(plan.code)
        if row is not None:
            status, delay, plate = row["status"], row.get("delay_min"), row["plate"]
        elif done is not None:
            status, delay, plate = "done", done["delay_s"] / 60.0, done["plate"]
        elif as_utc(now) < times[0]:
            status, delay, plate = "scheduled", None, ""
        else:
            status, delay, plate = ("no_data" if as_utc(now) > trip_window(times)[1]
                                    else "not_started"), None, ""
        out.append({
            "trip": plan.code, "route": plan.route,
            "route_name": plan.route_name_en if lang == "en" and plan.route_name_en
            else plan.route_name,
            "direction": plan.direction, "departs": hhmm(times[0]), "arrives": hhmm(times[-1]),
            "plate": plate, "status": status, "status_label": status_label(status, lang),
            "delay_text": delay_text(delay, lang), "colour": status_colour(status),
            "punctuality": punctuality_text(status, delay, lang),
        })
    out.sort(key=lambda r: (r["departs"], r["route"]))
    return out


def staff_rows(staff: dict[str, str], vehicle: dict[str, Any] | None,
               lang: str) -> list[tuple[str, str]]:
    """(role, name) of everyone responsible on board and on the route (定人)."""
    people = dict(staff or {})
    if vehicle:
        people["driver"] = vehicle.get("driver") or people.get("driver", "")
        people["escort"] = vehicle.get("escort") or people.get("escort", "")
    return [(zh if lang == "zh" else en, people[key])
            for key, zh, en in STAFF_ROLES if people.get(key)]


def stop_rows(detail: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """A trip's stops: name, timetable, ETA (or passed)."""
    out = []
    for s in detail.get("stops", []):
        name = s["name_en"] if lang == "en" and s.get("name_en") else s["name"]
        eta = s.get("eta")
        out.append({"name": name, "scheduled": hhmm(datetime.fromisoformat(s["scheduled"])),
                    "eta": hhmm(datetime.fromisoformat(eta)) if eta else "",
                    "passed": "✓" if s.get("passed") else ""})
    return out


def replay_at(track: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    """The replayed fix at a slider position, with its local time."""
    if not track:
        return None
    fix = track[max(0, min(index, len(track) - 1))]
    at = datetime.fromisoformat(fix["at"])
    return {**fix, "time": as_utc(at).astimezone(LOCAL_TZ).strftime("%H:%M:%S")}


def staff_with_phones(staff: dict[str, str], vehicle: dict[str, Any] | None, lang: str,
                      phone: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """(role, name, phone) of the staff of a bus's trip: the driver's phone from the bus's
    record, through `phone` (the caller's one phone rule); "" where none is on record."""
    phones = {"driver": (vehicle or {}).get("phone") or ""}
    people = dict(staff or {})
    if vehicle:
        people["driver"] = vehicle.get("driver") or people.get("driver", "")
        people["escort"] = vehicle.get("escort") or people.get("escort", "")
    return [(zh if lang == "zh" else en, people[key], phone(phones.get(key, "")))
            for key, zh, en in STAFF_ROLES if people.get(key)]
