"""Station readiness (pure): shortages, expiry, shelter, people and vehicles -> one indicator.

The stock rules themselves (available, low, expiring) are dashboard/resources/stock.py.

`readiness_rows` is shared by the wall's station panel and the /resources page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.i18n.codes import unit_label
from dashboard.i18n.text import name, t
from dashboard.resources.drills import overdue
from dashboard.resources.stations import rooms_closed
from dashboard.resources.stock import Stock, days_left
from dashboard.timeutil import local_date

# A shelter with less than this share of its places free is a warning, none free is red.
SHELTER_WARN_SHARE = 0.2
OUT_STATUSES = ("en_route", "on_scene", "returning")
LEVELS = ("green", "amber", "red")


def vehicles_free(station: dict[str, Any]) -> int:
    """Station vehicles not out with a team."""
    out = sum(int(tm.get("vehicles", 0)) for tm in station["teams"]
              if tm.get("status") in OUT_STATUSES)
    return max(int(station.get("vehicles", 0)) - out, 0)


def readiness(station: dict[str, Any], lang: str, now: datetime) -> dict[str, Any]:
    """One station's readiness: level green/amber/red and the reasons it is not green."""
    low = [i for i in station["items"] if Stock.of(i).low]
    empty = [i for i in low if Stock.of(i).empty]
    soon = [i for i in station["items"] if Stock.of(i).expiring(now)]
    on_duty = sum(int(tm["on_duty"]) for tm in station["teams"]
                  if tm.get("status", "standby") == "standby")
    teams_out = [tm for tm in station["teams"] if tm.get("status") in OUT_STATUSES]
    vehicles = vehicles_free(station)
    shelter_free = int(station.get("shelter", 0))
    capacity = int(station.get("shelter_capacity", 0))
    red: list[str] = []
    amber: list[str] = []
    for i in empty:
        red.append(t("rd_empty", lang).format(item=name(i, lang)))
    for i in low:
        if i not in empty:
            amber.append(t("rd_low", lang).format(item=name(i, lang), n=Stock.of(i).available,
                                                 min=i["min_level"],
                                                 unit=unit_label(i["unit"], lang, i["min_level"])))
    for i in soon:
        left = days_left(i["expiry"], now)
        key = "rd_expired" if left < 0 else "rd_expiring"
        (red if left < 0 else amber).append(t(key, lang).format(item=name(i, lang), d=left))
    if on_duty == 0:
        red.append(t("rd_no_people", lang))
    if vehicles == 0:
        red.append(t("rd_no_vehicle", lang))
    if capacity and shelter_free <= 0:
        red.append(t("rd_shelter_full", lang))
    elif capacity and shelter_free < capacity * SHELTER_WARN_SHARE:
        amber.append(t("rd_shelter_low", lang).format(n=shelter_free))
    if teams_out:
        amber.append(t("rd_teams_out", lang).format(n=len(teams_out)))
    for room in rooms_closed(station):  # issue 16: a room the administrator closed
        amber.append(t("rd_room_closed", lang).format(room=name(room, lang)))
    amber += drill_reasons(station, lang, now)
    level = "red" if red else "amber" if amber else "green"
    return {"code": station["code"], "name": name(station, lang), "level": level,
            "reasons": red + amber, "low": len(low), "expiring": len(soon),
            "shelter_free": shelter_free, "on_duty": on_duty, "vehicles": vehicles}


def drill_reasons(station: dict[str, Any], lang: str, now: datetime) -> list[str]:
    """Amber reasons for the drill types a station is overdue for (issue 16): none held
    within the town's window, or none ever; nothing when the row carries no drill facts."""
    facts = station.get("drills")
    if not facts:
        return []
    out = []
    for code, since in overdue(facts["last"], facts["windows"], local_date(now)):
        kind = name(facts["names"].get(code) or {"name": code}, lang)
        if since is None:
            out.append(t("rd_drill_never", lang).format(type=kind))
        else:
            out.append(t("rd_drill_old", lang).format(type=kind, d=since,
                                                      w=facts["windows"][code]))
    return out


def readiness_rows(stations: list[dict[str, Any]], lang: str, now: datetime) -> list[dict]:
    """One readiness row per station: code, name, level, reasons, low, expiring,
    shelter_free, on_duty, vehicles."""
    return [readiness(st, lang, now) for st in stations]
