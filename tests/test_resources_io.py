"""CSV and Excel export/import of stock: an imported stock-take becomes audited adjustments."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from datasources.doors.resources_io import (
    COLUMNS,
    StocktakeError,
    apply_stocktake,
    export_rows,
    parse_stocktake,
    to_csv,
    to_xlsx,
)


def test_export_as_csv_and_excel_has_every_item_of_every_station(services):
    stations = services.resources.res.stations()
    rows = export_rows(stations)
    assert len(rows) == sum(len(st["items"]) for st in stations)
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[0].keys() == set(COLUMNS) and parsed[0]["station"] == "EC-00"
    sheet = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert sheet.max_row == len(rows) + 1


def test_an_imported_stocktake_adjusts_with_a_ledger_row_and_reports_bad_lines(services):
    desk = services.resources
    held = {i["sku"]: i["quantity"] for i in desk.res.station("ES-01")["items"]}
    text = ("station,sku,quantity\n"
            f"ES-01,FL-SB,{held['FL-SB'] - 8}\n"
            f"ES-01,SH-TN,{held['SH-TN']}\n"
            "ES-01,NO-SUCH,3\n"
            "ES-01,FL-LJ,-2\n")
    rows = parse_stocktake("盘点.csv", text.encode("utf-8-sig"))
    result = apply_stocktake(desk, rows, "仓管李", "盘点.csv")
    assert (result["adjusted"], result["same"], len(result["errors"])) == (1, 1, 2)
    assert "line 4" in result["errors"][0] and "line 5" in result["errors"][1]
    ledger = desk.res.ledger("ES-01", "FL-SB")
    assert (ledger[0]["kind"], ledger[0]["delta"], ledger[0]["reason"]) == (
        "adjust", -8, "导入盘点 盘点.csv")
    # The same stock-take from Excel changes nothing more.
    xlsx = to_xlsx([{**r, **{c: "" for c in COLUMNS if c not in r}}
                    for r in export_rows(desk.res.stations())])
    again = apply_stocktake(desk, parse_stocktake("s.xlsx", xlsx), "仓管李", "s.xlsx")
    assert again["adjusted"] == 0 and not again["errors"]


@pytest.mark.parametrize(("name", "data", "why"), [
    ("a.txt", b"x", "only .csv or .xlsx"),
    ("a.csv", b"station,sku\nES-01,FL-SB\n", "missing column(s) quantity"),
    ("a.xlsx", b"not a zip", "not a readable Excel file"),
    ("a.csv", b"", "empty file"),
])
def test_unreadable_files_are_refused_with_a_reason(name, data, why):
    with pytest.raises(StocktakeError, match=why.replace("(", r"\(").replace(")", r"\)")):
        parse_stocktake(name, data)


FORMULAS = ("=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1)",
            "\t=1+1", "\r=1+1")


@pytest.mark.parametrize("batch", FORMULAS)
def test_an_officer_typed_formula_is_exported_as_text_never_as_a_formula(services, batch):
    desk = services.resources
    desk.receive("ES-01", "FL-SB", 1, "仓管李", "入库", batch=batch)
    rows = export_rows(desk.res.stations())
    mine = next(r for r in rows if (r["station"], r["sku"]) == ("ES-01", "FL-SB"))
    assert mine["batch"] == batch  # the store keeps what was typed; only exports neutralise
    parsed = [r for r in csv.DictReader(io.StringIO(to_csv(rows), newline=""))
              if (r["station"], r["sku"]) == ("ES-01", "FL-SB")]
    assert parsed[0]["batch"] == "'" + batch
    sheet = load_workbook(io.BytesIO(to_xlsx(rows))).active
    col = COLUMNS.index("batch") + 1
    cell = next(sheet.cell(row=n, column=col) for n in range(2, sheet.max_row + 1)
                if (sheet.cell(row=n, column=1).value, sheet.cell(row=n, column=3).value)
                == ("ES-01", "FL-SB"))
    assert cell.data_type == "s" and cell.value == "'" + batch
    # Numbers stay numbers (a negative figure is not a formula).
    assert isinstance(sheet.cell(row=2, column=COLUMNS.index("quantity") + 1).value, int)


def test_one_rule_neutralises_every_export():
    from dashboard.exports import spreadsheet_cell

    for text in FORMULAS:
        assert spreadsheet_cell(text) == "'" + text
    for kept in ("ES-01", "沙袋", "", "2026-12-31", 5, -3, 2.5, None):
        assert spreadsheet_cell(kept) == kept


def test_a_long_unknown_sku_is_echoed_short(services):
    rows = parse_stocktake("s.csv", ("station,sku,quantity\nES-01," + "X" * 100_000
                                     + ",3\n").encode())
    result = apply_stocktake(services.resources, rows, "仓管李", "s.csv", "zh")
    assert len(result["errors"]) == 1 and len(result["errors"][0]) < 120
    assert result["errors"][0].startswith("第2行：站点 ES-01 没有物资 XXX")
