"""Helpers for tests that run the real app: a served zhongnao (in a thread or a process),
signed-in browsers, a source publishing into Redis, a JT/T 808 terminal, and the one poller.

Fixtures live in conftest.py; these are the plain functions and classes they and the tests
share. No test module imports another test module: what two tests share belongs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import redis

from app import create_app
from dashboard.channels import Channels
from dashboard.settings import Settings

PASSWORD = "browser-test-pw"
DEFAULT_NAMES = {"admin": "管理员甲", "officer": "值班员王", "leader": "领导刘",
                 "grid_worker": "李网格", "display": "大屏一", "handler": "住建局李",
                 "village": "建林村干部"}
ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


# ------------------------------------------------------------------ the one poller
# How long a change pushed to another screen may take in a browser test. Its speed is the
# benches' to report (bench/dispatch_latency.py: a dispatch click to the wall, p50 43 ms and
# p95 113 ms on a quiet box); the suite shares two cores with a second worker's server and
# Chromium, and full runs saw 1.0-1.2 s. A screen that polled, or waited for a reload, takes
# several seconds and still fails this.
PUSHED_S = 2.5


def wait_until(predicate: Callable[[], T], timeout: float = 20.0, what: str = "condition",
               interval: float = 0.05) -> T:
    """Poll `predicate` until it returns something truthy and return that; fail naming
    `what` after `timeout` seconds. Exceptions are not swallowed (a poll that raises is a
    broken test, not a slow product), but for a stale element: a live screen redrew what
    the poll had just found (as WebDriverWait ignores it), so the poll is made again."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


async def wait_until_async(predicate: Callable[[], Any], timeout: float = 5.0,
                           what: str = "condition") -> None:
    """`wait_until` inside an event loop: yields to the loop between polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def read_live(driver: Any, selector: str, read: Callable[[Any], T], timeout: float = 10.0,
              what: str = "") -> T:
    """`read(element)` of the first element matching `selector` on a live screen, which may
    redraw it between finding and reading: found afresh after a stale reference (wait_until
    polls again), until the read is truthy."""

    def attempt() -> T | None:
        found = driver.find_elements("css selector", selector)
        return read(found[0]) if found else None

    return wait_until(attempt, timeout=timeout, what=what or selector)  # type: ignore[return-value]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ the app
@contextlib.contextmanager
def app_client(settings: Settings, raise_server_exceptions: bool = False) -> Iterator[Any]:
    """The real app in-process behind a TestClient (its lifespan opens Redis and the
    database). `client.app` is the Dash app, `client.zn` its opened services."""
    from fastapi.testclient import TestClient

    app = create_app(settings)
    with TestClient(app.server, raise_server_exceptions=raise_server_exceptions) as c:
        c.app = app
        c.zn = app.zn_services
        seed_source_keys(c.zn.accounts)
        yield c


# The ingest keys of a test town's sources, as each source would hold its own ("demo-key" is
# the citizens' key, as the demo town seeds it); every key reports only as its source.
KEYS = {"citizen": "demo-key", "hotline": "test-hotline-key", "bus": "test-bus-key",
        "video": "test-video-key", "grid_worker": "test-grid-key", "feed": "test-feed-key",
        "terminal": "test-terminal-key"}  # issue 13: a card/face terminal on a bus


@contextlib.contextmanager
def database_fault(engine: Any, fails: Callable[[Any, str], bool],
                   text: str = "unable to open database file") -> Iterator[None]:
    """While inside, a statement for which `fails(connection, sql)` is true gets the error
    the engine's own driver raises when its database is gone (SQLAlchemy wraps it as it
    would the real one); the product's code runs unchanged around it."""
    from sqlalchemy import event

    def fault(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if fails(conn, statement):
            raise engine.dialect.loaded_dbapi.OperationalError(text)

    event.listen(engine, "before_cursor_execute", fault)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fault)


def step_backdated(store: Any, incident_id: int, action: str, who: str, **kw: Any) -> Any:
    """`store.act` on a backdated work order while an app runs: its overdue sweep (系统 督办,
    at start and after events) may step the order between two of the test's steps, and the
    test's step then loses the version race (Conflict); it is taken again, as an officer
    whose screen refreshed would take it."""
    from dashboard.incidents.errors import Conflict

    for _ in range(2):
        with contextlib.suppress(Conflict):
            return store.act(incident_id, action, who, **kw)
    return store.act(incident_id, action, who, **kw)  # a third conflict is the test's failure


