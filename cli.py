"""The `zhongnao` command: serve | simulate | run | init-db | load-town | publish | gateway |
evaluate, pupils."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from dashboard.settings import Settings
from datasources.towns.files import load_town

log = logging.getLogger("zhongnao")


def _settings(**overrides: object) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    settings = Settings.from_env(**clean)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _existing_redis(settings: Settings) -> str:
    """REDIS_URL, or the embedded server a running `serve`/`run` started in the data folder."""
    if settings.redis_target:  # REDIS_URL, or the sentinels' primary
        return settings.redis_target
    sock = Path(settings.data_dir) / "redis.sock"
    if sock.exists():
        return f"unix://{sock}"
    raise click.ClickException(
        f"no REDIS_URL and no embedded Redis at {sock}: start `zhongnao serve` first "
        "or use `zhongnao run`")


@click.group()
def main() -> None:
    """中脑 zhongnao: the command-centre screen of a town."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from datasources.sql.engine import make_engine, upgrade

    settings = _settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    click.echo(f"schema up to date: {engine.url.render_as_string(hide_password=True)}")


@main.command("load-town")
@click.option("--dir", "town_dir", type=click.Path(exists=True, file_okay=False),
              help="Town data folder (default ZN_TOWN_DIR, the demo town).")
@click.option("--replace", is_flag=True, help="Replace the town already loaded.")
def load_town_cmd(town_dir: str | None, replace: bool) -> None:
    """Load a town's grids, villages, stations, routes and vehicles into the database."""
    from datasources.sql.engine import make_engine, upgrade
    from datasources.sql.incidents import Store
    from datasources.sql.town_loader import load_town as load_into

    settings = _settings(town_dir=town_dir)
    try:
        town = load_town(settings.town_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = make_engine(settings.db_url)
    upgrade(engine)
    with Store(engine).session() as session:
        counts = load_into(session, town, replace=replace)
    click.echo(f"{town.meta.get('name')}: {counts or 'already loaded (use --replace)'}")


@main.command("import-town")
@click.argument("source", type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Only check: print the findings, change nothing.")
@click.option("--valid-from", "valid_from", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Local date from which redrawn grids are in force (default: now).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the findings.")
def import_town_cmd(source: str, check: bool, valid_from: Any, lang: str) -> None:
    """Import a town's own data (a folder or a .zip): every file validated, the geometry
    checked and each finding printed by feature; exit 1 on an error. Without --check the
    town is applied in one transaction, a redrawn grid becoming a new version."""
    from dashboard.i18n.text import t
    from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
    from dashboard.town_import import describe
    from datasources.sql.audit import Audit
    from datasources.sql.engine import make_engine, upgrade
    from datasources.sql.incidents import Store
    from datasources.sql.town_loader import import_town, preview_import
    from datasources.towns.files import check_folder
    from datasources.towns.sources import unpacked

    settings = _settings()
    with contextlib.ExitStack() as stack:
        folder = Path(source)
        if folder.is_file():
            try:
                folder = stack.enter_context(unpacked(folder.read_bytes()))
            except ValueError as exc:
                raise click.ClickException(t("imp_bad_zip", lang) + f" ({exc})") from exc
        checked = check_folder(folder)
    for f in checked.findings:
        mark = "✗" if f.severity == "error" else "!"
        click.echo(f"{mark} {describe(f, lang)}")
    if checked.errors or checked.town is None:
        click.echo(t("imp_errors", lang).format(n=len(checked.errors)).rstrip("：:"), err=True)
        sys.exit(1)
    town = checked.town
    click.echo(t("imp_ok", lang).format(grids=len(town.grids), villages=len(town.villages),
                                        stations=len(town.stations), routes=len(town.routes)))
    since = as_utc(valid_from.replace(tzinfo=LOCAL_TZ)) if valid_from else utcnow()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    store = Store(engine)
    with store.session() as s:
        changes = preview_import(s, town, since)
    for ch in changes:
        click.echo(f"  {ch.code}: {t('imp_change_' + ch.change, lang)} v{ch.version} "
                   f"{','.join(ch.fields)}".rstrip())
    if check:
        return
    with store.session() as s:  # one transaction: all of it or nothing
        counts = import_town(s, town, since)
    Audit(engine).record("town.import", str(town.meta.get("code", ""))[:80],
                         json.dumps({**counts, "valid_from": since.isoformat()}),
                         actor="cli")
    click.echo(t("imp_applied", lang).format(grids=len(town.grids),
                                             date=since.astimezone(LOCAL_TZ).date()))


@main.command()
@click.option("--host", default=None, help="Bind address (ZN_HOST).")
@click.option("--port", type=int, default=None, help="Port (ZN_PORT); worker i listens on "
              "PORT+i.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes, each on its own port behind nginx (deploy/nginx/).")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the screens (one process: subscriber, intake and web server; with --workers N,
    N such processes sharing one Redis and one database)."""
    settings = _settings(host=host, port=port)
    if workers == 1:
        _serve(settings)
    else:
        _serve_workers(settings, workers)


def _serve_workers(settings: Settings, workers: int) -> None:
    """N worker processes on ports PORT..PORT+N-1 sharing one Redis (REDIS_URL, or one
    embedded server this parent starts) and one database (prepared here once, before any
    worker starts). A worker that dies is started again after a second; SIGTERM stops
    all. Each worker has its own hub; one of them leads (datasources/redis/lease.py)."""
    import os
    import subprocess
    import time

    from datasources.redis.embedded import EmbeddedRedis
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    embedded = None
    if not settings.redis_target:  # neither REDIS_URL nor REDIS_SENTINELS
        embedded = EmbeddedRedis(Path(settings.data_dir)).start().supervise()
        settings = settings.with_(redis_url=embedded.url)
    engine = make_engine(settings.db_url)
    prepare_database(engine, settings.town_dir)
    engine.dispose()
    env = dict(os.environ, REDIS_URL=settings.redis_url, ZN_HOST=settings.host,
               DATABASE_URL=settings.db_url, ZN_DATA_DIR=settings.data_dir)
    here = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")

    def start(i: int) -> subprocess.Popen[bytes]:
        port = settings.port + i
        proc = subprocess.Popen([sys.executable, "-c", "from cli import main; main()",
                                 "serve", "--port", str(port)],
                                env=dict(env, ZN_PORT=str(port)), cwd=here)
        click.echo(f"worker {i} pid {proc.pid} on http://{settings.host}:{port}/", err=True)
        return proc

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    procs = [start(i) for i in range(workers)]
    try:
        while not stop.wait(1.0):
            for i, proc in enumerate(procs):
                if proc.poll() is not None:
                    click.echo(f"worker {i} pid {proc.pid} ended ({proc.returncode}); "
                               "starting it again", err=True)
                    time.sleep(1.0)
                    procs[i] = start(i)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if embedded is not None:
            embedded.stop()
        click.echo("stopped: workers and embedded Redis", err=True)


@main.command()
@click.option("--to", "target", type=click.Path(dir_okay=False), default=None,
              help="File to write (default ZN_DATA_DIR/backups/zhongnao-TIME.db|.dump).")
def backup(target: str | None) -> None:
    """Copy the database while it runs: SQLite's online backup, or pg_dump -Fc for
    PostgreSQL (DATABASE_URL decides). Schedule: docs/operations.md."""
    from datasources.sql.backup import BackupError, backup_database

    settings = _settings()
    try:
        out = backup_database(settings.db_url, target, Path(settings.data_dir) / "backups")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written: {out}")


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite the database although a running "
              "server uses it.")
def restore(source: str, force: bool) -> None:
    """Put a backup back (SQLite file copy, or pg_restore --clean), then migrate it to this
    version's schema. Stop the servers first: without --force a database a running server
    uses is not overwritten."""
    from dashboard.channels import Channels
    from datasources.redis.lease import lease_held
    from datasources.sql.backup import BackupError, restore_database

    settings = _settings()
    redis_url = settings.redis_target or _embedded_url(settings)
    if not force and lease_held(redis_url, Channels(settings.redis_prefix).leader):
        raise click.ClickException(
            "a zhongnao server is running on this database (it holds the leader lease in "
            "Redis): stop the servers first, or give --force")
    try:
        restore_database(settings.db_url, source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {source} into the database; schema up to date")


def _embedded_url(settings: Settings) -> str:
    """The embedded Redis a running server started in the data folder, if any."""
    sock = Path(settings.data_dir) / "redis.sock"
    return f"unix://{sock}" if sock.exists() else ""


def uvicorn_config(server: object, settings: Settings, **changes: object):  # type: ignore[no-untyped-def]
    """uvicorn's configuration for the app. uvicorn's own X-Forwarded-For handling is off:
    by default it believes any header from 127.0.0.1, so a rotated header on a local
    connection defeated the per-address limits and wrote made-up addresses into the audit
    log. The app believes forwarding headers from ZN_TRUSTED_PROXIES only (app.py).

    Websocket permessage-deflate is off: it compresses each frame once per screen (every
    connection has its own compressor), the largest single cost of a server feeding 200
    walls (27 % of its samples, bench/fanout.py --profile); walls are on the hall's
    network, where bytes cost less than CPU."""
    import uvicorn

    options: dict[str, object] = dict(
        host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
        ws="websockets-sansio", ws_per_message_deflate=False, timeout_graceful_shutdown=3,
        proxy_headers=False,
        forwarded_allow_ips="")
    options.update(changes)
    return uvicorn.Config(server, **options)  # type: ignore[arg-type]


def _serve(settings: Settings) -> None:
    import uvicorn

    from app import create_app

    app = create_app(settings, own_process=True)
    click.echo(f"中脑 on http://{settings.host}:{settings.port}/  (Ctrl-C stops)")
    uvicorn.Server(uvicorn_config(app.server, settings)).run()


def _simulator(settings: Settings, redis_url: str):  # type: ignore[no-untyped-def]
    from datasources.flows.bus_tracker import holidays
    from datasources.redis.publisher import Publisher
    from datasources.sim.simulator import Simulator

    bus = Publisher.from_url(redis_url, settings.redis_prefix)
    # The tracker's school calendar: the demo's buses run exactly the trips it expects.
    sim = Simulator(load_town(settings.town_dir), bus, seed=settings.sim_seed,
                    rate=settings.sim_rate, vehicles=settings.sim_vehicles,
                    holidays=holidays(settings))
    sim.taps = _tap_sim(settings, sim, bus)
    sim.checks = _check_sim(settings, sim)
    return sim


def _tap_sim(settings: Settings, sim, bus):  # type: ignore[no-untyped-def]
    """The demo children's taps on the simulated buses, when the database holds pupils."""
    from sqlalchemy import inspect

    from dashboard.buses.fixtime import FixWindow
    from datasources.flows.boarding import BoardingDesk
    from datasources.flows.bus_tracker import holidays
    from datasources.sim.taps import TapSim
    from datasources.sql.boarding import BoardingStore
    from datasources.sql.engine import make_engine
    from datasources.sql.pupils import PupilStore

    engine = make_engine(settings.db_url)
    if not inspect(engine).has_table("boarding_events"):
        log.info("simulator: no pupils' tables yet; no taps")
        return None
    desk = BoardingDesk(BoardingStore(engine), PupilStore(engine), bus,
                        FixWindow.from_settings(settings))
    return TapSim(desk, sim.scheduled, holidays(settings), settings.sim_seed)


def _check_sim(settings: Settings, sim):  # type: ignore[no-untyped-def]
    """The demo escorts' daily checks, when the database holds the vehicle record."""
    from sqlalchemy import inspect

    from datasources.flows.bus_tracker import holidays
    from datasources.sim.checks import CheckSim
    from datasources.sql.engine import make_engine
    from datasources.sql.fleet import Fleet
    from datasources.sql.incidents import Store

    engine = make_engine(settings.db_url)
    if not inspect(engine).has_table("vehicle_checks"):
        log.info("simulator: no vehicle record tables yet; no daily checks")
        return None
    return CheckSim(Fleet(Store(engine)), sim.scheduled, holidays(settings))


@main.command()
@click.option("--vehicles", type=int, default=None, help="Vehicles to drive (ZN_SIM_VEHICLES).")
@click.option("--rate", type=float, default=None, help="Speed-up of arrivals (ZN_SIM_RATE).")
@click.option("--seed", type=int, default=None, help="Random seed (ZN_SIM_SEED).")
def simulate(vehicles: int | None, rate: float | None, seed: int | None) -> None:
    """Publish simulated bus GPS, incidents and stock movements into Redis."""
    settings = _settings(sim_vehicles=vehicles, sim_rate=rate, sim_seed=seed)
    sim = _simulator(settings, _existing_redis(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sim.run(stop)
    except KeyboardInterrupt:
        stop.set()


@main.command()
@click.option("--port", type=int, default=None, help="Port (ZN_PORT).")
@click.option("--vehicles", type=int, default=None, help="Vehicles to drive (ZN_SIM_VEHICLES).")
@click.option("--rate", type=float, default=None, help="Speed-up of arrivals (ZN_SIM_RATE).")
@click.option("--no-sim", is_flag=True, help="No simulator: only real feeds (ZN_SIM=off).")
def run(port: int | None, vehicles: int | None, rate: float | None, no_sim: bool) -> None:
    """The demo town, live: embedded Redis, database, simulator and server in one command."""
    from datasources.redis.embedded import EmbeddedRedis

    settings = _settings(port=port, sim_vehicles=vehicles, sim_rate=rate,
                         sim=False if no_sim else None)
    embedded = None
    if not settings.redis_target:  # neither REDIS_URL nor REDIS_SENTINELS
        embedded = EmbeddedRedis(Path(settings.data_dir)).start().supervise()
        settings = settings.with_(redis_url=embedded.url)
    _print_demo_accounts(settings)
    _demo_history(settings, only_fresh=True)
    stop = threading.Event()
    worker = _start_simulator(settings, stop)
    _start_older_history(settings, stop)
    try:
        _serve(settings)
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=5)
        if embedded is not None:
            embedded.stop()
        click.echo("stopped: server, simulator and embedded Redis")


def _start_older_history(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The demo town's older history (back to a year) played in the background while the
    server runs, so the first start waits only for the last month (docs/analysis.md)."""
    from datasources.sim.history import OLDER_DAY_GAP_S, OLDER_START_DELAY_S, older_for_settings

    def play() -> None:
        if stop.wait(OLDER_START_DELAY_S):  # the server's start-up writes first
            return
        try:
            result = older_for_settings(settings, stop=stop, gap_s=OLDER_DAY_GAP_S)
        except Exception:  # the demo's extra history must never take the server down
            logging.getLogger(__name__).exception("older demo history failed")
            return
        if result is not None and result.days:
            click.echo("older " + result.line())

    worker = threading.Thread(target=play, name="older-history", daemon=True)
    worker.start()
    return worker


def _start_simulator(settings: Settings, stop: threading.Event) -> threading.Thread | None:
    """The simulator's thread, unless ZN_SIM=off / --no-sim (then nothing is simulated)."""
    if not settings.sim:
        click.echo("simulator off (ZN_SIM=off or --no-sim): only real feeds move buses")
        return None
    sim = _simulator(settings, settings.redis_target)
    worker = threading.Thread(target=sim.run, args=(stop,), name="simulator", daemon=True)
    worker.start()
    return worker


def _print_demo_accounts(settings: Settings) -> None:
    """Seed and show the demo town's accounts (only for a town marked demo)."""
    from datasources.gate.account_cli import (
        DEMO_CITIZEN_KEY,
        DEMO_KIOSK,
        DEMO_PARENT_LINK,
        seed_demo,
    )
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    prepare_database(make_engine(settings.db_url), settings.town_dir)
    users = seed_demo(settings)
    if not users:
        return
    base = f"http://{settings.host}:{settings.port}"
    click.echo("=" * 64)
    click.echo("演示账号 / demo accounts (demo town only; `zhongnao user add` for real ones):")
    for name, role, password in users:
        click.echo(f"  {role:<12} {name:<10} password: {password}")
    click.echo(f"  wall kiosk:  {base}/?kiosk={DEMO_KIOSK}")
    click.echo(f"  a parent:    {base}/parent?link={DEMO_PARENT_LINK}")
    click.echo(f"  citizens' API key (X-Api-Key, Open311 api_key): {DEMO_CITIZEN_KEY}")
    click.echo("=" * 64)


def _demo_history(settings: Settings, days: int = 30, only_fresh: bool = False) -> None:
    """A month of past work orders for a demo town (before serving, so screens show it)."""
    from datasources.sim.history import for_settings

    result = for_settings(settings, days, only_fresh=only_fresh)
    if result is not None:
        click.echo(result.line())
    elif not only_fresh:
        raise click.ClickException("the loaded town is not marked demo: no made-up history")


@main.command("load-history")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True,
              help="Days of past work orders to add.")
def load_history(days: int) -> None:
    """Add past work orders to the demo town (once; a second run adds nothing): the last
    month as `run` plays it before serving, then any older days (`run` plays those in the
    background, back to a year)."""
    from datasources.sim.history import BEFORE_SERVING_DAYS, older_for_settings

    settings = _settings()
    _demo_history(settings, min(days, BEFORE_SERVING_DAYS))
    if days > BEFORE_SERVING_DAYS:
        older = older_for_settings(settings, days)
        if older is not None:
            click.echo("older " + older.line())


@main.command()
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First local day of the period (default: 30 days before --to).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last local day of the period, included (default: up to now).")
@click.option("--quarter", default=None, help="A quarter instead of --from/--to: 2026Q4.")
@click.option("--kind", type=click.Choice(["grid", "village", "worker", "unit"]),
              default="village",
              show_default=True, help="The units ranked.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="JSON weights overriding the default per kind "
              "(docs/evaluation.md).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the table (default ZN_LANG).")
def evaluate(start: Any, end: Any, quarter: str | None, kind: str, weights_file: str | None,
             lang: str | None) -> None:
    """Print the evaluation (综合评价) of the units of a kind over a period."""
    import json

    from dashboard.incidents.evaluation import EvaluationError, merge_weights, period
    from dashboard.screens.evaluation import text_table
    from dashboard.timeutil import utcnow
    from datasources.sql.engine import has_schema, make_engine
    from datasources.sql.evaluation import EvaluationStore
    from datasources.sql.incidents import Store
    from datasources.towns.files import load_table

    settings = _settings()
    try:
        weights = None
        if weights_file:
            with Path(weights_file).open(encoding="utf-8") as fh:
                weights = merge_weights(json.load(fh))
        lo, hi = period(start.date() if start else None, end.date() if end else None,
                        quarter, utcnow())
    except (EvaluationError, json.JSONDecodeError) as exc:
        raise click.UsageError(str(exc)) from exc
    engine = make_engine(settings.db_url)
    try:
        if not has_schema(engine):
            raise click.ClickException(f"database {settings.db_url} has no schema: run "
                                       "`zhongnao init-db`")
        store = Store(engine, deadlines=load_table(settings.deadlines_file or None))
        ev, names = EvaluationStore(store).evaluate(kind, lo, hi, weights=weights)
    finally:
        engine.dispose()
    click.echo(text_table(ev, names, lang or settings.lang))


@main.command()
@click.argument("channel", type=click.Choice(["ingest", "vehicles"]))
@click.argument("payload", required=False)
def publish(channel: str, payload: str | None) -> None:
    """Publish one raw JSON message (argument or stdin) on a channel, as a source would."""
    from dashboard.channels import Channels
    from datasources.redis.publisher import Publisher

    settings = _settings()
    bus = Publisher.from_url(_existing_redis(settings), settings.redis_prefix)
    data = payload if payload is not None else sys.stdin.read()
    name = getattr(Channels(settings.redis_prefix), channel)
    click.echo(f"{bus.publish_raw(name, data)} receiver(s)")


@main.command("import-gtfs")
@click.argument("feed", type=click.Path(exists=True))
@click.option("--dir", "town_dir", type=click.Path(exists=True, file_okay=False), required=True,
              help="Town folder whose routes.json is replaced.")
def import_gtfs_cmd(feed: str, town_dir: str) -> None:
    """Turn a GTFS static feed (zip or folder) into the town's routes.json."""
    from datasources.towns.gtfs_static import GtfsError, import_gtfs

    _settings()
    try:
        n = import_gtfs(feed, town_dir)
    except (GtfsError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{feed}: {exc!r}") from exc
    click.echo(f"{n} route(s) written to {town_dir}/routes.json; "
               f"now `zhongnao load-town --dir {town_dir} --replace`")


@main.group()
def gateway() -> None:
    """Doors for vehicle positions from real terminals and feeds."""


@gateway.command("jt808")
@click.option("--host", default=None, help="Bind address (ZN_JT808_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="TCP port (ZN_JT808_PORT).")
@click.option("--register", "register_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="CSV plate,terminal declared over vehicles.csv "
                                 "(ZN_JT808_REGISTER).")
def gateway_jt808(host: str | None, port: int | None, register_file: str | None) -> None:
    """JT/T 808 TCP gateway: terminals of the town's register sign in and report positions."""
    import asyncio

    from dashboard.buses.fixtime import FixWindow
    from datasources.feeds.jt808.gateway import serve_forever
    from datasources.redis.publisher import Publisher
    from datasources.towns.files import load_terminals

    settings = _settings(jt808_host=host, jt808_port=port, jt808_register=register_file)
    try:
        register = load_terminals(load_town(settings.town_dir), settings.jt808_register)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not len(register):
        click.echo(f"warning: no terminal in the register of {settings.town_dir} (no "
                   "`terminal` column in vehicles.csv, no ZN_JT808_REGISTER): every "
                   "registration will be refused (result 4)", err=True)
    bus = Publisher.from_url(_existing_redis(settings), settings.redis_prefix,
                             FixWindow.from_settings(settings))
    click.echo(f"JT/T 808 gateway on {settings.jt808_host}:{settings.jt808_port}, "
               f"{len(register)} terminal(s) in the register  (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(bus, settings.jt808_host, settings.jt808_port, register))


@gateway.command("jt809")
@click.option("--host", default=None, help="Bind address (ZN_JT809_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="TCP port (ZN_JT809_PORT).")
@click.option("--operators", "operators_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="JSON file of the operators (ZN_JT809_OPERATORS).")
def gateway_jt809(host: str | None, port: int | None, operators_file: str | None) -> None:
    """JT/T 809 gateway: bus operators' platforms log in and send positions and alarms."""
    import asyncio

    from dashboard.buses.fixtime import FixWindow
    from datasources.feeds.jt809.gateway import serve_forever
    from datasources.redis.publisher import Publisher
    from datasources.towns.files import load_operators

    settings = _settings(jt809_host=host, jt809_port=port, jt809_operators=operators_file)
    try:
        operators = load_operators(settings.jt809_operators)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not len(operators):
        click.echo("warning: no operator declared (ZN_JT809_OPERATORS, --operators): every "
                   "login will be refused (result 2)", err=True)
    bus = Publisher.from_url(_existing_redis(settings), settings.redis_prefix,
                             FixWindow.from_settings(settings))
    plates = sum(len(op.plates) for op in operators.by_code.values())
    click.echo(f"JT/T 809 gateway on {settings.jt809_host}:{settings.jt809_port}, "
               f"{len(operators)} operator(s), {plates} bus(es)  (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(bus, settings.jt809_host, settings.jt809_port, operators))


@gateway.command("jt808-reset")
@click.argument("phones", nargs=-1, required=True)
def gateway_jt808_reset(phones: tuple[str, ...]) -> None:
    """Let JT/T 808 terminals (their SIM numbers) register again: a terminal box reset or
    replaced lost its auth code, and a registered terminal is refused a new one (result 3)."""
    from datasources.feeds.jt808.gateway import forget_terminals
    from datasources.redis.publisher import Publisher

    settings = _settings()
    bus = Publisher.from_url(_existing_redis(settings), settings.redis_prefix)
    n = forget_terminals(bus, list(phones))
    click.echo(f"{n} of {len(phones)} terminal(s) forgotten: they may register again")


@gateway.command("gtfs-rt")
@click.option("--url", required=True, help="URL of a GTFS-Realtime VehiclePositions feed.")
@click.option("--every", type=float, default=None, help="Seconds between polls.")
def gateway_gtfs_rt(url: str, every: float | None) -> None:
    """Poll a GTFS-Realtime VehiclePositions feed and publish its fixes."""
    from dashboard.buses.fixtime import FixWindow
    from datasources.feeds.gtfs_rt import poll_forever
    from datasources.redis.publisher import Publisher

    settings = _settings()
    bus = Publisher.from_url(_existing_redis(settings), settings.redis_prefix,
                             FixWindow.from_settings(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        poll_forever(bus, url, every or settings.gtfs_rt_poll_s, stop)


@main.group()
def notify() -> None:
    """What guardians and parent groups are told (ZN_NOTIFY_FILE): the log, mutes, a test."""


def _outbox():  # type: ignore[no-untyped-def]
    from datasources.sql.engine import make_engine, upgrade
    from datasources.sql.notify import Outbox

    engine = make_engine(_settings().db_url)
    upgrade(engine)
    return Outbox(engine)


@notify.command("log")
@click.option("--recipient", default=None, help="guardian:ID or route:ROUTE")
@click.option("--limit", type=int, default=50, show_default=True)
def notify_log(recipient: str | None, limit: int) -> None:
    """The newest messages and their outcomes."""
    import re

    for e in reversed(_outbox().log(recipient, limit)):
        body = str(e["body"])
        if e["channel"] == "cap":  # a warning's whole XML: its identifier says which
            found = re.search(r"<identifier>([^<]*)</identifier>", body)
            body = f"CAP {found.group(1) if found else '?'}"
        click.echo(f"{e['id']:>6} {e['created_at']:%Y-%m-%d %H:%M:%S} {e['channel']:<5} "
                   f"{e['recipient']:<14} {e['status']:<7} tries={e['tries']} "
                   f"{body}" + (f"  [{e['last_error']}]" if e["last_error"] else ""))


@notify.command("mute")
@click.argument("recipient")
def notify_mute(recipient: str) -> None:
    """No more messages to RECIPIENT (guardian:ID); what is queued is not sent."""
    _outbox().mute(recipient)
    click.echo(f"{recipient} muted")


@notify.command("unmute")
@click.argument("recipient")
def notify_unmute(recipient: str) -> None:
    """Messages to RECIPIENT again."""
    _outbox().unmute(recipient)
    click.echo(f"{recipient} unmuted")


@notify.command("test")
@click.option("--phone", default=None, help="Send a test SMS to this phone.")
@click.option("--route", default=None, help="Send a test message to this route's group.")
def notify_test(phone: str | None, route: str | None) -> None:
    """Send one message now through the configured channel and say what the provider
    answered (checks ZN_NOTIFY_FILE before the first school day)."""
    from dashboard.i18n.text import t
    from datasources.outbound.senders import SendError, SmsGateway, WeComRobot
    from datasources.towns.files import load_notify

    settings = _settings()
    try:
        config = load_notify(settings.notify_file or None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    text = t("notify_prefix", settings.lang) + "test / 测试"
    try:
        if phone:
            if config.sms is None:
                raise click.ClickException("no `sms` in ZN_NOTIFY_FILE")
            SmsGateway(config.sms).send(phone, text)
        elif route:
            url = config.wecom.get(route)
            if not url:
                raise click.ClickException(f"no WeCom robot for route {route} in ZN_NOTIFY_FILE")
            WeComRobot().send(url, text)
        else:
            raise click.UsageError("give --phone or --route")
    except SendError as exc:
        raise click.ClickException(f"not delivered: {exc}") from exc
    click.echo("delivered")


@main.group()
def pupils() -> None:
    """Schools' registers of pupils (一校一册): import a workbook, write the template."""


@pupils.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh",
              help="Language of the error report.")
def pupils_import(file: str, lang: str) -> None:
    """Import a school's .xlsx (one sheet per school, docs/pupils.md): every row checked,
    all written or, on any error, nothing."""
    from dashboard.buses.register import describe
    from datasources.doors.pupils_io import import_workbook
    from datasources.gate.account_cli import CLI
    from datasources.sql.engine import make_engine, upgrade

    settings = _settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    done = import_workbook(engine, file, CLI, Path(file).name)
    if done.errors:
        for err in done.errors[:200]:
            click.echo(describe(err, lang), err=True)
        more = len(done.errors) - 200
        raise click.ClickException(
            (f"{len(done.errors)} 处错误，未导入任何数据" if lang == "zh" else
             f"{len(done.errors)} errors; nothing was imported") +
            (f" (+{more})" if more > 0 else ""))
    click.echo(", ".join(f"{k} {v}" for k, v in done.counts.items()))


@pupils.command("template")
@click.argument("out", type=click.Path(dir_okay=False))
def pupils_template(out: str) -> None:
    """Write the register template (.xlsx) with the documented columns."""
    from datasources.doors.pupils_io import template_bytes

    Path(out).write_bytes(template_bytes())
    click.echo(f"wrote {out}")


@pupils.command("parent-link")
@click.argument("pupil")
@click.option("--seq", type=click.IntRange(1, 9), default=1, show_default=True,
              help="Which guardian of the pupil (their place in the register).")
@click.option("--revoke", is_flag=True, help="Revoke every link of that guardian instead.")
@click.option("--base", default="http://HOST:PORT", show_default=True,
              help="The address parents reach the server at.")
def pupils_parent_link(pupil: str, seq: int, revoke: bool, base: str) -> None:
    """A guardian's link to /parent (their own children, matched by phone): printed once,
    stored hashed; --revoke ends it at the next request."""
    from datasources.gate.account_cli import parent_link
    from datasources.sql.accounts import AccountError

    try:
        done = parent_link(_settings(), pupil, seq, revoke)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if revoke:
        click.echo(f"revoked {done}")
    else:
        click.echo(f"{base.rstrip('/')}/parent?link={done}")


def _add_account_commands() -> None:
    from datasources.gate.account_cli import key, user

    main.add_command(user)
    main.add_command(key)


_add_account_commands()



@main.group()
def suggest() -> None:
    """智能派单: the model that suggests a report's category and unit (issue 18)."""


def _suggester():  # type: ignore[no-untyped-def]
    from datasources.flows.suggestions import Suggester
    from datasources.sql.engine import make_engine, upgrade
    from datasources.sql.incidents import Store

    settings = _settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    return Suggester(Store(engine), settings.data_dir)


@suggest.command("train")
@click.option("--with", "labelled", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Also learn from a labelled CSV "
              "(tests/data/reports_labelled.csv's columns).")
def suggest_train(labelled: str | None) -> None:
    """Train a new version on the town's handled work orders and use it (every server
    process loads it within ten minutes; the servers also retrain nightly)."""
    from datasources.flows.suggestions import labelled_examples

    suggester = _suggester()
    try:
        model = suggester.train(labelled_examples(labelled) if labelled else ())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        suggester.close()
    click.echo(f"suggestion model {model.version}: {model.examples} examples; "
               f"versions kept: {', '.join(suggester.versions())}")


@suggest.command("try")
@click.argument("text")
@click.option("--village", default=None, help="The village code where it was reported.")
def suggest_try(text: str, village: str | None) -> None:
    """Print what the model in use suggests for TEXT."""
    suggester = _suggester()
    try:
        if suggester.load() is None:
            raise click.ClickException("no model yet: run `zhongnao suggest train`")
        found = suggester.suggest(text, village=village)
    finally:
        suggester.close()
    click.echo(json.dumps(found.as_dict() if found else None, ensure_ascii=False))


if __name__ == "__main__":
    main()
