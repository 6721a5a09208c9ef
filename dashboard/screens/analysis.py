"""分析研判 as the screens and the files show it: the range a leader asks for, parsed and
bounded, and the analysis record (datasources/sql/analysis.py) as labelled rows and as an
office report (dashboard/screens/document.py). Nothing is computed here but labels and
percentages of change."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from dashboard.grids.views import measure_text
from dashboard.i18n.text import category_label, source_label, t
from dashboard.incidents.analysis import Periods, change_pct, compare
from dashboard.incidents.errors import BadInput
from dashboard.inputs import MAX_YEAR, MIN_YEAR, echo, parse_day, text_param
from dashboard.screens import evaluation as ev_screen
from dashboard.screens.document import Document, Section, Table, none_text, numbered
from dashboard.timeutil import LOCAL_TZ

MAX_RANGE_DAYS = 366  # a year: the three periods' read stays bounded
ARROWS = {"up": "↑", "down": "↓", "same": "→", "new": "·"}
# The overview's measures (the KPI rule's names and labels).
OVERVIEW = (("received", "ld_received"), ("closed", "ld_closed"),
            ("close_rate", "ld_close_rate"), ("overdue", "ld_overdue"),
            ("avg_hours", "ld_avg_hours"), ("satisfaction", "ld_satisfaction"))
EVAL_COLUMNS = ("cases", "close_rate", "on_time_handle_rate", "rework_rate",
                "satisfaction")
BUS_KINDS = ("overspeed", "off_route", "unscheduled_stop", "signal_lost", "late_departure",
             "sos")
PERIOD_KEYS = ("current", "previous", "last_year")


def parse_quarter(text: str) -> tuple[date, date]:
    """'2026Q4' → its first local day and the first day after it; BadInput('bad_quarter')
    for anything else, or a year outside the accepted calendar (2000–2099)."""
    q = text.strip().upper()
    if (len(q) != 6 or q[4] != "Q" or not q[:4].isdigit() or q[5] not in "1234"
            or not MIN_YEAR <= int(q[:4]) <= MAX_YEAR):
        raise BadInput("bad_quarter", value=echo(text), min=MIN_YEAR, max=MAX_YEAR)
    year, n = int(q[:4]), int(q[5])
    return date(year, 3 * n - 2, 1), date(year + (n == 4), 1 if n == 4 else 3 * n + 1, 1)


def quarter_of(day: date) -> str:
    """The quarter a local day falls in, as '2026Q4'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def default_quarter(now: datetime) -> str:
    """The quarter a leader sees first: the current one (it is compared with the last)."""
    return quarter_of(now.astimezone(LOCAL_TZ).date())


def periods(quarter: Any = None, from_day: Any = None, to_day: Any = None) -> Periods:
    """The range asked for (a quarter, or from/to local days, `to` included) and the two
    it is compared with. Bad input is a coded BadInput (400): bad_quarter, bad_date (year
    1 or 9999), range_mixed, range_reversed, range_long."""
    quarter = text_param(quarter, "quarter")
    if quarter and quarter.strip():
        if from_day or to_day:
            raise BadInput("range_mixed")
        first, after = parse_quarter(quarter)
        return compare(quarter.strip().upper(), first, after)
    first = parse_day(from_day, "from")
    last = parse_day(to_day, "to")
    if last < first:
        raise BadInput("range_reversed", start=first.isoformat(), end=last.isoformat())
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise BadInput("range_long", days=MAX_RANGE_DAYS)
    return compare(f"{first.isoformat()} – {last.isoformat()}", first,
                   last + timedelta(days=1))


def period_text(rec: dict[str, Any], key: str) -> str:
    """'2026-10-01 – 2026-12-31' of one of the record's periods (local days, end included);
    a range cut at now ends with the time: '2026-10-01 – 2026-12-05 15:53'."""
    p = rec["periods"][key]
    lo = datetime.fromisoformat(p["start"]).astimezone(LOCAL_TZ).date()
    end = datetime.fromisoformat(p["end"]).astimezone(LOCAL_TZ)
    if end.time().replace(microsecond=0) == time(0):
        hi = (end.date() - timedelta(days=1)).isoformat()
    else:
        hi = end.strftime("%Y-%m-%d %H:%M")
    return f"{lo.isoformat()} – {hi}"


def pct_text(value: float | None) -> str:
    """A change in percent as '+12.5%', '−3.0%', or '—'."""
    if value is None:
        return "—"
    return f"{value:+.1f}%".replace("-", "−")


