"""The bus punctuality board: rows for the wall panel and the /buses page, from LiveState.trips."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.timeutil import hhmm

# Every status a trip or a bus can have, once: its label in both languages and its colour
# (the board, the bus detail and the trip table all read this table).
STATUSES: dict[str, tuple[str, str, str]] = {
    "scheduled": ("待发车", "Scheduled", "#9fb6cf"),
    "not_started": ("未发车", "Not started", "#ff9f43"),
    "early": ("提前", "Early", "#ffd400"),
    "on_time": ("准点", "On time", "#3ddc84"),
    "late": ("晚点", "Late", "#ff5a5a"),
    "done": ("已到达", "Arrived", "#8fa3b8"),
    "no_data": ("无数据", "No data", "#8fa3b8"),
    "idle": ("无运行班次", "No trip now", "#8fa3b8"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {k: (zh, en) for k, (zh, en, _) in STATUSES.items()}
_ORDER = {s: n for n, s in enumerate(("late", "not_started", "early", "on_time", "scheduled",
                                      "done", "no_data", "idle"))}


def status_colour(status: str) -> str:
    """The status's colour on every bus screen."""
    return STATUSES[status][2] if status in STATUSES else "#8fa3b8"


def status_label(status: str, lang: str) -> str:
    """The status in the screen's language."""
    zh, en = STATUS_LABELS.get(status, (status, status))
    return zh if lang == "zh" else en


def delay_text(delay_min: float | None, lang: str) -> str:
    """'晚 4 分' / '4 min late', '早 2 分' / '2 min early', '' when on the minute or unknown."""
    if delay_min is None or abs(delay_min) < 1:
        return ""
    n = round(abs(delay_min))
    if delay_min > 0:
        return f"晚{n}分" if lang == "zh" else f"{n} min late"
    return f"早{n}分" if lang == "zh" else f"{n} min early"


def punctuality_text(status: str, delay_min: float | None, lang: str) -> str:
    """'晚7分' / '7 min late' for early or late buses; an arrived trip keeps its lateness
    ('已到达 晚4分'); else the status ('准点', '未发车')."""
    if status in ("early", "late"):
        return delay_text(delay_min, lang) or status_label(status, lang)
    if status == "done" and delay_text(delay_min, lang):
        return f"{status_label(status, lang)} {delay_text(delay_min, lang)}"
    return status_label(status, lang)


def board_row(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """One LiveState.trips row, localised for display."""
    en = lang != "zh"
    eta = row.get("eta_next")
    load = row.get("load")
    return {
        "plate": row["plate"],
        "route": row.get("route"),
        "route_name": (row.get("route_name_en") if en else None) or row.get("route_name") or "",
        "trip": row.get("trip"),
        "next_stop": (row.get("next_stop_en") if en else None) or row.get("next_stop") or "",
        "eta_next": hhmm(datetime.fromisoformat(eta)) if eta else "",
        "status": row.get("status", "idle"),
        "status_label": status_label(row.get("status", "idle"), lang),
        "delay_min": row.get("delay_min"),
        "delay_text": delay_text(row.get("delay_min"), lang),
        "punctuality": punctuality_text(row.get("status", "idle"), row.get("delay_min"), lang),
        "colour": status_colour(row.get("status", "idle")),
        "load": load,
        "load_text": f"{round(load * 100)}%" if load is not None else "",
    }


def bus_board_rows(state: Any, lang: str) -> list[dict[str, Any]]:
    """Rows of every bus with a trip today: late first, then by route and trip."""
    rows = [board_row(r, lang) for r in state.trips.values() if r.get("trip")]
    rows.sort(key=lambda r: (_ORDER.get(r["status"], 9), r["route"] or "", r["trip"] or "",
                             r["plate"]))
    return rows
