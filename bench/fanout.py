"""Publish→frame latency, server CPU and memory per screen with many scripted walls.

    .venv/bin/python bench/fanout.py                         # 20, 50, 200 walls; 500 buses
    .venv/bin/python bench/fanout.py --walls 20,50,200 --vehicles 500 --reports 30

Starts Redis (REDIS_URL or an embedded one), `zhongnao serve` and `zhongnao simulate`, then
opens scripted walls (tests/wire.py: signed in, the Dash websocket, the wall's live stream,
no browser) in steps up to each count. The audience is mixed as in a county hall: one wall in
four in English, one in ten a village officer's (their village's wall). At each step it
publishes R reports on `<prefix>:ingest` and times publish → the first frame carrying the
report's title at every town wall; prints p50/p95/max, the walls that missed it, the server's
CPU (% of one core, over the publishing window), its RSS and the memory per screen
((RSS − RSS before any wall) / walls), and frames and bytes per second per wall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import latency  # noqa: E402
import redis  # noqa: E402
from _common import proc_cpu_s, summary, town_points  # noqa: E402
from latency import Bench, EventTap, free_port  # noqa: E402

from tests.wire import WireWall, persistent_callbacks  # noqa: E402

MARK = "FANOUT"
latency.MARK = MARK  # the event tap records this bench's reports


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--walls", default="20,50,200", help="wall counts, ascending")
    p.add_argument("--vehicles", type=int, default=500)
    p.add_argument("--reports", type=int, default=30)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between reports")
    p.add_argument("--warmup", type=float, default=8.0, help="seconds after the walls join")
    p.add_argument("--settle", type=float, default=10.0)
    p.add_argument("--english", type=int, default=4, help="one wall in N is in English")
    p.add_argument("--village", type=int, default=10, help="one wall in N is a village's")
    p.add_argument("--no-deflate", action="store_true",
                   help="walls do not offer permessage-deflate")
    p.add_argument("--open", type=int, default=0,
                   help="open work orders reported before the walls join (a backlog)")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the server over the last step's window (the bench extra)")
    p.add_argument("--keep-data", action="store_true")
    p.add_argument("--port", default="auto")
    return p.parse_args(argv)


def rss_mb(pid: int) -> float:
    """Resident memory of one process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(bench: Bench, args: argparse.Namespace) -> tuple[str, str, dict[str, str]]:
    """Redis, `serve` and `simulate` as subprocesses; (base URL, redis URL, prefix...)."""
    port = free_port() if args.port == "auto" else int(args.port)
    redis_url, prefix = bench.start_redis()
    env = bench.child_env(redis_url, prefix, port)
    base = f"http://127.0.0.1:{port}"
    # `python -m cli` from this tree (not the venv's entry point): a copy of the tree runs
    # its own code, which is how the before/after figures were taken.
    bench.server = bench.spawn("server", [sys.executable, "-m", "cli", "serve"], env)

    bench.wait_healthy(base, timeout=120)
    bench.sim = bench.spawn("simulate", [sys.executable, "-m", "cli", "simulate", "--vehicles",
                                         str(args.vehicles), "--rate", "1"], env)
    return base, redis_url, {**env, "ZN_PREFIX": prefix}


def credentials(env: dict[str, str], walls: int, every_village: int) -> list[dict[str, str]]:
    """Cookies per wall: a kiosk token for town walls, a village officer's session for one
    in `every_village` (建林村, unit U-V03)."""
    from dashboard.settings import Settings
    from datasources.gate.web import CSRF_COOKIE, KIOSK_COOKIE, SESSION_COOKIE, csrf_token
    from datasources.sql.accounts import Accounts
    from datasources.sql.engine import make_engine

    settings = Settings.from_env(environ=env)
    engine = make_engine(settings.db_url)
    try:
        accounts = Accounts(engine)
        kiosk = accounts.add_key("kiosk", f"bench walls {uuid.uuid4().hex[:6]}")
        officer = accounts.user("bench-village") or accounts.add_user(
            "bench-village", "village", "bench-village-pw-1", unit_id="U-V03")
        out = []
        for i in range(walls):
            if every_village and i % every_village == every_village - 1:
                token = accounts.start_session(officer)
                out.append({SESSION_COOKIE: token, CSRF_COOKIE: csrf_token(token)})
            else:
                out.append({KIOSK_COOKIE: kiosk, CSRF_COOKIE: csrf_token(kiosk)})
        return out
    finally:
        engine.dispose()


