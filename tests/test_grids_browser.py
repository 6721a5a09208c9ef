"""The grid heatmap page in a real headless Chromium: drill-down, legend, live recolouring."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from dashboard.grids.stats import RAMP
from dashboard.settings import DEMO_TOWN_DIR
from tests.browser import Source, start_app, wait_until

pytestmark = pytest.mark.browser

SIZES = ("1920x1080", "1024x768")


def _open_grids(dash_duo, settings, size: str, query: str = "") -> None:
    w, h = (int(v) for v in size.split("x"))
    dash_duo.driver.set_window_size(w, h)
    start_app(dash_duo, settings, path=f"/grids{query}", wait_status=None)


def _children(code: str) -> list[str]:
    data = json.loads((DEMO_TOWN_DIR / "grids.geojson").read_text(encoding="utf-8"))
    return sorted(f["properties"]["code"] for f in data["features"]
                  if f["properties"]["parent"] == code)


def _polygons(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#gs-map path.zn-grid')).map("
        "p => Array.from(p.classList).find(c => c.startsWith('zn-grid-')).slice(8)).sort();")


def _candidates(code: str) -> list[tuple[float, float]]:
    """Points inside the grid, the most central first (a box centre can fall next door)."""
    from shapely.geometry import Point, shape

    data = json.loads((DEMO_TOWN_DIR / "grids.geojson").read_text(encoding="utf-8"))
    poly = shape(next(f["geometry"] for f in data["features"]
                      if f["properties"]["code"] == code))
    x0, y0, x1, y1 = poly.bounds
    grid = [Point(x0 + (x1 - x0) * i / 8, y0 + (y1 - y0) * j / 8)
            for i in range(1, 8) for j in range(1, 8)]
    inside = sorted((p for p in grid if poly.contains(p)),
                    key=lambda p: -poly.exterior.distance(p))
    return [(p.x, p.y) for p in [poly.representative_point(), *inside]]


def _click_grid(dash_duo, code: str) -> None:
    """Click the grid like a user: at a point of it nothing else covers, once the map has
    stopped moving (fitBounds animates)."""
    wait_until(lambda: dash_duo.driver.execute_script(
        "var m = window.zn.maps['gs-map'];"
        "return !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress);"),
        what="the map to settle")
    time.sleep(0.4)
    spot = dash_duo.driver.execute_script(
        "var m = window.zn.maps['gs-map'], r = m.getContainer().getBoundingClientRect();"
        "for (var i = 0; i < arguments[1].length; i++) {"
        "  var c = arguments[1][i], p = m.latLngToContainerPoint([c[1], c[0]]);"
        "  var e = document.elementFromPoint(r.left + p.x, r.top + p.y);"
        "  if (e && e.classList.contains('zn-grid-' + arguments[0])) { return [p.x, p.y]; }"
        "} return null;", code, _candidates(code))
    assert spot is not None, f"no visible point of {code} to click"
    box = dash_duo.find_element("#gs-map")  # selenium 4.2: offsets from the top-left corner
    ActionChains(dash_duo.driver).move_to_element_with_offset(
        box, int(spot[0]), int(spot[1])).click().perform()


@pytest.mark.parametrize("size", SIZES)
def test_gs001_drill_down_from_level_1_to_3_changes_polygons_and_legend(dash_duo, settings,
                                                                        size):
    _open_grids(dash_duo, settings, size)
    wait_until(lambda: len(_polygons(dash_duo)) == 5, what="five level-1 grids")
    dash_duo.wait_for_contains_text("#gs-legend", "1级网格", timeout=20)
    total = dash_duo.wait_for_element("#gs-total-received", timeout=10)  # the town's figures
    assert total.get_attribute("data-kpi") == "received" and total.get_attribute("data-value")
    # Hover: the grid's figures, its leader and its workers on duty.
    zone = dash_duo.find_element("#gs-map path.zn-grid-G1-02")
    ActionChains(dash_duo.driver).move_to_element(zone).move_by_offset(2, 2).perform()
    tip = dash_duo.wait_for_element(".zn-grid-tip", timeout=10)
    assert "第二网格片区" in tip.text and "网格长: 王伟" in tip.text
    assert "在岗网格员" in tip.text and "办结率" in tip.text
    _click_grid(dash_duo, "G1-01")
    wait_until(lambda: _polygons(dash_duo) == _children("G1-01"), what="level-2 grids of G1-01")
    dash_duo.wait_for_contains_text("#gs-legend", "2级网格", timeout=20)
    dash_duo.wait_for_contains_text("#gs-crumbs", "第一网格片区", timeout=20)
    _click_grid(dash_duo, "G2-01")
    wait_until(lambda: _polygons(dash_duo) == _children("G2-01"), what="level-3 grids of G2-01")
    dash_duo.wait_for_contains_text("#gs-legend", "3级网格", timeout=20)
    # A level-3 grid shows who is on duty, the week's rota and the call-up list.
    _click_grid(dash_duo, "G3-03")
    dash_duo.wait_for_element("#gs-rota-table tr td", timeout=10)
    dash_duo.wait_for_contains_text("#gs-on-duty", "在岗网格员", timeout=20)
    assert dash_duo.find_elements("#gs-callup li")
    # Back to the town through the breadcrumb.
    dash_duo.find_elements(".gs-crumb")[0].click()
    wait_until(lambda: len(_polygons(dash_duo)) == 5 and _polygons(dash_duo)[0] == "G1-01",
          what="back at level 1")
    dash_duo.wait_for_contains_text("#gs-legend", "1级网格", timeout=20)


@pytest.mark.parametrize("size", SIZES)
def test_gs002_new_incident_recolours_its_grid_without_reload(dash_duo, settings, size):
    _open_grids(dash_duo, settings, size, "?lang=en")
    wait_until(lambda: len(_polygons(dash_duo)) == 5, what="five level-1 grids")
    dash_duo.wait_for_contains_text("#gs-legend", "Level-1 grids", timeout=20)

    def colour(code: str) -> str | None:
        return dash_duo.find_element(f"#gs-map path.zn-grid-{code}").get_attribute("data-colour")

    wait_until(lambda: colour("G1-01") == RAMP[0], what="a quiet G1-01")
    dash_duo.driver.execute_script("window.__sameDocument = true;")
    before = dash_duo.driver.execute_script(
        "return document.querySelector('#gs-map path.zn-grid-G1-01');")
    # A report from inside G3-03 (in G2-01, in G1-01): the level-1 grid turns hot.
    from shapely.geometry import shape

    from datasources.services import Services

    svc = Services(settings).open()
    try:
        point = shape(svc.grids["G3-03"].geometry).representative_point()
    finally:
        svc.close()
    Source(settings).report(title="占道经营", lon=point.x, lat=point.y)
    wait_until(lambda: colour("G1-01") == RAMP[-1], timeout=15, what="G1-01 turning red")
    assert colour("G1-02") == RAMP[0]
    assert dash_duo.driver.execute_script("return window.__sameDocument === true;")
    after = dash_duo.driver.execute_script(
        "return document.querySelector('#gs-map path.zn-grid-G1-01');")
    assert after == before, "the polygon was rebuilt instead of restyled in place"
    dash_duo.wait_for_contains_text("#gs-rank", "Zone 1", timeout=20)


def test_gs003_a_grid_link_opens_its_level_with_rota_and_heat(dash_duo, settings):
    _open_grids(dash_duo, settings, "1024x768", "?grid=G3-03&heat=1&lang=en")
    wait_until(lambda: _polygons(dash_duo) == _children("G2-01"), what="the siblings of G3-03")
    dash_duo.wait_for_contains_text("#gs-legend", "Level-3 grids", timeout=20)
    dash_duo.wait_for_element("#gs-rota-table tr td", timeout=10)
    dash_duo.wait_for_contains_text("#gs-crumbs", "Zone 1", timeout=20)
    Source(settings).report(title="density", lon=104.45, lat=30.55)
    wait_until(lambda: dash_duo.driver.execute_script(
        "var c = document.querySelector('canvas.zn-heat');"
        "return c && c.getAttribute('data-points');") == "1", timeout=15,
        what="the new incident in the density layer")


def test_gs004_after_a_burst_of_reports_every_colour_matches_the_figures(dash_duo, settings):
    from shapely.geometry import shape

    from dashboard.grids.stats import choropleth
    from datasources.services import Services

    svc = Services(settings).open()
    try:
        codes = _children("G2-01")
        points = {g: shape(svc.grids[g].geometry).representative_point() for g in codes}
        names = {svc.grids[g].name: g for g in codes}
    finally:
        svc.close()
    _open_grids(dash_duo, settings, "1920x1080", "?grid=G3-03")
    wait_until(lambda: _polygons(dash_duo) == codes, what="the level-3 grids of G2-01")
    source = Source(settings)
    burst = [codes[i % len(codes)] for i in (2, 4, 2, 0, 2, 4, 1, 2)]
    for n, grid in enumerate(burst):
        source.report(title=f"连续上报{n}", lon=points[grid].x, lat=points[grid].y)
        time.sleep(0.3)

    def agrees() -> bool:
        rows = dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('#gs-rank .gs-rank-row'))"
            ".map(r => [r.children[1].textContent, r.children[2].textContent]);")
        figures = {names[n]: {"open": int(v)} for n, v in rows}
        if sum(f["open"] for f in figures.values()) != len(burst):
            return False
        shown = dict(dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('#gs-map path.zn-grid')).map("
            "p => [p.getAttribute('class').split(' ')[1].slice(8), "
            "p.getAttribute('data-colour')]);"))
        return shown == choropleth({g: f["open"] for g, f in figures.items()}, "open")["colours"]

    wait_until(agrees, timeout=15, what="map colours agreeing with the ranking after the burst")
