"""The schools' registers (issue 13): the manifest of a trip, who reads children's names and
guardians' phones, the Excel import (row errors, nothing half-imported), the manifest door."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dashboard.buses.pupils import (
    ALIGHT,
    BOARD,
    COUNTS,
    FULL,
    MASKED,
    PupilRecord,
    StopDuty,
    Viewer,
    build_manifest,
    manifest_view,
    mask_pupil_name,
    name_access,
)
from dashboard.buses.register import COLUMNS, SCHOOL_HEAD, describe
from datasources.doors.pupils_io import import_workbook
from datasources.gate.account_cli import CLI
from datasources.sql import models as m
from datasources.sql.pupils import PupilStore
from datasources.towns.pupil_xlsx import read_sheets, write_workbook
from tests.auth_helpers import sign_in
from tests.pupil_helpers import AM, MUM, PM, ROUTE


def pupil(pid: str, name: str, stop: str, trips: tuple[str, ...] = ("R9-AM1", "R9-PM1"),
          klass: str = "七年级1班") -> PupilRecord:
    return PupilRecord(pid, name, "QSZX", klass, stop, trips, (MUM,))


PUPILS = [pupil("P3", "李四", "S2"), pupil("P1", "张小明", "S1"),
          pupil("P2", "欧阳娜娜", "S1", trips=("R9-PM1",))]


# ---------------------------------------------------------------- the rules
def test_the_morning_manifest_lists_who_boards_at_each_stop_in_driving_order():
    manifest = build_manifest(ROUTE, AM, PUPILS, [StopDuty("S1", "volunteer", "王秀兰")])
    assert [s.code for s in manifest.stops] == ["S1", "S2", "S3"]
    assert [[p.id for p in s.pupils] for s in manifest.stops] == [["P1"], ["P3"], []]
    assert manifest.expected == 2  # P2 rides home only
    assert manifest.stops[0].action == BOARD and manifest.stops[0].time == "07:00"
    assert manifest.stops[0].staff[0].name == "王秀兰"
    assert manifest.home_stop("P3") == "S2"


def test_the_afternoon_manifest_runs_backwards_and_pupils_alight_at_home():
    manifest = build_manifest(ROUTE, PM, PUPILS)
    assert [s.code for s in manifest.stops] == ["S3", "S2", "S1"]
    assert manifest.stops[2].action == ALIGHT
    assert [p.name for p in manifest.stops[2].pupils] == ["张小明", "欧阳娜娜"]
    assert manifest.expected == 3


def test_names_are_masked_like_the_school_register_shows_them():
    assert mask_pupil_name("张小明") == "张*明"
    assert mask_pupil_name("欧阳娜娜") == "欧**娜"
    assert mask_pupil_name("李四") == "李*"
    assert mask_pupil_name("王") == "*"


@pytest.mark.parametrize(("viewer", "access"), [
    (Viewer("officer"), FULL), (Viewer("admin"), FULL), (Viewer("leader"), MASKED),
    (Viewer("display"), COUNTS), (Viewer("grid_worker"), MASKED),
    (Viewer("escort", frozenset({("trip", "R9-AM1")})), FULL),
    (Viewer("escort", frozenset({("vehicle", "川F·D1")})), FULL),
    (Viewer("escort", frozenset({("trip", "R9-PM1")})), MASKED),
    (Viewer("school_staff", frozenset({("school", "QSZX")})), FULL),
    (Viewer("school_staff", frozenset({("school", "QSXX")})), MASKED),
])
def test_who_reads_names_in_full(viewer, access):
    assert name_access(viewer, "R9-AM1", "川F·D1", "QSZX") == access


def test_a_leader_sees_masked_names_and_phones_an_officer_sees_both_whole():
    manifest = build_manifest(ROUTE, AM, PUPILS)
    leader = manifest_view(manifest, Viewer("leader"))
    first = leader["stops"][0]["pupils"][0]
    assert first["name"] == "张*明" and first["id"] == "P1"
    assert first["guardians"][0]["phone"] == "138****1234"
    officer = manifest_view(manifest, Viewer("officer"))
    first = officer["stops"][0]["pupils"][0]
    assert first["name"] == "张小明" and first["guardians"][0]["phone"] == "13812341234"
    escort = manifest_view(manifest, Viewer("escort", frozenset({("trip", "R9-AM1")})))
    first = escort["stops"][0]["pupils"][0]
    assert first["name"] == "张小明" and first["guardians"][0]["phone"] == "138****1234"


def test_the_wall_gets_counts_only():
    wall = manifest_view(build_manifest(ROUTE, AM, PUPILS), Viewer("display"))
    assert wall["expected"] == 2
    assert [s["expected"] for s in wall["stops"]] == [1, 1, 0]
    assert all("pupils" not in s and "staff" not in s for s in wall["stops"])
    assert "张" not in str(wall)


# ---------------------------------------------------------------- the import
def sheet(school: str = "QSTT", rows: list[dict[str, str]] | None = None,
          title: str = "测试学校") -> tuple[str, list[list[str]]]:
    """A school's sheet in the documented layout; each row overrides a good pupil."""
    good = {"id": "T001", "name": "赵小花", "class": "七年级1班", "teacher": "钱老师",
            "teacher_phone": "13800000009", "home_stop": "R01-S01", "am_trip": "R01-AM1",
            "pm_trip": "R01-PM1", "guardian": "赵大山", "relation": "父亲",
            "phone": "13800000001", "guardian2": "", "relation2": "", "phone2": "",
            "line_leader": "是", "volunteer": "是"}
    out = [[SCHOOL_HEAD[0], school, SCHOOL_HEAD[1], title, SCHOOL_HEAD[2], "Test School"],
           [c.zh for c in COLUMNS]]
    for row in rows if rows is not None else [{}]:
        out.append([{**good, **row}[c.key] for c in COLUMNS])
    return title, out


