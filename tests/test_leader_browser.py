"""The leaders' tablet view in a real headless Chromium: layout at tablet widths, the brief."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.browser import Source, cookie_header, set_viewport, start_app

pytestmark = pytest.mark.browser


def _open_leader(dash_duo, settings, size: tuple[int, int], query: str = "") -> None:
    set_viewport(dash_duo.driver, size)
    start_app(dash_duo, settings, path=f"/leader{query}", role="leader", wait_status=None)


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024), (1366, 1024)])
def test_lead001_no_horizontal_scrolling_at_tablet_widths(dash_duo, settings, size):
    _open_leader(dash_duo, settings, size)
    card = dash_duo.wait_for_element("#ld-today-received", timeout=15)
    assert (card.get_attribute("data-kpi"), card.get_attribute("data-window")) == (
        "received", "today") and card.get_attribute("data-value").isdigit()
    dash_duo.wait_for_element("#ld-trend-graph .main-svg", timeout=15)
    dash_duo.wait_for_element("#ld-ready .ld-st-row", timeout=15)
    widths = dash_duo.driver.execute_script(
        "var d = document.documentElement, p = document.querySelector('.ld-page');"
        "var widest = 0; document.querySelectorAll('.ld-page *').forEach(function (e) {"
        "  var r = e.getBoundingClientRect(); if (r.right > widest) { widest = r.right; } });"
        "return [d.scrollWidth, d.clientWidth, p.scrollWidth, widest, window.innerWidth];")
    doc_scroll, doc_client, page_scroll, widest, inner = widths
    assert doc_scroll <= doc_client, f"page scrolls sideways: {widths}"
    assert page_scroll <= inner and widest <= inner + 1, f"something sticks out: {widths}"
    # Touch targets: the brief button is at least 44 px high.
    assert dash_duo.find_element("#ld-brief-make").size["height"] >= 44


def test_lead002_daily_brief_is_made_kept_and_downloadable(dash_duo, settings):
    _open_leader(dash_duo, settings, (1024, 768), "?lang=en")
    dash_duo.wait_for_text_to_equal("#ld-today-received", "0", timeout=15)
    # The tablet follows the record live (refreshing at most every 10 s).
    Source(settings).report(title="占道经营", priority="urgent")
    dash_duo.wait_for_text_to_equal("#ld-today-received", "1", timeout=20)
    dash_duo.find_element("#ld-brief-make").click()
    dash_duo.wait_for_contains_text("#ld-brief-msg", "Brief of", timeout=10)
    link = dash_duo.wait_for_element(".ld-brief-row a", timeout=10)
    href = link.get_attribute("href")
    # Downloads go with the leader's session, as the browser's would.
    cookie = cookie_header(dash_duo.driver)

    def fetch(url: str):  # type: ignore[no-untyped-def]
        return urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}))

    with fetch(href) as resp:
        page = resp.read().decode("utf-8")
    assert "Daily duty brief" in page and "占道经营" in page
    with fetch(href + "&download=1") as resp:
        assert "attachment" in resp.headers["Content-Disposition"]
    with pytest.raises(urllib.error.HTTPError):  # nobody signed in: refused
        urllib.request.urlopen(href)
    with fetch(f"{dash_duo.server_url}/api/brief") as resp:
        assert b'"received":1' in resp.read().replace(b" ", b"")
