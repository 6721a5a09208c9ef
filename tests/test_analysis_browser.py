"""分析研判 (/analysis) in a real headless Chromium, as a leader on a tablet: the quarter's
figures against the last, a hot spot, a bad range refused in the page's language, the Word
file behind the link, no sideways scrolling."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from dashboard.screens.analysis import quarter_of
from dashboard.timeutil import LOCAL_TZ, utcnow
from tests.browser import cookie_header, read_live, set_viewport, start_app

pytestmark = pytest.mark.browser


def _file_reports(app) -> None:
    """Three reports of one category within 100 m this week (a hot spot), one last quarter."""
    store = app.zn_services.store
    now = utcnow()
    for k in range(3):
        rep = IncidentReport(source="citizen", category="city_management", title=f"占道 {k}",
                             lon=104.45 + 0.0003 * k, lat=30.55)
        store.create_incident(rep, GridHit("G3-03", "V01"), now=now - timedelta(hours=k + 1))
    rep = IncidentReport(source="hotline", category="water", title="停水", lon=104.46, lat=30.56)
    store.create_incident(rep, GridHit("G3-03", "V01"), now=now - timedelta(days=95))


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)])
def test_an001_a_leader_reads_the_quarter_against_the_last(dash_duo, settings, size):
    set_viewport(dash_duo.driver, size)
    app = start_app(dash_duo, settings, path="/analysis", role="leader", wait_status=None)
    _file_reports(app)
    dash_duo.find_element("#an-show").click()
    dash_duo.wait_for_text_to_equal("#an-card-received", "3", timeout=20)
    # Read afresh: the card is drawn again as the page's figures arrive.
    assert read_live(dash_duo.driver, "#an-card-received", lambda card: (
        card.get_attribute("data-kpi"), card.get_attribute("data-value"))) == ("received", "3")
    q = quarter_of(utcnow().astimezone(LOCAL_TZ).date())
    dash_duo.wait_for_contains_text(f"#{'an-label'}", q, timeout=10)
    # The category chart and its table: this quarter's 3 beside the other periods.
    dash_duo.wait_for_element("#an-cat-graph .main-svg", timeout=15)
    assert "城市管理" in dash_duo.find_element("#an-cat-table").text
    hot = dash_duo.find_element("#an-hot-table")
    assert "城市管理" in hot.text and "3" in hot.text
    dash_duo.wait_for_element("#an-eval-table", timeout=10)
    widths = dash_duo.driver.execute_script(
        "var d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    assert dash_duo.find_element("#an-show").size["height"] >= 44
    # The Word file behind the link, with the leader's session.
    href = dash_duo.find_element("#an-docx").get_attribute("href")
    req = urllib.request.Request(href, headers={"Cookie": cookie_header(dash_duo.driver)})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200 and resp.read()[:2] == b"PK"  # a .docx is a zip


def test_an002_a_reversed_range_is_refused_in_english(dash_duo, settings):
    set_viewport(dash_duo.driver, (1024, 768))
    start_app(dash_duo, settings, path="/analysis?lang=en&from=2026-03-01&to=2026-02-01",
              role="leader", wait_status=None)
    dash_duo.find_element("#an-show").click()
    dash_duo.wait_for_contains_text("#an-error", "before from", timeout=20)
    assert "Analysis" in dash_duo.find_element("h1").text
