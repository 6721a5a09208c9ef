"""Bus ingest: fixes/s through each door to the server's latest state, and CPU at 1 Hz.

    .venv/bin/python bench/bus_ingest.py [--vehicles 1000] [--rounds 5] [--cpu-window 20]

Starts an embedded Redis (or REDIS_URL), `zhongnao serve` and `zhongnao gateway jt808` in a
scratch folder. For each door it sends `rounds` fixes for each of `vehicles` buses and
times from the first byte sent until the server's in-memory state (GET
/api/v1/buses/trips, what the screens and the tracker see) holds every bus's last fix:

  redis   JSON VehiclePositions (500 per message) published on <prefix>:vehicles
  http    POST /api/v1/vehicles/positions, 500 fixes per request
  gtfs-rt POST /api/v1/vehicles/gtfs-rt, one FeedMessage of all buses per round
  jt808   one TCP connection per terminal, registered and authenticated first (not timed),
          then 0x0200 frames through the gateway; the bench's buses J-00000… and their
          terminals 1390…, as the admin would declare them (--register, issue 12)

Then `zhongnao simulate --vehicles N` drives N buses at 1 Hz for --cpu-window seconds and
the CPU of server, simulator and Redis is read from /proc (one core = 100 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import free_port, get_json, proc_cpu_s, tree_cpu_s  # noqa: E402

from dashboard.messages import VehiclePosition, VehiclePositions  # noqa: E402
from datasources.feeds.gtfs_rt import vehicle_feed  # noqa: E402
from datasources.feeds.jt808 import codec as c  # noqa: E402

LON0, LAT0 = 104.40, 30.52
BIN = ROOT / ".venv" / "bin"


# The bus platform's ingest key (positions, and the feed to read the state back), issued by
# `zhongnao key add` once the server is up: keys report and read only within their scopes.
SOURCE_KEY: dict[str, str] = {}


def fixes(prefix: str, n: int, at: datetime) -> list[VehiclePosition]:
    """One fix for each of n buses, spread over the town."""
    return [VehiclePosition(plate=f"{prefix}-{i:05d}", lon=LON0 + (i % 100) * 6e-4,
                            lat=LAT0 + (i // 100) * 6e-4, speed_kmh=30, heading=90, at=at)
            for i in range(n)]


def post(url: str, body: bytes, ctype: str) -> int:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": ctype, **SOURCE_KEY})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


class Run:
    """Processes and folders of one bench run."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="zn-busbench-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.embedded: Any = None
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.prefix = f"znbb{uuid.uuid4().hex[:6]}" if self.redis_url else "zn"
        if not self.redis_url:
            from datasources.redis.embedded import EmbeddedRedis

            self.embedded = EmbeddedRedis(self.tmp).start()
            self.redis_url = self.embedded.url
        self.port, self.jt_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ZN_DATA_DIR": str(self.tmp), "ZN_PORT": str(self.port),
                    "REDIS_URL": self.redis_url, "ZN_REDIS_PREFIX": self.prefix,
                    "ZN_LOG_LEVEL": "WARNING", "ZN_BUS_ALERTS": "false"}
        self.env.setdefault("DATABASE_URL", f"sqlite:///{self.tmp / 'zhongnao.db'}")

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        p = subprocess.Popen([str(BIN / "zhongnao"), *argv], env=self.env, stdout=log,
                             stderr=subprocess.STDOUT, cwd=str(ROOT), start_new_session=True)
        self.procs[name] = p
        return p

    def start(self) -> None:
        self.spawn("server", "serve")
        # The gateway lets in only registered terminals: declare the bench's fleet.
        register = self.tmp / "terminals.csv"
        register.write_text("plate,terminal\n" + "".join(
            f"{jt_plate(i)},{jt_phone(i)}\n" for i in range(self.args.vehicles)),
            encoding="utf-8")
        self.spawn("gateway", "gateway", "jt808", "--host", "127.0.0.1",
                   "--port", str(self.jt_port), "--register", str(register))
        deadline = time.monotonic() + 60
        while get_json(self.base + "/api/health")[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"server not healthy; see {self.tmp}/server.log")
            time.sleep(0.2)
        made = subprocess.run([str(BIN / "zhongnao"), "key", "add", "bench bus platform",
                               "--source", "bus", "--scope", "positions", "--scope", "feed"],
                              env=self.env, cwd=str(ROOT), capture_output=True, text=True,
                              check=True)
        SOURCE_KEY["X-Api-Key"] = made.stdout.strip().splitlines()[0]

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        if self.embedded is not None:
            self.embedded.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cpu(self) -> dict[str, float]:
        out = {name: proc_cpu_s(p.pid) or 0.0 for name, p in self.procs.items()}
        if self.embedded is not None and self.embedded.process is not None:
            out["redis"] = sum(tree_cpu_s([self.embedded.process.pid]).values())
        return out

    def wait_latest(self, prefix: str, n: int, at: datetime, timeout: float = 60) -> float:
        """Seconds until the server's state holds the fix at `at` for all n buses."""
        want = at.isoformat()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, body = get_json(self.base + "/api/v1/buses/trips", timeout=10,
                               headers=SOURCE_KEY)
            rows = (body or {}).get("trips", [])
            done = sum(1 for r in rows if r["plate"].startswith(prefix + "-") and r["at"] == want)
            if done >= n:
                return time.monotonic()
            time.sleep(0.05)
        raise SystemExit(f"door {prefix}: the state never caught up; see {self.tmp}")


