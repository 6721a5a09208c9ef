"""The bus punctuality board: rows for the wall panel and the /buses page, from LiveState.trips."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.timeutil import hhmm

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "not_started": ("未发车", "Not started"),
    "early": ("提前", "Early"),
    "on_time": ("准点", "On time"),
    "late": ("晚点", "Late"),
    "done": ("已到达", "Arrived"),
}
_ORDER = {"late": 0, "early": 1, "on_time": 2, "not_started": 3, "done": 4}


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
    """'晚7分' / '7 min late' for early or late buses, else the status ('准点', 'Arrived')."""
    if status in ("early", "late"):
        return delay_text(delay_min, lang) or status_label(status, lang)
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
        "status": row.get("status", "not_started"),
        "status_label": status_label(row.get("status", "not_started"), lang),
        "delay_min": row.get("delay_min"),
        "delay_text": delay_text(row.get("delay_min"), lang),
        "punctuality": punctuality_text(row.get("status", "not_started"), row.get("delay_min"),
                                        lang),
        "load": load,
        "load_text": f"{round(load * 100)}%" if load is not None else "",
    }


def bus_board_rows(state: Any, lang: str) -> list[dict[str, Any]]:
    """Rows of every bus with a trip today: late first, then by route and trip."""
    rows = [board_row(r, lang) for r in state.trips.values() if r.get("trip")]
    rows.sort(key=lambda r: (_ORDER.get(r["status"], 9), r["route"] or "", r["trip"] or "",
                             r["plate"]))
    return rows
