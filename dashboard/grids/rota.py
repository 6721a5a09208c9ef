"""Grid duty rota (轮班) rules: shifts, a generated rota, a rota file, and the call-up list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dashboard.timeutil import LOCAL_TZ, as_utc
from dashboard.town import GridCell

SHIFTS = ("day", "night")
DAY_STARTS_H = 8  # day shift 08:00-20:00 local, night shift 20:00-08:00
NIGHT_STARTS_H = 20


class RotaError(ValueError):
    """A rota file row that names an unknown grid, worker, shift or date."""


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
           limit: int = 12) -> list[dict[str, object]]:
    """Emergency call-up list (应急抽调) for grid `near`: off-duty workers, nearest first
    (same level-2 grid, then same level-1), the least loaded first within each ring."""
    target = chain.get(near, {})
    rows = []
    for cell in cells:
        if cell.level != 3:
            continue
        mine = chain.get(cell.code, {})
        ring = 0 if mine.get(2) == target.get(2) else 1 if mine.get(1) == target.get(1) else 2
        for w in cell.workers:
            if on_duty.get(cell.code) == w["name"]:
                continue  # already holding their own grid
            rows.append({"ring": ring, "grid": cell.code, "grid_name": cell.name,
                         "grid_name_en": cell.name_en, "id": w["id"], "name": w["name"],
                         "phone": w.get("phone", ""), "open": workload.get(w["name"], 0)})
    rows.sort(key=lambda r: (r["ring"], r["open"], r["id"]))
    return rows[:limit]
