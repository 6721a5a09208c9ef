"""Dispatch recommendations and the console's service calls (real DB and Redis)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.geo.lookup import GridHit
from dashboard.incidents.errors import Conflict
from dashboard.messages import IncidentReport, parse_event
from dashboard.resources.recommend import ROAD_FACTOR, recommend, travel

STATION_NEAR = {"code": "A", "name": "近站", "lon": 104.451, "lat": 30.551, "items": [
    {"sku": "FI-EX", "name": "灭火器", "quantity": 12, "unit": "具"},
    {"sku": "FL-SB", "name": "沙袋", "quantity": 300, "unit": "袋"}],
    "teams": [{"name": "近站救援队", "on_duty": 8, "status": "standby"},
              {"name": "近站休整队", "on_duty": 0, "status": "resting"}]}
STATION_FAR = {"code": "B", "name": "远站", "lon": 104.49, "lat": 30.58, "items": [
    {"sku": "FI-EX", "name": "灭火器", "quantity": 0, "unit": "具"}],
    "teams": [{"name": "远站救援队", "on_duty": 10, "status": "standby"}]}


def test_travel_uses_the_road_factor_and_35_kmh():
    metres, minutes = travel(104.0, 30.0, 104.0, 30.01)
    assert metres == pytest.approx(1111.95 * ROAD_FACTOR, rel=1e-3)
    assert minutes == pytest.approx(metres / 1000 / 35 * 60)


def test_grid_workers_first_then_available_teams_by_eta_with_the_fire_kit():
    incident = {"lon": 104.45, "lat": 30.55, "category": "fire"}
    recs = recommend(incident, [{"id": "W009", "name": "张网格", "grid": "G3-01"}],
                     [STATION_FAR, STATION_NEAR])
    assert [r.name for r in recs] == ["张网格", "近站救援队", "远站救援队", "近站休整队"]
    # The worker is named by id; the name is for display.
    assert (recs[0].assignee_id, recs[0].assignee) == ("W009", "张网格")
    assert recs[1].eta_min < recs[2].eta_min and recs[1].available
    assert not recs[3].available
    # Only supplies the incident type needs, and only what is in stock.
    assert [s["sku"] for s in recs[1].supplies] == ["FI-EX"]
    assert recs[2].supplies == []


def test_the_english_console_names_teams_and_stations_in_english():
    """In English the console's recommendations named teams and stations in Chinese."""
    from pages._dispatch_parts import rec_cards

    near = {**STATION_NEAR, "name_en": "Near station", "teams": [
        {"name": "近站救援队", "name_en": "Near rescue team", "on_duty": 8,
         "status": "standby"}], "items": [
        {"sku": "FI-EX", "name": "灭火器", "name_en": "Extinguisher", "quantity": 12,
         "unit": "具"}]}
    recs = recommend({"lon": 104.45, "lat": 30.55, "category": "fire"}, [], [near])
    assert recs[0].label("en") == ("Near rescue team", "Near station")
    assert recs[0].label("zh") == ("近站救援队", "近站")
    text = str(rec_cards(recs, "accepted", "en", True))
    assert "Near rescue team" in text and "Near station" in text and "Extinguisher" in text
    assert "Extinguisher 12 units" in text
    assert "近站" not in text and "灭火器" not in text and "具" not in text


def _accepted(services) -> int:
    report = IncidentReport(source="hotline", category="fire", title="仓库冒烟",
                            lon=104.45, lat=30.55, priority="urgent")
    inc = services.store.create_incident(report, GridHit("G3-01", "V01")).incident
    services.store.act(inc.id, "accept", actor="值班员甲")
    return inc.id


def test_console_actions_commit_then_publish_with_the_next_sequence_number(services):
    incident_id = _accepted(services)
    pubsub = services.bus.r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(services.bus.ch.events)
    pubsub.get_message(timeout=1)
    event = services.intake.act(incident_id, "dispatch", "值班员王", assignee="近站救援队")
    message = pubsub.get_message(timeout=2)
    assert message is not None
    published = parse_event(message["data"])
    assert published.seq == event.seq == services.bus.current_seq()
    assert published.incident.state == "dispatched"
    assert published.incident.assignee == "近站救援队"
    with pytest.raises(Conflict):
        services.intake.act(incident_id, "dispatch", "值班员李", assignee="远站救援队",
                            expect_version=published.incident.version - 1)


def test_queue_filters_and_the_overdue_sweep(services):
    incident_id = _accepted(services)
    store = services.store
    assert [v.id for v in store.queue(category="fire")] == [incident_id]
    assert store.queue(category="water") == []
    deadline = store.incident(incident_id)["deadline_at"]
    assert [v.id for v in store.queue(overdue_only=True, now=deadline + timedelta(minutes=1))] \
        == [incident_id]
    assert store.queue(overdue_only=True) == []
    assert store.incident(incident_id)["reporter_phone"] is None
