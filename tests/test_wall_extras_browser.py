"""The wall's grid heat, alerts, 投屏 and kiosk mode in a real headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
import redis

from dashboard.grids.stats import RAMP
from dashboard.screens.cast import WallCast
from tests.browser import Source, kiosk_url, start_app, wait_until

pytestmark = pytest.mark.browser


# Animations that run for ever (each one a frame drawn for ever); transitions that end are fine.
ENDLESS_JS = """
return document.getAnimations().filter(function (a) {
  var t = a.effect && a.effect.getComputedTiming && a.effect.getComputedTiming();
  return t && t.iterations === Infinity && a.playState === 'running';
}).map(function (a) {
  var t = a.effect.target; return a.animationName + ' on ' + (t && t.className);
});
"""


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
    # The ring on the map blinks on the screens' one beat (with the clock), and nothing on the
    # wall animates on its own: a wall PC without a GPU draws every frame in software, and
    # each blinking thing's own animation cost it a tenth of a core (bench/README.md).
    ring = ("var r = document.querySelector('.zn-focus-ring');"
            "return r && getComputedStyle(r).opacity;")
    seen = set()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        seen.add(wait_until(lambda: dash_duo.driver.execute_script(ring), what="the ring"))
        time.sleep(0.2)
    assert seen == {"1", "0.25"}, f"the focus ring does not blink: opacities {seen}"
    assert dash_duo.driver.execute_script(ENDLESS_JS) == []
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


TICKER_JS = """
var box = document.getElementById('home-ticker'), count = document.querySelector('.ticker-pages');
return {page: box.getAttribute('data-page'), pages: box.getAttribute('data-pages'),
        count: count.hidden ? '' : count.textContent};
"""


def test_wall106_many_alerts_turn_in_still_pages_and_every_one_is_shown(dash_duo, settings):
    """More SOS alerts than fit on the ticker's line: the hall reads them a page at a time,
    each page still (nothing scrolls), turning on its own until every alert was shown, at
    the pace the town set (ZN_WALL_PAGE_S)."""
    start_app(dash_duo, dataclasses.replace(settings, wall_page_s=2))
    dash_duo.driver.set_window_size(1920, 1080)
    source = Source(settings)
    titles = [f"化工厂冒烟{i}" for i in range(1, 5)]
    for title in titles:
        source.report(title=title, priority="urgent", category="fire")
    wait_until(lambda: all(t in dash_duo.driver.execute_script(
        "return document.getElementById('home-ticker').textContent") for t in titles),
        timeout=20, what="all four alerts in the ticker")
    state = wait_until(lambda: (s := dash_duo.driver.execute_script(TICKER_JS))
                       and s["pages"] and int(s["pages"]) >= 2 and s, what="the ticker paged")
    pages = int(state["pages"])
    assert dash_duo.driver.execute_script(ENDLESS_JS) == [], "a wall without a GPU pays every frame"
    assert state["count"] == f"{state['page']}/{pages}"

    def turned(after: str | None) -> tuple[str, str]:
        """The next page, read just after it turned: (its number, the text a person sees)."""
        while True:
            page = wait_until(lambda after=after: (p := dash_duo.driver.execute_script(
                TICKER_JS)["page"]) != after and p, timeout=4, what="the ticker turning its page")
            text = dash_duo.find_element("#home-ticker").text  # this page only: the rest is hidden
            if dash_duo.driver.execute_script(TICKER_JS)["page"] == page:
                return page, text
            after = page

    # One round of pages, from the first back to it (the wall counts its pages afresh at each
    # turn, as fonts load and alerts come: so does this).
    shown: list[str] = []
    page = state["page"]
    for _ in range(2 * pages + 4):
        page, text = turned(page)
        if page == "1" and shown:
            break
        if page == "1" or shown:
            shown.append(text)
    pages = int(dash_duo.driver.execute_script(TICKER_JS)["pages"])
    seen = {t for t in titles if any(t in text for text in shown)}
    assert len(shown) == pages, f"not one round of {pages} pages: {shown}"
    assert len(set(shown)) == pages, f"pages repeat instead of turning: {shown}"
    assert seen == set(titles), f"never shown: {set(titles) - seen}; pages read: {shown}"
    assert sum(t in shown[0] for t in titles) > 1, f"one alert a page on a wall: {shown}"
