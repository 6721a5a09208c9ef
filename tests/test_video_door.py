"""雪亮工程 video alerts (issue 15): the camera platform's door. A camera the town does not
have is refused and counted; a burst of one camera's alerts of one type merges into one work
order (the store's merge rule), another camera or type is its own; the snapshot shows in the
console's detail when its origin is allowed, and only then (the CSP allows the same)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dash import html

from dashboard.incidents.video import EVENT_TYPES, image_allowed
from dashboard.town import parse_cameras
from datasources.gate.web import csp
from pages._dispatch_parts import detail_card
from tests.browser import KEYS, app_client

CAM_ORIGIN = "http://127.0.0.1:8900"  # the camera platform's image server (no request made)
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def event(camera: str = "CAM-V01", kind: str = "fire_smoke", minutes: float = 0,
          **extra: Any) -> dict[str, Any]:
    body = {"camera_id": camera, "event_type": kind,
            "at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "snapshot_url": f"{CAM_ORIGIN}/snap/{camera}-{kind}-{minutes}.jpg", **extra}
    return body


def post(client: Any, body: Any, source: str = "video", lang: str = "zh",
         headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    return client.post("/api/v1/video/events", content=data,
                       headers={"X-Api-Key": KEYS[source], "Accept-Language": lang,
                                "content-type": "application/json", **(headers or {})})


def texts(node: Any) -> list[Any]:
    """Every component in a Dash tree, depth first."""
    out = [node]
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            out += texts(child)
    return out


def test_an_unknown_camera_is_refused_counted_and_named_in_the_requesters_language(
        client) -> None:
    zh = post(client, event("CAM-NOPE"))
    assert zh.status_code == 422 and zh.json()["error"] == "unknown_camera"
    assert zh.json()["message"] == "摄像头“CAM-NOPE”不在本镇摄像头清单中（cameras.csv）。"
    en = post(client, event("CAM-NOPE"), lang="en")
    assert en.json()["message"] == \
        "Camera “CAM-NOPE” is not one of the town's cameras (cameras.csv)."
    assert client.zn.bus.rejected_counts().get("unknown_camera") == 2
    assert client.zn.store.queue() == []


def test_bad_events_are_refused_with_the_field_named(client) -> None:
    cases = [
        (event(snapshot_url="javascript:alert(1)"), "invalid", "snapshot_url"),
        (event(clip_url="ftp://cam/clip.mp4"), "invalid", "clip_url"),
        (event(kind="ufo"), "invalid", "event_type"),
        ({**event(), "at": "2026-12-05T09:30:00"}, "invalid", "at"),
        (event(note="<img src=x onerror=alert(1)>"), "invalid", "note"),
        ({**event(), "upload": "base64..."}, "invalid", "upload"),
        ("{not json", "bad_json", ""),
        ("[]", "bad_shape", ""),
    ]
    for body, reason, field in cases:
        r = post(client, body, lang="en")
        assert r.status_code == 400 and r.json()["error"] == reason, (body, r.text)
        assert field in r.json()["message"]
    zh = post(client, event(snapshot_url="javascript:alert(1)"))
    assert "链接须为 http(s) 网址" in zh.json()["message"]
    assert "未知的事件类型" in post(client, event(kind="ufo")).json()["message"]
    assert "时间须带时区偏移" in post(client, {**event(), "at": "2026-12-05T09:30:00"}).json()[
        "message"]
    # Only the camera platform's key sends events; a hotline key is refused.
    wrong = post(client, event(), source="hotline", lang="en")
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_source"
    big = post(client, {**event(), "note": "x" * 20_000})
    assert big.status_code == 413
    assert client.zn.store.queue() == []


def test_a_burst_from_one_camera_for_one_scene_is_one_work_order(client) -> None:
    first = post(client, event(minutes=0, event_id="evt-0001"))
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["grid"] and order["state"] == "reported"
    for n, minutes in enumerate((2, 5, 13), start=2):  # each within 10 min of the one before
        r = post(client, event(minutes=minutes, event_id=f"evt-000{n}"))
        assert r.status_code == 200 and r.json()["merged"] is True
        assert r.json()["id"] == order["id"]
    other_type = post(client, event(kind="crowd", minutes=6))
    other_camera = post(client, event(camera="CAM-V06", minutes=6))
    later = post(client, event(minutes=24))  # 11 minutes after the burst's last alert
    for r in (other_type, other_camera, later):
        assert r.status_code == 201 and r.json()["id"] != order["id"]
    store = client.zn.store
    inc = store.incident(order["id"])
    assert inc["report_count"] == 4 and inc["camera_id"] == "CAM-V01"
    assert (inc["category"], inc["priority"]) == ("fire", "urgent")  # the type's table
    assert inc["title"] == "烟火识别：青石社区村委会路口"
    assert [h["action"] for h in store.history(order["id"])].count("merge") == 3
    # A retried event (same event_id) is the same event, not a fourth merge.
    again = post(client, event(minutes=5, event_id="evt-0003"))
    assert again.json()["id"] == order["id"]
    assert store.incident(order["id"])["report_count"] == 4
    # Once the orders are handled, a new alert from the same camera opens a new one.
    for done in (order["id"], later.json()["id"]):
        client.zn.intake.act(done, "void", "值班员王", note="误报")
    fresh = post(client, event(minutes=25))
    assert fresh.status_code == 201 and fresh.json()["id"] not in (order["id"],
                                                                   later.json()["id"])


def test_the_snapshot_shows_in_the_console_detail_only_from_an_allowed_origin(
        client) -> None:
    made = post(client, event(clip_url=f"{CAM_ORIGIN}/clip/1.mp4", confidence=0.92)).json()
    inc = client.zn.store.incident(made["id"])
    assert inc["photo_url"] == f"{CAM_ORIGIN}/snap/CAM-V01-fire_smoke-0.jpg"
    assert "置信度 92%" in inc["description"]
    shown = texts(html.Div(detail_card(inc, client.zn.store.reports(inc["id"]), "zh", True,
                                       [], (CAM_ORIGIN,))))
    [img] = [n for n in shown if isinstance(n, html.Img)]
    assert img.src == inc["photo_url"]
    links = {n.href for n in shown if isinstance(n, html.A)}
    assert f"{CAM_ORIGIN}/clip/1.mp4" in links
    dds = [n.children for n in shown if isinstance(n, html.Dd)]
    assert "青石社区村委会路口（CAM-V01）" in dds and "烟火识别" in dds
    # Not an allowed origin: no <img> (the browser would refuse it), a link instead.
    hidden = texts(html.Div(detail_card(inc, [], "en", True, [], ())))
    assert not [n for n in hidden if isinstance(n, html.Img)]
    assert "Open the snapshot (external link)" in [n.children for n in hidden
                                                   if isinstance(n, html.A)]
    assert "Smoke or fire" in [n.children for n in hidden if isinstance(n, html.Dd)]


def test_the_csp_allows_the_configured_camera_origin_and_nothing_else(settings) -> None:
    assert "img-src 'self' data: blob:;" in csp([], "")
    assert f"img-src 'self' data: blob: {CAM_ORIGIN};" in csp([], "", [CAM_ORIGIN])
    assert image_allowed("/assets/x.png", ()) and not image_allowed("//evil/x.png", ())
    assert not image_allowed("https://evil.example/x.jpg", (CAM_ORIGIN,))
    with app_client(settings.with_(image_origins=CAM_ORIGIN)) as c:
        header = c.get("/api/health").headers["content-security-policy"]
    assert f"img-src 'self' data: blob: {CAM_ORIGIN};" in header


def test_cameras_are_town_data_each_in_its_grid(services) -> None:
    cams = services.store.cameras()
    assert len(cams) == 15 and all(c.grid and c.grid.startswith("G3-") for c in cams)
    assert services.store.camera("CAM-SCH1").name == "青石中学校门"
    for bad, why in (([{"id": "A B", "name": "x", "lon": 1, "lat": 1}], "id"),
                     ([{"id": "C1", "name": "<b>", "lon": 1, "lat": 1}], "name"),
                     ([{"id": "C1", "name": "x", "lon": "east", "lat": 1}], "lon")):
        try:
            parse_cameras(bad)
        except ValueError as exc:
            assert why in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")
    assert set(EVENT_TYPES) >= {"fire_smoke", "crowd", "garbage", "street_vending"}


def test_the_walls_focus_card_carries_the_snapshot_of_an_urgent_video_alert(client) -> None:
    from dashboard.screens.wall import alerts
    from tests.browser import wait_until

    made = post(client, event()).json()  # fire_smoke: urgent, so the hall's focus card
    plain = post(client, event(camera="CAM-V02", kind="garbage")).json()  # normal: no focus
    hub = client.zn.hub
    wait_until(lambda: made["id"] in hub.state.incidents and plain["id"] in hub.state.incidents,
               what="the hub has both alerts")
    now = datetime.now(UTC)
    allowed = {a["id"]: a for a in alerts(hub.state, client.zn.grids, "zh", now, (CAM_ORIGIN,))}
    assert allowed[made["id"]]["img"] == f"{CAM_ORIGIN}/snap/CAM-V01-fire_smoke-0.jpg"
    assert plain["id"] not in allowed
    blocked = {a["id"]: a for a in alerts(hub.state, client.zn.grids, "zh", now, ())}
    assert blocked[made["id"]]["img"] is None  # never a broken image on the wall


def test_hostile_bodies_at_both_doors_are_4xx_never_a_500(client) -> None:
    hostile = ["[" * 10_000 + "]" * 10_000, '{"camera_id": ' + "9" * 5000 + "}",
               '{"camera_id": null, "event_type": [], "at": {}}',
               '{"camera_id": "CAM-V01", "event_type": "crowd", "at": "9999-12-31T23:59-14:00"}',
               '{"camera_id": "CAM-V01", "event_type": "crowd", "at": "0001-01-01T00:00Z"}',
               '{"camera_id": "CAM-V01\\u0000", "event_type": "crowd", "at": "2026-12-05T09:00Z"}',
               '{"camera_id": "CAM-V01", "event_type": "crowd", "at": "2026-12-05T09:00Z", '
               '"confidence": NaN}', "\xff\xfe", "", "null", '"a string"']
    for body in hostile:
        r = post(client, body.encode("utf-8", "surrogateescape"), lang="en")
        assert 400 <= r.status_code < 500, (body[:60], r.status_code, r.text[:200])
        v = client.post("/api/v1/hotline/orders/12345-x/visit",
                        content=body.encode("utf-8", "surrogateescape"),
                        headers={"X-Api-Key": KEYS["hotline"]})
        assert 400 <= v.status_code < 500, (body[:60], v.status_code, v.text[:200])
    for number in ("%00", "a" * 300, "<script>", "%E4%B8%AD"):
        r = client.get(f"/api/v1/hotline/orders/{number}",
                       headers={"X-Api-Key": KEYS["hotline"]})
        assert r.status_code == 404, (number, r.status_code)
    assert client.zn.store.queue() == []