def counts(services) -> tuple[int, int]:
    with services.store.session() as s:
        return (s.scalar(select(func.count()).select_from(m.Pupil)),
                s.scalar(select(func.count()).select_from(m.School)))


def test_a_good_workbook_is_imported_and_its_pupils_are_on_the_manifest(services):
    data = write_workbook([sheet(rows=[{}, {"id": "T002", "name": "孙小草", "line_leader": "",
                                            "volunteer": "", "guardian2": "孙奶奶",
                                            "relation2": "祖母", "phone2": "13800000002"}])])
    before, schools = counts(services)
    done = import_workbook(services.store.engine, data, CLI, "test.xlsx")
    assert done.errors == []
    assert done.counts["pupils"] == 2 and done.counts["guardians"] == 3
    assert counts(services) == (before + 2, schools + 1)
    manifest = PupilStore(services.store.engine).manifest("R01-AM1")
    first = next(s for s in manifest.stops if s.code == "R01-S01")
    assert {"T001", "T002"} <= {p.id for p in first.pupils}
    assert {(d.duty, d.name) for d in first.staff if d.school == "QSTT"} == {
        ("line_leader", "赵小花"), ("volunteer", "赵大山")}
    assert services.audit.search(action="pupils.import")[0]["target"] == "test.xlsx"
    # Imported again with one pupil: the school's register is replaced, not appended to.
    import_workbook(services.store.engine, write_workbook([sheet()]), CLI, "again.xlsx")
    assert counts(services) == (before + 1, schools + 1)


def test_every_bad_row_is_reported_with_sheet_row_and_column_and_nothing_is_imported(services):
    bad = write_workbook([
        sheet(rows=[{}, {"id": "T002", "home_stop": "NOPE"}, {"id": "T003", "phone": "abc"},
                    {"id": "T001"}, {"id": "T004", "am_trip": "R01-PM1"},
                    {"id": "T005", "name": ""}, {"id": "T006", "am_trip": "R02-AM1"}]),
        sheet(school="QSUU", title="第二学校", rows=[{"id": "U001"}])])
    before = counts(services)
    done = import_workbook(services.store.engine, bad, CLI, "bad.xlsx")
    assert counts(services) == before  # the good rows and the good sheet are not written
    found = {(e.sheet, e.row, e.column, e.code) for e in done.errors}
    assert found == {("测试学校", 4, "F", "pupil_unknown_stop"),
                     ("测试学校", 5, "K", "pupil_bad_phone"),
                     ("测试学校", 6, "A", "pupil_dup_id"),
                     ("测试学校", 7, "G", "pupil_trip_period"),
                     ("测试学校", 8, "B", "pupil_missing"),
                     ("测试学校", 9, "G", "pupil_trip_stop")}
    text = {describe(e, "zh") for e in done.errors}
    assert "工作表「测试学校」第 4 行 F 列「站点编号」：站点编号「NOPE」不在本镇任何专线上" in text
    english = describe(next(e for e in done.errors if e.row == 5), "en")
    assert english == ("sheet 测试学校, row 5, column K (监护人电话): abc is not a phone "
                       "number")


def test_a_file_that_is_not_a_workbook_is_refused_whole(services):
    done = import_workbook(services.store.engine, b"PK\x03\x04 not really", CLI, "x.xlsx")
    assert [e.code for e in done.errors] == ["pupil_bad_file"]


def test_a_workbook_missing_a_column_names_it(services):
    title, rows = sheet()
    rows[1][5] = "站点"  # the home stop's header misspelt
    done = import_workbook(services.store.engine, write_workbook([(title, rows)]), CLI, "x")
    assert [(e.row, e.code, e.value) for e in done.errors] == [
        (2, "pupil_no_column", "站点编号")]


def test_the_template_round_trips_through_the_reader():
    from datasources.doors.pupils_io import template_bytes

    sheets = read_sheets(template_bytes())
    assert sheets[0][1][1] == [c.zh for c in COLUMNS]


