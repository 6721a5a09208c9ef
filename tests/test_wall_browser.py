"""The 中脑 wall screen in a real headless Chromium: publish into Redis, see it on the page."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By

from tests.browser import Source, read_live, start_app

pytestmark = pytest.mark.browser


def _bus_point(dash_duo, plate: str) -> dict | None:
    """Where the bus is drawn on the map canvas, in container pixels."""
    return dash_duo.driver.execute_script(
        "return window.zn.busPoint('home-map', arguments[0]);", plate)


def test_wall001_published_incident_appears_in_feed_and_map(dash_duo, settings):
    start_app(dash_duo, settings)
    Source(settings).report(title="桥头堆放建筑垃圾", category="environment",
                            source="citizen", lon=104.452, lat=30.551)
    dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "桥头堆放建筑垃圾")
    # The feed is redrawn as ages tick: each read finds the row afresh.
    text, ident = read_live(dash_duo.driver, "#home-feed .feed-item",
                            lambda el: (el.text, el.get_attribute("id")))
    assert "环境保护" in text and "随手拍" in text
    incident_id = ident.removeprefix("inc-")
    dash_duo.wait_for_element(f"path.zn-inc-{incident_id}", timeout=10)
    dash_duo.wait_for_text_to_equal("#kpi-received", "1")
    kpi = dash_duo.find_element("#kpi-received")  # the raw figure, for cross-screen journeys
    assert (kpi.get_attribute("data-kpi"), kpi.get_attribute("data-window"),
            kpi.get_attribute("data-value")) == ("received", "today", "1")


def test_wall001b_a_step_restyles_the_orders_marker_and_keeps_the_others(dash_duo, settings):
    """The wall is sent the one marker that changed (dashboard/screens/frames.py): the step
    restyles that marker in place and the markers it did not touch stay on the map."""
    app = start_app(dash_duo, settings)
    source = Source(settings)
    for n in range(3):
        source.report(title=f"积压{n}", lon=104.452 + n * 1e-3, lat=30.551)
    wait = dash_duo.driver.find_elements
    deadline = time.monotonic() + 15
    while len(wait(By.CSS_SELECTOR, "path.zn-inc")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(wait(By.CSS_SELECTOR, "path.zn-inc.zn-st-reported")) == 3
    order = next(v for v in app.zn_services.hub.state.incidents.values() if v.title == "积压1")
    source.raw(source.ch.ingest, json.dumps({
        "type": "incident.progress", "incident_id": order.id, "to_state": "accepted",
        "actor": "值班员", "note": ""}))
    dash_duo.wait_for_element(f"path.zn-inc-{order.id}.zn-st-accepted", timeout=10)
    assert len(wait(By.CSS_SELECTOR, "path.zn-inc")) == 3
    assert len(wait(By.CSS_SELECTOR, "path.zn-inc.zn-st-reported")) == 2
    assert not dash_duo.get_logs()


def test_wall002_bus_position_message_moves_that_bus(dash_duo, settings):
    start_app(dash_duo, settings)
    source = Source(settings)
    source.position("川F·T0001", 104.430, 30.540, heading=45)
    deadline = time.monotonic() + 10
    before = None
    while before is None and time.monotonic() < deadline:
        before = _bus_point(dash_duo, "川F·T0001")
        time.sleep(0.1)
    assert before is not None, "the bus never appeared on the map"
    assert before["heading"] == 45
    source.position("川F·T0001", 104.470, 30.560, heading=90)
    after = before
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = _bus_point(dash_duo, "川F·T0001")
        if after["x"] > before["x"] + 20 and after["y"] < before["y"] - 20:
            break
        time.sleep(0.1)
    assert after["x"] > before["x"] + 20 and after["y"] < before["y"] - 20, (
        f"bus did not move east and north: {before} -> {after}")
    assert after["heading"] == 90
    # Drawn where it is, pointing east: the arrow's yellow ahead of its centre, the notch
    # in its back (the map's canvas, read where the bus is).
    time.sleep(0.3)  # the canvas redraws on the next animation frame
    pixels = dash_duo.driver.execute_script(ARROW_PIXELS_JS, "川F·T0001")
    r, g, b, a = pixels["ahead"]
    assert (r > 200 and g > 170 and b < 90 and a == 255), pixels
    assert pixels["behind"][3] == 0, pixels


# The bus canvas's pixels 10 px ahead of a bus's centre (east) and 10 px behind it.
ARROW_PIXELS_JS = """
const map = window.zn.maps['home-map'], layer = map._znBuses, r = layer._renderer;
const p = map.latLngToLayerPoint(layer._byPlate[arguments[0]].getLatLng()).subtract(r._bounds.min);
const px = (dx, dy) => Array.from(
  r._ctx.getImageData(Math.round(p.x + dx), Math.round(p.y + dy), 1, 1).data);
