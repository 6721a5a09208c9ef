"""The duty console /dispatch in real headless Chromium: queue, one-click dispatch seen on the
wall, filters, live arrivals, refused actions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import PUSHED_S, Source, kiosk_url, start_app
from tools.screenshot import CHROME_FLAGS

pytestmark = pytest.mark.browser

OFFICER = "值班员王"
ROWS = "#disp-list .q-row"


def start_console(dash_duo: Any, settings: Any, path: str = "/dispatch") -> Any:
    """Start zhongnao, sign in as the officer and open the duty console; wait until its
    live stream is connected."""
    return start_app(dash_duo, settings, path=path, role="officer", name=OFFICER,
                     wait_status="#disp-status")


def sign_in(dash_duo: Any, name: str = OFFICER) -> None:
    """The console names the signed-in officer; the hint asking for a name stays hidden."""
    WebDriverWait(dash_duo.driver, 5).until(
        lambda d: d.find_element(By.ID, "disp-officer-input").get_attribute("value") == name)
    WebDriverWait(dash_duo.driver, 5).until(
        lambda d: d.find_element(By.ID, "disp-officer-hint").get_attribute("hidden") is not None)


def wait_rows(dash_duo: Any, titles: set[str], timeout: float = 10) -> list[Any]:
    """Wait until the queue shows exactly these titles; return the rows."""
    deadline = time.monotonic() + timeout
    shown: set[str] = set()
    while time.monotonic() < deadline:
        rows = dash_duo.find_elements(ROWS)
        try:
            shown = {r.find_element(By.CSS_SELECTOR, ".q-title").text.removeprefix("急")
                     .strip() for r in rows}
        except Exception:  # the list was redrawn while we read it
            time.sleep(0.05)
            continue
        if shown == titles:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"queue shows {sorted(shown)}, expected {sorted(titles)}")


def row_for(dash_duo: Any, title: str) -> Any:
    for row in dash_duo.find_elements(ROWS):
        if row.find_element(By.CSS_SELECTOR, ".q-title").text.removeprefix("急").strip() == title:
            return row
    raise AssertionError(f"no queue row {title!r}")


def open_incident(dash_duo: Any, title: str) -> int:
    """Click the incident in the queue; wait for its details; return its id.

    The queue is live and may be redrawn between finding a row and clicking it; then the
    row is looked up again, as an officer would simply click again.
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            row = row_for(dash_duo, title)
            incident_id = int(row.get_attribute("data-id"))
            row.click()
            break
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    dash_duo.wait_for_text_to_equal("#disp-detail .disp-title", title, timeout=10)
    return incident_id


def enabled_rec_button(dash_duo: Any) -> Any:
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#disp-recs .disp-rec-btn:not([disabled])"))
    return dash_duo.find_element("#disp-recs .disp-rec-btn")


def history(dash_duo: Any) -> list[tuple[str, str]]:
    """(who, action) of each history row, newest first."""
    out = []
    for tr in dash_duo.find_elements("#disp-history tr.h-row"):
        out.append((tr.find_element(By.CSS_SELECTOR, ".h-actor").text,
                    tr.find_element(By.CSS_SELECTOR, ".h-action").text))
    return out


def report_rows(dash_duo: Any) -> list[tuple[str, bool, bool]]:
    """(title, marked 已合并, has a 拆分 button) of each report in the details."""
    for _ in range(50):
        try:
            return [(r.find_element(By.CSS_SELECTOR, ".rep-title").text,
                     bool(r.find_elements(By.CSS_SELECTOR, ".rep-merged")),
                     bool(r.find_elements(By.CSS_SELECTOR, ".disp-split")))
                    for r in dash_duo.find_elements("#disp-reports .rep-row")]
        except StaleElementReferenceException:  # the details were redrawn while we read
            time.sleep(0.1)
    raise AssertionError("the reports kept changing")


def wall_browser() -> webdriver.Chrome:
    opts = Options()
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_window_size(1920, 1080)
    return driver


# Browser B records, in its own clock (the same machine's), when the feed item first says 派遣.
WATCH_STATE = """
const id = arguments[0], want = arguments[1];
window.__seenAt = null;
const check = () => {
  const el = document.querySelector('#inc-' + id + ' .feed-state');
  if (window.__seenAt === null && el && el.textContent === want) { window.__seenAt = Date.now(); }
};
new MutationObserver(check).observe(document.getElementById('home-feed'),
                                    {childList: true, subtree: true, characterData: true});
check();
return window.__seenAt;
"""