def test_the_demo_town_has_two_schools_and_their_pupils_on_the_routes(services):
    store = PupilStore(services.store.engine)
    assert store.counts() == {"schools": 2, "pupils": 146}
    manifest = store.manifest("R05-AM1")
    assert manifest is not None and 5 <= manifest.expected <= 24  # fewer than the seats
    assert all(s.staff for s in manifest.stops if s.pupils)


# ---------------------------------------------------------------- the door
def test_the_manifest_door_answers_by_role_audits_each_read_and_404s_unknown_trips(client):
    services = client.zn
    sign_in(client, services, "值班员甲", "officer")
    r = client.get("/api/v1/buses/trips/R01-AM1/manifest")
    assert r.status_code == 200
    body = r.json()
    names = [p["name"] for s in body["stops"] for p in s.get("pupils", [])]
    assert body["expected"] == len(names) > 0 and "*" not in "".join(names)
    rows = services.audit.search(action="pupils.manifest")
    assert rows[0]["target"] == "R01-AM1" and rows[0]["actor"] == "值班员甲"

    sign_in(client, services, "领导甲", "leader")
    body = client.get("/api/v1/buses/trips/R01-AM1/manifest").json()
    names = [p["name"] for s in body["stops"] for p in s.get("pupils", [])]
    assert all("*" in n for n in names)
    assert len(services.audit.search(action="pupils.manifest")) == 2

    r = client.get("/api/v1/buses/trips/R99-AM9/manifest", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.json() == {"error": "unknown_trip", "message": "There is no trip R99-AM9"}
    r = client.get("/api/v1/buses/trips/R99-AM9/manifest")
    assert r.json()["message"] == "没有班次「R99-AM9」"

    for role in ("display", "grid_worker", "escort"):
        sign_in(client, services, f"u-{role}", role)
        assert client.get("/api/v1/buses/trips/R01-AM1/manifest").status_code == 403
    client.cookies.clear()
    assert client.get("/api/v1/buses/trips/R01-AM1/manifest").status_code == 401


# ---------------------------------------------------------------- the command line
def _env(settings) -> dict[str, str]:
    return {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url, "ZN_LOG_LEVEL": "WARNING"}


def test_the_cli_writes_the_template_imports_it_and_reports_errors_by_place(settings,
                                                                             tmp_path):
    from click.testing import CliRunner

    from cli import main

    runner, env = CliRunner(), _env(settings)
    out = tmp_path / "模板.xlsx"
    assert runner.invoke(main, ["pupils", "template", str(out)], env=env).exit_code == 0
    done = runner.invoke(main, ["pupils", "import", str(out)], env=env)
    assert done.exit_code == 0 and "pupils 1" in done.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(write_workbook([sheet(rows=[{"home_stop": "NOPE"}])]))
    refused = runner.invoke(main, ["pupils", "import", str(bad), "--lang", "en"], env=env)
    assert refused.exit_code != 0
    assert "sheet 测试学校, row 3, column F (站点编号): stop NOPE is on none" in refused.output
    assert "1 errors; nothing was imported" in refused.output


def test_an_escorts_account_names_its_trip_and_vehicle(settings):
    from click.testing import CliRunner

    from cli import main
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine

    runner, env = CliRunner(), _env(settings)
    added = runner.invoke(main, ["user", "add", "跟车老师甲", "--role", "escort", "--password",
                                 "long-enough-pass-1", "--post", "trip:R01-AM1",
                                 "--post", "vehicle:川F·D72692"], env=env)
    assert added.exit_code == 0, added.output
    engine = make_engine(settings.database_url)
    user = Accounts(engine).user("跟车老师甲")
    assert PupilStore(engine).posts(user.id) == {("trip", "R01-AM1"),
                                                 ("vehicle", "川F·D72692")}
    wrong = runner.invoke(main, ["user", "add", "值班员乙", "--role", "officer", "--password",
                                 "long-enough-pass-1", "--post", "trip:R01-AM1"], env=env)
    assert wrong.exit_code != 0 and "--post" in wrong.output
    unknown = runner.invoke(main, ["user", "add", "跟车老师乙", "--role", "escort",
                                   "--password", "long-enough-pass-1", "--post", "trip:R99-AM9"],
                            env=env)
    assert unknown.exit_code != 0 and "no trip:R99-AM9" in unknown.output
    assert Accounts(engine).user("跟车老师乙") is None
    engine.dispose()


def test_migration_0011_goes_down_to_0010_and_up_again(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    tables = {"schools", "school_classes", "pupils", "pupil_trips", "guardians", "stop_staff",
              "user_posts", "boarding_events"}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0013_pupils")
        assert tables <= set(inspect(conn).get_table_names())
        command.downgrade(cfg, "0012_flow_states")
        assert not tables & set(inspect(conn).get_table_names())
        command.upgrade(cfg, "head")
        assert tables <= set(inspect(conn).get_table_names())
    engine.dispose()
