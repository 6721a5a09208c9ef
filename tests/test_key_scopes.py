"""Keys are bound to their source (issue 12): a key has a source and scopes (report,
positions, read-own, feed); it reports only as its source and reads back only what it filed,
in the public Open311 shape. Before, the demo citizens' key posted bus positions (a fake
vehicle at 120 km/h), filed `source: bus` (校车监控, urgent) and read any work order with its
internal history and the names of the officers and leaders who handled it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from cli import main
from tests.auth_helpers import sign_in
from tests.browser import KEYS, database_fault

SPOT = {"lon": 104.45, "lat": 30.55}


def post(client, path: str, body: dict, source: str, lang: str = "zh"):
    return client.post(path, content=json.dumps(body, ensure_ascii=False),
                       headers={"X-Api-Key": KEYS[source], "content-type": "application/json",
                                "Accept-Language": lang})


def fix(plate: str) -> dict:
    return {"positions": [{"plate": plate, "lon": 104.45, "lat": 30.55, "speed_kmh": 120,
                           "heading": 90, "at": datetime.now(UTC).isoformat()}]}


def test_a_citizens_key_may_not_send_bus_positions(client):
    r = post(client, "/api/v1/vehicles/positions", fix("川A·FAKE1"), "citizen", "en")
    assert r.status_code == 403 and r.json()["error"] == "scope"
    assert "may not send vehicle positions" in r.json()["message"]
    zh = post(client, "/api/v1/vehicles/positions", fix("川A·FAKE1"), "citizen")
    assert "无权上传车辆位置" in zh.json()["message"]
    assert "川A·FAKE1" not in client.zn.bus.latest_positions()  # no fake bus on any screen
    assert client.zn.bus.rejected_counts().get("scope") == 2  # counted like any rejection


def test_a_citizens_key_may_not_file_as_the_bus_monitor(client):
    alarm = {"source": "bus", "priority": "urgent", "category": "traffic",
             "title": "校车紧急报警", **SPOT}
    r = post(client, "/api/v1/incidents", alarm, "citizen", "en")
    assert r.status_code == 403 and r.json()["error"] == "wrong_source"
    assert "“citizen”" in r.json()["message"] and "“bus”" in r.json()["message"]
    zh = post(client, "/api/v1/incidents", alarm, "citizen")
    assert zh.json()["message"].startswith("此密钥属于来源“citizen”")
    assert client.zn.store.queue() == []
    assert client.zn.bus.rejected_counts().get("wrong_source") == 2
    # The bus platform's own key files the same alarm.
    assert post(client, "/api/v1/incidents", alarm, "bus").status_code == 201


def test_a_key_reads_back_only_what_it_filed_and_only_its_public_fields(client):
    mine = post(client, "/api/v1/incidents", {"source": "citizen", "category": "environment",
                                              "title": "垃圾堆放", **SPOT}, "citizen").json()
    theirs = post(client, "/api/v1/incidents", {"source": "hotline", "category": "traffic",
                                                "title": "红绿灯故障", "lon": 104.47,
                                                "lat": 30.56}, "hotline").json()
    # An officer takes the citizen's report in: the record now names the officer.
    client.zn.store.act(mine["id"], "accept", "值班员王强", note="已联系环卫所")
    read = client.get(f"/api/v1/incidents/{mine['id']}",
                      headers={"X-Api-Key": KEYS["citizen"]})
    assert read.status_code == 200
    public = read.json()
    assert [p["service_request_id"] for p in public] == [mine["ref"]]
    assert "history" not in public[0] and "assignee" not in public[0]
    assert "王强" not in read.text and "环卫所" not in read.text  # no names, no notes
    other = client.get(f"/api/v1/incidents/{theirs['id']}",
                       headers={"X-Api-Key": KEYS["citizen"], "Accept-Language": "en"})
    unknown = client.get("/api/v1/incidents/999999", headers={"X-Api-Key": KEYS["citizen"]})
    assert other.status_code == unknown.status_code == 404  # it learns nothing of the rest
    assert other.json()["error"] == "not_found"
    # The command centre still reads the whole record.
    sign_in(client, client.zn, "值班员王强", "officer")
    whole = client.get(f"/api/v1/incidents/{mine['id']}")
    assert whole.status_code == 200 and "王强" in whole.text


def test_open311_files_as_the_citizens_and_only_with_a_citizens_key(client):
    form = {"service_code": "environment", "lat": "30.55", "long": "104.45",
            "description": "河道漂浮物"}
    hotline = client.post("/open311/v2/requests.json", data={**form,
                                                             "api_key": KEYS["hotline"]})
    assert hotline.status_code == 403 and "citizen" in hotline.json()[0]["description"]
    feed = client.post("/open311/v2/requests.json", data={**form, "api_key": KEYS["feed"]})
    assert feed.status_code == 403
    ok = client.post("/open311/v2/requests.json", data={**form, "api_key": KEYS["citizen"]})
    assert ok.status_code == 200, ok.text


def test_a_feed_key_reads_the_bus_feed_and_reports_nothing(client):
    assert client.get("/api/v1/vehicles/gtfs-rt",
                      headers={"X-Api-Key": KEYS["feed"]}).status_code == 200
    assert client.get("/api/v1/vehicles/gtfs-rt",
                      headers={"X-Api-Key": KEYS["citizen"]}).status_code == 403
    r = post(client, "/api/v1/incidents", {"source": "hotline", "category": "traffic",
                                           "title": "t", **SPOT}, "feed", "en")
    assert r.status_code == 403 and "may not file reports" in r.json()["message"]
    # Doors open to everybody stay open to every key.
    assert client.get("/api/health", headers={"X-Api-Key": KEYS["feed"]}).status_code == 200


def test_an_ingest_key_is_issued_for_a_source_with_that_sources_scopes(settings):
    env = {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
           "ZN_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    nameless = runner.invoke(main, ["key", "add", "无来源"], env=env)
    assert nameless.exit_code == 2 and "--source" in nameless.output
    assert runner.invoke(main, ["key", "add", "随手拍", "--source", "citizen"],
                         env=env).exit_code == 0
    assert runner.invoke(main, ["key", "add", "家长端", "--source", "feed"], env=env).exit_code == 0
    made = runner.invoke(main, ["key", "add", "北斗平台", "--source", "bus", "--scope",
                                "positions"], env=env)
    assert made.exit_code == 0, made.output
    rows = {line.split("\t")[2]: line.split("\t")[4]
            for line in runner.invoke(main, ["key", "list"], env=env).output.splitlines()}
    assert rows == {"随手拍": "read-own,report", "家长端": "feed", "北斗平台": "positions"}


def test_migration_0010_gives_keys_issued_before_the_scopes_of_their_source(tmp_path):
    from alembic import command

    from datasources.sql.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009_person_ids")
        for i, (kind, source) in enumerate([("ingest", "bus"), ("ingest", "hotline"),
                                            ("ingest", ""), ("kiosk", "")]):
            conn.execute(text(
                "INSERT INTO api_keys (kind, name, source, key_hash, prefix, created_at) "
                f"VALUES ('{kind}', 'k{i}', '{source}', 'h{i}', 'p{i}', '2026-12-01')"))
        command.upgrade(cfg, "0010_key_scopes")
        scopes = dict(conn.execute(text("SELECT name, scopes FROM api_keys")).all())
    engine.dispose()
    # The bus platform keeps its positions; a key of no source must be issued again.
    assert scopes == {"k0": "positions,read-own,report", "k1": "read-own,report",
                      "k2": "", "k3": ""}


def test_a_report_acknowledged_to_a_key_is_one_it_may_read_back(client):
    """What a key filed is written with the report, in its transaction: a database that
    fails at that write refuses the report (503, the source retries under its key) instead
    of acknowledging a report its key then cannot read (a 404 on its own work order)."""
    failed: list[str] = []

    def once(_: object, statement: str) -> bool:
        if statement.startswith("INSERT INTO key_filings") and not failed:
            failed.append(statement)
            return True
        return False

    body = {"source": "citizen", "category": "environment", "title": "河道漂浮物", **SPOT}
    headers = {"X-Api-Key": KEYS["citizen"], "Idempotency-Key": "filing-fault-0001"}
    answers = []
    with database_fault(client.zn.store.engine, once, "disk I/O error"):
        for _ in range(3):  # as a source retries a 503
            answers.append(client.post("/api/v1/incidents", json=body, headers=headers))
            if answers[-1].status_code != 503:
                break
    assert failed, "the filing was never written"
    assert answers[-1].status_code == 201, [a.status_code for a in answers]
    stored = answers[-1].json()
    read = client.get(f"/api/v1/incidents/{stored['id']}",
                      headers={"X-Api-Key": KEYS["citizen"]})
    assert read.status_code == 200, read.text[:300]
    assert [p["service_request_id"] for p in read.json()] == [stored["ref"]]


def test_a_keys_second_report_joining_its_first_order_is_stored_and_readable(settings):
    """A key's report that the merge rule joins to the order the same key filed before:
    its filing is there already, and the report is stored all the same (200, merged)."""
    from tests.browser import app_client

    with app_client(settings.with_(dedup_meters=200)) as c:
        body = {"source": "citizen", "category": "environment", "title": "垃圾堆放", **SPOT}
        first = post(c, "/api/v1/incidents", body, "citizen")
        again = post(c, "/api/v1/incidents", {**body, "title": "垃圾堆放没人管"}, "citizen")
        assert first.status_code == 201 and again.status_code == 200, again.text[:300]
        assert again.json()["id"] == first.json()["id"] and again.json()["merged"]
        read = c.get(f"/api/v1/incidents/{first.json()['id']}",
                     headers={"X-Api-Key": KEYS["citizen"]})
        assert read.status_code == 200
        assert len(c.zn.store.reports(first.json()["id"])) == 2