def door_redis(run: Run, n: int, rounds: int, t0: datetime) -> tuple[float, int]:
    import redis

    r = redis.Redis.from_url(run.redis_url)
    channel = f"{run.prefix}:vehicles"
    start = time.monotonic()
    for k in range(rounds):
        batch = fixes("R", n, t0 + timedelta(seconds=k))
        for i in range(0, n, 500):
            r.publish(channel, VehiclePositions(positions=batch[i:i + 500]).to_json())
    end = run.wait_latest("R", n, t0 + timedelta(seconds=rounds - 1))
    return end - start, n * rounds


def door_http(run: Run, n: int, rounds: int, t0: datetime) -> tuple[float, int]:
    start = time.monotonic()
    for k in range(rounds):
        batch = fixes("H", n, t0 + timedelta(seconds=k))
        for i in range(0, n, 500):
            body = json.dumps({"positions": [p.model_dump(mode="json", exclude_none=True)
                                             for p in batch[i:i + 500]]}).encode()
            post(run.base + "/api/v1/vehicles/positions", body, "application/json")
    end = run.wait_latest("H", n, t0 + timedelta(seconds=rounds - 1))
    return end - start, n * rounds


def door_gtfs(run: Run, n: int, rounds: int, t0: datetime) -> tuple[float, int]:
    start = time.monotonic()
    for k in range(rounds):
        feed = vehicle_feed(fixes("G", n, t0 + timedelta(seconds=k)))
        post(run.base + "/api/v1/vehicles/gtfs-rt", feed, "application/x-protobuf")
    end = run.wait_latest("G", n, t0 + timedelta(seconds=rounds - 1))
    return end - start, n * rounds


def jt_plate(i: int) -> str:
    """The plate of the bench's i-th JT/T 808 bus."""
    return f"J-{i:05d}"


def jt_phone(i: int) -> str:
    """The SIM number of its terminal, as the bench's register declares it."""
    return f"1390{i:07d}"


async def _terminals(run: Run, n: int) -> list[tuple[Any, Any, str]]:
    conns = []
    for i in range(n):
        phone = jt_phone(i)
        reader, writer = await asyncio.open_connection("127.0.0.1", run.jt_port)
        reg = c.Register(51, 600, "ZNBENCH", "B1", f"T{i:06d}", 2, jt_plate(i))
        writer.write(c.encode_frame(c.REGISTER, phone, 1, c.encode_register(reg)))
        sp = c.Splitter()
        frames: list[bytes] = []
        while not frames:
            frames += sp.feed(await reader.read(4096))
        _, result, code = c.parse_register_reply(c.decode_frame(frames[0]).body)
        if result != c.REG_OK:
            raise SystemExit(f"terminal {phone} refused ({result}); see {run.tmp}/gateway.log")
        writer.write(c.encode_frame(c.AUTH, phone, 2, c.encode_auth(code)))
        frames = frames[1:]
        while not frames:
            frames += sp.feed(await reader.read(4096))
        conns.append((reader, writer, phone))
    return conns


