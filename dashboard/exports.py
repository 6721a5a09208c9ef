"""What every spreadsheet export (CSV, .xlsx) writes into a cell: one rule for all of them.

A text cell that starts with = + - @ (or a tab or carriage return before one) is a formula to
Excel, WPS and LibreOffice: `=cmd|' /C calc'!A0` runs a program, `=HYPERLINK(` leaks data. Such
text is written with a leading apostrophe, so it is shown as typed and never evaluated
(OWASP "CSV injection"). Numbers, dates and empty cells are left alone: a negative quantity is
a number, not a formula.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """`value` as a spreadsheet may safely hold it: text that would run is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
