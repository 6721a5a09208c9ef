"""应急抽调 end to end in two browsers (issue 16): the duty officer ticks an off-duty worker
on the console and calls them up; the worker's phone (/field) shows the call-up and they
answer 到岗; the officer's console, open all along, shows who answered."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from tests.browser import signed_in_browser, start_app

pytestmark = pytest.mark.browser


def _text(driver: Any, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def test_cu001_an_officer_calls_up_a_worker_who_answers_from_the_field_page(dash_duo,
                                                                           settings):
    app = start_app(dash_duo, settings, path="/dispatch", role="officer", wait_status=None)
    svc = app.zn_services
    report = IncidentReport(source="grid_worker", category="water", title="河堤管涌",
                            lon=104.46, lat=30.55)
    order = svc.store.create_incident(report, GridHit("G3-02", "V01")).incident
    dash_duo.driver.get(f"{dash_duo.server_url}/dispatch?incident={order.id}")
    dash_duo.wait_for_element("#cu-panel:not([hidden]) summary", timeout=30)
    dash_duo.find_element("#cu-panel summary").click()  # folded until the order has one
    dash_duo.wait_for_element("#cu-pick label", timeout=10)
    callee = svc.callups.offered(order.id)[0]
    label = next(el for el in dash_duo.find_elements("#cu-pick label")
                 if el.text.startswith(callee["name"]))
    label.click()
    dash_duo.find_element("#cu-go").click()
    dash_duo.wait_for_contains_text("#cu-msg", "已抽调 1 人", timeout=15)
    dash_duo.wait_for_contains_text(f"#cu-row-{callee['id']}", "未回复", timeout=15)

    with signed_in_browser(settings, dash_duo.server_url, "grid_worker", path="/field",
                           name=callee["name"], size=(390, 844)) as phone:
        WebDriverWait(phone, 30).until(lambda d: order.ref in _text(d, ".cu-card-title"))
        phone.find_element(By.CSS_SELECTOR, ".cu-answer-btn.coming").click()
        WebDriverWait(phone, 15).until(lambda d: "已回复" in _text(d, "#cu-fmsg"))
    # The console shows the answer without a reload.
    dash_duo.wait_for_contains_text(f"#cu-row-{callee['id']} .cu-answer", "到岗", timeout=20)
    dash_duo.wait_for_contains_text("#cu-tally", "到岗 1", timeout=10)
    assert dash_duo.driver.current_url.endswith(f"/dispatch?incident={order.id}")
