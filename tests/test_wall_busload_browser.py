"""The wall under many buses, in a real headless Chromium: markers move in place, nothing
piles up in the page, new incidents still arrive promptly and the ticker keeps its page."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from tests.browser import Source, start_app, wait_until

pytestmark = pytest.mark.browser

BUSES = 300

LAYER_JS = """
var m = window.zn.maps['home-map'], layer = m && m._znBuses;
if (!layer) { return null; }
var p = layer._byPlate['LOAD-0007'];
return {layers: layer.getLayers().length, plates: Object.keys(layer._byPlate).length,
        tagged: !!(p && p.__znTag), lon: p ? p.getLatLng().lng : null};
"""


def _fleet(source: Source, round_: int) -> None:
    """Every bus one step further east, in one message."""
    now = datetime.now(UTC).isoformat()
    positions = [{"plate": f"LOAD-{i:04d}", "lon": 104.40 + (i % 30) * 0.003 + round_ * 0.002,
                  "lat": 30.52 + (i // 30) * 0.004, "speed_kmh": 30.0, "heading": 90.0,
                  "at": now} for i in range(BUSES)]
    source.raw(source.ch.vehicles, json.dumps({"type": "vehicle.positions", "v": 1,
                                               "sent_at": time.time(), "positions": positions}))


def test_wallbus001_many_buses_move_in_place_and_the_feed_stays_prompt(dash_duo, settings):
    start_app(dash_duo, settings)
    source = Source(settings)
    # An urgent incident: its alert runs in the ticker.
    source.report(title="化工厂冒烟", priority="urgent", category="fire")
    dash_duo.wait_for_contains_text("#home-ticker", "化工厂冒烟", timeout=20)
    _fleet(source, 0)
    state = wait_until(lambda: (s := dash_duo.driver.execute_script(LAYER_JS))
                       and s["plates"] == BUSES and s, what=f"{BUSES} buses on the map")
    driver = dash_duo.driver
    driver.execute_script(
        "window.zn.maps['home-map']._znBuses._byPlate['LOAD-0007'].__znTag = 1;"
        "document.querySelector('#home-ticker .ticker-track').__znTag = 1;")
    for round_ in range(1, 6):
        _fleet(source, round_)
        lon = 104.40 + 7 * 0.003 + round_ * 0.002
        state = wait_until(lambda lon=lon: (s := driver.execute_script(LAYER_JS))
                           and abs(s["lon"] - lon) < 1e-9 and s,
                           what=f"the buses' frame {round_} drawn")
        # The same marker moved; one marker per bus, however many frames came.
        assert state["tagged"], "the bus marker was rebuilt, not moved"
        assert state["layers"] == state["plates"] == BUSES
    # The same alerts came again with the moving buses: the ticker was not redrawn (its page kept).
    assert driver.execute_script(
        "var t = document.querySelector('#home-ticker .ticker-track'); return !!(t && t.__znTag);"
    ), "the ticker was redrawn (and restarted) though its alerts did not change"
    # Dash's undo history holds one entry per store, not one per frame received.
    assert max(driver.execute_script("return window.zn.historySize();")) <= 1
    # With the buses moving, a new report still heads the feed promptly.
    sent = time.monotonic()
    source.report(title="桥下积水")
    dash_duo.wait_for_contains_text("#home-feed .feed-item .feed-title", "桥下积水", timeout=5)
    assert time.monotonic() - sent < 5
