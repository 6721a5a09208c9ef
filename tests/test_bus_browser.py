"""End to end in headless Chromium: a JT/T 808 terminal over TCP moves its bus on /buses, and
an overspeed episode puts exactly one alert in the wall's incident feed."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

from dashboard.buses.timetable import is_school_day
from dashboard.buses.views import bus_slug
from dashboard.timeutil import LOCAL_TZ
from datasources.redis.publisher import Publisher
from tests.browser import Terminal, start_app, wait_until

pytestmark = pytest.mark.browser

PLATE = "川F·D72692"  # a real bus of the demo town, route R01


def _marker_box(dash_duo) -> dict | None:  # type: ignore[no-untyped-def]
    """Where the bus's marker is drawn; None while absent or being redrawn."""
    try:
        found = dash_duo.driver.find_elements(By.CSS_SELECTOR, f".{bus_slug(PLATE)}")
        return found[0].rect if found else None
    except StaleElementReferenceException:
        return None


def _click_bus(dash_duo) -> bool:  # type: ignore[no-untyped-def]
    try:
        dash_duo.driver.find_element(By.CSS_SELECTOR, f".{bus_slug(PLATE)}").click()
    except (StaleElementReferenceException, NoSuchElementException):
        return False  # redrawn between finding and clicking: try again
    return True


def _open_bus(dash_duo) -> None:  # type: ignore[no-untyped-def]
    """Click the bus until its detail names it: a click that lands while the marker layer is
    redrawn (each second, and more often on a loaded machine) reaches no handler."""
    def shown() -> bool:
        try:
            found = dash_duo.find_elements("#bus-detail .bus-plate")
            return bool(found) and found[0].text == PLATE
        except StaleElementReferenceException:
            return False

    def click_and_look() -> bool:
        if not _click_bus(dash_duo):
            return False
        try:
            wait_until(shown, 3, "the detail after a click")
        except AssertionError:
            return False
        return True

    wait_until(click_and_look, 30, f"the detail of {PLATE} after clicking its marker")


def test_bus001_jt808_frames_move_the_bus_and_overspeed_raises_one_alert(
        dash_duo, settings, jt808) -> None:
    gw, port = jt808
    start_app(dash_duo, settings)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/buses")
    dash_duo.wait_for_element(".bus-table", timeout=15)
    term = Terminal(port)
    term.login(PLATE)
    t0 = datetime.now(UTC).replace(microsecond=0)
    assert term.report(t0, 104.4700, 30.5735, 25) == 0
    before = wait_until(lambda: _marker_box(dash_duo))
    assert term.report(t0 + timedelta(seconds=1), 104.4800, 30.5690, 25) == 0
    after = wait_until(lambda: (b := _marker_box(dash_duo)) and b["x"] > before["x"] + 10 and b)
    assert after["y"] > before["y"]  # east and south on the screen
    arrow = dash_duo.find_element(f".{bus_slug(PLATE)} .zn-bus-arrow")
    assert "rotate(90deg)" in arrow.get_attribute("style")  # heading east, as reported
    # Click the bus: its record and last fix are shown.
    _open_bus(dash_duo)
    assert "25 km/h" in dash_duo.find_element("#bus-detail .bus-fix").text
    # Eight fixes at 75 km/h (limit 60) over eight seconds: one overspeed episode.
    for i in range(2, 10):
        assert term.report(t0 + timedelta(seconds=i), 104.4800 - i * 2e-4, 30.5690, 75) == 0
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/")
    dash_duo.wait_for_contains_text("#home-feed .feed-item .feed-title", "校车超速", timeout=15)
    # More fixes of the same episode add nothing.
    for i in range(10, 14):
        assert term.report(t0 + timedelta(seconds=i), 104.4780 - i * 2e-4, 30.5690, 74) == 0
    time.sleep(2)
    titles = [e.text for e in dash_duo.find_elements("#home-feed .feed-title")]
    assert [x for x in titles if "校车超速" in x] == [f"校车超速：{PLATE} 75 km/h（限速60）"]
    assert gw.stats["fixes"] == 14
    term.close()


def test_bus002_the_bus_page_speaks_english_on_request(dash_duo, settings) -> None:
    start_app(dash_duo, settings)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/buses?lang=en")
    dash_duo.wait_for_text_to_equal(".bus-head h1", "School bus monitor", timeout=15)
    dash_duo.wait_for_element(".bus-table tbody tr", timeout=10)
    header = [e.text for e in dash_duo.find_elements(".bus-table th")]
    assert header[:3] == ["Route", "Trip", "Departs"]
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    if is_school_day(today):
        assert "Qingshi Middle School Line 1" in dash_duo.find_element(".bus-table").text
    else:  # a weekend: the board says why it is empty, in English
        assert dash_duo.find_element(".bus-table .bus-empty").text == "No school today: no trips"


