"""The daily brief's record, read from SQL, and the brief kept per day in `daily_briefs`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dashboard.i18n.codes import level_label
from dashboard.i18n.text import name
from dashboard.incidents import kpis
from dashboard.resources.stock import Stock
from dashboard.screens.brief import render_html
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.drills import DrillStore
from datasources.sql.incidents import Store
from datasources.sql.kpis import read_facts

MAX_LISTED = 50  # overdue work orders listed with why (the count is never cut)


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """UTC start and end of a local (Asia/Shanghai) day given as YYYY-MM-DD."""
    d = date.fromisoformat(day)  # ValueError on a bad date: the caller answers 400
    start = datetime.combine(d, time(0), tzinfo=LOCAL_TZ)
    return as_utc(start), as_utc(start + timedelta(days=1))


class BriefStore:
    """Builds the day's record, renders it, keeps one brief per day."""

    def __init__(self, store: Store):
        self.store = store

    def record(self, day: str, now: datetime | None = None, lang: str = "zh",
               buses: dict[str, Any] | None = None) -> dict[str, Any]:
        """Figures (dashboard/incidents/kpis.py, the day as the window), overdue and why,
        notable incidents, bus punctuality, stock alerts."""
        now = now or utcnow()
        day_bounds(day)  # ValueError on a bad date
        w = kpis.day_window(date.fromisoformat(day), now)
        with self.store.session() as s:
            facts = read_facts(s, w)
            fig = kpis.figures(facts, w)
            late_facts = sorted((f for f in facts if kpis.is_overdue_in(f, w)),
                                key=lambda f: (f.deadline_at or w.end, f.id))[:MAX_LISTED]
            by_id = {i.id: i for i in s.scalars(select(m.Incident).where(
                m.Incident.id.in_([f.id for f in late_facts])))}
            late = [by_id[f.id] for f in late_facts if f.id in by_id]
            made = list(s.scalars(select(m.Incident).where(m.Incident.created_at >= w.start,
                                                           m.Incident.created_at < w.end)))
            why = {i.id: self._why(s, i, lang) for i in late}
            stock = self._stock(s, now, lang)
            town = s.get(m.TownMeta, "name_en" if lang == "en" else "name")
        notable = []
        for i in made:
            reasons = []
            if i.priority == "urgent":
                reasons.append("紧急" if lang == "zh" else "urgent")
            if i.level and i.level != "grid":
                reasons.append(("升级至" if lang == "zh" else "escalated to ")
                               + level_label(i.level, lang))
            if (i.report_count or 1) >= 3:
                reasons.append(f"{i.report_count}" + ("条上报" if lang == "zh" else " reports"))
            if i.satisfaction is not None and i.satisfaction <= 2:
                reasons.append(("满意度" if lang == "zh" else "satisfaction ")
                               + str(i.satisfaction))
            if reasons:
                notable.append({"ref": i.ref, "title": i.title, "category": i.category,
                                "why": "；".join(reasons)})
        return {
            "day": day, "town": town.value if town else "",
            "generated": as_utc(now).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
            "counts": {**fig.as_dict(), "still_open": fig.still_open},
            "overdue": [{"ref": i.ref, "title": i.title, "category": i.category,
                         "state": i.state, "why": why[i.id]} for i in late],
            "notable": notable[:30], "buses": buses, "stock": stock,
            "drills": self._drills(day, lang),
        }

    def _drills(self, day: str, lang: str) -> list[dict[str, Any]]:
        """Drills held on the day (issue 16): station, type, name, assembly and arrival
        minutes, who took part, the follow-ups' work orders."""
        store = DrillStore(self.store)
        types = {dt.code: {"name": dt.name, "name_en": dt.name_en} for dt in store.types()}
        held = store.held_on(day)
        with self.store.session() as s:
            stations = {st.code: {"name": st.name, "name_en": st.name_en}
                        for st in s.scalars(select(m.Station))}
            ids = [f["incident_id"] for d in held for f in d["followups"] if f["incident_id"]]
            refs = dict(s.execute(select(m.Incident.id, m.Incident.ref)
                                  .where(m.Incident.id.in_(ids))).all())
        return [{"station": name(stations.get(d["station"], {"name": d["station"]}), lang),
                 "type": name(types.get(d["type"], {"name": d["type"]}), lang),
                 "title": d["title"], "assembly": d["assembly_min"],
                 "arrival": d["arrival_min"] if d["arrival_min"] is not None else "—",
                 "people": len(d["teams"]) + len(d["workers"]) + d["villagers"],
                 "followups": "、".join(refs.get(f["incident_id"], "")
                                       for f in d["followups"] if f["incident_id"]) or "—"}
                for d in held]

    @staticmethod
    def _why(s: Any, inc: m.Incident, lang: str) -> str:
        """Why a work order is late: who holds it, how often it was urged, the last step."""
        last = s.scalar(select(m.IncidentEvent).where(m.IncidentEvent.incident_id == inc.id)
                        .order_by(m.IncidentEvent.id.desc()).limit(1))
        parts = []
        if inc.state == "reported":
            parts.append("未受理" if lang == "zh" else "not accepted")
        elif inc.assignee:
            parts.append(("承办：" if lang == "zh" else "held by ") + inc.assignee)
        if inc.urge_count:
            parts.append(f"催办{inc.urge_count}次" if lang == "zh"
                          else f"urged {inc.urge_count}×")
        if last is not None and last.note:
            parts.append(last.note[:60])
        return "；".join(parts) or "—"

    @staticmethod
    def _stock(s: Any, now: datetime, lang: str) -> list[dict[str, Any]]:
        rows = []
        for item, station in s.execute(select(m.InventoryItem, m.Station).join(
                m.Station, m.Station.code == m.InventoryItem.station_code)
                .order_by(m.Station.code, m.InventoryItem.sku)):
            stock = Stock(item.quantity, item.reserved, item.out_quantity, item.min_level,
                          item.expiry)
            reasons = []
            if stock.low:
                reasons.append(f"低于储备{item.min_level}" if lang == "zh"
                                else f"below minimum {item.min_level}")
            if stock.expiring(now):
                reasons.append(("临期 " if lang == "zh" else "expires ") + item.expiry)
            if reasons:
                rows.append({"station": name({"name": station.name, "name_en": station.name_en},
                                             lang),
                             "item": name({"name": item.name, "name_en": item.name_en}, lang),
                             "quantity": f"{stock.available}{item.unit}",
                             "why": "；".join(reasons)})
        return rows

    def generate(self, day: str, now: datetime | None = None, lang: str = "zh",
                 buses: dict[str, Any] | None = None) -> str:
        """Build the day's brief and keep it (today's is rebuilt each time it is asked for)."""
        now = now or utcnow()
        rec = self.record(day, now, lang, buses)
        html = render_html(rec, lang)
        for _attempt in range(2):
            try:
                with self.store.session() as s:
                    row = s.get(m.DailyBrief, day)
                    if row is None:
                        s.add(m.DailyBrief(day=day, figures=rec["counts"], html=html,
                                           created_at=now))
                    else:
                        row.figures, row.html, row.created_at = rec["counts"], html, now
                return html
            except IntegrityError:
                continue  # another process inserted the day first: update theirs
        return html

    def keep_yesterday(self, now: datetime | None = None) -> bool:
        """Make sure yesterday's brief is kept (run periodically); True if it was made now."""
        now = now or utcnow()
        yesterday = (as_utc(now).astimezone(LOCAL_TZ).date() - timedelta(days=1)).isoformat()
        with self.store.session() as s:
            if s.get(m.DailyBrief, yesterday) is not None:
                return False
        self.generate(yesterday, now)
        return True

    def get(self, day: str, now: datetime | None = None, lang: str = "zh",
            buses: dict[str, Any] | None = None) -> str:
        """The kept brief of a past day, generating it the first time; today's, fresh."""
        now = now or utcnow()
        today = as_utc(now).astimezone(LOCAL_TZ).date().isoformat()
        day_bounds(day)
        if day > today:
            raise ValueError(f"{day} has not happened yet")
        if day < today:
            with self.store.session() as s:
                row = s.get(m.DailyBrief, day)
                if row is not None:
                    return row.html
        return self.generate(day, now, lang, buses if day == today else None)

    def days(self, limit: int = 31) -> list[dict[str, Any]]:
        """Briefs kept, newest first, with their headline counts."""
        with self.store.session() as s:
            return [{"day": r.day, "figures": r.figures} for r in s.scalars(
                select(m.DailyBrief).order_by(m.DailyBrief.day.desc()).limit(limit))]
