"""The wall's grid heat, alerts, 投屏 and kiosk mode in a real headless Chromium."""

from __future__ import annotations

import json
import time

import pytest
import redis

from dashboard.grids.stats import RAMP
from dashboard.screens.cast import WallCast
from tests.browser import Source, kiosk_url, start_app, wait_until

pytestmark = pytest.mark.browser


def _inside(app, grid: str) -> tuple[float, float]:
    from shapely.geometry import shape

    p = shape(app.zn_services.grids[grid].geometry).representative_point()
    return p.x, p.y


def _colour(dash_duo, code: str) -> str | None:
    return dash_duo.driver.execute_script(
        "var p = document.querySelector('#home-map path.zn-grid-' + arguments[0]);"
        "return p && p.getAttribute('data-colour');", code)


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)])
def test_wall101_new_incident_heats_its_level2_grid_and_urgent_one_takes_focus(dash_duo,
                                                                               settings, size):
    app = start_app(dash_duo, settings)
    dash_duo.driver.set_window_size(*size)
    wait_until(lambda: _colour(dash_duo, "G2-01") == RAMP[0], what="quiet level-2 heat layer")
    assert not dash_duo.find_element("#home-focus").is_displayed()
    lon, lat = _inside(app, "G3-03")
    Source(settings).report(title="化工厂冒烟", priority="urgent", category="fire",
                            lon=lon, lat=lat)
    wait_until(lambda: _colour(dash_duo, "G2-01") == RAMP[-1], what="G2-01 turning red")
    assert _colour(dash_duo, "G2-02") == RAMP[0]
    dash_duo.wait_for_contains_text("#home-focus", "化工厂冒烟", timeout=10)
    assert "紧急" in dash_duo.find_element("#home-focus").text
    dash_duo.wait_for_contains_text("#home-ticker", "化工厂冒烟", timeout=20)
    # Punctuality degrades clearly until trip data arrives; readiness badges are drawn.
    dash_duo.wait_for_contains_text("#home-punct", "在线校车", timeout=20)
    dash_duo.wait_for_element("#home-stations .ready-badge")


def test_wall102_cast_from_the_console_focuses_the_incident_on_the_wall(dash_duo, settings):
    app = start_app(dash_duo, settings)
    Source(settings).report(title="井盖缺失", lon=104.452, lat=30.551)
    item = dash_duo.wait_for_element("#home-feed .feed-item", timeout=10)
    incident_id = int(item.get_attribute("id").removeprefix("inc-"))
    r = redis.Redis.from_url(settings.redis_url)
    r.publish(f"{settings.redis_prefix}:cast", "{not json")
    r.publish(f"{settings.redis_prefix}:cast",
              WallCast(incident_id=incident_id, by="值班员李四").to_json())
    dash_duo.wait_for_contains_text("#home-focus", "井盖缺失", timeout=10)
    assert "值班员李四" in dash_duo.find_element("#home-focus").text
    # The ring on the map pulses in steps, not every frame: a wall PC without a GPU draws
    # each frame in software, and a smooth pulse cost it a sixth of a core (bench/README.md).
    timing = wait_until(lambda: dash_duo.driver.execute_script(
        "var r = document.querySelector('.zn-focus-ring');"
        "return r && getComputedStyle(r).animationTimingFunction;"), what="the focus ring")
    assert timing.startswith("steps("), timing
    dash_duo.wait_for_text_to_equal("#kpi-rejected", "1", timeout=20)  # the bad cast is counted
    assert app.zn_services.hub.state.cast["incident_id"] == incident_id


def test_wall103_console_cast_button_publishes_the_selected_incident(dash_duo, settings):
    app = start_app(dash_duo, settings, name="值班员李四")
    Source(settings).report(title="路灯不亮", lon=104.452, lat=30.551)
    item = dash_duo.wait_for_element("#home-feed .feed-item", timeout=10)
    incident_id = int(item.get_attribute("id").removeprefix("inc-"))
    pubsub = redis.Redis.from_url(settings.redis_url).pubsub()
    pubsub.subscribe(f"{settings.redis_prefix}:cast")
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/dispatch?incident={incident_id}")
    dash_duo.wait_for_contains_class("#disp-status", "ok", timeout=20)
    dash_duo.wait_for_contains_text("#disp-detail", "路灯不亮", timeout=10)
    dash_duo.find_element("#disp-cast").click()
    dash_duo.wait_for_contains_text("#disp-toast", "已投屏", timeout=20)
    deadline = time.monotonic() + 5
    got = None
    while got is None and time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.5)
        if msg and msg["type"] == "message":
            got = json.loads(msg["data"])
    assert got is not None and got["incident_id"] == incident_id and got["by"] == "值班员李四"
    assert app is not None


def test_wall104_kiosk_url_is_read_only(dash_duo, settings):
    start_app(dash_duo, settings)
    assert dash_duo.find_elements(".lang-switch")
    dash_duo.driver.delete_all_cookies()  # the hall's display PC: no officer signed in
    dash_duo.driver.get(kiosk_url(settings, dash_duo.server_url))
    dash_duo.wait_for_contains_class("#home-status", "ok", timeout=20)
    assert not dash_duo.find_elements(".lang-switch")
    assert "kiosk" in dash_duo.find_element("#zn-stage").get_attribute("class")
    assert not dash_duo.find_elements("#zn-stage button, #zn-stage input, #zn-stage a")


def test_wall105_highlights_rotate_without_a_mouse_and_sound_is_off(dash_duo, settings):
    start_app(dash_duo, settings)
    source = Source(settings)
    for title in ("路灯不亮", "井盖缺失"):
        source.report(title=title)
    dash_duo.wait_for_element("#home-feed .feed-item", timeout=10)
    assert dash_duo.find_element("#zn-stage").get_attribute("data-sound") == "0"
    def lit() -> str | None:
        return dash_duo.driver.execute_script(
            "var e = document.querySelector('#home-feed .feed-item.spot'); return e && e.id;")

    wait_until(lambda: lit() is not None, timeout=15, what="a highlighted incident")
    first = lit()
    wait_until(lambda: lit() not in (None, first), timeout=15,
          what="the highlight moving on by itself")
