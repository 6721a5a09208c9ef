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
