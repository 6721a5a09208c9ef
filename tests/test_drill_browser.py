"""Drills (应急演练) in real headless Chromium, as a duty officer: 建林 is amber on /resources
and the leaders' view for want of a flood drill; hostile plan and record forms are refused
with clear words; the drill is planned and recorded on /resources; readiness turns green on
both screens; its follow-up is a work order in the console's queue."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.timeutil import LOCAL_TZ, local_date
from tests.browser import start_app

pytestmark = pytest.mark.browser
JIANLIN = "建林片区应急保障服务站"
FOLLOW_UP = "更换建林站抽水泵启动电容"
STALE = (StaleElementReferenceException,)  # live tables are redrawn under the reader


def _type(dash_duo: Any, sel: str, value: str) -> None:
    """Replace a box's text as a person does (select all, type): clear() alone leaves a
    React input's value in place."""
    box = dash_duo.find_element(sel)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    if value:
        box.send_keys(value)


def _leader_dot(dash_duo: Any) -> str:
    """The colour class of 建林's line in the leaders' readiness box."""
    for _ in range(20):
        try:
            for row in dash_duo.find_elements("#ld-ready .ld-st-row"):
                if JIANLIN in row.text:
                    return row.find_element(By.CSS_SELECTOR, ".ld-dot").get_attribute("class")
            return ""
        except StaleElementReferenceException:
            time.sleep(0.1)
    return ""


def _until(dash_duo: Any, timeout: float, predicate: Any) -> None:
    WebDriverWait(dash_duo.driver, timeout, ignored_exceptions=STALE).until(predicate)


