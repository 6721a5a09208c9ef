"""The evaluation table (综合评价) as text and as plain rows, in zh or en: what the CLI prints
and the leader view draws, from dashboard/incidents/evaluation (nothing is computed here)."""

from __future__ import annotations

import unicodedata
from typing import Any

from dashboard.incidents.evaluation import LABELS, Evaluation, Indicators, Row
from dashboard.timeutil import LOCAL_TZ

# The columns of the table, in order: the counts first, then the standard's indicators.
COLUMNS: tuple[str, ...] = (
    "cases", "close_rate", "on_time_close_rate", "handle_rate", "on_time_handle_rate",
    "rework_rate", "extend_rate", "overdue_open_rate", "on_time_dispatch_rate",
    "accurate_dispatch_rate", "satisfaction", "satisfied_rate", "avg_accept_min",
    "avg_dispatch_min", "avg_handle_h", "avg_verify_h", "overdue_multiple")
KIND_LABELS: dict[str, tuple[str, str]] = {
    "grid": ("网格", "Grid"), "village": ("村(社区)", "Village"), "worker": ("承办人", "Assignee"),
    "unit": ("承办单位", "Unit")}
_RATES = {c for c in COLUMNS if c.endswith("_rate")}


def label(key: str, lang: str) -> str:
    """An indicator's (or column's) name in the language."""
    zh, en = LABELS.get(key) or KIND_LABELS.get(key) or (key, key)
    return en if lang == "en" else zh


def figure(ind: Indicators, key: str) -> str:
    """One indicator as the table shows it: shares in %, 1 decimal; '—' for none."""
    value = getattr(ind, key)
    if value is None:
        return "—"
    if key in _RATES:
        return f"{100 * value:.1f}%"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


def unit_label(unit: str, names: dict[str, tuple[str, str]], lang: str) -> str:
    """A unit's name (grid or village by code; an assignee is their name)."""
    if unit == "*":
        return "全镇" if lang != "en" else "Town"
    zh, en = names.get(unit, (unit, unit))
    return en if lang == "en" else zh


def rows(ev: Evaluation, names: dict[str, tuple[str, str]], lang: str) -> list[dict[str, Any]]:
    """Plain rows (rank, unit, score, grade and every column), the town's last."""
    def one(r: Row) -> dict[str, Any]:
        return {"rank": r.rank or "", "unit": unit_label(r.unit, names, lang),
                "code": r.unit, "score": r.score, "grade": r.grade,
                **{c: figure(r.indicators, c) for c in COLUMNS}}
    return [one(r) for r in ev.rows] + [one(ev.town)]


def red_list(ev: Evaluation, names: dict[str, tuple[str, str]],
             lang: str) -> list[dict[str, Any]]:
    """红灯: each unit with work orders overdue and not handled (超期待处置数), the most
    first; the units with none are not listed."""
    red = [{"code": r.unit, "unit": unit_label(r.unit, names, lang),
            "n": r.indicators.overdue_open} for r in ev.rows if r.indicators.overdue_open]
    return sorted(red, key=lambda x: (-x["n"], x["unit"]))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def text_table(ev: Evaluation, names: dict[str, tuple[str, str]], lang: str) -> str:
    """The evaluation as a text table for a terminal: a title line, the weights, one line
    per unit ranked by score, and the town's line."""
    fmt = "%Y-%m-%d %H:%M"
    start, end = (ev.start.astimezone(LOCAL_TZ), ev.end.astimezone(LOCAL_TZ))
    weights = " + ".join(
        (f"(1−{label(k[2:], lang)})" if k.startswith("1-") else label(k, lang)) + f"×{w:g}"
        for k, w in ev.weights.items())
    title = (f"综合评价（{label(ev.kind, lang)}）{start:{fmt}} 至 {end:{fmt}}，"
             f"截至 {ev.at.astimezone(LOCAL_TZ):{fmt}}" if lang != "en" else
             f"Evaluation by {label(ev.kind, lang).lower()}, {start:{fmt}} to {end:{fmt}}, "
             f"as of {ev.at.astimezone(LOCAL_TZ):{fmt}}")
    score_head = "得分 = " if lang != "en" else "Score = "
    head = ["#", label(ev.kind, lang), label("score", lang), label("grade", lang),
            *(label(c, lang) for c in COLUMNS)]
    body = [[str(r["rank"]), str(r["unit"]), "—" if r["score"] is None else f"{r['score']:.1f}",
             r["grade"], *(r[c] for c in COLUMNS)] for r in rows(ev, names, lang)]
    widths = [max(_width(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = [title, score_head + weights, ""]
    for n, line in enumerate([head, *body]):
        if n == len(body):  # the town's line, under a rule
            lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        lines.append("  ".join(_pad(x, w, i != 1) for i, (x, w) in enumerate(
            zip(line, widths, strict=True))))
    return "\n".join(lines)
