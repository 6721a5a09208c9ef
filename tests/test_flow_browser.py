"""The standard's side steps on the duty console in real headless Chromium (issue 14): an
officer puts a work order on hold with a reason, its badge takes the 缓办 colour the page got
from Python's one colour table, and it leaves the open queue."""

from __future__ import annotations

import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.incidents.lifecycle import STATE_COLOURS
from tests.browser import Source, read_live, start_app

pytestmark = pytest.mark.browser
TITLE = "路面塌陷需立项维修"


def _queue_titles(dash_duo: Any) -> set[str]:
    try:
        return {e.text.removeprefix("急").strip()
                for e in dash_duo.find_elements("#disp-list .q-row .q-title")}
    except Exception:  # redrawn while read
        return {"?"}


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _background(dash_duo: Any, css: str) -> str:
    return str(dash_duo.driver.execute_script(
        "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor;", css))


def test_flow001_suspend_needs_a_reason_then_takes_its_colour_and_leaves_the_queue(
        dash_duo, settings):
    start_app(dash_duo, settings, path="/dispatch", role="officer", name="值班员王",
              wait_status="#disp-status")
    Source(settings).report(title=TITLE, category="city_management")
    WebDriverWait(dash_duo.driver, 10).until(lambda _: _queue_titles(dash_duo) == {TITLE})
    # The live queue may redraw its rows between finding one and clicking it.
    read_live(dash_duo.driver, "#disp-list .q-row", lambda row: row.click() or True)
    dash_duo.wait_for_text_to_equal("#disp-detail .disp-title", TITLE, timeout=10)
    badge = "#disp-detail-state"
    assert _background(dash_duo, badge) == _rgb(STATE_COLOURS["reported"])
    button = "#disp-actions .disp-act-suspend"
    dash_duo.wait_for_element(button).click()
    dash_duo.wait_for_contains_text("#disp-toast", "缓办须填写原因", timeout=5)
    dash_duo.find_element("#disp-note").send_keys("需列入明年维修计划")
    dash_duo.find_element(button).click()
    dash_duo.wait_for_text_to_equal(badge, "缓办", timeout=5)
    deadline = time.monotonic() + 5
    while _background(dash_duo, badge) != _rgb(STATE_COLOURS["suspended"]):
        assert time.monotonic() < deadline, _background(dash_duo, badge)
        time.sleep(0.1)
    # On hold: out of the open queue, and 恢复办理 is what the console offers now.
    WebDriverWait(dash_duo.driver, 10).until(lambda _: _queue_titles(dash_duo) == set())
    shown = {b.text for b in dash_duo.find_elements("#disp-actions button")}
    assert "恢复办理" in shown and "作废" in shown and "缓办" not in shown
    WebDriverWait(dash_duo.driver, 5).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#disp-history").text.count("缓办") >= 1)