def _local(dt: datetime) -> str:
    return dt.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def test_drill001_a_recorded_flood_drill_turns_jianlin_green_and_files_its_follow_up(
        dash_duo, settings):
    app = start_app(dash_duo, settings, path="/resources", name="值班员王", wait_status=None)
    # The demo's other amber at 建林 (life jackets below the minimum) is put right first, so
    # the flood drill is the one reason left.
    app.zn_services.resources.receive("ES-02", "FL-LJ", 20, "仓管李")
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/resources")
    dash_duo.wait_for_contains_text("#rd-ES-02", "防汛演练已430天未开展", timeout=20)
    assert "amber" in dash_duo.find_element("#rd-ES-02 .res-lvl").get_attribute("class")
    dash_duo.wait_for_element("#dr-row-ES-02", timeout=20)
    before = int(dash_duo.find_elements("#dr-row-ES-02 td")[3].get_attribute("data-n"))

    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/leader")
    _until(dash_duo, 20, lambda d: "amber" in _leader_dot(dash_duo))
    dash_duo.wait_for_element("#ld-drills #dr-row-ES-02", timeout=20)

    # Plan: hostile input first.
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/resources")
    dash_duo.wait_for_element("#dr-p-go", timeout=20)
    dash_duo.select_dcc_dropdown("#dr-p-station", JIANLIN)
    dash_duo.select_dcc_dropdown("#dr-p-type", "防汛")
    _type(dash_duo, "#dr-p-day", "9999-99-99")
    dash_duo.find_element("#dr-p-go").click()
    dash_duo.wait_for_contains_text("#dr-toast", "计划日期", timeout=10)
    assert "err" in dash_duo.find_element("#dr-toast").get_attribute("class")
    today = local_date(datetime.now(UTC)).isoformat()
    _type(dash_duo, "#dr-p-day", today)
    _type(dash_duo, "#dr-p-title", "<script>alert(1)</script>")
    dash_duo.find_element("#dr-p-go").click()
    dash_duo.wait_for_contains_text("#dr-toast", "演练名称", timeout=10)
    _type(dash_duo, "#dr-p-title", "建林防汛演练")
    dash_duo.select_dcc_dropdown("#dr-p-teams", "建林片区应急救援队")
    dash_duo.find_element("#dr-p-go").click()
    dash_duo.wait_for_contains_text("#dr-toast", "✓ 已计划演练", timeout=10)

    # Record: the planned drill fills in its teams; times out of order are refused.
    dash_duo.select_dcc_dropdown("#dr-r-drill", index=0)  # the one planned drill
    dash_duo.wait_for_contains_text("#dr-r-teams", "建林片区应急救援队", timeout=10)
    start = datetime.now(UTC) - timedelta(hours=1)
    _type(dash_duo, "#dr-r-started", _local(start))
    _type(dash_duo, "#dr-r-assembled", _local(start - timedelta(minutes=5)))
    dash_duo.find_element("#dr-r-go").click()
    dash_duo.wait_for_contains_text("#dr-toast", "集结完毕时间早于上一步", timeout=10)
    _type(dash_duo, "#dr-r-assembled", _local(start + timedelta(minutes=14)))
    _type(dash_duo, "#dr-r-arrived", _local(start + timedelta(minutes=31)))
    _type(dash_duo, "#dr-r-findings", "抽水泵启动仍偏慢")
    _type(dash_duo, "#dr-r-followups", FOLLOW_UP)
    dash_duo.find_element("#dr-r-go").click()
    dash_duo.wait_for_contains_text("#dr-toast", "✓ 演练", timeout=10)
    assert "集结14.0分钟" in dash_duo.find_element("#dr-toast").text

    # Readiness follows on /resources and on the leaders' view; the year's count too.
    _until(dash_duo, 20, lambda d: "green" in d.find_element(
        By.CSS_SELECTOR, "#rd-ES-02 .res-lvl").get_attribute("class"))
    assert "演练" not in dash_duo.find_element("#rd-ES-02").text
    _until(dash_duo, 10, lambda d: int(d.find_elements(
        By.CSS_SELECTOR, "#dr-row-ES-02 td")[3].get_attribute("data-n")) == before + 1)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/leader")
    _until(dash_duo, 20, lambda d: "green" in _leader_dot(dash_duo))

    # The follow-up is a work order in the console's queue.
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/dispatch")
    _until(dash_duo, 20, lambda d: any(
        "演练整改" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#disp-list .q-row")))


def test_drill002_the_admin_keeps_rooms_and_members_and_hostile_input_is_refused(
        dash_duo, settings):
    start_app(dash_duo, settings, path="/admin?tab=stations", role="admin", wait_status=None)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/admin?tab=stations")
    dash_duo.wait_for_element("#ast-room-shelter", timeout=45)  # a loaded box: generous
    dash_duo.select_dcc_dropdown("#ast-station", "建林片区应急保障服务站")
    dash_duo.wait_for_contains_text("#ast-rooms", "120", timeout=10)
    dash_duo.select_dcc_dropdown("#ast-room", "受灾群众临时安置室")
    _type(dash_duo, "#ast-capacity", "120")
    _type(dash_duo, "#ast-occupancy", "500")  # more people than places
    dash_duo.find_element("#ast-save-room").click()
    dash_duo.wait_for_contains_text("#ast-msg", "在用500超过容量120", timeout=10)
    assert "bad" in dash_duo.find_element("#ast-msg").get_attribute("class")
    _type(dash_duo, "#ast-occupancy", "30")
    _type(dash_duo, "#ast-note", "东侧漏雨，30人已安置")
    dash_duo.find_element("#ast-save-room").click()
    dash_duo.wait_for_contains_text("#ast-msg", "✓ 已保存", timeout=10)
    dash_duo.wait_for_contains_text("#ast-room-shelter", "东侧漏雨", timeout=10)

    dash_duo.wait_for_contains_text("#ast-members", "队长", timeout=10)
    _type(dash_duo, "#ast-m-name", "李医生")
    _type(dash_duo, "#ast-m-phone", "<script>")
    dash_duo.find_element("#ast-m-add").click()
    dash_duo.wait_for_contains_text("#ast-msg", "不是有效电话号码", timeout=10)
    _type(dash_duo, "#ast-m-phone", "13900001111")
    _type(dash_duo, "#ast-m-skills", "急救、心肺复苏")
    dash_duo.find_element("#ast-m-add").click()
    dash_duo.wait_for_contains_text("#ast-msg", "✓ 已保存：李医生", timeout=10)
    dash_duo.wait_for_contains_text("#ast-members", "13900001111", timeout=10)
