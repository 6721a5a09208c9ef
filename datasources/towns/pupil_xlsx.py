"""The school's register as an Excel workbook (openpyxl): read its sheets as text, write the
template. The checks are the core's (dashboard/buses/register.py); this module only reads
and writes cells. The demo town keeps the same sheets as JSON (pupils.json)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from dashboard.buses.register import COLUMNS, SCHOOL_HEAD
from dashboard.exports import spreadsheet_cell

Sheets = list[tuple[str, list[list[str]]]]
MAX_BYTES = 20 * 1024 * 1024


class PupilFileError(ValueError):
    """A file that is not a readable workbook (the register's rows are never looked at)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a pupil id typed as a number comes back as 2024001.0
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_sheets(source: str | Path | bytes) -> Sheets:
    """Every sheet of the workbook as (title, rows of cell texts); formulas give their
    cached values, never run."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) > MAX_BYTES:
        raise PupilFileError(f"file larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise PupilFileError(f"not a readable .xlsx file ({type(exc).__name__})") from exc
    try:
        return [(ws.title, [[_text(c) for c in row] for row in ws.iter_rows(values_only=True)])
                for ws in wb.worksheets]
    finally:
        wb.close()


def write_workbook(sheets: Sequence[tuple[str, Sequence[Sequence[str]]]]) -> bytes:
    """A workbook of the given sheets; no cell is a formula."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title[:31])
        for row in rows:
            ws.append([spreadsheet_cell(c) for c in row])
        for i, _ in enumerate(COLUMNS):
            ws.column_dimensions[chr(65 + i)].width = 14
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_sheets() -> Sheets:
    """The template: the school row, the headers and one example pupil (fictional)."""
    head = [SCHOOL_HEAD[0], "QSZX", SCHOOL_HEAD[1], "青石中学", SCHOOL_HEAD[2],
            "Qingshi Middle School"]
    example = {"id": "QSZX2024001", "name": "张小明", "class": "七年级1班", "teacher": "王老师",
               "teacher_phone": "13800000000", "home_stop": "R01-S01", "am_trip": "R01-AM1",
               "pm_trip": "R01-PM1", "guardian": "张建国", "relation": "父亲",
               "phone": "13800000001", "guardian2": "", "relation2": "", "phone2": "",
               "line_leader": "是", "volunteer": "是"}
    return [("青石中学", [head, [c.zh for c in COLUMNS], [example[c.key] for c in COLUMNS]])]
