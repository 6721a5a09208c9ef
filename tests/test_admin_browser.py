"""系统管理 (/admin) in real headless Chromium: the administrator creates an officer and a grid
worker whose shown-once password signs them in; a kiosk token made on the page opens a wall,
and revoking it closes that wall within seconds."""

from __future__ import annotations

import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import new_browser, start_app

pytestmark = pytest.mark.browser


def _type(dash_duo: Any, selector: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = dash_duo.find_element(selector)
    box.send_keys(Keys.CONTROL, "a")  # clear() does not reach a React input
    box.send_keys(Keys.DELETE)
    box.send_keys(value)


def _shown_secret(dash_duo: Any, label: str) -> str:
    """The secret shown once under its label (waits for the label: each is new)."""
    dash_duo.wait_for_contains_text("#adm-secret .adm-secret-label", label, timeout=15)
    assert dash_duo.find_element("#adm-secret .adm-secret-label").text == label
    return str(dash_duo.find_element("#adm-secret-value").text).strip()


def _sign_in(driver: Any, base: str, name: str, password: str, path: str) -> None:
    from urllib.parse import quote

    driver.get(f"{base}/login?next={quote(path, safe='')}")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "login-name"))
    driver.find_element(By.ID, "login-name").send_keys(name)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def test_adm001_the_admin_creates_an_officer_and_a_grid_worker_who_then_signs_in(
        dash_duo, settings):
    app = start_app(dash_duo, settings, path="/admin", role="admin", wait_status=None)
    dash_duo.wait_for_element("#adm-users table", timeout=20)
    # An officer: no password typed, so one is made and shown once.
    _type(dash_duo, "#adm-name", "值班员周")
    dash_duo.select_dcc_dropdown("#adm-role", "值班员")
    dash_duo.find_element("#adm-add").click()
    officer_pw = _shown_secret(dash_duo, "值班员周 的密码")
    dash_duo.wait_for_contains_text("#adm-msg", "已新增账号 值班员周", timeout=10)
    dash_duo.wait_for_contains_text("#adm-users", "值班员周", timeout=10)
    assert dash_duo.find_element("#adm-name").get_attribute("value") == ""  # form emptied
    # A grid worker without the worker named is refused in the admin's words; nothing made.
    _type(dash_duo, "#adm-name", "网格员冯")
    dash_duo.select_dcc_dropdown("#adm-role", "网格员")
    dash_duo.find_element("#adm-add").click()
    dash_duo.wait_for_contains_text("#adm-msg", "网格员账号须选定网格员本人", timeout=10)
    assert app.zn_services.accounts.user("网格员冯") is None
    dash_duo.select_dcc_dropdown("#adm-person", "W001 · 冯思远")
    dash_duo.find_element("#adm-add").click()
    worker_pw = _shown_secret(dash_duo, "网格员冯 的密码")
    assert worker_pw != officer_pw
    # The secret is on this page only: a reload shows it no more.
    dash_duo.driver.refresh()
    dash_duo.wait_for_element("#adm-users table", timeout=20)
    assert worker_pw not in dash_duo.driver.page_source
    stored = app.zn_services.accounts.user("网格员冯")
    assert (stored.role, stored.person_id) == ("grid_worker", "W001")
    actions = [(r["actor"], r["action"], r["target"])
               for r in app.zn_services.audit.search(action="user.add")]
    assert ("管理员甲", "user.add", "网格员冯") in actions
    assert ("管理员甲", "user.add", "值班员周") in actions

    # The worker signs in with the password the admin handed over: their phone's page.
    phone = new_browser((390, 844))
    try:
        _sign_in(phone, dash_duo.server_url, "网格员冯", worker_pw, "/field")
        WebDriverWait(phone, 20).until(
            lambda d: "网格员冯" in d.find_element(By.ID, "zn-user").text
            if d.find_elements(By.ID, "zn-user") else False)
        assert "/field" in phone.current_url
    finally:
        phone.quit()


