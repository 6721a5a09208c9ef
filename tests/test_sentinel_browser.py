"""A wall and a duty console (in English) in real Chromium while the Redis primary behind
three sentinels is killed -9: both show the gap (since when), the reports taken meanwhile
arrive through the catch-up from the SQL log, the badge says how many steps it filled,
then clears (issue 17)."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.browser import post_report, signed_in_browser, start_app, wait_until
from tests.sentinel import MASTER, SKIP_REASON, binaries, sentinel_set

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(binaries() is None, reason=SKIP_REASON)]


def _text(driver, selector: str) -> str:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
        selector)


def test_a_wall_and_a_console_show_the_failover_gap_then_clear_it(dash_duo, settings,
                                                                   tmp_path):
    with sentinel_set(tmp_path / "redis") as rs, contextlib.ExitStack() as stack:
        settings = settings.with_(redis_url="", redis_sentinels=rs.setting,
                                  redis_master=MASTER)
        start_app(dash_duo, settings, path="/", role="display")
        base = dash_duo.server_url
        console = stack.enter_context(
            signed_in_browser(settings, base, "officer", path="/dispatch?lang=en"))
        first = post_report(base, 1, "wall-failover-0001")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{first}", timeout=15)
        assert dash_duo.find_element("#home-gap").text == ""
        wait_until(lambda: _text(console, "#disp-gap") == "", 15, "the console's badge")

        old, killed = rs.kill_primary()
        # The gap is shown, with the time it opened, in the screen's language.
        dash_duo.wait_for_contains_text("#home-gap", "断档", timeout=15)
        assert "补齐中" in dash_duo.find_element("#home-gap").text
        # The duty console says the same, in its own language (English here).
        wait_until(lambda: "catching up" in (_text(console, "#disp-gap") or ""), 15,
                   "the console's gap badge")
        assert (_text(console, "#disp-gap") or "").startswith("Gap since ")
        # Reports keep being taken by the door while no primary answers.
        during = [post_report(base, i, f"wall-failover-{i:04d}") for i in (2, 3, 4)]
        assert [s for s, _, _ in during] == [201, 201, 201], during
        rs.wait_promoted(old)
        # Filled from the SQL log: the badge says how many steps, the reports are there.
        dash_duo.wait_for_contains_text("#home-gap", "断档已补齐", timeout=20)
        wait_until(lambda: "Gap filled" in (_text(console, "#disp-gap") or ""), 20,
                   "the console to say the gap is filled")
        live = time.monotonic() - killed
        for _, body, _ in during:
            dash_duo.wait_for_element(f"#inc-{body['id']}", timeout=10)
        dash_duo.wait_for_text_to_equal("#home-status", "实时", timeout=10)
        # The badge clears by itself; the wall goes on with the new primary.
        dash_duo.wait_for_text_to_equal("#home-gap", "", timeout=20)
        wait_until(lambda: _text(console, "#disp-gap") == "", 20, "the console's badge to clear")
        for _, body, _ in during:  # the console's list has what the door took meanwhile
            wait_until(lambda b=body: console.find_elements("css selector",
                                                            f"#q-{b['id']}"), 10,
                       "the console's row of a report taken during the failover")
        after = post_report(base, 5, "wall-failover-0005")[1]["id"]
        dash_duo.wait_for_element(f"#inc-{after}", timeout=10)
        assert len(dash_duo.find_elements("#home-feed .feed-item")) == 5
        print(f"\nprimary killed -> wall caught up in {live:.1f} s")
