"""A school's register of pupils (一校一册) as a workbook gives it, checked row by row, pure.

The layout (docs/pupils.md, and the template `zhongnao pupils template` writes from COLUMNS):
one sheet per school; row 1 names the school (学校编号 CODE 学校名称 NAME 英文名称 NAME_EN),
row 2 holds the column headers, every later row is one pupil. Every problem is reported with
its sheet, row and column; a workbook with any problem is refused whole (nothing half-imported).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dashboard.buses.pupils import LINE_LEADER, VOLUNTEER, GuardianRecord, PupilRecord, StopDuty
from dashboard.buses.tracking import drives_backwards
from dashboard.i18n.text import t
from dashboard.inputs import PHONE, not_plain


@dataclass(frozen=True)
class Column:
    """A column of the pupils' sheet: its key, its Chinese and English headers, whether a
    value is required, the longest value."""

    key: str
    zh: str
    en: str
    required: bool
    max_len: int = 40


COLUMNS: tuple[Column, ...] = (
    Column("id", "学号", "pupil id", True, 24),
    Column("name", "姓名", "name", True, 20),
    Column("class", "班级", "class", True, 20),
    Column("teacher", "班主任", "head teacher", False, 20),
    Column("teacher_phone", "班主任电话", "teacher phone", False, 20),
    Column("home_stop", "站点编号", "home stop", True, 24),
    Column("am_trip", "上学班次", "morning trip", False, 24),
    Column("pm_trip", "放学班次", "afternoon trip", False, 24),
    Column("guardian", "监护人", "guardian", True, 20),
    Column("relation", "关系", "relation", True, 10),
    Column("phone", "监护人电话", "guardian phone", True, 20),
    Column("guardian2", "监护人2", "guardian 2", False, 20),
    Column("relation2", "关系2", "relation 2", False, 10),
    Column("phone2", "监护人2电话", "guardian 2 phone", False, 20),
    Column("line_leader", "路队长", "line leader", False, 4),
    Column("volunteer", "家长志愿者", "parent volunteer", False, 4),
)
SCHOOL_HEAD = ("学校编号", "学校名称", "英文名称")
YES = ("是", "y", "yes", "1", "√", "✓")
MAX_PUPILS = 5000
# A sheet's ids and phones (the pupils' register and the grid staff roster).
SHEET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")


@dataclass(frozen=True)
class RowError:
    """One problem of the workbook: where (sheet, row, column letter and header), a code
    (its text is `err_<code>` in the i18n table) and the value found."""

    sheet: str
    row: int
    column: str
    header: str
    code: str
    value: str = ""


@dataclass(frozen=True)
class TownStops:
    """What the town knows of its routes: stop → route, trip → (route, direction)."""

    stop_route: dict[str, str]
    trips: dict[str, tuple[str, str]]


@dataclass
class SchoolRegister:
    """One school's sheet, checked: its classes (name → teacher, phone), pupils, stop staff."""

    code: str
    name: str
    name_en: str
    classes: dict[str, tuple[str, str]] = field(default_factory=dict)
    pupils: list[PupilRecord] = field(default_factory=list)
    staff: list[StopDuty] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # pupil id → its row, for messages


def column_letter(index: int) -> str:
    """A, B, …, Z, AA for a 0-based column index."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def header_index(head: Sequence[str], columns: Sequence[Column] | None = None
                 ) -> dict[str, int]:
    """Each column's key → its 0-based place, found by its Chinese or English heading or
    its key (the first one wins): the pupils' register and the grid staff roster."""
    found: dict[str, int] = {}
    for i, text in enumerate(head):
        word = text.strip().lower()
        for c in COLUMNS if columns is None else columns:
            if word in (c.zh, c.en.lower(), c.key):
                found.setdefault(c.key, i)
    return found