def covered(rec: dict[str, Any], key: str) -> bool:
    """Whether the records reach back to the start of a period: a change against a period
    the records only partly cover says nothing ('—'), e.g. last year's before the history."""
    first = rec.get("first_report")
    return first is None or datetime.fromisoformat(first) <= \
        datetime.fromisoformat(rec["periods"][key]["start"])


def _changes(rec: dict[str, Any], n: list[Any]) -> list[str]:
    """The change on the previous period and on last year's ('—' where not covered)."""
    return [pct_text(change_pct(n[0], n[i])) if covered(rec, key) else "—"
            for i, key in ((1, "previous"), (2, "last_year"))]


def coverage_note(rec: dict[str, Any], lang: str) -> str:
    """'记录始于 2025-12-04' when a compared period starts before the records, else ''."""
    if all(covered(rec, k) for k in ("previous", "last_year")) or not rec.get("first_report"):
        return ""
    day = datetime.fromisoformat(rec["first_report"]).astimezone(LOCAL_TZ).date()
    return t("an_history_from", lang).format(day=day.isoformat())


def overview_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Per KPI measure: this period, previous, last year, and the two changes."""
    f = rec["figures"]
    out = []
    for key, label in OVERVIEW:
        vals = [f[p].get(key) for p in PERIOD_KEYS]
        out.append([t(label, lang), *(measure_text(key, v, lang) for v in vals),
                    *_changes(rec, vals)])
    return out


def volume_rows(rec: dict[str, Any], what: str, lang: str) -> list[list[str]]:
    """Per category (or source): received in each period and the two changes; the
    current period's order, then codes seen only before."""
    vol = rec[what]
    keys = list(vol["current"]) + sorted({k for p in ("previous", "last_year")
                                          for k in vol[p]} - set(vol["current"]))
    label = category_label if what == "categories" else source_label
    rows = []
    for k in keys:
        n = [vol[p].get(k, 0) for p in PERIOD_KEYS]
        rows.append([label(k, lang), *(str(x) for x in n), *_changes(rec, n)])
    totals = [sum(vol[p].values()) for p in PERIOD_KEYS]
    if rows:
        rows.append([t("an_total", lang), *(str(x) for x in totals),
                     *_changes(rec, totals)])
    return rows


def compare_head(first: str, lang: str) -> list[str]:
    """The header of a three-period comparison table."""
    return [first, t("an_current", lang), t("an_previous", lang), t("an_last_year", lang),
            t("an_change_prev", lang), t("an_change_year", lang)]


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%Y-%m-%d")


def hot_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Hot spots: category, grid, place, reports, first, last, recurring."""
    yes = "是" if lang == "zh" else "yes"
    return [[category_label(h["category"], lang),
             h["grid_name"][1 if lang == "en" else 0] if h["grid"] else "—",
             f"{h['lat']:.5f}, {h['lon']:.5f}", str(h["count"]), _local(h["first"]),
             _local(h["last"]), yes if h["recurring"] else ""] for h in rec["hot_spots"]]


def hot_head(lang: str) -> list[str]:
    """The hot spots' header."""
    return [t("br_category", lang), t("an_grid", lang), t("an_place", lang),
            t("an_reports", lang), t("an_first", lang), t("an_last", lang),
            t("an_recurs", lang)]


def recurring_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Recurring problems: grid, category, weeks, reports."""
    return [[r["grid_name"][1 if lang == "en" else 0], category_label(r["category"], lang),
             str(r["weeks"]), str(r["reports"])] for r in rec["recurring"]]


def recurring_head(lang: str) -> list[str]:
    """The recurring problems' header."""
    return [t("an_grid", lang), t("br_category", lang), t("an_weeks", lang),
            t("an_reports", lang)]