async def _jt808(run: Run, n: int, rounds: int, t0: datetime) -> tuple[float, int]:
    conns = await _terminals(run, n)

    async def drain(reader: Any) -> None:
        while await reader.read(65536):
            pass

    drains = [asyncio.create_task(drain(r)) for r, _, _ in conns]
    start = time.monotonic()
    for k in range(rounds):
        at = t0 + timedelta(seconds=k)
        for i, (_, writer, phone) in enumerate(conns):
            loc = c.Location(0, 2, LAT0 + (i // 100) * 6e-4, LON0 + (i % 100) * 6e-4, 0, 30,
                             90, at, {})
            writer.write(c.encode_frame(c.LOCATION, phone, 3 + k, c.encode_location(loc)))
        await asyncio.gather(*(w.drain() for _, w, _ in conns))
    end = await asyncio.to_thread(run.wait_latest, "J", n, t0 + timedelta(seconds=rounds - 1))
    for _, w, _ in conns:
        w.close()
    for d in drains:
        d.cancel()
    return end - start, n * rounds


def tracker_on_trips(n: int, seconds: int = 5) -> float:
    """Microseconds per fix of the tracker's rules for n buses all on a morning trip."""
    from dashboard.buses.tracking import Fleet, build_plans
    from datasources.towns.files import load_town

    town = load_town(ROOT / "datasources" / "towns" / "demo")
    plans = build_plans(town.routes)
    am = [p for p in plans.values() if p.direction == "to_school"]
    fleet = Fleet(plans, {f"T-{i:05d}": (am[i % len(am)].route, 40) for i in range(n)})
    start_at = datetime(2026, 11, 24, 22, 36, tzinfo=UTC)  # a Wednesday, 06:36 in Shanghai
    cpu0 = time.process_time()
    for s in range(seconds):
        at = start_at + timedelta(seconds=s)
        for i in range(n):
            plan = am[i % len(am)]
            lon, lat = plan.line.lonlat((i * 37.0 + s * 8.0) % plan.line.length_m)
            fleet.observe(f"T-{i:05d}", at, lon, lat, 30.0, trip=plan.code)
            fleet.row(f"T-{i:05d}", at)
        fleet.tick(at)
    return (time.process_time() - cpu0) / (n * seconds) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cpu-window", type=float, default=20.0)
    args = ap.parse_args()
    run = Run(args)
    n, rounds = args.vehicles, args.rounds
    t0 = datetime.now(UTC).replace(microsecond=0)
    try:
        run.start()
        print(f"bus ingest: {n} vehicles × {rounds} rounds per door "
              f"(Redis {'external' if os.environ.get('REDIS_URL') else 'embedded'}, "
              f"{run.env['DATABASE_URL'].split(':')[0]})")
        print(f"{'door':<8} {'fixes':>7} {'seconds':>8} {'fixes/s':>9} {'server CPU s':>13} "
              f"{'gateway CPU s':>14}")
        doors = (("redis", door_redis), ("http", door_http), ("gtfs-rt", door_gtfs),
                 ("jt808", lambda r, n_, k, t: asyncio.run(_jt808(r, n_, k, t))))
        for name, door in doors:
            before = run.cpu()
            secs, sent = door(run, n, rounds, t0)
            after = run.cpu()
            print(f"{name:<8} {sent:>7} {secs:>8.2f} {sent / secs:>9.0f} "
                  f"{after['server'] - before['server']:>13.2f} "
                  f"{after['gateway'] - before['gateway']:>14.2f}")
        run.spawn("simulator", "simulate", "--vehicles", str(n))
        time.sleep(5)  # warm-up: fleet built, first fixes flowing
        before, w0 = run.cpu(), time.monotonic()
        time.sleep(args.cpu_window)
        after, w1 = run.cpu(), time.monotonic()
        wall = w1 - w0
        per_k = 1000 / n
        print(f"\nCPU at 1 Hz, {n} vehicles over {wall:.0f} s (one core = 100 %; "
              f"per 1000 vehicles in brackets):")
        for name in ("server", "simulator", "redis"):
            if name in after:
                pct = (after[name] - before[name]) / wall * 100
                print(f"  {name:<10} {pct:6.1f} %   [{pct * per_k:6.1f} % per 1000]")
        us = tracker_on_trips(n)
        print(f"  tracker rules with every bus on a trip: {us:.0f} µs per fix "
              f"= {us * 1000 / 1e4:.1f} % of a core per 1000 vehicles at 1 Hz")
    finally:
        run.close()


if __name__ == "__main__":
    main()
