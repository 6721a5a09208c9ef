"""Security in real headless Chromium: a script in an incident shows as text on every screen,
pages refuse the wrong role, the sign-out button ends the session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.messages import IncidentReport
from tests.browser import kiosk_url, login, start_app

pytestmark = pytest.mark.browser

TITLE = '<img src=x onerror="window.__xss=1">路灯<script>window.__xss=2</script>'
DESCRIPTION = '<script>window.__xss=3</script><b onmouseover="window.__xss=4">粗体</b>'


# A grid worker of the demo town's register: work orders reach a phone by person id.
WORKER_ID, WORKER = "W001", "冯思远"


def plant(app: Any, assignee: str | None = None) -> int:
    """An incident whose text is markup, stored as another system might have written it
    (the doors refuse markup, so this goes around their validation on purpose)."""
    svc = app.zn_services
    report = IncidentReport.model_construct(
        type="incident.report", source="citizen", source_ref=None, category="city_management",
        priority="normal", title=TITLE, description=DESCRIPTION, lon=104.45, lat=30.55,
        reporter_name="<i>张三</i>", reporter_phone="13800001111", photo_url=None,
        reported_at=None, msg_id=None, v=1)
    event = svc.intake.handle(report).event
    assert event is not None and event.incident is not None
    incident_id = event.incident.id
    if assignee:
        svc.intake.act(incident_id, "accept", "值班员王")
        svc.intake.act(incident_id, "dispatch", "值班员王", assignee=assignee,
                       assignee_id=WORKER_ID if assignee == WORKER else None)
    return incident_id


def no_script_ran(driver: Any) -> None:
    assert driver.execute_script("return window.__xss === undefined;"), "a payload ran"
    assert not driver.find_elements(By.CSS_SELECTOR, "img[src='x'], #react-entry-point script")


def test_sec001_markup_in_an_incident_shows_as_text_on_every_screen(dash_duo, settings):
    app = start_app(dash_duo, settings, path="/", role="officer")
    incident_id = plant(app, assignee=WORKER)

    # The wall (as a kiosk would see it, too).
    dash_duo.wait_for_contains_text(f"#inc-{incident_id} .feed-title", "<img src=x", timeout=10)
    # Waited for, not read once: the live feed may redraw the row between find and read.
    dash_duo.wait_for_contains_text(f"#inc-{incident_id} .feed-title", "<script>", timeout=10)
    no_script_ran(dash_duo.driver)

    # The duty console: title, description and reporter as text.
    dash_duo.driver.get(f"{dash_duo.server_url}/dispatch?incident={incident_id}")
    dash_duo.wait_for_contains_text("#disp-detail", "window.__xss=3", timeout=15)
    detail = dash_duo.find_element("#disp-detail").text
    assert "<b onmouseover=" in detail and "<i>张三</i>" in detail
    dash_duo.wait_for_contains_text("#disp-list", "<img src=x", timeout=10)
    no_script_ran(dash_duo.driver)

    # The grid worker's phone page.
    login(dash_duo, settings, role="grid_worker", name=WORKER, path="/field")
    dash_duo.wait_for_contains_text(f"#task-{incident_id} .field-title", "<script>", timeout=15)
    no_script_ran(dash_duo.driver)

    # The JSON API returns it as data, never as markup to render.
    raw = dash_duo.driver.execute_script(
        "return fetch('/api/v1/field/tasks').then(r => r.text());")
    assert json.loads(raw)[0]["title"] == TITLE


def test_sec002_pages_refuse_the_wrong_role_and_sign_out_ends_the_session(dash_duo, settings):
    start_app(dash_duo, settings, path="/field", role="grid_worker", name="李网格",
              wait_status=None)
    dash_duo.wait_for_element("#zn-user", timeout=10)
    # A grid worker may not open the console: the server says so before any layout.
    dash_duo.driver.get(f"{dash_duo.server_url}/dispatch")
    assert "forbidden" in dash_duo.driver.page_source or \
        "无权" in dash_duo.driver.page_source
    dash_duo.driver.get(f"{dash_duo.server_url}/field")
    dash_duo.wait_for_element(".zn-logout", timeout=10).click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "/login" in d.current_url)
    dash_duo.driver.get(f"{dash_duo.server_url}/field")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "/login" in d.current_url)

    # A kiosk token opens the wall read-only; the console stays closed to it.
    dash_duo.driver.get(kiosk_url(settings, dash_duo.server_url))
    dash_duo.wait_for_contains_class("#home-status", "ok", timeout=20)
    dash_duo.driver.get(f"{dash_duo.server_url}/dispatch")
    assert "无权" in dash_duo.driver.page_source or "forbidden" in dash_duo.driver.page_source