async def join(walls: list[WireWall], batch: int = 10) -> None:
    """Start walls a batch at a time, each batch live before the next."""
    for n in range(0, len(walls), batch):
        group = walls[n:n + batch]
        await asyncio.gather(*(w.start() for w in group))
        try:
            await asyncio.wait_for(asyncio.gather(*(w.live.wait() for w in group)), 120)
        except TimeoutError:
            late = [(n + i, w.lang, w.village, w.counts, repr(w.error)) for i, w in
                    enumerate(group) if not w.live.is_set()]
            raise SystemExit(f"walls not live after 120 s: {late}") from None


async def backlog(base: str, r: redis.Redis, prefix: str, n: int) -> None:
    """`n` open work orders, reported through the ingest channel before the walls join (a
    county centre's backlog); returns once /api/health counts them."""
    with urllib.request.urlopen(f"{base}/api/health", timeout=10) as resp:
        before = json.loads(resp.read())["incidents"]
    run = uuid.uuid4().hex[:6]
    points = town_points(n)
    for i in range(n):
        lon, lat = points[i]
        body = {"type": "incident.report", "source": "hotline", "category": "fire",
                "title": f"BACKLOG {run} {i:05d}", "lon": lon, "lat": lat,
                "msg_id": f"backlog-{run}-{i}"}
        await asyncio.to_thread(r.publish, f"{prefix}:ingest", json.dumps(body))
        if i % 100 == 99:
            await asyncio.sleep(0.2)  # the intake's pace, not a burst it must shed
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        with urllib.request.urlopen(f"{base}/api/health", timeout=10) as resp:
            have = json.loads(resp.read())["incidents"]
        if have >= before + n:
            break
        await asyncio.sleep(1)
    print(f"backlog: {have - before} open work orders reported", flush=True)


