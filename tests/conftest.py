"""Fixtures: a real Redis (embedded, or REDIS_URL), a real database (SQLite, or DATABASE_URL),
a PostgreSQL server of the test's own to stop and start (`private_pg`), the wired services,
the app in-process (`client`), the app served on a port (`live`) and the JT/T 808 gateway
(`jt808`). One fixture per thing: a test file does not grow its own copy. Plain helpers
(the poller `wait_until`, signed-in browsers, sources) are in tests/browser.py."""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import CodeType
from typing import Any

import dash._utils as _dash_utils
import pytest
from sqlalchemy.engine import make_url

from dashboard.settings import Settings
from datasources.redis.embedded import EmbeddedRedis
from datasources.services import Services
from tests.auth_helpers import cheap_password_hashing
from tests.browser import Live, app_client, free_port, running_gateway, serve
from tests.private_postgres import (
    PrivatePostgres,
    cluster_owner,
    initdb,
    new_database,
    newest_bin_dir,
)

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")


class _StackWithoutSource:
    """dash._utils names a no-input, no-output callback after its call site with
    `inspect.stack()`, which reads a source line of every frame and, for each, looks its
    module up among all of sys.modules: 6 such callbacks cost ~0.2 s of each app the tests
    build (~700 a run). The call site needs only the file and line: the frames' own
    (`co_filename`, `f_lineno`, what inspect reports for a .py file), everything else
    inspect's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)

    @staticmethod
    def stack(context: int = 0) -> list[inspect.FrameInfo]:
        # From the caller: dash takes the first frame outside its package as the call site,
        # and this one would name every such callback alike.
        frames = []
        frame = sys._getframe(1)
        while frame is not None:
            frames.append(inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno,
                                            frame.f_code.co_name, None, None))
            frame = frame.f_back  # type: ignore[assignment]
        return frames


_dash_utils.inspect = _StackWithoutSource()  # type: ignore[assignment]


# Each app the tests build imports every page module afresh (Dash's page loader executes the
# files of pages/), and each opened database loads every migration script (alembic): with
# no bytecode written (PYTHONDONTWRITEBYTECODE) that is ~40 compiles of the same source per
# app. A source compiles to the same code object every time: compiled once per worker,
# keyed by its path and its bytes (an edited file compiles anew).
_COMPILED: dict[tuple[str, bytes], CodeType] = {}
_source_to_code = SourceFileLoader.source_to_code


def _source_to_code_once(self: Any, data: Any, path: Any, *, _optimize: int = -1) -> CodeType:
    if not isinstance(data, bytes) or not isinstance(path, str) or _optimize != -1:
        return _source_to_code(self, data, path, _optimize=_optimize)
    key = (path, data)
    code = _COMPILED.get(key)
    if code is None:
        code = _COMPILED[key] = _source_to_code(self, data, path)
    return code


SourceFileLoader.source_to_code = _source_to_code_once  # type: ignore[method-assign]
cheap_password_hashing()


def pytest_configure(config: pytest.Config) -> None:
    """Browser tests run headless on servers and CI."""
    if hasattr(config.option, "headless"):
        config.option.headless = True


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set (CI against the machine's Redis), else an embedded redis-server."""
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_town_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated and holding the demo town, made once per run; each test starts
    from a copy of it (what `prepare_database` would build, without the migrations and the
    town's loading per test): a SQLite file, or a PostgreSQL template database."""
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    base = os.environ.get("DATABASE_URL")
    if not base:
        path = tmp_path_factory.mktemp("town-template") / "demo-town.db"
        engine = make_engine(f"sqlite:///{path}")
        prepare_database(engine, Settings().town_dir)
        _fill_rota(engine)
        engine.dispose()
        yield str(path)
        return
    with new_database(base, "zn_template_") as url:
        engine = make_engine(url)
        prepare_database(engine, Settings().town_dir)
        _fill_rota(engine)
        engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template without connections
        yield str(make_url(url).database)


def _fill_rota(engine: Any) -> None:
    """The coming days' duty rota, as every start fills it (RotaStore.ensure): once in the
    template rather than 1,400 rows in each test's setup."""
    from datasources.sql.incidents import Store
    from datasources.sql.rota import RotaStore

    store = Store(engine)
    RotaStore(store, store.grid_cells()).ensure(Settings().town_dir)


@contextmanager
def _pg_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database on DATABASE_URL's server (a copy of `template`, or empty),
    dropped afterwards; yields its URL."""
    with new_database(os.environ["DATABASE_URL"], "zn_test_", template) as url:
        yield url


@contextmanager
def _fresh_database(folder: Path, demo_town_db: str) -> Iterator[str]:
    """A fresh database with the demo town loaded: a SQLite copy of the template in
    `folder`, or a new PostgreSQL database made from the template database."""
    if not os.environ.get("DATABASE_URL"):
        shutil.copyfile(demo_town_db, folder / "test.db")
        yield f"sqlite:///{folder / 'test.db'}"
        return
    with _pg_database(template=demo_town_db) as url:
        yield url


@pytest.fixture
def db_url(tmp_path: Path, demo_town_db: str) -> Iterator[str]:
    """A fresh database with the demo town loaded, the test's own."""
    with _fresh_database(tmp_path, demo_town_db) as url:
        yield url


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no schema, no town): for what builds one from nothing."""
    if not os.environ.get("DATABASE_URL"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_binaries() -> Iterator[tuple[Path, str | None, Path]]:
    """Debian's newest PostgreSQL binaries, the account a cluster runs as (None: ours; the
    postgres account when we are root, since initdb refuses root) and one initdb'd data
    folder that each private_pg copies; skipped, with the reason, where they are missing."""
    bin_dir = newest_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries in /usr/lib/postgresql/*/bin "
                    "(Debian package postgresql; tools/ensure_postgres.sh installs it)")
    try:
        owner = cluster_owner()
    except LookupError as exc:
        pytest.skip(str(exc))
    template = initdb(bin_dir, owner)
    try:
        yield bin_dir, owner, template
    finally:
        shutil.rmtree(template.parent, ignore_errors=True)


@pytest.fixture
def private_pg(pg_binaries: tuple[Path, str | None, Path]) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test alone (tests/private_postgres.py) on a free port:
    `.url`, and `.stop()`, `.start()`, `.kill()` to take it away and bring it back.
    Whatever DATABASE_URL says: the machine's shared server is never stopped. Stopped and
    removed after the test."""
    cluster = PrivatePostgres(*pg_binaries)
    try:
        yield cluster
    finally:
        cluster.close()


