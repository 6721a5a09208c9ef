"""换班 reaches an open console (issue 16's acceptance): the administrator swaps two shifts on
/admin in one browser, and the duty officer's console, open on a work order of that grid in
another browser, puts the other worker first without a reload (the hub's rota.changed)."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.geo.lookup import GridHit
from dashboard.grids.rota import shift_at
from dashboard.messages import IncidentReport
from dashboard.timeutil import utcnow
from tests.browser import read_live, signed_in_browser, start_app

pytestmark = pytest.mark.browser
GRID = "G3-02"  # two workers, alternating day and night in the default rota


def _set_value(driver: Any, ident: str, value: str) -> None:
    """Type into a Dash input as React hears it (a date box takes its ISO value)."""
    driver.execute_script(
        "const el = document.getElementById(arguments[0]);"
        "const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
        "set.call(el, arguments[1]); el.dispatchEvent(new Event('input', {bubbles: true}));",
        ident, value)


def _first_rec(driver: Any) -> str:
    return read_live(driver, "#disp-recs .rec-name", lambda el: el.text, timeout=20)


def test_rota001_a_swap_on_admin_changes_the_open_consoles_recommendation(dash_duo, settings):
    app = start_app(dash_duo, settings, path="/admin?tab=rota", role="admin", wait_status=None)
    svc = app.zn_services
    report = IncidentReport(source="grid_worker", category="city_management", title="井盖缺失",
                            lon=104.46, lat=30.55)
    order = svc.store.create_incident(report, GridHit(GRID, "V01")).incident
    day, shift = shift_at(utcnow())
    other = "night" if shift == "day" else "day"
    before = svc.rota.worker_on_duty(GRID)
    rows = svc.rota.table(GRID, day, 1)[0]
    assert before == rows[shift] and rows[other] != before
    with signed_in_browser(settings, dash_duo.server_url, "officer",
                           path=f"/dispatch?incident={order.id}") as officer:
        WebDriverWait(officer, 30).until(lambda d: _first_rec(d) == before)
        # The admin swaps now's shift with the other shift of the same day, with a reason.
        dash_duo.wait_for_element("#adm-swap-a-grid", timeout=20)
        for side, which in (("a", shift), ("b", other)):
            _set_value(dash_duo.driver, f"adm-swap-{side}-grid", GRID)
            _set_value(dash_duo.driver, f"adm-swap-{side}-day", day)
            dash_duo.select_dcc_dropdown(f"#adm-swap-{side}-shift",
                                         "白班" if which == "day" else "夜班")
        _set_value(dash_duo.driver, "adm-reason", "家中有事")
        dash_duo.find_element("#adm-swap").click()
        dash_duo.wait_for_contains_text("#adm-msg", "已换班", timeout=15)
        assert svc.rota.worker_on_duty(GRID) == rows[other]
        # The officer's console, open all along, now asks the other worker first.
        WebDriverWait(officer, 20).until(lambda d: _first_rec(d) == rows[other])
        assert officer.current_url.endswith(f"/dispatch?incident={order.id}")  # no reload