return {ahead: px(10, 0), behind: px(-10, 0)};
"""


def test_wall003_malformed_message_is_counted_and_the_next_good_one_arrives(dash_duo, settings):
    start_app(dash_duo, settings)
    source = Source(settings)
    source.raw(source.ch.ingest, b"{not json")
    source.raw(source.ch.ingest, '{"type": "incident.report", "source": "hotline"}')
    source.report(title="<script>alert(1)</script>")
    source.report(title="越界", lon=120.0, lat=30.0)
    source.report(title="井盖缺失", category="city_management")
    dash_duo.wait_for_text_to_equal("#kpi-rejected", "4", timeout=10)
    dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "井盖缺失")
    titles = [e.text for e in dash_duo.find_elements("#home-feed .feed-title")]
    assert titles == ["井盖缺失"]
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#home-feed script")


# What Dash's store holds for a component's prop (its layout, by the component's path).
STORE_PROP_JS = """
const state = window.store.getState();
const path = state.paths.strs[arguments[0]];
if (!path) { return "not in layout"; }
let node = state.layout;
for (const key of path) { node = node[key]; }
return node.props[arguments[1]] === undefined ? null : node.props[arguments[1]];
"""


def test_wall004_pushes_are_drawn_by_the_page_past_dashs_store(dash_duo, settings):
    """The wall's pushed panels, bus frames and status go straight to the page's script
    (assets/zn_direct.js): the feed, the bus and the sequence number are drawn while Dash's
    store never holds them (each value through it cost a wall's renderer three store
    dispatches, a React pass and a callback chain), and the server's flow control is
    answered from what was drawn, so the next bus frames still come. A value whose handler
    is gone goes through Dash as before, and the screen shows it the same."""
    start_app(dash_duo, settings)
    source = Source(settings)
    source.report(title="直达页面", lon=104.452, lat=30.551)
    dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "直达页面")
    driver = dash_duo.driver
    last = float("-inf")  # where the bus was drawn by the frame before
    for n, lon in enumerate((104.430, 104.440, 104.450, 104.460)):
        source.position("川F·T0009", lon, 30.540, heading=90)
        deadline = time.monotonic() + 10
        point = None
        while time.monotonic() < deadline:
            point = _bus_point(dash_duo, "川F·T0009")
            if point is not None and point["x"] > last + 5:
                break
            time.sleep(0.1)
        assert point is not None and point["x"] > last + 5, (
            f"bus frame {n + 1} was not drawn: the server's flow control stalled")
        last = point["x"]
    assert driver.execute_script(STORE_PROP_JS, "home-panels", "data") is None
    assert driver.execute_script(STORE_PROP_JS, "home-bus-frame", "data") is None
    assert driver.execute_script(STORE_PROP_JS, "home-seq", "children") in ("", None)
    assert driver.execute_script("return window.zn.direct.taken") > 4
    seq = dash_duo.find_element("#home-seq").text
    assert seq.startswith("#")

    # Without its handler the sequence number goes through Dash's store to the same place.
    driver.execute_script("delete window.zn.direct.apply['home-seq'];")
    source.report(title="经由Dash", lon=104.453, lat=30.552)
    dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "经由Dash")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        held = driver.execute_script(STORE_PROP_JS, "home-seq", "children")
        if held and held != seq:
            break
        time.sleep(0.1)
    assert held and held != seq
    dash_duo.wait_for_text_to_equal("#home-seq", held)
    assert not dash_duo.get_logs()
