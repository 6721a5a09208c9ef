"""Publish→screen latency of zhongnao: reports into Redis, seen in the feed of S real browsers.

    .venv/bin/python bench/latency.py                       # 10 screens, 500 vehicles
    .venv/bin/python bench/latency.py --screens 1 --vehicles 13

Starts a real Redis (REDIS_URL, or an embedded redis-server), `zhongnao serve` and
`zhongnao simulate` as subprocesses, opens S headless Chromium screens, publishes R incident
reports on `<prefix>:ingest` and records when each screen's DOM first shows each title.
See bench/README.md for what is measured and the caveats.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from _common import (  # noqa: E402
    free_port,
    get_json,
    new_chrome,
    proc_cpu_s,
    summary,
    tree_cpu_s,
    tree_delta,
    tree_delta_by_kind,
    tree_pids,
    wait_until,
)

MARK = "基准测试"
POSITIONS_PER_MESSAGE = 500  # Bus.publish_positions(chunk=500)

# Injected into every screen once it is live: the first time a feed title carrying MARK is
# in the DOM, record timeOrigin+now (epoch ms, same clock as the bench's time.time()), and
# the start of the next animation frame after it (≈ when it can be painted). Long tasks
# (main thread busy > 50 ms) are counted too: they are what delays a DOM update.
OBSERVER_JS = r"""
if (!window.__seen) {
  const MARK = arguments[0];
  window.__seen = {}; window.__frame = {};
  window.__lt = {n: 0, ms: 0, max: 0, since: performance.timeOrigin + performance.now()};
  const now = () => performance.timeOrigin + performance.now();
  const root = document.getElementById('home-feed') || document.body;
  const scan = () => {
    const t = now();
    const fresh = [];
    for (const el of root.querySelectorAll('.feed-title')) {
      const s = el.textContent;
      if (s.indexOf(MARK) >= 0 && !(s in window.__seen)) { window.__seen[s] = t; fresh.push(s); }
    }
    if (fresh.length) requestAnimationFrame(() => {
      const p = now(); for (const s of fresh) window.__frame[s] = p; });
  };
  new MutationObserver(scan).observe(root, {childList: true, subtree: true, characterData: true});
  scan();
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__lt.n += 1; window.__lt.ms += e.duration;
        window.__lt.max = Math.max(window.__lt.max, e.duration);
      }
    }).observe({type: 'longtask', buffered: false});
  } catch (e) { window.__lt.error = String(e); }
}
return true;
"""

CLOCK_JS = "return [performance.timeOrigin + performance.now(), Date.now()];"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--screens", type=int, default=10, help="headless Chromium screens")
    p.add_argument("--vehicles", type=int, default=500, help="simulated buses (zhongnao simulate)")
    p.add_argument("--reports", type=int, default=60, help="incident reports to publish")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between two reports")
    p.add_argument("--warmup", type=float, default=10.0,
                   help="seconds of simulator load with all screens live before measuring")
    p.add_argument("--port", default="auto", help="server port, or 'auto' for a free one")
    p.add_argument("--settle", type=float, default=10.0,
                   help="seconds to wait after the last publish for stragglers")
    p.add_argument("--drain", type=float, default=40.0,
                   help="seconds to let saturated screens answer once the load is stopped")
    p.add_argument("--keep-data", action="store_true", help="keep the temp data folder (logs)")
    p.add_argument("--target-p95-ms", type=float, default=250.0,
                   help="print PASS/FAIL of the overall p95 against this (never changes exit code)")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON result")
    return p.parse_args(argv)


class EventTap:
    """Subscribes to `<prefix>:events`; records when each benchmark incident.created arrives."""

    def __init__(self, url: str, channel: str):
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.received: dict[str, float] = {}  # title -> epoch ms the bench got the event
        self.sent: dict[str, float] = {}  # title -> event.sent_at (server, epoch ms)
        self.other_events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-tap", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.pubsub.get_message(timeout=0.2)
            except (redis.RedisError, OSError):
                if self._stop.is_set():
                    return
                time.sleep(0.2)
                continue
            if msg is None:
                continue
            now = time.time() * 1000
            try:
                body = json.loads(msg["data"])
            except ValueError:
                continue
            inc = body.get("incident") or {}
            title = inc.get("title") or ""
            if body.get("type") == "incident.created" and MARK in title:
                self.received.setdefault(title, now)
                if body.get("sent_at"):
                    self.sent.setdefault(title, body["sent_at"] * 1000)
            else:
                self.other_events += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            self.pubsub.close()
            self.client.close()


class Bench:
    """Owns every resource of one run so `close()` can release them all."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="zn-bench-"))
        self.embedded: Any = None
        self.server: subprocess.Popen[bytes] | None = None
        self.sim: subprocess.Popen[bytes] | None = None
        self.drivers: list[Any] = []
        self.tap: EventTap | None = None
        self.logs: list[Any] = []

    # ---------------------------------------------------------------- setup
    def start_redis(self) -> tuple[str, str]:
        external = os.environ.get("REDIS_URL")
        if external:
            return external, f"znbench{uuid.uuid4().hex[:8]}"
        from datasources.redis.embedded import EmbeddedRedis

        self.embedded = EmbeddedRedis(self.tmp).start()
        return self.embedded.url, "zn"

    def child_env(self, redis_url: str, prefix: str, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"ZN_DATA_DIR": str(self.tmp), "ZN_PORT": str(port), "REDIS_URL": redis_url,
                    "ZN_REDIS_PREFIX": prefix, "PYTHONUNBUFFERED": "1",
                    # Every bench report is its own work order (they share one point and
                    # category, which the merge rule would fold into one).
                    "ZN_DEDUP_METERS": "0"})
        env.setdefault("DATABASE_URL", f"sqlite:///{self.tmp / 'zhongnao.db'}")
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed in close()
        self.logs.append(log)
        # Own session: a Ctrl-C on the terminal reaches only the bench, which stops them.
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(ROOT), start_new_session=True)

    def wait_healthy(self, base: str, timeout: float) -> None:
        """Until the spawned server answers /api/health ok; fail at once if it exited."""
        def healthy() -> bool:
            if self.server is not None and self.server.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.tmp / 'server.log'}")
            status, body = get_json(f"{base}/api/health")
            return status == 200 and bool(body and body.get("ok"))

        wait_until(healthy, timeout=timeout, step=0.25, what="GET /api/health ok")

    def open_screen(self, url: str) -> Any:
        from selenium.webdriver.common.by import By

        driver = new_chrome()
        self.drivers.append(driver)
        driver.get(url)
        def live() -> bool:
            found = driver.find_elements(By.CSS_SELECTOR, "#home-status.ok")
            return bool(found)

        wait_until(live, timeout=60, step=0.2,
                   what=f"#home-status.ok on screen {len(self.drivers)}")
        driver.execute_script(OBSERVER_JS, MARK)
        return driver

    # ---------------------------------------------------------------- teardown
    def stop_simulator(self) -> None:
        if self.sim is not None and self.sim.poll() is None:
            self.sim.terminate()
            try:
                self.sim.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.sim.kill()
                self.sim.wait()

    def close_browsers(self, budget: float = 15.0) -> None:
        """Quit every screen (in parallel, bounded), then kill what is left of each
        chromedriver's own process tree, by pid."""
        roots = [d.service.process.pid for d in self.drivers
                 if getattr(getattr(d, "service", None), "process", None) is not None]
        trees = tree_pids(roots)
        quits = [threading.Thread(target=lambda d=d: d.quit(), daemon=True)
                 for d in self.drivers]
        for t in quits:
            t.start()
        end = time.monotonic() + budget
        for t in quits:
            t.join(max(0.0, end - time.monotonic()))
        for pid in reversed(trees):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for d in self.drivers:
            with contextlib.suppress(Exception):
                d.service.process.wait(timeout=2)
        self.drivers = []

    def close(self) -> None:
        if self.tap is not None:
            self.tap.close()
        self.stop_simulator()
        self.close_browsers()
        for proc in (self.sim, self.server):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGINT if proc is self.server else signal.SIGTERM)
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.embedded is not None:
            with contextlib.suppress(Exception):
                self.embedded.stop()
        for log in self.logs:
            log.close()
        if self.args.keep_data:
            print(f"data kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


COLLECT_JS = """return {seen: window.__seen || {}, frame: window.__frame || {},
        lt: window.__lt || {}, now: performance.timeOrigin + performance.now()};"""


class Collector:
    """Reads the observer's records from every screen without ever blocking the bench on a
    screen whose main thread is saturated: one call in flight per screen, in a thread."""

    def __init__(self, drivers: list[Any]):
        self.drivers = drivers
        self.latest: list[dict[str, Any] | None] = [None] * len(drivers)
        self.pending: list[threading.Thread | None] = [None] * len(drivers)
        self.errors: list[str | None] = [None] * len(drivers)

    def _read(self, n: int) -> None:
        try:
            self.latest[n] = self.drivers[n].execute_script(COLLECT_JS)
            self.errors[n] = None
        except Exception as exc:  # noqa: BLE001 - a timed-out or dead screen
            self.errors[n] = type(exc).__name__

    def poll(self) -> None:
        """Start a read on every screen that has none in flight."""
        for n in range(len(self.drivers)):
            t = self.pending[n]
            if t is None or not t.is_alive():
                t = threading.Thread(target=self._read, args=(n,), daemon=True)
                self.pending[n] = t
                t.start()

    def wait(self, timeout: float) -> bool:
        """Wait for the reads in flight; True when all answered within `timeout`."""
        deadline = time.monotonic() + timeout
        for t in self.pending:
            if t is not None:
                t.join(max(0.0, deadline - time.monotonic()))
        return all(t is None or not t.is_alive() for t in self.pending)


def fmt(v: float | None, width: int = 8) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.0f}"