def text_fault(value: str, c: Column) -> tuple[str, str] | None:
    """What every sheet refuses in a filled cell: too long or not plain text, as
    (error code, the value echoed), or None."""
    if len(value) > c.max_len:
        return "pupil_too_long", value[:40]
    if not_plain(value):
        return "pupil_bad_text", value[:40]
    return None


def check_workbook(sheets: Sequence[tuple[str, Sequence[Sequence[str]]]],
                   town: TownStops) -> tuple[list[SchoolRegister], list[RowError]]:
    """Check every sheet (title, rows of cell texts); the registers when there is no error.

    Pupil ids are unique across the workbook; each trip must serve the pupil's home stop and
    be a morning trip in 上学班次 and an afternoon trip in 放学班次; a stop has at most one line
    leader and one volunteer per school."""
    errors: list[RowError] = []
    registers: list[SchoolRegister] = []
    seen_ids: dict[str, tuple[str, int]] = {}
    seen_schools: set[str] = set()
    total = 0
    for title, rows in sheets:
        rows = [list(r) for r in rows]
        if not any(any(c.strip() for c in r) for r in rows):
            continue  # an empty sheet (the workbook's default one) is not a school
        school = _school_head(title, rows[0] if rows else [], errors)
        if school is None:
            continue
        if school.code in seen_schools:
            errors.append(RowError(title, 1, "B", SCHOOL_HEAD[0], "pupil_dup_school",
                                   school.code))
            continue
        seen_schools.add(school.code)
        head = rows[1] if len(rows) > 1 else []
        index = header_index(head)
        missing = [c for c in COLUMNS if c.required and c.key not in index]
        for c in missing:
            errors.append(RowError(title, 2, "", c.zh, "pupil_no_column", c.zh))
        if missing:
            continue
        for n, raw in enumerate(rows[2:], start=3):
            if not any(c.strip() for c in raw):
                continue
            total += 1
            if total > MAX_PUPILS:
                errors.append(RowError(title, n, "", "", "pupil_too_many", str(MAX_PUPILS)))
                return [], errors
            pupil = _check_row(title, n, raw, index, town, school, errors)
            if pupil is None:
                continue
            if pupil.id in seen_ids:
                where = seen_ids[pupil.id]
                errors.append(RowError(title, n, column_letter(index["id"]), "学号",
                                       "pupil_dup_id", f"{pupil.id} ({where[0]}:{where[1]})"))
                continue
            seen_ids[pupil.id] = (title, n)
            school.rows[pupil.id] = n
            school.pupils.append(pupil)
        _check_staff(title, school, errors)
        registers.append(school)
    if not registers and not errors:
        errors.append(RowError("", 0, "", "", "pupil_empty", ""))
    return (registers if not errors else []), errors


def _school_head(title: str, row: Sequence[str], errors: list[RowError]) -> SchoolRegister | None:
    cells = [c.strip() for c in row] + [""] * 6
    code, name, name_en = cells[1], cells[3], cells[5]
    if cells[0] != SCHOOL_HEAD[0] or not SHEET_ID.match(code) or len(code) > 16:
        errors.append(RowError(title, 1, "B", SCHOOL_HEAD[0], "pupil_bad_school", code))
        return None
    if not name or len(name) > 60 or not_plain(name):
        errors.append(RowError(title, 1, "D", SCHOOL_HEAD[1], "pupil_bad_school_name", name))
        return None
    return SchoolRegister(code, name, name_en[:80] if not not_plain(name_en) else "")


