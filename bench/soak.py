"""A long run at county load: does anything grow or slow down over an hour?

    SOAK_SECONDS=3600 .venv/bin/python bench/soak.py           # the default: one hour
    SOAK_SECONDS=600 .venv/bin/python bench/soak.py --walls 50 --browsers 2 --consoles 1

Starts Redis, `zhongnao serve` and `zhongnao simulate --vehicles N`; first works the town up
to a full map (--prefill: as many handled work orders as a wall marks, MAP_MARKERS, so the
start is compared with an end whose map is as full, as in a town that has worked a while
before its walls are watched); opens scripted walls
(tests/wire.py), real Chromium walls (kiosk) and real Chromium duty consoles (an officer
signed in on /dispatch); publishes a report every few seconds for the whole run. Over a
window at the start (once the town handles reports: --warmup) and one at the end, and every
few minutes between (--sample-every: the trend), it prints the server's RSS, each browser's JS heap
(after a garbage collection), frames per second per scripted wall and publish→frame
latency, and the growth from start to end; PASS when the server's RSS and every browser's
heap grew less than 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from _common import new_chrome, proc_cpu_s, summary, wait_until  # noqa: E402
from fanout import credentials, join, print_profile, profile, rss_mb, start_server  # noqa: E402
from latency import Bench  # noqa: E402

from dashboard.channels import Channels  # noqa: E402
from dashboard.screens.views import MAP_MARKERS  # noqa: E402
from tests.wire import WireWall, persistent_callbacks  # noqa: E402

MARK = "SOAK"
GROWTH = 0.10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the length: SOAK_SECONDS)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 3600)))
    p.add_argument("--walls", type=int, default=50, help="scripted walls")
    p.add_argument("--browsers", type=int, default=2, help="Chromium walls")
    p.add_argument("--consoles", type=int, default=1, help="Chromium duty consoles")
    p.add_argument("--vehicles", type=int, default=500)
    p.add_argument("--report-every", type=float, default=3.0)
    p.add_argument("--close-after", type=float, default=300.0,
                   help="seconds a report stays open before the town handles it (0: never)")
    p.add_argument("--prefill", type=int, default=MAP_MARKERS,
                   help="work orders reported and handled before the walls open (default: as "
                        "many as a wall's map marks; 0: an empty town)")
    p.add_argument("--window", type=float, default=60.0, help="seconds measured at each end")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before the start window (default: --close-after + 60, so the "
                        "town is already handling reports: like is compared with like)")
    p.add_argument("--sample-every", type=float, default=300.0,
                   help="seconds between the trend's samples of RSS and heaps (0: none)")
    p.add_argument("--profile", type=float, default=0.0,
                   help="seconds of py-spy on the server at each trend sample (0: none): "
                        "where a rise in its CPU goes")
    p.add_argument("--keep-data", action="store_true")
    p.add_argument("--port", default="auto")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = args.close_after + 60.0 if args.close_after > 0 else 30.0
    if args.warmup + 2 * (args.window + 3) > args.seconds:
        p.error(f"{args.seconds:.0f} s holds no start window after a {args.warmup:.0f} s "
                "warm-up and an end window after it: a longer SOAK_SECONDS, or a shorter "
                "--close-after or --warmup")
    return args


def heap_mb(driver: Any, reads: int = 3) -> float:
    """A browser page's used JS heap after a garbage collection, MB: the least of `reads`
    readings, a second apart. Single readings five minutes apart went up and down by up to a
    fifth in the hour of 7 Dec (9.4 → 10.4 → 9.3 → 11.5 MB), more than the growth they judge."""
    least = float("inf")
    for n in range(reads):
        if n:
            time.sleep(1.0)
        driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
        least = min(least, float(driver.execute_cdp_cmd("Runtime.getHeapUsage", {})
                                 ["usedSize"]) / 2**20)
    return least


def open_browsers(args: argparse.Namespace, base: str, env: dict[str, str]) -> list[Any]:
    """Chromium walls on a kiosk token and consoles signed in as an officer."""
    from dashboard.settings import Settings
    from tests.browser import sign_in

    settings = Settings.from_env(environ=env)
    cookies = credentials(env, 1, 0)[0]
    kiosk = next(v for k, v in cookies.items() if k != "_csrf_token")
    drivers = []
    for _ in range(args.browsers):
        d = new_chrome()
        drivers.append(d)
        d.get(f"{base}/?kiosk={kiosk}")
        wait_until(lambda d=d: d.find_elements("css selector", "#home-status.ok"), 90,
                   what="a browser wall live")
    for _ in range(args.consoles):
        d = new_chrome()
        drivers.append(d)
        sign_in(d, settings, base, "officer", path="/dispatch")
        wait_until(lambda d=d: d.find_elements("css selector", "#disp-status.ok"), 90,
                   what="a console open")
    return drivers


# How a town handles a report (dashboard/incidents/lifecycle.py: none of these is open), one
# step per report tick, as a duty officer and the assignee would.
HANDLING = ("accepted", "dispatched", "in_progress", "resolved")


def prefill(redis_url: str, prefix: str, n: int, timeout: float = 600.0) -> float:
    """Report `n` work orders through the ingest channel and handle each to resolved, a
    round of HANDLING at a time (each round once the last one's events are heard), so the
    town's map holds its full count of markers before anything is measured. The seconds."""
    started = time.monotonic()
    if n <= 0:
        return 0.0
    r, ch = redis.Redis.from_url(redis_url), Channels(prefix)
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(ch.events)
    ps.get_message(timeout=1.0)  # the subscription is in place before anything is sent
    run = uuid.uuid4().hex[:6]
    mark = f"{MARK}-PRE {run} "

    def hear(want: Any, count: int) -> list[int]:
        got: list[int] = []
        while len(got) < count:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"prefill: {len(got)} of {count} events in {timeout:.0f} s")
            msg = ps.get_message(timeout=1.0)
            if msg:
                inc = json.loads(msg["data"]).get("incident") or {}
                if want(json.loads(msg["data"]).get("type"), inc):
                    got.append(int(inc["id"]))
        return got

    try:
        for i in range(n):
            r.publish(ch.ingest, json.dumps({
                "type": "incident.report", "source": "hotline", "category": "fire",
                "title": f"{mark}{i:05d}", "lon": 104.45 + (i % 100) * 1e-5,
                "lat": 30.55 + (i // 100) * 1e-5, "msg_id": f"soak-pre-{run}-{i}"}))
        ids = hear(lambda kind, inc: kind == "incident.created"
                   and str(inc.get("title", "")).startswith(mark), n)
        mine = set(ids)
        for step in HANDLING:
            for iid in ids:
                r.publish(ch.ingest, json.dumps({
                    "type": "incident.progress", "incident_id": iid, "to_state": step,
                    "actor": "值班员", "note": "soak prefill",
                    "msg_id": f"soak-pre-{run}-{iid}-{step}"}))
            hear(lambda kind, inc, step=step: kind == "incident.updated"
                 and inc.get("id") in mine and inc.get("state") == step, n)
    finally:
        ps.close()
        r.close()
    return time.monotonic() - started


class Reporter:
    """A report every few seconds for the whole run; who saw each, when. The town handles
    each new work order (the reports and what the town raises itself) `close_after` seconds
    after it came in, so the open work orders level off as in a town, instead of every one
    of the hour staying open."""

    def __init__(self, redis_url: str, prefix: str, walls: list[WireWall], every: float,
                 close_after: float = 0.0):
        self.r = redis.Redis.from_url(redis_url)
        self.ch = Channels(prefix)
        self.channel = self.ch.ingest
        self.walls = walls
        self.every = every
        self.close_after = close_after
        self.sent: dict[str, float] = {}
        self.run = uuid.uuid4().hex[:6]
        self.created: dict[int, float] = {}  # incident id: when its event was heard
        self.handling: dict[int, int] = {}  # incident id: the next step of HANDLING
        self.handled = 0

    def _listen(self, stop: threading.Event) -> None:
        """Learn the ids of the new work orders from the events channel: this run's reports
        and what the town raises itself (the simulated buses' overspeed alerts, stock
        alerts), all handled alike. Left open, the buses' alerts (~4 a minute from 500
        simulated buses) piled up all hour: the console's queue grew to its 300 rows and
        its page's heap and the server's queue reads with it (7 Dec, 38 minutes)."""
        ps = self.r.pubsub(ignore_subscribe_messages=True)
        ps.subscribe(self.ch.events)
        try:
            while not stop.is_set():
                msg = ps.get_message(timeout=0.5)
                if not msg:
                    continue
                ev = json.loads(msg["data"])
                inc = ev.get("incident") or {}
                if ev.get("type") == "incident.created" and inc.get("id") is not None:
                    self.created.setdefault(int(inc["id"]), time.monotonic())
        finally:
            ps.close()

    def _steps(self) -> list[dict[str, Any]]:
        """The next handling step of each report that is due."""
        if self.close_after <= 0:
            return []
        now = time.monotonic()
        for iid, at in list(self.created.items()):
            if now - at >= self.close_after:
                del self.created[iid]
                self.handling[iid] = 0
        out = []
        for iid, n in list(self.handling.items()):
            out.append({"type": "incident.progress", "incident_id": iid,
                        "to_state": HANDLING[n], "actor": "值班员", "note": "soak",
                        "msg_id": f"soak-{self.run}-{iid}-{HANDLING[n]}"})
            if n + 1 == len(HANDLING):
                del self.handling[iid]
                self.handled += 1
            else:
                self.handling[iid] = n + 1
        return out

    async def loop(self, until: float) -> None:
        """Publish until the monotonic time `until`."""
        stop = threading.Event()
        listener = asyncio.create_task(asyncio.to_thread(self._listen, stop))
        try:
            await self._publish(until)
        finally:
            stop.set()
            await listener

    async def _publish(self, until: float) -> None:
        i = 0
        while time.monotonic() < until:
            i += 1
            for step in self._steps():
                await asyncio.to_thread(self.r.publish, self.channel, json.dumps(step))
            title = f"{MARK} {self.run} {i:05d}"
            for w in self.walls:
                w.expect([title])
            body = {"type": "incident.report", "source": "hotline", "category": "fire",
                    "title": title, "lon": 104.45 + (i % 100) * 1e-5, "lat": 30.55,
                    "msg_id": f"soak-{self.run}-{i}"}
            self.sent[title] = time.time()
            await asyncio.to_thread(self.r.publish, self.channel, json.dumps(body))
            await asyncio.sleep(self.every)

    def latencies(self, start: float, end: float) -> tuple[list[float], int]:
        """publish→frame (ms) of the reports sent between two epoch times; and the misses."""
        titles = [m for m, at in self.sent.items() if start <= at < end]
        lat = [(w.seen[m] - self.sent[m]) * 1000 for w in self.walls for m in titles
               if m in w.seen]
        return lat, sum(1 for w in self.walls for m in titles if m not in w.seen)


async def window(name: str, args: argparse.Namespace, server_pid: int, walls: list[WireWall],
                 drivers: list[Any], reporter: Reporter) -> dict[str, Any]:
    """Measure one window: frames/s, CPU, latency, RSS, heaps."""
    counts0 = sum(sum(w.counts.values()) for w in walls)
    cpu0, t0, e0 = proc_cpu_s(server_pid) or 0.0, time.monotonic(), time.time()
    await asyncio.sleep(args.window)
    await asyncio.sleep(3)  # the last reports of the window arrive
    span = time.monotonic() - t0
    lat, missed = reporter.latencies(e0, e0 + args.window)
    heaps = [await asyncio.to_thread(heap_mb, d) for d in drivers]
    row = {"window": name, "rss_mb": rss_mb(server_pid),
           "cpu_pct": ((proc_cpu_s(server_pid) or 0.0) - cpu0) / span * 100,
           "frames_per_s_per_wall": (sum(sum(w.counts.values()) for w in walls) - counts0)
           / span / max(1, len(walls)),
           "latency": summary(lat, missed), "heaps_mb": heaps,
           "closed": sum(1 for w in walls if w.closed), "load": os.getloadavg()[0]}
    s = row["latency"]
    print(f"[{name}] server RSS {row['rss_mb']:.0f} MB, CPU {row['cpu_pct']:.0f} % of a core; "
          f"{row['frames_per_s_per_wall']:.2f} frames/s per wall; publish→frame p50 "
          f"{s['p50'] or 0:.0f} ms p95 {s['p95'] or 0:.0f} ms max {s['max'] or 0:.0f} ms "
          f"({s['count']} seen, {missed} missed); browsers' JS heap "
          f"{', '.join(f'{h:.1f}' for h in heaps)} MB; {row['closed']} walls closed; load "
          f"{row['load']:.1f}", flush=True)
    return row


async def trend(args: argparse.Namespace, server_pid: int, drivers: list[Any],
                started: float, until: float) -> list[dict[str, Any]]:
    """Every --sample-every s until `until`: the server's RSS and CPU and the browsers' heaps
    after a GC, printed as they come: a leak climbs sample after sample, a warm-up levels
    off."""
    samples: list[dict[str, Any]] = []
    cpu0, t0 = proc_cpu_s(server_pid) or 0.0, time.monotonic()
    while args.sample_every > 0 and time.monotonic() + args.sample_every + args.profile < until:
        await asyncio.sleep(args.sample_every)
        heaps = [await asyncio.to_thread(heap_mb, d) for d in drivers]
        # What the pages hold besides the heap: their DOM nodes and event listeners (a page
        # whose heap climbs with these leaks elements, not data).
        doms = [await asyncio.to_thread(d.execute_cdp_cmd, "Memory.getDOMCounters", {})
                for d in drivers]
        cpu1, t1 = proc_cpu_s(server_pid) or 0.0, time.monotonic()
        row = {"t_s": time.monotonic() - started, "rss_mb": rss_mb(server_pid),
               "heaps_mb": heaps, "load": os.getloadavg()[0],
               "dom": [(c.get("nodes"), c.get("jsEventListeners")) for c in doms],
               # the server's CPU since the last sample: a cost that grows with the month
               # climbs, one bounded by the live state levels off
               "cpu_pct": (cpu1 - cpu0) / max(t1 - t0, 1e-9) * 100,
               "threads": len(os.listdir(f"/proc/{server_pid}/task")),
               "fds": len(os.listdir(f"/proc/{server_pid}/fd"))}
        samples.append(row)
        print(f"[{row['t_s'] / 60:4.0f} min] server RSS {row['rss_mb']:.1f} MB, CPU "
              f"{row['cpu_pct']:.0f} %; heaps {', '.join(f'{h:.2f}' for h in heaps)} MB "
              f"(DOM nodes / listeners {', '.join(f'{n}/{ls}' for n, ls in row['dom'])}); "
              f"server threads {row['threads']}, fds {row['fds']}; load {row['load']:.1f}",
              flush=True)
        if args.profile > 0:  # after the CPU is read: py-spy's own load is not the server's
            spy = profile(server_pid, int(args.profile), f"soak-{row['t_s'] / 60:.0f}min")
            await asyncio.to_thread(spy.wait)
            print_profile(Path(spy.args[spy.args.index("-o") + 1]), top=12, indent="    ")
        cpu0, t0 = proc_cpu_s(server_pid) or 0.0, time.monotonic()
    return samples


async def soak(args: argparse.Namespace, bench: Bench, base: str, redis_url: str,
               env: dict[str, str]) -> dict[str, Any]:
    """Walls, browsers, reports; the two windows."""
    assert bench.server is not None
    pid = bench.server.pid
    took = await asyncio.to_thread(prefill, redis_url, env["ZN_PREFIX"], args.prefill)
    if args.prefill:
        print(f"prefill: {args.prefill} work orders reported and handled in {took:.0f} s",
              flush=True)
    creds = credentials(env, args.walls, 10)
    callbacks = await asyncio.to_thread(persistent_callbacks, base, creds[0])
    walls = [WireWall(base, creds[i], lang="en" if i % 4 == 3 else "zh",
                      village="V03" if i % 10 == 9 else None, callbacks=callbacks)
             for i in range(args.walls)]
    await join(walls)
    drivers = await asyncio.to_thread(open_browsers, args, base, env)
    bench.drivers.extend(drivers)  # closed with the bench
    town = [w for w in walls if w.village is None]
    print(f"{len(walls)} scripted walls, {args.browsers} browser walls, {args.consoles} "
          f"consoles, {args.vehicles} buses; soaking {args.seconds:.0f} s", flush=True)
    started = time.monotonic()
    end = started + args.seconds
    reporter = Reporter(redis_url, env["ZN_PREFIX"], town, args.report_every,
                        args.close_after)
    publishing = asyncio.create_task(reporter.loop(end))
    await asyncio.sleep(args.warmup)
    first = await window("start", args, pid, walls, drivers, reporter)
    samples = await trend(args, pid, drivers, started, end - args.window - 3)
    await asyncio.sleep(max(0.0, end - time.monotonic() - args.window - 3))
    last = await window("end", args, pid, walls, drivers, reporter)
    publishing.cancel()
    await asyncio.gather(*(w.close() for w in walls))
    growth = {"rss": last["rss_mb"] / first["rss_mb"] - 1,
              "heaps": [b / a - 1 for a, b in zip(first["heaps_mb"], last["heaps_mb"],
                                                   strict=True)]}
    worst = max([growth["rss"], *growth["heaps"]])
    heaps = ", ".join(f"{a:.1f} → {b:.1f} MB ({g * 100:+.1f} %)" for a, b, g in
                      zip(first["heaps_mb"], last["heaps_mb"], growth["heaps"], strict=True))
    print(f"growth over {time.monotonic() - started:.0f} s: server RSS "
          f"{growth['rss'] * 100:+.1f} %, browsers' heaps after GC "
          f"{heaps}; latency p95 "
          f"{first['latency']['p95'] or 0:.0f} → {last['latency']['p95'] or 0:.0f} ms; "
          f"frames/s per wall {first['frames_per_s_per_wall']:.2f} → "
          f"{last['frames_per_s_per_wall']:.2f}; "
          f"{'PASS' if worst < GROWTH else 'FAIL'} (growth < {GROWTH:.0%})", flush=True)
    still_open = len(reporter.created) + len(reporter.handling)
    print(f"{len(reporter.sent)} reports; the town handled {reporter.handled} work orders (each "
          f"{args.close_after:.0f} s after it came in), {still_open} still open", flush=True)
    return {"start": first, "end": last, "trend": samples, "growth": growth,
            "reports": len(reporter.sent),
            "handled": reporter.handled}


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the two windows and the growth."""
    args = parse_args(argv)
    bench = Bench(args)
    try:
        base, redis_url, env = start_server(bench, args)
        result = asyncio.run(soak(args, bench, base, redis_url, env))
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
            json.dumps({"args": vars(args), **result}, indent=1))
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
