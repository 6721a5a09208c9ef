"""一车一档: the dates of a bus and its drivers, their states, and when a bus is not fit to
drive (不宜出车); the town's files checked row by row; the record in the database."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.buses.fleet import (
    EXPIRED,
    MISSING,
    OK,
    WARNING,
    DriverRecord,
    VehicleRecord,
    date_state,
    dated_items,
    fit,
    not_fit_reasons,
    pretrip_overdue,
    renew,
)
from datasources.sql.fleet import Fleet
from datasources.towns.files import load_town

DEMO = Path(__file__).resolve().parents[1] / "datasources" / "towns" / "demo"
# 2026-12-05 10:00 in Shanghai.
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _bus(**kw) -> VehicleRecord:
    base = dict(plate="川F·T0001", model="宇通ZK6609DX", seats=19, year=2023,
                licence_expiry="2030-01-01", inspection_due="2027-06-01",
                insurance_expiry="2027-06-01", speed_limiter=True, recorder=True)
    base.update(kw)
    return VehicleRecord(**base)


def test_a_date_is_valid_due_within_30_days_or_expired_by_the_shanghai_calendar():
    assert date_state("2027-01-05", NOW) == OK          # 31 days away
    assert date_state("2027-01-04", NOW) == WARNING     # 30 days away
    assert date_state("2026-12-05", NOW) == WARNING     # today is still valid
    assert date_state("2026-12-04", NOW) == EXPIRED
    assert date_state("", NOW) == MISSING
    # 23:30 UTC on the 4th is already the 5th in Shanghai.
    assert date_state("2026-12-04", datetime(2026, 12, 4, 15, 30, tzinfo=UTC)) == WARNING


def test_a_bus_with_an_expired_licence_or_inspection_or_no_limiter_is_not_fit():
    assert fit(_bus(), NOW)
    assert not_fit_reasons(_bus(licence_expiry="2026-11-30"), NOW) == ["licence_expired"]
    assert not_fit_reasons(_bus(inspection_due="2026-12-01"), NOW) == ["inspection_expired"]
    assert not_fit_reasons(_bus(speed_limiter=False), NOW) == ["no_speed_limiter"]
    # Due soon is a warning, not a reason to stop; an unrecorded limiter is not "absent".
    assert fit(_bus(inspection_due="2026-12-20", speed_limiter=None), NOW)
    # Expired insurance is an expired item (an alert), not one of the not-fit reasons.
    assert fit(_bus(insurance_expiry="2026-11-01"), NOW)


def test_training_and_health_check_fall_due_a_year_after_they_were_done():
    d = DriverRecord("D1", "胡永福", "13982795020", "川F·T0001", "A1", "2029-01-01",
                     trained_on="2026-03-01", health_checked_on="2025-11-20")
    assert renew("2024-02-29") == "2025-03-01"
    items = {i.item: i for i in dated_items(_bus(drivers=(d,)), NOW) if i.driver == "D1"}
    assert items["health"].due == "2026-11-20" and items["health"].state == EXPIRED
    assert items["training"].state == OK and items["driver_licence"].state == OK
    assert items["health"].key == "health:D1" and items["health"].days == -15


def test_the_pre_trip_check_is_overdue_once_the_first_trip_has_left_without_it():
    first = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    assert not pretrip_overdue(first, checked=False, now=datetime(2026, 12, 4, 22, 59,
                                                                  tzinfo=UTC))
    assert pretrip_overdue(first, checked=False, now=first)
    assert not pretrip_overdue(first, checked=True, now=NOW)
    assert not pretrip_overdue(None, checked=False, now=NOW)  # no trip today


def test_the_demo_town_has_one_inspection_due_soon_one_health_check_overdue_and_one_unfit_bus():
    town = load_town(DEMO)
    recs = town.records
    assert len(recs) == len(town.vehicles) and all(r.drivers for r in recs.values())
    items = [i for r in recs.values() for i in dated_items(r, NOW)]
    assert [(i.item, i.plate) for i in items if i.state == WARNING] == [
        ("inspection", "川F·D77141")]
    assert sorted((i.item, i.driver or i.plate) for i in items if i.state == EXPIRED) == [
        ("health", "D003"), ("licence", "川F·D74743")]
    assert [p for p, r in recs.items() if not fit(r, NOW)] == ["川F·D74743"]


def _copy(tmp_path: Path) -> Path:
    town = tmp_path / "town"
    shutil.copytree(DEMO, town)
    return town


def test_bad_rows_of_the_record_files_are_all_named_with_their_row_and_column(tmp_path):
    town = _copy(tmp_path)
    v = (town / "vehicles.csv").read_text(encoding="utf-8").splitlines()
    v[2] = v[2].replace(",yes,yes", ",maybe,yes").replace("2031-02-15", "2031/02/15")
    (town / "vehicles.csv").write_text("\n".join(v) + "\n", encoding="utf-8")
    d = (town / "drivers.csv").read_text(encoding="utf-8").splitlines()
    d[1] = d[1].replace("川F·D72692", "川F·X0000")
    d[2] = d[2].replace(",A1,", ",C1,")
    (town / "drivers.csv").write_text("\n".join(d) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        load_town(town)
    text = str(exc.value)
    for where in ("vehicles.csv row 3 licence_expiry", "vehicles.csv row 3 speed_limiter",
                  "drivers.csv row 2 plate", "drivers.csv row 3 licence_class"):
        assert where in text


def test_a_town_without_record_columns_or_drivers_loads_with_nothing_on_record(tmp_path):
    town = _copy(tmp_path)
    (town / "drivers.csv").unlink()
    rows = (town / "vehicles.csv").read_text(encoding="utf-8").splitlines()
    (town / "vehicles.csv").write_text(
        "\n".join(",".join(r.split(",")[:9]) for r in rows) + "\n", encoding="utf-8")
    recs = load_town(town).records
    r = recs["川F·D72692"]
    assert r.drivers == () and r.speed_limiter is None and fit(r, NOW)
    assert {i.state for i in dated_items(r, NOW)} == {MISSING}


def test_the_record_is_loaded_into_the_database_and_read_back_by_plate(services):
    fleet = Fleet(services.store)
    rec = fleet.record("川F·D32468")
    assert rec.model == "金龙XMQ6661ASD" and rec.speed_limiter is True
    assert [(d.id, d.licence_class, d.health_checked_on) for d in rec.drivers] == [
        ("D003", "A3", "2025-11-20")]
    assert fleet.records()["川F·D74743"].licence_expiry == "2026-11-28"


def test_a_daily_check_is_stored_once_per_bus_day_and_kind_even_from_racing_taps(services):
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.incidents.errors import BadInput, NotFound

    fleet = Fleet(services.store)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda i: fleet.check("川F·D72692", "pretrip", f"照管员{i}", NOW),
                             range(4)))
    assert sum(o["new"] for o in outs) == 1
    assert len({o["actor"] for o in outs}) == 1  # every tap is told who did it first
    today = fleet.checks_on("2026-12-05", "川F·D72692")
    assert today["pretrip"]["actor"] == outs[0]["actor"] and today["disinfect"] == {}
    assert fleet.checked("2026-12-05") == {"川F·D72692"}
    with pytest.raises(BadInput):
        fleet.check("川F·D72692", "wash", "x", NOW)
    with pytest.raises(NotFound):
        fleet.check("川F·X0000", "pretrip", "x", NOW)


def test_migration_0016_goes_down_to_0013_and_up_again(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    tables = {"drivers", "vehicle_checks", "vehicle_alerts"}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0016_vehicle_record")
        assert tables <= set(inspect(conn).get_table_names())
        assert "inspection_due" in {c["name"] for c in inspect(conn).get_columns("vehicles")}
        command.downgrade(cfg, "0013_pupils")
        assert not tables & set(inspect(conn).get_table_names())
        assert "inspection_due" not in {c["name"] for c in
                                        inspect(conn).get_columns("vehicles")}
        command.upgrade(cfg, "head")
        assert tables <= set(inspect(conn).get_table_names())
    engine.dispose()


def test_the_record_and_racing_daily_checks_on_postgresql(private_pg):
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.settings import Settings
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(private_pg.url)
    try:
        prepare_database(engine, Settings().town_dir)  # every migration, 0016 included
        fleet = Fleet(Store(engine))
        assert not fit(fleet.record("川F·D74743"), NOW)
        with ThreadPoolExecutor(6) as pool:
            outs = list(pool.map(lambda i: fleet.check("川F·D54327", "disinfect", f"照管员{i}",
                                                       NOW), range(6)))
        assert sum(o["new"] for o in outs) == 1
        assert fleet.checks_of_day("2026-12-05")["川F·D54327"].keys() == {"disinfect"}
    finally:
        engine.dispose()
