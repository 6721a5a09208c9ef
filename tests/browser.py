"""Helpers for browser tests: start the real app for dash_duo and publish like a source."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis

from app import create_app
from dashboard.channels import Channels
from dashboard.settings import Settings


def start_app(dash_duo: Any, settings: Settings, path: str = "/") -> Any:
    """Start zhongnao on settings.port and open `path`; wait until the screen is live."""
    app = create_app(settings)
    dash_duo.start_server(app, port=settings.port)
    if path != "/":
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")
    dash_duo.wait_for_contains_class("#home-status", "ok", timeout=20)
    return app


class Source:
    """Publishes raw JSON into the app's Redis channels, as a real source would."""

    def __init__(self, settings: Settings):
        self.r = redis.Redis.from_url(settings.redis_url)
        self.ch = Channels(settings.redis_prefix)

    def report(self, **fields: Any) -> None:
        """Publish an incident report on the ingest channel."""
        body = {"type": "incident.report", "source": "grid_worker", "category": "city_management",
                "priority": "normal", "lon": 104.45, "lat": 30.55, **fields}
        self.raw(self.ch.ingest, json.dumps(body, ensure_ascii=False))

    def raw(self, channel: str, payload: str | bytes) -> None:
        """Publish bytes as they are."""
        self.r.publish(channel, payload)

    def position(self, plate: str, lon: float, lat: float, speed: float = 30.0,
                 heading: float = 90.0) -> None:
        """Publish one GPS fix on the vehicles channel."""
        body = {"type": "vehicle.positions", "v": 1, "sent_at": time.time(), "positions": [
            {"plate": plate, "lon": lon, "lat": lat, "speed_kmh": speed, "heading": heading,
             "at": datetime.now(UTC).isoformat()}]}
        self.raw(self.ch.vehicles, json.dumps(body))