def test_adm002_a_kiosk_token_made_on_the_page_opens_a_wall_and_revoking_it_closes_it(
        dash_duo, settings):
    app = start_app(dash_duo, settings, path="/admin?lang=en", role="admin",
                    wait_status=None)
    dash_duo.wait_for_element("#adm-users table", timeout=20)
    dash_duo.find_elements("#adm-tabs .tab")[2].click()  # Keys and kiosk tokens
    _type(dash_duo, "#adm-kname", "Hall left wall")
    dash_duo.find_element("#adm-kadd").click()
    url = _shown_secret(dash_duo, "Wall address of Hall left wall")
    assert url.startswith(dash_duo.server_url + "/?kiosk=")
    token = url.split("kiosk=", 1)[1]
    [row] = [k for k in app.zn_services.accounts.list_keys("kiosk")
             if k["name"] == "Hall left wall"]
    assert row["prefix"] == token[:8]

    wall = new_browser((1920, 1080))
    try:
        wall.get(url)
        WebDriverWait(wall, 30).until(
            lambda d: "ok" in d.find_element(By.ID, "home-status").get_attribute("class")
            if d.find_elements(By.ID, "home-status") else False)
        dash_duo.wait_for_element(f"#adm-key-{row['id']} button", timeout=10).click()
        revoked = time.monotonic()
        dash_duo.wait_for_contains_text("#adm-msg", "Hall left wall revoked", timeout=10)
        # The wall's screen closes (to the sign-in page) within seconds, figures gone.
        WebDriverWait(wall, 20, poll_frequency=0.2).until(lambda d: "/login" in d.current_url)
        took = time.monotonic() - revoked
        assert not wall.find_elements(By.ID, "home-status")
        print(f"wall closed {took:.1f} s after the revocation")
        assert took < 15
    finally:
        wall.quit()
    dash_duo.wait_for_contains_text(f"#adm-key-{row['id']}", "revoked", timeout=10)
    [entry] = [r for r in app.zn_services.audit.search(action="key.revoke")]
    assert (entry["actor"], entry["target"]) == ("管理员甲", "Hall left wall")


def test_adm003_a_roster_with_three_bad_rows_is_refused_then_fixed_and_imported(
        dash_duo, settings, tmp_path):
    from datasources.towns.pupil_xlsx import write_workbook

    head = ["网格编码", "岗位", "人员编号", "姓名", "电话", "职责"]
    good = [["G3-03", "网格长", "", "罗长河", "13800000021", ""],
            ["G3-03", "网格员", "W950", "新网格员", "13800000022", "信息采集、治安巡查"]]
    bad = [["G9-99", "网格员", "W951", "甲", "13800000023", ""],
           ["G3-03", "网格员", "W952", "乙", "待补", ""],
           ["G3-03", "站长", "W953", "丙", "13800000025", ""]]
    wrong, fixed = tmp_path / "花名册-错.xlsx", tmp_path / "花名册.xlsx"
    wrong.write_bytes(write_workbook([("网格人员", [head, *good, *bad])]))
    fixed.write_bytes(write_workbook([("网格人员", [head, *good])]))
    app = start_app(dash_duo, settings, path="/admin?tab=roster", role="admin",
                    wait_status=None)
    upload = dash_duo.wait_for_element("#adm-upload input[type=file]", timeout=20)
    upload.send_keys(str(wrong))
    dash_duo.wait_for_contains_text("#adm-rpreview", "3 处错误，未导入任何内容", timeout=15)
    errors = [e.text for e in dash_duo.find_elements(".adm-rerror")]
    assert errors == ["工作表「网格人员」第 4 行 A 列「网格编码」：本镇没有网格「G9-99」",
                      "工作表「网格人员」第 5 行 E 列「电话」：电话「待补」不是有效号码",
                      "工作表「网格人员」第 6 行 B 列「岗位」：岗位「站长」须为 网格长 或 网格员"]
    assert dash_duo.find_element("#adm-rapply").get_attribute("disabled")
    with app.zn_services.accounts.session() as s:
        from datasources.sql import models as m
        assert s.get(m.GridWorker, "W950") is None
    # The fixed file: a preview of what changes, then the import.
    dash_duo.find_element("#adm-upload input[type=file]").send_keys(str(fixed))
    dash_duo.wait_for_contains_text("#adm-rpreview", "新增 1 名网格员", timeout=15)
    dash_duo.wait_for_contains_text("#adm-rpreview", "信息采集、治安巡查", timeout=5)
    WebDriverWait(dash_duo.driver, 5).until(
        lambda d: not d.find_element(By.ID, "adm-rapply").get_attribute("disabled"))
    dash_duo.find_element("#adm-rapply").click()
    dash_duo.wait_for_contains_text("#adm-msg", "已导入：新增 1 名网格员", timeout=15)
    with app.zn_services.accounts.session() as s:
        worker, grid = s.get(m.GridWorker, "W950"), s.get(m.Grid, "G3-03")
        assert (worker.name, worker.duties) == ("新网格员", ["info", "patrol"])
        assert grid.leader_name == "罗长河"
    [entry] = app.zn_services.audit.search(action="roster.import")
    assert (entry["actor"], entry["target"]) == ("管理员甲", "花名册.xlsx")
