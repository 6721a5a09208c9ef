"""Duty rota (轮班): shifts, the default rota, a town's rota file, and the work order's worker."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.grids.rota import RotaError, callup, generate, parse_csv, shift_at
from dashboard.grids.stats import ancestors
from dashboard.town import GridCell
from datasources.sql.rota import RotaIndex, RotaStore

# 2026-11-25 in Asia/Shanghai (UTC+8)
MORNING = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 local
SMALL_HOURS = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # 03:00 local on the 25th


def _cell(code: str, parent: str, workers: list[str]) -> GridCell:
    return GridCell(code=code, level=3, parent=parent, name=code, name_en=code, village=None,
                    geometry={}, leader={}, households=0,
                    workers=[{"id": f"{code}-{w}", "name": w} for w in workers])


CELLS = [GridCell("L1", 1, None, "L1", "L1", None, {}, {}, [], 0),
         GridCell("M1", 2, "L1", "M1", "M1", None, {}, {}, [], 0),
         GridCell("M2", 2, "L1", "M2", "M2", None, {}, {}, [], 0),
         _cell("A", "M1", ["甲", "乙"]), _cell("B", "M1", ["丙"]), _cell("C", "M2", ["丁", "戊"])]


def test_the_small_hours_belong_to_the_previous_days_night_shift():
    assert shift_at(MORNING) == ("2026-11-25", "day")
    assert shift_at(SMALL_HOURS) == ("2026-11-24", "night")
    assert shift_at(datetime(2026, 11, 25, 13, 0, tzinfo=UTC)) == ("2026-11-25", "night")


def test_default_rota_alternates_two_workers_between_day_and_night():
    rows = generate(CELLS, date(2026, 11, 25), 2)
    a = [(r.day, r.shift, r.worker_name) for r in rows if r.grid == "A"]
    assert len(a) == 4
    assert a[0][2] != a[1][2]  # day and night are different people
    assert a[0][2] == a[3][2]  # and they swap the next day
    assert {r.worker_name for r in rows if r.grid == "B"} == {"丙"}


def test_rota_file_rows_are_checked_against_the_grid_workers():
    ok = parse_csv("grid,day,shift,worker_id\nA,2026-11-25,day,A-乙\n", CELLS)
    assert ok[0].worker_name == "乙"
    with pytest.raises(RotaError, match="line 2: worker 'C-丁' is not a worker of grid 'A'"):
        parse_csv("grid,day,shift,worker_id\nA,2026-11-25,day,C-丁\n", CELLS)
    with pytest.raises(RotaError, match="shift must be"):
        parse_csv("grid,day,shift,worker_id\nA,2026-11-25,noon,A-甲\n", CELLS)
    with pytest.raises(RotaError, match="lacks columns"):
        parse_csv("grid,day\nA,2026-11-25\n", CELLS)


def test_callup_takes_off_duty_workers_of_the_same_village_first_least_loaded_first():
    on_duty = {"A": "甲", "B": "丙", "C": "丁"}
    rows = callup(CELLS, "B", on_duty, {"戊": 0, "乙": 3}, ancestors(CELLS))
    assert [r["name"] for r in rows] == ["乙", "戊"]  # 乙 shares M1 with B; 戊 is further
    assert rows[0]["open"] == 3


def test_store_generates_the_rota_and_work_orders_name_the_rostered_worker(services, tmp_path):
    rota = services.rota
    now = datetime.now(UTC)
    on_duty = rota.on_duty(now)
    assert len(on_duty) >= 40  # every level-3 grid with workers has someone now
    assert rota.ensure(now=now) == 0  # already generated: nothing rewritten
    grid = "G3-03"
    cell = services.grids[grid]
    day, shift = shift_at(now)
    other = next(w for w in cell.workers if w["name"] != on_duty[grid])
    (tmp_path / "rota.csv").write_text(f"grid,day,shift,worker_id\n{grid},{day},{shift},"
                                       f"{other['id']}\n", encoding="utf-8")
    assert rota.ensure(tmp_path, now=now) == 1
    assert rota.worker_on_duty(grid, now) == other["name"]
    # The intake path: the work order's grid worker on duty comes from the rota.
    from dashboard.messages import IncidentReport

    lon, lat = _inside(cell.geometry)
    index = services.intake.index
    assert isinstance(index, RotaIndex)
    hit = index.locate(lon, lat)
    assert hit is not None and hit.code == grid and hit.rostered == other["name"]
    inc = services.store.create_incident(IncidentReport(
        source="grid_worker", category="environment", title="垃圾", lon=lon, lat=lat), hit)
    assert inc.incident.grid_worker == other["name"]
    assert rota.workload()[other["name"]] == 1
    assert other["name"] not in [r["name"] for r in rota.callup(grid, now)]
    week = rota.table(grid, day, 7)
    assert week[0]["date"] == day and week[0][shift] == other["name"]
    assert RotaStore(services.store, list(services.grids.values())).worker_on_duty(
        grid, now + timedelta(days=400)) is None


def _inside(geometry: dict) -> tuple[float, float]:
    from shapely.geometry import shape

    p = shape(geometry).representative_point()
    return p.x, p.y


def test_the_rostered_worker_is_recommended_first():
    from dashboard.resources.recommend import recommend

    workers = [{"name": "甲", "grid": "A"}, {"name": "乙", "grid": "A"}]
    inc = {"lon": 104.45, "lat": 30.55, "category": "fire", "grid_worker": "乙"}
    assert [c.name for c in recommend(inc, workers, [])] == ["乙", "甲"]
