"""The duty daily brief (值班日报): a printable HTML page built from one day's record."""

from __future__ import annotations

from html import escape
from typing import Any

from dashboard.grids.views import measure_text
from dashboard.i18n.text import category_label, state_label, t
from dashboard.incidents.kpis import data_value
from dashboard.screens.document import Document, Section, Table, none_text, numbered

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 24px;
  color: #111; max-width: 900px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; border-bottom: 2px solid #333;
  padding-bottom: 2px; margin-top: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
td, th { border: 1px solid #999; padding: 4px 6px; text-align: left; vertical-align: top; }
.figures td { font-size: 18px; text-align: center; } .figures th { text-align: center; }
.muted { color: #666; font-size: 13px; } .none { color: #666; }
@media print { body { margin: 10mm; } a { display: none; } }
"""


def _table(head: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f'<p class="none">{escape(empty)}</p>'
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


# The brief's figures, in order: (measure, label); the day is the window of each.
FIGURE_COLUMNS = (("received", "ld_received"), ("closed", "ld_closed"),
                  ("close_rate", "ld_close_rate"), ("still_open", "br_still_open"),
                  ("overdue", "ld_overdue"), ("avg_hours", "ld_avg_hours"),
                  ("satisfaction", "ld_satisfaction"))


def _figures(counts: dict[str, Any], lang: str) -> str:
    """The figures row; each cell carries data-kpi and its raw data-value, as on the screens."""
    th = "".join(f"<th>{escape(t(label, lang))}</th>" for _, label in FIGURE_COLUMNS)
    cells = []
    for key, _ in FIGURE_COLUMNS:
        raw = counts.get(key)
        value = data_value(raw)
        text = measure_text("received" if key == "still_open" else key, raw, lang)
        cells.append(f'<td data-kpi="{key}" data-window="day" data-value="{escape(value)}">'
                     f"{escape(text)}</td>")
    return (f'<table class="figures"><thead><tr>{th}</tr></thead>'
            f'<tbody><tr>{"".join(cells)}</tr></tbody></table>')


def render_html(record: dict[str, Any], lang: str = "zh") -> str:
    """The brief as one self-contained HTML page (print it, or save it as PDF)."""
    figures = _figures(record["counts"], lang)
    overdue = _table(
        [t("br_ref", lang), t("br_title", lang), t("br_category", lang), t("br_state", lang),
         t("br_why", lang)],
        [[o["ref"], o["title"], category_label(o["category"], lang),
          state_label(o["state"], lang), o["why"]] for o in record["overdue"]],
        t("br_none", lang))
    notable = _table(
        [t("br_ref", lang), t("br_title", lang), t("br_category", lang), t("br_why", lang)],
        [[n["ref"], n["title"], category_label(n["category"], lang), n["why"]]
         for n in record["notable"]], t("br_none", lang))
    bus = record.get("buses")
    if bus and bus.get("available"):
        bus_html = _table([t("br_on_time_rate", lang)] + [x["label"] for x in bus["counts"]],
                          [[f"{bus['rate']}%" if bus["rate"] is not None else "—"]
                           + [x["n"] for x in bus["counts"]]], "")
    else:
        bus_html = f'<p class="none">{escape((bus or {}).get("text") or t("br_no_bus", lang))}</p>'
    stock = _table([t("br_station", lang), t("br_item", lang), t("br_qty", lang),
                    t("br_why", lang)],
                   [[s["station"], s["item"], s["quantity"], s["why"]] for s in record["stock"]],
                   t("br_none", lang))
    drills = _table(*_drill_table(record, lang), t("br_none", lang))
    town = escape(record.get("town") or "")
    return (f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
            f'<meta charset="utf-8"><title>{town} {escape(t("br_title_page", lang))} '
            f'{escape(record["day"])}</title><style>{CSS}</style></head><body>'
            f'<h1>{town} {escape(t("br_title_page", lang))} · {escape(record["day"])}</h1>'
            f'<p class="muted">{escape(t("br_generated", lang))} {escape(record["generated"])}'
            f'</p><h2>{escape(t("br_counts", lang))}</h2>{figures}'
            f'<h2>{escape(t("br_overdue", lang))}</h2>{overdue}'
            f'<h2>{escape(t("br_notable", lang))}</h2>{notable}'
            f'<h2>{escape(t("br_buses", lang))}</h2>{bus_html}'
            f'<h2>{escape(t("br_stock", lang))}</h2>{stock}'
            f'<h2>{escape(t("br_drills", lang))}</h2>{drills}</body></html>')


def _drill_table(record: dict[str, Any], lang: str) -> tuple[list[str], list[list[Any]]]:
    """The drills held on the day (issue 16): head and rows, for the page and the files."""
    head = [t("br_station", lang), t("br_drill_type", lang), t("dr_title_in", lang),
            t("br_drill_assembly", lang), t("dr_col_arrival", lang), t("dr_col_people", lang),
            t("br_drill_followups", lang)]
    rows = [[d["station"], d["type"], d["title"], d["assembly"], d["arrival"], d["people"],
             d["followups"]] for d in record.get("drills") or []]
    return head, rows


def document(record: dict[str, Any], lang: str = "zh") -> Document:
    """The brief as an office report (the same record and sections as the HTML page):
    figures, overdue and why, notable incidents, buses, stock alerts."""
    counts = record["counts"]
    figures = Table([t(label, lang) for _, label in FIGURE_COLUMNS],
                    [[measure_text("received" if key == "still_open" else key,
                                   counts.get(key), lang) for key, _ in FIGURE_COLUMNS]])
    overdue = Table([t("br_ref", lang), t("br_title", lang), t("br_category", lang),
                     t("br_state", lang), t("br_why", lang)],
                    [[o["ref"], o["title"], category_label(o["category"], lang),
                      state_label(o["state"], lang), o["why"]] for o in record["overdue"]])
    notable = Table([t("br_ref", lang), t("br_title", lang), t("br_category", lang),
                     t("br_why", lang)],
                    [[n["ref"], n["title"], category_label(n["category"], lang), n["why"]]
                     for n in record["notable"]])
    bus = record.get("buses")
    bus_tables: list[Table] = []
    bus_text: list[str] = []
    if bus and bus.get("available"):
        bus_tables.append(Table([t("br_on_time_rate", lang)] + [x["label"] for x in bus["counts"]],
                                [[f"{bus['rate']}%" if bus["rate"] is not None else "—"]
                                 + [str(x["n"]) for x in bus["counts"]]]))
    else:
        bus_text.append((bus or {}).get("text") or t("br_no_bus", lang))
    stock = Table([t("br_station", lang), t("br_item", lang), t("br_qty", lang),
                   t("br_why", lang)],
                  [[s["station"], s["item"], s["quantity"], s["why"]] for s in record["stock"]])

    def section(n: int, key: str, tables: list[Table], paragraphs: list[str] | None = None
                ) -> Section:
        kept = [x for x in tables if x.rows]
        return Section(numbered(n, t(key, lang), lang),
                       paragraphs if paragraphs is not None else
                       ([] if kept else [none_text(lang)]), kept)

    return Document(
        office=record.get("town") or "",
        title=f"{t('br_title_page', lang)}（{record['day']}）" if lang == "zh"
        else f"{t('br_title_page', lang)} ({record['day']})",
        date_line=f"{t('br_generated', lang)} {record['generated']}",
        sections=[section(1, "br_counts", [figures]), section(2, "br_overdue", [overdue]),
                  section(3, "br_notable", [notable]),
                  section(4, "br_buses", bus_tables, bus_text),
                  section(5, "br_stock", [stock]),
                  section(6, "br_drills", [Table(*_drill_table(record, lang))])],
        lang=lang, filename=f"brief-{record['day']}")
