"""`zhongnao backup` / `zhongnao restore`: the database copied while it runs, and put back.

SQLite: the sqlite3 online backup API (a consistent copy while the servers write, WAL
included). PostgreSQL: pg_dump -Fc to a file, pg_restore --clean back. A restore then
migrates the schema to this version's. docs/operations.md gives the schedule.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from datasources.sql.engine import make_engine, upgrade

DEBIAN_PG = Path("/usr/lib/postgresql")


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"{url}: an in-memory database has nothing to back up")
    return Path(parsed.database)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (pg_dump, pg_restore)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest of Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p.parent.parent.name))

    tools = sorted(DEBIAN_PG.glob(f"*/bin/{name}"), key=version)
    if not tools:
        raise BackupError(f"{name} not found (Debian package postgresql-client)")
    return str(tools[-1])


def backup_database(url: str, target: str | Path | None, folder: Path) -> Path:
    """Write a backup of the database at `url`; returns the file written."""
    src = _sqlite_path(url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(target) if target else folder / f"zhongnao-{stamp}.{'db' if src else 'dump'}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if src is not None:
        if not src.exists():
            raise BackupError(f"no database at {src}")
        part = out.with_name(out.name + ".part")
        with sqlite3.connect(src, timeout=30) as source, sqlite3.connect(part) as copy:
            source.backup(copy)  # page by page; writers wait only for each step
        copy.close()
        source.close()
        part.replace(out)
        return out
    done = subprocess.run([pg_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(out),
                           _libpq_url(url)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return out


def restore_database(url: str, source: str | Path) -> None:
    """Put the backup `source` into the database at `url`, then migrate it. The caller
    makes sure no server runs on it (cli.py: the leader lease)."""
    source = Path(source)
    dst = _sqlite_path(url)
    if dst is not None:
        try:
            with sqlite3.connect(source) as backup:
                if backup.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError(f"{source} is damaged (integrity_check)")
                dst.parent.mkdir(parents=True, exist_ok=True)
                with sqlite3.connect(dst, timeout=30) as live:
                    backup.backup(live)
                live.close()
            backup.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
    else:
        done = subprocess.run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                               "--single-transaction", "-d", _libpq_url(url), str(source)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
