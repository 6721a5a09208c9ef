"""A town's own data (issue 16): every file validated, the geometry checked per feature,
GCJ-02 converted, GeoJSON or Shapefile grids, GTFS or CSV routes, a zip upload, the
`import-town` command, and the made-up second town 松溪乡 with its seeded errors."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from shapely.geometry import box, mapping, shape

from cli import main
from dashboard.geo.checks import check_grids, check_routes
from dashboard.geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from dashboard.town import GridCell, Route, Stop
from dashboard.town_import import check_town, describe
from datasources.towns.files import check_folder, load_town
from datasources.towns.sources import unpacked, zip_folder

DATA = Path(__file__).parent / "data"
TOWN2, BAD = DATA / "town2", DATA / "town2-bad"
# The seeded errors of town2-bad (tools/gen_town2.py SEEDED): kind, the feature it is on.
SEEDED = [("invalid_polygon", "G3-01"), ("not_in_parent", "G3-05"), ("overlap", "G3-08"),
          ("gap", "G2-05"), ("no_worker", "G3-16"), ("stop_off_route", "SX1-S6"),
          ("field_number", "line 3"), ("bad_parent", "G3-11")]


def _cell(code: str, level: int, parent: str | None, geom, workers=({"id": "W1", "name": "甲"},)):
    return GridCell(code, level, parent, code, code, None, mapping(geom), {}, list(workers), 0)


D = 0.01  # about a kilometre


# ------------------------------------------------------------------ the checks, pure
def test_a_clean_tiling_has_no_finding():
    cells = [_cell("A", 2, None, box(0 + 104, 30, 104 + 2 * D, 30 + D)),
             _cell("A1", 3, "A", box(104, 30, 104 + D, 30 + D)),
             _cell("A2", 3, "A", box(104 + D, 30, 104 + 2 * D, 30 + D))]
    assert check_grids(cells) == []


def test_each_geometry_fault_is_reported_on_its_feature():
    bowtie = {"type": "Polygon", "coordinates": [[[104, 30], [104 + D, 30 + D], [104 + D, 30],
                                                  [104, 30 + D], [104, 30]]]}
    cells = [_cell("P", 2, None, box(104, 30, 104 + 3 * D, 30 + D)),
             GridCell("BAD", 3, "P", "bad", "", None, bowtie, {}, [{"id": "W"}], 0),
             _cell("OUT", 3, "P", box(104 + D, 30, 104 + 2 * D, 30 + 2 * D)),
             _cell("LAP", 3, "P", box(104 + 1.5 * D, 30, 104 + 2.5 * D, 30 + D), workers=())]
    found = {(f.kind, f.feature) for f in check_grids(cells)}
    assert ("invalid_polygon", "BAD") in found
    assert ("not_in_parent", "OUT") in found
    assert ("overlap", "LAP") in found  # LAP and OUT share half a cell (named once)
    assert ("gap", "P") in found  # the last third of P: nobody's (BAD is not counted)
    assert ("no_worker", "LAP") in found
    assert ("no_worker", "OUT") not in found


def test_slivers_under_the_tolerance_are_no_fault():
    eps = 1e-7  # about a centimetre: digitised boundaries never meet exactly
    cells = [_cell("P", 2, None, box(104, 30, 104 + 2 * D, 30 + D)),
             _cell("A", 3, "P", box(104, 30, 104 + D + eps, 30 + D)),
             _cell("B", 3, "P", box(104 + D, 30, 104 + 2 * D, 30 + D))]
    assert check_grids(cells) == []


def test_a_stop_off_its_route_is_reported_by_stop():
    route = Route("R1", "线", "", "校", [Stop("S1", "一", "", 104.0, 30.0),
                                        Stop("S2", "二", "", 104.01, 30.0),
                                        Stop("S3", "三", "", 104.005, 30.005)],
                  [[104.0, 30.0], [104.01, 30.0]], 0, [], {})
    found = check_routes([route])
    assert [(f.kind, f.feature, f.params["route"]) for f in found] == [
        ("stop_off_route", "S3", "R1")]
    assert 500 < found[0].params["m"] < 600


def test_gcj02_goes_back_to_wgs84_within_a_centimetre():
    for lon, lat in ((104.45, 30.55), (117.62, 27.31), (121.47, 31.23)):
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
        assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    assert gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)  # outside China: unchanged


# ------------------------------------------------------------------ files
def test_bad_rows_are_named_in_both_languages_and_the_good_rows_kept():
    files = {"town.json": {"code": "X", "name": "镇"},
             "grids": {"type": "FeatureCollection", "features": []},
             "villages.csv": [
                 {"code": "V1", "name": "一村", "kind": "village", "population": "10",
                  "households": "3", "lon": "104", "lat": "30", "grid": "G"},
                 {"code": "V2", "name": "<b>二村</b>", "kind": "town", "population": "-1",
                  "households": "3", "lon": "400", "lat": "30", "grid": "G"}],
             "stations": [], "routes": [], "vehicles.csv": []}
    checked = check_town(files)
    assert checked.town is not None and [v.code for v in checked.town.villages] == ["V1"]
    mine = [f for f in checked.findings if f.feature == "line 3"]
    assert {f.params["field"] for f in mine} == {"name", "kind", "population", "lon"}
    zh = {describe(f, "zh") for f in mine}
    en = {describe(f, "en") for f in mine}
    assert "villages.csv · line 3: 字段 population 超出允许范围" in zh
    assert "villages.csv · line 3: field kind is not one of the allowed values" in en
    assert not checked.ok


def test_town2_in_gcj02_is_clean_and_stored_in_wgs84():
    checked = check_folder(TOWN2)
    assert checked.findings == [] and checked.ok and checked.crs == "gcj02"
    town = checked.town
    assert (len([g for g in town.grids if g.level == 1]), len([g for g in town.grids
            if g.level == 2]), len([g for g in town.grids if g.level == 3])) == (3, 6, 18)
    assert town.meta["crs"] == "wgs84"
    with (TOWN2 / "villages.csv").open(encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    v = town.villages[0]
    # the file's GCJ-02 point is ~300-600 m from the stored WGS-84 one, and converts back
    gx, gy = wgs84_to_gcj02(v.lon, v.lat)
    assert abs(gx - float(first["lon"])) < 2e-6 and abs(gy - float(first["lat"])) < 2e-6
    assert abs(v.lon - float(first["lon"])) > 0.002
    # the route came from the GTFS feed, its trips both ways; workers from workers.csv
    (route,) = town.routes
    assert route.code == "SX1" and len(route.stops) == 6 and len(route.trips) == 2
    assert all(len(g.workers) == 2 for g in town.grids if g.level == 3)


def test_the_shapefile_gives_the_same_grids_as_the_geojson(tmp_path):
    folder = tmp_path / "town2-shp"
    shutil.copytree(TOWN2, folder)
    (folder / "grids.geojson").unlink()
    from_shp = load_town(folder)
    from_json = load_town(TOWN2)
    assert [g.code for g in from_shp.grids] == [g.code for g in from_json.grids]
    for a, b in zip(from_shp.grids, from_json.grids, strict=True):
        assert (a.level, a.parent, a.village, a.name, a.leader) == (
            b.level, b.parent, b.village, b.name, b.leader)
        assert shape(a.geometry).symmetric_difference(shape(b.geometry)).area < 1e-10


def test_stations_and_routes_from_csv(tmp_path):
    folder = tmp_path / "town2-csv"
    shutil.copytree(TOWN2, folder)
    stations = json.loads((folder / "stations.json").read_text("utf-8"))
    (folder / "stations.json").unlink()
    with (folder / "stations.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "kind", "name", "name_en", "lon", "lat", "covers", "vehicles"])
        for s in stations:
            w.writerow([s["code"], s["kind"], s["name"], s["name_en"], s["lon"], s["lat"],
                        ";".join(s["covers"]), s["vehicles"]])
    town = load_town(TOWN2)
    shutil.rmtree(folder / "gtfs")
    with (folder / "routes.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["route", "route_name", "school", "seq", "stop", "stop_name", "lon", "lat"])
        for n, s in enumerate(town.routes[0].stops):
            gx, gy = wgs84_to_gcj02(s.lon, s.lat)
            w.writerow(["SX9", "九号线", "松溪中心小学", n + 1, f"X{n}", s.name, gx, gy])
    from_csv = load_town(folder)
    assert [s["covers"] for s in from_csv.stations] == [s["covers"] for s in stations]
    assert from_csv.stations[0]["rooms"] == []
    (route,) = from_csv.routes
    assert route.code == "SX9" and [s.code for s in route.stops][:2] == ["X0", "X1"]
    assert abs(route.stops[0].lon - town.routes[0].stops[0].lon) < 1e-5


def test_every_seeded_error_of_town2_bad_is_reported_by_feature():
    checked = check_folder(BAD)
    found = {(f.kind, f.feature) for f in checked.findings}
    for seeded in SEEDED:
        assert seeded in found, seeded
    assert not checked.ok
    # the same findings read in both languages, every one of them
    for f in checked.findings:
        assert describe(f, "zh") != describe(f, "en")


def test_a_zip_upload_unpacks_and_a_hostile_one_is_refused(tmp_path):
    with unpacked(zip_folder(TOWN2)) as folder:
        assert check_folder(folder).ok
    assert not folder.exists()  # removed after
    with pytest.raises(ValueError), unpacked(b"not a zip"):
        pass
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../etc/evil", "x")
    with pytest.raises(ValueError, match="unsafe"), unpacked(buf.getvalue()):
        pass


# ------------------------------------------------------------------ the command
def test_check_of_the_bad_town_lists_the_errors_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.setenv("ZN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    run = CliRunner().invoke(main, ["import-town", str(BAD), "--lang", "en"])
    assert run.exit_code == 1
    assert "grids · G3-01: invalid polygon" in run.output
    assert "routes · SX1-S6: stop lies" in run.output
    assert not (tmp_path / "zhongnao.db").exists()  # nothing applied, not even a schema
    run = CliRunner().invoke(main, ["import-town", str(BAD), "--check"])
    assert run.exit_code == 1 and "多边形无效" in run.output


def test_import_applies_the_good_town_and_check_changes_nothing(tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from datasources.sql import models as m
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store

    monkeypatch.setenv("ZN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    zipped = tmp_path / "town2.zip"
    zipped.write_bytes(zip_folder(TOWN2))
    run = CliRunner().invoke(main, ["import-town", str(zipped), "--check", "--lang", "en"])
    assert run.exit_code == 0, run.output
    assert "G3-18: added v1" in run.output
    store = Store(make_engine(f"sqlite:///{tmp_path / 'zhongnao.db'}"))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Grid)) == 0
    run = CliRunner().invoke(main, ["import-town", str(TOWN2), "--valid-from", "2026-11-01"])
    assert run.exit_code == 0, run.output
    with store.session() as s:
        assert s.get(m.TownMeta, "name").value == "松溪乡"
        assert s.scalar(select(func.count()).select_from(m.GridVersionRow)) == 27
        assert s.scalar(select(func.count()).select_from(m.GridWorker)) == 36
        audit = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "town.import")).all()
        assert len(audit) == 1
    # the same data again: nothing redrawn, no new version
    run = CliRunner().invoke(main, ["import-town", str(TOWN2), "--lang", "en"])
    assert run.exit_code == 0 and "redrawn" not in run.output
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(m.GridVersionRow)) == 27


def test_the_valid_from_date_is_the_towns_midnight(tmp_path, monkeypatch):
    from sqlalchemy import select

    from dashboard.timeutil import as_utc
    from datasources.sql import models as m
    from datasources.sql.engine import make_engine
    from datasources.sql.incidents import Store

    monkeypatch.setenv("ZN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(main, ["import-town", str(TOWN2)]).exit_code == 0
    folder = tmp_path / "redrawn"
    shutil.copytree(TOWN2, folder)
    data = json.loads((folder / "grids.geojson").read_text("utf-8"))
    feat = next(f for f in data["features"] if f["properties"]["code"] == "G3-18")
    feat["properties"]["name"] = "茶坪村三组（新）"
    (folder / "grids.geojson").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    run = CliRunner().invoke(main, ["import-town", str(folder), "--valid-from", "2026-12-01",
                                    "--lang", "en"])
    assert run.exit_code == 0 and "G3-18: redrawn v2 name" in run.output, run.output
    store = Store(make_engine(f"sqlite:///{tmp_path / 'zhongnao.db'}"))
    with store.session() as s:
        v2 = s.scalars(select(m.GridVersionRow).where(m.GridVersionRow.version == 2)).one()
        assert as_utc(v2.valid_from) == datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_another_towns_folder_keeps_its_own_data_folder_unless_one_is_set():
    """`ZN_TOWN_DIR=tests/data/town2 make run` must not open the demo's database (which
    refuses another town): each town folder has its own var/towns/NAME by default."""
    from dashboard.settings import PROJECT_ROOT, Settings

    demo = Settings.from_env({})
    town2 = Settings.from_env({"ZN_TOWN_DIR": "tests/data/town2"})
    chosen = Settings.from_env({"ZN_TOWN_DIR": "tests/data/town2", "ZN_DATA_DIR": "/srv/zn"})
    assert demo.data_dir == str(PROJECT_ROOT / "var")
    assert town2.data_dir == str(PROJECT_ROOT / "var" / "towns" / "town2")
    assert town2.db_url.endswith("/var/towns/town2/zhongnao.db")
    assert chosen.data_dir == "/srv/zn"
