"""The grid staff roster a town keeps in Excel (网格人员花名册), checked row by row, pure.

One sheet; row 1 holds the headers (ROSTER_COLUMNS, Chinese or English), every later row is
one person: a grid leader (网格长) or a grid worker (网格员) of a grid, with a phone and, for
a worker, the eight duties (八项职责) they carry. Every problem is reported with its row and
column (the pupils' register's RowError and wording); a roster with any problem is refused
whole, so nothing is half-applied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.buses.register import (
    SHEET_ID,
    Column,
    RowError,
    column_letter,
    header_index,
    text_fault,
)
from dashboard.inputs import PHONE

# 八项职责 of a grid worker (docs: DOMAIN.md): code → (zh, en).
DUTIES: dict[str, tuple[str, str]] = {
    "info": ("信息采集", "information collection"),
    "opinion": ("社情民意", "public opinion"),
    "party": ("党群联络", "party liaison"),
    "special": ("特殊人群服务", "special groups"),
    "errands": ("代办服务", "errands"),
    "policy": ("政策宣传", "policy"),
    "disputes": ("矛盾纠纷排查", "dispute screening"),
    "patrol": ("治安巡查", "security patrol"),
}
ALL_DUTIES = ("全部", "all", "八项")
POSTS: dict[str, tuple[str, ...]] = {"leader": ("网格长", "leader"),
                                     "worker": ("网格员", "worker")}
ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("grid", "网格编码", "grid code", True, 16),
    Column("post", "岗位", "post", True, 8),
    Column("id", "人员编号", "person id", False, 24),
    Column("name", "姓名", "name", True, 40),
    Column("phone", "电话", "phone", True, 20),
    Column("duties", "职责", "duties", False, 200),
)
SHEET = "网格人员"
MAX_ROWS = 5000
_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class RosterEntry:
    """One checked row: a leader (id empty) or a worker of a grid."""

    row: int
    grid: str
    post: str  # leader | worker
    id: str
    name: str
    phone: str
    duties: tuple[str, ...]


def duty_label(code: str, lang: str) -> str:
    pair = DUTIES.get(code)
    return (pair[1] if lang == "en" else pair[0]) if pair else code


def parse_duties(text: str) -> tuple[tuple[str, ...], list[str]]:
    """(duty codes in DUTIES order, words not understood) of a cell: labels in Chinese or
    English, codes, or 全部 for all eight."""
    words = [w for w in _SPLIT.split(text.strip()) if w]
    if any(w.lower() in ALL_DUTIES for w in words):
        return tuple(DUTIES), [w for w in words if w.lower() not in ALL_DUTIES]
    found, unknown = set(), []
    by_word = {w.lower(): code for code, pair in DUTIES.items() for w in (code, *pair)}
    # English labels hold spaces: match them whole before splitting on spaces.
    rest = text
    for code, (_, en) in DUTIES.items():
        if en in rest.lower():
            found.add(code)
            rest = re.sub(re.escape(en), " ", rest, flags=re.IGNORECASE)
    for w in _SPLIT.split(rest.strip()):
        if not w:
            continue
        if w.lower() in by_word:
            found.add(by_word[w.lower()])
        else:
            unknown.append(w)
    return tuple(c for c in DUTIES if c in found), unknown


def check_roster(rows: Sequence[Sequence[str]], grids: set[str], sheet: str = SHEET,
                 ) -> tuple[list[RosterEntry], list[RowError]]:
    """The roster's rows checked against the town's grid codes: (entries, errors); any
    error means none of the entries may be applied."""
    errors: list[RowError] = []
    if not rows:
        return [], [RowError(sheet, 1, "", "", "roster_no_column", ROSTER_COLUMNS[0].zh)]
    index = header_index(rows[0], ROSTER_COLUMNS)
    missing = [c.zh for c in ROSTER_COLUMNS if c.required and c.key not in index]
    if missing:
        return [], [RowError(sheet, 1, "", "", "roster_no_column", "、".join(missing))]
    if len(rows) - 1 > MAX_ROWS:
        return [], [RowError(sheet, 0, "", "", "roster_too_many", str(MAX_ROWS))]
    entries: list[RosterEntry] = []
    ids: dict[str, int] = {}
    leaders: dict[str, int] = {}
    for n, raw in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in raw):
            continue
        entry = _check_row(sheet, n, raw, index, grids, errors)
        if entry is None:
            continue
        if entry.post == "worker":
            first = ids.setdefault(entry.id, n)
            if first != n:
                errors.append(RowError(sheet, n, _letter(index, "id"), "人员编号",
                                       "roster_dup_id", f"{entry.id} ({first})"))
                continue
        else:
            first = leaders.setdefault(entry.grid, n)
            if first != n:
                errors.append(RowError(sheet, n, _letter(index, "post"), "岗位",
                                       "roster_two_leaders", f"{entry.grid} ({first})"))
                continue
        entries.append(entry)
    return entries, errors


def _letter(index: dict[str, int], key: str) -> str:
    i = index.get(key)
    return column_letter(i) if i is not None else ""


def _check_row(sheet: str, n: int, raw: Sequence[str], index: dict[str, int],
               grids: set[str], errors: list[RowError]) -> RosterEntry | None:
    before = len(errors)
    values: dict[str, str] = {}
    for c in ROSTER_COLUMNS:
        i = index.get(c.key)
        value = str(raw[i]).strip() if i is not None and i < len(raw) else ""
        values[c.key] = value
        where = (sheet, n, _letter(index, c.key), c.zh)
        if not value:
            if c.required:
                errors.append(RowError(*where, "pupil_missing", ""))
            continue
        fault = text_fault(value, c)
        if fault:
            errors.append(RowError(*where, *fault))
        elif c.key == "phone" and not PHONE.match(value):
            errors.append(RowError(*where, "pupil_bad_phone", value))
        elif c.key == "grid" and value not in grids:
            errors.append(RowError(*where, "roster_unknown_grid", value))
    post = next((k for k, words in POSTS.items() if values["post"].lower() in words), "")
    if values["post"] and not post:
        errors.append(RowError(sheet, n, _letter(index, "post"), "岗位", "roster_bad_post",
                               values["post"]))
    duties: tuple[str, ...] = ()
    if post == "worker":
        if not values["id"]:
            errors.append(RowError(sheet, n, _letter(index, "id"), "人员编号",
                                   "pupil_missing", ""))
        elif not SHEET_ID.match(values["id"]):
            errors.append(RowError(sheet, n, _letter(index, "id"), "人员编号",
                                   "roster_bad_id", values["id"]))
        duties, unknown = parse_duties(values["duties"])
        if unknown:
            errors.append(RowError(sheet, n, _letter(index, "duties"), "职责",
                                   "roster_bad_duty", "、".join(unknown)[:40]))
    if len(errors) > before:
        return None
    return RosterEntry(n, values["grid"], post, values["id"] if post == "worker" else "",
                       values["name"], values["phone"], duties)


def template_rows() -> list[list[str]]:
    """The template's sheet: the headers and two example rows (a leader, a worker)."""
    return [[c.zh for c in ROSTER_COLUMNS],
            ["G3-01", "网格长", "", "张网格长", "13800000001", ""],
            ["G3-01", "网格员", "W001", "冯思远", "13800000002", "、".join(
                zh for zh, _ in DUTIES.values())]]