def test_disp001_one_click_dispatch_reaches_the_wall_within_a_second(dash_duo, settings):
    start_console(dash_duo, settings)
    Source(settings).report(title="楼道堆放杂物堵塞消防通道", category="fire", source="citizen",
                            lon=104.452, lat=30.551, reporter_phone="13800001111")
    wait_rows(dash_duo, {"楼道堆放杂物堵塞消防通道"})
    # The console carries the live KPIs, computed from the database like the wall's.
    dash_duo.wait_for_text_to_equal("#disp-kpis #kpi-received", "1", timeout=10)
    sign_in(dash_duo)
    incident_id = open_incident(dash_duo, "楼道堆放杂物堵塞消防通道")
    assert "13800001111" in dash_duo.find_element("#disp-detail").text
    button = enabled_rec_button(dash_duo)
    assert button.text == "派遣"
    top = dash_duo.find_element("#disp-recs .rec-name").text

    wall = wall_browser()
    try:
        wall.get(kiosk_url(settings, dash_duo.server_url))  # the wall is a kiosk
        WebDriverWait(wall, 20).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, f"#inc-{incident_id} .feed-state"))
        assert wall.find_element(By.CSS_SELECTOR, f"#inc-{incident_id} .feed-state").text == "上报"
        assert wall.execute_script(WATCH_STATE, incident_id, "派遣") is None

        clicked_at = dash_duo.driver.execute_script("return Date.now();")
        button.click()
        seen_at = None
        deadline = time.monotonic() + 5
        while seen_at is None and time.monotonic() < deadline:
            seen_at = wall.execute_script("return window.__seenAt;")
            time.sleep(0.02)
        assert seen_at is not None, "the wall never showed 派遣"
        elapsed = (seen_at - clicked_at) / 1000
        print(f"\nclick on /dispatch → 派遣 on the wall: {elapsed * 1000:.0f} ms")
        assert elapsed <= PUSHED_S, f"the wall followed after {elapsed:.3f} s"
    finally:
        wall.quit()

    dash_duo.wait_for_contains_text("#disp-toast", "已派遣", timeout=5)
    assert "disp-toast ok" in dash_duo.find_element("#disp-toast").get_attribute("class")
    WebDriverWait(dash_duo.driver, 5).until(lambda d: (OFFICER, "派遣") in history(dash_duo))
    rows = history(dash_duo)
    # Reported incidents are accepted first: both steps carry the officer's name.
    assert rows[:2] == [(OFFICER, "派遣"), (OFFICER, "受理")]
    dash_duo.wait_for_text_to_equal("#disp-detail-state", "派遣")
    assert top in dash_duo.find_element("#disp-detail").text  # the assignee


def test_disp002_filters_and_live_arrivals(dash_duo, settings):
    start_console(dash_duo, settings)
    source = Source(settings)
    three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    source.report(title="仓库电线私拉乱接", category="fire", priority="urgent",
                  reported_at=three_hours_ago, lon=104.452, lat=30.551)
    source.report(title="河道漂浮垃圾", category="environment", lon=104.45, lat=30.55)
    source.report(title="宅基地边界纠纷", category="disputes", source="hotline",
                  lon=104.451, lat=30.552)
    wait_rows(dash_duo, {"仓库电线私拉乱接", "河道漂浮垃圾", "宅基地边界纠纷"})
    # The live queue may be redrawn between finding the row and reading it: look again.
    WebDriverWait(dash_duo.driver, 5, ignored_exceptions=(StaleElementReferenceException,)
                  ).until(lambda d: "overdue" in row_for(dash_duo, "仓库电线私拉乱接")
                          .get_attribute("class"))
    dash_duo.wait_for_contains_text("#disp-count", "3")

    dash_duo.find_element("#disp-f-overdue input").click()
    wait_rows(dash_duo, {"仓库电线私拉乱接"})
    dash_duo.find_element("#disp-f-overdue input").click()
    wait_rows(dash_duo, {"仓库电线私拉乱接", "河道漂浮垃圾", "宅基地边界纠纷"})

    dash_duo.select_dcc_dropdown("#disp-f-category", "环境保护")
    wait_rows(dash_duo, {"河道漂浮垃圾"})
    # New reports arrive without a reload, and the filter holds for them too.
    # (far from the other one: nearby reports of one category merge into one work order)
    source.report(title="工地扬尘", category="environment", lon=104.472, lat=30.543)
    source.report(title="商铺占道经营", category="city_management", lon=104.45, lat=30.55)
    wait_rows(dash_duo, {"河道漂浮垃圾", "工地扬尘"})
    time.sleep(0.5)
    wait_rows(dash_duo, {"河道漂浮垃圾", "工地扬尘"}, timeout=1)

    # Sorting by newest puts the latest arrival first; ↓ and Enter open the next one.
    dash_duo.find_element("#disp-sort input[value='newest']").click()
    WebDriverWait(dash_duo.driver, 5, ignored_exceptions=(StaleElementReferenceException,)
                  ).until(lambda d: d.find_element(
                      By.CSS_SELECTOR, ROWS + " .q-title").text == "工地扬尘")
    dash_duo.find_element("#disp-list").click()
    body = dash_duo.find_element("body")
    body.send_keys("\ue015")  # ArrowDown
    body.send_keys("\ue015")
    body.send_keys("\ue007")  # Enter
    dash_duo.wait_for_text_to_equal("#disp-detail .disp-title", "河道漂浮垃圾", timeout=10)


