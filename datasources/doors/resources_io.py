"""Stock import and export: CSV and Excel (openpyxl). An import is a stock-take: each row's
counted quantity becomes an audited adjustment, never an overwritten number."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook

from dashboard.exports import spreadsheet_cell
from dashboard.i18n.errors import error_text
from dashboard.i18n.text import t
from dashboard.incidents.errors import BadInput, LoopError, NotFound
from dashboard.inputs import echo
from dashboard.resources.errors import StockError, says
from dashboard.resources.stock import available, parse_quantity
from datasources.sql.resources import ResourceError

COLUMNS = ("station", "station_name", "sku", "name", "category", "unit", "batch", "expiry",
           "quantity", "reserved", "out", "available", "min_level")
MAX_ROWS = 5000


class StocktakeError(ValueError):
    """A file that cannot be read as a stock-take; the message says why (English for the
    log and English screens, `zh` for Chinese ones: dashboard/resources/errors.says)."""

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh


def export_rows(stations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per station and item, in COLUMNS."""
    return [{"station": st["code"], "station_name": st["name"], "sku": i["sku"],
             "name": i["name"], "category": i["category"], "unit": i["unit"],
             "batch": i.get("batch") or "", "expiry": i.get("expiry") or "",
             "quantity": i["quantity"], "reserved": i.get("reserved", 0),
             "out": i.get("out", 0), "available": available(i), "min_level": i["min_level"]}
            for st in stations for i in st["items"]]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text with a header (written with a BOM by the caller for Excel users); text that a
    spreadsheet would run as a formula is quoted."""
    buf = io.StringIO(newline="")
    # CRLF rows (RFC 4180): a field holding a bare CR is then quoted, not a row break.
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({c: spreadsheet_cell(r[c]) for c in COLUMNS} for r in rows)
    return buf.getvalue()


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An Excel workbook with one sheet of stock; no cell is a formula."""
    wb = Workbook()
    ws = wb.active
    ws.title = "stock"
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([spreadsheet_cell(r[c]) for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def parse_stocktake(filename: str, data: bytes) -> list[dict[str, Any]]:
    """Rows {line, station, sku, quantity} from a CSV or .xlsx with those columns."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise StocktakeError(f"{filename}: not a readable Excel file ({exc})",
                                 f"{filename}：不是可读取的 Excel 文件") from exc
        sheet = wb.active
        table = [[("" if c is None else str(c)).strip() for c in row]
                 for row in sheet.iter_rows(values_only=True)]
    elif lower.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise StocktakeError(f"{filename}: not UTF-8 or GB18030 text",
                                 f"{filename}：不是 UTF-8 或 GB18030 文本")
        try:
            table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:  # e.g. a 200 KB cell, over the csv module's field limit
            raise StocktakeError(f"{filename}: not a readable CSV file ({exc})",
                                 f"{filename}：不是可读取的 CSV 文件（单元格过长或格式有误）") \
                from exc
    else:
        raise StocktakeError(f"{filename}: only .csv or .xlsx files",
                             f"{filename}：只接受 .csv 或 .xlsx 文件")
    if not table:
        raise StocktakeError(f"{filename}: empty file", f"{filename}：文件为空")
    head = [h.lower() for h in table[0]]
    missing = [c for c in ("station", "sku", "quantity") if c not in head]
    if missing:
        raise StocktakeError(f"{filename}: missing column(s) {', '.join(missing)}",
                             f"{filename}：缺少列 {', '.join(missing)}")
    if len(table) > MAX_ROWS + 1:
        raise StocktakeError(f"{filename}: more than {MAX_ROWS} rows",
                             f"{filename}：超过 {MAX_ROWS} 行")
    at = {c: head.index(c) for c in ("station", "sku", "quantity")}
    rows = []
    for n, row in enumerate(table[1:], start=2):
        if not any(row):
            continue
        cells = {c: row[i] if i < len(row) else "" for c, i in at.items()}
        rows.append({"line": n, **cells})
    return rows


def apply_stocktake(desk: Any, rows: list[dict[str, Any]], actor: str,
                    source: str, lang: str = "en") -> dict[str, Any]:
    """Adjust each counted item to its count; returns counts and the rows refused, each
    "line N: why" in `lang` (the why from the i18n table by the refusal's code)."""
    current = {(st["code"], i["sku"]): i["quantity"]
               for st in desk.res.stations() for i in st["items"]}
    adjusted, same, errors = 0, 0, []

    def refuse(line: int, exc: Exception) -> None:
        why = error_text(exc, lang) if isinstance(exc, LoopError) else says(exc, lang)
        errors.append(t("res_import_line", lang).format(n=line, why=why))

    for r in rows:
        try:
            # A count of 0..MAX_QUANTITY: inf, 1e308, 9.3e18 or 10^30 gave a 500.
            counted = parse_quantity(r["quantity"], zero=True)
        except BadInput as exc:
            refuse(r["line"], exc)
            continue
        key = (r["station"], r["sku"])
        if key not in current:
            refuse(r["line"], NotFound("no_item", station=echo(r["station"]), sku=echo(r["sku"])))
            continue
        delta = counted - current[key]
        if delta == 0:
            same += 1
            continue
        try:
            desk.adjust(r["station"], r["sku"], delta, actor, f"导入盘点 {source}"[:200])
        except (StockError, ResourceError, LoopError) as exc:
            refuse(r["line"], exc)
            continue
        current[key] += delta
        adjusted += 1
    return {"adjusted": adjusted, "same": same, "errors": errors}
