"""The grid staff roster (网格人员花名册) from the town's Excel file into the database: read the
workbook (datasources/towns/pupil_xlsx.py), check every row (dashboard/grids/roster.py), and
apply all of it in one transaction or nothing. Workers are added or updated by id, never
deleted (work orders, rotas and accounts name them); a grid's leader is replaced."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from dashboard.buses.register import RowError
from dashboard.grids.roster import SHEET, RosterEntry, check_roster, template_rows
from datasources.sql import models as m
from datasources.sql.engine import session_factory
from datasources.towns.pupil_xlsx import PupilFileError, read_sheets, write_workbook


@dataclass
class RosterCheck:
    """A roster file read and checked: the rows to apply, the problems, what would change."""

    entries: list[RosterEntry] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    leaders: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.entries)


def roster_template() -> bytes:
    """docs/roster-template.xlsx: the headers and an example leader and worker."""
    return write_workbook([(SHEET, template_rows())])


class RosterStore:
    """Checks and applies a roster against the town's grids and workers."""

    def __init__(self, engine: Engine):
        self.session = session_factory(engine)

    def check(self, data: bytes) -> RosterCheck:
        """Read and check a workbook (the first sheet); nothing is written."""
        try:
            sheets = read_sheets(data)
        except PupilFileError as exc:
            return RosterCheck(errors=[RowError("", 0, "", "", "roster_bad_file", str(exc))])
        title, rows = sheets[0] if sheets else (SHEET, [])
        with self.session() as s:
            grids = set(s.scalars(select(m.Grid.code)))
            known = set(s.scalars(select(m.GridWorker.id)))
        entries, errors = check_roster(rows, grids, title)
        workers = [e for e in entries if e.post == "worker"]
        return RosterCheck(entries, errors,
                           added=sum(e.id not in known for e in workers),
                           updated=sum(e.id in known for e in workers),
                           leaders=len(entries) - len(workers))

    def apply(self, data: bytes) -> RosterCheck:
        """Check, then write every row in one transaction; with any error, write nothing."""
        checked = self.check(data)
        if not checked.ok:
            return checked
        with self.session.begin() as s:
            for e in checked.entries:
                if e.post == "leader":
                    grid = s.get(m.Grid, e.grid)
                    assert grid is not None  # checked
                    grid.leader_name, grid.leader_phone = e.name, e.phone
                    continue
                worker = s.get(m.GridWorker, e.id)
                if worker is None:
                    s.add(m.GridWorker(id=e.id, grid_code=e.grid, name=e.name, phone=e.phone,
                                       duties=list(e.duties)))
                else:
                    worker.grid_code, worker.name, worker.phone = e.grid, e.name, e.phone
                    worker.duties = list(e.duties)
        return checked