async def measure(args: argparse.Namespace, base: str, redis_url: str, prefix: str,
                  server_pid: int, creds: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Grow the walls step by step; publish and time at each step."""
    callbacks = await asyncio.to_thread(persistent_callbacks, base, creds[0])
    r = redis.Redis.from_url(redis_url)
    if args.open:
        await backlog(base, r, prefix, args.open)
    rss0 = rss_mb(server_pid)
    tap = EventTap(redis_url, f"{prefix}:events")  # when the server announced each report
    walls: list[WireWall] = []
    results = []
    run = uuid.uuid4().hex[:6]
    steps = [int(x) for x in args.walls.split(",")]
    last = steps[-1]
    for target in steps:
        fresh = []
        for i in range(len(walls), target):
            village = bool(args.village) and i % args.village == args.village - 1
            english = bool(args.english) and i % args.english == args.english - 1
            fresh.append(WireWall(base, creds[i], lang="en" if english else "zh",
                                  village="V03" if village else None, callbacks=callbacks,
                                  compression=None if args.no_deflate else "deflate"))
        t0 = time.monotonic()
        await join(fresh)
        walls += fresh
        print(f"{len(walls)} walls live ({time.monotonic() - t0:.1f} s to join {len(fresh)})",
              flush=True)
        await asyncio.sleep(args.warmup)
        town = [w for w in walls if w.village is None]
        counts0 = [dict(w.counts) for w in walls]
        bytes0 = [w.bytes_in for w in walls]
        spy = (profile(server_pid, int(args.reports * args.interval + 2))
               if args.profile and target == last else None)
        cpu0, t_start = proc_cpu_s(server_pid), time.monotonic()
        own0 = time.process_time()
        published: dict[str, float] = {}
        for i in range(args.reports):
            due = t_start + i * args.interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            title = f"{MARK} {run} {target} {i:04d}"
            for w in town:
                w.expect([title])
            body = {"type": "incident.report", "source": "hotline", "category": "fire",
                    "title": title, "lon": 104.45 + i * 1e-5, "lat": 30.55,
                    "msg_id": f"fanout-{run}-{target}-{i}"}
            published[title] = time.time()
            await asyncio.to_thread(r.publish, f"{prefix}:ingest", json.dumps(body))
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline and any(w.watch for w in town):
            await asyncio.sleep(0.1)
        span = time.monotonic() - t_start
        cpu = ((proc_cpu_s(server_pid) or 0.0) - (cpu0 or 0.0)) / span * 100
        own = (time.process_time() - own0) / span * 100
        lat = [(w.seen[m] - at) * 1000 for w in town for m, at in published.items()
               if m in w.seen]
        # The server's share: publish → its incident.created (sent_at), and that → the frame.
        to_event = [tap.sent[m] - at * 1000 for m, at in published.items() if m in tap.sent]
        from_event = [(w.seen[m] * 1000 - tap.sent[m]) for w in town for m in published
                      if m in w.seen and m in tap.sent]
        missed = sum(1 for w in town for m in published if m not in w.seen)
        for w in town:
            w.watch.clear()
        rss = rss_mb(server_pid)
        if spy is not None:
            await asyncio.to_thread(spy.wait)
            print_profile(Path(spy.args[spy.args.index("-o") + 1]))
        frames = sum(sum(w.counts.get(k, 0) - c.get(k, 0) for k in ("home-panels",
                                                                        "home-bus-frame"))
                     for w, c in zip(walls, counts0, strict=True))
        got = sum(w.bytes_in - b for w, b in zip(walls, bytes0, strict=True))
        dead = sum(1 for w in walls if w.closed)
        s = summary(lat, missed)
        row = {"walls": len(walls), "p50": s["p50"], "p95": s["p95"], "max": s["max"],
               "count": s["count"], "missed": missed, "cpu_pct": cpu, "rss_mb": rss,
               "mb_per_screen": (rss - rss0) / len(walls),
               "frames_per_s_per_wall": frames / span / len(walls),
               "kb_per_s_per_wall": got / span / len(walls) / 1024, "closed": dead,
               "bench_cpu_pct": own,
               "publish_to_event": summary(to_event), "event_to_frame": summary(from_event),
               "load": os.getloadavg()[0]}
        results.append(row)
        print(fmt(row), flush=True)
    await asyncio.gather(*(w.close() for w in walls))
    tap.close()
    return results


def profile(pid: int, seconds: int, bench: str = "fanout") -> subprocess.Popen[bytes]:
    """py-spy sampling the server for `seconds` (collapsed stacks, in bench/results)."""
    spy = Path(sys.executable).with_name("py-spy")
    out = HERE / "results" / f"{bench}-profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    out.parent.mkdir(exist_ok=True)
    return subprocess.Popen([str(spy), "record", "-p", str(pid), "-o", str(out), "-f", "raw",
                             "-d", str(seconds), "-r", "50", "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_profile(path: Path, top: int = 25, indent: str = "") -> None:
    """The functions the server spent its samples in: own time, and time under each of the
    app's own functions (inclusive)."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        count = int(n)
        total += count
        own[frames[-1]] += count
        # a function once however many of its lines the stack passes through
        for f in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            if any(part in f for part in ("pages/", "dashboard/", "datasources/")):
                under[f] += count
    print(f"{indent}profile ({total} samples, {path}):")
    for title, table in (("own time", own), ("under the app's functions", under)):
        print(f"{indent}  {title}:")
        for f, n in table.most_common(top):
            print(f"{indent}    {100 * n / max(total, 1):5.1f} %  {f[:150]}")


def fmt(row: dict[str, Any]) -> str:
    """One result line."""
    def ms(v: float | None) -> str:
        return "—" if v is None else f"{v:.0f}"
    return (f"{row['walls']:>4} walls: publish→frame p50 {ms(row['p50'])} ms, p95 "
            f"{ms(row['p95'])} ms, max {ms(row['max'])} ms ({row['count']} seen, "
            f"{row['missed']} missed); server CPU {row['cpu_pct']:.0f} % of a core; RSS "
            f"{row['rss_mb']:.0f} MB, {row['mb_per_screen'] * 1024:.0f} KB per screen; "
            f"{row['frames_per_s_per_wall']:.1f} frames/s and "
            f"{row['kb_per_s_per_wall']:.0f} KB/s per wall; {row['closed']} closed; the walls' "
            f"client {row['bench_cpu_pct']:.0f} % of a core; load {row['load']:.1f}\n"
            f"      of which publish→event sent p50/p95 {ms(row['publish_to_event']['p50'])}/"
            f"{ms(row['publish_to_event']['p95'])} ms, event sent→frame p50/p95 "
            f"{ms(row['event_to_frame']['p50'])}/{ms(row['event_to_frame']['p95'])} ms")


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print one line per wall count."""
    args = parse_args(argv)
    bench = Bench(args)
    try:
        base, redis_url, env = start_server(bench, args)
        assert bench.server is not None
        print(f"server {base} (pid {bench.server.pid}), {args.vehicles} vehicles, data "
              f"{bench.tmp}", flush=True)
        creds = credentials(env, max(int(x) for x in args.walls.split(",")), args.village)
        results = asyncio.run(measure(args, base, redis_url, env["ZN_PREFIX"],
                                      bench.server.pid, creds))
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / f"fanout-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
            json.dumps({"args": vars(args), "results": results}, indent=1))
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