def test_disp003_refused_actions_say_why_in_red_and_change_nothing(dash_duo, settings,
                                                                    services):
    start_console(dash_duo, settings)
    source = Source(settings)
    source.report(title="路灯损坏", category="city_management", lon=104.452, lat=30.551)
    wait_rows(dash_duo, {"路灯损坏"})
    sign_in(dash_duo)
    incident_id = open_incident(dash_duo, "路灯损坏")
    enabled_rec_button(dash_duo)

    # Another officer dispatches between this officer's look and click.
    intake = services.intake
    intake.act(incident_id, "accept", "值班员李")
    intake.act(incident_id, "dispatch", "值班员李", assignee="网格员 张三")
    dash_duo.driver.execute_script(
        "document.querySelector('#disp-recs .disp-rec-btn').click();")
    dash_duo.wait_for_contains_class("#disp-toast", "err", timeout=10)
    dash_duo.wait_for_contains_text("#disp-toast", "操作未执行", timeout=10)  # after its fade-in
    message = dash_duo.find_element("#disp-toast").text
    assert "操作未执行" in message and "值班员李" in message and "派遣" in message, message
    events = services.store.history(incident_id)
    assert [e["actor"] for e in events[1:]] == ["值班员李", "值班员李"]
    assert services.store.incident(incident_id)["assignee"] == "网格员 张三"
    # The console catches up with what really happened.
    dash_duo.wait_for_text_to_equal("#disp-detail-state", "派遣", timeout=5)

    # Closing after follow-up needs a satisfaction score.
    source.report(title="垃圾清运不及时", category="environment", lon=104.45, lat=30.55)
    deadline = time.monotonic() + 10
    second = None
    while second is None and time.monotonic() < deadline:
        found = services.store.queue(states=("reported",))
        second = next((v.id for v in found if v.title == "垃圾清运不及时"), None)
        time.sleep(0.1)
    assert second is not None
    for action, kw in (("accept", {}), ("dispatch", {"assignee": "网格员 李四"}), ("start", {}),
                       ("resolve", {})):
        intake.act(second, action, "网格员 李四", **kw)
    dash_duo.select_dcc_dropdown("#disp-f-state", "办结待回访")
    wait_rows(dash_duo, {"垃圾清运不及时"})
    open_incident(dash_duo, "垃圾清运不及时")
    dash_duo.wait_for_text_to_equal("#disp-detail-state", "办结", timeout=5)
    close = dash_duo.find_element("#disp-actions .disp-act-close")
    close.click()
    dash_duo.wait_for_contains_class("#disp-toast", "err", timeout=10)
    dash_duo.wait_for_contains_text("#disp-toast", "满意度", timeout=10)
    assert services.store.incident(second)["state"] == "resolved"
    assert services.store.history(second)[-1]["action"] == "resolve"

    dash_duo.find_element("#disp-satisfaction input[value='5']").click()
    dash_duo.find_element("#disp-actions .disp-act-close").click()
    dash_duo.wait_for_contains_class("#disp-toast", "ok", timeout=10)
    dash_duo.wait_for_text_to_equal("#disp-detail-state", "回访办结", timeout=5)
    closed = services.store.incident(second)
    assert closed["state"] == "closed" and closed["satisfaction"] == 5


