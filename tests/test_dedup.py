"""Near-duplicate reports merge into one work order that lists them all; an officer can undo."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def settings(settings):
    """The conftest's settings with the default merge rule (200 m, 30 min) turned back on."""
    return settings.with_(dedup_meters=200, dedup_minutes=30)


def _report(title: str, lon: float, lat: float, category: str = "environment",
            source: str = "citizen") -> str:
    return json.dumps({"type": "incident.report", "source": source, "category": category,
                       "title": title, "lon": lon, "lat": lat}, ensure_ascii=False)


def test_reports_close_together_become_one_work_order_listing_every_report(services):
    intake, store = services.intake, services.store
    first = intake.handle_raw(_report("河道漂浮垃圾", 104.4500, 30.5500))
    near = intake.handle_raw(_report("河面有垃圾", 104.4510, 30.5505, source="hotline"))
    other_kind = intake.handle_raw(_report("占道经营", 104.4501, 30.5501, "city_management"))
    far = intake.handle_raw(_report("河道漂浮垃圾", 104.4700, 30.5600))
    assert first.event.type == "incident.created"
    assert near.merged and near.event.type == "incident.updated"
    assert near.event.incident.id == first.event.incident.id
    assert near.event.incident.report_count == 2
    assert other_kind.event.type == "incident.created" and far.event.type == "incident.created"
    reports = store.reports(first.event.incident.id)
    assert [(r["title"], r["merged"]) for r in reports] == [("河道漂浮垃圾", False),
                                                            ("河面有垃圾", True)]
    history = store.history(first.event.incident.id)
    assert history[-1]["action"] == "merge" and "河面有垃圾" in history[-1]["note"]
    assert store.kpis().today.received == 3


def test_an_officer_can_split_a_merged_report_back_out(services):
    intake, store = services.intake, services.store
    first = intake.handle_raw(_report("路灯不亮", 104.4500, 30.5500, "city_management"))
    intake.handle_raw(_report("路灯坏了", 104.4502, 30.5501, "city_management"))
    merged = [r for r in store.reports(first.event.incident.id) if r["merged"]][0]
    updated, created = intake.split_report(merged["id"], "值班员王")
    assert updated.incident.report_count == 1
    assert created.type == "incident.created" and created.incident.title == "路灯坏了"
    assert created.incident.grid is not None and created.incident.state == "reported"
    assert store.history(created.incident.id)[0]["action"] == "split"
    assert [r["title"] for r in store.reports(created.incident.id)] == ["路灯坏了"]
    with pytest.raises(LookupError):
        intake.split_report(merged["id"], "值班员王")
