"""Walls served by two workers behind nginx (issue 17): a dispatch clicked on a console
served by worker A shows on a wall served by worker B within 1 s; after kill -9 of the
worker serving a wall through nginx, that wall reconnects (to the other worker) and shows
what happened since within 5 s.
Needs Debian's nginx (tools/ensure_nginx.sh) and Chromium (tools/ensure_browser.sh)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.browser import PUSHED_S, kiosk_url, new_browser, sign_in, wait_until
from tests.cluster import cluster, nginx_binary, post

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    nginx_binary() is None,
    reason="nginx is not installed (Debian package nginx; `make test` runs "
           "tools/ensure_nginx.sh): the multi-process tests need it")]

NEWEST = "#home-feed .feed-item .feed-title"


def _newest(driver) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, NEWEST)
    try:
        return found[0].text if found else ""
    except Exception:  # re-rendered between the find and the read
        return ""


def _live(driver) -> bool:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#home-status")
    try:
        return bool(found) and "ok" in (found[0].get_attribute("class") or "")
    except Exception:
        return False


# The wall's own clock when incident N's feed item turns 派遣.
WATCH = """
const id = arguments[0];
window.__seenAt = null;
const check = () => {
  const el = document.querySelector('#inc-' + id + ' .feed-state');
  if (window.__seenAt === null && el && el.textContent === '派遣') { window.__seenAt = Date.now(); }
};
new MutationObserver(check).observe(document.getElementById('home-feed'),
                                    {childList: true, subtree: true, characterData: true});
check();
"""


def _report(base: str, i: int) -> int:
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = post(base, i, f"mp-browser-{i}")
        if status in (200, 201):
            return int(body["id"])
        assert status == 0 or status >= 502, (status, body)  # only a dead worker is retried
        assert time.monotonic() < deadline, (status, body)
        time.sleep(0.1)


def test_walls_across_two_workers_and_a_kill_9(settings, tmp_path: Path) -> None:
    with cluster(settings, tmp_path) as c:
        a = c.leader()
        assert a is not None
        b = 1 - a
        pinned, wall, console = new_browser(), new_browser(), new_browser()
        try:
            # A wall pinned to worker B, a console pinned to worker A.
            pinned.get(kiosk_url(settings, c.worker(b)))
            wait_until(lambda: _live(pinned), 30, "the wall on worker B to go live")
            incident = _report(c.worker(a), 1)
            wait_until(lambda: _newest(pinned) == "故障演练-001", 5,
                       "worker A's report on the wall of worker B")
            sign_in(console, settings, c.worker(a), "officer",
                    path=f"/dispatch?incident={incident}")
            from selenium.webdriver.common.by import By

            button = wait_until(lambda: console.find_elements(
                By.CSS_SELECTOR, "#disp-recs .disp-rec-btn:not([disabled])"), 30,
                "a dispatch button on the console")[0]
            pinned.execute_script(WATCH, incident)
            clicked = console.execute_script("return Date.now();")
            button.click()
            seen = wait_until(lambda: pinned.execute_script("return window.__seenAt;"), 5,
                              "派遣 on the wall of worker B", interval=0.02)
            took = seen - clicked
            assert took < PUSHED_S * 1000, f"{took} ms from the click to the wall"

            # A wall through nginx, on worker A: with B paused, only a wall on A moves.
            on_a = False
            for attempt in range(6):
                wall.get(kiosk_url(settings, c.base))
                wait_until(lambda: _live(wall), 30, "the wall through nginx to go live")
                os.kill(c.pids[b], signal.SIGSTOP)
                try:
                    _report(c.worker(a), 10 + attempt)
                    try:
                        wait_until(lambda n=10 + attempt: _newest(wall) == f"故障演练-{n:03d}",
                                   2, "the wall to move while B is paused", interval=0.05)
                        on_a = True
                    except AssertionError:
                        on_a = False
                finally:
                    os.kill(c.pids[b], signal.SIGCONT)
                if on_a:
                    break
            assert on_a, "nginx never gave the wall's websocket to worker A"

            killed = time.monotonic()
            c.kill(a)
            _report(c.base, 20)  # nginx hands it to the worker still alive
            wait_until(lambda: _newest(wall) == "故障演练-020", 5,
                       "the wall to reconnect through nginx and resync", interval=0.05)
            wait_until(lambda: _live(wall), 5 - (time.monotonic() - killed),
                       "the wall to say it is live again", interval=0.05)
            assert time.monotonic() - killed < 5.0
            # The pinned wall on B saw all of it too, once each.
            assert _newest(pinned) == "故障演练-020"
        finally:
            pinned.quit()
            wall.quit()
            console.quit()
