"""一车一档 in a real browser: the picked bus's record on /buses (dates coloured by state, the
driver's phone whole for an officer and masked for a leader, 不宜出车 with its reason), and
the wall naming the bus not fit to drive."""

from __future__ import annotations

from datetime import UTC, datetime

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from dashboard.buses.views import bus_slug
from tests.browser import Live, signed_in_browser, wait_until

PLATE = "川F·D74743"  # the demo's bus whose 行驶证 has expired


def _place_bus(live: Live) -> None:
    fix = {"plate": PLATE, "lon": 104.47, "lat": 30.57, "speed_kmh": 0, "heading": 90,
           "at": datetime.now(UTC).isoformat()}
    status, _, _ = live.post_json("/api/v1/vehicles/positions", {"positions": [fix]})
    assert status == 202


def _open(driver) -> None:  # type: ignore[no-untyped-def]
    """Click the bus's marker until the side panel shows its record."""
    def clicked() -> bool:
        try:
            driver.find_element(By.CSS_SELECTOR, f".{bus_slug(PLATE)}").click()
        except WebDriverException:
            return False
        return bool(driver.find_elements(By.CSS_SELECTOR, "#bus-detail .fleet-record"))
    wait_until(clicked, 30, "the record of the clicked bus")


# The side panel is redrawn every second: read it in one go, not element by element.
READ_PANEL = """
var p = document.querySelector('#bus-detail .fleet-record');
if (!p) { return null; }
function q(sel) {
  var e = p.querySelector(sel); if (!e) { return null; }
  var st = e.querySelector('.fleet-state');
  return {text: e.innerText, cls: e.className, colour: st ? getComputedStyle(st).color : null};
}
var staff = document.querySelector('#bus-detail .bus-staff');
return {text: p.innerText, title: p.querySelector('h3').innerText, verdict: q('.fleet-verdict'),
        licence: q('.fleet-item[data-item="licence"]'),
        driver: q('.fleet-driver[data-driver="D006"]'), checks: q('.fleet-checks'),
        staff: staff ? staff.innerText : ''};
"""


def _panel(driver):  # type: ignore[no-untyped-def]
    return wait_until(lambda: driver.execute_script(READ_PANEL), 10, "the record panel")


def _errors(driver) -> list:  # type: ignore[no-untyped-def]
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_vrec001_the_officer_sees_the_record_and_why_the_bus_is_not_fit(live: Live):
    _place_bus(live)
    with signed_in_browser(live.services.settings, live.base, "officer", "/buses") as d:
        _open(d)
        panel = _panel(d)
        verdict = panel["verdict"]
        assert "fleet-unfit" in verdict["cls"]
        assert verdict["text"].startswith("不宜出车") and "行驶证已过期" in verdict["text"]
        licence = panel["licence"]
        assert "fleet-expired" in licence["cls"]
        assert "2026-11-28" in licence["text"] and "已过期" in licence["text"]
        assert licence["colour"] in ("rgba(255, 90, 90, 1)", "rgb(255, 90, 90)")
        assert "杜丽华" in panel["driver"]["text"] and "13919090512" in panel["driver"]["text"]
        assert "驾驶员：杜丽华 · 13919090512" in panel["staff"]
        checks = panel["checks"]["text"]
        assert "出车前检查：未做" in checks and "消毒：未做" in checks
        assert _errors(d) == []


def test_vrec002_a_leader_reads_the_record_in_english_with_phones_masked(live: Live):
    _place_bus(live)
    with signed_in_browser(live.services.settings, live.base, "leader",
                           "/buses?lang=en") as d:
        _open(d)
        panel = _panel(d)
        assert panel["title"] == "Vehicle record"
        assert "Not fit: vehicle licence expired" in panel["text"]
        assert "139****0512" in panel["text"] and "13919090512" not in d.page_source
        assert _errors(d) == []


def test_vrec003_the_wall_names_the_bus_not_fit_to_drive(live: Live):
    with signed_in_browser(live.services.settings, live.base, "display", "/") as d:
        row = wait_until(lambda: d.find_elements(
            By.CSS_SELECTOR, f'.punct-unfit[data-plate="{PLATE}"]'), 20, "the unfit bus")
        assert "不宜出车" in row[0].text
        assert _errors(d) == []
