"""A town's own data in real headless Chromium (issue 16): the administrator uploads a zip
with seeded errors (each listed by feature, nothing applied), then the town's redrawn
grids (drawn over the ones in force, the difference listed) and applies them; and the
made-up second town 松溪乡 runs on its own wall."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from shapely import set_precision
from shapely.geometry import mapping, shape
from sqlalchemy import func, select

from dashboard.settings import DEMO_TOWN_DIR
from datasources.sql import models as m
from datasources.towns.sources import zip_folder
from pages._components import TOWN_API
from tests.browser import start_app

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"


def _redrawn_demo(folder: Path) -> str:
    """The demo town with one level-3 grid grown over a strip of its neighbour (same
    parent); returns the code of the grid that grew."""
    shutil.copytree(DEMO_TOWN_DIR, folder)
    data = json.loads((folder / "grids.geojson").read_text("utf-8"))
    level3 = [f for f in data["features"] if f["properties"]["level"] == 3]
    for a in level3:
        for b in level3:
            sa, sb = shape(a["geometry"]), shape(b["geometry"])
            if a is b or a["properties"]["parent"] != b["properties"]["parent"] or \
                    not sa.touches(sb) or sa.intersection(sb).length < 0.004:
                continue
            strip = sb.intersection(sa.buffer(0.0015))
            # as a town's files keep them: 6 decimals, still valid polygons
            grown = set_precision(sa.union(strip), 1e-6)
            shrunk = set_precision(sb.difference(strip), 1e-6)
            if grown.geom_type != "Polygon" or shrunk.geom_type != "Polygon" or \
                    not (grown.is_valid and shrunk.is_valid):
                continue
            a["geometry"], b["geometry"] = mapping(grown), mapping(shrunk)
            (folder / "grids.geojson").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
            return str(a["properties"]["code"])
    raise AssertionError("no two neighbouring level-3 grids")


def _upload(dash_duo: Any, path: Path) -> None:
    dash_duo.wait_for_element("#adm-town-upload input[type=file]", timeout=20).send_keys(
        str(path))


def test_imp001_bad_town_refused_by_feature_then_a_redraw_previewed_and_applied(
        dash_duo, settings, tmp_path):
    bad = tmp_path / "松溪乡-错.zip"
    bad.write_bytes(zip_folder(DATA / "town2-bad"))
    grew = _redrawn_demo(tmp_path / "demo-redrawn")
    good = tmp_path / "青石镇-新网格.zip"
    good.write_bytes(zip_folder(tmp_path / "demo-redrawn"))
    app = start_app(dash_duo, settings, path="/admin?tab=town", role="admin",
                    wait_status=None)
    store = app.zn_services.store
    with store.session() as s:
        versions_before = s.scalar(select(func.count()).select_from(m.GridVersionRow))
    _upload(dash_duo, bad)
    dash_duo.wait_for_contains_text("#adm-town-preview", "个错误，未导入任何数据", timeout=20)
    shown = {(e.get_attribute("data-kind"), e.get_attribute("data-feature"))
             for e in dash_duo.find_elements(".adm-town-error")}
    for seeded in (("invalid_polygon", "G3-01"), ("not_in_parent", "G3-05"),
                   ("overlap", "G3-08"), ("gap", "G2-05"), ("stop_off_route", "SX1-S6"),
                   ("field_number", "line 3"), ("bad_parent", "G3-11")):
        assert seeded in shown, seeded
    warned = [e.text for e in dash_duo.find_elements(".adm-town-warning")]
    assert warned == ["grids · G3-16: 三级网格没有网格员"]
    assert "villages.csv · line 3: 字段 population 应为数字" in [
        e.text for e in dash_duo.find_elements(".adm-town-error")]
    assert dash_duo.find_element("#adm-town-apply").get_attribute("disabled")
    with store.session() as s:  # nothing applied
        assert s.get(m.TownMeta, "name").value == "青石镇"
        assert s.scalar(select(func.count()).select_from(m.GridVersionRow)) == versions_before
    # the demo town's redrawn grids: previewed over the ones in force, then applied
    _upload(dash_duo, good)
    dash_duo.wait_for_element(f"#adm-town-change-{grew}", timeout=20)
    rows = [r.text for r in dash_duo.find_elements("#adm-town-preview tbody tr")]
    assert len(rows) == 2 and all("重新划定 v2 边界" in r for r in rows), rows
    assert dash_duo.find_elements("#adm-town-map path.leaflet-interactive") or \
        dash_duo.find_elements(".adm-town-map path")  # both layers drawn
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: not d.find_element(By.ID, "adm-town-apply").get_attribute("disabled"))
    dash_duo.find_element("#adm-town-apply").click()
    dash_duo.wait_for_contains_text("#adm-town-msg", "已导入：68 个网格", timeout=30)
    with store.session() as s:
        redrawn = s.scalars(select(m.GridVersionRow).where(m.GridVersionRow.version == 2)).all()
        assert grew in {r.code for r in redrawn} and len(redrawn) == 2
        assert s.get(m.TownMeta, "name").value == "青石镇"
    [entry] = app.zn_services.audit.search(action="town.import")
    assert (entry["actor"], entry["target"]) == ("管理员甲", "青石镇-新网格.zip")


def test_imp002_songxi_runs_on_its_own_wall(dash_duo, settings, tmp_path):
    town2 = settings.with_(town_dir=str(DATA / "town2"),
                           database_url=f"sqlite:///{tmp_path / 'town2.db'}")
    start_app(dash_duo, town2, role="officer")
    dash_duo.wait_for_text_to_equal("header .town", "松溪乡", timeout=20)
    # the wall's map reads its level-3 grids from the town's API: Songxi's 18, in WGS-84
    grids = dash_duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.json()).then(done, e => done(String(e)));",
        f"{TOWN_API}/grids-3.geojson")
    codes = [f["properties"]["code"] for f in grids["features"]]
    assert codes == [f"G3-{n:02d}" for n in range(1, 19)]
    lon, lat = grids["features"][0]["geometry"]["coordinates"][0][0]
    assert 117.5 < lon < 117.75 and 27.2 < lat < 27.4
    # drawn: the grid lines and the basemap's village names are on the map
    WebDriverWait(dash_duo.driver, 20).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#home-map path")) >= 27)
    dash_duo.wait_for_contains_text("#home-map", "岭头村", timeout=20)
