"""From a tap to the parent (issue 13): the time from a boarding event at the door to (a) the
guardian's /parent showing 上车 (the page's own callback, as the phone calls it) and (b) the
上车 text reaching a local SMS gateway (the product's outbox and sender, real). p50/p95.

    .venv/bin/python bench/parent.py [--taps 40]

The phone's page asks every 5 s, so a parent sees a tap within 5 s plus (a); the outbox is
swept every `Notifier.period_s`, which bounds (b) from below.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import update  # noqa: E402

from app import create_app  # noqa: E402
from dashboard.buses.notify import RATE_LIMIT, guardian_recipient  # noqa: E402
from dashboard.messages import VehiclePosition  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.timeutil import LOCAL_TZ, utcnow  # noqa: E402
from datasources.gate.web import CSRF_COOKIE, GUARDIAN_COOKIE, csrf_token  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402
from datasources.services import Services  # noqa: E402
from datasources.sql import models as m  # noqa: E402
from tests.receiver import SmsGateway  # noqa: E402

KEY = "bench-terminal-key"
PLATE, TRIP = "川F·D72692", "R01-AM1"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0..1) of sorted values, in ms."""
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def page_shows_boarded(client: TestClient, token: str) -> bool:
    """One call of /parent's callback as the guardian's phone makes it: does it say 上车?"""
    client.cookies.clear()
    client.cookies.set(GUARDIAN_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token(token))
    body = {"output": "..parent-children.children...parent-bus.children..",
            "outputs": [{"id": "parent-children", "property": "children"},
                        {"id": "parent-bus", "property": "children"}],
            "inputs": [{"id": "parent-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "parent-lang", "property": "data", "value": "zh"}],
            "changedPropIds": ["parent-tick.n_intervals"]}
    r = client.post("/_dash-update-component", content=json.dumps(body),
                    headers={"X-CSRFToken": csrf_token(token),
                             "content-type": "application/json"})
    assert r.status_code == 200, r.text
    return "上车" in json.dumps(r.json(), ensure_ascii=False)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=40)
    args = parser.parse_args()
    data = tempfile.mkdtemp()
    redis_server = EmbeddedRedis(data).start()
    sms = SmsGateway()
    notify = Path(data) / "notify.json"
    notify.write_text(json.dumps(sms.config()), encoding="utf-8")
    settings = Settings.from_env(environ={}, data_dir=data, redis_url=redis_server.url,
                                 redis_prefix="parent", ingest_rate=0, notify_file=str(notify))
    # The trip runs now, every day (the tracker reads the timetable when it starts).
    svc = Services(settings).open()
    with svc.store.session() as s:
        n = len(s.get(m.Trip, TRIP).stop_times)
        start = datetime.now(LOCAL_TZ) - timedelta(minutes=5)
        s.execute(update(m.Trip).where(m.Trip.code == TRIP).values(
            stop_times=[(start + timedelta(minutes=2 * i)).strftime("%H:%M")
                        for i in range(n)], days="daily"))
        s.commit()
    svc.close()
    app = create_app(settings)
    try:
        with TestClient(app.server) as client:
            svc = app.zn_services
            svc.accounts.add_key("ingest", "bench reader", "terminal", token=KEY)
            stop = svc.hub.tracker.fleet.plans[TRIP].stops[0]
            svc.bus.publish_positions([VehiclePosition(
                plate=PLATE, at=utcnow() - timedelta(seconds=30), lon=stop.lon, lat=stop.lat,
                speed_kmh=0, heading=0, trip=TRIP)])
            time.sleep(1.0)
            pupils = [p for s in svc.boarding.pupils.manifest(TRIP).stops for p in s.pupils]
            # A guardian gets at most RATE_LIMIT texts in 10 minutes (more are kept, not sent):
            # the taps go round the trip's children at most that many times.
            taps = min(args.taps, RATE_LIMIT * len(pupils))
            page: list[float] = []
            texts: list[float] = []
            for i in range(taps):
                p = pupils[i % len(pupils)]
                token = svc.accounts.add_key("guardian", guardian_recipient(p.id, 1))
                phone = p.guardians[0].phone
                before = len(sms.texts_to(phone))
                body = {"pupil": p.id, "event": "board", "at": utcnow().isoformat(),
                        "vehicle": PLATE, "key": f"bench-parent-{i:06d}"}
                client.cookies.clear()  # the terminal's key, not the parent's cookie
                t0 = time.perf_counter()
                r = client.post("/api/v1/buses/boarding", json=body, headers={"X-Api-Key": KEY})
                assert r.status_code in (200, 201), r.text
                while not page_shows_boarded(client, token):
                    time.sleep(0.005)
                page.append(time.perf_counter() - t0)
                while len(sms.texts_to(phone)) <= before:
                    if time.perf_counter() - t0 > 30:
                        raise SystemExit(f"no text to {phone} within 30 s")
                    time.sleep(0.005)
                texts.append(time.perf_counter() - t0)
            page.sort()
            texts.sort()
            print(f"{taps} taps (in-process, SQLite, embedded Redis): tap → /parent's "
                  f"callback shows 上车 p50 {pct(page, .5):.0f} ms, p95 {pct(page, .95):.0f} ms "
                  "(the phone asks every 5 s); tap → 上车 text at the local SMS gateway "
                  f"p50 {pct(texts, .5):.0f} ms, p95 {pct(texts, .95):.0f} ms")
    finally:
        sms.close()
        redis_server.stop()


if __name__ == "__main__":
    main()
