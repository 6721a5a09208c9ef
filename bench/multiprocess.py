"""Two workers behind nginx: report → wall latency through nginx, and failover after kill -9.

    .venv/bin/python bench/multiprocess.py [--reports 30]

`zhongnao serve --workers 2` (one embedded Redis, one scratch SQLite database) behind
Debian's nginx with deploy/nginx/zhongnao.conf (tests/cluster.py starts both), one wall in
headless Chromium opened through nginx. Each round POSTs a report through nginx and
records, in the wall's own clock, when it heads the wall's feed: p50/p95/max. Then kill -9
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
from tests.browser import kiosk_url, new_browser, post_report, wait_until  # noqa: E402
from tests.cluster import cluster, health, nginx_binary  # noqa: E402

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


def _send(base: str, i: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = post_report(base, i, f"bench-mp-{i:05d}")
        if status in (200, 201):
            return
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


def main() -> None:
    """Run the rounds and the failover; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=30)
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
                      f"{summary(latencies)} ms")
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
