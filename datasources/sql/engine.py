"""Engine, sessions and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, Insert, Result, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so several writers queue."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # Rows inserted many at once go through the driver's executemany (psycopg: one statement
    # converted once, the rows pipelined), not SQLAlchemy's multi-row VALUES, whose text
    # changes with the row count and, past 50 parameters, psycopg converts anew each time.
    # The intake's batches name their ids first (no RETURNING needed): 480–590 → 580–730
    # reports/s in one process on PostgreSQL (bench/intake.py, alternated, 7 Dec).
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         use_insertmanyvalues=False, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at this package's migrations and `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def has_schema(engine: Engine) -> bool:
    """True when the migrated schema is present."""
    return inspect(engine).has_table("incidents")


def insert_new_only(s: Session, table: Table) -> Insert:
    """INSERT that skips a row whose key is already there (ON CONFLICT DO NOTHING), on the
    session's database: SQLite and PostgreSQL both say it so, in their own dialects."""
    if s.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def rows_changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (0 means a conditional update lost its race)."""
    return int(cast("CursorResult[Any]", result).rowcount)