def seed_source_keys(accounts: Any) -> None:
    """Issue the KEYS of the sources (once), as `zhongnao key add --source S` would."""
    have = {k["name"] for k in accounts.list_keys("ingest")}
    for source, token in KEYS.items():
        if f"test {source}" not in have and accounts.key_principal(token, "ingest") is None:
            accounts.add_key("ingest", f"test {source}", source, token=token)


@dataclass
class Live:
    """A running zhongnao: its base URL and the services inside the server process."""

    base: str
    services: Any
    app: Any = None  # the Dash app (its callback map, for posting a callback as a browser)

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None,
             source: str | None = None) -> tuple[int, dict[str, str], Any]:
        """One HTTP request as an ingest source (its key, KEYS: by default the bus
        platform's for positions, a feed reader's for the bus feed, else the hotline's);
        returns status, headers and the decoded JSON body."""
        if source is None:
            reads_feed = method == "GET" and ("/vehicles/" in path or "/buses/" in path)
            source = "feed" if reads_feed else "bus" if "/vehicles/" in path else "hotline"
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"X-Api-Key": KEYS[source], **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), json.loads(err.read() or b"null")

    def post_json(self, path: str, data: Any, **headers: str) -> tuple[int, dict, Any]:
        """POST a JSON body (header names with '_' for '-': Idempotency_Key=...) with the key
        of the source it names (a report of the citizens with the citizens' key), else the
        hotline's; positions go with the bus platform's key."""
        raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
        source = data.get("source") if isinstance(data, dict) else None
        source = None if "/vehicles/" in path or source not in KEYS else source
        return self.call("POST", path, raw, {"Content-Type": "application/json",
                                              **{k.replace("_", "-"): v
                                                 for k, v in headers.items()}}, source=source)

    def incident_count(self) -> int:
        """Rows in the incidents table."""
        from sqlalchemy import func, select

        from datasources.sql import models as m

        with self.services.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(m.Incident)) or 0)

    def rejected(self) -> dict[str, int]:
        """Rejection counters in Redis."""
        return dict(self.services.bus.rejected_counts())


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[Live]:
    """zhongnao served by uvicorn in a background thread; stopped cleanly afterwards."""
    import uvicorn

    from cli import uvicorn_config

    app = create_app(settings)
    # The product's own uvicorn options (forwarding headers believed from named proxies only).
    server = uvicorn.Server(uvicorn_config(app.server, settings, host="127.0.0.1",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    running = Live(f"http://127.0.0.1:{settings.port}", app.zn_services, app)

    def healthy() -> bool:
        assert thread.is_alive(), "server thread died"
        try:
            return running.call("GET", "/api/health")[0] == 200
        except OSError:
            return False

    wait_until(healthy, 30, "the server to become healthy", interval=0.1)
    seed_source_keys(running.services.accounts)
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "server did not stop"


def serve_process(settings: Settings) -> subprocess.Popen:
    """`zhongnao serve` in its own process with these settings; returns once it is healthy."""
    env = {**os.environ, "ZN_DATA_DIR": settings.data_dir, "ZN_PORT": str(settings.port),
           "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "ZN_REDIS_PREFIX": settings.redis_prefix, "ZN_LOG_LEVEL": "WARNING",
           "ZN_DEDUP_METERS": str(settings.dedup_meters)}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve"], cwd=ROOT, env=env)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{settings.port}/api/health",
                                        timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_until(healthy, 30, "the server process to come up", interval=0.2)
    except AssertionError:
        proc.kill()
        raise
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine

    engine = make_engine(settings.db_url)
    try:
        seed_source_keys(Accounts(engine))
    finally:
        engine.dispose()
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM a served process and wait for it to end."""
    proc.terminate()
    proc.wait(timeout=20)


def post_report(base: str, i: int, key: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Report n° `i` over HTTP as the demo source with an Idempotency-Key; (status, body,
    headers), status 0 when the connection is refused."""
    body = json.dumps({"source": "hotline", "category": "traffic", "title": f"故障演练-{i:03d}",
                       "lon": 104.45, "lat": 30.55}, ensure_ascii=False).encode()
    req = urllib.request.Request(f"{base}/api/v1/incidents", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "X-Api-Key": KEYS["hotline"],
                                          "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), dict(err.headers)
    except OSError:
        return 0, {}, {}


# ------------------------------------------------------------------ signed-in browsers
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
            # A grid worker's account is the person of that name in the town's register
            # (identity by id: the phone lists what is dispatched to that person's id).
            person = None
            if role == "grid_worker":
                from sqlalchemy import select

                from datasources.sql import models as m
                with engine.connect() as conn:
                    person = conn.scalar(select(m.GridWorker.id)
                                         .where(m.GridWorker.name == name).limit(1))
            from tests.auth_helpers import TEST_UNITS  # a unit role's account names its unit

            accounts.add_user(name, role, PASSWORD, person_id=person,
                              unit_id=TEST_UNITS.get(role))
    finally:
        engine.dispose()
    return name


def new_browser(size: tuple[int, int] = (1920, 1080)) -> Any:
    """A fresh headless Chromium whose layout viewport is exactly `size` (quit it after)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    from tools.screenshot import CHROME_FLAGS

    opts = Options()
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    bound_waits(driver)
    set_viewport(driver, size)
    return driver


def bound_waits(driver: Any) -> None:
    """A page that never finishes loading fails its test in a minute, not in WebDriver's
    default five (which pytest-timeout would report with no hint of where it hung)."""
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)


def set_viewport(driver: Any, size: tuple[int, int]) -> None:
    """The layout viewport exactly `size`, whatever the window chrome (a tablet, a wall)."""
    driver.set_window_size(*size)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False})


def sign_in(driver: Any, settings: Settings, base_url: str, role: str = "officer",
            name: str | None = None, path: str = "/") -> str:
    """Sign `driver` in through the real /login page as a user of `role`, landing on `path`.

    The account is created first (password PASSWORD); names default per role
    (DEFAULT_NAMES). Returns the account name.
    """
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    name = ensure_user(settings, role, name)
    driver.get(f"{base_url}/login?next={quote(path, safe='')}")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "login-name"))
    driver.find_element(By.ID, "login-name").send_keys(name)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, "react-entry-point"))
    return name


def login(dash_duo: Any, settings: Settings, role: str = "officer", name: str | None = None,
          path: str = "/", base_url: str | None = None) -> str:
    """Sign dash_duo's browser in as `role` and open `path` (see `sign_in`).

        start_app(dash_duo, settings, path="/dispatch", role="officer")   # most tests
        login(dash_duo, settings, role="grid_worker", name="赵网格", path="/field")
    """
    return sign_in(dash_duo.driver, settings, base_url or dash_duo.server_url, role, name,
                   path)


@contextlib.contextmanager
def signed_in_browser(settings: Settings, base_url: str, role: str = "officer",
                      path: str = "/", name: str | None = None,
                      size: tuple[int, int] = (1920, 1080)) -> Iterator[Any]:
    """Another browser beside dash_duo's, signed in as `role` on `path`; quit afterwards.
    The display role (no name) opens the wall with a kiosk token, as a wall PC does."""
    driver = new_browser(size)
    try:
        if role == "display" and name is None:
            driver.get(kiosk_url(settings, base_url))  # a kiosk opens the wall
        else:
            sign_in(driver, settings, base_url, role, name, path)
        yield driver
    finally:
        driver.quit()


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
    # start_timeout: Dash's runner gives a server 3 s to answer, then starts a second one on
    # the same port over the first (and later kills threads by id). It answers in 0.3-0.9 s
    # with two cores busy; a stalled machine gets one server, late, not two.
    dash_duo.start_server(app, navigate=False, port=settings.port, start_timeout=30)
    dash_duo._url = dash_duo.server.url  # what the server_url setter keeps, without the wait
    seed_source_keys(app.zn_services.accounts)
    bound_waits(dash_duo.driver)
    login(dash_duo, settings, role=role, name=name, path=path)
    if wait_status:
        dash_duo.wait_for_contains_class(wait_status, "ok", timeout=20)
    return app


def cookie_header(driver: Any) -> str:
    """The browser's cookies as a Cookie header, to fetch what its user may (a brief)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())


# ------------------------------------------------------------------ sources
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


TERMINAL_PHONE = "13800138000"  # its terminal's SIM in the demo register (vehicles.csv)
# The auth codes the terminals were given, by (gateway port, phone): like a real box, a
# terminal that reconnects authenticates with its code (a registered one is refused a new
# code). running_gateway forgets its port's codes when it stops.
_CODES: dict[tuple[int, str], str] = {}
TERMINAL_PLATE = "川F·D72692"  # a real bus of the demo town, route R01


def demo_terminals() -> Any:
    """The demo town's JT/T 808 register (terminal phone -> plate, from vehicles.csv)."""
    from dashboard.settings import DEMO_TOWN_DIR
    from datasources.towns.files import load_terminals, load_town

    return load_terminals(load_town(DEMO_TOWN_DIR))


def terminal_phone(plate: str) -> str:
    """The SIM number the demo register gives the terminal of `plate`."""
    phone = demo_terminals().phone_of(plate)
    assert phone is not None, f"{plate} has no terminal in the demo register"
    return str(phone)


class Terminal:
    """A JT/T 808 terminal over a blocking TCP socket, as a bus's box would speak."""

    def __init__(self, port: int, phone: str = TERMINAL_PHONE, version: int | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.port, self.phone, self.version, self.serial = port, phone, version, 0
        from datasources.feeds.jt808 import codec

        self.c = codec
        self.splitter = codec.Splitter()
        self.pending: list[bytes] = []

    def send(self, msg_id: int, body: bytes = b"") -> None:
        """One frame with the next serial number."""
        self.serial += 1
        self.sock.sendall(self.c.encode_frame(msg_id, self.phone, self.serial, body,
                                              self.version))

    def recv(self) -> Any:
        """The next whole frame from the platform."""
        while not self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed by the gateway")
            self.pending += self.splitter.feed(chunk)
        return self.c.decode_frame(self.pending.pop(0))

    @classmethod
    def of(cls, port: int, plate: str, version: int | None = None) -> Terminal:
        """The terminal the demo register binds to `plate` (its SIM number as phone)."""
        return cls(port, terminal_phone(plate), version)

    def register(self, plate: str = TERMINAL_PLATE) -> tuple[int, str]:
        """Send 0x0100 with the plate; the platform's (result, auth code)."""
        c = self.c
        self.send(c.REGISTER, c.encode_register(
            c.Register(51, 600, "ZNDEV", "ZN-T1", "T" + self.phone[-6:], 2, plate),
            self.version))
        reply = self.recv()
        assert reply.header.msg_id == c.REGISTER_REPLY
        _, result, code = c.parse_register_reply(reply.body)
        if result == c.REG_OK:
            _CODES[(self.port, self.phone)] = str(code)
        return int(result), str(code)

    def auth(self, code: str) -> int:
        """Send 0x0102 with the code; the platform's result."""
        c = self.c
        self.send(c.AUTH, c.encode_auth(code, self.version, "860000000000001", "1.0"))
        return int(c.parse_general_reply(self.recv().body)[2])

    def login(self, plate: str = TERMINAL_PLATE) -> None:
        """Authenticate with the code this terminal holds, else register with the plate and
        authenticate with the code the platform gave."""
        held = _CODES.get((self.port, self.phone))
        if held is not None and self.auth(held) == self.c.OK:
            return
        result, code = self.register(plate)
        assert result == self.c.REG_OK, f"registration of {plate} from {self.phone}: {result}"
        assert self.auth(code) == self.c.OK

    def report(self, at: datetime, lon: float, lat: float, kmh: float, alarm: int = 0) -> int:
        """One location report (alarm bit 0 is SOS); returns the platform's result code."""
        c = self.c
        loc = c.Location(alarm, 2, lat, lon, 500, kmh, 90, at, {0x01: b"\x00\x00\x00\x10"})
        self.send(c.LOCATION, c.encode_location(loc))
        return int(c.parse_general_reply(self.recv().body)[2])

    def close(self) -> None:
        """Hang up."""
        self.sock.close()


@contextlib.contextmanager
def running_gateway(publisher: Any, register: Any = None) -> Iterator[tuple[Any, int]]:
    """The JT/T 808 gateway on a free port, on its own event-loop thread, publishing to
    real Redis through `publisher`, letting in the terminals of `register` (default: the
    demo town's); yields (gateway, port)."""
    from datasources.feeds.jt808.gateway import Gateway

    loop = asyncio.new_event_loop()
    gw = Gateway(publisher, demo_terminals() if register is None else register, flush_s=0.05)
    port = loop.run_until_complete(gw.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield gw, port
    finally:
        for key in [k for k in _CODES if k[0] == port]:
            del _CODES[key]
        asyncio.run_coroutine_threadsafe(gw.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
