"""`zhongnao backup` / `zhongnao restore`: back up a running town, change it, restore the
backup, and find the town as it was (row counts, a work order's whole history). On SQLite
always; on PostgreSQL (pg_dump / pg_restore) when DATABASE_URL points at one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from cli import main
from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from datasources.sql import models as m


def _env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.db_url, "REDIS_URL": settings.redis_url,
            "ZN_REDIS_PREFIX": settings.redis_prefix, "ZN_DATA_DIR": settings.data_dir,
            "ZN_LOG_LEVEL": "WARNING"}


def _counts(services) -> dict[str, int]:
    engine = services.store.engine
    with engine.connect() as conn:
        return {t: conn.scalar(select(func.count()).select_from(m.Base.metadata.tables[t]))
                for t in sorted(inspect(engine).get_table_names())
                if t in m.Base.metadata.tables}


def _work_order(services, title: str) -> int:
    report = IncidentReport(source="hotline", category="fire", title=title,
                            lon=104.45, lat=30.55, priority="urgent")
    inc = services.store.create_incident(report, GridHit("G3-01", "V01")).incident
    services.intake.act(inc.id, "accept", "值班员甲")
    services.intake.act(inc.id, "dispatch", "值班员甲", assignee="近站救援队")
    return inc.id


def test_a_restored_backup_is_the_town_as_it_was(services, settings, tmp_path: Path) -> None:
    kept = _work_order(services, "仓库冒烟")
    before_counts, before_history = _counts(services), services.store.history(kept)
    runner = CliRunner()
    target = tmp_path / "nightly.bak"
    done = runner.invoke(main, ["backup", "--to", str(target)], env=_env(settings))
    assert done.exit_code == 0, done.output
    assert target.stat().st_size > 0 and str(target) in done.output

    # After the backup: the work order moves on, another one arrives.
    services.intake.act(kept, "start", "近站救援队")
    _work_order(services, "backup 之后")
    assert services.store.history(kept) != before_history

    # A server holds the leader lease: restore refuses without --force.
    assert services.hub is not None and services.hub.lead_now()
    refused = runner.invoke(main, ["restore", str(target)], env=_env(settings))
    assert refused.exit_code != 0 and "running" in refused.output
    assert services.store.history(kept) != before_history  # nothing was touched
    services.hub.lease.release()  # the servers are stopped

    services.store.engine.dispose()  # the stopped server's connections
    done = runner.invoke(main, ["restore", str(target)], env=_env(settings))
    assert done.exit_code == 0, done.output
    assert _counts(services) == before_counts
    assert services.store.history(kept) == before_history
    assert services.store.incident(kept)["state"] == "dispatched"


def test_restore_refuses_a_file_that_is_no_backup(services, settings, tmp_path: Path) -> None:
    if not settings.db_url.startswith("sqlite"):
        pytest.skip("the SQLite check; pg_restore refuses a stranger file by itself")
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    done = CliRunner().invoke(main, ["restore", str(junk)], env=_env(settings))
    assert done.exit_code != 0 and "not a SQLite backup" in done.output
    assert services.store.kpis() is not None  # the database still answers


@pytest.mark.postgres
def test_postgres_backup_is_a_pg_dump_archive(services, settings, tmp_path: Path) -> None:
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    target = tmp_path / "town.dump"
    done = CliRunner().invoke(main, ["backup", "--to", str(target)], env=_env(settings))
    assert done.exit_code == 0, done.output
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