def print_table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    head = f"{'':<22}{'count':>7}{'missed':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'mean':>8}"
    print(head)
    for name, s in rows:
        print(f"{name:<22}{s['count']:>7}{s['missed']:>7}{fmt(s['p50'])}{fmt(s['p95'])}"
              f"{fmt(s['p99'])}{fmt(s['max'])}{fmt(s['mean'])}")


def run(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    zhongnao = str(Path(sys.executable).with_name("zhongnao"))
    port = free_port() if args.port == "auto" else int(args.port)
    redis_url, prefix = bench.start_redis()
    env = bench.child_env(redis_url, prefix, port)
    base = f"http://127.0.0.1:{port}"
    print(f"data {bench.tmp}  redis {redis_url} prefix {prefix}  server {base}")

    t0 = time.monotonic()
    bench.server = bench.spawn("server", [zhongnao, "serve"], env)

    bench.wait_healthy(base, timeout=90)
    print(f"server healthy after {time.monotonic() - t0:.1f} s (pid {bench.server.pid})")

    bench.sim = bench.spawn("simulate", [zhongnao, "simulate", "--vehicles", str(args.vehicles),
                                         "--rate", "1"], env)

    from selenium.webdriver.remote.remote_connection import RemoteConnection

    RemoteConnection.set_timeout(90)  # no webdriver call may hang the bench for ever
    # Walls are kiosks: one token for all of them (stored hashed, like a real hall's).
    kiosk = subprocess.run([zhongnao, "key", "add", "bench walls", "--kind", "kiosk"], env=env,
                           check=True, capture_output=True, text=True).stdout.split()[0]
    t1 = time.monotonic()
    for i in range(args.screens):
        bench.open_screen(f"{base}/?kiosk={kiosk}")
        print(f"screens live: {i + 1}/{args.screens} at {time.monotonic() - t1:.1f} s", flush=True)
    print(f"  ({time.monotonic() - t1:.1f} s)")
    if bench.sim.poll() is not None:
        raise RuntimeError(f"zhongnao simulate exited; see {bench.tmp / 'simulate.log'}")

    # Clock check: the browser's timeOrigin+now against Date.now() and this process's clock.
    def clocks() -> list[dict[str, float]]:
        out = []
        for d in bench.drivers:
            before = time.time() * 1000
            perf, date = d.execute_script(CLOCK_JS)
            after = time.time() * 1000
            out.append({"perf_minus_date_ms": perf - date,
                        "perf_minus_bench_ms": perf - (before + after) / 2,
                        "call_ms": after - before})
        return out

    clock_start = clocks()
    worst = max(clock_start, key=lambda c: abs(c["perf_minus_bench_ms"]))
    print("clock: timeOrigin+now - Date.now() = "
          f"{', '.join(format(c['perf_minus_date_ms'], '+.1f') for c in clock_start)} ms; "
          f"vs bench clock worst {worst['perf_minus_bench_ms']:+.1f} ms "
          f"(±{worst['call_ms'] / 2:.1f} ms call)")

    print(f"warm-up {args.warmup:.0f} s with {args.vehicles} vehicles ...")
    time.sleep(args.warmup)

    r = redis.Redis.from_url(redis_url)
    ingest = f"{prefix}:ingest"
    bench.tap = EventTap(redis_url, f"{prefix}:events")
    time.sleep(0.3)  # let the tap's SUBSCRIBE land

    chrome_roots = [d.service.process.pid for d in bench.drivers]
    sim_pid = bench.sim.pid
    server_pid = bench.server.pid
    _, health0 = get_json(f"{base}/api/health")
    cpu0 = {"server": proc_cpu_s(server_pid), "sim": proc_cpu_s(sim_pid),
            "redis": proc_cpu_s(bench.embedded.process.pid) if bench.embedded else None,
            "browsers": tree_cpu_s(chrome_roots), "bench": time.process_time()}
    with open("/proc/stat") as f:
        stat0 = [int(x) for x in f.readline().split()[1:]]
    w0 = time.monotonic()

    published: dict[str, float] = {}
    run_id = uuid.uuid4().hex[:6]
    print(f"publishing {args.reports} reports every {args.interval} s ...")
    for i in range(args.reports):
        due = w0 + i * args.interval
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        title = f"{MARK} {i + 1:06d} {run_id}"
        body = {"type": "incident.report", "source": "hotline", "category": "fire",
                "title": title, "lon": 104.45, "lat": 30.55,
                "msg_id": f"bench-{run_id}-{i + 1:06d}"}
        payload = json.dumps(body, ensure_ascii=False)
        published[title] = time.time() * 1000
        r.publish(ingest, payload)

    # Wait until every screen shows every report, or `settle` s after the last publish.
    last_pub = time.monotonic()
    deadline_epoch_ms = time.time() * 1000 + args.settle * 1000
    deadline = last_pub + args.settle
    collector = Collector(bench.drivers)
    while time.monotonic() < deadline:
        collector.poll()
        collector.wait(min(1.0, max(0.0, deadline - time.monotonic())))
        if all(x is not None and len(x["seen"]) >= len(published) for x in collector.latest):
            break
        time.sleep(0.25)
    w1 = time.monotonic()
    window_s = w1 - w0

    cpu1 = {"server": proc_cpu_s(server_pid), "sim": proc_cpu_s(sim_pid),
            "redis": proc_cpu_s(bench.embedded.process.pid) if bench.embedded else None,
            "browsers": tree_cpu_s(chrome_roots), "bench": time.process_time()}
    with open("/proc/stat") as f:
        stat1 = [int(x) for x in f.readline().split()[1:]]
    _, health1 = get_json(f"{base}/api/health")
    loadavg = os.getloadavg()

    # Stop the load so saturated screens drain their backlog and answer; a report a screen
    # showed after the deadline counts as missed (its DOM time is kept in the raw data).
    bench.stop_simulator()
    collector.poll()
    drained = collector.wait(args.drain)
    late_screens = [n + 1 for n, x in enumerate(collector.latest) if x is None]
    if not drained or late_screens:
        print(f"warning: screens {late_screens or 'some'} did not answer within "
              f"{args.drain:.0f} s after the load stopped", file=sys.stderr)
    empty: dict[str, Any] = {"seen": {}, "frame": {}, "lt": {}}
    got = [x or empty for x in collector.latest]
    seen_all = [x["seen"] for x in got]
    seen = [{t: v for t, v in s.items() if v <= deadline_epoch_ms} for s in seen_all]
    frames = [x["frame"] for x in got]
    longtasks = [x["lt"] for x in got]
    clock_end: list[dict[str, float]] = []
    if drained and not late_screens:
        with contextlib.suppress(Exception):
            clock_end = clocks()

    def pct(key: str) -> float | None:
        a, b = cpu0[key], cpu1[key]
        if a is None or b is None:
            return None
        return (b - a) / window_s * 100

    busy = [b - a for a, b in zip(stat0, stat1, strict=False)]
    idle = busy[3] + (busy[4] if len(busy) > 4 else 0)
    machine_busy = (1 - idle / sum(busy)) * 100 if sum(busy) else None
    cpu = {"server_pct": pct("server"), "simulator_pct": pct("sim"), "redis_pct": pct("redis"),
           "browsers_pct": tree_delta(cpu0["browsers"], cpu1["browsers"]) / window_s * 100,
           "browsers_by_kind_pct": {k: v / window_s * 100 for k, v in sorted(
               tree_delta_by_kind(cpu0["browsers"], cpu1["browsers"]).items())},
           "bench_pct": pct("bench"), "machine_busy_pct": machine_busy,
           "cores": os.cpu_count(), "loadavg": loadavg}

    vmsgs = ((health1 or {}).get("stats", {}).get("vehicle_msgs", 0)
             - (health0 or {}).get("stats", {}).get("vehicle_msgs", 0))
    per_tick_msgs = max(1, math.ceil(args.vehicles / POSITIONS_PER_MESSAGE))
    vehicles_per_s = vmsgs / per_tick_msgs * args.vehicles / window_s

    # ---------------------------------------------------------------- figures
    all_lat: list[float] = []
    all_frame: list[float] = []
    missed_total = 0
    per_screen = []
    for n, (s, fr) in enumerate(zip(seen, frames, strict=True), start=1):
        lat = [s[t] - p for t, p in published.items() if t in s]
        frm = [fr[t] - p for t, p in published.items() if t in s and t in fr]
        missed = sum(1 for t in published if t not in s)
        missed_total += missed
        all_lat += lat
        all_frame += frm
        per_screen.append({"screen": n, **summary(lat, missed), "longtasks": longtasks[n - 1]})

    tap = bench.tap
    pub_to_sent = [tap.sent[t] - p for t, p in published.items() if t in tap.sent]
    pub_to_event = [tap.received[t] - p for t, p in published.items() if t in tap.received]
    event_to_screen = [s[t] - tap.received[t] for s in seen for t in published
                       if t in s and t in tap.received]
    sent_to_screen = [s[t] - tap.sent[t] for s in seen for t in published
                      if t in s and t in tap.sent]
    overall = summary(all_lat, missed_total)
    breakdown = {
        "publish_to_event_sent": summary(pub_to_sent, len(published) - len(pub_to_sent)),
        "publish_to_event": summary(pub_to_event, len(published) - len(pub_to_event)),
        "event_to_screen": summary(event_to_screen),
        "event_sent_to_screen": summary(sent_to_screen),
        "publish_to_next_frame": summary(all_frame),
    }

    print()
    print(f"publish→screen latency, ms ({args.screens} screens × {args.reports} reports, "
          f"{args.vehicles} vehicles, window {window_s:.1f} s)")
    print_table([("all screens", overall)]
                + [(f"  screen {p['screen']}", p) for p in per_screen])
    print()
    print("breakdown, ms")
    print_table([("publish→event sent", breakdown["publish_to_event_sent"]),
                 ("publish→event (tap)", breakdown["publish_to_event"]),
                 ("event (tap)→screen", breakdown["event_to_screen"]),
                 ("publish→next frame", breakdown["publish_to_next_frame"])])
    print()
    print(f"CPU over the window ({cpu['cores']} cores, % of one core): "
          f"server {cpu['server_pct']:.0f}%  simulator {cpu['simulator_pct']:.0f}%  "
          + (f"redis {cpu['redis_pct']:.0f}%  " if cpu["redis_pct"] is not None else "")
          + f"browsers {cpu['browsers_pct']:.0f}%  bench {cpu['bench_pct']:.0f}%;  "
          f"machine busy {machine_busy:.0f}%")
    print("browsers by process kind (all screens): " + "  ".join(
        f"{k} {v:.0f}%" for k, v in cpu["browsers_by_kind_pct"].items() if v >= 0.5))
    print(f"load average {loadavg[0]:.2f} {loadavg[1]:.2f} {loadavg[2]:.2f};  "
          f"vehicle positions received by the server {vehicles_per_s:.0f}/s "
          f"({vmsgs} messages; {(health1 or {}).get('vehicles')} vehicles in state)")
    lt = [x for x in longtasks if x]
    if lt:
        print("browser long tasks per screen over the run: "
              + ", ".join(f"{x.get('n', 0)}×/{x.get('ms', 0) / 1000:.1f}s" for x in lt))
    verdict = None
    if overall["p95"] is not None:
        verdict = "PASS" if overall["p95"] <= args.target_p95_ms and missed_total == 0 else "FAIL"
        print(f"{verdict}: p95 {overall['p95']:.0f} ms vs target {args.target_p95_ms:.0f} ms"
              + (f", {missed_total} missed" if missed_total else ""))
    else:
        print(f"FAIL: nothing seen (target p95 {args.target_p95_ms:.0f} ms)")
        verdict = "FAIL"

    return {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"node": platform.node(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "redis": "external" if os.environ.get("REDIS_URL") else "embedded",
        "database": "external" if os.environ.get("DATABASE_URL") else "sqlite",
        "window_s": window_s, "overall_ms": overall, "per_screen_ms": per_screen,
        "breakdown_ms": breakdown, "cpu": cpu, "vehicles_per_s": vehicles_per_s,
        "vehicle_msgs": vmsgs, "health_before": health0, "health_after": health1,
        "clock_start": clock_start, "clock_end": clock_end,
        "target_p95_ms": args.target_p95_ms, "verdict": verdict,
        "raw": {"published": published, "event_sent": tap.sent, "event_received": tap.received,
                "seen": seen_all, "frame": frames, "deadline_ms": deadline_epoch_ms,
                "unanswered_screens": late_screens},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    bench = Bench(args)
    try:
        result = run(args, bench)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        for name in ("server", "simulate"):
            log = bench.tmp / f"{name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print(f"--- last lines of {name}.log\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        bench.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"latency-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"result: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
