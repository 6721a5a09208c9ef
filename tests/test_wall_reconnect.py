"""A screen that loses its server says so, then reconnects by itself and resyncs."""

from __future__ import annotations

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from datasources.sql.engine import make_engine
from datasources.sql.incidents import Store
from tests.browser import Source, login, serve_process, stop_process

pytestmark = pytest.mark.browser


def test_wall004_screen_shows_reconnecting_then_resyncs_after_a_server_restart(dash_duo,
                                                                               settings):
    server = serve_process(settings)
    try:
        login(dash_duo, settings, role="display", path="/",
              base_url=f"http://127.0.0.1:{settings.port}")
        dash_duo.wait_for_contains_class("#home-status", "ok", timeout=20)
        Source(settings).report(title="断线之前")
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "断线之前")

        stop_process(server)
        dash_duo.wait_for_text_to_equal("#home-status", "⚠ 重连中…".removeprefix("⚠ "),
                                        timeout=15)
        # Another process records an incident while this screen is cut off.
        store = Store(make_engine(settings.db_url))
        store.create_incident(IncidentReport(source="hotline", category="traffic",
                                             title="断线期间", lon=104.45, lat=30.55),
                              GridHit("G3-01", "V01"))
        store.engine.dispose()

        server = serve_process(settings)
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "断线期间",
                                        timeout=30)
        dash_duo.wait_for_text_to_equal("#home-status", "实时", timeout=10)
        Source(settings).report(title="重连之后")
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "重连之后")
    finally:
        stop_process(server)
