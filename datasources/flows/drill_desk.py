"""The drill desk (应急演练): plan a drill for a station and type, record it when held, and
raise each follow-up as a work order through the intake (source "drill", the same path as
every report: grid placement, deadlines, dedup, the console's queue). Recording a drill
re-announces the station so every screen's readiness follows; each step is audited.

Everything typed is checked here with the rules of dashboard/resources/drills.py and
dashboard/inputs.py; a refusal is a BadInput/NotFound the page shows in its language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from dashboard.incidents.errors import BadInput, NotFound
from dashboard.inputs import parse_day, parse_id, parse_instant, plain_text, text_param
from dashboard.messages import IncidentReport
from dashboard.resources.drills import (
    MAX_TEXT,
    check_participants,
    check_times,
    clean_lines,
    followup_category,
    mean_assembly,
    type_of,
    year_figures,
)
from dashboard.timeutil import LOCAL_TZ, local_date, utcnow
from datasources.flows.intake import Intake
from datasources.flows.resource_desk import ResourceDesk
from datasources.sql import models as m
from datasources.sql.drills import DrillStore
from datasources.sql.incidents import Store

MAX_FINDINGS = 2000


class DrillDesk:
    """Plans and records drills; follow-ups become work orders in the loop."""

    def __init__(self, store: Store, intake: Intake, resources: ResourceDesk):
        self.store = store
        self.drills = DrillStore(store)
        self.intake = intake
        self.resources = resources

    # ------------------------------------------------------------------ reading
    def known(self) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
        """Stations (code -> name, lon, lat), team codes and grid worker ids of the town."""
        with self.store.session() as s:
            stations = {st.code: {"name": st.name, "name_en": st.name_en, "lon": st.lon,
                                  "lat": st.lat} for st in s.scalars(select(m.Station))}
            teams = set(s.scalars(select(m.Team.code)))
            workers = set(s.scalars(select(m.GridWorker.id)))
        return stations, teams, workers

    def figures(self, now: datetime | None = None) -> dict[str, Any]:
        """This year's held drills per (station, type) and the mean assembly minutes."""
        now = now or utcnow()
        year = local_date(now).year
        held = self.drills.held_in(year)
        return {"year": year, "cells": year_figures(held, year),
                "mean_assembly": mean_assembly(held, year), "count": len(held)}

    # ------------------------------------------------------------------ steps
    def plan(self, station: Any, kind: Any, planned_for: Any, title: Any, teams: Any,
             workers: Any, villagers: Any, actor: str) -> dict[str, Any]:
        """A drill planned for a station, type and day, with its participants."""
        stations, team_codes, worker_ids = self.known()
        code = text_param(station, "station")
        if code not in stations:
            raise NotFound("no_station", station=code or "")
        dt = type_of(text_param(kind, "drill_type"), self.drills.types())
        day = parse_day(planned_for, "planned_for")
        text = plain_text(title, "drill_title")
        if len(text) > 100:
            raise BadInput("drill_line_long", name="drill_title", max=100)
        t_list, w_list, n = check_participants(_ids(teams, "team"), _ids(workers, "grid_worker"),
                                               villagers, team_codes, worker_ids)
        row = self.drills.plan(code, dt.code, day.isoformat(), text, t_list, w_list, n, actor)
        self.intake.audit_step("drill.plan", f"{code}/{dt.code}",
                               f"#{row['id']} {day.isoformat()} {text}", actor)
        return row

    def record(self, drill_id: Any, started: Any, assembled: Any, arrived: Any, teams: Any,
               workers: Any, villagers: Any, findings: Any, followups: Any, actor: str,
               now: datetime | None = None) -> dict[str, Any]:
        """A planned drill held: times checked, who took part, findings; each follow-up a
        work order (source "drill"); the station re-announced for its readiness."""
        now = now or utcnow()
        did = parse_id(drill_id, "drill")
        times = check_times(parse_instant(started, "started", naive=LOCAL_TZ),
                            parse_instant(assembled, "assembled", naive=LOCAL_TZ),
                            parse_instant(arrived, "arrived", naive=LOCAL_TZ)
                            if arrived not in (None, "") else None, now)
        stations, team_codes, worker_ids = self.known()
        t_list, w_list, n = check_participants(_ids(teams, "team"), _ids(workers, "grid_worker"),
                                               villagers, team_codes, worker_ids)
        if not t_list and not w_list and not n:
            raise BadInput("drill_nobody")
        text = plain_text(findings, "findings")
        if len(text) > MAX_FINDINGS:
            raise BadInput("drill_line_long", name="findings", max=MAX_FINDINGS)
        lines = clean_lines(followups)
        row = self.drills.record(did, times, t_list, w_list, n, text, lines, actor, now)
        self.intake.audit_step("drill.record", f"{row['station']}/{row['type']}",
                               f"#{did} assembly {row['assembly_min']} min, "
                               f"{len(lines)} follow-ups", actor)
        st = stations[row["station"]]
        for up in row["followups"]:
            ref = self._file(row, up, st)
            if ref is not None:
                up["incident_id"], up["ref"] = ref
        self.resources.announce(row["station"])
        return row

    def cancel(self, drill_id: Any, actor: str) -> dict[str, Any]:
        """A planned drill called off (kept, counted nowhere)."""
        row = self.drills.cancel(parse_id(drill_id, "drill"))
        self.intake.audit_step("drill.cancel", f"{row['station']}/{row['type']}",
                               f"#{row['id']}", actor)
        return row

    def _file(self, drill: dict[str, Any], up: dict[str, Any],
              st: dict[str, Any]) -> tuple[int, str] | None:
        """One follow-up into the loop, as any report comes in."""
        kind = next((dt for dt in self.drills.types() if dt.code == drill["type"]), None)
        label = kind.name if kind else drill["type"]
        title = f"演练整改：{st['name']} {label}演练"
        report = IncidentReport(source="drill", source_ref=f"drill:{drill['id']}:{up['id']}",
                                category=followup_category(drill["type"]), priority="normal",
                                title=title[:100], description=up["text"][:MAX_TEXT],
                                lon=st["lon"], lat=st["lat"])
        outcome = self.intake.handle(report)
        incident = outcome.event.incident if outcome.event else None
        if incident is None:
            return None
        self.drills.link_followup(up["id"], incident.id)
        return incident.id, incident.ref


def _ids(value: Any, name: str) -> list[Any]:
    """A list of ids from a form (a dropdown's list, or one id); anything else refused."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or len(value) > 200:
        raise BadInput("drill_unknown", name=name, value=str(type(value).__name__))
    return value