def eval_rows(rec: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """The evaluation's rows (dashboard/screens/evaluation.rows) with the previous grade
    and the direction of change; the town's last."""
    ev = rec["evaluation"]
    out = []
    for r in ev_screen.rows(ev["current"], ev["names"], lang):
        ch = ev["changes"].get(r["code"], {})
        out.append({**r, "prev_grade": ch.get("prev_grade") or "—",
                    "change": ch.get("change", "new"),
                    "arrow": ARROWS[ch.get("change", "new")]})
    return out


def eval_head(lang: str) -> list[str]:
    """The evaluation table's header."""
    return ["#", ev_screen.label("village", lang), ev_screen.label("score", lang),
            ev_screen.label("grade", lang), t("an_prev_grade", lang), t("an_change", lang),
            *(ev_screen.label(c, lang) for c in EVAL_COLUMNS)]


def eval_table_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """The evaluation table as text cells."""
    return [[str(r["rank"]), str(r["unit"]),
             "—" if r["score"] is None else f"{r['score']:.1f}", r["grade"], r["prev_grade"],
             r["arrow"], *(str(r[c]) for c in EVAL_COLUMNS)] for r in eval_rows(rec, lang)]


def bus_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Bus alerts by kind in each period, with the changes; kinds with none anywhere left
    out."""
    b = rec["bus_alerts"]
    kinds = [k for k in BUS_KINDS if any(b[p].get(k) for p in PERIOD_KEYS)]
    kinds += sorted({k for p in PERIOD_KEYS for k in b[p]} - set(BUS_KINDS))
    rows = []
    for k in kinds:
        n = [b[p].get(k, 0) for p in PERIOD_KEYS]
        name = t(f"ba_{k}", lang) if k in BUS_KINDS else t("an_other", lang)
        rows.append([name, *(str(x) for x in n), *_changes(rec, n)])
    return rows


def resource_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Stock alerts raised (low, expiry) and resource dispatches in each period."""
    rows = []
    for label, get in (("an_stock_low", lambda p: rec["stock_alerts"][p].get("low", 0)),
                       ("an_stock_expiry",
                        lambda p: rec["stock_alerts"][p].get("expiry", 0)),
                       ("an_dispatches", lambda p: rec["dispatches"][p])):
        n = [int(get(p)) for p in PERIOD_KEYS]
        rows.append([t(label, lang), *(str(x) for x in n), *_changes(rec, n)])
    return rows


def station_rows(rec: dict[str, Any], lang: str) -> list[list[str]]:
    """Resource dispatches of the current period per station."""
    names = rec["stations"]
    return [[names.get(c, (c, c))[1 if lang == "en" else 0], str(n)]
            for c, n in sorted(rec["dispatch_stations"].items(), key=lambda kv: -kv[1])]


def document(rec: dict[str, Any], lang: str) -> Document:
    """The analysis as an office report: overview, volumes, hot spots, recurring problems,
    evaluation, buses, resources."""
    def table(head: list[str], rows: list[list[str]]) -> list[Table]:
        return [Table(head, rows)] if rows else []

    def para(rows: list[list[str]]) -> list[str]:
        return [] if rows else [none_text(lang)]

    cmp = compare_head
    parts = [
        (t("an_overview", lang), overview_rows(rec, lang), cmp(t("an_measure", lang), lang)),
        (t("an_by_category", lang), volume_rows(rec, "categories", lang),
         cmp(t("br_category", lang), lang)),
        (t("an_by_source", lang), volume_rows(rec, "sources", lang),
         cmp(t("an_source", lang), lang)),
        (t("an_hot_spots", lang), hot_rows(rec, lang), hot_head(lang)),
        (t("an_recurring", lang), recurring_rows(rec, lang), recurring_head(lang)),
        (t("an_evaluation", lang), eval_table_rows(rec, lang), eval_head(lang)),
        (t("an_buses", lang), bus_rows(rec, lang), cmp(t("an_bus_kind", lang), lang)),
        (t("an_resources", lang), resource_rows(rec, lang), cmp(t("an_measure", lang), lang)),
    ]
    sections = [Section(numbered(i + 1, head, lang), para(rows), table(cols, rows))
                for i, (head, rows, cols) in enumerate(parts)]
    sections[0].paragraphs[:0] = [
        f"{t('an_current', lang)}：{period_text(rec, 'current')}；"
        f"{t('an_previous', lang)}：{period_text(rec, 'previous')}；"
        f"{t('an_last_year', lang)}：{period_text(rec, 'last_year')}"
        if lang == "zh" else
        f"{t('an_current', lang)}: {period_text(rec, 'current')}; "
        f"{t('an_previous', lang)}: {period_text(rec, 'previous')}; "
        f"{t('an_last_year', lang)}: {period_text(rec, 'last_year')}"]
    note = coverage_note(rec, lang)
    if note:
        sections[0].paragraphs.insert(1, note)
    sections[6].paragraphs.append(t("an_bus_note", lang))
    if rec["dispatch_stations"]:
        sections[7].tables.append(Table([t("br_station", lang), t("an_dispatch_station", lang)],
                                        station_rows(rec, lang)))
    town = rec["town"].get("name_en" if lang == "en" else "name") or ""
    slug = rec["label"].replace(" – ", "_")
    return Document(office=town, title=f"{t('an_report_title', lang)}（{rec['label']}）"
                    if lang == "zh" else f"{t('an_report_title', lang)} ({rec['label']})",
                    date_line=f"{t('an_generated', lang)} {rec['generated']}",
                    sections=sections, lang=lang, filename=f"analysis-{slug}")
