"""Grid duty rota (轮班) rules: shifts, a generated rota, a rota file, and the call-up list."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dashboard.timeutil import LOCAL_TZ, as_utc
from dashboard.town import GridCell

SHIFTS = ("day", "night")
DAY_STARTS_H = 8  # day shift 08:00-20:00 local, night shift 20:00-08:00
NIGHT_STARTS_H = 20


class RotaError(ValueError):
    """A rota row, edit or leave that names an unknown grid, worker, shift or date; `code`
    and `params` give the reader's words (dashboard/i18n/rota_text.py err_<code>)."""

    def __init__(self, message: str, code: str = "rota_shift", **params: object):
        super().__init__(message)
        self.code = code
        self.params = params


# How far an administrator's edit may reach: yesterday's night shift is still being worked
# in the small hours; two months ahead is as far as a town plans its rota.
EDIT_PAST_DAYS = 1
EDIT_AHEAD_DAYS = 60
LEAVE_MAX_DAYS = 90


@dataclass(frozen=True)
class RotaRow:
    """One shift of one grid on one local day, with the worker on duty."""

    grid: str
    day: str
    shift: str
    worker_id: str
    worker_name: str


def shift_at(now: datetime) -> tuple[str, str]:
    """(local day, shift) in force at `now`; the small hours belong to the previous night."""
    local = as_utc(now).astimezone(LOCAL_TZ)
    if local.hour < DAY_STARTS_H:
        return (local.date() - timedelta(days=1)).isoformat(), "night"
    if local.hour >= NIGHT_STARTS_H:
        return local.date().isoformat(), "night"
    return local.date().isoformat(), "day"


def generate(cells: Iterable[GridCell], start: date, days: int) -> list[RotaRow]:
    """A fair default rota: each grid's workers take the day shift in turn, and the next
    one in line the night, so two-worker grids alternate day and night."""
    rows = []
    for cell in cells:
        workers = sorted(cell.workers, key=lambda w: w["id"])
        if cell.level != 3 or not workers:
            continue
        for n in range(days):
            d = start + timedelta(days=n)
            for k, shift in enumerate(SHIFTS):
                w = workers[(d.toordinal() + k) % len(workers)]
                rows.append(RotaRow(cell.code, d.isoformat(), shift, w["id"], w["name"]))
    return rows


def parse_csv(text: str, cells: Iterable[GridCell]) -> list[RotaRow]:
    """Rows of a town's rota.csv (grid,day,shift,worker_id); any bad row names its line."""
    workers = {(c.code, w["id"]): w["name"] for c in cells for w in c.workers}
    out = []
    reader = csv.DictReader(io.StringIO(text))
    missing = {"grid", "day", "shift", "worker_id"} - set(reader.fieldnames or [])
    if missing:
        raise RotaError(f"rota file lacks columns: {', '.join(sorted(missing))}")
    for line, row in enumerate(reader, start=2):
        grid, day, shift, wid = (row["grid"].strip(), row["day"].strip(),
                                 row["shift"].strip(), row["worker_id"].strip())
        if shift not in SHIFTS:
            raise RotaError(f"line {line}: shift must be day or night, not {shift!r}")
        try:
            date.fromisoformat(day)
        except ValueError as exc:
            raise RotaError(f"line {line}: bad date {day!r}") from exc
        if (grid, wid) not in workers:
            raise RotaError(f"line {line}: worker {wid!r} is not a worker of grid {grid!r}")
        out.append(RotaRow(grid, day, shift, wid, workers[(grid, wid)]))
    return out


def callup(cells: Iterable[GridCell], near: str, on_duty: Mapping[str, str],
           workload: Mapping[str, int], chain: Mapping[str, Mapping[int, str]],
           limit: int = 12, away: Collection[str] = ()) -> list[dict[str, object]]:
    """Emergency call-up list (应急抽调) for grid `near`: off-duty workers, nearest first
    (same level-2 grid, then same level-1), the least loaded first within each ring;
    workers on leave (`away`, by id) are not called."""
    target = chain.get(near, {})
    rows = []
    for cell in cells:
        if cell.level != 3:
            continue
        mine = chain.get(cell.code, {})
        ring = 0 if mine.get(2) == target.get(2) else 1 if mine.get(1) == target.get(1) else 2
        for w in cell.workers:
            if on_duty.get(cell.code) == w["name"] or w["id"] in away:
                continue  # already holding their own grid, or on leave
            rows.append({"ring": ring, "grid": cell.code, "grid_name": cell.name,
                         "grid_name_en": cell.name_en, "id": w["id"], "name": w["name"],
                         "phone": w.get("phone", ""), "open": workload.get(w["name"], 0)})
    rows.sort(key=lambda r: (r["ring"], r["open"], r["id"]))
    return rows[:limit]


