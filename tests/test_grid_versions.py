"""Grid versions (issue 16): a redrawn grid is a new version valid from a date; a case placed
before a redraw keeps its grid; a backdated report is placed in the grids of its time; the
month's statistics use the grids of their time; migration 0026 versions a town loaded before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import mapping, shape
from sqlalchemy import select

from dashboard.geo.checks import check_grids, errors
from dashboard.geo.lookup import GridIndex
from dashboard.geo.versions import GridVersion, chains, in_force, plan, version_at
from dashboard.grids.stats import grid_measures
from dashboard.incidents.kpis import Window, WorkOrderFact
from dashboard.messages import IncidentReport
from datasources.sql import models as m
from datasources.sql.engine import make_engine, upgrade
from datasources.sql.grid_versions import FIRST
from datasources.sql.grids import GridStore
from datasources.sql.incidents import Store
from datasources.sql.town_loader import import_town, preview_import
from datasources.towns.files import load_town

TOWN2 = Path(__file__).parent / "data" / "town2"
T0 = datetime(2026, 11, 10, 2, tzinfo=UTC)  # the case, before the redraw
REDRAW = datetime(2026, 11, 19, 16, tzinfo=UTC)  # 2026-11-20 00:00 in Shanghai
NOW = datetime(2026, 11, 25, 2, tzinfo=UTC)


def _v(code, version, parent, when, level=3, retired=False):
    return GridVersion(code, version, level, parent, code, "", None, {}, when, retired)


# ------------------------------------------------------------------ the rule, pure
def test_the_version_in_force_and_the_parents_of_their_time():
    rows = [_v("P1", 1, None, FIRST, 2), _v("P2", 1, None, FIRST, 2),
            _v("C", 1, "P1", FIRST), _v("C", 2, "P2", REDRAW), _v("D", 1, "P1", FIRST),
            _v("D", 2, "P1", REDRAW, retired=True)]
    assert version_at(rows, "C", T0).version == 1
    assert version_at(rows, "C", NOW).version == 2
    assert version_at(rows, "D", NOW) is None  # retired
    assert [v.code for v in in_force(rows, NOW)] == ["C", "P1", "P2"]
    ch = chains(rows)
    assert ch[("C", 1)] == {3: "C", 2: "P1"} and ch[("C", 2)] == {3: "C", 2: "P2"}
    # the month's figures: a case of C v1 counts in P1, one of C v2 in P2, whatever today is
    cells = [v.cell() for v in in_force(rows, NOW)]
    w = Window("month", datetime(2026, 11, 1, tzinfo=UTC), NOW)
    facts = [WorkOrderFact(1, "reported", T0, grid="C", grid_version=1),
             WorkOrderFact(2, "reported", NOW - timedelta(hours=1), grid="C", grid_version=2),
             WorkOrderFact(3, "reported", T0, grid="D", grid_version=1)]
    figures = grid_measures(facts, cells, 2, w, versioned=ch)
    assert (figures["P1"].received, figures["P2"].received) == (2, 1)
    # without the versions every case of C would count in today's parent, D's nowhere
    today = grid_measures(facts, cells, 2, w)
    assert (today["P1"].received, today["P2"].received) == (0, 2)


def test_plan_versions_only_what_changed():
    rows = [_v("A", 1, None, FIRST), _v("B", 1, None, FIRST)]
    a = rows[0].cell()
    b = replace(rows[1].cell(), geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 0],
                                                                             [1, 1], [0, 0]]]})
    changes, new = plan(rows, [a, b, replace(a, code="N")], REDRAW)
    assert [(c.code, c.change, c.version, c.fields) for c in changes] == [
        ("B", "redrawn", 2, ("geometry",)), ("N", "added", 1, ())]
    assert [(v.code, v.version, v.valid_from) for v in new] == [("B", 2, REDRAW),
                                                                 ("N", 1, REDRAW)]
    changes, _ = plan(rows, [a], REDRAW)
    assert [(c.code, c.change) for c in changes] == [("B", "retired")]


# ------------------------------------------------------------------ with the database
@pytest.fixture
def town2_store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'town2.db'}")
    upgrade(engine)
    store = Store(engine)
    with store.session() as s:
        import_town(s, load_town(TOWN2), NOW)
    yield store
    engine.dispose()


def _redrawn(town):
    """Town2 with G3-04 split away: a strip along G3-05 joins G3-05 and the rest becomes a
    new grid G3-19 (G3-04 is retired). Returns the town and a point of the strip."""
    by = {g.code: g for g in town.grids}
    g4, g5 = shape(by["G3-04"].geometry), shape(by["G3-05"].geometry)
    strip = g4.intersection(g5.buffer(0.003))
    point = strip.representative_point()
    rest, grown = g4.difference(strip), g5.union(strip)
    grids = [g for g in town.grids if g.code not in ("G3-04", "G3-05")]
    grids += [replace(by["G3-04"], code="G3-19", name="竹坑村新1组网格",
                      geometry=mapping(rest)),
              replace(by["G3-05"], geometry=mapping(grown))]
    new = replace(town, grids=grids)
    return new, (point.x, point.y)


def _report(lon, lat, at=None):
    return IncidentReport(source="grid_worker", category="environment", title="河道漂浮垃圾",
                          lon=lon, lat=lat, reported_at=at)


def test_a_case_placed_before_a_redraw_keeps_its_grid_and_the_months_figures_theirs(
        town2_store):
    store = town2_store
    town = load_town(TOWN2)
    redrawn, (lon, lat) = _redrawn(town)
    assert errors(check_grids(redrawn.grids, redrawn.meta["boundary"])) == []
    index = GridIndex(store.grid_cells())
    before = store.create_incident(_report(lon, lat, T0), index.locate(lon, lat), now=T0)
    with store.session() as s:
        assert [(c.code, c.change) for c in preview_import(s, redrawn, REDRAW)] == [
            ("G3-05", "redrawn"), ("G3-19", "added"), ("G3-04", "retired")]
        import_town(s, redrawn, REDRAW)
    # the old work order keeps the grid it was placed in, though that grid is gone today
    with store.session() as s:
        row = s.get(m.Incident, before.incident.id)
        assert (row.grid_code, row.grid_version) == ("G3-04", 1)
    cells = store.grid_cells()
    assert "G3-04" not in {c.code for c in cells} and "G3-19" in {c.code for c in cells}
    # a new report at the same spot is in today's grid; a backdated one in its time's
    today = GridIndex(cells).locate(lon, lat)
    assert today.code == "G3-05"
    after = store.create_incident(_report(lon, lat, NOW), today, now=NOW)
    late = store.create_incident(_report(lon + 1e-5, lat, T0 + timedelta(days=2)), today,
                                 now=NOW)
    with store.session() as s:
        placed = {r.id: (r.grid_code, r.grid_version)
                  for r in s.scalars(select(m.Incident))}
    assert placed[after.incident.id] == ("G3-05", 2)
    assert placed[late.incident.id] == ("G3-04", 1)
    # the month's statistics: the cases of the old drawing count in the grids of their time
    grids = GridStore(store, cells)
    level2 = grids.measures(2, "30d", now=NOW)
    assert level2["G2-02"].received == 3
    level3 = grids.measures(3, "30d", now=NOW, parent="G2-02")
    assert (level3["G3-05"].received, level3["G3-19"].received) == (1, 0)
    assert grids.totals("30d", parent="G2-02", now=NOW).received == 3


def test_migration_0026_versions_a_town_loaded_before(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine)
    with store.session() as s:
        import_town(s, load_town(TOWN2), NOW)
    cell = store.grid_cells()[-1]
    point = shape(cell.geometry).representative_point()
    hit = GridIndex(store.grid_cells()).locate(point.x, point.y)
    store.create_incident(_report(point.x, point.y), hit)
    cfg = alembic_config(url)
    plain = create_engine(url)  # as alembic runs: batch copies of tables, no FK pragma
    with plain.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025_admin")
        assert "grid_versions" not in inspect(conn).get_table_names()
        assert "grid_version" not in {c["name"] for c in inspect(conn).get_columns("incidents")}
        command.upgrade(cfg, "head")
    plain.dispose()
    with store.session() as s:
        rows = s.scalars(select(m.GridVersionRow)).all()
        assert len(rows) == 27 and {r.version for r in rows} == {1}
        assert all(r.valid_from.replace(tzinfo=UTC) == FIRST for r in rows)
        (inc,) = s.scalars(select(m.Incident)).all()
        assert (inc.grid_code, inc.grid_version) == (hit.code, 1)
    engine.dispose()
