"""A screen that loses its server says so, then reconnects by itself and resyncs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from datasources.sql.engine import make_engine
from datasources.sql.incidents import Store
from tests.browser import Source, login

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent


def _serve(settings) -> subprocess.Popen:
    env = {**os.environ, "ZN_DATA_DIR": settings.data_dir, "ZN_PORT": str(settings.port),
           "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "ZN_REDIS_PREFIX": settings.redis_prefix, "ZN_LOG_LEVEL": "WARNING",
           "ZN_DEDUP_METERS": str(settings.dedup_meters)}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{settings.port}/api/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not come up")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_wall004_screen_shows_reconnecting_then_resyncs_after_a_server_restart(dash_duo,
                                                                               settings):
    server = _serve(settings)
    try:
        login(dash_duo, settings, role="display", path="/",
              base_url=f"http://127.0.0.1:{settings.port}")
        dash_duo.wait_for_contains_class("#home-status", "ok", timeout=20)
        Source(settings).report(title="断线之前")
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "断线之前")

        _stop(server)
        dash_duo.wait_for_text_to_equal("#home-status", "⚠ 重连中…".removeprefix("⚠ "),
                                        timeout=15)
        # Another process records an incident while this screen is cut off.
        store = Store(make_engine(settings.db_url))
        store.create_incident(IncidentReport(source="hotline", category="traffic",
                                             title="断线期间", lon=104.45, lat=30.55),
                              GridHit("G3-01", "V01"))
        store.engine.dispose()

        server = _serve(settings)
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "断线期间",
                                        timeout=30)
        dash_duo.wait_for_text_to_equal("#home-status", "实时", timeout=10)
        Source(settings).report(title="重连之后")
        dash_duo.wait_for_text_to_equal("#home-feed .feed-item .feed-title", "重连之后")
    finally:
        _stop(server)
