"""Resource dispatch in real headless Chromium: the officer sends 2 teams and 20 sandbags to a
flood from the duty console; the wall's station panel (a second browser) shows the lower stock
and the teams en route within a second; their return restores it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import PUSHED_S, Source, kiosk_url
from tests.test_disp_browser import (
    OFFICER,
    history,
    open_incident,
    sign_in,
    start_console,
    wait_rows,
    wall_browser,
)

pytestmark = pytest.mark.browser

TITLE = "河堤渗水 村道积水"
SANDBAGS = '[id=\'{"sku":"FL-SB","type":"res-qty"}\']'

# Browser B notes, in its own clock, when its station card shows what `want` describes.
WATCH = """
const code = arguments[0], qty = arguments[1], teams = arguments[2], key = arguments[3];
window[key] = null;
const check = () => {
  const stk = document.querySelector('#stk-' + code + '-FL-SB .stk-qty');
  const out = teams.filter(t => document.getElementById('team-' + t)).length;
  if (window[key] === null && stk && stk.textContent === qty && out === teams.length * (
      arguments[4] ? 1 : 0)) { window[key] = Date.now(); }
};
new MutationObserver(check).observe(document.getElementById('home-stations'),
                                    {childList: true, subtree: true, characterData: true});
check();
return window[key];
"""


def _set(driver: Any, selector: str, value: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, selector)
    box.clear()
    if value:
        box.send_keys(value)


def _wait_seen(wall: Any, key: str, timeout: float = 5) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = wall.execute_script(f"return window.{key};")
        if seen is not None:
            return int(seen)
        time.sleep(0.02)
    raise AssertionError(f"the wall never showed {key}")


def test_res001_two_teams_and_20_sandbags_to_a_flood_seen_on_the_wall(dash_duo, settings):
    start_console(dash_duo, settings)
    Source(settings).report(title=TITLE, category="water", source="hotline", priority="urgent",
                            lon=104.452, lat=30.551)
    wait_rows(dash_duo, {TITLE})
    sign_in(dash_duo)
    incident_id = open_incident(dash_duo, TITLE)
    driver = dash_duo.driver
    # The section offers the stations ranked for this flood; the kit is prefilled.
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, SANDBAGS))
    boxes = driver.find_elements(By.CSS_SELECTOR, "#res-teams input[type=checkbox]")
    assert len(boxes) >= 2
    teams = [b.get_attribute("value") for b in boxes[:2]]
    code = teams[0].rsplit("-", 1)[0]
    sandbags = driver.find_element(By.CSS_SELECTOR, SANDBAGS)
    label = sandbags.find_element(By.XPATH, "./ancestor::label[1]").text
    before = int(re.search(r"\((\d+)", label).group(1))  # "沙袋 (1108袋)"
    # Only sandbags: empty the other boxes the flood kit prefilled (typed, as a user would:
    # a bare clear() leaves React's value in place).
    for box in driver.find_elements(By.CSS_SELECTOR, "[id*='\"type\":\"res-qty\"']"):
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
    _set(driver, SANDBAGS, "20")
    for box in boxes[:2]:
        box.click()

    wall = wall_browser()
    try:
        wall.get(kiosk_url(settings, dash_duo.server_url))  # the wall is a kiosk
        WebDriverWait(wall, 20).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, f"#station-{code}"))
        assert wall.execute_script(WATCH, code, f"{before - 20}袋", teams, "__out", True) is None

        clicked_at = driver.execute_script("return Date.now();")
        dash_duo.find_element("#res-go").click()
        elapsed = (_wait_seen(wall, "__out") - clicked_at) / 1000
        print(f"\nclick 调派 on /dispatch → wall shows {before - 20}袋 and 2 teams 出动: "
              f"{elapsed * 1000:.0f} ms")
        assert elapsed <= PUSHED_S, f"the wall followed after {elapsed:.3f} s"
        for team in teams:
            assert wall.find_element(By.ID, f"team-{team}").text.endswith("出动")
        held = wall.find_element(By.CSS_SELECTOR, f"#stk-{code}-FL-SB .stk-held").text
        assert held == "预留20"

        dash_duo.wait_for_contains_text("#res-toast", "已调派", timeout=5)
        dash_duo.wait_for_contains_text("#res-list .res-dispatch.reserved", "沙袋20袋")
        # Exactly what was picked: two teams and 20 sandbags, nothing else of the kit.
        goods = dash_duo.find_element("#res-list .res-dispatch.reserved .res-goods").text
        assert goods == "沙袋20袋"
        dash_duo.find_element("#res-list .res-depart").click()
        dash_duo.wait_for_element("#res-list .res-dispatch.departed", timeout=5)
        WebDriverWait(wall, 5).until(lambda d: d.find_element(
            By.CSS_SELECTOR, f"#stk-{code}-FL-SB .stk-held").text == "外出20")

        # The teams come back with everything: the wall shows the stock restored.
        wall.execute_script(WATCH, code, f"{before}袋", teams, "__back", False)
        clicked_at = driver.execute_script("return Date.now();")
        dash_duo.find_element("#res-list .res-return").click()
        elapsed = (_wait_seen(wall, "__back") - clicked_at) / 1000
        print(f"click 归还 → wall shows {before}袋 and no team out: {elapsed * 1000:.0f} ms")
        assert elapsed <= PUSHED_S, f"the wall followed after {elapsed:.3f} s"
    finally:
        wall.quit()

    dash_duo.wait_for_element("#res-list .res-dispatch.returned", timeout=5)
    WebDriverWait(driver, 5).until(lambda d: (OFFICER, "资源归还") in history(dash_duo))
    steps = [a for who, a in history(dash_duo) if who == OFFICER]
    assert steps[:3] == ["资源归还", "资源出发", "调派资源"]
    assert incident_id