def _check_row(title: str, n: int, raw: Sequence[str], index: dict[str, int],
               town: TownStops, school: SchoolRegister,
               errors: list[RowError]) -> PupilRecord | None:
    before = len(errors)
    values: dict[str, str] = {}
    for c in COLUMNS:
        i = index.get(c.key)
        value = raw[i].strip() if i is not None and i < len(raw) else ""
        values[c.key] = value
        where = (title, n, column_letter(i) if i is not None else "", c.zh)
        if not value:
            if c.required:
                errors.append(RowError(*where, "pupil_missing", ""))
            continue
        fault = text_fault(value, c)
        if fault:
            errors.append(RowError(*where, *fault))
        elif c.key == "id" and not SHEET_ID.match(value):
            errors.append(RowError(*where, "pupil_bad_id", value))
        elif c.key in ("phone", "phone2", "teacher_phone") and not PHONE.match(value):
            errors.append(RowError(*where, "pupil_bad_phone", value))
        elif c.key in ("line_leader", "volunteer") and value.lower() not in YES + ("否", "n",
                                                                                   "no", "0"):
            errors.append(RowError(*where, "pupil_bad_flag", value))

    def at(key: str) -> tuple[str, int, str, str]:
        i = index.get(key)
        return (title, n, column_letter(i) if i is not None else "",
                next(c.zh for c in COLUMNS if c.key == key))

    stop = values["home_stop"]
    if stop and stop not in town.stop_route:
        errors.append(RowError(*at("home_stop"), "pupil_unknown_stop", stop))
    trips: list[str] = []
    for key, backwards in (("am_trip", False), ("pm_trip", True)):
        trip = values[key]
        if not trip:
            continue
        if trip not in town.trips:
            errors.append(RowError(*at(key), "pupil_unknown_trip", trip))
            continue
        route, direction = town.trips[trip]
        if drives_backwards(direction) != backwards:
            errors.append(RowError(*at(key), "pupil_trip_period", trip))
        elif stop in town.stop_route and town.stop_route[stop] != route:
            errors.append(RowError(*at(key), "pupil_trip_stop", f"{trip} / {stop}"))
        trips.append(trip)
    if not values["am_trip"] and not values["pm_trip"]:
        errors.append(RowError(*at("am_trip"), "pupil_no_trip", ""))
    if values["guardian2"] and not values["phone2"]:
        errors.append(RowError(*at("phone2"), "pupil_missing", ""))
    if len(errors) > before:
        return None
    klass = values["class"]
    if klass not in school.classes or values["teacher"]:
        old = school.classes.get(klass, ("", ""))
        school.classes[klass] = (values["teacher"] or old[0], values["teacher_phone"] or old[1])
    guardians = [GuardianRecord(values["guardian"], values["relation"], values["phone"])]
    if values["guardian2"]:
        guardians.append(GuardianRecord(values["guardian2"], values["relation2"] or "-",
                                        values["phone2"]))
    pupil = PupilRecord(values["id"], values["name"], school.code, klass, stop, tuple(trips),
                        tuple(guardians))
    if values["line_leader"].lower() in YES:
        school.staff.append(StopDuty(stop, LINE_LEADER, pupil.name, "", pupil.id, school.code))
    if values["volunteer"].lower() in YES:
        g = guardians[0]
        school.staff.append(StopDuty(stop, VOLUNTEER, g.name, g.phone, pupil.id, school.code))
    return pupil


def _check_staff(title: str, school: SchoolRegister, errors: list[RowError]) -> None:
    """One line leader and one parent volunteer per stop and school."""
    seen: dict[tuple[str, str], str] = {}
    for d in school.staff:
        first = seen.setdefault((d.stop, d.duty), d.pupil_id or "")
        if first != d.pupil_id:
            header = "路队长" if d.duty == LINE_LEADER else "家长志愿者"
            errors.append(RowError(title, school.rows.get(d.pupil_id or "", 0), "", header,
                                   "pupil_two_staff", f"{d.stop} ({first})"))


def describe(err: RowError, lang: str) -> str:
    """Where and what, in the requester's language: 工作表「青石中学」第 5 行 F 列「站点编号」：…"""
    if err.row:
        where = t("pupil_where", lang).format(sheet=err.sheet, row=err.row,
                                              column=err.column or "-", header=err.header)
    else:
        where = t("pupil_where_sheet", lang).format(sheet=err.sheet) if err.sheet else ""
    return where + t(f"err_{err.code}", lang).format(value=err.value)
