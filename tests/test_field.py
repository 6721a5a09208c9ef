"""The assignee's side over HTTP: only their own work orders, only allowed steps, all recorded."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app import create_app
from dashboard.geo.lookup import GridHit
from dashboard.messages import IncidentReport
from tests.auth_helpers import sign_in


@pytest.fixture
def client(settings):
    """The real app in-process (lifespan opens Redis and the database)."""
    app = create_app(settings)
    with TestClient(app.server) as c:
        c.zn = app.zn_services  # type: ignore[attr-defined]
        yield c


# Accounts of two grid workers of the demo town, each linked to its person (grid_workers.id).
PEOPLE = {"李网格": "W001", "赵网格": "W002"}


def _worker(svc, name: str) -> None:
    if svc.accounts.user(name) is None:
        svc.accounts.add_user(name, "grid_worker", "test-password", person_id=PEOPLE[name])


def _dispatched_to(svc, assignee: str) -> int:
    for name in PEOPLE:
        _worker(svc, name)
    report = IncidentReport(source="grid_worker", category="water", title="自来水管爆裂",
                            lon=104.45, lat=30.55)
    inc = svc.store.create_incident(report, GridHit("G3-01", "V01")).incident
    svc.intake.act(inc.id, "accept", "值班员王")
    svc.intake.act(inc.id, "dispatch", "值班员王", assignee=assignee,
                   assignee_id=PEOPLE[assignee])
    return inc.id


def _step(client, incident_id: int, action: str, **body):
    """One step as the grid worker named `actor` (signed in with a session cookie)."""
    headers = sign_in(client, client.zn, body.get("actor", "李网格"), "grid_worker")
    return client.post(f"/api/v1/field/incidents/{incident_id}/{action}",
                       content=json.dumps(body, ensure_ascii=False),
                       headers={"Accept-Language": "zh-CN", **headers})


def test_the_assignee_acknowledges_arrives_notes_and_resolves(client):
    svc = client.zn
    incident_id = _dispatched_to(svc, "李网格")
    sign_in(client, svc, "李网格", "grid_worker")
    tasks = client.get("/api/v1/field/tasks").json()
    assert [t["id"] for t in tasks] == [incident_id]
    assert _step(client, incident_id, "ack", actor="李网格").json()["state"] == "dispatched"
    assert _step(client, incident_id, "start", actor="李网格").json()["state"] == "in_progress"
    r = _step(client, incident_id, "note", actor="李网格", note="已关闭阀门",
              photo_url="https://img.example.invalid/p/1.jpg")
    assert r.status_code == 200
    assert _step(client, incident_id, "resolve", actor="李网格").json()["state"] == "resolved"
    history = svc.store.history(incident_id)
    assert [h["action"] for h in history][-4:] == ["ack", "start", "note", "resolve"]
    assert "https://img.example.invalid/p/1.jpg" in history[-2]["note"]
    assert client.get("/api/v1/field/tasks").json() == []
    # Another worker's person id in the query does not show 李网格's work orders to 赵网格.
    svc.intake.act(_dispatched_to(svc, "李网格"), "note", "值班员王", note="还有一单")
    sign_in(client, svc, "赵网格", "grid_worker")
    assert client.get("/api/v1/field/tasks", params={"person": "W001"}).json() == []


def test_someone_else_cannot_act_and_bad_steps_are_refused_clearly(client):
    svc = client.zn
    incident_id = _dispatched_to(svc, "李网格")
    other = _step(client, incident_id, "start", actor="赵网格")
    assert other.status_code == 403 and other.json()["message"] == "该工单未派给您"
    early = _step(client, incident_id, "resolve", actor="李网格")
    assert early.status_code == 409 and early.json()["error"] == "bad_state"
    assert early.json()["message"] == "当前状态「派遣」不能办结"
    hostile = _step(client, incident_id, "note", actor="李网格", note="<script>x</script>")
    assert hostile.status_code == 400
    headers = sign_in(client, svc, "李网格", "grid_worker")
    english = client.post(f"/api/v1/field/incidents/{incident_id}/close",
                          content="{}", headers={"Accept-Language": "en", **headers})
    assert english.status_code == 403
    assert english.json()["message"] == "Not a field step: close after follow-up"
    unknown = client.post(f"/api/v1/field/incidents/{incident_id}/fly",
                          content="{}", headers={"Accept-Language": "en", **headers})
    assert unknown.status_code == 404
    missing = _step(client, 999999, "ack", actor="李网格")
    assert missing.status_code == 404 and missing.json()["error"] == "no_incident"
    assert [h["action"] for h in svc.store.history(incident_id)][-1] == "dispatch"
    assert svc.bus.rejected_counts().get("invalid") == 1