# ------------------------------------------------------------------ edits on /admin
def check_day(value: object, today: date, what: str = "day") -> str:
    """An ISO local day an edit may name: from EDIT_PAST_DAYS before `today` to
    EDIT_AHEAD_DAYS after; RotaError rota_bad_date / rota_day_range otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RotaError(f"{what}: not a date (YYYY-MM-DD): {str(value)[:20]!r}",
                        "rota_bad_date", day=str(value)[:20]) from None
    first, last = today - timedelta(days=EDIT_PAST_DAYS), today + timedelta(days=EDIT_AHEAD_DAYS)
    if not first <= day <= last:
        raise RotaError(f"{what} {day} is outside {first}..{last}", "rota_day_range",
                        day=day.isoformat(), first=first.isoformat(), last=last.isoformat())
    return day.isoformat()


def on_leave(leaves: Iterable[tuple[str, str, str]], worker_id: str, day: str) -> bool:
    """Whether the worker is on leave that local day (leaves: (worker, first, last day))."""
    return any(w == worker_id and a <= day <= b for w, a, b in leaves)


def check_shift_edit(cells: Mapping[str, GridCell], grid: object, day: object, shift: object,
                     worker_id: object, today: date,
                     taken: Mapping[tuple[str, str, str], str],
                     leaves: Iterable[tuple[str, str, str]] = ()) -> RotaRow:
    """The shift an administrator sets, checked: a level-3 grid, a day in range, day or
    night, a worker of that grid or of a neighbour in its level-2 grid, not already on
    duty elsewhere at that time (`taken`:
    (day, shift, worker id) -> grid), not on leave. RotaError with its code otherwise."""
    code = grid.strip() if isinstance(grid, str) else ""
    cell = cells.get(code)
    if cell is None or cell.level != 3:
        raise RotaError(f"no level-3 grid {code[:20]!r}", "rota_unknown_grid", grid=code[:20])
    when = check_day(day, today)
    if shift not in SHIFTS:
        raise RotaError("shift must be day or night", "rota_bad_shift", shift=str(shift)[:10])
    wid = worker_id.strip() if isinstance(worker_id, str) else ""
    names = {w["id"]: w["name"] for w in neighbours(cells, code)}
    if wid not in names:
        raise RotaError(f"worker {wid[:24]!r} is not a worker of grid {code}",
                        "rota_unknown_worker", worker=wid[:24], grid=code)
    elsewhere = taken.get((when, str(shift), wid))
    if elsewhere is not None and elsewhere != code:
        raise RotaError(f"{wid} is on duty in {elsewhere} at that time", "rota_overlap",
                        worker=names[wid], grid=elsewhere, day=when)
    if on_leave(leaves, wid, when):
        raise RotaError(f"{wid} is on leave on {when}", "rota_on_leave", worker=names[wid],
                        day=when)
    return RotaRow(code, when, str(shift), wid, names[wid])


def check_leave(workers: Mapping[str, str], worker_id: object, first: object, last: object,
                today: date, leaves: Iterable[tuple[str, str, str]] = ()) -> tuple[str, str, str]:
    """A leave to mark: a known worker, two days in range in order, at most LEAVE_MAX_DAYS,
    not overlapping a leave already marked; (worker id, first, last)."""
    wid = worker_id.strip() if isinstance(worker_id, str) else ""
    if wid not in workers:
        raise RotaError(f"no grid worker {wid[:24]!r}", "rota_unknown_worker", worker=wid[:24],
                        grid="—")
    a, b = check_day(first, today, "first day"), check_day(last, today, "last day")
    if b < a:
        raise RotaError("the last day comes before the first", "rota_leave_order",
                        first=a, last=b)
    if (date.fromisoformat(b) - date.fromisoformat(a)).days + 1 > LEAVE_MAX_DAYS:
        raise RotaError(f"a leave of more than {LEAVE_MAX_DAYS} days", "rota_leave_long",
                        days=LEAVE_MAX_DAYS)
    for w, x, y in leaves:
        if w == wid and x <= b and a <= y:
            raise RotaError(f"{wid} is on leave {x}..{y} already", "rota_leave_overlap",
                            worker=workers[wid], first=x, last=y)
    return wid, a, b


def neighbours(cells: Mapping[str, GridCell], grid: str) -> list[dict[str, str]]:
    """Who may hold a shift of `grid`: its own workers by id, then those of the other
    level-3 grids of its level-2 grid by id."""
    cell = cells.get(grid)
    if cell is None:
        return []
    others = [w for c in cells.values() if c.level == 3 and c.code != grid
              and c.parent and c.parent == cell.parent for w in c.workers]
    return [*sorted(cell.workers, key=lambda w: w["id"]), *sorted(others, key=lambda w: w["id"])]


def cover(candidates: Iterable[dict[str, str]], away_id: str, day: str, shift: str,
          taken: Mapping[tuple[str, str, str], str],
          leaves: Iterable[tuple[str, str, str]]) -> dict[str, str] | None:
    """Who takes a shift of a worker on leave: the first candidate (neighbours()) who is not
    on leave that day and not on duty anywhere at that time; None: nobody."""
    leaves = list(leaves)
    for w in candidates:
        if w["id"] == away_id or on_leave(leaves, w["id"], day):
            continue
        if (day, shift, w["id"]) in taken:
            continue
        return w
    return None
