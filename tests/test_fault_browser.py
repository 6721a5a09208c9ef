"""A wall in real Chromium while its Redis is stopped and started again, reports flowing."""

from __future__ import annotations

import time

import pytest

from datasources.redis.embedded import EmbeddedRedis
from tests.browser import post_report, start_app

pytestmark = pytest.mark.browser


def test_fault001_wall_says_reconnecting_and_shows_what_came_in_meanwhile(dash_duo, settings,
                                                                          tmp_path):
    redis_server = EmbeddedRedis(tmp_path / "wall-redis").start()
    settings = settings.with_(redis_url=redis_server.url)
    try:
        start_app(dash_duo, settings, path="/", role="display")
        base = dash_duo.server_url
        first = post_report(base, 1, "wall-fault-0001")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{first}", timeout=10)

        redis_server.stop()
        dash_duo.wait_for_text_to_equal("#home-status", "重连中…", timeout=15)
        # Reports keep being taken (committed) while the screens cannot be told.
        during = [post_report(base, i, f"wall-fault-{i:04d}") for i in (2, 3, 4)]
        assert [s for s, _, _ in during] == [201, 201, 201]
        redis_server.start()
        back = time.monotonic()
        dash_duo.wait_for_text_to_equal("#home-status", "实时", timeout=20)
        for _, body, _ in during:
            dash_duo.wait_for_element(f"#inc-{body['id']}", timeout=10)
        print(f"\nRedis back -> wall live with the 3 missed reports in "
              f"{time.monotonic() - back:.1f} s")
        after = post_report(base, 5, "wall-fault-0005")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{after}", timeout=10)
        assert len(dash_duo.find_elements("#home-feed .feed-item")) == 5
    finally:
        redis_server.stop()