def test_bus003_a_past_trip_replays_with_the_time_slider(dash_duo, settings) -> None:
    from selenium.webdriver.common.keys import Keys

    from dashboard.buses.tracking import build_plans
    from dashboard.messages import VehiclePosition
    from dashboard.timeutil import LOCAL_TZ
    from datasources.sql.buses import BusStore

    app = start_app(dash_duo, settings)
    history = BusStore(app.zn_services.store)
    line = build_plans(history.routes())["R01-AM1"].line
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    history.save_positions(
        VehiclePosition(plate=PLATE, lon=round(lon, 6), lat=round(lat, 6), speed_kmh=30,
                        at=t0 + timedelta(seconds=10 * i), trip="R01-AM1", route="R01")
        for i, (lon, lat) in enumerate(line.lonlat(d) for d in range(0, 3000, 100)))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/buses")
    first = t0.astimezone(LOCAL_TZ).strftime("%H:%M:%S")
    last = (t0 + timedelta(seconds=290)).astimezone(LOCAL_TZ).strftime("%H:%M:%S")

    def picked() -> bool:
        # The run list is filled by a callback that may land while the menu is open (the
        # page's first callbacks, slow on a busy box): a pick on the list it replaced is
        # lost, so open the menu and pick again until the run is loaded.
        with contextlib.suppress(StaleElementReferenceException):
            if any(e.text for e in dash_duo.driver.find_elements("css selector",
                                                                  "#bus-replay-time")):
                return True
        with contextlib.suppress(StaleElementReferenceException, NoSuchElementException):
            if not dash_duo.driver.find_elements("css selector", ".dash-dropdown-option"):
                dash_duo.find_element("#bus-replay-run").click()
            options = dash_duo.driver.find_elements("css selector", ".dash-dropdown-option")
            if options and PLATE in options[0].text:
                options[0].click()
        return False
    wait_until(picked, timeout=25, interval=1.0, what="the recorded run picked and loaded")
    dash_duo.wait_for_text_to_equal("#bus-replay-time", f"{PLATE} · {first} · 30 km/h",
                                    timeout=10)
    dash_duo.wait_for_element(".zn-replay-bus", timeout=10)
    handle = dash_duo.wait_for_element("#bus-replay-slider [role=slider]", timeout=10)
    handle.send_keys(Keys.END)
    dash_duo.wait_for_text_to_equal("#bus-replay-time", f"{PLATE} · {last} · 30 km/h",
                                    timeout=10)


def _town_with_trips_now(settings, now: datetime):  # type: ignore[no-untyped-def]
    """A copy of the demo town whose R01 trips run now: AM1 left 2 minutes ago (its bus
    drives), AM2 left 4 minutes ago (no bus: not started)."""
    import json
    import shutil
    from pathlib import Path

    from dashboard.settings import DEMO_TOWN_DIR
    from dashboard.timeutil import LOCAL_TZ

    folder = Path(settings.data_dir) / "town"
    shutil.copytree(DEMO_TOWN_DIR, folder)
    routes = json.loads((folder / "routes.json").read_text("utf-8"))
    local = now.astimezone(LOCAL_TZ).replace(second=0, microsecond=0)
    for route in routes:
        if route["code"] != "R01":
            continue
        for trip, lead in (("R01-AM1", 2), ("R01-AM2", 4)):
            row = next(t for t in route["trips"] if t["code"] == trip)
            start = local - timedelta(minutes=lead)
            row["stop_times"] = [(start + timedelta(minutes=4 * i)).strftime("%H:%M")
                                 for i in range(len(row["stop_times"]))]
            row["days"] = "daily"
    (folder / "routes.json").write_text(json.dumps(routes, ensure_ascii=False), "utf-8")
    # The test's database holds the demo town already: this town needs one of its own.
    fresh = f"sqlite:///{Path(settings.data_dir) / 'own-town.db'}"
    return settings.with_(town_dir=str(folder), database_url=fresh)


def test_bus004_the_board_the_marker_and_the_detail_agree(dash_duo, settings) -> None:
    from dashboard.buses.tracking import build_plans
    from dashboard.messages import VehiclePosition
    from datasources.towns.files import load_town

    now = datetime.now(UTC)
    # Beijing midnight: the shifted trips would span two days (their stops start 4 minutes
    # before now and last half an hour).
    if (now.hour, now.minute) >= (15, 30) and (now.hour, now.minute) < (16, 5):
        pytest.skip("the shifted timetable would cross midnight")
    settings = _town_with_trips_now(settings, now)
    line = build_plans(load_town(settings.town_dir).routes)["R01-AM1"].line
    start_app(dash_duo, settings)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/buses")
    dash_duo.wait_for_element(".bus-table tbody tr", timeout=15)
    bus = Publisher.from_url(settings.redis_url, settings.redis_prefix)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    for i in range(8):  # 28 km/h from the first stop, as a GTFS-RT feed would send it
        lon, lat = line.lonlat(line.stop_m[0] + 120 + i * 8)
        bus.publish_positions([VehiclePosition(plate=PLATE, lon=lon, lat=lat, speed_kmh=28,
                                               heading=90, at=t0 + timedelta(seconds=i),
                                               route="R01", trip="R01-AM1")])
        time.sleep(0.1)

    def rows() -> dict[str, list[str]]:
        out = {}
        try:
            for tr in dash_duo.find_elements(".bus-table tbody tr"):
                cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                out[cells[1]] = cells
        except StaleElementReferenceException:  # redrawn meanwhile: read again
            return {}
        return out

    board = wait_until(lambda: (r := rows()).get("R01-AM1", [""] * 6)[4] == PLATE and r)
    # The trip its bus drives shows the bus and a punctuality, never 待发车.
    assert board["R01-AM1"][5] not in ("待发车", "未发车", "")
    # The trip whose time has passed without a bus is 未发车, not 晚点.
    assert board["R01-AM2"][4] == "" and board["R01-AM2"][5] == "未发车"
    # The moving bus's detail shows that trip, not 当前无运行班次.
    _open_bus(dash_duo)
    def detail_trip() -> str:  # the detail is redrawn each second: read it when it settles
        try:
            found = dash_duo.find_elements("#bus-detail .bus-trip")
            return found[0].text if found else ""
        except StaleElementReferenceException:
            return ""

    assert "R01-AM1" in wait_until(lambda: "R01-AM1" in (s := detail_trip()) and s, 10,
                                   "the moving bus's detail naming its trip")
    assert not dash_duo.find_elements("#bus-detail .bus-no-trip")
    bus.r.close()
