"""Two workers behind nginx: dispatch → wall latency through nginx, failover after kill -9.

    .venv/bin/python bench/multiprocess.py [--reports 30] [--dispatches 20]

`zhongnao serve --workers 2` (one embedded Redis, one scratch SQLite database) behind
Debian's nginx with deploy/nginx/zhongnao.conf (tests/cluster.py starts both), one wall in
headless Chromium opened through nginx, an officer's console through nginx too (each on
whichever worker nginx gave it). Rounds of a report POSTed through nginx (until it heads the
wall's feed), then rounds of 派遣 clicked on the console (until the wall's feed item turns
派遣), timed in the browsers' clock: p50/p95/max. Then kill -9
of the worker serving the wall: the time until the other worker holds the leader lease,
and until the wall shows a report sent right after the kill (reconnect and resync).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _common import summary  # noqa: E402

from dashboard.settings import Settings  # noqa: E402
from tests.browser import (  # noqa: E402
    kiosk_url,
    new_browser,
    sign_in,
    wait_until,
)
from tests.cluster import cluster, health, nginx_binary, post  # noqa: E402

WATCH = """
const title = arguments[0];
window.__seenAt = null;
const check = () => {
  const el = document.querySelector('#home-feed .feed-item .feed-title');
  if (window.__seenAt === null && el && el.textContent === title) { window.__seenAt = Date.now(); }
};
new MutationObserver(check).observe(document.getElementById('home-feed'),
                                    {childList: true, subtree: true, characterData: true});
check();
"""


DISPATCHED = """
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


def _send(base: str, i: int) -> int:
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = post(base, i, f"bench-mp-{i:05d}")
        if status in (200, 201):
            return int(body["id"])
        if time.monotonic() > deadline:
            raise SystemExit(f"report {i} refused: {status} {body}")
        time.sleep(0.05)


def _round(wall, base: str, i: int) -> float:  # type: ignore[no-untyped-def]
    title = f"故障演练-{i:03d}"
    wall.execute_script(WATCH, title)
    sent = time.time() * 1000
    _send(base, i)
    seen = wait_until(lambda: wall.execute_script("return window.__seenAt"), 10,
                      f"{title} on the wall", interval=0.01)
    return float(seen) - sent


def _figures(values: list[float]) -> str:
    s = summary(values)
    return f"p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms, max {s['max']:.0f} ms"


def _dispatch(console, wall, settings, base: str, i: int) -> float:  # type: ignore[no-untyped-def]
    """One report, opened on the console, its first recommendation's 派遣 clicked."""
    from selenium.webdriver.common.by import By

    incident = _send(base, i)
    if i == 200:
        sign_in(console, settings, base, "officer", path=f"/dispatch?incident={incident}")
    else:
        console.get(f"{base}/dispatch?incident={incident}")
    button = wait_until(lambda: console.find_elements(
        By.CSS_SELECTOR, "#disp-recs .disp-rec-btn:not([disabled])"), 30,
        "the dispatch button")[0]
    wait_until(lambda: wall.execute_script(
        "return !!document.getElementById('inc-' + arguments[0]);", incident), 10,
        "the report on the wall")
    wall.execute_script(DISPATCHED, incident)
    clicked = console.execute_script("return Date.now();")
    button.click()
    seen = wait_until(lambda: wall.execute_script("return window.__seenAt;"), 10,
                      "派遣 on the wall", interval=0.01)
    return float(seen) - float(clicked)


def main() -> None:
    """Run the rounds and the failover; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=30)
    ap.add_argument("--dispatches", type=int, default=20)
    args = ap.parse_args()
    if nginx_binary() is None:
        raise SystemExit("nginx is not installed: tools/ensure_nginx.sh")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings.from_env(environ={}, data_dir=str(folder),
                                     database_url=f"sqlite:///{folder / 'bench.db'}",
                                     redis_prefix="benchmp")
        with cluster(settings, folder) as c:
            wall = new_browser()
            try:
                wall.get(kiosk_url(settings, c.base))
                wait_until(lambda: wall.execute_script(
                    "const e = document.getElementById('home-status');"
                    "return !!e && e.classList.contains('ok');"), 60, "the wall to go live")
                latencies = [_round(wall, c.base, i) for i in range(args.reports)]
                print(f"report through nginx → wall, 2 workers, {args.reports} reports: "
                      f"{_figures(latencies)}")
                console = new_browser()
                try:
                    took = [_dispatch(console, wall, settings, c.base, 200 + n)
                            for n in range(args.dispatches)]
                finally:
                    console.quit()
                print(f"派遣 clicked on a console through nginx → wall through nginx, "
                      f"2 workers, {args.dispatches} dispatches: {_figures(took)}")
                # Which worker serves the wall: pause each in turn, see whether it moves.
                victim = None
                for i in range(2):
                    os.kill(c.pids[1 - i], signal.SIGSTOP)
                    try:
                        try:
                            _round(wall, c.worker(i), 500 + i)
                            victim = i
                        except AssertionError:
                            pass
                    finally:
                        os.kill(c.pids[1 - i], signal.SIGCONT)
                    if victim is not None:
                        break
                if victim is None:
                    raise SystemExit("could not tell which worker serves the wall")
                time.sleep(3)  # the paused worker is back in the lease's rotation
                title = "故障演练-900"
                wall.execute_script(WATCH, title)
                killed = time.time()
                c.kill(victim)
                _send(c.base, 900)
                seen = wait_until(lambda: wall.execute_script("return window.__seenAt"), 30,
                                  "the wall after the kill", interval=0.01)
                print(f"kill -9 of the wall's worker: the wall shows a report sent after "
                      f"the kill {float(seen) / 1000 - killed:.2f} s after the kill")
                # The killed worker is started again by `serve`; then kill the leader.
                wait_until(lambda: all(health(c.worker(i)) for i in range(2)), 60,
                           "both workers back")
                wait_until(lambda: c.leader() is not None, 30, "one leader")
                leader = c.leader()
                assert leader is not None
                killed = time.time()
                c.kill(leader)
                wait_until(lambda: bool((h := health(c.worker(1 - leader))) and h["leader"]),
                           30, "the other worker to lead", interval=0.02)
                print(f"kill -9 of the leader: the other worker leads "
                      f"{time.time() - killed:.2f} s later (ZN_LEADER_TTL_S=2)")
                runs = c.sweep_runs()
                print(f"sweep rounds per period over {len(runs)} periods: "
                      f"{sorted(set(runs.values()))} (1 = exactly once)")
            finally:
                wall.quit()


if __name__ == "__main__":
    main()