def test_disp004_officer_splits_a_merged_report(dash_duo, settings):
    """Two reports of one category 50 m apart merge into one work order; the officer sees
    both reports and splits the merged one into its own work order, live in the queue."""
    app = start_console(dash_duo, settings.with_(dedup_meters=200))
    source = Source(settings)
    source.report(title="井盖缺失", category="city_management", lon=104.452, lat=30.551)
    wait_rows(dash_duo, {"井盖缺失"})
    # About 50 m north of the first: merged into its work order, the queue keeps one row.
    source.report(title="路口井盖丢失有人绊倒", category="city_management", lon=104.452,
                  lat=30.55145)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "var m = document.querySelector('#disp-list .q-row .q-mark.reports');"
        "return m && m.textContent === '2条上报';"))
    wait_rows(dash_duo, {"井盖缺失"})
    sign_in(dash_duo)
    incident_id = open_incident(dash_duo, "井盖缺失")
    dash_duo.wait_for_text_to_equal("#disp-reports .disp-reports-head", "上报记录 (2)", timeout=10)
    dash_duo.wait_for_contains_text("#disp-detail .disp-detail-head", "2条上报", timeout=5)
    # (title, 已合并 shown, 拆分 offered) of each report, the first one first
    assert report_rows(dash_duo) == [("井盖缺失", False, False),
                                     ("路口井盖丢失有人绊倒", True, True)]

    # The button is enabled once the officer's name is kept; the details may be redrawn
    # meanwhile, so the button is looked up again after the wait.
    split = "#disp-reports .rep-row.merged .disp-split:not([disabled])"
    WebDriverWait(dash_duo.driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, split))
    deadline = time.monotonic() + 10
    while True:
        try:
            dash_duo.find_element(split).click()
            break
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    dash_duo.wait_for_contains_class("#disp-toast", "ok", timeout=10)
    # The toast's text fades in: WebDriver reads an element still at opacity 0 as ''.
    dash_duo.wait_for_contains_text("#disp-toast", "已拆分", timeout=10)
    message = dash_duo.find_element("#disp-toast").text

    store = app.zn_services.store
    found = {v.title: v for v in store.queue(states=("reported",))}
    assert set(found) == {"井盖缺失", "路口井盖丢失有人绊倒"}
    new = found["路口井盖丢失有人绊倒"]
    assert new.ref in message and "已拆分" in message, message
    assert found["井盖缺失"].id == incident_id
    assert [v.report_count for v in found.values()] == [1, 1]
    assert "split" in [h["action"] for h in store.history(incident_id)]
    assert [h["action"] for h in store.history(new.id)] == ["split"]
    assert [r["title"] for r in store.reports(new.id)] == ["路口井盖丢失有人绊倒"]

    # Live: the queue shows both work orders, the details one report and no badge.
    wait_rows(dash_duo, {"井盖缺失", "路口井盖丢失有人绊倒"})
    dash_duo.wait_for_text_to_equal("#disp-reports .disp-reports-head", "上报记录 (1)", timeout=10)
    assert not dash_duo.find_elements("#disp-detail .disp-mark.reports")
    WebDriverWait(dash_duo.driver, 5, ignored_exceptions=(StaleElementReferenceException,)
                  ).until(lambda d: (OFFICER, "拆分") in history(dash_duo))
    WebDriverWait(dash_duo.driver, 5).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, "#disp-list .q-mark.reports"))


def test_disp005_a_dispatched_order_shows_on_the_workers_phone(dash_duo, settings):
    """The hand-over by id: the officer dispatches to the recommended grid worker; that
    worker, signed in on /field in another browser, sees the order and acknowledges it."""
    from urllib.parse import quote

    from tests.browser import PASSWORD

    app = start_console(dash_duo, settings)
    svc = app.zn_services
    Source(settings).report(title="窨井盖破损", category="city_management", source="citizen",
                            lon=104.452, lat=30.551)
    wait_rows(dash_duo, {"窨井盖破损"})
    sign_in(dash_duo)
    incident_id = open_incident(dash_duo, "窨井盖破损")
    enabled_rec_button(dash_duo).click()
    dash_duo.wait_for_contains_class("#disp-toast", "ok", timeout=10)
    order = svc.store.incident(incident_id)
    assert order["state"] == "dispatched" and order["assignee_id"], order
    # The worker's own account, linked to the person the order names.
    svc.accounts.add_user("worker-phone", "grid_worker", PASSWORD,
                          person_id=order["assignee_id"])

    phone = wall_browser()
    try:
        phone.set_window_size(412, 915)
        phone.get(f"{dash_duo.server_url}/login?next={quote('/field', safe='')}")
        WebDriverWait(phone, 15).until(lambda d: d.find_elements(By.ID, "login-name"))
        phone.find_element(By.ID, "login-name").send_keys("worker-phone")
        phone.find_element(By.ID, "login-password").send_keys(PASSWORD)
        phone.find_element(By.ID, "login-submit").click()
        card = f"#task-{incident_id}"
        WebDriverWait(phone, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, card))
        assert "窨井盖破损" in phone.find_element(By.CSS_SELECTOR, card).text
        phone.find_element(By.CSS_SELECTOR, f"{card} .field-ack").click()
        WebDriverWait(phone, 10).until(lambda d: "接单 ✓" in d.find_element(
            By.CSS_SELECTOR, "#field-result").text)
    finally:
        phone.quit()
    assert svc.store.history(incident_id)[-1]["action"] == "ack"
    assert svc.store.history(incident_id)[-1]["actor"] == "worker-phone"
