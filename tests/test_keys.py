"""Ingest keys per source: created by the CLI, stored hashed, revocable; rate limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import update

from cli import main
from datasources.sql import models as m
from tests.browser import KEYS, app_client

REPORT = {"source": "hotline", "category": "traffic", "title": "红绿灯故障", "lon": 104.45,
          "lat": 30.55}


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with app_client(settings.with_(ingest_rate=5)) as c:
        yield c


def env(settings) -> dict[str, str]:
    return {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
            "ZN_LOG_LEVEL": "WARNING"}


def post(client: TestClient, key: str | None, **extra: str):
    headers = {"content-type": "application/json", **extra}
    if key:
        headers["X-Api-Key"] = key
    return client.post("/api/v1/incidents", content=json.dumps(REPORT, ensure_ascii=False),
                       headers=headers)


def test_a_key_made_by_the_cli_opens_the_door_until_it_is_revoked(client, settings):
    runner = CliRunner()
    made = runner.invoke(main, ["key", "add", "12345 hotline", "--source", "hotline"],
                         env=env(settings))
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[0]
    assert post(client, None).status_code == 401
    assert post(client, "wrong-key").status_code == 401
    assert post(client, key).status_code == 201
    with client.zn.store.session() as s:
        assert key not in {k.key_hash for k in s.query(m.ApiKey)}
    listed = runner.invoke(main, ["key", "list"], env=env(settings)).output
    assert "12345 hotline" in listed and key not in listed
    revoked = runner.invoke(main, ["key", "revoke", "12345 hotline"], env=env(settings))
    assert revoked.exit_code == 0, revoked.output
    # The CLI is another process: the server sees the revocation at the next request.
    refused = post(client, key)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    actions = [r["action"] for r in client.zn.audit.search(action="key")]
    assert actions == ["key.revoke", "key.add"]


def test_open311_api_keys_are_ingest_keys_and_revocable(settings):
    form = {"service_code": "traffic", "lat": "30.55", "long": "104.45",
            "description": "路灯不亮"}
    with app_client(settings.with_(open311_keys="county-app-key")) as client:
        ok = client.post("/open311/v2/requests.json",
                         data={**form, "api_key": "county-app-key"})
        assert ok.status_code == 200 and ok.json()[0]["service_request_id"], ok.text
        client.zn.accounts.revoke_key("ZN_OPEN311_KEYS coun…")
        gone = client.post("/open311/v2/requests.json",
                           data={**form, "api_key": "county-app-key"})
        assert gone.status_code == 403


def test_no_well_known_key_opens_a_real_towns_doors(settings):
    """ZN_OPEN311_KEYS defaulted to demo-key: every town, real ones included, took a key
    that is printed in the README. Only a town marked demo gets it now."""
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine

    with app_client(settings) as client:
        client.zn.accounts.revoke_key("test citizen")
        form = {"service_code": "traffic", "lat": "30.55", "long": "104.45",
                "description": "路灯不亮", "api_key": "demo-key"}
        assert client.post("/open311/v2/requests.json", data=form).status_code == 403
    engine = make_engine(settings.db_url)
    assert Accounts(engine).key_principal("demo-key", "ingest") is None
    engine.dispose()


def test_ingest_is_rate_limited_per_key_with_retry_after(client):
    if time.time() % 60 > 55:  # the window is a wall-clock minute: do not straddle two
        time.sleep(60 - time.time() % 60 + 0.1)
    codes = [post(client, KEYS["hotline"], **{"Idempotency-Key": f"rate-limit-{i:04d}"}).status_code
             for i in range(7)]
    assert codes[:5] == [201] * 5 and codes[5:] == [429, 429]
    r = post(client, KEYS["hotline"])
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
    assert r.json()["error"] == "rate_limited"


def test_the_cli_adds_lists_and_disables_users(settings):
    runner = CliRunner()
    added = runner.invoke(main, ["user", "add", "王芳", "--role", "officer",
                                 "--password", "long-enough"], env=env(settings))
    assert added.exit_code == 0, added.output
    short = runner.invoke(main, ["user", "add", "x", "--role", "officer", "--password", "short"],
                          env=env(settings))
    assert short.exit_code != 0 and "at least 8" in short.output
    bad_role = runner.invoke(main, ["user", "add", "y", "--role", "king", "--password",
                                    "long-enough"], env=env(settings))
    assert bad_role.exit_code != 0
    runner.invoke(main, ["user", "disable", "王芳"], env=env(settings))
    listed = runner.invoke(main, ["user", "list"], env=env(settings)).output
    assert "王芳\tofficer\tdisabled" in listed
    # A grid worker's account is a person of the town: --person names the grid worker id.
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(settings.db_url)
    prepare_database(engine, settings.town_dir)
    unlinked = runner.invoke(main, ["user", "add", "冯思远", "--role", "grid_worker",
                                    "--password", "long-enough"], env=env(settings))
    assert unlinked.exit_code != 0 and "--person" in unlinked.output
    nobody = runner.invoke(main, ["user", "add", "冯思远", "--role", "grid_worker", "--person",
                                  "W999", "--password", "long-enough"], env=env(settings))
    assert nobody.exit_code != 0 and "W999" in nobody.output
    linked = runner.invoke(main, ["user", "add", "fsy", "--role", "grid_worker", "--person",
                                  "W001", "--password", "long-enough"], env=env(settings))
    assert linked.exit_code == 0, linked.output
    row = Accounts(engine).user("fsy")
    assert row is not None and (row.person_id, row.display_name) == ("W001", "冯思远")
    engine.dispose()


def test_the_cli_adds_a_handler_and_a_village_officer_naming_their_unit(settings):
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(settings.db_url)
    prepare_database(engine, settings.town_dir)
    runner = CliRunner()
    for args, ok in ((["县住建局李", "--role", "handler", "--unit", "U-C-ZJ"], True),
                     (["建林村张", "--role", "village", "--unit", "U-V03"], True),
                     (["无单位", "--role", "handler"], False),
                     (["错层级", "--role", "village", "--unit", "U-C-ZJ"], False)):
        done = runner.invoke(main, ["user", "add", *args, "--password", "long-enough"],
                             env=env(settings))
        assert (done.exit_code == 0) == ok, done.output
    assert Accounts(engine).user("建林村张").unit_id == "U-V03"
    engine.dispose()


def test_demo_accounts_are_seeded_once_for_a_demo_town_only(settings):
    from datasources.gate.account_cli import DEMO_KIOSK, DEMO_PASSWORD, seed_demo
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine
    from datasources.sql.town_loader import prepare_database

    engine = make_engine(settings.db_url)
    prepare_database(engine, settings.town_dir)
    first = seed_demo(settings)
    assert {role for _, role, _ in first} == {"admin", "officer", "leader", "display",
                                              "grid_worker", "escort", "handler",
                                              "village", "school_staff"}
    assert seed_demo(settings) == first  # idempotent: nothing added twice
    accounts = Accounts(engine)
    assert accounts.authenticate("值班员", DEMO_PASSWORD).role == "officer"
    # The demo worker's account is the first grid worker, by id.
    worker = next(name for name, role, _ in first if role == "grid_worker")
    assert accounts.authenticate(worker, DEMO_PASSWORD).person_id == "W001"
    # Issue 14: a village officer of 建林村, a town office's and a county department's handler.
    assert accounts.authenticate("建林村", DEMO_PASSWORD).unit_id == "U-V03"
    assert accounts.authenticate("县住建局", DEMO_PASSWORD).unit_id == "U-C-ZJ"
    assert accounts.key_principal(DEMO_KIOSK, "kiosk").role == "display"
    # The demo escort (issue 13) looks after route R01's first bus and its trips.
    from datasources.sql.pupils import PupilStore

    escort = accounts.user("随车照管员")
    assert ("vehicle", "川F·D72692") in PupilStore(engine).posts(escort.id)
    # …and the first school's staff reads its shuttles on /school.
    staff = accounts.user("学校教务处")
    assert any(kind == "school" for kind, _ in PupilStore(engine).posts(staff.id))
    assert accounts.key_principal("demo-key", "ingest").source == "citizen"
    assert len(accounts.list_keys("kiosk")) == 1
    with accounts.session.begin() as s:
        s.execute(update(m.TownMeta).where(m.TownMeta.key == "demo").values(value=False))
    assert seed_demo(settings) == []  # a real town gets no demo accounts
    engine.dispose()
