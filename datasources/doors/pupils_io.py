"""The schools' registers in and out as Excel: import a workbook (checked whole, written whole
or not at all) and write the template. Used by `zhongnao pupils import|template`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from dashboard.buses.register import RowError, check_workbook
from dashboard.roles import Principal
from datasources.sql.audit import Audit
from datasources.sql.pupils import PupilStore
from datasources.towns.pupil_xlsx import (
    PupilFileError,
    read_sheets,
    template_sheets,
    write_workbook,
)


@dataclass
class Imported:
    """What an import did: the counts written, or the errors that stopped it (nothing
    written)."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def import_workbook(engine: Engine, source: str | Path | bytes, who: Principal,
                    name: str = "") -> Imported:
    """Check every row of the workbook against the town's stops and trips; write all the
    schools in one transaction when no row is wrong; audit it as `pupils.import`."""
    try:
        sheets = read_sheets(source)
    except (OSError, PupilFileError):
        return Imported(errors=[RowError(str(name), 0, "", "", "pupil_bad_file", "")])
    store = PupilStore(engine)
    registers, errors = check_workbook(sheets, store.stops())
    if errors:
        return Imported(errors=errors)
    counts = store.import_registers(registers)
    Audit(engine).record("pupils.import", str(name)[:80],
                         ", ".join(f"{r.code}: {len(r.pupils)}" for r in registers), who=who)
    return Imported(counts=counts)


def template_bytes() -> bytes:
    """The template workbook (docs/pupils-template.xlsx)."""
    return write_workbook(template_sheets())
