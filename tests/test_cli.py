"""The zhongnao command on a real database and Redis."""

from __future__ import annotations

import json

import redis
from click.testing import CliRunner

from cli import main
from dashboard.channels import Channels


def _env(settings) -> dict[str, str]:
    return {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url, "ZN_REDIS_PREFIX": settings.redis_prefix,
            "ZN_LOG_LEVEL": "WARNING"}


def test_init_db_then_load_town_is_idempotent(settings, empty_db_url):
    settings = settings.with_(database_url=empty_db_url)
    runner = CliRunner()
    env = _env(settings)
    assert runner.invoke(main, ["init-db"], env=env).exit_code == 0
    first = runner.invoke(main, ["load-town"], env=env)
    assert first.exit_code == 0 and "'grids': 68" in first.output
    again = runner.invoke(main, ["load-town"], env=env)
    assert again.exit_code == 0 and "already loaded" in again.output
    replaced = runner.invoke(main, ["load-town", "--replace"], env=env)
    assert replaced.exit_code == 0 and "'stations': 5" in replaced.output


def test_load_town_names_the_broken_folder(settings, tmp_path):
    bad = tmp_path / "town"
    bad.mkdir()
    (bad / "town.json").write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["load-town", "--dir", str(bad)], env=_env(settings))
    assert result.exit_code != 0 and str(bad) in result.output


def test_publish_puts_the_raw_message_on_the_channel(settings):
    r = redis.Redis.from_url(settings.redis_url)
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(Channels(settings.redis_prefix).ingest)
    pubsub.get_message(timeout=1)
    body = json.dumps({"type": "incident.report", "title": "测试"}, ensure_ascii=False)
    result = CliRunner().invoke(main, ["publish", "ingest", body], env=_env(settings))
    assert result.exit_code == 0 and "1 receiver" in result.output
    message = pubsub.get_message(timeout=2)
    assert message is not None and json.loads(message["data"])["title"] == "测试"


def test_simulate_without_redis_says_how_to_start_one(settings):
    env = {**_env(settings), "REDIS_URL": ""}
    result = CliRunner().invoke(main, ["simulate"], env=env)
    assert result.exit_code != 0 and "zhongnao serve" in result.output


def test_the_jt808_gateway_binds_this_machine_and_names_a_broken_register(settings, tmp_path):
    helptext = CliRunner().invoke(main, ["gateway", "jt808", "--help"]).output
    assert "127.0.0.1" in helptext and "--register" in helptext
    bad = tmp_path / "terminals.csv"
    bad.write_text("plate,terminal\n川F·D72692,13800138000\n川F·D54327,13800138000\n",
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["gateway", "jt808", "--register", str(bad)],
                                env=_env(settings))
    assert result.exit_code != 0 and "terminals.csv" in result.output


def test_jt808_reset_lets_a_terminal_register_again(settings):
    r = redis.Redis.from_url(settings.redis_url)
    key = Channels(settings.redis_prefix).jt808_terminals
    r.hset(key, "13800138000", json.dumps({"plate": "川F·D72692", "salt": "s", "hash": "h"}))
    result = CliRunner().invoke(main, ["gateway", "jt808-reset", "013800138000", "139"],
                                env=_env(settings))
    assert result.exit_code == 0 and "1 of 2" in result.output
    assert not r.hexists(key, "13800138000")


def test_a_served_process_freezes_its_startup_heap_and_an_app_among_many_does_not(settings):
    """`zhongnao serve`'s app (own_process) puts its startup heap out of the cyclic
    collector's reach once open: a full collection no longer walks the town, the grid index
    and the text matcher's dictionary (a 100 ms+ pause that every screen and report waited
    out). An app of a process that starts many (the tests) leaves the collector alone."""
    import gc

    from fastapi.testclient import TestClient

    from app import create_app

    gc.unfreeze()
    try:
        with TestClient(create_app(settings).server):
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(settings, own_process=True).server):
            assert gc.get_freeze_count() > 100_000  # the startup's objects, frozen
    finally:
        gc.unfreeze()