def _settings(folder: Path, db_url: str, redis_url: str) -> Settings:
    # Merging near-duplicates is off here so tests can send several reports from one
    # point; tests/test_dedup.py turns it on.
    return Settings.from_env(environ={}, data_dir=str(folder), database_url=db_url,
                             redis_url=redis_url, redis_prefix=f"t{uuid.uuid4().hex[:8]}",
                             port=free_port(), dedup_meters=0)


# A module marked `pytestmark = pytest.mark.shared_app` holds tests that need only the demo
# town and do not mind what the module's earlier tests added (refusals, reads, records of
# their own, counted from where they were): its
# `settings`, `client` and `live` are made once per module (and xdist worker) instead of an
# app, a hub and a database per test, ~0.5 s of the 2-core box each. The client's cookies
# are cleared before each test, so each starts signed out.
def _shared(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("shared_app") is not None


@pytest.fixture(scope="module")
def _module_settings(tmp_path_factory: pytest.TempPathFactory, demo_town_db: str,
                     redis_url: str) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("module")
    with _fresh_database(folder, demo_town_db) as url:
        yield _settings(folder, url, redis_url)


@pytest.fixture(scope="module")
def _module_client(_module_settings: Settings) -> Iterator[Any]:
    with app_client(_module_settings) as c:
        yield c


@pytest.fixture(scope="module")
def _module_live(_module_settings: Settings) -> Iterator[Live]:
    with serve(_module_settings) as running:
        yield running


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Settings:
    """Settings of one test: its own data folder, database and Redis key prefix (its
    module's, in a module marked shared_app)."""
    if _shared(request):
        return request.getfixturevalue("_module_settings")
    return _settings(tmp_path, request.getfixturevalue("db_url"), redis_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Opened services (migrated database with the demo town, Redis connected)."""
    svc = Services(settings).open()
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Any]:
    """The app in-process with the test's settings; a server error is a 500, as a real
    client would see it."""
    if _shared(request):
        shared = request.getfixturevalue("_module_client")
        shared.cookies.clear()
        yield shared
        return
    with app_client(settings) as c:
        yield c


@pytest.fixture
def live(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Live]:
    """zhongnao served by uvicorn on the test's port (near-duplicate merging off)."""
    if _shared(request):
        yield request.getfixturevalue("_module_live")
        return
    with serve(settings) as running:
        yield running


@pytest.fixture
def jt808(settings: Settings) -> Iterator[tuple[Any, int]]:
    """The JT/T 808 gateway on a free port, publishing into the test's Redis:
    (gateway, port)."""
    from datasources.redis.publisher import Publisher

    with running_gateway(Publisher.from_url(settings.redis_url, settings.redis_prefix)) as gw:
        yield gw


# ------------------------------------------------------------------ one browser per worker
# Starting and quitting Chromium costs 1.5–3 s on this 2-core box; the browser tests start
# ~250 of them. `dash_duo` is dash[testing]'s fixture with the driver kept for the next test
# of the same xdist worker, reset in between to what a new browser would be: one tab on
# about:blank, no cookies, the last test's origin storage cleared, no device metrics,
# geolocation or permission overrides, the first size, the console log drained. A driver that
# does not answer the reset is quit and the next test gets a new one.
_POOL: list[Any] = []


def _reset_browser(driver: Any, url: str, size: dict[str, int]) -> None:
    from urllib.parse import urlsplit

    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    if url:
        parts = urlsplit(url)
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {
            "origin": f"{parts.scheme}://{parts.netloc}", "storageTypes": "all"})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
    driver.execute_cdp_cmd("Browser.resetPermissions", {})
    driver.set_window_size(size["width"], size["height"])
    driver.get_log("browser")


def _pooled_composite() -> type:
    from dash.testing.composite import DashComposite

    class PooledComposite(DashComposite):  # type: ignore[misc]
        def get_webdriver(self) -> Any:
            while _POOL:
                driver, size = _POOL.pop()
                self._first_size = size
                return driver
            driver = super().get_webdriver()
            self._first_size = driver.get_window_size()
            return driver

        def __exit__(self, *exc: Any) -> None:
            driver = self.driver
            try:
                _reset_browser(driver, self._url, self._first_size)
            except Exception:  # a crashed or hung driver: a new one for the next test
                with contextlib.suppress(Exception):
                    driver.quit()
                return
            _POOL.append((driver, self._first_size))

    return PooledComposite


@pytest.fixture
def dash_duo(request: pytest.FixtureRequest, dash_thread_server: Any, tmpdir: Any) -> Any:
    """dash[testing]'s `dash_duo` on this worker's pooled browser (see above)."""
    opt = request.config.getoption
    with _pooled_composite()(
        server=dash_thread_server, browser=opt("webdriver"), remote=opt("remote"),
        remote_url=opt("remote_url"), headless=opt("headless"),
        options=request.config.hook.pytest_setup_options(),
        download_path=tmpdir.mkdir("download").strpath,
        percy_assets_root=opt("percy_assets"), percy_finalize=opt("nopercyfinalize"),
        pause=opt("pause"),
    ) as dc:
        yield dc


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _POOL:
        driver, _ = _POOL.pop()
        with contextlib.suppress(Exception):
            driver.quit()
