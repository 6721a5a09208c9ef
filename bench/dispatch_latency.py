"""Dispatch click → other screen: an officer clicks 派遣 on /dispatch, a wall shows 派遣.

    .venv/bin/python bench/dispatch_latency.py [--dispatches 20] [--vehicles 500]

Real `zhongnao serve` and `zhongnao simulate` processes on an embedded Redis and a scratch
SQLite database, two headless Chromium browsers (console and wall). Each round publishes
a report, opens it on the console, clicks the first recommendation's 派遣 and records, in
the wall's own clock, when its feed item turns 派遣. Prints p50/p95/max.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import redis
from selenium.webdriver.common.by import By

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _common import free_port, get_json, new_chrome, summary, wait_until  # noqa: E402

from datasources.redis.embedded import EmbeddedRedis  # noqa: E402
from tools.screenshot import sign_in  # noqa: E402

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


def main() -> None:
    """Run the rounds and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dispatches", type=int, default=20)
    ap.add_argument("--vehicles", type=int, default=500)
    args = ap.parse_args()
    zhongnao = str(ROOT / ".venv" / "bin" / "zhongnao")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        embedded = EmbeddedRedis(data / "redis").start()
        port = free_port()
        env = {**os.environ, "ZN_DATA_DIR": str(data), "ZN_PORT": str(port),
               "REDIS_URL": embedded.url, "DATABASE_URL": f"sqlite:///{data / 'b.db'}",
               "ZN_DEDUP_METERS": "0", "ZN_LOG_LEVEL": "WARNING", "ZN_SIM_RATE": "0.01"}
        procs = [subprocess.Popen([zhongnao, "serve"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
        browsers = []
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: get_json(f"{base}/api/health")[0] == 200, 60, what="server")
            procs.append(subprocess.Popen([zhongnao, "simulate", "--vehicles",
                                           str(args.vehicles)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            console, wall = new_chrome(), new_chrome()
            browsers = [console, wall]
            # The wall is a kiosk; the officer signs in once (accounts made by the CLI).
            kiosk = subprocess.run([zhongnao, "key", "add", "bench wall", "--kind", "kiosk"],
                                   env=env, check=True, capture_output=True,
                                   text=True).stdout.split()[0]
            subprocess.run([zhongnao, "user", "add", "值班员基准", "--role", "officer",
                            "--password", "bench-password"], env=env, check=True,
                           capture_output=True)
            wall.get(f"{base}/?kiosk={kiosk}")
            sign_in(console, f"{base}/dispatch", "值班员基准", "bench-password")
            wait_until(lambda: console.find_elements(By.ID, "disp-officer-input"), 20,
                       what="console")
            r = redis.Redis.from_url(embedded.url)
            took, missed = [], 0
            for n in range(args.dispatches):
                lon, lat = 104.43 + 0.002 * n, 30.545
                r.publish("zn:ingest", json.dumps({
                    "type": "incident.report", "source": "hotline", "category": "fire",
                    "title": f"调度基准 {n}", "lon": lon, "lat": lat,
                    "msg_id": f"dispatch-bench-{n:05d}"}, ensure_ascii=False))
                incident_id = wait_until(lambda n=n: wall.execute_script(
                    "const e=[...document.querySelectorAll('#home-feed .feed-item')].find("
                    "x => x.querySelector('.feed-title').textContent === arguments[0]);"
                    "return e ? parseInt(e.id.slice(4)) : null;", f"调度基准 {n}"), 15,
                    what="report on the wall")
                console.get(f"{base}/dispatch?incident={incident_id}")
                button = wait_until(lambda: console.find_elements(
                    By.CSS_SELECTOR, "#disp-recs .disp-rec-btn:not([disabled])"), 20,
                    what="dispatch button")[0]
                wall.execute_script(WATCH, incident_id)
                clicked = console.execute_script("return Date.now();")
                button.click()
                try:
                    seen = wait_until(lambda: wall.execute_script("return window.__seenAt;"),
                                      5, step=0.01, what="派遣 on the wall")
                    took.append(seen - clicked)
                except TimeoutError:
                    missed += 1
            s = summary(took, missed)
            print(f"dispatch click → wall, {args.dispatches} dispatches, {args.vehicles} buses: "
                  f"p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms, max {s['max']:.0f} ms, "
                  f"missed {missed}")
        finally:
            for b in browsers:
                b.quit()
            for p in procs:
                p.terminate()
                p.wait(timeout=20)
            embedded.stop()


if __name__ == "__main__":
    main()
