"""The tables a town overrides on /admin (issue 16): each checked on save by its own rule's
validator, refused in the reader's words, kept in `town_tables`, and read by the rules
through one accessor: a new work order's deadline, the kits, the weights, the speed zones."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from dashboard.roles import CURRENT, Principal
from dashboard.town_tables import TableError, read_table
from pages._admin_tables import table_refused

ADMIN = Principal(role="admin", name="镇管理员", kind="user", user_id=1, ip="10.0.0.9")
HIT = GridHit("G3-01", "V01")


def new_order(services: Any, category: str = "fire", priority: str = "normal") -> Any:
    report = IncidentReport(source="grid_worker", category=category, priority=priority,
                            title="测试", lon=104.48, lat=30.568)
    return services.store.create_incident(report, HIT).incident


def test_an_overridden_deadline_is_the_one_a_new_work_order_gets(services):
    first = new_order(services)
    assert first.deadline_at - first.created_at == timedelta(hours=24)  # built-in: fire 24h
    assert services.tables.save("deadlines", json.dumps({"fire": {"normal": "5h"}})) == 1
    second = new_order(services)
    assert second.deadline_at - second.created_at == timedelta(hours=5)
    # Rows it does not name stay as they were; urgent fires keep their hour.
    urgent = new_order(services, priority="urgent")
    assert urgent.deadline_at - urgent.created_at == timedelta(hours=1)
    # Back to the built-in: the next order has 24 h again.
    assert services.tables.save("deadlines", "") == 0
    third = new_order(services)
    assert third.deadline_at - third.created_at == timedelta(hours=24)


def test_kits_weights_and_speed_zones_are_read_through_the_same_accessor(services):
    services.tables.save("kits", json.dumps({"fire": {"FI-EX": 3}}))
    assert services.resources.kits["fire"] == {"FI-EX": 3}
    assert services.resources.kits["water"]["FL-SB"] == 200  # not named: the built-in
    services.tables.save("weights", json.dumps({"grid": {"handle_rate": 1}}))
    assert services.evaluation.tables.weights()["grid"] == {"handle_rate": 1.0}
    zone = [{"name": "桥", "limit_kmh": 15, "line": [[104.47, 30.54], [104.46, 30.54]]}]
    services.tables.save("speed_zones", json.dumps(zone))
    limits = services.tables.speed_limits()
    assert limits.at(104.465, 30.54) == (15.0, "桥")
    # The buses' tracker takes the saved zones at its next fix.
    tracker = services.hub.tracker
    tracker.observe([])
    assert tracker.fleet.limits is limits


@pytest.mark.parametrize(("name", "text", "code", "words"), [
    ("deadlines", "{", "table_json", "不是有效的 JSON"),
    ("deadlines", "[1, 2]", "table_invalid", "an object of rows"),
    ("deadlines", '{"fire": {"normal": "soon"}}', "table_invalid", "deadline 'soon'"),
    ("deadlines", '{"fire": {"normal": "0h"}}', "table_invalid", "between 1 minute"),
    ("deadlines", '{"fire": {"normal": "400d"}}', "table_invalid", "90 days"),
    ("deadlines", '{"fire": {"whenever": "2h"}}', "table_invalid", "urgent, high, normal"),
    ("deadlines", '{"fire": "2h"}', "table_invalid", "priority: deadline"),
    ("deadlines", '{"no_such": {"normal": "2h"}}', "table_invalid", "not a category"),
    ("deadlines", '{"tier:moon": {"normal": "2h"}}', "table_invalid", "not a category"),
    ("deadlines", '{"stages": {"lunch": {"normal": "1h"}}}', "table_invalid", "stages.lunch"),
    ("kits", '{"fire": {"FI-EX": -1}}', "table_invalid", "positive whole number"),
    ("kits", '{"fire": {"FI-EX": true}}', "table_invalid", "positive whole number"),
    ("kits", '{"fire": {"FI-EX": 1e9}}', "table_invalid", "positive whole number"),
    ("kits", '{"nope": {"FI-EX": 1}}', "table_invalid", "unknown category"),
    ("kits", '["fire"]', "table_invalid", "category -> kit"),
    ("weights", '{"grid": {"handle_rate": -3}}', "table_invalid", "≥ 0"),
    ("weights", '{"moon": {"handle_rate": 1}}', "table_invalid", "unknown kind"),
    ("weights", '{"grid": {"handle_rate": 0}}', "table_invalid", "add up to 0"),
    ("speed_zones", '{"name": "x"}', "table_invalid", "a list of zones"),
    ("speed_zones", '[{"name": "x", "limit_kmh": 20, "line": []}]', "table_invalid",
     "needs a line"),
    ("speed_zones", '[{"name": "x", "limit_kmh": 20, "line": [[500, 30]]}]',
     "table_invalid", "[longitude, latitude]"),
    ("speed_zones", '[{"name": "x", "limit_kmh": 999, "line": [[104, 30]]}]',
     "table_invalid", "1-120 km/h"),
    ("rota", "{}", "table_unknown", "没有参数表"),
    ("deadlines", "[" * 100_000, "table_json", "JSON"),
    ("deadlines", '{"a": "' + "x" * 70_000 + '"}', "table_json", "bytes"),
])
def test_a_wrong_table_is_refused_with_its_rules_words_and_nothing_is_saved(
        services, name, text, code, words):
    with pytest.raises(TableError) as refused:
        services.tables.save(name, text)
    assert refused.value.code == code
    said = table_refused(refused.value, "zh")
    assert words in said, said
    assert "{" not in table_refused(refused.value, "en")[:4]
    assert services.tables.override("deadlines") is None


def test_read_table_takes_only_text():
    for value in ([1], {"a": 1}, 5, None):
        with pytest.raises(TableError) as refused:
            read_table("deadlines", value)
        assert refused.value.code == "table_json"


def _post(client: Any, button: str, name: Any, text: Any, lang: str) -> Any:
    from tests.auth_helpers import post_callback

    return post_callback(
        client, [("adm-msg", "children"), ("adm-msg", "className"), ("adm-table-tick", "data")],
        [{"id": "adm-table-save", "property": "n_clicks", "value": 1},
         {"id": "adm-table-clear", "property": "n_clicks", "value": 0}],
        [{"id": "adm-table-pick", "property": "value", "value": name},
         {"id": "adm-table-text", "property": "value", "value": text},
         {"id": "adm-lang", "property": "data", "value": lang}], f"{button}.n_clicks")


def test_the_page_saves_a_table_audited_and_refuses_forged_forms_in_words(client, services):
    from tests.auth_helpers import sign_in

    sign_in(client, services, "管理员乙", "admin")
    services.tables.ttl_s = 0  # the page's app is another Services over the same database
    for name, text in ((["deadlines"], "{}"), ({"t": 1}, "{}"), ("deadlines", ["{}"]),
                       ("deadlines", {"fire": 1}), (None, None), ("deadlines", "{oops")):
        r = _post(client, "adm-table-save", name, text, "en")
        assert r.status_code == 200, (name, text, r.status_code, r.text[:200])
        assert r.json()["response"]["adm-msg"]["className"] == "adm-msg bad", (name, text)
    assert services.tables.override("deadlines") is None
    r = _post(client, "adm-table-save", "deadlines", '{"water": {"high": "6h"}}', "zh")
    assert "已保存" in r.json()["response"]["adm-msg"]["children"]
    assert services.tables.override("deadlines") == {"water": {"high": "6h"}}
    token = CURRENT.set(ADMIN)
    try:
        [entry] = services.audit.search(action="tables.save")
    finally:
        CURRENT.reset(token)
    assert entry["actor"] == "管理员乙" and entry["target"] == "deadlines"


def test_the_editors_examples_are_tables_their_rules_accept():
    from dashboard.town_tables import EXAMPLES, TABLES

    assert set(EXAMPLES) == set(TABLES)
    for name, text in EXAMPLES.items():
        assert read_table(name, text) is not None
