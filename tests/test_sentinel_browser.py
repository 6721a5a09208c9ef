"""A wall in real Chromium while the Redis primary behind three sentinels is killed -9:
the wall shows the gap (since when), the reports taken meanwhile arrive through the catch-up
from the SQL log, the badge says how many steps it filled, then clears (issue 17)."""

from __future__ import annotations

import time

import pytest

from tests.browser import post_report, start_app
from tests.sentinel import MASTER, SKIP_REASON, binaries, sentinel_set

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(binaries() is None, reason=SKIP_REASON)]


def test_a_wall_shows_the_failover_gap_then_clears_it(dash_duo, settings, tmp_path):
    with sentinel_set(tmp_path / "redis") as rs:
        settings = settings.with_(redis_url="", redis_sentinels=rs.setting,
                                  redis_master=MASTER)
        start_app(dash_duo, settings, path="/", role="display")
        base = dash_duo.server_url
        first = post_report(base, 1, "wall-failover-0001")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{first}", timeout=15)
        assert dash_duo.find_element("#home-gap").text == ""

        old, killed = rs.kill_primary()
        # The gap is shown, with the time it opened, in the screen's language.
        dash_duo.wait_for_contains_text("#home-gap", "断档", timeout=15)
        assert "补齐中" in dash_duo.find_element("#home-gap").text
        # Reports keep being taken by the door while no primary answers.
        during = [post_report(base, i, f"wall-failover-{i:04d}") for i in (2, 3, 4)]
        assert [s for s, _, _ in during] == [201, 201, 201], during
        rs.wait_promoted(old)
        # Filled from the SQL log: the badge says how many steps, the reports are there.
        dash_duo.wait_for_contains_text("#home-gap", "断档已补齐", timeout=20)
        live = time.monotonic() - killed
        for _, body, _ in during:
            dash_duo.wait_for_element(f"#inc-{body['id']}", timeout=10)
        dash_duo.wait_for_text_to_equal("#home-status", "实时", timeout=10)
        # The badge clears by itself; the wall goes on with the new primary.
        dash_duo.wait_for_text_to_equal("#home-gap", "", timeout=20)
        after = post_report(base, 5, "wall-failover-0005")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{after}", timeout=10)
        assert len(dash_duo.find_elements("#home-feed .feed-item")) == 5
        print(f"\nprimary killed -> wall caught up in {live:.1f} s")
