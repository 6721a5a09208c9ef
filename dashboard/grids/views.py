"""View models of the grid heatmap page: figures as text, tooltips, legend, breadcrumb."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.grids.stats import HIGHER_IS_BETTER
from dashboard.i18n.figures import duration_text
from dashboard.i18n.text import name, t
from dashboard.incidents.kpis import TIER_SHARES, Figures, data_value
from dashboard.town import GridCell


def measure_text(measure: str, value: Any, lang: str) -> str:
    """A measure's value as shown: '95.4%', '3.5小时', '4.62', '12', or '—'."""
    if value is None:
        return "—"
    if measure == "close_rate" or measure in TIER_SHARES:
        return f"{value:.1f}%"
    if measure == "avg_hours":
        return duration_text(value, lang)
    if measure == "satisfaction":
        return f"{value:.2f}"
    return str(int(value))


def measure_label(measure: str, lang: str) -> str:
    """A grid measure's name: the KPIs' (gs_m_…), the tier shares' own (小事不出格率 …)."""
    if measure in TIER_SHARES:
        zh, en, _ = TIER_SHARES[measure]
        return en if lang == "en" else zh
    return t(f"gs_m_{measure}", lang)


def _workers_on_duty(cell: GridCell, cells: Mapping[str, GridCell],
                     on_duty: Mapping[str, str]) -> list[str]:
    if cell.level == 3:
        return [on_duty[cell.code]] if cell.code in on_duty else []
    kids = [c for c in cells.values() if c.parent == cell.code]
    out: list[str] = []
    for kid in sorted(kids, key=lambda c: c.code):
        out += _workers_on_duty(kid, cells, on_duty)
    return out


def grid_tips(figures: Mapping[str, Figures], cells: Mapping[str, GridCell],
              on_duty: Mapping[str, str], lang: str) -> dict[str, str]:
    """Hover text per grid: name, every measure, grid leader and workers on duty."""
    tips = {}
    for code, f in figures.items():
        cell = cells.get(code)
        if cell is None:
            continue
        duty = _workers_on_duty(cell, cells, on_duty)
        shown = "、".join(duty[:4]) + (f" … ({len(duty)})" if len(duty) > 4 else "")
        leader = cell.leader.get("name", "") if cell.leader else ""
        lines = [name({"name": cell.name, "name_en": cell.name_en}, lang)]
        lines += [f"{measure_label(k, lang)}: {measure_text(k, f.value(k), lang)}"
                  for k in ("received", "open", "overdue", "close_rate", "avg_hours",
                            "satisfaction", "in_grid")]
        lines.append(f"{t('gs_leader', lang)}: {leader or '—'}")
        lines.append(f"{t('gs_on_duty', lang)}: {shown or '—'}")
        tips[code] = "\n".join(lines)
    return tips


def total_cards(totals: Figures, window: str, lang: str) -> list[dict[str, Any]]:
    """The side panel's totals of the grids in view: label, text, measure and raw value."""
    return [{"kpi": k, "window": window, "label": t(f"ld_{k}", lang),
             "value": measure_text(k, totals.value(k), lang),
             "raw": data_value(totals.value(k))}
            for k in TOTAL_MEASURES]


# The side panel's totals, as on every screen's KPI strip.
TOTAL_MEASURES = ("received", "closed", "close_rate", "overdue", "avg_hours", "satisfaction")


def legend_rows(legend: list[dict[str, Any]], measure: str, lang: str) -> list[dict[str, Any]]:
    """Legend lines: colour, the range in the measure's units, and how many grids."""
    rows = []
    for row in legend:
        if row["to"] is None:
            label = t("gs_no_data", lang)
        elif row["from"] is None or row["from"] == row["to"]:
            label = measure_text(measure, row["to"], lang)
        else:
            label = (f"{measure_text(measure, row['from'], lang)} – "
                     f"{measure_text(measure, row['to'], lang)}")
        rows.append({"colour": row["colour"], "label": label, "grids": row["grids"]})
    return rows


def crumbs(path: list[str], cells: Mapping[str, GridCell], lang: str) -> list[dict[str, Any]]:
    """Breadcrumb of the drill-down: the town, then each grid clicked, with where it leads."""
    out = [{"label": t("gs_town", lang), "level": 1, "path": []}]
    for depth, code in enumerate(path):
        cell = cells.get(code)
        label = name({"name": cell.name, "name_en": cell.name_en}, lang) if cell else code
        out.append({"label": label, "level": depth + 2, "path": path[: depth + 1]})
    return out


def ranking(figures: Mapping[str, Figures], cells: Mapping[str, GridCell],
            measure: str, lang: str, limit: int = 13) -> list[dict[str, Any]]:
    """Grids ordered by the measure, worst first (for rates: lowest first)."""
    better_high = measure in HIGHER_IS_BETTER
    present = [(c, v) for c, v in ((c, f.value(measure)) for c, f in figures.items())
               if v is not None]
    present.sort(key=lambda cv: (cv[1] if better_high else -cv[1], cv[0]))
    out = []
    for code, value in present[:limit]:
        cell = cells.get(code)
        out.append({"code": code, "value": measure_text(measure, value, lang),
                    "name": name({"name": cell.name, "name_en": cell.name_en}, lang)
                    if cell else code})
    return out
