"""The one read behind 分析研判 (the quarterly analysis): the work orders of a range, the one
before it and the same range a year earlier, their report points, bus alerts, stock alerts
and resource dispatches; the rules are dashboard/incidents/analysis.py (volumes through the
KPI rule, the evaluation through dashboard/incidents/evaluation.py)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from dashboard.incidents import analysis as an
from dashboard.incidents import kpis
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql import models as m
from datasources.sql.evaluation import EvaluationStore, unit_names
from datasources.sql.incidents import Store
from datasources.sql.kpis import read_facts

MAX_HOT = 30  # hot spots listed (the count is never cut)
MAX_RECURRING = 20


def _bus_kind(source_ref: str | None) -> str:
    """The alert kind of a bus work order's source_ref 'bus:{plate}:{kind}:{ts}'."""
    parts = (source_ref or "").split(":")
    return parts[2] if len(parts) >= 4 and parts[0] == "bus" else "other"


class AnalysisStore:
    """Builds the analysis record of a range: one read, then the pure rules."""

    def __init__(self, store: Store, evaluation: EvaluationStore):
        self.store = store
        self.evaluation = evaluation

    def record(self, ps: an.Periods, now: datetime | None = None) -> dict[str, Any]:
        """Every figure of the analysis as plain data (the page, the .docx and the .pdf
        draw it; names stay codes, the renderers label them in the language)."""
        now = as_utc(now or utcnow())
        ps = an.cut(ps, now)
        span = kpis.span(p.window() for p in ps.all())
        earliest = span.start - timedelta(days=an.HOT_DAYS) - (ps.current.end - ps.current.start)
        with self.store.session() as s:
            facts = read_facts(s, span)
            rows = s.execute(select(
                m.Incident.id, m.Incident.created_at, m.Incident.category, m.Incident.source,
                m.Incident.source_ref, m.Incident.lon, m.Incident.lat, m.Incident.grid_code,
                m.Incident.state).where(m.Incident.created_at >= earliest,
                                        m.Incident.created_at < span.end)).all()
            grid_names = unit_names(s, "grid")
            alerts = s.execute(select(m.StockAlert.kind, m.StockAlert.opened_at)
                               .where(m.StockAlert.opened_at >= span.start,
                                      m.StockAlert.opened_at < span.end)).all()
            sends = s.execute(select(m.ResourceDispatch.station_code,
                                     m.ResourceDispatch.created_at, m.ResourceDispatch.state)
                              .where(m.ResourceDispatch.created_at >= span.start,
                                     m.ResourceDispatch.created_at < span.end)).all()
            stations = {c: (n, e or n) for c, n, e in s.execute(
                select(m.Station.code, m.Station.name, m.Station.name_en))}
            town = {k: v for k, v in s.execute(select(m.TownMeta.key, m.TownMeta.value)
                                               .where(m.TownMeta.key.in_(("name", "name_en"))))}
            first_report = s.scalar(select(func.min(m.Incident.created_at)))
        category = {r.id: r.category for r in rows}
        source = {r.id: r.source for r in rows}
        points = [an.ReportPoint(r.id, as_utc(r.created_at), r.category, r.lon, r.lat,
                                 r.grid_code, r.state) for r in rows]
        cur, prev = ps.current, ps.previous
        # The previous period's points with its own 30 days before it say what recurs.
        before = [pt for pt in points if pt.created_at < prev.end]
        spots = an.hot_spots([pt for pt in points if pt.created_at < cur.end], cur, before)
        ev_cur, names = self.evaluation.evaluate("village", cur.start, cur.end, now=now)
        ev_prev, _ = self.evaluation.evaluate("village", prev.start, prev.end, now=now)
        changes = an.grade_changes(ev_cur, ev_prev)

        def within(p: an.Period, at: datetime) -> bool:
            return p.start <= as_utc(at) < p.end

        bus = {p.key: dict(Counter(_bus_kind(r.source_ref) for r in rows
                                   if r.source == "bus" and r.state != "void"
                                   and within(p, r.created_at))) for p in ps.all()}
        return {
            "label": ps.label, "town": town,
            "generated": now.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
            "first_report": as_utc(first_report).isoformat() if first_report else None,
            "periods": {p.key: {"start": p.start.isoformat(), "end": p.end.isoformat(),
                                "days": (p.end - p.start).days} for p in ps.all()},
            "figures": {p.key: kpis.figures(facts, p.window()).as_dict() for p in ps.all()},
            "categories": {p.key: an.volumes(facts, p, category) for p in ps.all()},
            "sources": {p.key: an.volumes(facts, p, source) for p in ps.all()},
            "weekly": {p.key: an.weekly(facts, p) for p in (cur, prev)},
            "hot_count": len(spots),
            "hot_spots": [{"category": h.category, "grid": h.grid,
                           "grid_name": grid_names.get(h.grid or "", (h.grid or "",) * 2),
                           "lon": h.lon, "lat": h.lat, "count": h.count,
                           "first": h.first.isoformat(), "last": h.last.isoformat(),
                           "recurring": h.recurring, "ids": list(h.ids)}
                          for h in spots[:MAX_HOT]],
            "recurring": [{**r, "grid_name": grid_names.get(str(r["grid"]),
                                                            (str(r["grid"]),) * 2)}
                          for r in an.recurring(points, cur)[:MAX_RECURRING]],
            "evaluation": {"kind": "village", "names": names, "changes": changes,
                           "current": ev_cur, "previous": ev_prev},
            "bus_alerts": bus,
            "stock_alerts": {p.key: dict(Counter(k for k, at in alerts if within(p, at)))
                             for p in ps.all()},
            "dispatches": {p.key: sum(1 for _c, at, _s in sends if within(p, at))
                           for p in ps.all()},
            "dispatch_stations": dict(Counter(c for c, at, _s in sends if within(cur, at))),
            "stations": stations,
        }
