"""Helpers for browser tests: start the real app for dash_duo and publish like a source."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis

from app import create_app
from dashboard.channels import Channels
from dashboard.settings import Settings

PASSWORD = "browser-test-pw"
DEFAULT_NAMES = {"admin": "管理员甲", "officer": "值班员王", "leader": "领导刘",
                 "grid_worker": "李网格", "display": "大屏一"}


def ensure_user(settings: Settings, role: str = "officer", name: str | None = None) -> str:
    """Create the account `name` with `role` in the app's database (once); returns the name."""
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine, upgrade

    name = name or DEFAULT_NAMES[role]
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        accounts = Accounts(engine)
        if accounts.user(name) is None:
            accounts.add_user(name, role, PASSWORD)
    finally:
        engine.dispose()
    return name


def login(dash_duo: Any, settings: Settings, role: str = "officer", name: str | None = None,
          path: str = "/", base_url: str | None = None) -> str:
    """Sign in through the real /login page as a user of `role`, then open `path`.

    The account is created in the app's database first (password PASSWORD). Works for any
    page: the login form redirects to `path` afterwards. Names default per role
    (DEFAULT_NAMES; the officer is 值班员王, the grid worker 李网格). For a wall kiosk use
    `kiosk_url(settings)` instead. Use it in every browser test since issue 7: pages without
    a session redirect to /login.

        start_app(dash_duo, settings, path="/dispatch", role="officer")   # most tests
        login(dash_duo, settings, role="grid_worker", name="赵网格", path="/field")
    """
    from urllib.parse import quote

    from selenium.webdriver.common.by import By

    name = ensure_user(settings, role, name)
    base = base_url or dash_duo.server_url
    dash_duo.driver.get(f"{base}/login?next={quote(path, safe='')}")
    dash_duo.wait_for_element("#login-name", timeout=10)
    dash_duo.driver.find_element(By.ID, "login-name").send_keys(name)
    dash_duo.driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    dash_duo.driver.find_element(By.ID, "login-submit").click()
    dash_duo.wait_for_element("#react-entry-point", timeout=15)
    return name


def kiosk_url(settings: Settings, base_url: str) -> str:
    """A fresh kiosk token's wall URL (display role, read-only)."""
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine, upgrade

    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        token = Accounts(engine).add_key("kiosk", f"test wall {time.time()}")
    finally:
        engine.dispose()
    return f"{base_url}/?kiosk={token}"


def start_app(dash_duo: Any, settings: Settings, path: str = "/", role: str = "officer",
              name: str | None = None, wait_status: str | None = "#home-status") -> Any:
    """Start zhongnao on settings.port, sign in as `role` and open `path`; wait until the
    screen is live (its `wait_status` element turns ok; None skips the wait)."""
    app = create_app(settings)
    # Not navigate=True: Dash's wait for its entry point would meet the login page.
    dash_duo.start_server(app, navigate=False, port=settings.port)
    dash_duo._url = dash_duo.server.url  # what the server_url setter keeps, without the wait
    login(dash_duo, settings, role=role, name=name, path=path)
    if wait_status:
        dash_duo.wait_for_contains_class(wait_status, "ok", timeout=20)
    return app


def wait_until(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Source:
    """Publishes raw JSON into the app's Redis channels, as a real source would."""

    def __init__(self, settings: Settings):
        self.r = redis.Redis.from_url(settings.redis_url)
        self.ch = Channels(settings.redis_prefix)

    def report(self, **fields: Any) -> None:
        """Publish an incident report on the ingest channel."""
        body = {"type": "incident.report", "source": "grid_worker", "category": "city_management",
                "priority": "normal", "lon": 104.45, "lat": 30.55, **fields}
        self.raw(self.ch.ingest, json.dumps(body, ensure_ascii=False))

    def raw(self, channel: str, payload: str | bytes) -> None:
        """Publish bytes as they are."""
        self.r.publish(channel, payload)

    def position(self, plate: str, lon: float, lat: float, speed: float = 30.0,
                 heading: float = 90.0) -> None:
        """Publish one GPS fix on the vehicles channel."""
        body = {"type": "vehicle.positions", "v": 1, "sent_at": time.time(), "positions": [
            {"plate": plate, "lon": lon, "lat": lat, "speed_kmh": speed, "heading": heading,
             "at": datetime.now(UTC).isoformat()}]}
        self.raw(self.ch.vehicles, json.dumps(body))
