"""Pure view models: what each panel of a screen shows, computed from the live state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dashboard.grids.views import measure_text
from dashboard.i18n.codes import unit_label
from dashboard.i18n.text import category_label, name, source_label, state_label, t
from dashboard.incidents.kpis import Figures, data_value
from dashboard.incidents.lifecycle import OPEN_STATES, STATE_COLOURS, countdown, is_overdue
from dashboard.messages import IncidentView, VehiclePosition
from dashboard.resources.readiness import readiness
from dashboard.resources.stock import Stock
from dashboard.screens.live import LiveState
from dashboard.timeutil import age_text, as_utc, hhmm, utcnow
from dashboard.town import GridCell

# A state's badge class; its colour is lifecycle.STATE_COLOURS (sent to the page as CSS).
STATE_CLASS = {state: f"st-{state}" for state in STATE_COLOURS}
MOVING_KMH = 3.0
RECENT_MOVE = timedelta(minutes=10)
# The work orders a wall's map marks: the newest, open or not. A wall's page holds about this
# many markers once a town has worked a while (bench/soak.py fills a town to it first).
MAP_MARKERS = 400


def countdown_text(deadline: datetime | None, now: datetime, lang: str) -> str:
    """'剩余 3小时' / '超时 20分钟' style text for a deadline (dashboard/incidents/lifecycle)."""
    if deadline is None:
        return ""
    cd = countdown(deadline, now)
    unit = {"d": ("天", " d"), "h": ("小时", " h"), "m": ("分钟", " min")}[cd.unit]
    label = t("overdue", lang) if cd.overdue else t("left", lang)
    return f"{label} {cd.amount}{unit[1] if lang == 'en' else unit[0]}"


def feed_rows(state: LiveState, grids: Mapping[str, GridCell], lang: str,
              now: datetime, limit: int) -> list[dict[str, Any]]:
    """Rows of the live incident feed, newest first."""
    rows = []
    for inc in state.feed(limit):
        overdue = is_overdue(inc.state, inc.deadline_at, now)
        cell = grids.get(inc.grid or "")
        grid = {"name": cell.name, "name_en": cell.name_en} if cell else {}
        rows.append({
            "id": inc.id, "ref": inc.ref, "title": inc.title,
            "category": category_label(inc.category, lang),
            "source": source_label(inc.source, lang),
            "grid": name(grid, lang) if grid else "—",
            "state": state_label(inc.state, lang), "state_class": STATE_CLASS.get(inc.state, ""),
            "age": age_text(inc.created_at, now, lang), "time": hhmm(inc.created_at),
            "countdown": countdown_text(inc.deadline_at, now, lang)
            if inc.state in OPEN_STATES else "",
            "overdue": overdue, "priority": inc.priority,
        })
    return rows


def incident_rows(state: LiveState, lang: str, now: datetime, limit: int = MAP_MARKERS,
                  memo: dict[int, tuple[IncidentView, list[Any]]] | None = None
                  ) -> list[list[Any]]:
    """Incident markers as compact rows: [id, lon, lat, state, overdue, open, tooltip].
    `memo` (one language's, kept by the caller between builds): each work order's row as
    last built from the same view object (the live state replaces a view when its order
    changes), so only the overdue flag is worked out again; left holding this build's."""
    rows = []
    kept: dict[int, tuple[IncidentView, list[Any]]] = {}
    for inc in state.feed(limit):
        held = memo.get(inc.id) if memo is not None else None
        if held is not None and held[0] is inc:
            row = held[1]
        else:
            tip = (f"{inc.ref} {category_label(inc.category, lang)} · {inc.title} · "
                   f"{state_label(inc.state, lang)}")
            row = [inc.id, round(inc.lon, 6), round(inc.lat, 6), inc.state, False,
                   inc.state in OPEN_STATES, tip]
        overdue = is_overdue(inc.state, inc.deadline_at, now)
        if row[4] != overdue:
            row = [*row[:4], overdue, *row[5:]]
        kept[inc.id] = (inc, row)
        rows.append(row)
    if memo is not None:
        memo.clear()
        memo.update(kept)
    return rows


def bus_rows(positions: list[VehiclePosition]) -> list[list[Any]]:
    """Compact bus rows for the map: [plate, lon, lat, heading, km/h, route, onboard]."""
    return [[p.plate, round(p.lon, 6), round(p.lat, 6), round(p.heading),
             round(p.speed_kmh), p.route or "", p.onboard] for p in positions]


def _kpi(key: str, label: str, measure: str, window: str, figures: Figures | None,
         lang: str, tone: str = "") -> dict[str, Any]:
    """One KPI card: its text, and the measure, window and raw value for the DOM."""
    raw = figures.value(measure) if figures is not None else None
    if raw is None and measure in ("received", "closed", "open", "overdue"):
        raw = 0
    return {"key": key, "label": t(label, lang), "value": measure_text(measure, raw, lang),
            "kpi": measure, "window": window, "raw": data_value(raw), "tone": tone}


def kpi_cards(state: LiveState, lang: str, now: datetime) -> list[dict[str, Any]]:
    """The KPI strip (wall and console): today's figures, this month's satisfaction and
    received, live buses and rejected messages; every figure from dashboard/incidents/kpis."""
    k = state.kpis
    today = k.today if k else None
    month = k.month if k else None
    overdue = today.overdue if today else 0
    moving = sum(1 for p in state.vehicles.values() if p.speed_kmh >= MOVING_KMH)
    return [
        _kpi("received", "kpi_received", "received", "today", today, lang),
        _kpi("closed", "kpi_closed", "closed", "today", today, lang),
        _kpi("close_rate", "kpi_close_rate", "close_rate", "today", today, lang),
        _kpi("open", "kpi_open", "open", "today", today, lang),
        _kpi("overdue", "kpi_overdue", "overdue", "today", today, lang,
             tone="alarm" if overdue else ""),
        _kpi("avg_hours", "kpi_avg_hours", "avg_hours", "today", today, lang),
        _kpi("satisfaction", "kpi_satisfaction", "satisfaction", "month", month, lang),
        _kpi("month", "kpi_month", "received", "month", month, lang),
        {"key": "buses", "label": t("kpi_buses", lang),
         "value": f"{moving}/{len(state.vehicles)}"},
        {"key": "rejected", "label": t("kpi_rejected", lang), "value": state.rejected_total(),
         "tone": "warn" if state.rejected_total() else ""},
    ]


def station_cards(state: LiveState, lang: str,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Per station: key stock (what is reserved or out first, then lowest against minimum),
    teams out and their status, people on duty, shelter places and the readiness level."""
    now = now or utcnow()
    recent = (as_utc(now) - RECENT_MOVE).isoformat()
    cards = []
    for st in state.stations:
        rd = readiness(st, lang, now)
        # What is reserved or out first, then what moved in the last minutes (so a return
        # is seen), then the lowest against its minimum.
        items = sorted(st["items"], key=lambda i: (
            not (i.get("reserved") or i.get("out")),
            -datetime.fromisoformat(i["moved_at"]).timestamp()
            if (i.get("moved_at") or "") > recent else 0.0,
            Stock.of(i).fill()))
        low = [i for i in items if Stock.of(i).low]
        cards.append({
            "code": st["code"], "name": name(st, lang),
            "kind": t("centre", lang) if st["kind"] == "centre" else t("area", lang),
            "level": rd["level"], "level_text": t(f"rd_{rd['level']}", lang),
            "reasons": " · ".join(rd["reasons"][:3]),
            "items": [{"sku": i["sku"], "name": name(i, lang), "quantity": Stock.of(i).available,
                       "unit": (" " if lang == "en" else "")  # JS writes quantity + unit
                       + unit_label(i["unit"], lang, Stock.of(i).available),
                       "low": Stock.of(i).low,
                       "held": " ".join(x for x in (
                           f"{t('reserved_short', lang)}{i['reserved']}"
                           if i.get("reserved") else "",
                           f"{t('out_short', lang)}{i['out']}" if i.get("out") else "") if x)}
                      for i in items[:4]],
            "teams": [{"code": tm["code"], "name": name(tm, lang),
                       "status": tm.get("status", "standby"),
                       "text": t(f"team_{tm.get('status', 'standby')}", lang)}
                      for tm in st["teams"] if tm.get("status", "standby") != "standby"],
            "low_count": len(low),
            "foot": [
                {"text": f"{t('teams_on_duty', lang)} {rd['on_duty']}/"
                         f"{sum(tm['members'] for tm in st['teams'])}"},
                {"text": f"{t('shelter_free', lang)} {rd['shelter_free']}"},
                {"text": f"{t('vehicles_free', lang)} {rd['vehicles']}"},
                {"text": f"{t('low_stock', lang)} {len(low)}", "cls": "st-alert"} if low
                else {"text": t("stock_ok", lang), "cls": "st-ok"},
            ],
        })
    return cards


def gap_line(state: LiveState, lang: str) -> dict[str, str]:
    """The wall's gap badge: open while messages may have been missed (since when, in
    local time), then how many history steps the catch-up filled; empty otherwise."""
    if state.gap_since is not None:
        return {"text": t("gap_open", lang).format(since=hhmm(state.gap_since, seconds=True)),
                "tone": "gap warn"}
    if state.caught_up is not None:
        return {"text": t("gap_filled", lang).format(rows=state.caught_up), "tone": "gap ok"}
    return {"text": "", "tone": "gap"}


def status_line(state: LiveState, lang: str) -> dict[str, Any]:
    """Connection state and sequence number for the header."""
    if state.connected and not state.db_ok:
        return {"text": t("status_stale", lang), "tone": "warn", "seq": state.seq}
    if state.connected:
        return {"text": t("status_live", lang), "tone": "ok", "seq": state.seq}
    text = t("status_reconnecting", lang) if state.resyncs else t("status_connecting", lang)
    return {"text": text, "tone": "warn", "seq": state.seq}
